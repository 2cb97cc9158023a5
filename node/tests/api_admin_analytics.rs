//! The admin analytics endpoints on a real hub (port 0): participant stats and metrics,
//! equivalent usage and deletion, migrations, trust-line bottlenecks, liquidity, clearable
//! cycles and the ego graph. Each is checked for its values on a small known graph, refused
//! without the admin token, and for its validation errors; the deletion of an equivalent is
//! also checked to persist across a restart on every backend.

mod api_support;
mod common;

use api_support::{join, pay, trust, Backend as HubBackend, Hub, Resp, User, ADMIN};
use geo_node::engine::{Command, EngineConfig, Reply};
use geo_node::ledger::participants::NewEquivalent;
use geo_node::ledger::{Ledger, LedgerConfig};
use geo_protocol::{EquivalentCode, Keypair, Precision};
use serde_json::{json, Value};

/// Every analytics route (with a valid target where the path needs one).
const ROUTES: [(&str, &str); 9] = [
    ("GET", "/api/v1/admin/participants/stats"),
    ("GET", "/api/v1/admin/participants/{pid}/metrics"),
    ("GET", "/api/v1/admin/equivalents/UAH/usage"),
    ("DELETE", "/api/v1/admin/equivalents/EUR"),
    ("GET", "/api/v1/admin/migrations"),
    ("GET", "/api/v1/admin/trustlines/bottlenecks"),
    ("GET", "/api/v1/admin/liquidity/summary"),
    ("GET", "/api/v1/admin/clearing/cycles"),
    ("GET", "/api/v1/admin/graph/ego?pid={pid}"),
];

async fn admin(hub: &Hub, method: &str, path: &str, body: Option<&Value>) -> Resp {
    let bytes = body.map(|b| b.to_string().into_bytes());
    hub.raw(method, path, None, bytes, &[("x-admin-token", ADMIN)])
        .await
}

async fn get_ok(hub: &Hub, path: &str) -> Value {
    let r = admin(hub, "GET", path, None).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    r.body
}

/// Asserts a `400 VALIDATION_ERROR` (or another code and status).
async fn refused(hub: &Hub, method: &str, path: &str, body: Option<&Value>, status: u16, code: &str) {
    let r = admin(hub, method, path, body).await;
    assert_eq!(
        (r.status, r.code()),
        (status, code),
        "{method} {path}: {}",
        r.text
    );
}

/// alice, bob and carol; bob trusts alice for 100 UAH and carol trusts bob for 50 UAH; alice
/// pays carol 46 (through bob). So the line bob -> alice has 54 of 100 left (0.54) and
/// carol -> bob 4 of 50 (0.08, a bottleneck at the default threshold 0.10).
async fn small_graph(hub: &Hub) -> (User, User, User, String, String) {
    let alice = join(hub, "alice").await;
    let bob = join(hub, "bob").await;
    let carol = join(hub, "carol").await;
    let ab = trust(hub, &bob, &alice, "UAH", "100").await;
    let bc = trust(hub, &carol, &bob, "UAH", "50").await;
    let r = pay(hub, &alice, &carol, "UAH", "46").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "COMMITTED", "{}", r.text);
    (alice, bob, carol, ab, bc)
}

fn pids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x[key].as_str().expect("string").to_owned())
        .collect()
}

#[tokio::test]
async fn analytics_routes_require_the_admin_token() {
    let hub = Hub::memory().await;
    let alice = join(&hub, "alice").await;
    for (method, path) in ROUTES {
        let path = path.replace("{pid}", alice.pid.as_str());
        let body = (method == "DELETE").then(|| json!({ "reason": "test" }).to_string().into_bytes());
        for (token, headers) in [
            (None, vec![]),
            (Some(alice.token.as_str()), vec![]),
            (None, vec![("x-admin-token", "wrong-token")]),
        ] {
            let r = hub.raw(method, &path, token, body.clone(), &headers).await;
            assert_eq!(
                (r.status, r.code()),
                (403, "FORBIDDEN"),
                "{method} {path}: {}",
                r.text
            );
        }
    }
    // Nothing was deleted.
    let eqs = get_ok(&hub, "/api/v1/admin/equivalents?include_inactive=true").await;
    assert!(pids(&eqs["items"], "code").contains(&"EUR".to_owned()));
    hub.stop().await;
}

#[tokio::test]
async fn participant_stats_and_metrics() {
    let hub = Hub::memory().await;
    let (alice, bob, carol, _, _) = small_graph(&hub).await;
    let dave = join(&hub, "dave").await;
    let r = admin(
        &hub,
        "POST",
        &format!("/api/v1/admin/participants/{}/freeze", dave.pid),
        Some(&json!({})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let s = get_ok(&hub, "/api/v1/admin/participants/stats").await;
    assert_eq!(s["total"], 4);
    assert_eq!(
        s["by_status"],
        json!({ "active": 3, "suspended": 1, "left": 0, "deleted": 0 })
    );
    assert_eq!(s["by_type"], json!({ "person": 4, "business": 0, "hub": 0 }));
    assert_eq!(s["with_trust_lines"], 3);
    assert_eq!(s["without_trust_lines"], 1);
    // alice owes bob, bob owes carol.
    assert_eq!(s["with_debt"], 2);
    assert_eq!(s["with_credit"], 2);
    assert_eq!(
        s["by_equivalent"]["UAH"],
        json!({ "with_trust_lines": 3, "with_debt": 2, "with_credit": 2 })
    );
    assert_eq!(
        s["by_equivalent"]["HOUR"],
        json!({ "with_trust_lines": 0, "with_debt": 0, "with_credit": 0 })
    );

    let metrics = |who: &User, query: &str| format!("/api/v1/admin/participants/{}/metrics{query}", who.pid);
    let m = get_ok(&hub, &metrics(&bob, "")).await;
    assert_eq!(m["pid"], bob.pid.as_str());
    assert_eq!(m["display_name"], "bob");
    assert_eq!(m["status"], "active");
    assert_eq!(m["threshold"], json!(0.1));
    let keys: Vec<&String> = m["by_equivalent"].as_object().expect("object").keys().collect();
    assert_eq!(keys, vec!["EUR", "HOUR", "UAH"]);
    let u = &m["by_equivalent"]["UAH"];
    assert_eq!(u["net_balance"], "0.00");
    assert_eq!(u["total_debt"], "46.00");
    assert_eq!(u["total_credit"], "46.00");
    assert_eq!(
        u["outgoing"],
        json!({ "active_lines": 1, "frozen_lines": 0, "total_limit": "100.00", "total_used": "46.00", "total_available": "54.00" })
    );
    assert_eq!(
        u["incoming"],
        json!({ "active_lines": 1, "frozen_lines": 0, "total_limit": "50.00", "total_used": "46.00", "total_available": "4.00" })
    );
    assert_eq!(u["bottlenecks"], 1);
    // bob only forwarded the payment.
    assert_eq!(
        u["payments"],
        json!({ "sent": { "count": 0, "volume": "0.00" }, "received": { "count": 0, "volume": "0.00" } })
    );
    assert_eq!(m["by_equivalent"]["HOUR"]["outgoing"]["active_lines"], 0);
    assert_eq!(m["payments_scan"]["complete"], true);

    let m = get_ok(&hub, &metrics(&alice, "?equivalent=UAH&threshold=0.05")).await;
    let keys: Vec<&String> = m["by_equivalent"].as_object().expect("object").keys().collect();
    assert_eq!(keys, vec!["UAH"]);
    let u = &m["by_equivalent"]["UAH"];
    assert_eq!(m["threshold"], json!(0.05));
    assert_eq!(u["net_balance"], "-46.00");
    assert_eq!(u["incoming"]["total_available"], "54.00");
    assert_eq!(u["bottlenecks"], 0);
    assert_eq!(u["payments"]["sent"], json!({ "count": 1, "volume": "46.00" }));
    assert_eq!(
        m["payments_scan"],
        json!({ "limit": 10000, "sent": 1, "received": 0, "complete": true })
    );
    let m = get_ok(&hub, &metrics(&carol, "?threshold=1")).await;
    let u = &m["by_equivalent"]["UAH"];
    assert_eq!(u["net_balance"], "46.00");
    assert_eq!(
        u["payments"]["received"],
        json!({ "count": 1, "volume": "46.00" })
    );
    assert_eq!(u["bottlenecks"], 1);

    // Validation and unknown targets.
    let stranger = Keypair::generate().pid();
    refused(
        &hub,
        "GET",
        "/api/v1/admin/participants/not-a-pid/metrics",
        None,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    refused(
        &hub,
        "GET",
        &format!("/api/v1/admin/participants/{stranger}/metrics"),
        None,
        404,
        "PARTICIPANT_NOT_FOUND",
    )
    .await;
    for q in [
        "?threshold=1.5",
        "?threshold=-0.1",
        "?threshold=0.1234567",
        "?threshold=abc",
        "?equivalent=uah",
    ] {
        refused(&hub, "GET", &metrics(&bob, q), None, 400, "VALIDATION_ERROR").await;
    }
    refused(
        &hub,
        "GET",
        &metrics(&bob, "?equivalent=ZZZ"),
        None,
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    hub.stop().await;
}

#[tokio::test]
async fn bottlenecks_and_liquidity() {
    let hub = Hub::memory().await;
    let (_, bob, carol, ab, bc) = small_graph(&hub).await;

    let b = get_ok(&hub, "/api/v1/admin/trustlines/bottlenecks").await;
    assert_eq!(b["threshold"], json!(0.1));
    assert_eq!(b["limit"], 10);
    assert_eq!(b["total"], 1);
    let item = &b["items"][0];
    assert_eq!(item["id"], bc.as_str());
    assert_eq!(item["from"], carol.pid.as_str());
    assert_eq!(item["to"], bob.pid.as_str());
    assert_eq!(item["limit"], "50.00");
    assert_eq!(item["used"], "46.00");
    assert_eq!(item["available"], "4.00");
    assert_eq!(item["available_share"], "0.08");

    // Both lines under 0.6, the most constrained first; `limit` cuts the list, not the total.
    let b = get_ok(
        &hub,
        "/api/v1/admin/trustlines/bottlenecks?threshold=0.60&equivalent=UAH",
    )
    .await;
    assert_eq!(pids(&b["items"], "id"), vec![bc.clone(), ab.clone()]);
    assert_eq!(b["items"][1]["available_share"], "0.54");
    assert_eq!(b["equivalent"], "UAH");
    let b = get_ok(&hub, "/api/v1/admin/trustlines/bottlenecks?threshold=0.6&limit=1").await;
    assert_eq!(
        (b["total"].clone(), pids(&b["items"], "id")),
        (json!(2), vec![bc.clone()])
    );
    // Exactly at the threshold is not below it.
    let b = get_ok(&hub, "/api/v1/admin/trustlines/bottlenecks?threshold=0.08").await;
    assert_eq!(b["total"], 0);
    let b = get_ok(&hub, "/api/v1/admin/trustlines/bottlenecks?threshold=0.080001").await;
    assert_eq!(b["total"], 1);
    let b = get_ok(&hub, "/api/v1/admin/trustlines/bottlenecks?threshold=0&limit=50").await;
    assert_eq!(b["total"], 0);
    let b = get_ok(
        &hub,
        "/api/v1/admin/trustlines/bottlenecks?threshold=1&equivalent=HOUR",
    )
    .await;
    assert_eq!(b["total"], 0);

    let s = get_ok(&hub, "/api/v1/admin/liquidity/summary").await;
    let codes: Vec<String> = pids(&s["items"], "equivalent");
    assert_eq!(codes, vec!["UAH", "HOUR", "EUR"]);
    let u = &s["items"][0];
    assert_eq!(u["active_lines"], 2);
    assert_eq!(u["total_limit"], "150.00");
    assert_eq!(u["total_used"], "92.00");
    assert_eq!(u["total_available"], "58.00");
    assert_eq!(u["bottlenecks"], 1);
    assert_eq!(pids(&u["top_bottlenecks"], "id"), vec![bc.clone()]);
    assert_eq!(
        s["items"][1],
        json!({ "equivalent": "HOUR", "active_lines": 0, "total_limit": "0.00", "total_used": "0.00",
                "total_available": "0.00", "bottlenecks": 0, "top_bottlenecks": [] })
    );
    let s = get_ok(
        &hub,
        "/api/v1/admin/liquidity/summary?equivalent=UAH&threshold=0.9&limit=1",
    )
    .await;
    assert_eq!(s["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(s["items"][0]["bottlenecks"], 2);
    assert_eq!(pids(&s["items"][0]["top_bottlenecks"], "id"), vec![bc.clone()]);

    for path in [
        "/api/v1/admin/trustlines/bottlenecks",
        "/api/v1/admin/liquidity/summary",
    ] {
        for q in [
            "?threshold=1.01",
            "?threshold=2",
            "?threshold=.5",
            "?threshold=0.5e0",
            "?threshold=0.0000001",
            "?threshold=",
            "?limit=0",
            "?limit=51",
            "?limit=ten",
            "?equivalent=u-a-h",
        ] {
            refused(&hub, "GET", &format!("{path}{q}"), None, 400, "VALIDATION_ERROR").await;
        }
        refused(
            &hub,
            "GET",
            &format!("{path}?equivalent=XYZ"),
            None,
            404,
            "EQUIVALENT_NOT_FOUND",
        )
        .await;
        let ok = get_ok(&hub, &format!("{path}?limit=50&threshold=0.000001")).await;
        assert_eq!(ok["limit"], 50);
        assert_eq!(ok["threshold"], json!(0.000001));
    }
    hub.stop().await;
}

#[tokio::test]
async fn equivalent_usage_and_deletion() {
    let hub = Hub::memory().await;
    let (alice, bob, _, _, _) = small_graph(&hub).await;
    // Checkpoints of every equivalent.
    let r = hub
        .call(
            "POST",
            "/api/v1/integrity/verify",
            Some(&alice.token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let u = get_ok(&hub, "/api/v1/admin/equivalents/UAH/usage").await;
    assert_eq!(
        u,
        json!({ "code": "UAH", "trustlines": 2, "debts": 2, "integrity_checkpoints": 1 })
    );
    let u = get_ok(&hub, "/api/v1/admin/equivalents/EUR/usage").await;
    assert_eq!(
        u,
        json!({ "code": "EUR", "trustlines": 0, "debts": 0, "integrity_checkpoints": 1 })
    );
    refused(
        &hub,
        "GET",
        "/api/v1/admin/equivalents/NOPE/usage",
        None,
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    refused(
        &hub,
        "GET",
        "/api/v1/admin/equivalents/no%20pe/usage",
        None,
        400,
        "VALIDATION_ERROR",
    )
    .await;

    let reason = json!({ "reason": "cleanup" });
    // Used: lines and debts.
    let r = admin(&hub, "DELETE", "/api/v1/admin/equivalents/UAH", Some(&reason)).await;
    assert_eq!((r.status, r.code()), (409, "EQUIVALENT_IN_USE"), "{}", r.text);
    assert_eq!(r.body["error"]["details"]["trustlines"], 2);
    assert_eq!(r.body["error"]["details"]["debts"], 2);
    assert_eq!(
        r.body["error"]["details"]["deactivate"]["body"],
        json!({ "is_active": false })
    );
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("deactivate") && message.contains("is_active"),
        "{message}"
    );
    // Used by a transaction only: a HOUR payment that found no route is recorded ABORTED.
    let r = pay(&hub, &alice, &bob, "HOUR", "1").await;
    assert_eq!(r.body["status"], "ABORTED", "{}", r.text);
    let r = admin(&hub, "DELETE", "/api/v1/admin/equivalents/HOUR", Some(&reason)).await;
    assert_eq!((r.status, r.code()), (409, "EQUIVALENT_IN_USE"), "{}", r.text);
    assert_eq!(r.body["error"]["details"]["transactions"], 1);
    assert_eq!(r.body["error"]["details"]["trustlines"], 0);
    // Used by a line that is closed now.
    let line = trust(&hub, &alice, &bob, "EUR", "5").await;
    let body = alice.sign(json!({ "id": line }));
    let r = hub
        .call(
            "DELETE",
            &format!("/api/v1/trustlines/{line}"),
            Some(&alice.token),
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = admin(&hub, "DELETE", "/api/v1/admin/equivalents/EUR", Some(&reason)).await;
    assert_eq!((r.status, r.code()), (409, "EQUIVALENT_IN_USE"), "{}", r.text);
    assert_eq!(r.body["error"]["details"]["trustlines"], 1);

    // A new equivalent, never used (its checkpoint records no use): deleted.
    let r = admin(
        &hub,
        "POST",
        "/api/v1/admin/equivalents",
        Some(&json!({ "code": "GOLD", "precision": 3 })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = hub
        .call(
            "POST",
            "/api/v1/integrity/verify",
            Some(&alice.token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let u = get_ok(&hub, "/api/v1/admin/equivalents/GOLD/usage").await;
    assert_eq!(u["integrity_checkpoints"], 1);
    refused(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        Some(&json!({})),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    refused(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        None,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    refused(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        Some(&json!({ "reason": "  " })),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    refused(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        Some(&json!({ "reason": 5 })),
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let r = admin(&hub, "DELETE", "/api/v1/admin/equivalents/GOLD", Some(&reason)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body, json!({ "deleted": "GOLD" }));
    let eqs = get_ok(&hub, "/api/v1/admin/equivalents?include_inactive=true").await;
    assert_eq!(pids(&eqs["items"], "code"), vec!["UAH", "HOUR", "EUR"]);
    refused(
        &hub,
        "GET",
        "/api/v1/admin/equivalents/GOLD/usage",
        None,
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    refused(
        &hub,
        "DELETE",
        "/api/v1/admin/equivalents/GOLD",
        Some(&reason),
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    let log = get_ok(&hub, "/api/v1/admin/audit-log?action=equivalent.delete").await;
    assert_eq!(log["items"][0]["object_id"], "GOLD");
    assert_eq!(log["items"][0]["reason"], "cleanup");
    // The checkpoints went with it, and the integrity views no longer list it.
    let st = hub
        .call("GET", "/api/v1/integrity/status", Some(&alice.token), None)
        .await;
    assert_eq!(st.status, 200, "{}", st.text);
    assert!(!st.text.contains("GOLD"), "{}", st.text);
    // The code can be created again, fresh.
    let r = admin(
        &hub,
        "POST",
        "/api/v1/admin/equivalents",
        Some(&json!({ "code": "GOLD", "precision": 0 })),
    )
    .await;
    assert_eq!(
        (r.status, r.body["precision"].clone()),
        (200, json!(0)),
        "{}",
        r.text
    );
    let u = get_ok(&hub, "/api/v1/admin/equivalents/GOLD/usage").await;
    assert_eq!(u["integrity_checkpoints"], 0);
    // Payments in the other equivalents still work after ids moved.
    let r = pay(&hub, &alice, &bob, "UAH", "1").await;
    assert_eq!(r.body["status"], "COMMITTED", "{}", r.text);
    hub.stop().await;
}

#[tokio::test]
async fn clearing_cycles_admin_wide_and_through_a_participant() {
    // No clearing after payments, so that the cycle stays to be listed.
    let engine_config = EngineConfig {
        ledger: LedgerConfig {
            clear_after_payment: false,
            ..LedgerConfig::default()
        },
        ..EngineConfig::default()
    };
    let hub = Hub::start(HubBackend::Memory, api_support::unlimited(), engine_config).await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let carol = join(&hub, "carol").await;
    let dave = join(&hub, "dave").await;
    trust(&hub, &bob, &alice, "UAH", "100").await;
    trust(&hub, &carol, &bob, "UAH", "100").await;
    trust(&hub, &alice, &carol, "UAH", "100").await;
    trust(&hub, &dave, &alice, "UAH", "100").await;
    for (from, to, amount) in [
        (&alice, &bob, "10"),
        (&bob, &carol, "12"),
        (&carol, &alice, "15"),
        (&alice, &dave, "5"),
    ] {
        let r = pay(&hub, from, to, "UAH", amount).await;
        assert_eq!(r.body["status"], "COMMITTED", "{}", r.text);
    }

    let c = get_ok(&hub, "/api/v1/admin/clearing/cycles").await;
    assert_eq!(c["max_depth"], 6);
    assert_eq!(c["searched_max_length"], 4);
    assert_eq!(c["total"], 1);
    let cycle = &c["items"][0];
    assert_eq!(cycle["equivalent"], "UAH");
    assert_eq!(cycle["length"], 3);
    assert_eq!(cycle["amount"], "10.00");
    let mut members: Vec<String> = cycle["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p.as_str().expect("pid").to_owned())
        .collect();
    members.sort();
    let mut expected = vec![alice.pid.to_string(), bob.pid.to_string(), carol.pid.to_string()];
    expected.sort();
    assert_eq!(members, expected);
    let edges = cycle["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 3);
    let ab = edges
        .iter()
        .find(|e| e["debtor"] == alice.pid.as_str())
        .expect("alice's debt");
    assert_eq!(ab["creditor"], bob.pid.as_str());
    assert_eq!(ab["amount"], "10.00");
    assert_eq!(ab["debt_id"], format!("UAH:{}:{}", alice.pid, bob.pid));

    let through = |p: &User, q: &str| format!("/api/v1/admin/clearing/cycles?participant_pid={}{q}", p.pid);
    assert_eq!(get_ok(&hub, &through(&alice, "")).await["total"], 1);
    let c = get_ok(&hub, &through(&dave, "&equivalent=UAH&max_depth=3")).await;
    assert_eq!(
        (c["total"].clone(), c["participant_pid"].clone()),
        (json!(0), json!(dave.pid.as_str()))
    );
    let c = get_ok(&hub, "/api/v1/admin/clearing/cycles?equivalent=HOUR&max_depth=10").await;
    assert_eq!(
        (c["total"].clone(), c["searched_max_length"].clone()),
        (json!(0), json!(4))
    );

    for q in [
        "?max_depth=2",
        "?max_depth=11",
        "?max_depth=six",
        "?participant_pid=nope",
        "?equivalent=u",
    ] {
        refused(
            &hub,
            "GET",
            &format!("/api/v1/admin/clearing/cycles{q}"),
            None,
            400,
            "VALIDATION_ERROR",
        )
        .await;
    }
    let stranger = Keypair::generate().pid();
    refused(
        &hub,
        "GET",
        &format!("/api/v1/admin/clearing/cycles?participant_pid={stranger}"),
        None,
        404,
        "PARTICIPANT_NOT_FOUND",
    )
    .await;
    refused(
        &hub,
        "GET",
        "/api/v1/admin/clearing/cycles?equivalent=NONE",
        None,
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    // The participant endpoint lists the same cycle.
    let r = hub
        .call(
            "GET",
            "/api/v1/clearing/cycles?equivalent=UAH",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(r.body["cycles"].as_array().map(Vec::len), Some(1), "{}", r.text);
    hub.stop().await;
}

#[tokio::test]
async fn ego_graph_of_a_participant() {
    let hub = Hub::memory().await;
    let (alice, bob, carol, ab, bc) = small_graph(&hub).await;
    let ego = |p: &User, q: &str| format!("/api/v1/admin/graph/ego?pid={}{q}", p.pid);

    let g = get_ok(&hub, &ego(&alice, "")).await;
    assert_eq!(g["depth"], 1);
    assert_eq!(g["status"], json!(["active", "frozen"]));
    assert_eq!(
        pids(&g["nodes"], "id"),
        vec![alice.pid.to_string(), bob.pid.to_string()]
    );
    assert_eq!(g["nodes"][0]["depth"], 0);
    assert_eq!(g["nodes"][1]["depth"], 1);
    assert_eq!(g["nodes"][0]["net_balance"]["UAH"], "-46.00");
    assert_eq!(pids(&g["links"], "id"), vec![ab.clone()]);
    assert_eq!(g["links"][0]["source"], bob.pid.as_str());
    assert_eq!(g["links"][0]["target"], alice.pid.as_str());
    // The same node and link shapes as the whole-graph snapshot.
    let snap = get_ok(&hub, "/api/v1/admin/graph/snapshot").await;
    let snap_alice = snap["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == alice.pid.as_str())
        .expect("alice")
        .clone();
    let mut ego_alice = g["nodes"][0].clone();
    ego_alice.as_object_mut().expect("node").remove("depth");
    assert_eq!(ego_alice, snap_alice);
    let snap_link = snap["links"]
        .as_array()
        .expect("links")
        .iter()
        .find(|l| l["id"] == ab.as_str())
        .expect("link")
        .clone();
    assert_eq!(g["links"][0], snap_link);

    let g = get_ok(&hub, &ego(&alice, "&depth=2&equivalent=UAH")).await;
    assert_eq!(
        pids(&g["nodes"], "id"),
        vec![alice.pid.to_string(), bob.pid.to_string(), carol.pid.to_string()]
    );
    assert_eq!(g["nodes"][2]["depth"], 2);
    assert_eq!(g["nodes"][2]["net_balance"], json!({ "UAH": "46.00" }));
    let mut links = pids(&g["links"], "id");
    links.sort();
    let mut expected = vec![ab.clone(), bc.clone()];
    expected.sort();
    assert_eq!(links, expected);
    let g = get_ok(&hub, &ego(&carol, "&depth=1")).await;
    assert_eq!(
        pids(&g["nodes"], "id"),
        vec![carol.pid.to_string(), bob.pid.to_string()]
    );
    assert_eq!(pids(&g["links"], "id"), vec![bc.clone()]);
    // Only closed lines, or another equivalent: alone.
    for q in [
        "&status=closed",
        "&status=closed,frozen&depth=2",
        "&equivalent=HOUR&depth=2",
    ] {
        let g = get_ok(&hub, &ego(&bob, q)).await;
        assert_eq!(pids(&g["nodes"], "id"), vec![bob.pid.to_string()], "{q}");
        assert_eq!(g["links"], json!([]), "{q}");
    }
    let g = get_ok(
        &hub,
        &ego(&bob, "&status=active&status=closed&include=transactions"),
    )
    .await;
    assert_eq!(g["status"], json!(["active", "closed"]));
    assert_eq!(g["nodes"].as_array().map(Vec::len), Some(3));

    refused(
        &hub,
        "GET",
        "/api/v1/admin/graph/ego",
        None,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let r = admin(&hub, "GET", "/api/v1/admin/graph/ego?depth=1", None).await;
    assert!(r.text.contains("pid is required"), "{}", r.text);
    for q in [
        "&depth=0",
        "&depth=3",
        "&depth=x",
        "&status=open",
        "&equivalent=u",
    ] {
        refused(&hub, "GET", &ego(&alice, q), None, 400, "VALIDATION_ERROR").await;
    }
    refused(
        &hub,
        "GET",
        "/api/v1/admin/graph/ego?pid=xyz",
        None,
        400,
        "VALIDATION_ERROR",
    )
    .await;
    let stranger = Keypair::generate().pid();
    refused(
        &hub,
        "GET",
        &format!("/api/v1/admin/graph/ego?pid={stranger}"),
        None,
        404,
        "PARTICIPANT_NOT_FOUND",
    )
    .await;
    refused(
        &hub,
        "GET",
        &ego(&alice, "&equivalent=NONE"),
        None,
        404,
        "EQUIVALENT_NOT_FOUND",
    )
    .await;
    hub.stop().await;
}

#[tokio::test]
async fn migrations_of_each_backend() {
    let hub = Hub::memory().await;
    let m = get_ok(&hub, "/api/v1/admin/migrations").await;
    assert_eq!(
        m,
        json!({ "backend": "memory", "current_revision": null, "head_revision": null,
                "is_up_to_date": true, "pending": [], "applied": [] })
    );
    hub.stop().await;

    let mut backends = vec![HubBackend::Sqlite];
    if let Ok(url) = std::env::var("GEO_TEST_POSTGRES_URL") {
        backends.push(HubBackend::Postgres(url));
    }
    for backend in backends {
        let hub = Hub::start(backend, api_support::unlimited(), EngineConfig::default()).await;
        let m = get_ok(&hub, "/api/v1/admin/migrations").await;
        let name = m["backend"].clone();
        eprintln!("migrations of {name}");
        assert_eq!(m["current_revision"], "4", "{name}");
        assert_eq!(m["head_revision"], "4", "{name}");
        assert_eq!(m["is_up_to_date"], true, "{name}");
        assert_eq!(m["pending"], json!([]), "{name}");
        for (i, (version, description)) in [
            (1, "init"),
            (2, "admin audit log"),
            (3, "admin audit request"),
            (4, "load order"),
        ]
        .into_iter()
        .enumerate()
        {
            let applied = &m["applied"][i];
            assert_eq!(applied["version"], version, "{name}");
            assert_eq!(applied["description"], description, "{name}");
            assert_eq!(applied["success"], true, "{name}");
            assert_eq!(applied["checksum_matches"], true, "{name}");
            assert!(
                applied["installed_on"].as_str().is_some_and(|t| t.len() >= 10),
                "{m}"
            );
        }
        hub.stop().await;
    }
}

fn equivalent(code: &str) -> Command {
    Command::CreateEquivalent(NewEquivalent {
        code: EquivalentCode::new(code).expect("code"),
        precision: Precision::new(2).expect("precision"),
        symbol: None,
        description: None,
        metadata: json!({}),
    })
}

/// The deletion goes through the writer and the store: after a restart the equivalent and its
/// checkpoints are gone, on every backend, and the other equivalents are intact.
#[tokio::test]
async fn a_deleted_equivalent_stays_deleted_after_a_restart() {
    for backend in common::Backend::all().await {
        let name = backend.name();
        eprintln!("deletion and restart on {name}");
        let engine = common::start(backend.open().await).await;
        common::setup_ring(&engine, 3, "10").await;
        for code in ["AAA", "BBB", "CCC"] {
            engine.submit(equivalent(code)).await.expect("create");
        }
        engine.submit(Command::Verify).await.expect("verify");
        let store = engine.store().clone();
        assert_eq!(
            store
                .equivalent_references("BBB")
                .await
                .expect("refs")
                .checkpoints,
            1,
            "{name}"
        );
        let code = |c: &str| EquivalentCode::new(c).expect("code");
        let r = engine
            .submit(Command::DeleteEquivalent { code: code("BBB") })
            .await
            .expect("delete");
        assert!(
            matches!(r, Reply::Equivalent(e) if e.code == code("BBB")),
            "{name}"
        );
        let refused = engine
            .submit(Command::DeleteEquivalent { code: code("UAH") })
            .await
            .map(|_| ());
        assert!(
            refused.as_ref().is_err_and(|e| e.to_string().contains("in use")),
            "{name}: {refused:?}"
        );
        // Deleted and created again before the restart.
        engine
            .submit(Command::DeleteEquivalent { code: code("AAA") })
            .await
            .expect("delete");
        engine.submit(equivalent("AAA")).await.expect("create again");
        let before = engine.read(|l| l.dump()).await;
        assert_eq!(
            before
                .equivalents
                .iter()
                .map(|e| e.0.as_str())
                .collect::<Vec<_>>(),
            vec!["AAA", "CCC", "UAH"],
            "{name}"
        );
        let refs = store.equivalent_references("BBB").await.expect("refs");
        assert_eq!(refs, geo_node::store::EquivalentReferences::default(), "{name}");
        assert!(
            !store
                .latest_checkpoints()
                .await
                .expect("checkpoints")
                .iter()
                .any(|c| c.equivalent.as_str() == "BBB"),
            "{name}"
        );

        engine.kill();
        common::wait_until(10, || !engine.is_running()).await;
        engine.store().close().await;
        let engine = common::start(backend.open().await).await;
        let after = engine.read(|l| l.dump()).await;
        assert_eq!(after, before, "{name}: state changed across the restart");
        let migrations = engine.store().migrations().await.expect("migrations");
        assert!(migrations.is_up_to_date(), "{name}");
        // UAH still pays after the ids of the equivalents moved.
        let r = engine
            .submit(Command::Pay(common::payment("after", 0, 1, "1")))
            .await
            .expect("pay");
        assert!(common::committed(&r), "{name}");
        engine.kill();
        common::wait_until(10, || !engine.is_running()).await;
        engine.store().close().await;

        // One batch that deletes a code, creates it again with another precision and writes
        // checkpoints, and deletes another code after that: the store ends up as the ledger.
        let store = backend.open().await;
        let mut ledger =
            Ledger::restore(LedgerConfig::default(), store.load().await.expect("load")).expect("restore");
        ledger.delete_equivalent(&code("AAA")).expect("delete AAA");
        ledger
            .create_equivalent(
                NewEquivalent {
                    code: code("AAA"),
                    precision: Precision::new(4).expect("precision"),
                    symbol: None,
                    description: None,
                    metadata: json!({}),
                },
                1,
            )
            .expect("create AAA");
        ledger.checkpoint(1);
        ledger.delete_equivalent(&code("CCC")).expect("delete CCC");
        store.apply(&ledger.take_changes()).await.expect("apply");
        let reloaded =
            Ledger::restore(LedgerConfig::default(), store.load().await.expect("load")).expect("restore");
        assert_eq!(reloaded.dump(), ledger.dump(), "{name}");
        assert_eq!(
            reloaded.equivalent(&code("AAA")).map(|e| e.precision.get()),
            Some(4),
            "{name}"
        );
        let checkpoints: Vec<(String, i64)> = store
            .latest_checkpoints()
            .await
            .expect("checkpoints")
            .iter()
            .map(|c| (c.equivalent.to_string(), c.at))
            .collect();
        assert_eq!(
            checkpoints,
            vec![("AAA".to_owned(), 1), ("UAH".to_owned(), 1)],
            "{name}"
        );
        store.close().await;
        backend.cleanup().await;
    }
}
