//! Trust lines: open, list, read, change and close. Only the owner (`from`) manages a line, and
//! every change is signed by the owner's key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::extract::{object, req_str, signature, verify, ApiJson, ApiQuery, Identity};
use super::state::AppState;
use super::util::{check_amount_shape, paging, parse_code, parse_pid};
use super::views;
use crate::ledger::graph::LineStatus;
use crate::ledger::lines::{NewTrustLine, TrustLineUpdate};
use crate::ledger::Ledger;

fn parse_id(text: &str) -> ApiResult<uuid::Uuid> {
    uuid::Uuid::parse_str(text)
        .map_err(|_| ApiError::not_found("TRUSTLINE_NOT_FOUND", format!("unknown trust line {text}")))
}

fn policy(obj: &serde_json::Map<String, Value>) -> ApiResult<Option<Value>> {
    match obj.get("policy") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_POLICY",
            "policy must be an object",
        )),
    }
}

async fn render(state: &AppState, line: crate::ledger::model::TrustLine) -> ApiResult<Value> {
    Ok(state
        .engine()
        .read(|l| {
            l.line(&line.id)
                .map_or_else(|| views::trust_line(l, &line), |cur| views::trust_line(l, cur))
        })
        .await)
}

/// `POST /trustlines`: the caller (`from`) opens a line to `to`; signed payload `{to,
/// equivalent, limit, policy?}`.
pub async fn create(
    State(state): State<AppState>,
    id: Identity,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let obj = object(&body)?;
    let to = parse_pid(req_str(obj, "to")?, "to")?;
    let equivalent = parse_code(req_str(obj, "equivalent")?, "equivalent")?;
    let limit = req_str(obj, "limit")?;
    check_amount_shape(limit)?;
    let policy = policy(obj)?;
    let sig = signature(obj)?;
    let key = state.public_key(&id.pid).await?;
    verify(&key, &body, sig)?;
    let line = state
        .service()
        .open_line(NewTrustLine {
            id: uuid::Uuid::new_v4(),
            from: id.pid,
            to,
            equivalent,
            limit: limit.to_owned(),
            policy,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(render(&state, line).await?)))
}

/// Query of `GET /trustlines`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    direction: Option<String>,
    equivalent: Option<String>,
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /trustlines`: the caller's lines (closed ones only when asked for by `status=closed`).
pub async fn list(
    State(state): State<AppState>,
    id: Identity,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let (outgoing, incoming) = match q.direction.as_deref().unwrap_or("all") {
        "all" => (true, true),
        "outgoing" => (true, false),
        "incoming" => (false, true),
        _ => {
            return Err(ApiError::validation(
                "direction must be outgoing, incoming or all",
            ))
        }
    };
    let status = match &q.status {
        Some(s) => Some(
            LineStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status must be active, frozen or closed"))?,
        ),
        None => None,
    };
    let code = q
        .equivalent
        .as_deref()
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let (limit, offset) = paging(q.page, q.per_page, None, 20);
    let items = state
        .engine()
        .read(|l: &Ledger| {
            let Ok(me) = l.node(&id.pid) else {
                return Vec::new();
            };
            let eq = code.as_ref().map(|c| l.eq_id(c).ok());
            l.lines()
                .iter()
                .filter(|line| (outgoing && line.from == me) || (incoming && line.to == me))
                .filter(|line| match eq {
                    None => true,
                    Some(Some(e)) => line.eq == e,
                    Some(None) => false,
                })
                .filter(|line| match status {
                    Some(s) => line.status == s,
                    None => line.status != LineStatus::Closed,
                })
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(20))
                .map(|line| views::trust_line(l, line))
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(json!({ "items": items })))
}

/// `GET /trustlines/{id}`: visible to both parties of the line.
pub async fn get_one(
    State(state): State<AppState>,
    id: Identity,
    Path(line_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let line_id = parse_id(&line_id)?;
    let out = state
        .engine()
        .read(|l| {
            let me = l.node(&id.pid).ok()?;
            let line = l.line(&line_id)?;
            (line.from == me || line.to == me).then(|| views::trust_line(l, line))
        })
        .await;
    out.map(Json)
        .ok_or_else(|| ApiError::not_found("TRUSTLINE_NOT_FOUND", format!("unknown trust line {line_id}")))
}

/// The signed payload of a change to line `id`: the body without `signature`, plus `id`.
fn payload_with_id(body: &Value, line_id: &uuid::Uuid) -> ApiResult<Value> {
    let obj = object(body)?;
    let mut payload = obj.clone();
    match payload.get("id") {
        Some(Value::String(s)) if s == &line_id.to_string() => {}
        Some(_) => return Err(ApiError::validation("id in the body does not match the path")),
        None => {}
    }
    payload.insert("id".into(), Value::String(line_id.to_string()));
    Ok(Value::Object(payload))
}

/// Checks that the line exists and the caller is a party (404 otherwise, so that lines of
/// others are not revealed).
async fn visible(state: &AppState, id: &Identity, line_id: &uuid::Uuid) -> ApiResult<()> {
    let ok = state
        .engine()
        .read(|l| {
            let Ok(me) = l.node(&id.pid) else { return false };
            l.line(line_id)
                .is_some_and(|line| line.from == me || line.to == me)
        })
        .await;
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_found(
            "TRUSTLINE_NOT_FOUND",
            format!("unknown trust line {line_id}"),
        ))
    }
}

/// `PATCH /trustlines/{id}`: new limit and/or policy; signed payload `{id, limit?, policy?}`.
pub async fn update(
    State(state): State<AppState>,
    id: Identity,
    Path(line_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let line_id = parse_id(&line_id)?;
    let obj = object(&body)?;
    let limit = match obj.get("limit") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            check_amount_shape(s)?;
            Some(s.clone())
        }
        Some(_) => return Err(ApiError::invalid_amount("limit must be a decimal string")),
    };
    let policy = policy(obj)?;
    let sig = signature(obj)?.to_owned();
    let payload = payload_with_id(&body, &line_id)?;
    visible(&state, &id, &line_id).await?;
    let key = state.public_key(&id.pid).await?;
    verify(&key, &payload, &sig)?;
    let line = state
        .service()
        .update_line(TrustLineUpdate {
            id: line_id,
            by: id.pid,
            limit,
            policy,
        })
        .await?;
    Ok(Json(render(&state, line).await?))
}

/// `DELETE /trustlines/{id}`: closes a line at zero debt; signed payload `{id}`.
pub async fn close(
    State(state): State<AppState>,
    id: Identity,
    Path(line_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let line_id = parse_id(&line_id)?;
    let obj = object(&body)?;
    let sig = signature(obj)?.to_owned();
    let payload = payload_with_id(&body, &line_id)?;
    visible(&state, &id, &line_id).await?;
    let key = state.public_key(&id.pid).await?;
    verify(&key, &payload, &sig)?;
    let line = state.service().close_line(line_id, id.pid).await?;
    let line = render(&state, line).await?;
    Ok(Json(
        json!({ "status": "closed", "message": "trust line closed", "trust_line": line }),
    ))
}
