//! The one error type at the edge: every failure leaves the API as the GEO v0.1 error envelope
//! `{"error": {"code", "message", "details"?}}` with a stable code and an HTTP status chosen here.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::engine::EngineError;
use crate::ledger::LedgerError;

/// An API failure: status, stable code, human message and optional details.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`INVALID_AMOUNT`, `TX_ID_CONFLICT`, ...).
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Optional structured details.
    pub details: Option<Value>,
    /// Seconds after which a retry may succeed (sent as `Retry-After`).
    pub retry_after: Option<u64>,
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Adds details.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// 400 `VALIDATION_ERROR`.
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 400 `INVALID_JSON`.
    pub fn invalid_json(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_JSON", message)
    }

    /// 400 `INVALID_AMOUNT`.
    pub fn invalid_amount(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_AMOUNT", message)
    }

    /// 401 `UNAUTHORIZED`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }

    /// 401 `INVALID_SIGNATURE`.
    pub fn invalid_signature(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_SIGNATURE", message)
    }

    /// 403 `FORBIDDEN`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message)
    }

    /// 404 with a specific `*_NOT_FOUND` code.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 413 `PAYLOAD_TOO_LARGE`.
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("request body exceeds the limit of {limit} bytes"),
        )
        .with_details(json!({ "limit_bytes": limit }))
    }

    /// 429 `RATE_LIMITED`.
    pub fn rate_limited(scope: &str, class: super::RateClass, retry_after: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMITED",
            format!("too many {} requests ({scope})", class.as_str()),
        )
        .with_details(json!({
            "scope": scope,
            "class": class.as_str(),
            "retry_after_seconds": retry_after,
        }));
        e.retry_after = Some(retry_after);
        e
    }

    /// 503 with `details.retryable = true`.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
            .with_details(json!({ "retryable": true }))
    }

    /// 500 `INTERNAL_ERROR` (a bug: the cause is logged, not sent).
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(cause = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error",
        )
    }

    /// The HTTP status of a ledger error code.
    pub fn status_of_ledger_code(code: &str) -> StatusCode {
        match code {
            "PARTICIPANT_NOT_FOUND"
            | "EQUIVALENT_NOT_FOUND"
            | "TRUSTLINE_NOT_FOUND"
            | "TRANSACTION_NOT_FOUND" => StatusCode::NOT_FOUND,
            "PARTICIPANT_EXISTS"
            | "EQUIVALENT_EXISTS"
            | "TRUSTLINE_EXISTS"
            | "TX_ID_CONFLICT"
            | "LIMIT_BELOW_DEBT"
            | "DEBT_OUTSTANDING"
            | "TRUSTLINE_NOT_ACTIVE"
            | "EQUIVALENT_NOT_ACTIVE"
            | "EQUIVALENT_IN_USE"
            | "TRANSACTION_NOT_PREPARED"
            | "NO_ROUTE"
            | "INSUFFICIENT_CAPACITY" => StatusCode::CONFLICT,
            "PARTICIPANT_NOT_ACTIVE" | "FORBIDDEN" => StatusCode::FORBIDDEN,
            "INVALID_AMOUNT" | "INVALID_POLICY" | "SAME_PARTICIPANT" => StatusCode::BAD_REQUEST,
            "LEDGER_FULL" => StatusCode::INSUFFICIENT_STORAGE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> ApiError {
        let code = e.code();
        match &e {
            // Only the store can tell; the engine resolves this itself, so it is transient here.
            LedgerError::NeedsLookup(_) => {
                return ApiError::unavailable("SERVICE_UNAVAILABLE", e.to_string())
            }
            LedgerError::Integrity(_) => return ApiError::internal(&e),
            _ => {}
        }
        let mut err = ApiError::new(ApiError::status_of_ledger_code(code), code, e.to_string());
        match &e {
            LedgerError::LimitBelowDebt { debt, limit } => {
                err = err.with_details(json!({ "debt": debt.to_string(), "limit": limit.to_string() }));
            }
            LedgerError::InsufficientCapacity { available } => {
                err = err.with_details(json!({ "available": available.to_string() }));
            }
            LedgerError::DebtOutstanding { debt } => {
                err = err.with_details(json!({ "debt": debt.to_string() }));
            }
            _ => {}
        }
        err
    }
}

impl From<crate::service::ServiceError> for ApiError {
    fn from(e: crate::service::ServiceError) -> ApiError {
        match e {
            crate::service::ServiceError::Engine(e) => e.into(),
            crate::service::ServiceError::UnexpectedReply(what) => {
                ApiError::internal(format!("unexpected reply to {what}"))
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Ledger(l) => l.into(),
            EngineError::Store(cause) => {
                tracing::warn!(cause = %cause, "storage failure answered as retryable 503");
                ApiError::unavailable(
                    "STORAGE_UNAVAILABLE",
                    "storage failure, nothing was applied; retry",
                )
            }
            EngineError::Stopped => {
                ApiError::unavailable("ENGINE_STOPPED", "the hub is not accepting commands")
            }
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> ApiError {
        tracing::warn!(cause = %e, "store read failed");
        ApiError::unavailable("STORAGE_UNAVAILABLE", "storage read failed; retry")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

/// The JSON envelope of an error.
pub fn envelope(code: &str, message: &str, details: Option<&Value>) -> Value {
    let mut inner = json!({ "code": code, "message": message });
    if let (Some(d), Value::Object(m)) = (details, &mut inner) {
        m.insert("details".into(), d.clone());
    }
    json!({ "error": inner })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = envelope(self.code, &self.message, self.details.as_ref());
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(ErrorCode(self.code));
        resp
    }
}

/// Response extension carrying the error code (for request logs and metrics).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);
