//! bunq context files survive crashes: a writer interrupted between writing its temporary file
//! and renaming it leaves the old context readable, and a writer process killed at random
//! points never leaves a torn or missing file.
#![cfg(feature = "bunq")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use embed_sessions::Config;
use embed_sessions::bunq::{BunqClient, ContextStore, FileStore, StoredContext};
use embed_sessions_sandbox::Sandbox;

/// A person's own key in the sandbox (a key containing `person` is a `UserPerson`).
const PERSON_KEY: &str = "person-api-key-0002-secret";

const WRITER_ENV: &str = "EMBED_SESSIONS_CRASH_WRITER";

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("es-crash-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A complete context stored at `path`, made against the sandbox's bunq.
async fn stored_context(path: &Path) -> BunqClient {
    let server = Sandbox::start().await.unwrap();
    let config =
        Config::builder(embed_sessions::bunq::Bunq).base_url(&server.urls().bunq).build().unwrap();
    let client = BunqClient::without_key(config).unwrap();
    client.context().api_key(PERSON_KEY).store(FileStore::new(path)).send().await.unwrap();
    // The server may go; restoring needs no network.
    std::mem::forget(server);
    client
}

#[tokio::test]
async fn an_interrupted_save_leaves_the_old_context_readable() {
    let d = dir("interrupted");
    let path = d.join("ctx.json");
    stored_context(&path).await;
    let before = std::fs::read(&path).unwrap();
    // What a save interrupted after writing (part of) its temporary file leaves behind:
    // the temporary file beside the untouched context, never renamed.
    let tmp = d.join(format!(".ctx.json.{}.00000000deadbeef.tmp", std::process::id()));
    std::fs::write(&tmp, &before[..before.len() / 3]).unwrap();
    let store = FileStore::new(&path);
    let loaded = store.load().await.unwrap().expect("the old context is still there");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    // Saving again works and replaces the context atomically.
    store.save(&loaded).await.unwrap();
    StoredContext::from_json(&std::fs::read(&path).unwrap()).unwrap();
    let _ = std::fs::remove_dir_all(&d);
}

/// The child side: restore the context and save it in a loop until killed.
fn writer(path: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = FileStore::new(path);
        let stored = store.load().await.unwrap().unwrap();
        println!("ready");
        // An in-place (non-atomic) writer killed here would leave an empty or truncated file.
        loop {
            store.save(&stored).await.unwrap();
        }
    });
}

#[test]
fn a_writer_killed_at_random_points_never_tears_the_file() {
    if let Ok(path) = std::env::var(WRITER_ENV) {
        writer(&path);
        return;
    }
    let d = dir("killed");
    let path = d.join("ctx.json");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(stored_context(&path));
    for round in 0..12u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_writer_killed_at_random_points_never_tears_the_file",
                "--nocapture",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it writes, then kill it somewhere in its loop.
        let mut out = child.stdout.take().unwrap();
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut out, &mut buf);
        std::thread::sleep(Duration::from_millis(5 + (round * 37) % 60));
        child.kill().unwrap();
        child.wait().unwrap();
        let bytes = std::fs::read(&path).expect("the context file is never missing");
        StoredContext::from_json(&bytes)
            .unwrap_or_else(|e| panic!("round {round}: torn context file: {e}"));
    }
    // Left-over temporary files do not disturb loading.
    rt.block_on(async {
        assert!(FileStore::new(&path).load().await.unwrap().is_some());
    });
    let _ = std::fs::remove_dir_all(&d);
}
