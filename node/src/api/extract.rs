//! Extractors: JSON bodies and query strings whose rejections come out in the error envelope,
//! the bearer identity, the admin token, and signed-body helpers.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use geo_protocol::{Pid, PublicKey, SignatureError};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use super::ratelimit::RateClass;
use super::state::AppState;

/// A JSON body. Unreadable or oversized bodies, malformed JSON and JSON of the wrong shape are
/// refused with `PAYLOAD_TOO_LARGE` (413), `INVALID_JSON` (400) or `VALIDATION_ERROR` (400).
/// An empty body reads as `{}`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(state.body_limit())
            } else {
                ApiError::invalid_json(r.body_text())
            }
        })?;
        let value: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| ApiError::invalid_json(format!("malformed JSON: {e}")))?
        };
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::validation(format!("invalid request body: {e}")))
    }
}

/// A query string; malformed parameters are a `VALIDATION_ERROR` (400).
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e| ApiError::validation(format!("invalid query: {}", e.body_text())))
    }
}

/// The authenticated participant of a request (from `Authorization: Bearer <access token>`).
/// Extracting it also charges the participant's rate limit.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The caller.
    pub pid: Pid,
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let pid = state.auth().check_access(token, state.engine().now())?;
        state.limit_participant(&pid, RateClass::of(&parts.method, parts.uri.path()))?;
        Ok(Identity { pid })
    }
}

/// An administrator (header `X-Admin-Token` equal to the configured token).
#[derive(Debug, Clone, Copy)]
pub struct Admin;

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let given = parts
            .headers
            .get("x-admin-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::forbidden("admin token required (X-Admin-Token)"))?;
        let expected = state.admin_token();
        if expected.is_empty() || !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(ApiError::forbidden("invalid admin token"));
        }
        Ok(Admin)
    }
}

/// The caller of an endpoint open to participants and administrators alike (the integrity
/// status and verification, as in the reference hub): an `X-Admin-Token` header, when present,
/// must be the admin token; otherwise the bearer token identifies a participant.
#[derive(Debug, Clone)]
pub enum ParticipantOrAdmin {
    /// A participant (bearer token).
    Participant(Identity),
    /// An administrator (`X-Admin-Token`).
    Admin,
}

impl FromRequestParts<AppState> for ParticipantOrAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key("x-admin-token") {
            Admin::from_request_parts(parts, state).await?;
            return Ok(ParticipantOrAdmin::Admin);
        }
        Identity::from_request_parts(parts, state)
            .await
            .map(ParticipantOrAdmin::Participant)
    }
}

/// The body as a JSON object.
pub fn object(body: &Value) -> ApiResult<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| ApiError::validation("request body must be a JSON object"))
}

/// A required string field.
pub fn req_str<'a>(obj: &'a Map<String, Value>, key: &str) -> ApiResult<&'a str> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ApiError::validation(format!("{key} must be a string"))),
        None => Err(ApiError::validation(format!("{key} is required"))),
    }
}

/// An optional string field (`null` counts as absent).
pub fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> ApiResult<Option<&'a str>> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Null) | None => Ok(None),
        Some(_) => Err(ApiError::validation(format!("{key} must be a string"))),
    }
}

/// The `signature` field; a missing one is an `INVALID_SIGNATURE` (401).
pub fn signature(obj: &Map<String, Value>) -> ApiResult<&str> {
    match obj.get("signature") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ApiError::invalid_signature("signature is required"))
        }
        Some(_) => Err(ApiError::invalid_signature("signature must be a base64 string")),
    }
}

/// Verifies `signature` over the canonical JSON of `payload` (without `signature`).
pub fn verify(key: &PublicKey, payload: &Value, signature: &str) -> ApiResult<()> {
    key.verify_json(payload, signature).map_err(|e| match e {
        SignatureError::Canonical(c) => ApiError::validation(c.to_string()),
        SignatureError::NotAnObject => ApiError::validation("request body must be a JSON object"),
        other => ApiError::invalid_signature(other.to_string()),
    })
}
