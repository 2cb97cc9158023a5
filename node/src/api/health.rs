//! Health probes: `/health`, `/healthz`, `/health/db` (served at the root and under `/api/v1`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::state::AppState;
use super::util::fmt_time;

/// `GET /health`: 200 `ok` while the engine runs, 503 `degraded` otherwise.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let running = state.engine().is_running();
    let cfg = state.config();
    let body = json!({
        "status": if running { "ok" } else { "degraded" },
        "version": cfg.version,
        "environment": cfg.environment,
        "uptime_seconds": state.uptime().as_secs(),
        "timestamp": fmt_time(state.engine().now()),
        "backend": state.engine().store().backend(),
    });
    (
        if running {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
}

/// `GET /healthz`: liveness.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/db`: 200 `{status: "ok", db: {reachable: true, latency_ms, dialect}, timestamp}`
/// when the store answers, 503 with `status: "error"` and `reachable: false` otherwise.
pub async fn health_db(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.engine().store();
    let started = std::time::Instant::now();
    let ping = store.ping().await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let timestamp = fmt_time(state.engine().now());
    match ping {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "db": { "reachable": true, "latency_ms": latency_ms, "dialect": store.backend() },
                "timestamp": timestamp,
            })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "database health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({
                    "status": "error",
                    "db": { "reachable": false, "latency_ms": null, "dialect": store.backend() },
                    "timestamp": timestamp,
                })),
            )
        }
    }
}
