//! Helpers of the API integration tests: a real hub on port 0, a tiny HTTP client over hyper,
//! and participants that sign their requests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use geo_node::api::{self, ApiConfig, AppState, RateTable};
use geo_node::engine::{Engine, EngineConfig};
use geo_protocol::{Keypair, Pid};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// Admin token of test hubs.
pub const ADMIN: &str = "test-admin-token";

/// The default configuration without rate limits: tests send many requests from one address
/// (the limits themselves are tested in `api_bad_input.rs`).
pub fn unlimited() -> ApiConfig {
    ApiConfig {
        ip_rates: RateTable::OFF,
        participant_rates: RateTable::OFF,
        ..ApiConfig::default()
    }
}

/// A running hub.
pub struct Hub {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

/// Which backend a hub runs on.
pub enum Backend {
    Memory,
    Sqlite,
    Postgres(String),
}

fn pg_database_url(base: &str, db: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").map_or(0, |i| i + 3);
    let root = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

impl Hub {
    /// Starts a hub on 127.0.0.1:0 with the default equivalents UAH, HOUR, EUR (precision 2).
    pub async fn start(backend: Backend, config: ApiConfig, engine_config: EngineConfig) -> Hub {
        let mut dir = None;
        let mut pg = None;
        let url = match backend {
            Backend::Memory => "memory:".to_owned(),
            Backend::Sqlite => {
                let d = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite:{}", d.path().join("hub.db").display());
                dir = Some(d);
                url
            }
            Backend::Postgres(base) => {
                let name = format!("geo_test_{}", uuid::Uuid::new_v4().simple());
                let admin = sqlx::PgPool::connect(&base)
                    .await
                    .expect("connect to GEO_TEST_POSTGRES_URL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create database");
                admin.close().await;
                pg = Some((base.clone(), name.clone()));
                pg_database_url(&base, &name)
            }
        };
        let store = geo_node::store::open(&url).await.expect("open store");
        let mut hub = Hub::on_store(store, config, engine_config).await;
        hub._dir = dir;
        hub.pg = pg;
        hub
    }

    /// Starts a hub on 127.0.0.1:0 over an open store (creating the default equivalents when it
    /// has none). The store outlives the hub: a test can stop the hub, close the store, open it
    /// again and start another hub on it (a restart).
    pub async fn on_store(
        store: std::sync::Arc<dyn geo_node::store::Store>,
        mut config: ApiConfig,
        engine_config: EngineConfig,
    ) -> Hub {
        if config.admin_token.is_empty() {
            config.admin_token = ADMIN.to_owned();
        }
        let engine = Engine::start(store, engine_config).await.expect("start engine");
        api::ensure_equivalents(
            &engine,
            &[("UAH", 2, "hryvnia"), ("HOUR", 2, "hour"), ("EUR", 2, "euro")],
        )
        .await
        .expect("equivalents");
        let state = AppState::new(engine, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(api::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        Hub {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
            _dir: None,
            pg: None,
        }
    }

    /// A hub on the memory store with default settings.
    pub async fn memory() -> Hub {
        Hub::start(Backend::Memory, unlimited(), EngineConfig::default()).await
    }

    /// Stops the server and drops the test database, if any.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        self.state.engine().kill();
        if let Some((base, name)) = self.pg.take() {
            drop(self.state);
            if let Ok(admin) = sqlx::PgPool::connect(&base).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await;
                admin.close().await;
            }
        }
    }

    /// Sends a request.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Resp {
        let bytes = body.map(|b| b.to_string().into_bytes());
        self.raw(method, path, token, bytes, &[]).await
    }

    /// Sends a request with a raw body and extra headers.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
        headers: &[(&str, &str)],
    ) -> Resp {
        http(self.addr, method, path, token, body, headers).await
    }

    /// `GET /integrity/checksum/{eq}` as seen by `token`.
    pub async fn checksum(&self, token: &str, eq: &str) -> String {
        let r = self
            .call(
                "GET",
                &format!("/api/v1/integrity/checksum/{eq}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["checksum"].as_str().expect("checksum").to_owned()
    }
}

/// A response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// The error code of an error envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Resp {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("request");
    let resp = sender.send_request(req).await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    // 503 is the deliberate, retryable answer to a failed write; any other 5xx is a bug.
    assert!(
        status < 500 || status == 503,
        "{method} {path} answered {status}: {text}"
    );
    Resp {
        status,
        headers,
        body,
        text,
    }
}

/// A registered participant with a key and (after login) a token.
pub struct User {
    pub name: String,
    pub key: Keypair,
    pub pid: Pid,
    pub token: String,
    pub refresh: String,
}

impl User {
    /// Signs a body (adds `signature`).
    pub fn sign(&self, body: Value) -> Value {
        self.key.signed(body).expect("sign")
    }
}

/// Registers a participant and logs it in.
pub async fn join(hub: &Hub, name: &str) -> User {
    let key = Keypair::generate();
    let body = key
        .signed(json!({ "display_name": name, "type": "person", "public_key": key.public().to_base64() }))
        .expect("sign");
    let r = hub.call("POST", "/api/v1/participants", None, Some(&body)).await;
    assert_eq!(r.status, 201, "register {name}: {}", r.text);
    let pid = key.pid();
    assert_eq!(r.body["pid"], pid.as_str());
    let mut user = User {
        name: name.to_owned(),
        key,
        pid,
        token: String::new(),
        refresh: String::new(),
    };
    login(hub, &mut user).await;
    user
}

/// Challenge-response login.
pub async fn login(hub: &Hub, user: &mut User) {
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/challenge",
            None,
            Some(&json!({ "pid": user.pid.as_str() })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let challenge = r.body["challenge"].as_str().expect("challenge").to_owned();
    let signature = user.key.sign_bytes(challenge.as_bytes());
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({ "pid": user.pid.as_str(), "challenge": challenge, "signature": signature })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["token_type"], "Bearer");
    user.token = r.body["access_token"].as_str().expect("token").to_owned();
    user.refresh = r.body["refresh_token"].as_str().expect("refresh").to_owned();
}

/// Opens a trust line `from -> to` (from trusts to) and returns its id.
pub async fn trust(hub: &Hub, from: &User, to: &User, eq: &str, limit: &str) -> String {
    let body = from.sign(json!({ "to": to.pid.as_str(), "equivalent": eq, "limit": limit }));
    let r = hub
        .call("POST", "/api/v1/trustlines", Some(&from.token), Some(&body))
        .await;
    assert_eq!(
        r.status, 201,
        "trust line {} -> {}: {}",
        from.name, to.name, r.text
    );
    r.body["id"].as_str().expect("id").to_owned()
}

/// A signed payment body.
pub fn payment_body(from: &User, to: &User, eq: &str, amount: &str, tx_id: &str) -> Value {
    from.sign(json!({ "tx_id": tx_id, "to": to.pid.as_str(), "equivalent": eq, "amount": amount }))
}

/// Pays and returns the response.
pub async fn pay(hub: &Hub, from: &User, to: &User, eq: &str, amount: &str) -> Resp {
    let tx_id = format!("tx-{}", uuid::Uuid::new_v4());
    let body = payment_body(from, to, eq, amount, &tx_id);
    hub.call("POST", "/api/v1/payments", Some(&from.token), Some(&body))
        .await
}

/// Polls `f` until it returns `Some`, at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut f: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
