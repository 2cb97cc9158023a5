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

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::engine::Engine;

pub mod state;

pub use error::{ApiError, ApiResult};
pub use extract::{Admin, ApiJson, ApiQuery, Identity};
pub use ratelimit::{RateClass, RateTable};
pub use state::{default_limits, ApiConfig, AppState, FeatureFlags};

/// Creates the given equivalents `(code, precision, description)` when the hub has none yet
/// (first start). Returns the codes created.
pub async fn ensure_equivalents(engine: &Engine, defaults: &[(&str, u8, &str)]) -> ApiResult<Vec<String>> {
    let service = crate::service::HubService::new(engine.clone());
    if !engine.read(|l| l.equivalents().is_empty()).await {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for (code, precision, description) in defaults {
        let code = util::parse_code(code, "code")?;
        let precision =
            geo_protocol::Precision::new(*precision).map_err(|e| ApiError::validation(e.to_string()))?;
        service
            .bootstrap_equivalent(crate::ledger::participants::NewEquivalent {
                code: code.clone(),
                precision,
                symbol: None,
                description: Some((*description).to_owned()),
                metadata: serde_json::json!({}),
            })
            .await?;
        created.push(code.to_string());
    }
    Ok(created)
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
    let signal = state.shutdown_sender();
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
