//! HTTP plumbing of the client: the hub's address, a pooled hyper client for one-off commands,
//! single keep-alive connections for the load generator, and the hub's error envelope.

use std::time::Duration;

use geo_protocol::wire::error::ErrorEnvelope;
use geo_protocol::wire::{self, Endpoint};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// How long one request may take before the client gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The hub answered with an error (its envelope's code and message).
    #[error("{code}: {message} (HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// `error.code` of the envelope (`HTTP_<status>` when the answer was not an envelope).
        code: String,
        /// `error.message` of the envelope.
        message: String,
        /// `error.details`, when present.
        details: Option<Value>,
    },
    /// The hub could not be reached or the exchange broke off.
    #[error("cannot talk to the hub: {0}")]
    Transport(String),
    /// A success answer that is not JSON.
    #[error("the hub answered something that is not JSON: {0}")]
    BadAnswer(String),
    /// A success answer that is not the endpoint's response body.
    #[error("the hub's answer is not the expected {what}: {why}")]
    Unexpected {
        /// The expected wire type.
        what: &'static str,
        /// What did not match.
        why: String,
    },
    /// The request body could not be encoded.
    #[error("encoding the request: {0}")]
    Encode(String),
}

/// The hyper method of a wire method.
pub fn method(m: wire::Method) -> Method {
    match m {
        wire::Method::Get => Method::GET,
        wire::Method::Post => Method::POST,
        wire::Method::Patch => Method::PATCH,
        wire::Method::Delete => Method::DELETE,
    }
}

/// Reads a success answer as the wire type `T`.
pub fn read<T: DeserializeOwned>(answer: &Value) -> Result<T, CallError> {
    T::deserialize(answer).map_err(|e| CallError::Unexpected {
        what: std::any::type_name::<T>().rsplit("::").next().unwrap_or("answer"),
        why: e.to_string(),
    })
}

/// The JSON bytes of a request body.
pub fn encode<B: Serialize + ?Sized>(body: &B) -> Result<Bytes, CallError> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| CallError::Encode(e.to_string()))
}

/// The address of a hub: `http://host:port` with an optional path prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubUrl {
    base: String,
    authority: String,
    prefix: String,
}

impl HubUrl {
    /// Parses `http://host[:port][/prefix]` (TLS is not supported: put a proxy in front).
    pub fn parse(url: &str) -> anyhow::Result<HubUrl> {
        let uri: Uri = url
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("bad hub URL {url:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => anyhow::bail!("hub URL {url:?}: scheme {other} is not supported (use http://)"),
            None => anyhow::bail!("hub URL {url:?} needs a scheme, e.g. http://127.0.0.1:8080"),
        }
        let Some(auth) = uri.authority() else {
            anyhow::bail!("hub URL {url:?} has no host");
        };
        let authority = match auth.port_u16() {
            Some(_) => auth.as_str().to_owned(),
            None => format!("{}:80", auth.host()),
        };
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(HubUrl {
            base: format!("http://{}{}", auth.as_str(), prefix),
            authority,
            prefix,
        })
    }

    /// The normalised base URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `host:port` to connect to.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The absolute URL of an API path such as `/api/v1/balance`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The request target of `path` on a direct connection (prefix included).
    pub fn target(&self, path: &str) -> String {
        format!("{}{}", self.prefix, path)
    }

    /// The `ws://` URL of a path.
    pub fn ws_url(&self, path: &str) -> String {
        let rest = self.base.strip_prefix("http://").unwrap_or(&self.base);
        format!("ws://{rest}{path}")
    }
}

/// Turns an answer into the success body or the hub's error.
pub fn decode(status: u16, bytes: &[u8]) -> Result<Value, CallError> {
    if (200..300).contains(&status) {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(bytes)
            .map_err(|_| CallError::BadAnswer(String::from_utf8_lossy(bytes).chars().take(200).collect()));
    }
    match serde_json::from_slice::<ErrorEnvelope>(bytes) {
        Ok(ErrorEnvelope { error }) => Err(CallError::Api {
            status,
            code: error.code,
            message: error.message,
            details: error.details.map(Value::Object),
        }),
        Err(_) => Err(CallError::Api {
            status,
            code: format!("HTTP_{status}"),
            message: String::from_utf8_lossy(bytes).chars().take(200).collect(),
            details: None,
        }),
    }
}

fn request(
    method: Method,
    uri: &str,
    host: &str,
    token: Option<&str>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, CallError> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(hyper::header::HOST, host)
        .header(hyper::header::ACCEPT, "application/json");
    if !body.is_empty() {
        req = req.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    if let Some(t) = token {
        req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Full::new(body))
        .map_err(|e| CallError::Transport(format!("building the request: {e}")))
}

/// A pooled HTTP/1.1 client of one hub (the one-off commands).
#[derive(Clone)]
pub struct HttpClient {
    hub: HubUrl,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    /// A client of `hub`.
    pub fn new(hub: HubUrl) -> HttpClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        HttpClient { hub, client }
    }

    /// The hub this client talks to.
    pub fn hub(&self) -> &HubUrl {
        &self.hub
    }

    /// Sends the wire request `req` of endpoint `E` to `path` (its full path, path parameters
    /// filled in): the typed success body and the answer as the hub sent it, or the hub's error.
    /// `GET` requests send no body (their parameters are in `path`).
    pub async fn send<E>(
        &self,
        path: &str,
        token: Option<&str>,
        req: &E,
    ) -> Result<(E::Response, Value), CallError>
    where
        E: Endpoint + Serialize,
        E::Response: DeserializeOwned,
    {
        let body = if E::METHOD == wire::Method::Get {
            Bytes::new()
        } else {
            encode(req)?
        };
        let answer = self.call_bytes(method(E::METHOD), path, token, body).await?;
        Ok((read(&answer)?, answer))
    }

    /// Sends a request with an optional JSON body and bearer token; the success body or the
    /// hub's error.
    pub async fn call<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&B>,
    ) -> Result<Value, CallError> {
        let bytes = body.map(encode).transpose()?.unwrap_or_default();
        self.call_bytes(method, path, token, bytes).await
    }

    async fn call_bytes(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        bytes: Bytes,
    ) -> Result<Value, CallError> {
        let req = request(method, &self.hub.url(path), self.hub.authority(), token, bytes)?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| CallError::Transport(format!("{e:#}")))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?
                .to_bytes();
            decode(status, &bytes)
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| CallError::Transport(format!("no answer within {REQUEST_TIMEOUT:?}")))?
    }
}

/// One keep-alive HTTP/1.1 connection (reopened when it breaks); used by the load generator so
/// that each simulated client has a connection of its own.
pub struct Conn {
    hub: HubUrl,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// Opens a connection to the hub.
    pub async fn connect(hub: &HubUrl) -> Result<Conn, CallError> {
        let mut conn = Conn {
            hub: hub.clone(),
            sender: None,
        };
        conn.open().await?;
        Ok(conn)
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, CallError> {
        let stream = tokio::net::TcpStream::connect(self.hub.authority())
            .await
            .map_err(|e| CallError::Transport(format!("connecting to {}: {e}", self.hub.authority())))?;
        stream
            .set_nodelay(true)
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// Sends one request and returns the status and the raw body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Bytes,
    ) -> Result<(u16, Bytes), CallError> {
        let target = self.hub.target(path);
        let req = request(method, &target, self.hub.authority(), token, body)?;
        let sender = match self.sender.as_mut() {
            Some(s) if !s.is_closed() => s,
            _ => self.open().await?,
        };
        let exchange = async {
            sender
                .ready()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| CallError::Transport(e.to_string()))?
                .to_bytes();
            Ok::<_, CallError>((status, bytes))
        };
        let result = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(CallError::Transport("timeout".into())));
        if result.is_err() {
            // The connection is in an unknown state: start afresh next time.
            self.sender = None;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_urls() {
        let h = HubUrl::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(h.base(), "http://127.0.0.1:8080");
        assert_eq!(h.authority(), "127.0.0.1:8080");
        assert_eq!(h.url("/api/v1/balance"), "http://127.0.0.1:8080/api/v1/balance");
        assert_eq!(h.ws_url("/api/v1/ws"), "ws://127.0.0.1:8080/api/v1/ws");
        let h = HubUrl::parse("http://localhost/geo").unwrap();
        assert_eq!(h.authority(), "localhost:80");
        assert_eq!(h.target("/api/v1/x"), "/geo/api/v1/x");
        assert!(HubUrl::parse("https://x").is_err());
        assert!(HubUrl::parse("127.0.0.1:8080").is_err());
    }

    fn code(e: &CallError) -> Option<&str> {
        match e {
            CallError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    #[test]
    fn envelopes() {
        let e = decode(400, br#"{"error":{"code":"INVALID_AMOUNT","message":"bad"}}"#).unwrap_err();
        assert_eq!(code(&e), Some("INVALID_AMOUNT"));
        assert_eq!(e.to_string(), "INVALID_AMOUNT: bad (HTTP 400)");
        assert_eq!(code(&decode(502, b"oops").unwrap_err()), Some("HTTP_502"));
        assert_eq!(decode(200, b"{\"a\":1}").unwrap()["a"], 1);
    }
}
