//! A loopback HTTP/1.1 server whose every answer is scripted, including broken ones: refused
//! connections, resets mid-body, silence, stalled bodies, huge bodies, redirects.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// A complete response.
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Headers announcing `announced` bytes, then `sent` bytes of `body`, then a TCP reset.
    ResetMidBody { announced: usize, sent: Vec<u8> },
    /// Read the request, never answer (the connection stays open).
    NeverAnswer,
    /// Headers and the first half of the body, then nothing more (the connection stays open).
    StallBody { body: Vec<u8> },
}

impl Fault {
    /// A JSON response.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::raw(status, "application/json", body.to_string().into_bytes())
    }

    /// A response with a content type and body.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Fault::Respond {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// An HTML error page, as proxies send.
    pub fn html(status: u16) -> Self {
        Self::raw(
            status,
            "text/html",
            format!("<html><body><h1>{status} Bad Gateway</h1><p>upstream down</p></body></html>"),
        )
    }

    /// Adds a header to a `Respond`.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Fault::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// A request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// When the request had fully arrived.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The scripted server. Request `n` gets `script[n]`, the last entry repeating.
pub struct FaultServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Vec<Fault>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    /// Starts a server on 127.0.0.1 with this script.
    pub async fn start(script: Vec<Fault>) -> Self {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script));
        let (h, r, s) = (hits.clone(), requests.clone(), script.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (h, r, s) = (h.clone(), r.clone(), s.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, h, r, s).await;
                });
            }
        });
        Self { addr, hits, requests, script, task }
    }

    /// Replaces the script (for property tests that reuse one server).
    pub fn set_script(&self, script: Vec<Fault>) {
        *self.script.lock().unwrap() = script;
        self.hits.store(0, Ordering::SeqCst);
        self.requests.lock().unwrap().clear();
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A base URL on which nothing listens (connection refused).
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Recorded>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Recorded { at: std::time::Instant::now(), method, path, headers, body }))
}

fn head(status: u16, headers: &[(String, String)], len: usize) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {len}\r\nconnection: close\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn serve(
    mut stream: TcpStream,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Vec<Fault>>>,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut stream).await? else { return Ok(()) };
    let n = hits.fetch_add(1, Ordering::SeqCst);
    requests.lock().unwrap().push(request);
    let fault = {
        let script = script.lock().unwrap();
        script.get(n).or(script.last()).cloned().expect("non-empty script")
    };
    match fault {
        Fault::Respond { status, headers, body } => {
            stream.write_all(&head(status, &headers, body.len())).await?;
            stream.write_all(&body).await?;
            stream.flush().await?;
        }
        Fault::ResetMidBody { announced, sent } => {
            stream
                .write_all(&head(
                    200,
                    &[("content-type".into(), "application/json".into())],
                    announced,
                ))
                .await?;
            stream.write_all(&sent).await?;
            stream.flush().await?;
            // Linger 0: close with a reset instead of a clean FIN.
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO))?;
            drop(stream);
        }
        Fault::NeverAnswer => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Fault::StallBody { body } => {
            stream
                .write_all(&head(
                    200,
                    &[("content-type".into(), "application/json".into())],
                    body.len(),
                ))
                .await?;
            stream.write_all(&body[..body.len() / 2]).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    Ok(())
}
