//! The answers the reference hub's admin web UI relies on. That UI (repository
//! `slawa19/GEOv0`, `admin-ui/src/api/`) checks every admin response against a schema before it
//! shows anything; a mismatch blanks the page. The schemas are transcribed below as test data,
//! field by field, in our own notation: each endpoint the UI calls is called here on a real hub
//! (port 0) holding a small populated graph, as the UI calls it (admin token, same query), and
//! its answer is checked against the shape.
//!
//! Where two versions of the UI differ, the shape takes the stricter reading that both accept
//! (e.g. `total_limit` null only without an equivalent, which the newer UI allows).

mod api_support;

use api_support::{join, pay, trust, Hub, Resp, ADMIN};
use serde_json::{json, Value};

/// A JSON shape.
#[derive(Debug)]
enum Ty {
    /// Any value.
    Any,
    /// A string.
    Str,
    /// A decimal string (money: never a JSON number).
    Dec,
    /// An RFC 3339 time with an offset or `Z`.
    Time,
    /// A UUID string.
    Uuid,
    /// A number.
    Num,
    /// An integer >= the bound.
    Int(i64),
    /// A boolean.
    Bool,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// `null` or the inner shape.
    Null(&'static Ty),
    /// An array of the inner shape.
    Arr(&'static Ty),
    /// An object whose every value has the inner shape.
    Map(&'static Ty),
    /// An object with these fields; `closed`: no other field allowed.
    Obj { fields: &'static [F], closed: bool },
}

/// A field: name, shape, required.
#[derive(Debug)]
struct F(&'static str, Ty, bool);

use Ty::*;

const fn open(fields: &'static [F]) -> Ty {
    Obj {
        fields,
        closed: false,
    }
}
const fn closed(fields: &'static [F]) -> Ty {
    Obj { fields, closed: true }
}

// ---- The UI's schemas, transcribed ---------------------------------------------------------

const PARTICIPANT: Ty = open(&[
    F("pid", Str, true),
    F("display_name", Str, true),
    F("type", Str, true),
    F("status", Str, true),
    F("created_at", Str, false),
    F("meta", Map(&Any), false),
]);

const TRUSTLINE: Ty = open(&[
    F("equivalent", Str, true),
    F("from", Str, true),
    F("to", Str, true),
    F("from_display_name", Null(&Str), false),
    F("to_display_name", Null(&Str), false),
    F("limit", Dec, true),
    F("used", Dec, true),
    F("available", Dec, true),
    F("status", Str, true),
    F("created_at", Str, true),
    F("policy", Null(&Map(&Any)), false),
]);

const INCIDENT: Ty = open(&[
    F("tx_id", Str, true),
    F("state", Str, true),
    F("initiator_pid", Str, true),
    F("equivalent", Str, true),
    F("age_seconds", Num, true),
    F("sla_seconds", Num, true),
    F("created_at", Str, false),
]);

const EQUIVALENT: Ty = open(&[
    F("code", Str, true),
    F("precision", Num, true),
    F("description", Null(&Str), false),
    F("is_active", Bool, true),
]);

const DEBT: Ty = open(&[
    F("equivalent", Str, true),
    F("debtor", Str, true),
    F("creditor", Str, true),
    F("amount", Dec, true),
]);

/// The strict audit entry of the UI's admin contracts (no other field allowed).
const AUDIT_ENTRY: Ty = closed(&[
    F("id", Uuid, true),
    F("timestamp", Time, true),
    F("actor_id", Null(&Uuid), false),
    F("actor_role", Null(&Str), false),
    F("action", Str, true),
    F("object_type", Null(&Str), false),
    F("object_id", Null(&Str), false),
    F("reason", Null(&Str), false),
    F("before_state", Null(&Map(&Any)), false),
    F("after_state", Null(&Map(&Any)), false),
    F("request_id", Null(&Str), false),
    F("ip_address", Null(&Str), false),
    F("user_agent", Null(&Str), false),
]);

const TRANSACTION: Ty = open(&[
    F("tx_id", Str, true),
    F("type", Str, true),
    F("state", Str, true),
    F("initiator_pid", Null(&Str), true),
    F("payload", Map(&Any), true),
    F("created_at", Str, true),
    F("updated_at", Str, true),
    F("equivalent", Null(&Str), false),
    F("error", Null(&Map(&Any)), false),
]);

const GRAPH: Ty = open(&[
    F("participants", Arr(&PARTICIPANT), true),
    F("trustlines", Arr(&TRUSTLINE), true),
    F("incidents", Arr(&INCIDENT), true),
    F("equivalents", Arr(&EQUIVALENT), true),
    F("debts", Arr(&DEBT), true),
    F("audit_log", Arr(&AUDIT_ENTRY), true),
    F("transactions", Arr(&TRANSACTION), true),
    F("included", Arr(&OneOf(&["audit_log", "transactions"])), false),
]);

const CYCLE_EDGE: Ty = open(&[
    F("equivalent", Str, true),
    F("debtor", Str, true),
    F("creditor", Str, true),
    F("amount", Dec, true),
]);

const CYCLES: Ty = open(&[F(
    "equivalents",
    Map(&open(&[F("cycles", Arr(&Arr(&CYCLE_EDGE)), true)])),
    true,
)]);

const BALANCE_ROW: Ty = open(&[
    F("equivalent", Str, true),
    F("outgoing_limit", Dec, true),
    F("outgoing_used", Dec, true),
    F("incoming_limit", Dec, true),
    F("incoming_used", Dec, true),
    F("total_debt", Dec, true),
    F("total_credit", Dec, true),
    F("net", Dec, true),
]);

const METRICS: Ty = open(&[
    F("pid", Str, true),
    F("equivalent", Null(&Str), true),
    F("balance_rows", Arr(&BALANCE_ROW), true),
]);

const STATS: Ty = open(&[
    F("participants_by_status", Map(&Num), true),
    F("participants_by_type", Map(&Num), true),
    F("total_participants", Num, true),
]);

const BOTTLENECKS: Ty = open(&[F("threshold", Num, true), F("items", Arr(&TRUSTLINE), true)]);

const NET_ROW: Ty = open(&[
    F("pid", Str, true),
    F("display_name", Str, true),
    F("net", Dec, true),
]);

/// The liquidity summary of one equivalent: money present.
const LIQUIDITY: Ty = open(&[
    F("equivalent", Null(&Str), true),
    F("threshold", Num, true),
    F("updated_at", Str, true),
    F("active_trustlines", Num, true),
    F("bottlenecks", Num, true),
    F("incidents_over_sla", Num, true),
    F("total_limit", Dec, true),
    F("total_used", Dec, true),
    F("total_available", Dec, true),
    F("top_creditors", Arr(&NET_ROW), true),
    F("top_debtors", Arr(&NET_ROW), true),
    F("top_by_abs_net", Arr(&NET_ROW), true),
    F("top_bottleneck_edges", Arr(&TRUSTLINE), true),
]);

/// The liquidity summary without an equivalent: no money summed over different units.
const LIQUIDITY_ALL: Ty = open(&[
    F("equivalent", Null(&Str), true),
    F("threshold", Num, true),
    F("updated_at", Str, true),
    F("active_trustlines", Num, true),
    F("bottlenecks", Num, true),
    F("incidents_over_sla", Num, true),
    F("total_limit", Null(&Dec), true),
    F("total_used", Null(&Dec), true),
    F("total_available", Null(&Dec), true),
    F("top_creditors", Arr(&NET_ROW), true),
    F("top_debtors", Arr(&NET_ROW), true),
    F("top_by_abs_net", Arr(&NET_ROW), true),
    F("top_bottleneck_edges", Arr(&TRUSTLINE), true),
]);

const CONFIG_ITEMS: Ty = open(&[F(
    "items",
    Arr(&open(&[
        F("key", Str, true),
        F("value", Any, true),
        F("mutable", Bool, true),
    ])),
    true,
)]);

/// The configuration as the UI flattens `items` (`key: value`): exactly these keys.
const CONFIG_FLAT: Ty = closed(&[
    F("LOG_LEVEL", Str, true),
    F("RATE_LIMIT_ENABLED", Bool, true),
    F("ROUTING_MAX_HOPS", Int(i64::MIN), true),
    F("ROUTING_MAX_PATHS", Int(i64::MIN), true),
    F("INTEGRITY_CHECKPOINT_ENABLED", Bool, true),
    F("INTEGRITY_CHECKPOINT_INTERVAL_SECONDS", Int(i64::MIN), true),
    F("RECOVERY_ENABLED", Bool, true),
    F("RECOVERY_INTERVAL_SECONDS", Int(i64::MIN), true),
    F("PAYMENT_TX_STUCK_TIMEOUT_SECONDS", Int(i64::MIN), true),
    F("FEATURE_FLAGS_MULTIPATH_ENABLED", Bool, true),
    F("FEATURE_FLAGS_FULL_MULTIPATH_ENABLED", Bool, true),
    F("CLEARING_ENABLED", Bool, true),
]);

const CONFIG_KEYS: [&str; 12] = [
    "LOG_LEVEL",
    "RATE_LIMIT_ENABLED",
    "ROUTING_MAX_HOPS",
    "ROUTING_MAX_PATHS",
    "INTEGRITY_CHECKPOINT_ENABLED",
    "INTEGRITY_CHECKPOINT_INTERVAL_SECONDS",
    "RECOVERY_ENABLED",
    "RECOVERY_INTERVAL_SECONDS",
    "PAYMENT_TX_STUCK_TIMEOUT_SECONDS",
    "FEATURE_FLAGS_MULTIPATH_ENABLED",
    "FEATURE_FLAGS_FULL_MULTIPATH_ENABLED",
    "CLEARING_ENABLED",
];

const CONFIG_PATCHED: Ty = open(&[F("updated", Arr(&OneOf(&CONFIG_KEYS)), true)]);

const FLAGS: Ty = closed(&[
    F("multipath_enabled", Bool, true),
    F("full_multipath_enabled", Bool, true),
    F("clearing_enabled", Bool, true),
]);

const PARTICIPANT_ACTION: Ty = closed(&[
    F("pid", Str, true),
    F("status", OneOf(&["active", "suspended"]), true),
]);

const INTEGRITY_LEVEL: Ty = OneOf(&["healthy", "warning", "critical"]);

const INVARIANT: Ty = closed(&[
    F("passed", Bool, true),
    F("value", Null(&Str), false),
    F("violations", Null(&Int(i64::MIN)), false),
    F("details", Null(&Map(&Any)), false),
]);

const EQ_INTEGRITY: Ty = closed(&[
    F("status", INTEGRITY_LEVEL, true),
    F("checksum", Str, true),
    F("last_verified", Null(&Time), false),
    F("invariants", Map(&INVARIANT), true),
    F("unverified", Arr(&Str), false),
]);

const INTEGRITY_STATUS: Ty = closed(&[
    F("status", INTEGRITY_LEVEL, true),
    F("last_check", Time, true),
    F("equivalents", Map(&EQ_INTEGRITY), true),
    F("alerts", Arr(&Str), true),
]);

const INTEGRITY_VERIFY: Ty = closed(&[
    F("status", INTEGRITY_LEVEL, true),
    F("checked_at", Time, true),
    F("equivalents", Map(&EQ_INTEGRITY), true),
    F("alerts", Arr(&Str), true),
]);

const EQUIVALENT_WIRE: Ty = open(&[
    F("code", Str, true),
    F("symbol", Null(&Str), false),
    F("precision", Int(0), true),
    F("description", Null(&Str), false),
    F("metadata", Null(&Map(&Any)), false),
    F("is_active", Bool, true),
    F("created_at", Time, true),
    F("updated_at", Time, true),
]);

const EQUIVALENT_USAGE: Ty = closed(&[
    F("code", Str, true),
    F("trustlines", Int(0), true),
    F("debts", Int(0), true),
    F("integrity_checkpoints", Int(0), true),
]);

const EQUIVALENT_DELETED: Ty = closed(&[F("deleted", Str, true)]);

const HEALTH_DB: Ty = open(&[
    F("status", OneOf(&["ok"]), true),
    F(
        "db",
        open(&[F("reachable", Bool, true), F("latency_ms", Null(&Int(0)), true)]),
        true,
    ),
]);

/// A page of a list: `{items, page >= 1, per_page 1-200, total >= 0}`.
fn page_of(items: &'static Ty) -> Ty {
    open(Box::leak(Box::new([
        F("items", Arr(items), true),
        F("page", Int(1), true),
        F("per_page", Int(1), true),
        F("total", Int(0), true),
    ])))
}

// ---- The checker -------------------------------------------------------------------------------

/// Every way `v` differs from `ty`, as `path: problem`.
fn check(ty: &Ty, v: &Value, path: &str, out: &mut Vec<String>) {
    let mut bad = |what: &str| out.push(format!("{path}: expected {what}, got {v}"));
    match ty {
        Any => {}
        Str => {
            if !v.is_string() {
                bad("a string");
            }
        }
        Dec => match v.as_str() {
            Some(s) if is_decimal(s) => {}
            _ => bad("a decimal string"),
        },
        Time => match v.as_str() {
            Some(s) if is_time(s) => {}
            _ => bad("an RFC 3339 time"),
        },
        Uuid => match v.as_str() {
            Some(s) if uuid::Uuid::parse_str(s).is_ok() => {}
            _ => bad("a UUID"),
        },
        Num => {
            if !v.is_number() {
                bad("a number");
            }
        }
        Int(min) => match v.as_i64() {
            Some(n) if n >= *min => {}
            _ => bad(&format!("an integer >= {min}")),
        },
        Bool => {
            if !v.is_boolean() {
                bad("a boolean");
            }
        }
        OneOf(set) => match v.as_str() {
            Some(s) if set.contains(&s) => {}
            _ => bad(&format!("one of {set:?}")),
        },
        Null(inner) => {
            if !v.is_null() {
                check(inner, v, path, out);
            }
        }
        Arr(inner) => match v.as_array() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    check(inner, item, &format!("{path}[{i}]"), out);
                }
            }
            None => bad("an array"),
        },
        Map(inner) => match v.as_object() {
            Some(m) => {
                for (k, item) in m {
                    check(inner, item, &format!("{path}.{k}"), out);
                }
            }
            None => bad("an object"),
        },
        Obj { fields, closed } => match v.as_object() {
            Some(m) => {
                for F(name, ty, required) in fields.iter() {
                    match m.get(*name) {
                        Some(item) => check(ty, item, &format!("{path}.{name}"), out),
                        None if *required => out.push(format!("{path}.{name}: missing")),
                        None => {}
                    }
                }
                if *closed {
                    for k in m.keys() {
                        if !fields.iter().any(|f| f.0 == k) {
                            out.push(format!("{path}.{k}: not allowed"));
                        }
                    }
                }
            }
            None => bad("an object"),
        },
    }
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && (s.ends_with('Z') || s[19..].contains('+') || s[19..].contains('-'))
}

/// Asserts `v` has the shape `ty`.
#[track_caller]
fn assert_shape(what: &str, ty: &Ty, v: &Value) {
    let mut problems = Vec::new();
    check(ty, v, "$", &mut problems);
    assert!(
        problems.is_empty(),
        "{what} does not match the reference UI's schema:\n  {}\nanswer: {v}",
        problems.join("\n  ")
    );
}

// ---- The hub as the UI sees it --------------------------------------------------------------------

async fn admin(hub: &Hub, method: &str, path: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Resp {
    let mut headers = vec![("x-admin-token", ADMIN)];
    headers.extend_from_slice(extra);
    let bytes = body.map(|b| b.to_string().into_bytes());
    let r = hub.raw(method, path, None, bytes, &headers).await;
    assert_eq!(r.status, 200, "{method} {path}: {}", r.text);
    r
}

async fn get(hub: &Hub, path: &str) -> Value {
    admin(hub, "GET", path, None, &[]).await.body
}

/// A checker that the checker itself refuses what the UI would refuse.
#[test]
fn the_checker_refuses_what_the_ui_refuses() {
    let mut p = Vec::new();
    check(&STATS, &json!({ "total": 3 }), "$", &mut p);
    assert_eq!(p.len(), 3, "{p:?}");
    p.clear();
    check(
        &BOTTLENECKS,
        &json!({ "threshold": "0.1", "items": [] }),
        "$",
        &mut p,
    );
    assert_eq!(p.len(), 1, "{p:?}");
    p.clear();
    check(
        &AUDIT_ENTRY,
        &json!({ "id": uuid::Uuid::new_v4().to_string(), "timestamp": "2024-05-01T12:00:00.123Z", "action": "x", "extra": 1 }),
        "$",
        &mut p,
    );
    assert_eq!(p, vec!["$.extra: not allowed".to_owned()]);
    p.clear();
    check(
        &DEBT,
        &json!({ "equivalent": "UAH", "debtor": "a", "creditor": "b", "amount": 1.5 }),
        "$",
        &mut p,
    );
    assert_eq!(p.len(), 1, "money as a number is refused: {p:?}");
}

/// Every endpoint of the reference admin UI's eleven pages, called as the UI calls it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_reference_ui_reads_our_answers() {
    let hub = Hub::memory().await;
    // alice, bob, carol: bob trusts alice, carol trusts bob, alice trusts carol (UAH); alice
    // pays carol through bob; one HOUR line.
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let carol = join(&hub, "carol").await;
    trust(&hub, &bob, &alice, "UAH", "100").await;
    trust(&hub, &carol, &bob, "UAH", "50").await;
    trust(&hub, &alice, &carol, "UAH", "80").await;
    trust(&hub, &alice, &bob, "HOUR", "10").await;
    let r = pay(&hub, &alice, &carol, "UAH", "46").await;
    assert_eq!(r.body["status"], "COMMITTED", "{}", r.text);
    let a = alice.pid.as_str().to_owned();

    // Dashboard.
    let health = hub.call("GET", "/api/v1/health", None, None).await;
    assert_eq!(health.status, 200);
    assert!(health.body.is_object());
    let db = hub.call("GET", "/api/v1/health/db", None, None).await;
    assert_eq!(db.status, 200);
    assert_shape("GET /health/db", &HEALTH_DB, &db.body);
    assert_eq!(db.body["db"]["reachable"], true);
    let m = get(&hub, "/api/v1/admin/migrations").await;
    assert!(m.is_object() && m.get("is_up_to_date").is_some(), "{m}");
    let stats = get(&hub, "/api/v1/admin/participants/stats").await;
    assert_shape("participants/stats", &STATS, &stats);
    assert_eq!(stats["total_participants"], 3);
    assert_eq!(stats["participants_by_status"]["active"], 3);
    assert_eq!(stats["participants_by_type"]["person"], 3);
    let b = get(
        &hub,
        "/api/v1/admin/trustlines/bottlenecks?threshold=0.5&limit=10",
    )
    .await;
    assert_shape("trustlines/bottlenecks", &BOTTLENECKS, &b);
    assert_eq!(b["threshold"], json!(0.5));
    assert!(!b["items"].as_array().expect("items").is_empty(), "{b}");

    // Incidents (none: local payments never stay prepared).
    let inc = get(&hub, "/api/v1/admin/incidents?page=1&per_page=20").await;
    assert_shape("incidents", &page_of(&INCIDENT), &inc);
    assert_eq!((inc["page"].clone(), inc["total"].clone()), (json!(1), json!(0)));

    // Liquidity: all equivalents, then one.
    let all = get(&hub, "/api/v1/admin/liquidity/summary?limit=10").await;
    assert_shape("liquidity/summary", &LIQUIDITY_ALL, &all);
    assert_eq!(all["equivalent"], Value::Null);
    assert_eq!(all["total_limit"], Value::Null, "no sum over different units");
    assert_eq!(all["active_trustlines"], 4);
    let uah = get(
        &hub,
        "/api/v1/admin/liquidity/summary?equivalent=UAH&threshold=0.10&limit=10",
    )
    .await;
    assert_shape("liquidity/summary?equivalent=UAH", &LIQUIDITY, &uah);
    assert_eq!(uah["total_limit"], "230.00");
    assert_eq!(uah["total_used"], "92.00");
    assert_eq!(uah["top_creditors"][0]["pid"], carol.pid.as_str());
    assert_eq!(uah["top_creditors"][0]["net"], "46.00");
    assert_eq!(uah["top_debtors"][0]["pid"], a);
    assert_eq!(uah["top_debtors"][0]["net"], "-46.00");

    // Participants: list (paged), freeze and unfreeze, metrics.
    let list = get(&hub, "/api/v1/admin/participants?page=1&per_page=2").await;
    assert_shape("participants", &page_of(&PARTICIPANT), &list);
    assert_eq!(
        (
            list["page"].clone(),
            list["per_page"].clone(),
            list["total"].clone()
        ),
        (json!(1), json!(2), json!(3))
    );
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let page2 = get(&hub, "/api/v1/admin/participants?page=2&per_page=2").await;
    assert_eq!(
        (page2["page"].clone(), page2["items"].as_array().map(Vec::len)),
        (json!(2), Some(1))
    );
    let frozen = admin(
        &hub,
        "POST",
        &format!("/api/v1/admin/participants/{a}/freeze"),
        Some(json!({ "reason": "check" })),
        &[("x-request-id", "ui-req-1"), ("user-agent", "reference-admin-ui")],
    )
    .await;
    assert_shape("participants/freeze", &PARTICIPANT_ACTION, &frozen.body);
    assert_eq!(
        frozen.headers.get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"ui-req-1"[..])
    );
    let unfrozen = admin(
        &hub,
        "POST",
        &format!("/api/v1/admin/participants/{a}/unfreeze"),
        Some(json!({ "reason": "ok" })),
        &[],
    )
    .await;
    assert_shape("participants/unfreeze", &PARTICIPANT_ACTION, &unfrozen.body);
    let metrics = get(
        &hub,
        &format!("/api/v1/admin/participants/{a}/metrics?equivalent=UAH"),
    )
    .await;
    assert_shape("participants/{pid}/metrics", &METRICS, &metrics);
    assert_eq!(metrics["equivalent"], "UAH");
    let row = &metrics["balance_rows"][0];
    assert_eq!(
        [
            &row["outgoing_limit"],
            &row["incoming_limit"],
            &row["incoming_used"],
            &row["net"]
        ],
        [
            &json!("80.00"),
            &json!("100.00"),
            &json!("46.00"),
            &json!("-46.00")
        ]
    );
    let metrics_all = get(&hub, &format!("/api/v1/admin/participants/{a}/metrics")).await;
    assert_shape("participants/{pid}/metrics (all)", &METRICS, &metrics_all);
    assert_eq!(metrics_all["equivalent"], Value::Null);

    // Trust lines (paged).
    let lines = get(&hub, "/api/v1/admin/trustlines?page=1&per_page=20&equivalent=UAH").await;
    assert_shape("trustlines", &page_of(&TRUSTLINE), &lines);
    assert_eq!(lines["total"], 3);

    // Equivalents: list, create, patch, usage, delete.
    let eqs = get(&hub, "/api/v1/admin/equivalents?include_inactive=true").await;
    assert_shape("equivalents", &open(&[F("items", Arr(&EQUIVALENT), true)]), &eqs);
    let created = admin(
        &hub,
        "POST",
        "/api/v1/admin/equivalents",
        Some(json!({ "code": "GOLD", "precision": 3, "description": "grams", "is_active": true })),
        &[],
    )
    .await;
    assert_shape("POST equivalents", &EQUIVALENT_WIRE, &created.body);
    let patched = admin(
        &hub,
        "PATCH",
        "/api/v1/admin/equivalents/GOLD",
        Some(json!({ "is_active": false, "reason": "pause" })),
        &[],
    )
    .await;
    assert_shape("PATCH equivalents", &EQUIVALENT_WIRE, &patched.body);
    let usage = get(&hub, "/api/v1/admin/equivalents/GOLD/usage").await;
    assert_shape("equivalents/usage", &EQUIVALENT_USAGE, &usage);
    let deleted = admin(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        Some(json!({ "reason": "unused" })),
        &[],
    )
    .await;
    assert_shape("DELETE equivalents", &EQUIVALENT_DELETED, &deleted.body);

    // Config and feature flags.
    let config = get(&hub, "/api/v1/admin/config").await;
    assert_shape("config", &CONFIG_ITEMS, &config);
    let flat: serde_json::Map<String, Value> = config["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (i["key"].as_str().unwrap_or("").to_owned(), i["value"].clone()))
        .collect();
    assert_shape("config (flattened)", &CONFIG_FLAT, &Value::Object(flat));
    let patched = admin(
        &hub,
        "PATCH",
        "/api/v1/admin/config",
        Some(json!({ "updates": { "CLEARING_ENABLED": false, "PAYMENT_TX_STUCK_TIMEOUT_SECONDS": 300 } })),
        &[],
    )
    .await;
    assert_shape("PATCH config", &CONFIG_PATCHED, &patched.body);
    let flags = get(&hub, "/api/v1/admin/feature-flags").await;
    assert_shape("feature-flags", &FLAGS, &flags);
    assert_eq!(flags["clearing_enabled"], false, "CLEARING_ENABLED is the flag");
    let flags = admin(
        &hub,
        "PATCH",
        "/api/v1/admin/feature-flags",
        Some(json!({ "clearing_enabled": true })),
        &[],
    )
    .await;
    assert_shape("PATCH feature-flags", &FLAGS, &flags.body);

    // Integrity, with the admin token (no bearer token).
    let status = get(&hub, "/api/v1/integrity/status").await;
    assert_shape("integrity/status", &INTEGRITY_STATUS, &status);
    let verified = admin(&hub, "POST", "/api/v1/integrity/verify", Some(json!({})), &[]).await;
    assert_shape("integrity/verify", &INTEGRITY_VERIFY, &verified.body);
    let wrong = hub
        .raw(
            "GET",
            "/api/v1/integrity/status",
            None,
            None,
            &[("x-admin-token", "nope")],
        )
        .await;
    assert_eq!((wrong.status, wrong.code()), (403, "FORBIDDEN"));

    // Graph: snapshot (with the optional collections), ego, cycles.
    let snap = get(&hub, "/api/v1/admin/graph/snapshot").await;
    assert_shape("graph/snapshot", &GRAPH, &snap);
    assert_eq!(snap["participants"].as_array().map(Vec::len), Some(3));
    assert_eq!(snap["trustlines"].as_array().map(Vec::len), Some(4));
    let debts: Vec<(&str, &str, &str)> = snap["debts"]
        .as_array()
        .expect("debts")
        .iter()
        .map(|d| {
            (
                d["equivalent"].as_str().unwrap_or(""),
                d["debtor"].as_str().unwrap_or(""),
                d["amount"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(debts.contains(&("UAH", a.as_str(), "46.00")), "{debts:?}");
    let full = get(
        &hub,
        "/api/v1/admin/graph/snapshot?equivalent=UAH&include=audit_log,transactions",
    )
    .await;
    assert_shape("graph/snapshot?include", &GRAPH, &full);
    assert!(!full["audit_log"].as_array().expect("audit_log").is_empty());
    assert!(!full["transactions"].as_array().expect("transactions").is_empty());
    assert_eq!(full["equivalents"].as_array().map(Vec::len), Some(1));
    let ego = get(
        &hub,
        &format!("/api/v1/admin/graph/ego?pid={a}&depth=1&status=active&status=frozen"),
    )
    .await;
    assert_shape("graph/ego", &GRAPH, &ego);
    assert_eq!(ego["participants"].as_array().map(Vec::len), Some(3));
    let cycles = get(&hub, "/api/v1/admin/clearing/cycles").await;
    assert_shape("clearing/cycles", &CYCLES, &cycles);
    assert!(cycles["equivalents"]["UAH"]["cycles"].is_array(), "{cycles}");
    let cycles = get(
        &hub,
        &format!("/api/v1/admin/clearing/cycles?participant_pid={a}"),
    )
    .await;
    assert_shape("clearing/cycles?participant_pid", &CYCLES, &cycles);

    // Audit log (paged), with the origin of each action.
    let log = get(&hub, "/api/v1/admin/audit-log?page=1&per_page=50").await;
    assert_shape("audit-log", &page_of(&AUDIT_ENTRY), &log);
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    for want in [
        "admin.participants.freeze",
        "admin.participants.unfreeze",
        "admin.equivalents.create",
        "admin.equivalents.patch",
        "admin.equivalents.delete",
        "admin.config.patch",
        "admin.feature_flags.patch",
        "admin.integrity.verify",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    assert_eq!(log["total"], json!(actions.len()));
    let freeze = get(&hub, "/api/v1/admin/audit-log?action=admin.participants.freeze").await;
    let entry = &freeze["items"][0];
    assert_eq!(entry["request_id"], "ui-req-1");
    assert_eq!(entry["user_agent"], "reference-admin-ui");
    assert_eq!(entry["ip_address"], "127.0.0.1");
    let generated =
        &get(&hub, "/api/v1/admin/audit-log?action=admin.participants.unfreeze").await["items"][0];
    assert!(
        generated["request_id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()),
        "a request without X-Request-ID gets one: {generated}"
    );
    let paged = get(&hub, "/api/v1/admin/audit-log?page=2&per_page=3").await;
    assert_eq!(
        (
            paged["page"].clone(),
            paged["per_page"].clone(),
            paged["items"].as_array().map(Vec::len)
        ),
        (json!(2), json!(3), Some(3))
    );
    hub.stop().await;
}
