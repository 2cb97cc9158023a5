//! The admin JSON API under `/api/v1/admin`, behind the `X-Admin-Token` header.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Json;
use geo_protocol::Precision;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{ApiError, ApiResult};
use super::extract::{Admin, ApiJson, ApiQuery};
use super::participants::{search, SearchQuery};
use super::util::{fmt_atoms, paging, parse_code, parse_pid};
use super::views;
use super::AppState;
use crate::engine::{Command, Reply};
use crate::ledger::graph::LineStatus;
use crate::ledger::model::{EqId, ParticipantStatus};
use crate::ledger::participants::{EquivalentPatch, NewEquivalent};

/// The admin routes (nested under `/admin`).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/whoami", get(whoami))
        .route("/health/db", get(super::health::health_db))
        .route("/config", get(get_config).patch(patch_config))
        .route("/feature-flags", get(get_flags).patch(patch_flags))
        .route("/participants", get(participants))
        .route("/participants/{pid}/{action}", post(participant_action))
        .route("/equivalents", get(equivalents).post(create_equivalent))
        .route("/equivalents/{code}", axum::routing::patch(update_equivalent))
        .route("/trustlines", get(trustlines))
        .route("/audit-log", get(audit_log))
        .route("/graph/snapshot", get(graph_snapshot))
        .route("/transactions/{tx_id}/abort", post(abort_tx))
}

async fn whoami(_a: Admin) -> Json<Value> {
    Json(json!({ "role": "admin" }))
}

const MUTABLE: [&str; 6] = [
    "access_ttl_seconds",
    "refresh_ttl_seconds",
    "challenge_ttl_seconds",
    "ip_rate_per_second",
    "ip_rate_burst",
    "participant_rate_per_second",
];

async fn get_config(State(state): State<AppState>, _a: Admin) -> Json<Value> {
    let c = state.config();
    let item = |k: &str, v: Value, mutable: bool| json!({ "key": k, "value": v, "mutable": mutable });
    Json(json!({ "items": [
        item("access_ttl_seconds", json!(c.access_ttl.as_secs()), true),
        item("refresh_ttl_seconds", json!(c.refresh_ttl.as_secs()), true),
        item("challenge_ttl_seconds", json!(c.challenge_ttl.as_secs()), true),
        item("ip_rate_per_second", json!(c.ip_rate.per_second), true),
        item("ip_rate_burst", json!(c.ip_rate.burst), true),
        item("participant_rate_per_second", json!(c.participant_rate.per_second), true),
        item("participant_rate_burst", json!(c.participant_rate.burst), true),
        item("body_limit_bytes", json!(state.body_limit()), false),
        item("store_backend", json!(state.engine().store().backend()), false),
        item("version", json!(c.version), false),
    ]}))
}

#[derive(Debug, Deserialize)]
struct ConfigPatch {
    updates: Map<String, Value>,
    #[allow(dead_code)]
    reason: Option<String>,
}

async fn patch_config(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(p): ApiJson<ConfigPatch>,
) -> ApiResult<Json<Value>> {
    let mut parsed = Vec::new();
    for (k, v) in &p.updates {
        if !MUTABLE.contains(&k.as_str()) && k != "participant_rate_burst" {
            return Err(ApiError::validation(format!(
                "unknown or immutable config key {k:?}"
            )));
        }
        let n = v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| ApiError::validation(format!("{k} must be a non-negative integer")))?;
        parsed.push((k.clone(), n));
    }
    state.update_config(|c| {
        for (k, n) in &parsed {
            let secs = std::time::Duration::from_secs(u64::from((*n).max(1)));
            match k.as_str() {
                "access_ttl_seconds" => c.access_ttl = secs,
                "refresh_ttl_seconds" => c.refresh_ttl = secs,
                "challenge_ttl_seconds" => c.challenge_ttl = secs,
                "ip_rate_per_second" => c.ip_rate.per_second = *n,
                "ip_rate_burst" => c.ip_rate.burst = *n,
                "participant_rate_per_second" => c.participant_rate.per_second = *n,
                "participant_rate_burst" => c.participant_rate.burst = *n,
                _ => {}
            }
        }
    });
    let updated: Vec<String> = parsed.into_iter().map(|(k, _)| k).collect();
    state.log_admin(
        "config.update",
        "config",
        "api",
        p.reason.as_deref(),
        json!({ "updated": updated }),
    );
    Ok(Json(json!({ "updated": updated })))
}

async fn get_flags(State(state): State<AppState>, _a: Admin) -> Json<Value> {
    Json(json!(state.flags()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagsPatch {
    multipath_enabled: Option<bool>,
    full_multipath_enabled: Option<bool>,
    clearing_enabled: Option<bool>,
    reason: Option<String>,
}

async fn patch_flags(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(p): ApiJson<FlagsPatch>,
) -> Json<Value> {
    state.update_flags(|f| {
        if let Some(v) = p.multipath_enabled {
            f.multipath_enabled = v;
        }
        if let Some(v) = p.full_multipath_enabled {
            f.full_multipath_enabled = v;
        }
        if let Some(v) = p.clearing_enabled {
            f.clearing_enabled = v;
        }
    });
    let flags = json!(state.flags());
    state.log_admin(
        "feature_flags.update",
        "feature_flags",
        "api",
        p.reason.as_deref(),
        flags.clone(),
    );
    Json(flags)
}

async fn participants(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": search(&state, &q, true).await? })))
}

#[derive(Debug, Default, Deserialize)]
struct Reason {
    reason: Option<String>,
}

async fn participant_action(
    State(state): State<AppState>,
    _a: Admin,
    Path((pid, action)): Path<(String, String)>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<Json<Value>> {
    let pid = parse_pid(&pid, "pid")?;
    let status = match action.as_str() {
        "freeze" => ParticipantStatus::Suspended,
        "unfreeze" | "unban" => ParticipantStatus::Active,
        "ban" => ParticipantStatus::Deleted,
        _ => return Err(ApiError::not_found("NOT_FOUND", "no such endpoint")),
    };
    let reply = state
        .submit(Command::SetParticipantStatus {
            pid: pid.clone(),
            status,
        })
        .await?;
    let Reply::Participant(p) = reply else {
        return Err(ApiError::internal("unexpected reply"));
    };
    if status == ParticipantStatus::Deleted {
        state.auth().revoke_participant(&pid);
    }
    state.log_admin(
        &format!("participant.{action}"),
        "participant",
        pid.as_str(),
        body.reason.as_deref(),
        json!({ "status": p.status.as_str() }),
    );
    Ok(Json(json!({ "pid": pid.as_str(), "status": p.status.as_str() })))
}

#[derive(Debug, Deserialize)]
struct EqListQuery {
    include_inactive: Option<bool>,
}

async fn equivalents(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<EqListQuery>,
) -> Json<Value> {
    let all = q.include_inactive.unwrap_or(false);
    let items = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .filter(|e| all || e.is_active)
                .map(views::equivalent)
                .collect::<Vec<_>>()
        })
        .await;
    Json(json!({ "items": items }))
}

fn opt_text(v: Option<&Value>, key: &str) -> ApiResult<Option<Option<String>>> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::validation(format!("{key} must be a string or null"))),
    }
}

fn opt_metadata(v: Option<&Value>) -> ApiResult<Option<Value>> {
    match v {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(json!({}))),
        Some(m @ Value::Object(_)) => Ok(Some(m.clone())),
        Some(_) => Err(ApiError::validation("metadata must be an object")),
    }
}

async fn create_equivalent(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let obj = super::extract::object(&body)?;
    let code = parse_code(super::extract::req_str(obj, "code")?, "code")?;
    let precision = match obj.get("precision") {
        None | Some(Value::Null) => 2,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| ApiError::validation("precision must be an integer"))?,
    };
    let precision = Precision::from_i64(precision).map_err(|e| ApiError::validation(e.to_string()))?;
    let reply = state
        .submit(Command::CreateEquivalent(NewEquivalent {
            code: code.clone(),
            precision,
            symbol: opt_text(obj.get("symbol"), "symbol")?.flatten(),
            description: opt_text(obj.get("description"), "description")?.flatten(),
            metadata: opt_metadata(obj.get("metadata"))?.unwrap_or_else(|| json!({})),
        }))
        .await?;
    let mut eq = match reply {
        Reply::Equivalent(e) => e,
        _ => return Err(ApiError::internal("unexpected reply")),
    };
    if obj.get("is_active") == Some(&Value::Bool(false)) {
        let patch = EquivalentPatch {
            is_active: Some(false),
            ..EquivalentPatch::default()
        };
        if let Reply::Equivalent(e) = state
            .submit(Command::UpdateEquivalent {
                code: code.clone(),
                patch,
            })
            .await?
        {
            eq = e;
        }
    }
    let reason = obj.get("reason").and_then(Value::as_str);
    state.log_admin(
        "equivalent.create",
        "equivalent",
        code.as_str(),
        reason,
        views::equivalent(&eq),
    );
    Ok(Json(views::equivalent(&eq)))
}

async fn update_equivalent(
    State(state): State<AppState>,
    _a: Admin,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let code = parse_code(&code, "code")?;
    let obj = super::extract::object(&body)?;
    let current = state.engine().read(|l| l.equivalent(&code).cloned()).await;
    let current = current
        .ok_or_else(|| ApiError::not_found("EQUIVALENT_NOT_FOUND", format!("unknown equivalent {code}")))?;
    if let Some(p) = obj.get("precision").filter(|p| !p.is_null()) {
        if p.as_i64() != Some(i64::from(current.precision.get())) {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "PRECISION_IMMUTABLE",
                "the precision of an equivalent cannot change (stored amounts depend on it)",
            ));
        }
    }
    let is_active = match obj.get("is_active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(ApiError::validation("is_active must be a boolean")),
    };
    let patch = EquivalentPatch {
        symbol: opt_text(obj.get("symbol"), "symbol")?,
        description: opt_text(obj.get("description"), "description")?,
        metadata: opt_metadata(obj.get("metadata"))?,
        is_active,
    };
    let Reply::Equivalent(eq) = state
        .submit(Command::UpdateEquivalent {
            code: code.clone(),
            patch,
        })
        .await?
    else {
        return Err(ApiError::internal("unexpected reply"));
    };
    let reason = obj.get("reason").and_then(Value::as_str);
    state.log_admin(
        "equivalent.update",
        "equivalent",
        code.as_str(),
        reason,
        views::equivalent(&eq),
    );
    Ok(Json(views::equivalent(&eq)))
}

#[derive(Debug, Deserialize)]
struct LinesQuery {
    equivalent: Option<String>,
    creditor: Option<String>,
    debtor: Option<String>,
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn trustlines(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<LinesQuery>,
) -> ApiResult<Json<Value>> {
    let code = q
        .equivalent
        .as_deref()
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let creditor = q
        .creditor
        .as_deref()
        .map(|p| parse_pid(p, "creditor"))
        .transpose()?;
    let debtor = q.debtor.as_deref().map(|p| parse_pid(p, "debtor")).transpose()?;
    let status = match &q.status {
        Some(s) => Some(
            LineStatus::parse(s)
                .ok_or_else(|| ApiError::validation("status must be active, frozen or closed"))?,
        ),
        None => None,
    };
    let (limit, offset) = paging(q.page, q.per_page, None, 20);
    let items = state
        .engine()
        .read(|l| {
            l.lines()
                .iter()
                .filter(|line| code.as_ref().is_none_or(|c| &l.equivalent_at(line.eq).code == c))
                .filter(|line| creditor.as_ref().is_none_or(|p| l.pid(line.from) == p))
                .filter(|line| debtor.as_ref().is_none_or(|p| l.pid(line.to) == p))
                .filter(|line| status.is_none_or(|s| line.status == s))
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(20))
                .map(|line| views::trust_line(l, line))
                .collect::<Vec<_>>()
        })
        .await;
    Ok(Json(json!({ "items": items })))
}

#[derive(Debug, Deserialize)]
struct AdminAuditQuery {
    action: Option<String>,
    object_type: Option<String>,
    object_id: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn audit_log(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<AdminAuditQuery>,
) -> Json<Value> {
    let (limit, offset) = paging(q.page, q.per_page, None, 50);
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let items: Vec<Value> = state
        .admin_log()
        .into_iter()
        .filter(|i| {
            q.action
                .as_ref()
                .is_none_or(|a| field(i, "action").as_ref() == Some(a))
        })
        .filter(|i| {
            q.object_type
                .as_ref()
                .is_none_or(|a| field(i, "object_type").as_ref() == Some(a))
        })
        .filter(|i| {
            q.object_id
                .as_ref()
                .is_none_or(|a| field(i, "object_id").as_ref() == Some(a))
        })
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(50))
        .collect();
    Json(json!({ "items": items }))
}

#[derive(Debug, Deserialize)]
struct SnapshotQuery {
    equivalent: Option<String>,
}

async fn graph_snapshot(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> ApiResult<Json<Value>> {
    let code = q
        .equivalent
        .as_deref()
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let out = state
        .engine()
        .read(|l| -> ApiResult<Value> {
            let eqs: Vec<EqId> = match &code {
                Some(c) => vec![l.eq_id(c)?],
                None => (0..l.equivalents().len())
                    .filter_map(|i| EqId::try_from(i).ok())
                    .collect(),
            };
            let mut nodes = Vec::new();
            for (i, p) in l.participants().iter().enumerate() {
                let Ok(node) = u32::try_from(i) else { continue };
                let mut net = Map::new();
                for &eq in &eqs {
                    let e = l.equivalent_at(eq);
                    let pos = views::position(l, eq, node);
                    net.insert(
                        e.code.to_string(),
                        Value::String(fmt_atoms(pos.credit - pos.debt, e.precision)),
                    );
                }
                nodes.push(json!({
                    "id": p.pid.as_str(), "name": p.display_name, "type": p.kind,
                    "status": p.status.as_str(), "net_balance": net,
                }));
            }
            let links: Vec<Value> = l
                .lines()
                .iter()
                .filter(|line| eqs.contains(&line.eq) && line.status != LineStatus::Closed)
                .map(|line| {
                    let mut v = views::trust_line(l, line);
                    if let Value::Object(m) = &mut v {
                        m.insert("source".into(), m.get("from").cloned().unwrap_or(Value::Null));
                        m.insert("target".into(), m.get("to").cloned().unwrap_or(Value::Null));
                    }
                    v
                })
                .collect();
            Ok(json!({ "equivalent": code.as_ref().map(|c| c.to_string()), "nodes": nodes, "links": links }))
        })
        .await?;
    Ok(Json(out))
}

async fn abort_tx(
    State(state): State<AppState>,
    _a: Admin,
    Path(tx_id): Path<String>,
    ApiJson(body): ApiJson<Reason>,
) -> ApiResult<Json<Value>> {
    let reason = body
        .reason
        .clone()
        .unwrap_or_else(|| "aborted by an administrator".to_owned());
    let reply = state
        .submit(Command::Abort {
            tx_id: tx_id.clone(),
            reason: reason.clone(),
        })
        .await?;
    let Reply::Transaction(tx) = reply else {
        return Err(ApiError::internal("unexpected reply"));
    };
    state.log_admin(
        "transaction.abort",
        "transaction",
        &tx_id,
        Some(&reason),
        json!({ "state": tx.state.as_str() }),
    );
    Ok(Json(
        json!({ "tx_id": tx.tx_id, "status": tx.state.as_str().to_ascii_lowercase() }),
    ))
}
