//! Integrity: invariant status, state checksums, on-demand verification and the audit log.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::ApiResult;
use super::extract::{ApiJson, ApiQuery, Identity, ParticipantOrAdmin};
use super::state::AppState;
use super::util::{fmt_time, paging, parse_code};
use super::views;
use crate::ledger::integrity::InvariantReport;
use crate::ledger::model::EqId;
use crate::ledger::snapshot::Checkpoint;
use crate::store::AuditFilter;

fn atoms(a: i128) -> String {
    geo_protocol::Amount::from_atoms(a)
        .map(|a| a.to_string())
        .unwrap_or_else(|_| a.to_string())
}

fn equivalent_status(report: &InvariantReport, checksum: &str, last: Option<&Checkpoint>) -> Value {
    json!({
        "status": if report.passed() { "healthy" } else { "critical" },
        "checksum": checksum,
        "last_verified": last.map(|c| fmt_time(c.at)),
        "invariants": {
            "zero_sum": { "passed": report.zero_sum == 0, "value": atoms(report.zero_sum) },
            "trust_limits": { "passed": report.limit_violations.is_empty(), "violations": report.limit_violations.len() },
            "debt_symmetry": { "passed": true, "violations": 0 },
            "reservations": { "passed": report.reservation_violations == 0, "violations": report.reservation_violations },
        },
    })
}

fn summary(per_eq: Map<String, Value>, alerts: Vec<String>, at_key: &str, at: i64) -> Value {
    let status = if alerts.is_empty() { "healthy" } else { "critical" };
    let mut out = json!({ "status": status, "equivalents": per_eq, "alerts": alerts });
    if let Value::Object(m) = &mut out {
        m.insert(at_key.into(), Value::String(fmt_time(at)));
    }
    out
}

async fn checkpoints(state: &AppState) -> HashMap<String, Checkpoint> {
    match state.engine().store().latest_checkpoints().await {
        Ok(cps) => cps.into_iter().map(|c| (c.equivalent.to_string(), c)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read checkpoints");
            HashMap::new()
        }
    }
}

/// `GET /integrity/status`: the invariants of every equivalent, checked on the current state.
/// A participant's bearer token or the admin token.
pub async fn status(State(state): State<AppState>, _id: ParticipantOrAdmin) -> Json<Value> {
    let cps = checkpoints(&state).await;
    let reports = state
        .engine()
        .read(|l| {
            l.equivalents()
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let eq = EqId::try_from(i).ok()?;
                    Some((e.code.to_string(), l.check(eq), l.full_checksum(eq)))
                })
                .collect::<Vec<_>>()
        })
        .await;
    let mut per_eq = Map::new();
    let mut alerts = Vec::new();
    for (code, report, checksum) in reports {
        if !report.passed() {
            alerts.push(format!("{code}: invariant violated"));
        }
        per_eq.insert(
            code.clone(),
            equivalent_status(&report, &checksum, cps.get(&code)),
        );
    }
    Json(summary(per_eq, alerts, "last_check", state.engine().now()))
}

/// `GET /integrity/checksum/{equivalent}`: the checksum of the current state (spec 11.3.1),
/// with the latest stored checkpoint for comparison.
pub async fn checksum(
    State(state): State<AppState>,
    _id: Identity,
    Path(code): Path<String>,
) -> ApiResult<Json<Value>> {
    let code = parse_code(&code, "equivalent")?;
    let cps = checkpoints(&state).await;
    let now = state.engine().now();
    let (checksum, digest, report) = state
        .engine()
        .read(|l| {
            let eq = l.eq_id(&code)?;
            Ok::<_, crate::ledger::LedgerError>((l.full_checksum(eq), l.digest_hex(eq), l.check(eq)))
        })
        .await?;
    let last = cps.get(code.as_str()).map(|c| {
        json!({ "checksum": c.checksum, "created_at": fmt_time(c.at), "passed": c.passed, "invariants": c.invariants })
    });
    Ok(Json(json!({
        "equivalent": code.as_str(),
        "checksum": checksum,
        "digest": digest,
        "created_at": fmt_time(now),
        "invariants_status": report.to_json(),
        "passed": report.passed(),
        "last_checkpoint": last,
    })))
}

/// Body of `POST /integrity/verify`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    equivalent: Option<String>,
}

/// `POST /integrity/verify`: runs every invariant check in the writer and writes checkpoints.
/// A participant's bearer token or the admin token (an administrator's verification is recorded
/// in the admin audit log).
pub async fn verify(
    State(state): State<AppState>,
    caller: ParticipantOrAdmin,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> ApiResult<Json<Value>> {
    let only = req
        .equivalent
        .as_deref()
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    if let Some(code) = &only {
        state.engine().read(|l| l.eq_id(code).map(|_| ())).await?;
    }
    let reports = match caller {
        ParticipantOrAdmin::Admin => {
            let admin = state.admin_action("admin.integrity.verify", None);
            state.service().verify_as_admin(admin).await?
        }
        _ => state.service().verify().await?,
    };
    let checksums = state
        .engine()
        .read(|l| {
            reports
                .iter()
                .map(|(code, _)| l.eq_id(code).map(|eq| l.full_checksum(eq)).unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .await;
    let cps = checkpoints(&state).await;
    let mut per_eq = Map::new();
    let mut alerts = Vec::new();
    for ((code, report), checksum) in reports.iter().zip(checksums) {
        if only.as_ref().is_some_and(|o| o != code) {
            continue;
        }
        if !report.passed() {
            alerts.push(format!("{code}: invariant violated"));
        }
        per_eq.insert(
            code.to_string(),
            equivalent_status(report, &checksum, cps.get(code.as_str())),
        );
    }
    let out = summary(per_eq, alerts, "checked_at", state.engine().now());
    Ok(Json(out))
}

/// Query of `GET /integrity/audit-log`.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    equivalent: Option<String>,
    tx_id: Option<String>,
    failures_only: Option<bool>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// Audit records as JSON items (shared with the admin API).
pub async fn audit_items(state: &AppState, q: &AuditQuery) -> ApiResult<Vec<Value>> {
    let (limit, offset) = paging(q.page, q.per_page, None, 20);
    let filter = AuditFilter {
        equivalent: q
            .equivalent
            .as_deref()
            .map(|c| parse_code(c, "equivalent"))
            .transpose()?
            .map(|c| c.to_string()),
        tx_id: q.tx_id.clone(),
        failures_only: q.failures_only.unwrap_or(false),
        limit,
        offset,
    };
    let rows = state.engine().store().audit_log(&filter).await?;
    Ok(rows.iter().map(views::audit).collect())
}

/// `GET /integrity/audit-log`: checksum before/after and invariant results of each operation.
pub async fn audit_log(
    State(state): State<AppState>,
    _id: Identity,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "items": audit_items(&state, &q).await? })))
}
