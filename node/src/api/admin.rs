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
use super::participants::{search_page, SearchQuery};
use super::ratelimit::CLASSES;
use super::ratelimit::{RateClass, RateTable};
use super::state::AppState;
use super::util::{self, paging, parse_code, parse_pid};
use super::views;
use crate::ledger::graph::{LineStatus, NodeId};
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
        .route("/incidents", get(incidents))
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

/// The reference hub's configuration keys, which its admin UI reads as one object with exactly
/// these keys: `(key, mutable)`. Those that name a feature flag, the rate limits or the incident
/// SLA change them; the others report what this hub does and are read-only.
const REFERENCE_KEYS: [(&str, bool); 12] = [
    ("LOG_LEVEL", false),
    ("RATE_LIMIT_ENABLED", true),
    ("ROUTING_MAX_HOPS", false),
    ("ROUTING_MAX_PATHS", false),
    ("INTEGRITY_CHECKPOINT_ENABLED", false),
    ("INTEGRITY_CHECKPOINT_INTERVAL_SECONDS", false),
    ("RECOVERY_ENABLED", false),
    ("RECOVERY_INTERVAL_SECONDS", false),
    ("PAYMENT_TX_STUCK_TIMEOUT_SECONDS", true),
    ("FEATURE_FLAGS_MULTIPATH_ENABLED", true),
    ("FEATURE_FLAGS_FULL_MULTIPATH_ENABLED", true),
    ("CLEARING_ENABLED", true),
];

/// The value of a reference configuration key on this hub.
fn reference_value(state: &AppState, key: &str) -> Value {
    let c = state.config();
    let flags = state.flags();
    let routing = crate::ledger::routing::RouteLimits::default();
    let rate_on = [c.ip_rates, c.participant_rates]
        .iter()
        .any(|t| CLASSES.iter().any(|&class| t.per_minute(class) > 0));
    match key {
        "LOG_LEVEL" => json!(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned())),
        "RATE_LIMIT_ENABLED" => json!(rate_on),
        "ROUTING_MAX_HOPS" => json!(routing.max_hops),
        "ROUTING_MAX_PATHS" => json!(if flags.multipath_enabled {
            routing.max_paths
        } else {
            1
        }),
        // Checkpoints are written at every start and every 5 minutes (engine default); prepare
        // locks are released by the writer at their expiry, so recovery is always on and
        // continuous.
        "INTEGRITY_CHECKPOINT_ENABLED" | "RECOVERY_ENABLED" => json!(true),
        "INTEGRITY_CHECKPOINT_INTERVAL_SECONDS" => {
            json!(crate::engine::EngineConfig::default().checkpoint_every.as_secs())
        }
        "RECOVERY_INTERVAL_SECONDS" => json!(1),
        "PAYMENT_TX_STUCK_TIMEOUT_SECONDS" => json!(c.incident_sla.as_secs()),
        "FEATURE_FLAGS_MULTIPATH_ENABLED" => json!(flags.multipath_enabled),
        "FEATURE_FLAGS_FULL_MULTIPATH_ENABLED" => json!(flags.full_multipath_enabled),
        "CLEARING_ENABLED" => json!(flags.clearing_enabled),
        _ => Value::Null,
    }
}

/// `GET /admin/config`: `items` = the reference's keys (exactly those, as its admin UI
/// requires), `hub_items` = this hub's own keys, each `{key, value, mutable}`.
async fn get_config(State(state): State<AppState>, _a: Admin) -> Json<Value> {
    let c = state.config();
    let item = |k: &str, v: Value, mutable: bool| json!({ "key": k, "value": v, "mutable": mutable });
    let reference: Vec<Value> = REFERENCE_KEYS
        .iter()
        .map(|&(k, mutable)| item(k, reference_value(&state, k), mutable))
        .collect();
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
    Json(json!({ "items": reference, "hub_items": items }))
}

#[derive(Debug, Deserialize)]
struct ConfigPatch {
    updates: Map<String, Value>,
    reason: Option<String>,
}

/// A validated change of one configuration key.
enum ConfigChange {
    /// One of this hub's numeric keys.
    Hub(String, u32),
    /// `RATE_LIMIT_ENABLED`.
    RateLimits(bool),
    /// `PAYMENT_TX_STUCK_TIMEOUT_SECONDS`.
    IncidentSla(u32),
    /// A feature flag, by its flag name.
    Flag(&'static str, bool),
}

fn parse_change(key: &str, v: &Value) -> ApiResult<ConfigChange> {
    let boolean = || {
        v.as_bool()
            .ok_or_else(|| ApiError::validation(format!("{key} must be a boolean")))
    };
    let number = || {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| ApiError::validation(format!("{key} must be a non-negative integer")))
    };
    match key {
        "RATE_LIMIT_ENABLED" => Ok(ConfigChange::RateLimits(boolean()?)),
        "PAYMENT_TX_STUCK_TIMEOUT_SECONDS" => Ok(ConfigChange::IncidentSla(number()?)),
        "FEATURE_FLAGS_MULTIPATH_ENABLED" => Ok(ConfigChange::Flag("multipath_enabled", boolean()?)),
        "FEATURE_FLAGS_FULL_MULTIPATH_ENABLED" => {
            Ok(ConfigChange::Flag("full_multipath_enabled", boolean()?))
        }
        "CLEARING_ENABLED" => Ok(ConfigChange::Flag("clearing_enabled", boolean()?)),
        k if MUTABLE.contains(&k) || parse_rate_key(k).is_some() => {
            Ok(ConfigChange::Hub(k.to_owned(), number()?))
        }
        k => Err(ApiError::validation(format!(
            "unknown or immutable config key {k:?}"
        ))),
    }
}

async fn patch_config(
    State(state): State<AppState>,
    _a: Admin,
    ApiJson(p): ApiJson<ConfigPatch>,
) -> ApiResult<Json<Value>> {
    let mut parsed = Vec::new();
    for (k, v) in &p.updates {
        parsed.push(parse_change(k, v)?);
    }
    state.update_config(|c| {
        for change in &parsed {
            match change {
                ConfigChange::Hub(k, n) => {
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
                ConfigChange::RateLimits(false) => {
                    c.ip_rates = RateTable::OFF;
                    c.participant_rates = RateTable::OFF;
                }
                ConfigChange::RateLimits(true) => {
                    // Switching on restores the architecture's budgets where all are off.
                    for t in [&mut c.ip_rates, &mut c.participant_rates] {
                        if CLASSES.iter().all(|&class| t.per_minute(class) == 0) {
                            *t = RateTable::SEED;
                        }
                    }
                }
                ConfigChange::IncidentSla(n) => {
                    c.incident_sla = std::time::Duration::from_secs(u64::from(*n));
                }
                ConfigChange::Flag(..) => {}
            }
        }
    });
    state.update_flags(|f| {
        for change in &parsed {
            if let ConfigChange::Flag(name, v) = change {
                match *name {
                    "multipath_enabled" => f.multipath_enabled = *v,
                    "full_multipath_enabled" => f.full_multipath_enabled = *v,
                    _ => f.clearing_enabled = *v,
                }
            }
        }
    });
    let values: Map<String, Value> = p.updates.clone().into_iter().collect();
    let updated: Vec<String> = p.updates.keys().cloned().collect();
    state
        .log_admin(
            "admin.config.patch",
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
            "admin.feature_flags.patch",
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
    let found = search_page(&state, &q, true).await?;
    Ok(Json(page_json(
        found.items,
        found.limit,
        found.offset,
        found.total,
    )))
}

/// A page of a list as the reference's clients read it: `{items, page, per_page, total}`
/// (`page` from 1; `total` counts every match).
pub(crate) fn page_json(items: Vec<Value>, limit: i64, offset: i64, total: usize) -> Value {
    let per_page = limit.max(1);
    json!({
        "items": items,
        "page": offset / per_page + 1,
        "per_page": per_page,
        "total": total,
    })
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
    let admin = state.admin_action(&format!("admin.participants.{action}"), body.reason.as_deref());
    let p = state
        .service()
        .set_participant_status(admin, pid.clone(), status)
        .await?;
    if status == ParticipantStatus::Deleted {
        state.auth().revoke_participant(&pid);
    }
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
    let new = NewEquivalent {
        code: code.clone(),
        precision,
        symbol: opt_text(obj.get("symbol"), "symbol")?.flatten(),
        description: opt_text(obj.get("description"), "description")?.flatten(),
        metadata: opt_metadata(obj.get("metadata"))?.unwrap_or_else(|| json!({})),
    };
    let active = obj.get("is_active") != Some(&Value::Bool(false));
    let reason = obj.get("reason").and_then(Value::as_str);
    let admin = state.admin_action("admin.equivalents.create", reason);
    let eq = state.service().create_equivalent(admin, new, active).await?;
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
    let reason = obj.get("reason").and_then(Value::as_str);
    let admin = state.admin_action("admin.equivalents.patch", reason);
    let eq = state
        .service()
        .update_equivalent(admin, code.clone(), patch)
        .await?;
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
    let (items, total) = state
        .engine()
        .read(|l| {
            let matching: Vec<_> = l
                .lines()
                .iter()
                .filter(|line| code.as_ref().is_none_or(|c| &l.equivalent_at(line.eq).code == c))
                .filter(|line| creditor.as_ref().is_none_or(|p| l.pid(line.from) == p))
                .filter(|line| debtor.as_ref().is_none_or(|p| l.pid(line.to) == p))
                .filter(|line| status.is_none_or(|s| line.status == s))
                .collect();
            let items = matching
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(limit).unwrap_or(20))
                .map(|line| views::trust_line(l, line))
                .collect::<Vec<_>>();
            (items, matching.len())
        })
        .await;
    Ok(Json(page_json(items, limit, offset, total)))
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
        action: q.action.map(|a| super::audit::action_name(&a).into_owned()),
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
    let total = state.engine().store().admin_audit_count(&filter).await?;
    Ok(Json(page_json(
        items,
        limit,
        offset,
        usize::try_from(total).unwrap_or(usize::MAX),
    )))
}

#[derive(Debug, Deserialize)]
struct SnapshotQuery {
    equivalent: Option<String>,
    include: Option<String>,
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
    let extras = GraphExtras::load(&state, q.include.as_deref(), code.as_ref()).await?;
    let mut out = state
        .engine()
        .read(|l| -> ApiResult<Map<String, Value>> {
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let all: Vec<NodeId> = (0..l.participants().len())
                .filter_map(|i| u32::try_from(i).ok())
                .collect();
            let nodes: Vec<Value> = all
                .iter()
                .map(|&node| analytics::graph_node(l, node, &eqs))
                .collect();
            let lines: Vec<usize> = l
                .lines()
                .iter()
                .enumerate()
                .filter(|(_, line)| eqs.contains(&line.eq) && line.status != LineStatus::Closed)
                .map(|(i, _)| i)
                .collect();
            let links: Vec<Value> = lines
                .iter()
                .map(|&i| analytics::graph_link(l, &l.lines()[i]))
                .collect();
            let mut out = reference_graph(l, &all, None, &lines, &eqs);
            out.insert("equivalent".into(), json!(code.as_ref().map(|c| c.to_string())));
            out.insert("nodes".into(), Value::Array(nodes));
            out.insert("links".into(), Value::Array(links));
            Ok(out)
        })
        .await?;
    extras.add_to(&mut out);
    Ok(Json(Value::Object(out)))
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
    let admin = state.admin_action("admin.transactions.abort", Some(&reason));
    let tx = state
        .service()
        .abort_as_admin(admin, tx_id.clone(), reason.clone())
        .await?;
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
            let mut out = analytics::participant_metrics(l, me, &eqs, threshold, &flows);
            if let Value::Object(m) = &mut out {
                m.insert(
                    "equivalent".into(),
                    json!(code.as_ref().map(EquivalentCode::as_str)),
                );
                m.insert(
                    "balance_rows".into(),
                    Value::Array(analytics::balance_rows(l, me, &eqs)),
                );
            }
            Ok(out)
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
    let admin = state.admin_action("admin.equivalents.delete", Some(&body.reason));
    match state
        .service()
        .delete_equivalent(admin, code.clone())
        .await
        .map_err(ApiError::from)
    {
        Ok(_) => {}
        Err(e) if e.code == "EQUIVALENT_IN_USE" => {
            let (lines, debts, refs) = usage(state.clone(), code.clone()).await?;
            return Err(in_use(&code, lines, debts, &refs));
        }
        Err(e) => return Err(e),
    }
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
                "threshold": analytics::share_number(threshold),
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
    let equivalent = code.as_ref().map(|c| c.as_str().to_owned());
    let incidents = stuck_payments(&state, equivalent.as_deref()).await?.len();
    let now = state.engine().now();
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let per_eq: Vec<analytics::Liquidity> =
                eqs.iter().map(|&eq| analytics::liquidity(l, eq, threshold)).collect();
            let items: Vec<Value> = per_eq
                .iter()
                .map(|q| analytics::liquidity_json(l, q, limit))
                .collect();
            let all = analytics::bottlenecks(l, &eqs, threshold);
            // Money is summed and ranked within one equivalent only: without one, the totals
            // are null and the rankings empty (amounts of different units are never added).
            let single = match per_eq.as_slice() {
                [one] if code.is_some() => Some(one),
                _ => None,
            };
            let money = |f: fn(&analytics::Liquidity) -> i128| {
                single.map(|q| util::fmt_atoms(f(q), l.equivalent_at(q.eq).precision))
            };
            let (creditors, debtors, by_abs) = match single {
                Some(q) => analytics::net_rankings(l, q.eq, limit),
                None => (Vec::new(), Vec::new(), Vec::new()),
            };
            Ok(json!({
                "equivalent": equivalent,
                "threshold": analytics::share_number(threshold),
                "limit": limit,
                "updated_at": util::fmt_time(now),
                "active_trustlines": per_eq.iter().map(|q| q.active_lines).sum::<usize>(),
                "bottlenecks": all.len(),
                "incidents_over_sla": incidents,
                "total_limit": money(|q| q.total_limit),
                "total_used": money(|q| q.total_used),
                "total_available": money(|q| q.total_available),
                "top_creditors": creditors,
                "top_debtors": debtors,
                "top_by_abs_net": by_abs,
                "top_bottleneck_edges": all.iter().take(limit).map(|b| analytics::bottleneck_json(l, b)).collect::<Vec<_>>(),
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
                "equivalents": analytics::cycles_by_equivalent(l, &eqs, &found),
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
    let (mut pid, mut depth, mut equivalent, mut include) = (None, None, None, None);
    let mut statuses: Vec<LineStatus> = Vec::new();
    for (k, v) in &pairs {
        match k.as_str() {
            "pid" => pid = Some(v.as_str()),
            "depth" => depth = Some(v.as_str()),
            "equivalent" => equivalent = Some(v.as_str()).filter(|e| !e.is_empty()),
            "include" => include = Some(v.as_str()),
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
    let extras = GraphExtras::load(&state, include, code.as_ref()).await?;
    let mut out = state
        .engine()
        .read(|l| -> Result<Map<String, Value>, LedgerError> {
            let center = l.node(&pid)?;
            let eqs = analytics::eq_ids(l, code.as_ref())?;
            let (found, links) = analytics::ego(l, center, depth, &eqs, &statuses);
            let nodes: Vec<Value> = found
                .iter()
                .map(|&(n, d)| {
                    let mut v = analytics::graph_node(l, n, &eqs);
                    if let Value::Object(m) = &mut v {
                        m.insert("depth".into(), json!(d));
                    }
                    v
                })
                .collect();
            let link_values: Vec<Value> = links
                .iter()
                .map(|&i| analytics::graph_link(l, &l.lines()[i]))
                .collect();
            let members: Vec<NodeId> = found.iter().map(|&(n, _)| n).collect();
            let mut out = reference_graph(l, &members, Some(&found), &links, &eqs);
            out.insert("pid".into(), json!(pid.as_str()));
            out.insert("depth".into(), json!(depth));
            out.insert(
                "equivalent".into(),
                json!(code.as_ref().map(EquivalentCode::as_str)),
            );
            out.insert(
                "status".into(),
                json!(statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
            );
            out.insert("nodes".into(), Value::Array(nodes));
            out.insert("links".into(), Value::Array(link_values));
            Ok(out)
        })
        .await?;
    extras.add_to(&mut out);
    Ok(Json(Value::Object(out)))
}

/// The collections of the reference's graph snapshot that come from the ledger, for the given
/// participants (`depth` added to each when known) and trust lines (indices into
/// [`Ledger::lines`](crate::ledger::Ledger::lines)): `participants`, `trustlines`,
/// `equivalents` and `debts` (those between two of the participants).
fn reference_graph(
    l: &crate::ledger::Ledger,
    members: &[NodeId],
    depths: Option<&[(NodeId, usize)]>,
    lines: &[usize],
    eqs: &[crate::ledger::model::EqId],
) -> Map<String, Value> {
    let participants: Vec<Value> = members
        .iter()
        .map(|&n| {
            let mut v = views::participant(l.participant_at(n));
            if let (Value::Object(m), Some(d)) =
                (&mut v, depths.and_then(|ds| ds.iter().find(|(m, _)| *m == n)))
            {
                m.insert("depth".into(), json!(d.1));
            }
            v
        })
        .collect();
    let trustlines: Vec<Value> = lines
        .iter()
        .map(|&i| views::trust_line(l, &l.lines()[i]))
        .collect();
    let equivalents: Vec<Value> = eqs
        .iter()
        .map(|&eq| views::equivalent(l.equivalent_at(eq)))
        .collect();
    let only: std::collections::BTreeSet<NodeId> = members.iter().copied().collect();
    let mut out = Map::new();
    out.insert("participants".into(), Value::Array(participants));
    out.insert("trustlines".into(), Value::Array(trustlines));
    out.insert("equivalents".into(), Value::Array(equivalents));
    out.insert(
        "debts".into(),
        Value::Array(analytics::debts_json(l, eqs, Some(&only))),
    );
    out
}

/// Most audit entries and transactions a graph view includes when asked (`include=`).
const GRAPH_INCLUDE_LIMIT: i64 = 200;

/// What the graph views add from the store: stuck payments (`incidents`, always) and, when
/// `include` names them (comma-separated `audit_log`, `transactions`), the latest admin audit
/// entries and transactions.
struct GraphExtras {
    incidents: Vec<Value>,
    audit_log: Option<Vec<Value>>,
    transactions: Option<Vec<Value>>,
}

impl GraphExtras {
    async fn load(
        state: &AppState,
        include: Option<&str>,
        code: Option<&EquivalentCode>,
    ) -> ApiResult<GraphExtras> {
        let wanted: Vec<&str> = include
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for w in &wanted {
            if !["incidents", "audit_log", "transactions"].contains(w) {
                return Err(ApiError::validation(
                    "include may name incidents, audit_log and transactions",
                ));
            }
        }
        let equivalent = code.map(EquivalentCode::as_str);
        let now = state.engine().now();
        let sla = state.config().incident_sla;
        let incidents = stuck_payments(state, equivalent)
            .await?
            .iter()
            .map(|tx| incident_json(tx, now, sla))
            .collect();
        let audit_log = if wanted.contains(&"audit_log") {
            let filter = AdminAuditFilter {
                limit: GRAPH_INCLUDE_LIMIT,
                ..AdminAuditFilter::default()
            };
            let rows = state.engine().store().admin_audit_log(&filter).await?;
            Some(rows.iter().map(views::admin_action).collect())
        } else {
            None
        };
        let transactions = if wanted.contains(&"transactions") {
            let filter = TxFilter {
                equivalent: equivalent.map(str::to_owned),
                limit: GRAPH_INCLUDE_LIMIT,
                ..TxFilter::default()
            };
            let rows = state.engine().store().transactions(&filter).await?;
            Some(rows.iter().map(graph_transaction).collect())
        } else {
            None
        };
        Ok(GraphExtras {
            incidents,
            audit_log,
            transactions,
        })
    }

    /// Adds `incidents`, `audit_log`, `transactions` (empty when not asked for) and `included`.
    fn add_to(self, out: &mut Map<String, Value>) {
        let mut included = Vec::new();
        if self.audit_log.is_some() {
            included.push("audit_log");
        }
        if self.transactions.is_some() {
            included.push("transactions");
        }
        out.insert("incidents".into(), Value::Array(self.incidents));
        out.insert(
            "audit_log".into(),
            Value::Array(self.audit_log.unwrap_or_default()),
        );
        out.insert(
            "transactions".into(),
            Value::Array(self.transactions.unwrap_or_default()),
        );
        out.insert("included".into(), json!(included));
    }
}

/// A transaction of the graph views, named as the reference's clients read it.
fn graph_transaction(tx: &TxRecord) -> Value {
    let mut v = views::transaction(tx);
    if let Value::Object(m) = &mut v {
        m.insert(
            "initiator_pid".into(),
            json!(tx.initiator.as_ref().map(Pid::as_str)),
        );
        if let Some((from, to)) = tx.payload.parties() {
            m.insert("from".into(), json!(from.as_str()));
            m.insert("to".into(), json!(to.as_str()));
        }
    }
    v
}

/// Payments still PREPARED for longer than the incident SLA (`incident_sla` of the
/// configuration), oldest first; of one equivalent when given.
async fn stuck_payments(state: &AppState, equivalent: Option<&str>) -> ApiResult<Vec<TxRecord>> {
    let cutoff = state
        .engine()
        .now()
        .saturating_sub(i64::try_from(state.config().incident_sla.as_millis()).unwrap_or(i64::MAX));
    let filter = TxFilter {
        kind: Some(TxKind::Payment),
        state: Some(TxState::Prepared),
        equivalent: equivalent.map(str::to_owned),
        until: Some(cutoff),
        limit: i64::try_from(INCIDENT_SCAN).unwrap_or(i64::MAX),
        ..TxFilter::default()
    };
    let mut rows = state.engine().store().transactions(&filter).await?;
    rows.reverse();
    Ok(rows)
}

/// Most stuck payments read by `GET /admin/incidents` (a hub releases prepare locks at their
/// expiry, so more than a few is already an incident of its own).
const INCIDENT_SCAN: usize = 10_000;

/// An incident as the reference lists it: `{tx_id, state, initiator_pid, equivalent,
/// age_seconds, sla_seconds, created_at}`.
fn incident_json(tx: &TxRecord, now: i64, sla: std::time::Duration) -> Value {
    json!({
        "tx_id": tx.tx_id,
        "state": tx.state.as_str(),
        "initiator_pid": tx.initiator.as_ref().map_or("", |p| p.as_str()),
        "equivalent": tx.equivalent.as_ref().map_or("", EquivalentCode::as_str),
        "age_seconds": now.saturating_sub(tx.updated_at).max(0) / 1000,
        "sla_seconds": sla.as_secs(),
        "created_at": util::fmt_time(tx.created_at),
    })
}

#[derive(Debug, Deserialize)]
struct IncidentsQuery {
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /admin/incidents`: payments stuck in PREPARED beyond the SLA, oldest first, paged.
async fn incidents(
    State(state): State<AppState>,
    _a: Admin,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = paging(q.page, q.per_page, None, 20);
    let stuck = stuck_payments(&state, None).await?;
    let now = state.engine().now();
    let sla = state.config().incident_sla;
    let items: Vec<Value> = stuck
        .iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(20))
        .map(|tx| incident_json(tx, now, sla))
        .collect();
    Ok(Json(page_json(items, limit, offset, stuck.len())))
}
