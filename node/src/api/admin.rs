//! The admin JSON API under `/api/v1/admin`, behind the `X-Admin-Token` header.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Json;
use geo_protocol::{EquivalentCode, Pid, Precision};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::analytics::{self, Share};
use super::error::{ApiError, ApiResult};
use super::extract::{Admin, ApiJson, ApiQuery};
use super::participants::{search, SearchQuery};
use super::ratelimit::CLASSES;
use super::util::{paging, parse_code, parse_pid};
use super::views;
use super::{AppState, RateClass};
use crate::engine::{Command, Reply};
use crate::ledger::graph::LineStatus;
use crate::ledger::model::{ParticipantStatus, TxKind, TxRecord, TxState};
use crate::ledger::participants::{EquivalentPatch, NewEquivalent};
use crate::ledger::LedgerError;
use crate::store::{AdminAuditFilter, EquivalentReferences, TxFilter};

/// The admin routes (nested under `/admin`).
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/whoami", get(whoami))
        .route("/health/db", get(super::health::health_db))
        .route("/config", get(get_config).patch(patch_config))
        .route("/feature-flags", get(get_flags).patch(patch_flags))
        .route("/participants", get(participants))
        .route("/participants/stats", get(participants_stats))
        .route("/participants/{pid}/metrics", get(participant_metrics))
        .route("/participants/{pid}/{action}", post(participant_action))
        .route("/equivalents", get(equivalents).post(create_equivalent))
        .route(
            "/equivalents/{code}",
            axum::routing::patch(update_equivalent).delete(delete_equivalent),
        )
        .route("/equivalents/{code}/usage", get(equivalent_usage))
        .route("/migrations", get(migrations))
        .route("/trustlines", get(trustlines))
        .route("/trustlines/bottlenecks", get(trustline_bottlenecks))
        .route("/liquidity/summary", get(liquidity_summary))
        .route("/clearing/cycles", get(clearing_cycles))
        .route("/audit-log", get(audit_log))
        .route("/graph/snapshot", get(graph_snapshot))
        .route("/graph/ego", get(graph_ego))
        .route("/transactions/{tx_id}/abort", post(abort_tx))
}

async fn whoami(_a: Admin) -> Json<Value> {
    Json(json!({ "role": "admin" }))
}

/// Configuration keys an administrator may change at run time (rate keys: see [`rate_key`]).
const MUTABLE: [&str; 3] = [
    "access_ttl_seconds",
    "refresh_ttl_seconds",
    "challenge_ttl_seconds",
];

/// The configuration key of a rate budget: `rate_{ip|participant}_{class}_per_minute`.
fn rate_key(scope: &str, class: RateClass) -> String {
    format!("rate_{scope}_{}_per_minute", class.as_str())
}

/// The scope and class a rate key names.
fn parse_rate_key(key: &str) -> Option<(bool, RateClass)> {
    CLASSES.iter().find_map(|&class| {
        if key == rate_key("ip", class) {
            Some((true, class))
        } else if key == rate_key("participant", class) {
            Some((false, class))
        } else {
            None
        }
    })
}

async fn get_config(State(state): State<AppState>, _a: Admin) -> Json<Value> {
    let c = state.config();
    let item = |k: &str, v: Value, mutable: bool| json!({ "key": k, "value": v, "mutable": mutable });
    let mut items = vec![
        item("access_ttl_seconds", json!(c.access_ttl.as_secs()), true),
        item("refresh_ttl_seconds", json!(c.refresh_ttl.as_secs()), true),
        item("challenge_ttl_seconds", json!(c.challenge_ttl.as_secs()), true),
    ];
    for (scope, table) in [("ip", c.ip_rates), ("participant", c.participant_rates)] {
        for class in CLASSES {
            items.push(item(
                &rate_key(scope, class),
                json!(table.per_minute(class)),
                true,
            ));
        }
    }
    items.extend([
        item("body_limit_bytes", json!(state.body_limit()), false),
        item("store_backend", json!(state.engine().store().backend()), false),
        item("version", json!(c.version), false),
    ]);
    Json(json!({ "items": items }))
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
        if !MUTABLE.contains(&k.as_str()) && parse_rate_key(k).is_none() {
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
                other => match parse_rate_key(other) {
                    Some((true, class)) => *c.ip_rates.per_minute_mut(class) = *n,
                    Some((false, class)) => *c.participant_rates.per_minute_mut(class) = *n,
                    None => {}
                },
            }
        }
    });
    let values: Map<String, Value> = parsed.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
    let updated: Vec<String> = parsed.into_iter().map(|(k, _)| k).collect();
    state
        .log_admin(
            "config.update",
            "config",
            "api",
            p.reason.as_deref(),
            json!({ "updated": updated, "values": values }),
        )
        .await;
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
    state
        .log_admin(
            "feature_flags.update",
            "feature_flags",
            "api",
            p.reason.as_deref(),
            flags.clone(),
        )
        .await;
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
    state
        .log_admin(
            &format!("participant.{action}"),
            "participant",
            pid.as_str(),
            body.reason.as_deref(),
            json!({ "status": p.status.as_str() }),
        )
        .await;
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
    state
        .log_admin(
            "equivalent.create",
            "equivalent",
            code.as_str(),
            reason,
            views::equivalent(&eq),
        )
        .await;
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
    state
        .log_admin(
            "equivalent.update",
            "equivalent",
            code.as_str(),
            reason,
            views::equivalent(&eq),
        )
        .await;
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
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging(q.page, q.per_page, None, 50);
    let filter = AdminAuditFilter {
        action: q.action,
        object_type: q.object_type,
        object_id: q.object_id,
        limit,
        offset,
    };
    let items: Vec<Value> = state
        .engine()
        .store()
        .admin_audit_log(&filter)
        .await?
        .iter()
        .map(views::admin_action)
        .collect();
    Ok(Json(json!({ "items": items })))
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
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let nodes: Vec<Value> = (0..l.participants().len())
                .filter_map(|i| u32::try_from(i).ok())
                .map(|node| analytics::graph_node(l, node, &eqs))
                .collect();
            let links: Vec<Value> = l
                .lines()
                .iter()
                .filter(|line| eqs.contains(&line.eq) && line.status != LineStatus::Closed)
                .map(|line| analytics::graph_link(l, line))
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
    state
        .log_admin(
            "transaction.abort",
            "transaction",
            &tx_id,
            Some(&reason),
            json!({ "state": tx.state.as_str() }),
        )
        .await;
    Ok(Json(
        json!({ "tx_id": tx.tx_id, "status": tx.state.as_str().to_ascii_lowercase() }),
    ))
}

// ------------------------------------------------------------------------------------------------
// Analytics (pure computations in `analytics.rs`)

/// Most committed payments read per direction by `GET /participants/{pid}/metrics`.
const PAYMENT_SCAN: usize = 10_000;

/// Most cycles listed per equivalent by `GET /clearing/cycles`.
const CYCLES_PER_EQUIVALENT: usize = 100;

/// `threshold` (a share from 0 to 1, default 0.10).
fn threshold(text: Option<&str>) -> ApiResult<Share> {
    text.map_or(Ok(Share::DEFAULT_THRESHOLD), |t| {
        Share::parse(t).map_err(|e| ApiError::validation(format!("threshold: {e}")))
    })
}

/// `limit` of the bottleneck listings (1-50, default 10).
fn top_limit(limit: Option<i64>) -> ApiResult<usize> {
    let n = limit.unwrap_or(10);
    if !(1..=50).contains(&n) {
        return Err(ApiError::validation("limit must be from 1 to 50"));
    }
    usize::try_from(n).map_err(ApiError::internal)
}

fn opt_code(text: Option<&str>) -> ApiResult<Option<EquivalentCode>> {
    text.map(|c| parse_code(c, "equivalent")).transpose()
}

async fn participants_stats(State(state): State<AppState>, _a: Admin) -> Json<Value> {
    Json(state.engine().read(analytics::participant_stats).await)
}

#[derive(Debug, Deserialize)]
struct MetricsQuery {
    equivalent: Option<String>,
    threshold: Option<String>,
}

/// Committed payments of `pid` sent and received (newest first, at most [`PAYMENT_SCAN`] each),
/// and whether that was all of them.
async fn payments_of(
    state: &AppState,
    pid: &Pid,
    code: Option<&EquivalentCode>,
) -> ApiResult<(Vec<TxRecord>, Vec<TxRecord>, bool)> {
    let scan = i64::try_from(PAYMENT_SCAN).map_err(ApiError::internal)?;
    let mut out = Vec::new();
    for outgoing in [true, false] {
        let filter = TxFilter {
            participant: Some(pid.to_string()),
            outgoing: Some(outgoing),
            kind: Some(TxKind::Payment),
            state: Some(TxState::Committed),
            equivalent: code.map(ToString::to_string),
            limit: scan + 1,
            ..TxFilter::default()
        };
        out.push(state.engine().store().transactions(&filter).await?);
    }
    let received = out.pop().unwrap_or_default();
    let mut sent = out.pop().unwrap_or_default();
    let complete = sent.len() <= PAYMENT_SCAN && received.len() <= PAYMENT_SCAN;
    sent.truncate(PAYMENT_SCAN);
    let mut received = received;
    received.truncate(PAYMENT_SCAN);
    Ok((sent, received, complete))
}

async fn participant_metrics(
    State(state): State<AppState>,
    _a: Admin,
    Path(pid): Path<String>,
    ApiQuery(q): ApiQuery<MetricsQuery>,
) -> ApiResult<Json<Value>> {
    let pid = parse_pid(&pid, "pid")?;
    let code = opt_code(q.equivalent.as_deref())?;
    let threshold = threshold(q.threshold.as_deref())?;
    // Unknown participants and equivalents are refused before the store is read.
    state
        .engine()
        .read(|l| -> Result<(), LedgerError> {
            l.node(&pid)?;
            analytics::eq_ids(l, code.as_ref())?;
            Ok(())
        })
        .await?;
    let (sent, received, complete) = payments_of(&state, &pid, code.as_ref()).await?;
    let flows = analytics::payment_flows(&sent, &received);
    let mut out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let me = l.node(&pid)?;
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            Ok(analytics::participant_metrics(l, me, &eqs, threshold, &flows))
        })
        .await?;
    if let Value::Object(m) = &mut out {
        m.insert(
            "payments_scan".into(),
            json!({
                "limit": PAYMENT_SCAN,
                "sent": sent.len(),
                "received": received.len(),
                "complete": complete,
            }),
        );
    }
    Ok(Json(out))
}

async fn equivalent_usage(
    State(state): State<AppState>,
    _a: Admin,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let code = parse_code(&code, "code")?;
    let (lines, debts) = state
        .engine()
        .read(|l| l.eq_id(&code).map(|eq| analytics::equivalent_usage(l, eq)))
        .await?;
    let refs = state
        .engine()
        .store()
        .equivalent_references(code.as_str())
        .await?;
    Ok(Json(json!({
        "code": code.as_str(),
        "trustlines": lines,
        "debts": debts,
        "integrity_checkpoints": refs.checkpoints,
    })))
}

/// The body of `DELETE /admin/equivalents/{code}`.
#[derive(Debug, Deserialize)]
pub(crate) struct DeleteEquivalentRequest {
    reason: String,
}

/// `409 EQUIVALENT_IN_USE`: what refers to the equivalent, and the way to retire it instead.
fn in_use(code: &EquivalentCode, lines: usize, debts: usize, refs: &EquivalentReferences) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "EQUIVALENT_IN_USE",
        format!(
            "equivalent {code} has been used ({lines} trust lines, {debts} debts, {} transactions, {} \
             audit records) and cannot be deleted; deactivate it instead with \
             PATCH /api/v1/admin/equivalents/{code} {{\"is_active\": false}}",
            refs.transactions, refs.audit_records
        ),
    )
    .with_details(json!({
        "trustlines": lines,
        "debts": debts,
        "transactions": refs.transactions,
        "audit_records": refs.audit_records,
        "deactivate": {
            "method": "PATCH",
            "path": format!("/api/v1/admin/equivalents/{code}"),
            "body": { "is_active": false },
        },
    }))
}

async fn delete_equivalent(
    State(state): State<AppState>,
    _a: Admin,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<DeleteEquivalentRequest>,
) -> ApiResult<Json<Value>> {
    let code = parse_code(&code, "code")?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::validation("reason must not be empty"));
    }
    let usage = |state: AppState, code: EquivalentCode| async move {
        let (lines, debts) = state
            .engine()
            .read(|l| l.eq_id(&code).map(|eq| analytics::equivalent_usage(l, eq)))
            .await?;
        let refs = state
            .engine()
            .store()
            .equivalent_references(code.as_str())
            .await?;
        ApiResult::Ok((lines, debts, refs))
    };
    // History in the store is checked here; the writer checks lines, debts, locks and the
    // transactions recorded since (see `Ledger::delete_equivalent`).
    let (lines, debts, refs) = usage(state.clone(), code.clone()).await?;
    if lines > 0 || debts > 0 || refs.transactions > 0 || refs.audit_records > 0 {
        return Err(in_use(&code, lines, debts, &refs));
    }
    let deleted = match state
        .submit(Command::DeleteEquivalent { code: code.clone() })
        .await
    {
        Ok(Reply::Equivalent(e)) => e,
        Ok(other) => return Err(ApiError::internal(format!("unexpected reply {other:?}"))),
        Err(e) if e.code == "EQUIVALENT_IN_USE" => {
            let (lines, debts, refs) = usage(state.clone(), code.clone()).await?;
            return Err(in_use(&code, lines, debts, &refs));
        }
        Err(e) => return Err(e),
    };
    state
        .log_admin(
            "equivalent.delete",
            "equivalent",
            code.as_str(),
            Some(&body.reason),
            views::equivalent(&deleted),
        )
        .await;
    Ok(Json(json!({ "deleted": code.as_str() })))
}

async fn migrations(State(state): State<AppState>, _a: Admin) -> ApiResult<Json<Value>> {
    let store = state.engine().store();
    let m = store.migrations().await?;
    let applied: Vec<Value> = m
        .applied
        .iter()
        .map(|a| {
            json!({
                "version": a.version,
                "description": a.description,
                "installed_on": a.installed_on,
                "success": a.success,
                "checksum_matches": a.checksum_matches,
            })
        })
        .collect();
    Ok(Json(json!({
        "backend": store.backend(),
        "current_revision": m.current_revision().map(|v| v.to_string()),
        "head_revision": m.head_revision().map(|v| v.to_string()),
        "is_up_to_date": m.is_up_to_date(),
        "pending": m.pending(),
        "applied": applied,
    })))
}

#[derive(Debug, Deserialize)]
struct BottleneckQuery {
    threshold: Option<String>,
    limit: Option<i64>,
    equivalent: Option<String>,
}

impl BottleneckQuery {
    /// The validated threshold, top-list size and equivalent.
    fn parse(&self) -> ApiResult<(Share, usize, Option<EquivalentCode>)> {
        Ok((
            threshold(self.threshold.as_deref())?,
            top_limit(self.limit)?,
            opt_code(self.equivalent.as_deref())?,
        ))
    }
}

async fn trustline_bottlenecks(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<BottleneckQuery>,
) -> ApiResult<Json<Value>> {
    let (threshold, limit, code) = q.parse()?;
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let found = analytics::bottlenecks(l, &eqs, threshold);
            Ok(json!({
                "threshold": threshold.to_text(),
                "limit": limit,
                "equivalent": code.as_ref().map(EquivalentCode::as_str),
                "total": found.len(),
                "items": found.iter().take(limit).map(|b| analytics::bottleneck_json(l, b)).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(Json(out))
}

async fn liquidity_summary(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<BottleneckQuery>,
) -> ApiResult<Json<Value>> {
    let (threshold, limit, code) = q.parse()?;
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let items: Vec<Value> = analytics::eq_ids(l, code.as_ref())?
                .into_iter()
                .map(|eq| analytics::liquidity_json(l, &analytics::liquidity(l, eq, threshold), limit))
                .collect();
            Ok(json!({
                "threshold": threshold.to_text(),
                "limit": limit,
                "equivalent": code.as_ref().map(EquivalentCode::as_str),
                "items": items,
            }))
        })
        .await?;
    Ok(Json(out))
}

#[derive(Debug, Deserialize)]
struct AdminCyclesQuery {
    participant_pid: Option<String>,
    equivalent: Option<String>,
    max_depth: Option<i64>,
}

async fn clearing_cycles(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<AdminCyclesQuery>,
) -> ApiResult<Json<Value>> {
    let depth = q.max_depth.unwrap_or(6);
    if !(3..=10).contains(&depth) {
        return Err(ApiError::validation("max_depth must be from 3 to 10"));
    }
    let max_len = usize::try_from(depth).map_err(ApiError::internal)?;
    let through = q
        .participant_pid
        .as_deref()
        .map(|p| parse_pid(p, "participant_pid"))
        .transpose()?;
    let code = opt_code(q.equivalent.as_deref())?;
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let node = through.as_ref().map(|p| l.node(p)).transpose()?;
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let found = analytics::cycles(l, &eqs, node, max_len, CYCLES_PER_EQUIVALENT);
            Ok(json!({
                "participant_pid": through.as_ref().map(Pid::as_str),
                "equivalent": code.as_ref().map(EquivalentCode::as_str),
                "max_depth": depth,
                "searched_max_length": max_len.min(analytics::SEARCHED_CYCLE_LEN),
                "total": found.len(),
                "items": found.iter().map(|(eq, c)| analytics::cycle_json(l, *eq, c)).collect::<Vec<_>>(),
            }))
        })
        .await?;
    Ok(Json(out))
}

/// `GET /graph/ego`: the query is read as pairs because `status` may repeat
/// (`status=active&status=frozen`; a comma-separated list works too).
async fn graph_ego(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let (mut pid, mut depth, mut equivalent) = (None, None, None);
    let mut statuses: Vec<LineStatus> = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "pid" => pid = Some(v.as_str()),
            "depth" => depth = Some(v.as_str()),
            "equivalent" => equivalent = Some(v.as_str()),
            "status" => {
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let s = LineStatus::parse(s)
                        .ok_or_else(|| ApiError::validation("status must be active, frozen or closed"))?;
                    if !statuses.contains(&s) {
                        statuses.push(s);
                    }
                }
            }
            _ => {}
        }
    }
    let pid = parse_pid(pid.ok_or_else(|| ApiError::validation("pid is required"))?, "pid")?;
    let depth: usize = match depth.unwrap_or("1") {
        "1" => 1,
        "2" => 2,
        _ => return Err(ApiError::validation("depth must be 1 or 2")),
    };
    if statuses.is_empty() {
        statuses = vec![LineStatus::Active, LineStatus::Frozen];
    }
    let code = opt_code(equivalent)?;
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let center = l.node(&pid)?;
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let (nodes, links) = analytics::ego(l, center, depth, &eqs, &statuses);
            let nodes: Vec<Value> = nodes
                .iter()
                .map(|&(n, d)| {
                    let mut v = analytics::graph_node(l, n, &eqs);
                    if let Value::Object(m) = &mut v {
                        m.insert("depth".into(), json!(d));
                    }
                    v
                })
                .collect();
            let links: Vec<Value> = links
                .iter()
                .map(|&i| analytics::graph_link(l, &l.lines()[i]))
                .collect();
            Ok(json!({
                "pid": pid.as_str(),
                "depth": depth,
                "equivalent": code.as_ref().map(EquivalentCode::as_str),
                "status": statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                "nodes": nodes,
                "links": links,
            }))
        })
        .await?;
    Ok(Json(out))
}
