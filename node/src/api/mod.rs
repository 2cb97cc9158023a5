//! The hub's HTTP API: the GEO v0.1 client contract under `/api/v1`, the WebSocket event stream,
//! health probes, Prometheus metrics and the admin JSON API.
//!
//! Build a router with [`router`] from an [`AppState`] (which holds the [`Engine`], the
//! configuration and the in-memory auth and rate-limit state: no global state), or run it on a
//! listener with [`serve`]. Every failure leaves as the error envelope of [`error::ApiError`].

pub mod admin;
pub mod analytics;
pub mod audit;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod integrity;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod participants;
pub mod payments;
pub mod ratelimit;
pub mod trustlines;
pub mod util;
pub mod views;
pub mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use geo_protocol::{Pid, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::engine::{Command, Engine, Reply};
use crate::ledger::model::AdminAuditRecord;
use crate::ledger::routing::RouteLimits;
use crate::ledger::Ledger;

pub use error::{ApiError, ApiResult};
pub use extract::{Admin, ApiJson, ApiQuery, Identity};
pub use ratelimit::{RateClass, RateTable};

/// Configuration of the API of one hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiConfig {
    /// Token of the admin API (`X-Admin-Token`); empty disables the admin API.
    pub admin_token: String,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Lifetime of login challenges.
    pub challenge_ttl: Duration,
    /// Requests per minute per client IP, by class (the architecture's defaults).
    pub ip_rates: RateTable,
    /// Requests per minute per participant, by class (the architecture's defaults).
    pub participant_rates: RateTable,
    /// Version reported by `/health`.
    pub version: String,
    /// Environment name reported by `/health`.
    pub environment: Option<String>,
    /// Age after which a payment still PREPARED is listed as an incident
    /// (`GET /admin/incidents`; the reference's `PAYMENT_TX_STUCK_TIMEOUT_SECONDS`).
    pub incident_sla: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_token: String::new(),
            body_limit: 64 * 1024,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            challenge_ttl: Duration::from_secs(60),
            ip_rates: RateTable::SEED,
            participant_rates: RateTable::SEED,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            environment: None,
            incident_sla: Duration::from_secs(120),
        }
    }
}

/// Switches an administrator can flip at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureFlags {
    /// Payments may be split over several paths (off: one path per payment).
    pub multipath_enabled: bool,
    /// Informational (the router always combines widest paths and max flow).
    pub full_multipath_enabled: bool,
    /// `POST /clearing/auto` is allowed.
    pub clearing_enabled: bool,
}

impl Default for FeatureFlags {
    fn default() -> Self {
        FeatureFlags {
            multipath_enabled: true,
            full_multipath_enabled: true,
            clearing_enabled: true,
        }
    }
}

struct Shared {
    engine: Engine,
    config: RwLock<ApiConfig>,
    body_limit: usize,
    flags: RwLock<FeatureFlags>,
    auth: auth::AuthState,
    ip_limits: ratelimit::Limiters<IpAddr>,
    participant_limits: ratelimit::Limiters<Pid>,
    keys: RwLock<HashMap<Pid, PublicKey>>,
    metrics: Arc<metrics::Metrics>,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    match l.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl AppState {
    /// A new state over a running engine. Inside a tokio runtime it also starts the task that
    /// counts committed payments and clearings for `/metrics`.
    pub fn new(engine: Engine, config: ApiConfig) -> AppState {
        let metrics = Arc::new(metrics::Metrics::default());
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(metrics::count_events(engine.subscribe(), metrics.clone()));
        }
        let (shutdown, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Shared {
                engine,
                body_limit: config.body_limit,
                config: RwLock::new(config),
                flags: RwLock::new(FeatureFlags::default()),
                auth: auth::AuthState::default(),
                ip_limits: ratelimit::Limiters::default(),
                participant_limits: ratelimit::Limiters::default(),
                keys: RwLock::new(HashMap::new()),
                metrics,
                started: Instant::now(),
                shutdown,
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> ApiConfig {
        read(&self.inner.config)
    }

    /// The two rate tables (per IP, per participant), read without cloning the configuration:
    /// every request asks.
    fn rates(&self) -> (RateTable, RateTable) {
        let g = match self.inner.config.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        (g.ip_rates, g.participant_rates)
    }

    /// Changes the configuration (the body limit is fixed when the router is built).
    pub fn update_config(&self, f: impl FnOnce(&mut ApiConfig)) {
        let mut g = match self.inner.config.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g);
    }

    /// Current feature flags.
    pub fn flags(&self) -> FeatureFlags {
        read(&self.inner.flags)
    }

    /// Changes the feature flags.
    pub fn update_flags(&self, f: impl FnOnce(&mut FeatureFlags)) {
        let mut g = match self.inner.flags.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g);
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The admin token.
    pub fn admin_token(&self) -> String {
        match self.inner.config.read() {
            Ok(g) => g.admin_token.clone(),
            Err(p) => p.into_inner().admin_token.clone(),
        }
    }

    /// Login challenges and tokens.
    pub fn auth(&self) -> &auth::AuthState {
        &self.inner.auth
    }

    /// Counters and histograms.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Seconds since the state was created.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// A receiver that turns `true` when the server shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Charges one request of `class` to a participant's rate limit.
    pub fn limit_participant(&self, pid: &Pid, class: RateClass) -> ApiResult<()> {
        let per_minute = self.rates().1.per_minute(class);
        self.inner
            .participant_limits
            .take(pid, class, per_minute)
            .map_err(|wait| ApiError::rate_limited("participant", class, wait))
    }

    fn limit_ip(&self, ip: IpAddr, class: RateClass) -> ApiResult<()> {
        let per_minute = self.rates().0.per_minute(class);
        self.inner
            .ip_limits
            .take(&ip, class, per_minute)
            .map_err(|wait| ApiError::rate_limited("ip", class, wait))
    }

    /// The registered public key of a participant (cached: keys never change).
    pub async fn public_key(&self, pid: &Pid) -> ApiResult<PublicKey> {
        if let Some(k) = self.inner.keys.read().ok().and_then(|m| m.get(pid).copied()) {
            return Ok(k);
        }
        let text = self
            .engine()
            .read(|l| l.participant(pid).map(|p| p.public_key.clone()))
            .await;
        let text = text.ok_or_else(|| {
            ApiError::not_found("PARTICIPANT_NOT_FOUND", format!("unknown participant {pid}"))
        })?;
        let key = PublicKey::from_base64(&text).map_err(ApiError::internal)?;
        if let Ok(mut m) = self.inner.keys.write() {
            m.insert(pid.clone(), key);
        }
        Ok(key)
    }

    /// Submits a command to the engine on a task of its own, so that the command reaches the
    /// engine and completes even if the client goes away and the handler is dropped.
    pub async fn submit(&self, command: Command) -> ApiResult<Reply> {
        let engine = self.engine().clone();
        tokio::spawn(async move { engine.submit(command).await })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// Records an admin action in the persisted admin audit log: the entry goes through the
    /// writer like any change and is committed with its next batch. The action it records has
    /// already happened, so a failed write does not fail the caller: it is logged at error level.
    /// The action is named as the reference hub names it ([`audit::action_name`]); the request
    /// being served supplies `request_id`, `ip_address` and `user_agent`.
    pub async fn log_admin(
        &self,
        action: &str,
        object_type: &str,
        object_id: &str,
        reason: Option<&str>,
        after: Value,
    ) {
        let origin = audit::RequestContext::current();
        let action = audit::action_name(action).into_owned();
        let record = AdminAuditRecord {
            id: uuid::Uuid::new_v4(),
            at: self.engine().now(),
            actor_role: "admin".to_owned(),
            actor_id: None,
            action: action.clone(),
            object_type: object_type.to_owned(),
            object_id: object_id.to_owned(),
            reason: reason.map(str::to_owned),
            before_state: None,
            after_state: Some(after),
            request_id: origin.as_ref().map(|o| o.request_id.clone()),
            ip_address: origin.as_ref().and_then(|o| o.ip_address.clone()),
            user_agent: origin.and_then(|o| o.user_agent),
        };
        let id = record.id;
        if let Err(e) = self.submit(Command::AdminAudit(record)).await {
            tracing::error!(
                error = %e,
                %id,
                %action,
                object_type,
                object_id,
                "admin action done but not recorded in the admin audit log"
            );
        }
    }
}

/// Creates the given equivalents `(code, precision, description)` when the hub has none yet
/// (first start). Returns the codes created.
pub async fn ensure_equivalents(engine: &Engine, defaults: &[(&str, u8, &str)]) -> ApiResult<Vec<String>> {
    if !engine.read(|l| l.equivalents().is_empty()).await {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for (code, precision, description) in defaults {
        let code = util::parse_code(code, "code")?;
        let precision =
            geo_protocol::Precision::new(*precision).map_err(|e| ApiError::validation(e.to_string()))?;
        engine
            .submit(Command::CreateEquivalent(
                crate::ledger::participants::NewEquivalent {
                    code: code.clone(),
                    precision,
                    symbol: None,
                    description: Some((*description).to_owned()),
                    metadata: serde_json::json!({}),
                },
            ))
            .await?;
        created.push(code.to_string());
    }
    Ok(created)
}

/// Routing limits the ledger uses for a payment without constraints (the spec's defaults, no
/// inactive participant on a route, one path when multipath is switched off). Capacity and
/// max-flow answers use the same limits, so what they report is payable.
pub fn default_limits(l: &Ledger, flags: FeatureFlags) -> RouteLimits {
    let max_paths = if flags.multipath_enabled { None } else { Some(1) };
    l.route_limits(None, max_paths, &[])
}

/// The edge middleware: body-size precheck, per-IP rate limit, request log and metrics; the
/// handler runs inside the request's [`audit::RequestContext`] and the answer carries its
/// `X-Request-ID`.
async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let exempt = path.starts_with("/health")
        || path == "/healthz"
        || path == "/metrics"
        || path.starts_with("/api/v1/health");
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let early = if declared.is_some_and(|n| n > u64::try_from(state.body_limit()).unwrap_or(u64::MAX)) {
        Some(ApiError::too_large(state.body_limit()))
    } else if let (Some(ip), false) = (ip, exempt) {
        state.limit_ip(ip, RateClass::of(&method, &path)).err()
    } else {
        None
    };
    let origin = audit::RequestContext::from_request(req.headers(), ip);
    let request_id = axum::http::HeaderValue::from_str(&origin.request_id).ok();
    let mut resp = match early {
        Some(e) => e.into_response(),
        None => origin.scope(next.run(req)).await,
    };
    if let Some(id) = request_id {
        resp.headers_mut().insert("x-request-id", id);
    }
    let status = resp.status();
    let code = resp.extensions().get::<error::ErrorCode>().map(|c| c.0);
    let elapsed = started.elapsed();
    state.metrics().observe_request(status.as_u16());
    if status.is_server_error() {
        tracing::warn!(%method, %path, status = status.as_u16(), code, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else if status.is_client_error() {
        tracing::info!(%method, %path, status = status.as_u16(), code, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    }
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("NOT_FOUND", "no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "method not allowed",
    )
}

/// The whole API as an axum router (state applied).
pub fn router(state: AppState) -> axum::Router {
    let health = axum::Router::new()
        .route("/health", get(health::health))
        .route("/healthz", get(health::healthz))
        .route("/health/db", get(health::health_db));
    let v1 = axum::Router::new()
        .merge(health.clone())
        .route("/auth/challenge", post(auth::challenge))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/equivalents", get(participants::equivalents))
        .route(
            "/participants",
            get(participants::list).post(participants::register),
        )
        .route("/participants/search", get(participants::list))
        .route(
            "/participants/me",
            get(participants::me).patch(participants::update_me),
        )
        .route("/participants/{pid}", get(participants::get_one))
        .route("/trustlines", get(trustlines::list).post(trustlines::create))
        .route(
            "/trustlines/{id}",
            get(trustlines::get_one)
                .patch(trustlines::update)
                .delete(trustlines::close),
        )
        .route("/payments", get(payments::list).post(payments::create))
        .route("/payments/capacity", get(payments::capacity))
        .route("/payments/max-flow", get(payments::max_flow))
        .route("/payments/{tx_id}", get(payments::get_one))
        .route("/balance", get(payments::balance))
        .route("/balance/debts", get(payments::debts))
        .route("/balance/history", get(payments::list))
        .route("/clearing/cycles", get(payments::cycles))
        .route("/clearing/auto", post(payments::auto_clear))
        .route("/integrity/status", get(integrity::status))
        .route("/integrity/checksum/{equivalent}", get(integrity::checksum))
        .route("/integrity/verify", post(integrity::verify))
        .route("/integrity/audit-log", get(integrity::audit_log))
        .route("/ws", get(ws::ws))
        .route("/openapi.json", get(openapi::document))
        .nest("/admin", admin::router());
    let limit = state.body_limit();
    axum::Router::new()
        .merge(health)
        .route("/metrics", get(metrics::metrics))
        .route("/ws", get(ws::ws))
        .nest("/api/v1", v1)
        .merge(pages::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), edge))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then drains connections (WebSocket
/// streams are told to close).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let signal = state.inner.shutdown.clone();
    let app = Detach(router(state));
    let make = axum::ServiceExt::<axum::http::Request<axum::body::Body>>::into_make_service_with_connect_info::<
        SocketAddr,
    >(app);
    axum::serve(listener, make)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = signal.send(true);
        })
        .await
}

/// Runs every mutating request (any method but GET and HEAD) on a task of its own, started
/// as soon as hyper hands the request over: a client that disconnects cannot cancel a
/// registration, trust-line change or payment half-way through its handler (axum would drop
/// the handler future); its outcome can be looked up afterwards.
#[derive(Clone)]
pub struct Detach(pub axum::Router);

impl<B> tower_service::Service<axum::http::Request<B>> for Detach
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Response, std::convert::Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let detach = req.method() != Method::GET && req.method() != Method::HEAD;
        let fut = tower_service::Service::call(&mut self.0, req);
        if detach {
            let task = tokio::spawn(fut);
            Box::pin(async move {
                match task.await {
                    Ok(r) => r,
                    Err(e) => Ok(ApiError::internal(e).into_response()),
                }
            })
        } else {
            Box::pin(fut)
        }
    }
}
