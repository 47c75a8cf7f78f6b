//! The seam between the generated provider clients and the `embed-sessions` facade.
//!
//! progenitor lets a generated `Client` carry an *inner* value and calls
//! `ClientHooks::exec` for every request. The hook impl must sit in the crate that defines
//! `Client` (orphan rule), so `cargo xtask codegen` emits, into each client's `generated.rs`,
//! an `exec` that forwards to [`Hooks::exec`]. The facade plugs its [`Transport`] (retries,
//! timeouts, tracing, a provider's request signing and response checks) in here; a raw client
//! built with `Hooks::default()` sends requests with plain `reqwest`.
//!
//! The generated operations also start their requests here ([`Hooks::request`]) and decode
//! their typed answers here ([`from_response`]), both wired in by the same xtask step: the base
//! URL is parsed once per client instead of the whole URL on every request, and an answer's
//! headers are moved into its `ResponseValue` instead of copied.
//!
//! ```
//! let hooks = embed_sessions_hooks::Hooks::default();
//! assert!(!hooks.has_transport());
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use futures::future::Either;

/// A boxed, sendable future returning a `reqwest` response.
pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// Executes one generated operation's request. Implemented by the facade.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` (built by the generated client for `operation_id`, its snake_case
    /// operation id) with `client`, possibly several times, and returns the final response.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> ResponseFuture<'a>;
}

/// The generated clients' inner value: an optional [`Transport`].
#[derive(Clone, Default)]
pub struct Hooks {
    transport: Option<Arc<dyn Transport>>,
    /// The client's base URL, parsed once (see [`Hooks::request`]); `None` inside when it
    /// cannot be used as a prefix.
    base: OnceLock<Option<reqwest::Url>>,
}

impl Hooks {
    /// Hooks that route every request through `transport`.
    pub fn new(transport: Arc<dyn Transport>) -> Self {
        Self { transport: Some(transport), base: OnceLock::new() }
    }

    /// Starts a generated operation's request for `url`, which is `baseurl` (the generated
    /// client's) followed by the operation's path: `client.request(method, url)`, with the
    /// URL built from the base URL parsed once instead of parsed whole (reqwest's
    /// `Url::parse` is several thousand instructions per request).
    ///
    /// The result is the very URL `Url::parse(&url)` gives: the cheap one is used only when
    /// its text is `url` exactly, and a URL's text parses back to the same URL. Anything
    /// else (a path that parsing would normalise, a base URL with a query) takes the plain
    /// route.
    ///
    /// ```
    /// let hooks = embed_sessions_hooks::Hooks::default();
    /// let http = reqwest::Client::new();
    /// let base = "http://127.0.0.1:8080/v1";
    /// let req = hooks
    ///     .request(&http, reqwest::Method::GET, base, format!("{base}/teams/42"))
    ///     .build()?;
    /// assert_eq!(req.url().as_str(), "http://127.0.0.1:8080/v1/teams/42");
    /// # Ok::<(), reqwest::Error>(())
    /// ```
    pub fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        baseurl: &str,
        url: String,
    ) -> reqwest::RequestBuilder {
        match self.join(baseurl, &url) {
            Some(joined) => client.request(method, joined),
            None => client.request(method, url),
        }
    }

    /// `url` (`baseurl` then a path) from the parsed base URL, if that gives exactly `url`.
    fn join(&self, baseurl: &str, url: &str) -> Option<reqwest::Url> {
        // A clone of these hooks may serve a client with another base URL: the URL built
        // from this one then differs from `url`, and the check below refuses it.
        let base = self.base.get_or_init(|| parse_base(baseurl)).as_ref()?;
        let rest = url.strip_prefix(baseurl)?;
        let mut joined = base.clone();
        let stem = base.path().trim_end_matches('/');
        if stem.is_empty() {
            // The usual base URL, with no path: no string to build.
            joined.set_path(rest);
        } else {
            joined.set_path(&format!("{stem}{rest}"));
        }
        (joined.as_str() == url).then_some(joined)
    }

    /// Whether a transport is plugged in (else requests go straight to `reqwest`).
    pub fn has_transport(&self) -> bool {
        self.transport.is_some()
    }

    /// Sends the request through the transport, or with `client` directly when there is none.
    ///
    /// A plain function returning the transport's (or reqwest's) future as it is: an `async fn`
    /// would keep its own copy of the request (264 bytes) in its state, and that state is part
    /// of every generated operation's future.
    pub fn exec<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a {
        match &self.transport {
            Some(transport) => Either::Left(transport.execute(client, request, operation_id)),
            None => Either::Right(client.execute(request)),
        }
    }
}

/// A typed answer: progenitor's `ResponseValue::from_response`, with the response's headers
/// moved into the value instead of cloned (the response is consumed anyway). Same errors: the
/// body could not be read (`ResponseBodyError`; unlike reqwest's `bytes`, the error does not
/// name the URL, which may carry credentials), or is not the JSON of `T`
/// (`InvalidResponsePayload`, with the body).
///
/// ```
/// # async fn demo() {
/// let answer = http::Response::builder()
///     .header("content-type", "application/json")
///     .body(r#"{"id":7}"#)
///     .unwrap();
/// let value: progenitor_client::ResponseValue<serde_json::Value> =
///     embed_sessions_hooks::from_response::<_, ()>(reqwest::Response::from(answer)).await.unwrap();
/// assert_eq!(value.status(), 200);
/// assert_eq!(value.headers()["content-type"], "application/json");
/// assert_eq!(value.into_inner()["id"], 7);
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo());
/// ```
pub fn from_response<T: serde::de::DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> impl Future<Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>>
{
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let body = body_reader(response, usize::MAX);
    FromResponse { status, headers: Some(headers), body, decoded: PhantomData }
}

/// [`from_response`]'s future, written out: an `async fn` would keep the response twice (as
/// its argument and as the body reader's), and every generated operation's future is as large
/// as its largest await (944 bytes as an `async fn`; BENCHMARKS.md, "Where the wall-clock gap
/// goes").
struct FromResponse<S, T, E> {
    status: reqwest::StatusCode,
    /// Taken when the value is made.
    headers: Option<reqwest::header::HeaderMap>,
    body: ReadBody<S>,
    decoded: PhantomData<fn() -> (T, E)>,
}

impl<S, T, E> Future for FromResponse<S, T, E>
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
    T: serde::de::DeserializeOwned,
{
    type Output = Result<progenitor_client::ResponseValue<T>, progenitor_client::Error<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        use progenitor_client::Error;
        let this = self.get_mut();
        let full = match Pin::new(&mut this.body).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::ResponseBodyError(e))),
            // No cap here (`usize::MAX`): the transport bounds what it hands over.
            Poll::Ready(Ok(full)) => full.unwrap_or_default(),
        };
        let headers = this.headers.take().unwrap_or_default();
        Poll::Ready(match serde_json::from_slice(&full) {
            Ok(inner) => Ok(progenitor_client::ResponseValue::new(inner, this.status, headers)),
            Err(e) => Err(Error::InvalidResponsePayload(full, e)),
        })
    }
}

/// Reads a whole body, refusing more than `max` bytes: `Ok(None)` as soon as the chunks read
/// add up to more (the rest is not read). What `reqwest::Response::bytes` returns, with a
/// future of some 100 bytes instead of its 568 (it collects through `http_body_util`'s buffer
/// list); a body that arrives in one chunk (the usual small JSON answer) is returned as it is,
/// not copied. Headers and URL are not kept: take them from the response first.
///
/// ```
/// # async fn demo() {
/// let answer = |body: &'static str| reqwest::Response::from(http::Response::new(body));
/// let body = embed_sessions_hooks::read_body(answer("{}"), 2).await.unwrap();
/// assert_eq!(body.as_deref(), Some(&b"{}"[..]));
/// assert_eq!(embed_sessions_hooks::read_body(answer("{ }"), 2).await.unwrap(), None);
/// # }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo());
/// ```
pub fn read_body(
    response: reqwest::Response,
    max: usize,
) -> impl Future<Output = reqwest::Result<Option<bytes::Bytes>>> + Send {
    body_reader(response, max)
}

/// [`read_body`]'s future, for [`FromResponse`] to hold by its type.
fn body_reader(
    response: reqwest::Response,
    max: usize,
) -> ReadBody<impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + Send> {
    ReadBody { stream: response.bytes_stream(), max, first: None, rest: None }
}

/// [`read_body`]'s future, written out (see [`FromResponse`]).
struct ReadBody<S> {
    stream: S,
    max: usize,
    first: Option<bytes::Bytes>,
    /// From the second chunk on: everything so far.
    rest: Option<bytes::BytesMut>,
}

impl<S> Future for ReadBody<S>
where
    S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
{
    type Output = reqwest::Result<Option<bytes::Bytes>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let chunk = match Pin::new(&mut this.stream).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some(Ok(chunk))) => chunk,
                Poll::Ready(None) => {
                    let body = match this.rest.take() {
                        Some(rest) => rest.freeze(),
                        None => this.first.take().unwrap_or_default(),
                    };
                    return Poll::Ready(Ok(Some(body)));
                }
            };
            let so_far = this.rest.as_ref().map_or(0, |r| r.len())
                + this.first.as_ref().map_or(0, bytes::Bytes::len);
            if so_far.saturating_add(chunk.len()) > this.max {
                return Poll::Ready(Ok(None));
            }
            match (&mut this.rest, this.first.take()) {
                (Some(rest), _) => rest.extend_from_slice(&chunk),
                (None, None) => this.first = Some(chunk),
                (None, Some(first)) => {
                    let mut rest = bytes::BytesMut::with_capacity(first.len() + chunk.len());
                    rest.extend_from_slice(&first);
                    rest.extend_from_slice(&chunk);
                    this.rest = Some(rest);
                }
            }
        }
    }
}

/// `baseurl` parsed, when it can be a prefix: it has a host, no query or fragment, and is its
/// own parsed text.
fn parse_base(baseurl: &str) -> Option<reqwest::Url> {
    let url = reqwest::Url::parse(baseurl).ok()?;
    // Its own text, but for the `/` parsing adds to a root path.
    let text = url.as_str();
    let same = text == baseurl || text.strip_suffix('/') == Some(baseurl);
    (same && url.has_host() && url.query().is_none() && url.fragment().is_none()).then_some(url)
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("transport", &self.transport.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASES: &[&str] = &[
        "http://127.0.0.1:8080",
        "https://api.edge.example.app",
        "https://api.example.com/v1",
        "https://api.example.com/v1/",
        "http://[::1]:9000/a/b",
        "HTTPS://Example.COM",
        "https://api.example.com?x=1",
        "https://api.example.com#frag",
        "https://user:pw@api.example.com:443/",
        "not a url",
    ];

    /// What `Hooks::request` builds, beside what reqwest builds from the whole string.
    fn both(
        hooks: &Hooks,
        base: &str,
        url: String,
    ) -> (Option<reqwest::Url>, Option<reqwest::Url>) {
        let http = reqwest::Client::new();
        let ours = hooks.request(&http, reqwest::Method::GET, base, url.clone()).build();
        let plain = http.get(url).build();
        (ours.ok().map(|r| r.url().clone()), plain.ok().map(|r| r.url().clone()))
    }

    #[test]
    fn an_operation_path_on_a_plain_base_takes_the_cheap_route() {
        let hooks = Hooks::default();
        for (base, path) in [
            ("http://127.0.0.1:8080", "/auth/embed/session"),
            ("https://api.example.com/v1", "/teams/4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a"),
            ("https://api.example.com", "/user/1/monetary-account/2/notification-filter-url"),
        ] {
            let hooks = hooks.clone();
            let url = format!("{base}{path}");
            let joined = hooks.join(base, &url).unwrap_or_else(|| panic!("{url}: not joined"));
            assert_eq!(joined, reqwest::Url::parse(&url).unwrap());
        }
    }

    #[test]
    fn what_parsing_would_change_takes_the_plain_route() {
        let hooks = Hooks::default();
        let base = "https://api.example.com";
        for path in ["/a/../b", "/a/./b", "/a b", "/a?b", "/a#b", "/é", "/a\\b"] {
            let url = format!("{base}{path}");
            assert!(hooks.join(base, &url).is_none(), "{url}");
            let (ours, plain) = both(&hooks, base, url);
            assert_eq!(ours, plain, "{path}");
        }
        assert!(hooks.join(base, "https://other.example.com/a").is_none());
        // These hooks now hold `base`; a client with another base URL is not served from it
        // (the URL built from `base` is not its URL).
        let other = "https://other.example.com";
        assert!(hooks.join(other, &format!("{other}/a")).is_none());
        // `baseurl` as a text prefix of another authority.
        let hooks = Hooks::default();
        assert!(hooks.join("http://127.0.0.1:1", "http://127.0.0.1:10/a").is_none());
    }

    /// An answer whose body arrives as `chunks` (an `Err` item: the connection breaks there).
    fn answer(status: u16, chunks: &[Result<&'static str, &'static str>]) -> reqwest::Response {
        let items: Vec<Result<bytes::Bytes, std::io::Error>> = chunks
            .iter()
            .map(|c| match c {
                Ok(text) => Ok(bytes::Bytes::from_static(text.as_bytes())),
                Err(why) => Err(std::io::Error::other(*why)),
            })
            .collect();
        let answer = http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-request-id", "r-1")
            .body(reqwest::Body::wrap_stream(futures::stream::iter(items)))
            .unwrap();
        reqwest::Response::from(answer)
    }

    /// Ours and progenitor's, side by side: same value, status and headers, or the same error;
    /// for bodies in one chunk, in several, in none, and cut short.
    #[test]
    fn from_response_is_progenitors() {
        type R = Result<progenitor_client::ResponseValue<serde_json::Value>, String>;
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let show =
            |r: Result<_, progenitor_client::Error<()>>| -> R { r.map_err(|e| e.to_string()) };
        let cases: &[(u16, &[Result<&str, &str>])] = &[
            (200, &[Ok(r#"{"a":[1,2]}"#)]),
            (404, &[Ok(r#"{"code":"x"}"#)]),
            (200, &[Ok("<html>")]),
            (200, &[Ok(r#"{"a":"#), Ok("[1,"), Ok("2]}")]),
            (200, &[Ok(r#"{"a":"#), Ok("[1,2]}")]),
            (200, &[Ok(""), Ok("{}")]),
            (200, &[]),
            (200, &[Ok(r#"{"a":"#), Err("connection reset")]),
        ];
        for (status, chunks) in cases {
            let ours: R = show(rt.block_on(from_response(answer(*status, chunks))));
            let theirs: R = show(rt.block_on(progenitor_client::ResponseValue::from_response(
                answer(*status, chunks),
            )));
            match (ours, theirs) {
                (Ok(a), Ok(b)) => {
                    assert_eq!((a.status(), a.headers()), (b.status(), b.headers()), "{chunks:?}");
                    assert_eq!(a.into_inner(), b.into_inner(), "{chunks:?}");
                }
                // The one difference: reqwest's `bytes` names the URL in a body error (ours
                // does not: a base URL may carry credentials).
                (Err(a), Err(b)) => {
                    let b = b.split(" for url (").next().unwrap_or_default();
                    assert_eq!(a, b, "{chunks:?}");
                }
                (a, b) => panic!("{chunks:?}: ours {a:?}, progenitor's {b:?}"),
            }
        }
    }

    /// The cap counts every chunk: exactly `max` bytes pass, one more is refused, whether it
    /// arrives in one chunk or spread over several.
    #[test]
    fn read_body_refuses_more_than_max() {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let read = |chunks: &[Result<&'static str, &'static str>], max| {
            rt.block_on(read_body(answer(200, chunks), max)).unwrap()
        };
        let six = Some(bytes::Bytes::from_static(b"abcdef"));
        assert_eq!(read(&[Ok("abcdef")], 6), six);
        assert_eq!(read(&[Ok("ab"), Ok("cd"), Ok("ef")], 6), six);
        assert_eq!(read(&[Ok("abcdef")], 5), None);
        assert_eq!(read(&[Ok("ab"), Ok("cd"), Ok("ef")], 5), None);
        assert_eq!(read(&[Ok("ab"), Ok("cd"), Ok("efg")], 6), None);
        assert_eq!(read(&[], 0), Some(bytes::Bytes::new()));
    }

    /// Without a transport, `exec` sends with reqwest itself (a refused connection here).
    #[test]
    fn exec_without_a_transport_is_reqwest() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = reqwest::Client::new();
        let hooks = Hooks::default();
        // A port just freed: nothing listens on it.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        drop(listener);
        let request = client.get(&url).build().unwrap();
        let err = rt.block_on(hooks.exec(&client, request, "op")).unwrap_err();
        assert!(err.is_connect(), "{err}");
    }

    proptest! {
        #[test]
        fn the_url_is_the_one_parsing_gives(
            base in proptest::sample::select(BASES),
            path in "/[a-zA-Z0-9./%?#@:;=&+~_ \\\\é-]{0,24}",
        ) {
            let hooks = Hooks::default();
            let (ours, plain) = both(&hooks, base, format!("{base}{path}"));
            prop_assert_eq!(ours, plain);
        }
    }
}
