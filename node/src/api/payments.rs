//! Payments, routing queries (capacity, max-flow), balances and clearing.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::Json;
use geo_protocol::{Amount, EquivalentCode, Pid};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};
use super::extract::{object, opt_str, req_str, signature, verify, ApiJson, ApiQuery, Identity};
use super::state::{default_limits, AppState};
use super::util::{check_amount_shape, fmt_atoms, fmt_time, paging, parse_code, parse_pid, parse_time};
use super::views;
use crate::ledger::integrity::hex;
use crate::ledger::model::{EqId, TxKind, TxState};
use crate::ledger::payments::PaymentRequest;
use crate::ledger::routing::{RouteLimits, Router};
use crate::ledger::{Ledger, LedgerError};
use crate::store::TxFilter;

/// True for a valid client `tx_id` (`^[A-Za-z0-9._:-]{1,64}$`).
pub fn valid_tx_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

fn small_int(obj: &Map<String, Value>, key: &str, max: u64) -> ApiResult<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (1..=max).contains(&n) => Ok(Some(usize::try_from(n).unwrap_or(1))),
            _ => Err(ApiError::validation(format!(
                "constraints.{key} must be an integer from 1 to {max}"
            ))),
        },
    }
}

struct Constraints {
    max_hops: Option<usize>,
    max_paths: Option<usize>,
    avoid: Vec<Pid>,
}

fn constraints(obj: &Map<String, Value>) -> ApiResult<Constraints> {
    let c = match obj.get("constraints") {
        None | Some(Value::Null) => {
            return Ok(Constraints {
                max_hops: None,
                max_paths: None,
                avoid: Vec::new(),
            })
        }
        Some(Value::Object(c)) => c,
        Some(_) => return Err(ApiError::validation("constraints must be an object")),
    };
    for key in c.keys() {
        if !["max_hops", "max_paths", "timeout_ms", "avoid"].contains(&key.as_str()) {
            return Err(ApiError::validation(format!("unknown constraint {key:?}")));
        }
    }
    small_int(c, "timeout_ms", 120_000)?;
    let avoid = match c.get("avoid") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.len() <= 256 => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| ApiError::validation("constraints.avoid must list PIDs"))
                    .and_then(|s| parse_pid(s, "constraints.avoid"))
            })
            .collect::<ApiResult<Vec<_>>>()?,
        Some(_) => {
            return Err(ApiError::validation(
                "constraints.avoid must be a list of at most 256 PIDs",
            ))
        }
    };
    Ok(Constraints {
        max_hops: small_int(c, "max_hops", 10)?,
        max_paths: small_int(c, "max_paths", 10)?,
        avoid,
    })
}

/// `POST /payments`: signed by the payer (the caller) over `{tx_id, to, equivalent, amount,
/// description?, constraints?}`. Answers 200 with the outcome (`COMMITTED` or `ABORTED`); the
/// same `tx_id` with the same body replays the recorded outcome, with another body is a 409.
pub async fn create(
    State(state): State<AppState>,
    id: Identity,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<Value>> {
    let started = Instant::now();
    let result = create_inner(&state, id, &body).await;
    state.metrics().payment_duration.observe(started.elapsed());
    if result.is_err() {
        state.metrics().payment_rejected();
    }
    result.map(Json)
}

async fn create_inner(state: &AppState, id: Identity, body: &Value) -> ApiResult<Value> {
    let obj = object(body)?;
    let tx_id = req_str(obj, "tx_id")?;
    if !valid_tx_id(tx_id) {
        return Err(ApiError::validation("tx_id must match ^[A-Za-z0-9._:-]{1,64}$"));
    }
    let to = parse_pid(req_str(obj, "to")?, "to")?;
    let equivalent = parse_code(req_str(obj, "equivalent")?, "equivalent")?;
    let amount = match obj.get("amount") {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return Err(ApiError::validation("amount is required")),
        Some(_) => return Err(ApiError::invalid_amount("amount must be a decimal string")),
    };
    check_amount_shape(amount)?;
    let description = opt_str(obj, "description")?;
    if description.is_some_and(|d| d.chars().count() > 1000) {
        return Err(ApiError::validation("description is longer than 1000 characters"));
    }
    let c = constraints(obj)?;
    let sig = signature(obj)?;
    let key = state.public_key(&id.pid).await?;
    verify(&key, body, sig)?;
    // The idempotency fingerprint covers the signed payload and the payer, so that one payer's
    // tx_id can never replay another payer's outcome.
    let mut signed = obj.clone();
    signed.remove("signature");
    signed.insert("from".into(), Value::String(id.pid.to_string()));
    let canonical = geo_protocol::canonical::to_canonical_bytes(&Value::Object(signed))
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let request_hash = hex(&Sha256::digest(&canonical));
    let mut max_paths = c.max_paths;
    if !state.flags().multipath_enabled {
        max_paths = Some(1);
    }
    let request = PaymentRequest {
        tx_id: tx_id.to_owned(),
        from: id.pid,
        to,
        equivalent,
        amount: amount.clone(),
        description: description.map(str::to_owned),
        max_hops: c.max_hops,
        max_paths,
        avoid: c.avoid,
        request_hash,
    };
    let outcome = state.service().pay(request).await?;
    Ok(views::payment(outcome.record()))
}

/// Query of payment listings.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    direction: Option<String>,
    equivalent: Option<String>,
    status: Option<String>,
    from_date: Option<String>,
    to_date: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /payments` and `GET /balance/history`: the caller's payments, newest first.
pub async fn list(
    State(state): State<AppState>,
    id: Identity,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Value>> {
    let outgoing = match q.direction.as_deref().unwrap_or("all") {
        "all" => None,
        "sent" | "outgoing" => Some(true),
        "received" | "incoming" => Some(false),
        _ => return Err(ApiError::validation("direction must be sent, received or all")),
    };
    let status = match q.status.as_deref().unwrap_or("all") {
        "all" => None,
        s => Some(
            TxState::parse(&s.to_ascii_uppercase())
                .filter(|s| *s != TxState::Prepared)
                .ok_or_else(|| ApiError::validation("status must be COMMITTED, ABORTED or all"))?,
        ),
    };
    let equivalent = q
        .equivalent
        .as_deref()
        .map(|c| parse_code(c, "equivalent"))
        .transpose()?;
    let date = |s: &Option<String>, field: &str| -> ApiResult<Option<i64>> {
        s.as_deref()
            .map(|t| {
                parse_time(t)
                    .ok_or_else(|| ApiError::validation(format!("{field} must be an RFC 3339 date-time")))
            })
            .transpose()
    };
    let (limit, offset) = paging(q.page, q.per_page, None, 20);
    let filter = TxFilter {
        participant: Some(id.pid.to_string()),
        outgoing,
        kind: Some(TxKind::Payment),
        state: status,
        equivalent: equivalent.map(|e| e.to_string()),
        since: date(&q.from_date, "from_date")?,
        until: date(&q.to_date, "to_date")?,
        limit,
        offset,
    };
    let rows = state.engine().store().transactions(&filter).await?;
    let items: Vec<Value> = rows.iter().map(views::payment).collect();
    Ok(Json(json!({ "items": items })))
}

/// `GET /payments/{tx_id}`: the recorded outcome, visible to payer and payee.
pub async fn get_one(
    State(state): State<AppState>,
    id: Identity,
    Path(tx_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let missing = || ApiError::not_found("TRANSACTION_NOT_FOUND", format!("unknown payment {tx_id}"));
    if !valid_tx_id(&tx_id) {
        return Err(missing());
    }
    let tx = state
        .engine()
        .store()
        .transaction(&tx_id)
        .await?
        .ok_or_else(missing)?;
    let me = id.pid.as_str();
    let party = tx
        .payload
        .payment()
        .is_some_and(|p| p.from.as_str() == me || p.to.as_str() == me);
    if tx.kind != TxKind::Payment || !party {
        return Err(missing());
    }
    Ok(Json(views::payment(&tx)))
}

/// Query of capacity and max-flow.
#[derive(Debug, Deserialize)]
pub struct RouteQuery {
    to: Option<String>,
    equivalent: Option<String>,
    amount: Option<String>,
}

struct Endpoints {
    eq: EqId,
    from: u32,
    to: u32,
    limits: RouteLimits,
}

fn endpoints(
    l: &Ledger,
    me: &Pid,
    to: &Pid,
    code: &EquivalentCode,
    flags: super::FeatureFlags,
) -> Result<Endpoints, LedgerError> {
    let eq = l.active_eq(code)?;
    let from = l.active_node(me)?;
    let to = l.active_node(to)?;
    if from == to {
        return Err(LedgerError::SameParticipant);
    }
    Ok(Endpoints {
        eq,
        from,
        to,
        limits: default_limits(l, flags),
    })
}

fn route_params(q: &RouteQuery) -> ApiResult<(Pid, EquivalentCode)> {
    let to =
        q.to.as_deref()
            .ok_or_else(|| ApiError::validation("to is required"))?;
    let code = q
        .equivalent
        .as_deref()
        .ok_or_else(|| ApiError::validation("equivalent is required"))?;
    Ok((parse_pid(to, "to")?, parse_code(code, "equivalent")?))
}

/// `GET /payments/capacity`: can the caller pay `amount` to `to` now?
pub async fn capacity(
    State(state): State<AppState>,
    id: Identity,
    ApiQuery(q): ApiQuery<RouteQuery>,
) -> ApiResult<Json<Value>> {
    let (to, code) = route_params(&q)?;
    let amount = q
        .amount
        .as_deref()
        .ok_or_else(|| ApiError::validation("amount is required"))?;
    check_amount_shape(amount)?;
    let flags = state.flags();
    let started = Instant::now();
    let out = state
        .engine()
        .route(|l: &Ledger, router: &mut Router| -> Result<Value, LedgerError> {
            let e = endpoints(l, &id.pid, &to, &code, flags)?;
            let precision = l.equivalent_at(e.eq).precision;
            let atoms = Amount::parse_positive(amount, precision)?.atoms();
            let graph = &l.book(e.eq).graph;
            let plan = router.max_flow(graph, e.from, e.to, &e.limits);
            let routes = router.route(graph, e.from, e.to, atoms, &e.limits).ok();
            Ok(json!({
                "can_pay": routes.is_some(),
                "max_amount": fmt_atoms(plan.total, precision),
                "routes_count": routes.as_ref().map_or(0, Vec::len),
                "estimated_hops": routes.as_ref().and_then(|r| r.iter().map(|r| r.hops()).max()).unwrap_or(0),
            }))
        })
        .await;
    state.metrics().routing_duration.observe(started.elapsed());
    Ok(Json(out?))
}

/// `GET /payments/max-flow`: the most the caller can pay `to` now, as concrete paths. A
/// promise: paying exactly `max_amount` on the same state commits.
pub async fn max_flow(
    State(state): State<AppState>,
    id: Identity,
    ApiQuery(q): ApiQuery<RouteQuery>,
) -> ApiResult<Json<Value>> {
    let (to, code) = route_params(&q)?;
    let flags = state.flags();
    let now = state.engine().now();
    let started = Instant::now();
    let out = state
        .engine()
        .route(|l: &Ledger, router: &mut Router| -> Result<Value, LedgerError> {
            let e = endpoints(l, &id.pid, &to, &code, flags)?;
            let precision = l.equivalent_at(e.eq).precision;
            let graph = &l.book(e.eq).graph;
            let plan = router.max_flow(graph, e.from, e.to, &e.limits);
            let mut bottlenecks = Vec::new();
            let paths: Vec<Value> = plan
                .routes
                .iter()
                .map(|r| {
                    let narrowest = r
                        .path
                        .windows(2)
                        .map(|h| (h[0], h[1], graph.hop_capacity(h[0], h[1], e.from, e.to)))
                        .min_by_key(|h| h.2);
                    if let Some((u, v, cap)) = narrowest {
                        let limit = graph
                            .find(u, v)
                            .and_then(|p| graph.pair(p).line_from(v).map(|s| s.limit))
                            .unwrap_or(0);
                        bottlenecks.push(json!({
                            "from": l.pid(u).as_str(),
                            "to": l.pid(v).as_str(),
                            "limit": fmt_atoms(limit, precision),
                            "used": fmt_atoms(graph.debt(u, v), precision),
                            "available": fmt_atoms(cap, precision),
                        }));
                    }
                    json!({
                        "path": r.path.iter().map(|n| l.pid(*n).as_str()).collect::<Vec<_>>(),
                        "capacity": fmt_atoms(r.amount, precision),
                    })
                })
                .collect();
            Ok(json!({
                "max_amount": fmt_atoms(plan.total, precision),
                "paths": paths,
                "bottlenecks": bottlenecks,
                "algorithm": "widest-paths+dinic (hop- and path-limited)",
                "max_hops": e.limits.max_hops,
                "max_paths": e.limits.max_paths,
                "computed_at": fmt_time(now),
            }))
        })
        .await;
    state.metrics().routing_duration.observe(started.elapsed());
    Ok(Json(out?))
}

/// `GET /balance`: per equivalent, the caller's debts, credits and direct capacities.
pub async fn balance(State(state): State<AppState>, id: Identity) -> ApiResult<Json<Value>> {
    let out = state
        .engine()
        .read(|l| {
            let me = l.node(&id.pid).ok()?;
            let items: Vec<Value> = l
                .equivalents()
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let eq = EqId::try_from(i).ok()?;
                    let p = views::position(l, eq, me);
                    let pr = e.precision;
                    Some(json!({
                        "code": e.code.as_str(),
                        "total_debt": fmt_atoms(p.debt, pr),
                        "total_credit": fmt_atoms(p.credit, pr),
                        "net_balance": fmt_atoms(p.credit - p.debt, pr),
                        "available_to_spend": fmt_atoms(p.spend, pr),
                        "available_to_receive": fmt_atoms(p.receive, pr),
                    }))
                })
                .collect();
            Some(json!({ "equivalents": items }))
        })
        .await;
    out.map(Json)
        .ok_or_else(|| ApiError::not_found("PARTICIPANT_NOT_FOUND", "the caller is not registered"))
}

/// Query of `GET /balance/debts`.
#[derive(Debug, Deserialize)]
pub struct DebtsQuery {
    equivalent: Option<String>,
    direction: Option<String>,
}

/// `GET /balance/debts`: whom the caller owes (`outgoing`) and who owes the caller (`incoming`).
pub async fn debts(
    State(state): State<AppState>,
    id: Identity,
    ApiQuery(q): ApiQuery<DebtsQuery>,
) -> ApiResult<Json<Value>> {
    let code = q
        .equivalent
        .as_deref()
        .ok_or_else(|| ApiError::validation("equivalent is required"))?;
    let code = parse_code(code, "equivalent")?;
    let (want_out, want_in) = match q.direction.as_deref().unwrap_or("all") {
        "all" => (true, true),
        "outgoing" => (true, false),
        "incoming" => (false, true),
        _ => {
            return Err(ApiError::validation(
                "direction must be outgoing, incoming or all",
            ))
        }
    };
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let eq = l.eq_id(&code)?;
            let me = l.node(&id.pid)?;
            let pr = l.equivalent_at(eq).precision;
            let graph = &l.book(eq).graph;
            let (mut outgoing, mut incoming) = (Vec::new(), Vec::new());
            for &(nb, pid) in graph.neighbors(me) {
                let pair = graph.pair(pid);
                let other = l.participant_at(nb);
                let owe = pair.debt_of(me);
                if want_out && owe > 0 {
                    outgoing.push(
                        json!({ "creditor": other.pid.as_str(), "creditor_name": other.display_name,
                        "equivalent": code.as_str(), "amount": fmt_atoms(owe, pr) }),
                    );
                }
                let owed = pair.debt_of(nb);
                if want_in && owed > 0 {
                    incoming.push(
                        json!({ "debtor": other.pid.as_str(), "debtor_name": other.display_name,
                        "equivalent": code.as_str(), "amount": fmt_atoms(owed, pr) }),
                    );
                }
            }
            Ok(json!({ "outgoing": outgoing, "incoming": incoming }))
        })
        .await?;
    Ok(Json(out))
}

/// Query of clearing endpoints.
#[derive(Debug, Deserialize)]
pub struct ClearingQuery {
    equivalent: Option<String>,
    max_depth: Option<i64>,
}

fn clearing_params(q: &ClearingQuery) -> ApiResult<(EquivalentCode, usize)> {
    let code = q
        .equivalent
        .as_deref()
        .ok_or_else(|| ApiError::validation("equivalent is required"))?;
    let depth = q.max_depth.unwrap_or(6);
    if !(3..=10).contains(&depth) {
        return Err(ApiError::validation("max_depth must be from 3 to 10"));
    }
    // The ledger searches cycles of at most 6 participants.
    Ok((
        parse_code(code, "equivalent")?,
        usize::try_from(depth.min(6)).unwrap_or(6),
    ))
}

/// `GET /clearing/cycles`: clearable debt cycles of an equivalent (at most 100).
pub async fn cycles(
    State(state): State<AppState>,
    _id: Identity,
    ApiQuery(q): ApiQuery<ClearingQuery>,
) -> ApiResult<Json<Value>> {
    let (code, depth) = clearing_params(&q)?;
    let out = state
        .engine()
        .read(|l| -> Result<Value, LedgerError> {
            let eq = l.eq_id(&code)?;
            let cycles: Vec<Value> = l
                .list_cycles(eq, depth, 100)
                .iter()
                .map(|c| Value::Array(super::analytics::cycle_edges(l, eq, c)))
                .collect();
            Ok(json!({ "equivalent": code.as_str(), "cycles": cycles }))
        })
        .await?;
    Ok(Json(out))
}

/// `POST /clearing/auto`: clears short cycles, then runs the optimal set-off.
pub async fn auto_clear(
    State(state): State<AppState>,
    _id: Identity,
    ApiQuery(q): ApiQuery<ClearingQuery>,
) -> ApiResult<Json<Value>> {
    let (code, depth) = clearing_params(&q)?;
    if !state.flags().clearing_enabled {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "FEATURE_DISABLED",
            "clearing is disabled",
        ));
    }
    let short = state.service().clear_short(code.clone(), depth).await?;
    let optimal = state.service().clear_optimal(code.clone()).await?;
    let precision = state
        .engine()
        .read(|l| l.equivalent(&code).map(|e| e.precision))
        .await
        .unwrap_or(geo_protocol::Precision::MAX);
    let mut tx_ids = short.tx_ids.clone();
    tx_ids.extend(optimal.tx_ids.iter().cloned());
    Ok(Json(json!({
        "equivalent": code.as_str(),
        "cleared_cycles": short.reductions + usize::from(optimal.reductions > 0),
        "cleared_amount": fmt_atoms(short.cleared + optimal.cleared, precision),
        "short_cycles": { "cycles": short.reductions, "cleared": fmt_atoms(short.cleared, precision) },
        "optimal": { "edges_reduced": optimal.reductions, "cleared": fmt_atoms(optimal.cleared, precision) },
        "tx_ids": tx_ids,
    })))
}
