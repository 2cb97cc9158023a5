//! Participants and equivalents: registration (self-signed), profile, lookups and search.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use geo_protocol::PublicKey;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::extract::{object, opt_str, req_str, signature, verify, ApiJson, ApiQuery, Identity};
use super::state::AppState;
use super::util::{fmt_time, paging, parse_pid};
use super::views;
use crate::ledger::model::ParticipantStatus;
use crate::ledger::participants::NewParticipant;

const KINDS: [&str; 3] = ["person", "business", "hub"];

fn display_name(text: &str) -> ApiResult<String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::validation("display_name must have 1 to 200 characters"));
    }
    Ok(name.to_owned())
}

fn profile(obj: &Map<String, Value>) -> ApiResult<Option<Value>> {
    match obj.get("profile") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Object(_)) => {
            if serde_json::to_vec(v).map_or(0, |b| b.len()) > 16 * 1024 {
                return Err(ApiError::validation("profile is larger than 16 KiB"));
            }
            Ok(Some(v.clone()))
        }
        Some(_) => Err(ApiError::validation("profile must be an object")),
    }
}

/// `POST /participants`: registration signed by the key being registered.
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let obj = object(&body)?;
    let name = display_name(req_str(obj, "display_name")?)?;
    let kind = opt_str(obj, "type")?.unwrap_or("person");
    if !KINDS.contains(&kind) {
        return Err(ApiError::validation("type must be person, business or hub"));
    }
    let key_text = req_str(obj, "public_key")?;
    let profile = profile(obj)?.unwrap_or_else(|| json!({}));
    let sig = signature(obj)?;
    let key =
        PublicKey::from_base64(key_text).map_err(|e| ApiError::validation(format!("public_key: {e}")))?;
    verify(&key, &body, sig)?;
    let p = state
        .service()
        .register(NewParticipant {
            pid: key.pid(),
            public_key: key.to_base64(),
            display_name: name,
            kind: kind.to_owned(),
            profile,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(views::participant(&p))))
}

/// `GET /participants/me`: the caller with stats.
pub async fn me(State(state): State<AppState>, id: Identity) -> ApiResult<Json<Value>> {
    let out = state
        .engine()
        .read(|l| {
            let node = l.node(&id.pid).ok()?;
            let mut v = views::participant(l.participant_at(node));
            if let Value::Object(m) = &mut v {
                m.insert("stats".into(), views::participant_stats(l, node));
            }
            Some(v)
        })
        .await;
    out.map(Json)
        .ok_or_else(|| ApiError::not_found("PARTICIPANT_NOT_FOUND", "the caller is not registered"))
}

/// `PATCH /participants/me`: body signed by the caller's key.
pub async fn update_me(
    State(state): State<AppState>,
    id: Identity,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let obj = object(&body)?;
    let name = opt_str(obj, "display_name")?.map(display_name).transpose()?;
    let profile = profile(obj)?;
    let sig = signature(obj)?;
    let key = state.public_key(&id.pid).await?;
    verify(&key, &body, sig)?;
    let p = state.service().update_profile(id.pid, name, profile).await?;
    Ok(Json(views::participant(&p)))
}

/// `GET /participants/{pid}`.
pub async fn get_one(
    State(state): State<AppState>,
    _id: Identity,
    Path(pid): Path<String>,
) -> ApiResult<Json<Value>> {
    let pid = parse_pid(&pid, "pid")?;
    let out = state
        .engine()
        .read(|l| {
            let node = l.node(&pid).ok()?;
            let p = l.participant_at(node);
            let mut v = views::participant(p);
            let mut incoming = 0i128;
            for (i, _) in l.equivalents().iter().enumerate() {
                if let Ok(eq) = u16::try_from(i) {
                    incoming += views::position(l, eq, node).incoming_trust;
                }
            }
            if let Value::Object(m) = &mut v {
                m.insert(
                    "public_stats".into(),
                    json!({
                        "total_incoming_trust": super::util::fmt_atoms(incoming, geo_protocol::Precision::ZERO),
                        "member_since": fmt_time(p.created_at),
                    }),
                );
            }
            Some(v)
        })
        .await;
    out.map(Json)
        .ok_or_else(|| ApiError::not_found("PARTICIPANT_NOT_FOUND", format!("unknown participant {pid}")))
}

/// Query of participant searches.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<String>,
    limit: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// One page of a participant search.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The participants of the page.
    pub items: Vec<Value>,
    /// How many participants match in all.
    pub total: usize,
    /// Page size.
    pub limit: i64,
    /// Matches skipped before the page.
    pub offset: i64,
}

/// Participants matching a search (shared with the admin list).
pub async fn search(state: &AppState, q: &SearchQuery, include_deleted: bool) -> ApiResult<Vec<Value>> {
    Ok(search_page(state, q, include_deleted).await?.items)
}

/// Participants matching a search, one page of them, with the number of all matches.
pub async fn search_page(state: &AppState, q: &SearchQuery, include_deleted: bool) -> ApiResult<SearchPage> {
    if let Some(k) = &q.kind {
        if !KINDS.contains(&k.as_str()) {
            return Err(ApiError::validation("type must be person, business or hub"));
        }
    }
    let status = match &q.status {
        Some(s) => Some(ParticipantStatus::parse(s).ok_or_else(|| ApiError::validation("unknown status"))?),
        None => None,
    };
    let (limit, offset) = paging(q.page, q.per_page, q.limit, 20);
    let needle = q.q.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty());
    let (items, total) = state
        .engine()
        .read(|l| {
            let matching: Vec<_> = l
                .participants()
                .iter()
                .filter(|p| include_deleted || p.status != ParticipantStatus::Deleted)
                .filter(|p| status.is_none_or(|s| p.status == s))
                .filter(|p| q.kind.as_ref().is_none_or(|k| &p.kind == k))
                .filter(|p| {
                    needle.as_ref().is_none_or(|n| {
                        p.display_name.to_lowercase().contains(n.as_str())
                            || p.pid.as_str().to_lowercase().starts_with(n.as_str())
                    })
                })
                .collect();
            let items = matching
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(20))
                .map(|p| views::participant(p))
                .collect::<Vec<_>>();
            (items, matching.len())
        })
        .await;
    Ok(SearchPage {
        items,
        total,
        limit,
        offset,
    })
}

/// `GET /participants` and `GET /participants/search`.
pub async fn list(
    State(state): State<AppState>,
    _id: Identity,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Value>> {
    let items = search(&state, &q, false).await?;
    Ok(Json(json!({ "items": items })))
}

/// `GET /equivalents`: active equivalents.
pub async fn equivalents(State(state): State<AppState>, _id: Identity) -> Json<Value> {
    let items = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .filter(|e| e.is_active)
                .map(views::equivalent)
                .collect::<Vec<_>>()
        })
        .await;
    Json(json!({ "items": items }))
}
