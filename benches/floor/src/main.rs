//! One VRPlatform embed session by hand, printed as one JSON line.
//!
//! Usage: `VRPLATFORM_API_KEY=k embed-sessions-floor BASE_URL SUB TENANT_ID`

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, sub, tenant_id] = args.as_slice() else {
        return Err("usage: embed-sessions-floor BASE_URL SUB TENANT_ID".into());
    };
    let key = std::env::var("VRPLATFORM_API_KEY")?;
    let client = embed_sessions_floor::client()?;
    let s = embed_sessions_floor::embed_session(&client, base, &key, sub, tenant_id).await?;
    println!(
        r#"{{"accessToken":"{}","expiresAt":"{}","tenantId":"{}","userId":"{}"}}"#,
        s.access_token, s.expires_at, s.tenant_id, s.user_id
    );
    Ok(())
}
