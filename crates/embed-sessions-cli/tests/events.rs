//! `embed-sessions events`: bodies on stdin become typed JSON; a body that is not a valid
//! event exits 2 with the reason on stderr and nothing on stdout.

use assert_cmd::Command;
use embed_sessions_testkit::docs::{doc_text, json_objects};
use serde_json::{Value, json};

fn parse(flag: &str, body: impl Into<Vec<u8>>) -> (i32, String, String) {
    let out = Command::cargo_bin("embed-sessions")
        .unwrap()
        .args(["events", "parse", flag])
        .write_stdin(body.into())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_documented_vlens_webhook_prints_as_a_typed_event() {
    let page = doc_text("vlens/webhooks.md");
    let body = json_objects(&page).remove(0).to_string();
    let (code, stdout, stderr) = parse("--vlens", body);
    assert_eq!(code, 0, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        out,
        json!({"provider": "vlens", "dedupe_key": "vlens:2b020a26-ec12-4f59-8e6a-7d4bf941372b",
               "event": {"id": "2b020a26-ec12-4f59-8e6a-7d4bf941372b",
                         "event": "App.BusinessRequestStatusChange", "attempt": 1,
                         "created_at": "2025-12-11T11:27:18.6197007Z",
                         "kind": {"type": "business_request_status_change",
                                  "request_id": "c2f27bd2-bb49-4dde-bb5f-22a6b8e0d20d",
                                  "new_status": "PendingApproval"}}})
    );
}

#[test]
fn a_bunq_callback_prints_with_its_object_and_unknown_kinds_stay_raw() {
    let body = json!({"NotificationUrl": {"target_url": "https://example.com/cb", "category": "MUTATION",
        "event_type": "MUTATION_CREATED", "object": {"Payment": {"id": 42, "monetary_account_id": 7,
        "amount": {"value": "-12.50", "currency": "EUR"}, "unlisted": true}}}});
    let (code, stdout, stderr) = parse("--bunq", body.to_string());
    assert_eq!(code, 0, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["dedupe_key"], "bunq:MUTATION:Payment:42:MUTATION_CREATED");
    assert_eq!(out["event"]["object"]["kind"], "Payment");
    assert_eq!(out["event"]["object"]["value"]["amount"]["value"], "-12.50");
    let raw = json!({"NotificationUrl": {"category": "SHARE", "event_type": "SHARE_INVITE_BANK_INQUIRY_CREATED",
        "object": {"ShareInviteBankInquiry": {"id": 3, "status": "PENDING"}}}});
    let (code, stdout, _) = parse("--bunq", raw.to_string());
    assert_eq!(code, 0);
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        out["event"]["object"],
        json!({"kind": "Other", "value": {"kind": "ShareInviteBankInquiry", "value": {"id": 3, "status": "PENDING"}}})
    );
}

#[test]
fn bodies_that_are_not_events_exit_2_with_the_reason() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("--vlens", b"{\"Id\":\"x\"}".to_vec(), "`WebhookEvent` is missing"),
        ("--vlens", b"not json".to_vec(), "not JSON (line 1, column 2)"),
        (
            "--bunq",
            b"{\"NotificationUrl\":{\"category\":\"PAYMENT\"}}".to_vec(),
            "`NotificationUrl.event_type` is missing",
        ),
        ("--bunq", vec![b' '; 70_000], "over the limit of 65536; refused before parsing"),
        ("--bunq", vec![0xff, 0xfe, 0x00], "not JSON"),
    ];
    for (flag, body, want) in cases {
        let (code, stdout, stderr) = parse(flag, body);
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains(want), "{flag}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_token_is_printed_for_the_webhook_url() {
    let out =
        Command::cargo_bin("embed-sessions").unwrap().args(["events", "token"]).output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = v["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}
