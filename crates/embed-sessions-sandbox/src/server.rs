//! The HTTP/1.1 server (hyper): accept loop, routing by prefix, faults, recording.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::fault::{Action, Fault, Target};
use crate::record::RecordedRequest;
use crate::{Shared, admin, bunq, page, vlens, vrplatform};

/// The largest request body accepted (bigger: 413).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// A request, parsed: the path is relative to the provider prefix.
pub(crate) struct Req<'a> {
    pub method: &'a str,
    /// The path after the provider's prefix, without the query (`/auth/embed/session`).
    pub path: &'a str,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: SocketAddr,
}

impl Req<'_> {
    /// A header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first query parameter with this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// An answer.
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            body: value.to_string().into_bytes(),
        }
    }

    pub fn html(status: u16, html: String) -> Self {
        Self {
            status,
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
            body: html.into_bytes(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// The response body: whole, or broken on purpose.
pub(crate) enum Body {
    Full(Option<Bytes>),
    /// The first part, then an error (hyper aborts the connection: a reset, see [`Conn`]).
    ThenReset(Option<Bytes>),
    /// The first part, then nothing ever again.
    ThenHang(Option<Bytes>),
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::ThenReset(b) => Poll::Ready(Some(match b.take() {
                Some(b) => Ok(Frame::data(b)),
                None => Err(io::Error::new(io::ErrorKind::ConnectionReset, "sandbox fault: reset")),
            })),
            Body::ThenHang(b) => match b.take() {
                Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
                // Never woken: the body never ends (until the client or the sandbox closes).
                None => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            Body::Full(Some(b)) => http_body::SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => http_body::SizeHint::with_exact(0),
            _ => http_body::SizeHint::default(),
        }
    }
}

/// A connection that closes with a TCP reset (linger 0) once a handler asked for one.
struct Conn {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Conn {
    fn arm_reset(&self) {
        #[allow(deprecated)] // set_linger: deprecated for blocking on drop; here linger is 0.
        let _ = self.stream.set_linger(Some(Duration::ZERO));
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.reset.load(Ordering::SeqCst) {
            // No FIN: the drop that follows sends the reset.
            this.arm_reset();
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            self.arm_reset();
        }
    }
}

/// Accepts until the task is aborted; connections die with it.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(_) => {
                        // Out of descriptors and the like: do not spin.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let reset = Arc::new(AtomicBool::new(false));
                let io = TokioIo::new(Conn { stream, reset: reset.clone() });
                let shared = shared.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| {
                        let shared = shared.clone();
                        let reset = reset.clone();
                        async move { Ok::<_, Infallible>(handle(shared, peer, reset, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .max_buf_size(64 * 1024)
                        .serve_connection(io, svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Which part of the sandbox a path belongs to, and the rest of the path.
enum Area<'a> {
    Provider(Target, &'a str),
    VlensApp(&'a str),
    Admin(&'a str),
    Home,
    NotFound,
}

fn area(path: &str) -> Area<'_> {
    let under = |prefix: &str| -> Option<&str> {
        let rest = path.strip_prefix(prefix)?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    };
    if let Some(rest) = under(crate::VLENS_PREFIX) {
        Area::Provider(Target::Vlens, rest)
    } else if let Some(rest) = under(crate::VLENS_APP_PREFIX) {
        Area::VlensApp(rest)
    } else if let Some(rest) = under(crate::VRPLATFORM_PREFIX) {
        Area::Provider(Target::Vrplatform, rest)
    } else if let Some(rest) = under(crate::BUNQ_PREFIX) {
        Area::Provider(Target::Bunq, rest)
    } else if let Some(rest) = under("/_sandbox") {
        Area::Admin(rest)
    } else if path == "/" || path == "/index.html" {
        Area::Home
    } else {
        Area::NotFound
    }
}

/// Percent-decodes a query component (`+` is a space).
pub(crate) fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn provider_name(t: Target) -> &'static str {
    match t {
        Target::Vlens => "vlens",
        Target::Vrplatform => "vrplatform",
        Target::Bunq => "bunq",
        Target::Any => "any",
    }
}

/// The provider's error shape for a status and message.
pub(crate) fn provider_error(t: Target, status: u16, message: &str) -> Reply {
    match t {
        Target::Vlens => vlens::error(status, status.into(), message),
        Target::Vrplatform => vrplatform::error(status, vrplatform::code_for(status), message),
        Target::Bunq | Target::Any => bunq::error(status, message),
    }
}

fn fault_reply(t: Target, action: Action) -> (Reply, Option<bool>) {
    match action {
        Action::Status { status } => {
            (provider_error(t, status, "Sandbox fault: the server failed to answer."), None)
        }
        Action::Html502 => (
            Reply::html(
                502,
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad \
                 Gateway</h1></center><hr><center>sandbox-proxy</center></body></html>\n"
                    .into(),
            ),
            None,
        ),
        Action::TooManyRequests { retry_after } => {
            let message = match t {
                Target::Bunq => "Too many requests. You have exceeded the rate limit.",
                _ => "Too many requests.",
            };
            let reply = provider_error(t, 429, message);
            let reply = match retry_after {
                Some(s) => reply.with_header("retry-after", s.to_string()),
                None => reply,
            };
            (reply, None)
        }
        // A plausible success body, cut short.
        Action::Reset => (provider_error(t, 200, "partial"), Some(true)),
        Action::NeverEndingBody => (provider_error(t, 200, "partial"), Some(false)),
        // Handled in `handle` (nothing is ever sent).
        Action::Silence => (provider_error(t, 500, "unreachable"), None),
        // Handled after the provider answered (see `bunq::resign`).
        Action::Unsigned | Action::BadSignature => (provider_error(t, 500, "unreachable"), None),
    }
}

fn response(reply: Reply, cut: Option<bool>) -> Response<Body> {
    let len = reply.body.len();
    let body = Bytes::from(reply.body);
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .header("cache-control", "no-store");
    for (name, value) in reply.headers {
        builder = builder.header(name, value);
    }
    let body = match cut {
        None => Body::Full(Some(body)),
        Some(reset) => {
            builder = builder.header("content-length", len.to_string());
            let part = body.slice(..len / 2);
            if reset { Body::ThenReset(Some(part)) } else { Body::ThenHang(Some(part)) }
        }
    };
    builder.body(body).unwrap_or_else(|_| Response::new(Body::Full(Some(Bytes::new()))))
}

/// A canned response, sent as given.
fn canned_response(canned: crate::fault::Canned) -> Response<Body> {
    let mut builder = Response::builder().status(canned.status);
    for (name, value) in &canned.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Body::Full(Some(Bytes::from(canned.body)))).unwrap_or_else(|_| {
        let mut r = Response::new(Body::Full(Some(Bytes::new())));
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    reset: Arc<AtomicBool>,
    req: Request<Incoming>,
) -> Response<Body> {
    let (parts, incoming) = req.into_parts();
    let body = match Limited::new(incoming, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return response(
                Reply::json(413, &json!({"error": "request body too large or unreadable"})),
                None,
            );
        }
    };
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let path = parts.uri.path();
    let method = parts.method.as_str();
    // What every recorded request and every provider handler gets, written once.
    let log = |provider: &'static str, status: u16, fault: Option<String>| {
        record(&shared, provider, method, path_and_query, &parts.headers, &body, status, fault)
    };
    let req_at = |rest| Req {
        method,
        path: rest,
        query: parse_query(parts.uri.query()),
        headers: &parts.headers,
        body: &body,
        peer,
    };
    match area(path) {
        Area::Home => response(page::home(&shared), None),
        Area::NotFound => response(
            Reply::json(404, &json!({"error": format!("nothing at {path}; see / for the map")})),
            None,
        ),
        Area::Admin(rest) => {
            response(admin::handle(&shared, method, rest, parts.uri.query(), &body), None)
        }
        Area::VlensApp(rest) => {
            let r = req_at(rest);
            let reply = page::vlens_app(&shared, &r);
            log("vlens-app", reply.status, None);
            response(reply, None)
        }
        Area::Provider(target, rest) => provider(&shared, target, req_at(rest), &reset, &log).await,
    }
}

/// A provider's fault for this request: the `X-Sandbox-Fault` header's and a stored one, merged
/// (latencies add up, the header's action wins), and a canned answer if one is due.
fn faults_for(
    shared: &Shared,
    target: Target,
    r: &Req<'_>,
) -> Result<(Option<Fault>, Option<crate::Canned>), String> {
    let header_fault = match r.headers.get("x-sandbox-fault") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| "X-Sandbox-Fault is not text".to_string())
                .and_then(Fault::parse)?,
        ),
    };
    let (stored, canned) = {
        let mut state = shared.lock();
        (state.faults.take(target, r.path), state.canned.take(target, r.path))
    };
    let fault = match (header_fault, stored) {
        (Some(h), Some(s)) => {
            Some(Fault { latency: h.latency + s.latency, action: h.action.or(s.action) })
        }
        (h, s) => h.or(s),
    };
    Ok((fault, canned))
}

/// A provider's answer, with its faults applied; `log` records it.
async fn provider(
    shared: &Shared,
    target: Target,
    r: Req<'_>,
    reset: &AtomicBool,
    log: &impl Fn(&'static str, u16, Option<String>),
) -> Response<Body> {
    let (fault, canned) = match faults_for(shared, target, &r) {
        Ok(found) => found,
        Err(e) => {
            let reply = provider_error(target, 400, &format!("X-Sandbox-Fault: {e}"));
            log(provider_name(target), 400, None);
            return response(reply, None);
        }
    };
    if let Some(f) = fault
        && !f.latency.is_zero()
    {
        tokio::time::sleep(f.latency).await;
    }
    let fault_text = fault.map(|f| f.to_string());
    let signing = fault
        .and_then(|f| f.action)
        .filter(|a| matches!(a, Action::Unsigned | Action::BadSignature));
    if let Some(canned) = canned {
        log(provider_name(target), canned.status, Some(format!("canned {}", canned.status)));
        return canned_response(canned);
    }
    if fault.and_then(|f| f.action) == Some(Action::Silence) {
        log(provider_name(target), 0, fault_text);
        // Never answers; the connection closes when the client gives up.
        return std::future::pending().await;
    }
    if let Some(action) = fault.and_then(|f| f.action).filter(|_| signing.is_none()) {
        let (reply, cut) = fault_reply(target, action);
        let status = if cut == Some(true) { 0 } else { reply.status };
        if cut == Some(true) {
            reset.store(true, Ordering::SeqCst);
        }
        log(provider_name(target), status, fault_text);
        return response(reply, cut);
    }
    let reply = match target {
        Target::Vlens => vlens::handle(shared, &r),
        Target::Vrplatform => vrplatform::handle(shared, &r),
        Target::Bunq | Target::Any => bunq::handle(shared, &r),
    };
    let reply = match signing {
        Some(action) if target == Target::Bunq => bunq::resign(shared, reply, action),
        _ => reply,
    };
    log(provider_name(target), reply.status, fault_text);
    response(reply, None)
}

#[allow(clippy::too_many_arguments)]
fn record(
    shared: &Shared,
    provider: &'static str,
    method: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    status: u16,
    fault: Option<String>,
) {
    let record = {
        let mut state = shared.lock();
        let at = state.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let rec = &mut state.recorder;
        let record = RecordedRequest {
            id: 0,
            at,
            provider,
            method: method.to_string(),
            path: rec.path(path_and_query),
            status,
            fault,
            headers: rec.headers(headers),
            body: rec.body(body),
        };
        rec.push(record)
    };
    if let Some(log) = &shared.on_request {
        log(&record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries_without_panicking() {
        assert_eq!(decode("a%20b+c"), "a b c");
        assert_eq!(decode("%"), "%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz"), "%zz");
        assert_eq!(decode("%e2%82%ac"), "€");
        assert_eq!(
            parse_query(Some("a=1&b&c=%3D")),
            vec![("a".into(), "1".into()), ("b".into(), String::new()), ("c".into(), "=".into())]
        );
    }
}
