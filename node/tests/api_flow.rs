//! End-to-end walk through the API on a real hub (port 0): registration, login, trust lines,
//! single-hop, multi-hop and two-path payments, capacity and max-flow (paying exactly the
//! max-flow amount), clearing, balances, history, integrity and a WebSocket notification. Runs
//! on the memory store, on SQLite in a temporary directory, and on PostgreSQL when
//! `GEO_TEST_POSTGRES_URL` is set (a fresh database is created and dropped).

mod api_support;

use std::time::Duration;

use api_support::{eventually, join, pay, trust, Backend, Hub, User};
use futures_util::StreamExt;
use geo_node::engine::EngineConfig;
use geo_node::ledger::LedgerConfig;
use serde_json::{json, Value};

fn engine_config() -> EngineConfig {
    // Without the triggered pass, cycles stay until POST /clearing/auto clears them.
    EngineConfig {
        ledger: LedgerConfig {
            clear_after_payment: false,
            ..LedgerConfig::default()
        },
        ..EngineConfig::default()
    }
}

async fn net(hub: &Hub, u: &User) -> String {
    let r = hub.call("GET", "/api/v1/balance", Some(&u.token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.body["equivalents"].as_array().expect("equivalents");
    let uah = items.iter().find(|e| e["code"] == "UAH").expect("UAH");
    uah["net_balance"].as_str().expect("net").to_owned()
}

async fn walk(backend: Backend) {
    let hub = Hub::start(backend, api_support::unlimited(), engine_config()).await;
    let h = hub.call("GET", "/health", None, None).await;
    assert_eq!(h.body["status"], "ok");
    assert_eq!(
        hub.call("GET", "/api/v1/health/db", None, None).await.body["status"],
        "ok"
    );

    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let carol = join(&hub, "carol").await;
    let dave = join(&hub, "dave").await;

    let eqs = hub
        .call("GET", "/api/v1/equivalents", Some(&alice.token), None)
        .await;
    assert_eq!(eqs.body["items"].as_array().map(Vec::len), Some(3));
    let me = hub
        .call("GET", "/api/v1/participants/me", Some(&alice.token), None)
        .await;
    assert_eq!(me.body["pid"], alice.pid.as_str());
    assert!(me.body["stats"]["net_balance"].is_string());
    let found = hub
        .call("GET", "/api/v1/participants?q=car", Some(&alice.token), None)
        .await;
    assert_eq!(found.body["items"][0]["pid"], carol.pid.as_str());

    // Bob listens for his events.
    let url = format!("ws://{}/api/v1/ws?token={}", hub.addr, bob.token);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws connect");
    let hello = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("hello")
        .expect("msg")
        .expect("ok");
    let hello: Value = serde_json::from_str(hello.to_text().expect("text")).expect("json");
    assert_eq!(hello["type"], "hello");

    // Creditor trusts debtor: the debtor may pay the creditor.
    let l1 = trust(&hub, &bob, &alice, "UAH", "100").await;
    trust(&hub, &carol, &bob, "UAH", "50").await;
    trust(&hub, &dave, &bob, "UAH", "40").await;
    trust(&hub, &carol, &alice, "UAH", "30").await;
    trust(&hub, &dave, &carol, "UAH", "30").await;
    trust(&hub, &alice, &dave, "UAH", "100").await;
    let lines = hub
        .call(
            "GET",
            "/api/v1/trustlines?direction=outgoing",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(lines.body["items"].as_array().map(Vec::len), Some(1));
    let lines = hub
        .call(
            "GET",
            "/api/v1/trustlines?direction=incoming",
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(lines.body["items"].as_array().map(Vec::len), Some(2));

    // Single hop.
    let p1 = pay(&hub, &alice, &bob, "UAH", "10").await;
    assert_eq!(p1.status, 200, "{}", p1.text);
    assert_eq!(p1.body["status"], "COMMITTED");
    assert_eq!(p1.body["routes"][0]["path"].as_array().map(Vec::len), Some(2));
    assert!(p1.body["committed_at"].is_string());
    let tx1 = p1.body["tx_id"].as_str().expect("tx").to_owned();
    let line = hub
        .call(
            "GET",
            &format!("/api/v1/trustlines/{l1}"),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(line.body["used"], "10.00");
    assert_eq!(line.body["available"], "90.00");

    // The WebSocket tells Bob.
    let event = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let msg = ws.next().await.expect("stream open").expect("message");
            let Ok(text) = msg.to_text() else { continue };
            let v: Value = serde_json::from_str(text).expect("json");
            if v["type"] == "payment.committed" {
                return v;
            }
        }
    })
    .await
    .expect("payment event");
    assert_eq!(event["payment"]["tx_id"], tx1.as_str());
    assert_eq!(event["payment"]["amount"], "10.00");

    // Multi-hop: alice has no line to dave, so at least two hops.
    let p2 = pay(&hub, &alice, &dave, "UAH", "20").await;
    assert_eq!(p2.body["status"], "COMMITTED", "{}", p2.text);
    assert_eq!(p2.body["routes"][0]["path"].as_array().map(Vec::len), Some(3));

    // Capacity and max flow: 20 left on bob->dave or 10 on carol->dave, plus the other path.
    let mf = hub
        .call(
            "GET",
            &format!("/api/v1/payments/max-flow?to={}&equivalent=UAH", dave.pid),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(mf.status, 200, "{}", mf.text);
    assert_eq!(mf.body["max_amount"], "50.00", "{}", mf.text);
    assert!(mf.body["paths"].as_array().is_some_and(|p| p.len() >= 2));
    let cap = hub
        .call(
            "GET",
            &format!(
                "/api/v1/payments/capacity?to={}&equivalent=UAH&amount=50",
                dave.pid
            ),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(cap.body["can_pay"], true, "{}", cap.text);
    assert_eq!(cap.body["max_amount"], "50.00");
    let cap = hub
        .call(
            "GET",
            &format!(
                "/api/v1/payments/capacity?to={}&equivalent=UAH&amount=50.01",
                dave.pid
            ),
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(cap.body["can_pay"], false, "{}", cap.text);

    // Paying exactly the max-flow amount commits, over two paths.
    let p3 = pay(&hub, &alice, &dave, "UAH", "50.00").await;
    assert_eq!(p3.body["status"], "COMMITTED", "{}", p3.text);
    assert!(
        p3.body["routes"].as_array().is_some_and(|r| r.len() >= 2),
        "{}",
        p3.text
    );
    // Nothing is left: one more atom aborts (recorded, 200).
    let p4 = pay(&hub, &alice, &dave, "UAH", "0.01").await;
    assert_eq!(p4.status, 200);
    assert_eq!(p4.body["status"], "ABORTED", "{}", p4.text);
    assert!(
        matches!(
            p4.body["error"]["code"].as_str(),
            Some("INSUFFICIENT_CAPACITY" | "NO_ROUTE")
        ),
        "{}",
        p4.text
    );

    // Dave pays alice back directly: a cycle alice -> bob -> dave -> alice appears.
    let p5 = pay(&hub, &dave, &alice, "UAH", "10").await;
    assert_eq!(p5.body["status"], "COMMITTED", "{}", p5.text);
    let nets_before = [
        net(&hub, &alice).await,
        net(&hub, &bob).await,
        net(&hub, &carol).await,
        net(&hub, &dave).await,
    ];
    assert_eq!(nets_before, ["-70.00", "10.00", "0.00", "60.00"]);
    let cycles = hub
        .call(
            "GET",
            "/api/v1/clearing/cycles?equivalent=UAH",
            Some(&carol.token),
            None,
        )
        .await;
    assert!(
        cycles.body["cycles"].as_array().is_some_and(|c| !c.is_empty()),
        "{}",
        cycles.text
    );
    let cleared = hub
        .call(
            "POST",
            "/api/v1/clearing/auto?equivalent=UAH",
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text);
    assert!(
        cleared.body["cleared_cycles"].as_u64().is_some_and(|n| n >= 1),
        "{}",
        cleared.text
    );
    let cycles = hub
        .call(
            "GET",
            "/api/v1/clearing/cycles?equivalent=UAH",
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(cycles.body["cycles"], json!([]), "{}", cycles.text);
    let nets_after = [
        net(&hub, &alice).await,
        net(&hub, &bob).await,
        net(&hub, &carol).await,
        net(&hub, &dave).await,
    ];
    assert_eq!(nets_before, nets_after, "clearing must not change net positions");
    let debts = hub
        .call(
            "GET",
            "/api/v1/balance/debts?equivalent=UAH",
            Some(&alice.token),
            None,
        )
        .await;
    assert!(debts.body["outgoing"].is_array() && debts.body["incoming"].is_array());

    // History.
    let hist = hub
        .call("GET", "/api/v1/payments", Some(&alice.token), None)
        .await;
    assert_eq!(
        hist.body["items"].as_array().map(Vec::len),
        Some(5),
        "{}",
        hist.text
    );
    let sent = hub
        .call(
            "GET",
            "/api/v1/balance/history?direction=sent&status=COMMITTED",
            Some(&alice.token),
            None,
        )
        .await;
    assert_eq!(
        sent.body["items"].as_array().map(Vec::len),
        Some(3),
        "{}",
        sent.text
    );
    let one = hub
        .call("GET", &format!("/api/v1/payments/{tx1}"), Some(&bob.token), None)
        .await;
    assert_eq!(one.body["status"], "COMMITTED");
    let hidden = hub
        .call(
            "GET",
            &format!("/api/v1/payments/{tx1}"),
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(hidden.status, 404);

    // Integrity.
    let st = hub
        .call("GET", "/api/v1/integrity/status", Some(&alice.token), None)
        .await;
    assert_eq!(st.body["status"], "healthy", "{}", st.text);
    let v = hub
        .call(
            "POST",
            "/api/v1/integrity/verify",
            Some(&alice.token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(v.body["status"], "healthy", "{}", v.text);
    let audit = hub
        .call(
            "GET",
            "/api/v1/integrity/audit-log?per_page=5",
            Some(&alice.token),
            None,
        )
        .await;
    assert!(audit.body["items"].as_array().is_some_and(|a| !a.is_empty()));

    // Metrics count the committed payments (the counter follows the event stream).
    let counted = eventually(Duration::from_secs(10), || async {
        let m = hub.call("GET", "/metrics", None, None).await;
        m.text
            .contains("geo_payments_total{status=\"committed\"} 4")
            .then_some(m.text)
    })
    .await;
    let text = counted.expect("metrics count four committed payments");
    assert!(text.contains("geo_active_participants 4"), "{text}");
    assert!(text.contains("geo_participants{status=\"active\"} 4"), "{text}");
    assert!(
        text.contains("geo_integrity_status{equivalent=\"UAH\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("geo_zero_sum_balance{equivalent=\"UAH\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("geo_trust_limit_violations_current{equivalent=\"UAH\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("geo_integrity_violations_total{equivalent=\"UAH\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("geo_last_checkpoint_age_seconds{equivalent=\"UAH\"}"),
        "{text}"
    );
    assert!(
        text.contains("geo_clearings_total{status=\"committed\"}"),
        "{text}"
    );
    for name in [
        "geo_payment_duration_seconds_count",
        "geo_routing_duration_seconds_count",
        "geo_total_debt{",
    ] {
        assert!(text.contains(name), "{name} missing: {text}");
    }

    // Admin.
    let who = hub
        .raw(
            "GET",
            "/api/v1/admin/whoami",
            None,
            None,
            &[("x-admin-token", api_support::ADMIN)],
        )
        .await;
    assert_eq!(who.body["role"], "admin");
    let snap = hub
        .raw(
            "GET",
            "/api/v1/admin/graph/snapshot?equivalent=UAH",
            None,
            None,
            &[("x-admin-token", api_support::ADMIN)],
        )
        .await;
    assert_eq!(snap.body["nodes"].as_array().map(Vec::len), Some(4));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_on_memory_store() {
    walk(Backend::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_on_sqlite() {
    walk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_on_postgres_when_configured() {
    match std::env::var("GEO_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => walk(Backend::Postgres(url)).await,
        _ => eprintln!("GEO_TEST_POSTGRES_URL not set: PostgreSQL flow skipped"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_is_refused() {
    let hub = Hub::memory().await;
    let alice = join(&hub, "alice").await;
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(&json!({ "refresh_token": alice.refresh })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let new_access = r.body["access_token"].as_str().expect("access").to_owned();
    assert_eq!(
        hub.call("GET", "/api/v1/balance", Some(&new_access), None)
            .await
            .status,
        200
    );
    let again = hub
        .call(
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(&json!({ "refresh_token": alice.refresh })),
        )
        .await;
    assert_eq!(again.status, 401, "{}", again.text);
    // Reuse revokes the whole session, including the rotated access token.
    assert_eq!(
        hub.call("GET", "/api/v1/balance", Some(&new_access), None)
            .await
            .status,
        401
    );
    hub.stop().await;
}
