//! A fourth provider, "Acme", added the way ARCHITECTURE.md's "Adding a provider" says, in
//! this test file only: its descriptor, its typed reason, its error-body mapping and one
//! client with two operations, run through the core against a loopback server. Nothing in
//! `src/core` names it (or any provider), so this compiling and passing is the proof that a
//! provider joins without touching the core.
//!
//! `raw` stands in for what `cargo xtask codegen` generates from a spec: a `Client` built with
//! `new_with_client(base, reqwest::Client, Hooks)` whose operations build a request and send
//! it through `Hooks::exec` with their operation id, then decode the documented responses.

use std::fmt;
use std::time::Duration;

use embed_sessions::core::{ApiError, Call, Core, Descriptor, Provider, ProviderReason};
use embed_sessions::{Config, Error, ErrorKind, RetryPolicy};
use httpmock::MockServer;
use serde_json::json;

const KEY: &str = "acme-key-SECRET-4711";

/// What the generator would emit for `specs/acme.yaml` (two operations).
mod raw {
    use embed_sessions::core::Hooks;
    use progenitor_client::{Error, ResponseValue};

    #[derive(Debug, serde::Serialize)]
    pub struct OrderCreate {
        pub item: String,
    }

    #[derive(Debug, serde::Deserialize)]
    pub struct Order {
        pub id: Option<String>,
        pub item: String,
    }

    #[derive(Debug, serde::Deserialize)]
    pub struct ErrorBody {
        pub code: String,
        pub message: String,
    }

    pub struct Client {
        baseurl: String,
        client: reqwest::Client,
        inner: Hooks,
    }

    impl Client {
        pub fn new_with_client(baseurl: &str, client: reqwest::Client, inner: Hooks) -> Self {
            Self { baseurl: baseurl.to_string(), client, inner }
        }

        async fn send<T: serde::de::DeserializeOwned>(
            &self,
            request: reqwest::Request,
            operation_id: &'static str,
        ) -> Result<ResponseValue<T>, Error<ErrorBody>> {
            let response = self.inner.exec(&self.client, request, operation_id).await?;
            match response.status().as_u16() {
                200 | 201 => ResponseValue::from_response(response).await,
                400..=499 => {
                    Err(Error::ErrorResponse(ResponseValue::from_response(response).await?))
                }
                _ => Err(Error::UnexpectedResponse(response)),
            }
        }

        pub async fn create_order(
            &self,
            key: &str,
            body: &OrderCreate,
        ) -> Result<ResponseValue<Order>, Error<ErrorBody>> {
            let url = format!("{}/orders", self.baseurl);
            let request = self.client.post(url).header("x-acme-key", key).json(body).build()?;
            self.send(request, "create_order").await
        }

        pub async fn get_order(
            &self,
            key: &str,
            id: &str,
        ) -> Result<ResponseValue<Order>, Error<ErrorBody>> {
            let url = format!("{}/orders/{id}", self.baseurl);
            let request = self.client.get(url).header("x-acme-key", key).build()?;
            self.send(request, "get_order").await
        }
    }
}

/// The provider's marker and descriptor.
#[derive(Debug, Clone, Copy)]
struct Acme;

impl Provider for Acme {
    const DESCRIPTOR: &'static Descriptor =
        &Descriptor::new("acme", "ACME_API_KEY", "ACME_BASE_URL", "https://api.acme.test")
            .with_sensitive_headers(&["x-acme-key"])
            .with_not_safe_to_repeat(&["create_order"]);
    type Reason = AcmeReason;
}

/// Its documented failures.
#[derive(Debug, Clone, Copy, PartialEq)]
enum AcmeReason {
    BadKey,
    OutOfStock,
    Other,
}

impl fmt::Display for AcmeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AcmeReason::BadKey => "API key refused",
            AcmeReason::OutOfStock => "out of stock",
            AcmeReason::Other => "request rejected",
        })
    }
}

impl ProviderReason for AcmeReason {
    fn from_response(status: u16, code: Option<&str>, _message: Option<&str>) -> Self {
        match (status, code) {
            (401, _) | (_, Some("BAD_KEY")) => AcmeReason::BadKey,
            (_, Some("OUT_OF_STOCK")) => AcmeReason::OutOfStock,
            _ => AcmeReason::Other,
        }
    }

    fn hint(&self) -> Option<&'static str> {
        match self {
            AcmeReason::BadKey => Some("check ACME_API_KEY"),
            AcmeReason::OutOfStock => Some("order something else"),
            AcmeReason::Other => None,
        }
    }
}

fn api_error(status: u16, _: &reqwest::header::HeaderMap, body: raw::ErrorBody) -> ApiError {
    ApiError::from_response::<Acme>(status, Some(body.code), Some(body.message))
}

/// The provider's client: one core, one generated client inside it.
struct AcmeClient {
    core: Core<raw::Client>,
}

impl AcmeClient {
    fn new(config: Config<Acme>) -> Result<Self, Error> {
        let default = RetryPolicy::default();
        let core = Core::new(config, default, raw::Client::new_with_client);
        core.api_key()?;
        Ok(Self { core })
    }

    async fn create_order(&self, item: &str) -> Result<String, Error> {
        let key = self.core.api_key_header()?;
        let body = raw::OrderCreate { item: item.to_string() };
        self.core
            .call(
                Call::new("create_order"),
                |c| {
                    let body = &body;
                    async move { c.create_order(key, body).await }
                },
                api_error,
                |out| {
                    out.into_inner()
                        .id
                        .ok_or_else(|| Error::unexpected_response(Some(201), "no `id`"))
                },
            )
            .await
    }

    async fn order(&self, id: &str) -> Result<String, Error> {
        let key = self.core.api_key_header()?;
        self.core
            .call(
                Call::new("get_order"),
                |c| async move { c.get_order(key, id).await },
                api_error,
                |out| Ok(out.into_inner().item),
            )
            .await
    }
}

fn client(server: &MockServer) -> AcmeClient {
    let policy = RetryPolicy::default().initial_backoff(Duration::ZERO).jitter(false);
    let config = Config::builder(Acme).api_key(KEY).base_url(server.base_url()).retry(policy);
    AcmeClient::new(config.build().unwrap()).unwrap()
}

#[tokio::test]
async fn a_fourth_provider_runs_through_the_core() {
    let server = MockServer::start_async().await;
    let created = server.mock(|when, then| {
        when.method("POST")
            .path("/orders")
            .header("x-acme-key", KEY)
            .json_body(json!({"item": "anvil"}));
        then.status(201).json_body(json!({"id": "o-1", "item": "anvil"}));
    });
    let read = server.mock(|when, then| {
        when.method("GET").path("/orders/o-1").header("x-acme-key", KEY);
        then.status(200).json_body(json!({"id": "o-1", "item": "anvil"}));
    });
    let acme = client(&server);
    assert_eq!(acme.create_order("anvil").await.unwrap(), "o-1");
    assert_eq!(acme.order("o-1").await.unwrap(), "anvil");
    created.assert();
    read.assert();
}

#[tokio::test]
async fn its_errors_carry_its_reason_name_and_words_without_its_key() {
    let server = MockServer::start_async().await;
    server.mock(|when, then| {
        when.method("POST").path("/orders");
        then.status(401)
            .json_body(json!({"code": "BAD_KEY", "message": format!("key {KEY} refused")}));
    });
    let e = client(&server).create_order("anvil").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.provider(), Some("acme"));
    assert_eq!(e.operation(), Some("create_order"));
    assert_eq!(e.reason_as(), Some(&AcmeReason::BadKey));
    assert_eq!(e.hint(), Some("check ACME_API_KEY"));
    let text = format!("{e} {e:?}");
    assert!(!text.contains(KEY), "the key sent in x-acme-key is scrubbed: {text}");
    assert!(
        e.to_string().starts_with("acme create_order: API key refused (HTTP 401, code BAD_KEY); check ACME_API_KEY; provider said: \"key [REDACTED] refused\""),
        "{e}"
    );
    let no_key = AcmeClient::new(Config::builder(Acme).build().unwrap()).err().unwrap();
    assert!(no_key.to_string().contains("ACME_API_KEY"), "{no_key}");
}

#[tokio::test]
async fn its_descriptor_decides_which_operations_are_repeated() {
    let server = MockServer::start_async().await;
    let create = server.mock(|when, then| {
        when.method("POST").path("/orders");
        then.status(503);
    });
    let get = server.mock(|when, then| {
        when.method("GET").path("/orders/o-1");
        then.status(503);
    });
    let acme = client(&server);
    let e = acme.create_order("anvil").await.unwrap_err();
    assert_eq!((e.attempts(), e.is_retryable()), (1, false), "not safe to repeat: {e}");
    let e = acme.order("o-1").await.unwrap_err();
    assert_eq!((e.attempts(), e.is_retryable()), (3, true), "safe to repeat: {e}");
    assert_eq!((create.calls(), get.calls()), (1, 3));
}

#[tokio::test]
async fn its_generated_client_sends_nothing_outside_a_call() {
    let server = MockServer::start_async().await;
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(json!({"id": "o-1", "item": "anvil"}));
    });
    let acme = client(&server);
    // No call state (no hook, nothing recorded): refused before anything is sent.
    let out = acme.core.raw().get_order(KEY, "o-1").await;
    match out {
        Err(progenitor_client::Error::UnexpectedResponse(resp)) => {
            assert_eq!(resp.status().as_u16(), 599)
        }
        other => panic!("expected the synthetic 599, got {other:?}"),
    }
    assert_eq!(any.calls(), 0);
    // The same operation inside `Core::call` is sent.
    assert_eq!(acme.order("o-1").await.unwrap(), "anvil");
    assert_eq!(any.calls(), 1);
}
