//! An in-process loopback HTTP/1.1 server for the benchmarks: keep-alive, canned answers per
//! path, as little work per request as possible so the clients' costs show.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A canned response: status, extra headers and body.
#[derive(Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Computes extra headers from the request body (bunq's response signature needs none,
    /// it signs the response body, which is fixed; kept for symmetry).
    pub delay: std::time::Duration,
}

impl Canned {
    pub fn json(body: &serde_json::Value) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: std::time::Duration::ZERO,
        }
    }
}

/// The running server.
pub struct BenchServer {
    pub base_url: String,
    pub hits: Arc<AtomicUsize>,
}

/// Starts the server on its own thread with its own runtime (like a remote peer would be).
pub fn start(routes: HashMap<String, Canned>) -> BenchServer {
    let routes = Arc::new(routes);
    let hits = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let h = hits.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let routes = routes.clone();
                let hits = h.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::with_capacity(8192);
                    let mut chunk = [0u8; 8192];
                    loop {
                        // One request: head, then Content-Length bytes of body.
                        let head_end = loop {
                            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                                break p;
                            }
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                        let path = head.split(' ').nth(1).unwrap_or("/").split('?').next().unwrap().to_string();
                        let len = head
                            .lines()
                            .find_map(|l| {
                                let (n, v) = l.split_once(':')?;
                                n.eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        while buf.len() < head_end + 4 + len {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..head_end + 4 + len);
                        hits.fetch_add(1, Ordering::Relaxed);
                        let canned = routes.get(&path).cloned().unwrap_or(Canned {
                            status: 404,
                            headers: vec![],
                            body: b"{}".to_vec(),
                            delay: std::time::Duration::ZERO,
                        });
                        if !canned.delay.is_zero() {
                            tokio::time::sleep(canned.delay).await;
                        }
                        let mut out = format!(
                            "HTTP/1.1 {} OK\r\ncontent-length: {}\r\n",
                            canned.status,
                            canned.body.len()
                        );
                        for (n, v) in &canned.headers {
                            out.push_str(&format!("{n}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        let mut bytes = out.into_bytes();
                        bytes.extend_from_slice(&canned.body);
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
    });
    let addr = rx.recv().unwrap();
    BenchServer { base_url: format!("http://{addr}"), hits }
}
