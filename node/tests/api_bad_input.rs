//! Every class of bad input gets the contract's status and code, never a 5xx, and leaves the
//! state checksum unchanged. Also: rate limits, expired tokens, replayed challenges, and a
//! client that disconnects in the middle of `POST /payments`.

mod api_support;

use std::time::Duration;

use api_support::{eventually, join, login, pay, payment_body, trust, Backend, Hub, User, ADMIN};
use geo_node::api::{ApiConfig, RateTable};
use geo_node::engine::EngineConfig;
use geo_protocol::Keypair;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

/// Hub with alice, bob, a line "bob trusts alice for 100 UAH" and alice owing bob 50.
async fn setup() -> (Hub, User, User, String) {
    let hub = Hub::memory().await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    let line = trust(&hub, &bob, &alice, "UAH", "100").await;
    let p = pay(&hub, &alice, &bob, "UAH", "50").await;
    assert_eq!(p.body["status"], "COMMITTED", "{}", p.text);
    (hub, alice, bob, line)
}

fn expect(r: &api_support::Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text);
    assert_eq!(r.code(), code, "{what}: {}", r.text);
    assert!(
        r.body["error"]["message"].is_string(),
        "{what}: envelope {}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_and_change_nothing() {
    let (hub, alice, bob, line) = setup().await;
    let before = hub.checksum(&alice.token, "UAH").await;
    let post = |body: Value| {
        let hub = &hub;
        let token = alice.token.clone();
        async move {
            hub.call("POST", "/api/v1/payments", Some(&token), Some(&body))
                .await
        }
    };
    let tx = |n: &str| format!("bad-{n}-{}", uuid::Uuid::new_v4().simple());

    // Malformed JSON.
    let r = hub
        .raw(
            "POST",
            "/api/v1/payments",
            Some(&alice.token),
            Some(b"{\"tx_id\": ".to_vec()),
            &[],
        )
        .await;
    expect(&r, 400, "INVALID_JSON", "malformed JSON");
    let r = hub
        .raw("POST", "/api/v1/participants", None, Some(b"[1,2".to_vec()), &[])
        .await;
    expect(&r, 400, "INVALID_JSON", "malformed JSON on registration");

    // Missing signature.
    let mut body = payment_body(&alice, &bob, "UAH", "1", &tx("nosig"));
    body.as_object_mut().map(|m| m.remove("signature"));
    expect(&post(body).await, 401, "INVALID_SIGNATURE", "missing signature");

    // Wrong signature (garbage, and a well-formed signature of something else).
    let mut body = payment_body(&alice, &bob, "UAH", "1", &tx("garbage"));
    body["signature"] = json!("not-base64!");
    expect(&post(body).await, 401, "INVALID_SIGNATURE", "garbage signature");
    let mut body = payment_body(&alice, &bob, "UAH", "1", &tx("wrong"));
    body["signature"] = json!(alice.key.sign_bytes(b"something else"));
    expect(&post(body).await, 401, "INVALID_SIGNATURE", "wrong signature");

    // Another key's signature: alice's payment signed by bob.
    let body = bob
        .sign(json!({ "tx_id": tx("otherkey"), "to": bob.pid.as_str(), "equivalent": "UAH", "amount": "1" }));
    expect(
        &post(body).await,
        401,
        "INVALID_SIGNATURE",
        "other key's signature",
    );

    // Tampered body: signed for 1, sent with 2.
    let mut body = payment_body(&alice, &bob, "UAH", "1", &tx("tamper"));
    body["amount"] = json!("2");
    expect(&post(body).await, 401, "INVALID_SIGNATURE", "tampered body");

    // Amounts.
    for (amount, what) in [
        ("1.001", "too many decimals"),
        ("-5", "negative"),
        ("0", "zero"),
        ("0.00", "zero"),
        ("1e3", "exponent"),
    ] {
        let body = payment_body(&alice, &bob, "UAH", amount, &tx("amount"));
        expect(&post(body).await, 400, "INVALID_AMOUNT", what);
    }
    let body =
        alice.sign(json!({ "tx_id": tx("num"), "to": bob.pid.as_str(), "equivalent": "UAH", "amount": 5 }));
    expect(&post(body).await, 400, "INVALID_AMOUNT", "amount as a number");
    // Too precise for a trust-line limit as well.
    let body = bob.sign(json!({ "to": alice.pid.as_str(), "equivalent": "EUR", "limit": "10.123" }));
    let r = hub
        .call("POST", "/api/v1/trustlines", Some(&bob.token), Some(&body))
        .await;
    expect(&r, 400, "INVALID_AMOUNT", "limit with too many decimals");

    // Unknown equivalent, unknown participant.
    let body = payment_body(&alice, &bob, "XYZ", "1", &tx("eq"));
    expect(
        &post(body).await,
        404,
        "EQUIVALENT_NOT_FOUND",
        "unknown equivalent",
    );
    let stranger = Keypair::generate();
    let body = alice.sign(
        json!({ "tx_id": tx("who"), "to": stranger.pid().as_str(), "equivalent": "UAH", "amount": "1" }),
    );
    expect(
        &post(body).await,
        404,
        "PARTICIPANT_NOT_FOUND",
        "unknown participant",
    );
    let r = hub
        .call(
            "GET",
            &format!("/api/v1/participants/{}", stranger.pid()),
            Some(&alice.token),
            None,
        )
        .await;
    expect(&r, 404, "PARTICIPANT_NOT_FOUND", "unknown participant lookup");
    let body = alice
        .sign(json!({ "tx_id": "bad tx id!", "to": bob.pid.as_str(), "equivalent": "UAH", "amount": "1" }));
    expect(&post(body).await, 400, "VALIDATION_ERROR", "malformed tx_id");

    // Limit below the current debt (alice owes bob 50 on bob's line).
    let body = bob.sign(json!({ "id": line, "limit": "10" }));
    let r = hub
        .call(
            "PATCH",
            &format!("/api/v1/trustlines/{line}"),
            Some(&bob.token),
            Some(&body),
        )
        .await;
    expect(&r, 409, "LIMIT_BELOW_DEBT", "limit below debt");
    // Only the owner manages a line.
    let body = alice.sign(json!({ "id": line, "limit": "500" }));
    let r = hub
        .call(
            "PATCH",
            &format!("/api/v1/trustlines/{line}"),
            Some(&alice.token),
            Some(&body),
        )
        .await;
    expect(&r, 403, "FORBIDDEN", "not the owner");
    // Closing with a debt outstanding.
    let body = bob.sign(json!({ "id": line }));
    let r = hub
        .call(
            "DELETE",
            &format!("/api/v1/trustlines/{line}"),
            Some(&bob.token),
            Some(&body),
        )
        .await;
    expect(&r, 409, "DEBT_OUTSTANDING", "close with debt");

    // Oversized body.
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100 * 1024));
    let r = hub
        .raw(
            "POST",
            "/api/v1/payments",
            Some(&alice.token),
            Some(big.into_bytes()),
            &[],
        )
        .await;
    expect(&r, 413, "PAYLOAD_TOO_LARGE", "oversized body");

    // Missing and bogus tokens, wrong admin token.
    expect(
        &hub.call("GET", "/api/v1/balance", None, None).await,
        401,
        "UNAUTHORIZED",
        "no token",
    );
    expect(
        &hub.call("GET", "/api/v1/balance", Some("bogus"), None).await,
        401,
        "UNAUTHORIZED",
        "bogus token",
    );
    let r = hub
        .raw(
            "GET",
            "/api/v1/admin/whoami",
            None,
            None,
            &[("x-admin-token", "nope")],
        )
        .await;
    expect(&r, 403, "FORBIDDEN", "wrong admin token");

    // Replayed login challenge.
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/challenge",
            None,
            Some(&json!({ "pid": alice.pid.as_str() })),
        )
        .await;
    let challenge = r.body["challenge"].as_str().expect("challenge").to_owned();
    let login_body = json!({ "pid": alice.pid.as_str(), "challenge": challenge,
        "signature": alice.key.sign_bytes(challenge.as_bytes()) });
    assert_eq!(
        hub.call("POST", "/api/v1/auth/login", None, Some(&login_body))
            .await
            .status,
        200
    );
    let r = hub
        .call("POST", "/api/v1/auth/login", None, Some(&login_body))
        .await;
    expect(&r, 401, "INVALID_CHALLENGE", "replayed challenge");
    // A challenge signed by another key.
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/challenge",
            None,
            Some(&json!({ "pid": alice.pid.as_str() })),
        )
        .await;
    let challenge = r.body["challenge"].as_str().expect("challenge").to_owned();
    let r = hub
        .call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({ "pid": alice.pid.as_str(), "challenge": challenge,
                "signature": bob.key.sign_bytes(challenge.as_bytes()) })),
        )
        .await;
    expect(&r, 401, "INVALID_SIGNATURE", "login signed by another key");

    // Registration: tampered body.
    let key = Keypair::generate();
    let mut reg = key
        .signed(json!({ "display_name": "eve", "type": "person", "public_key": key.public().to_base64() }))
        .expect("sign");
    reg["display_name"] = json!("mallory");
    let r = hub.call("POST", "/api/v1/participants", None, Some(&reg)).await;
    expect(&r, 401, "INVALID_SIGNATURE", "tampered registration");
    // Registering twice.
    let again = alice.sign(
        json!({ "display_name": "alice", "type": "person", "public_key": alice.key.public().to_base64() }),
    );
    let r = hub.call("POST", "/api/v1/participants", None, Some(&again)).await;
    expect(&r, 409, "PARTICIPANT_EXISTS", "duplicate registration");

    assert_eq!(
        hub.checksum(&alice.token, "UAH").await,
        before,
        "bad input changed the state"
    );

    // tx_id reuse: same body replays the outcome, another body is a conflict.
    let id = tx("reuse");
    let body = payment_body(&alice, &bob, "UAH", "5", &id);
    let first = post(body.clone()).await;
    assert_eq!(first.body["status"], "COMMITTED", "{}", first.text);
    let after_first = hub.checksum(&alice.token, "UAH").await;
    let replay = post(body).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.body, first.body, "a replay returns the recorded outcome");
    let other = payment_body(&alice, &bob, "UAH", "6", &id);
    expect(
        &post(other).await,
        409,
        "TX_ID_CONFLICT",
        "tx_id reused with another body",
    );
    // Another payer cannot reuse it either.
    let theirs = payment_body(&bob, &alice, "UAH", "5", &id);
    let r = hub
        .call("POST", "/api/v1/payments", Some(&bob.token), Some(&theirs))
        .await;
    expect(&r, 409, "TX_ID_CONFLICT", "tx_id of another payer");
    assert_eq!(hub.checksum(&alice.token, "UAH").await, after_first);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_refused() {
    let hub = Hub::memory().await;
    let mut alice = join(&hub, "alice").await;
    let before = hub.checksum(&alice.token, "UAH").await;
    let admin = [("x-admin-token", ADMIN)];
    let set_ttl = |secs: u64| {
        let hub = &hub;
        async move {
            let body = json!({ "updates": { "access_ttl_seconds": secs } })
                .to_string()
                .into_bytes();
            let r = hub
                .raw("PATCH", "/api/v1/admin/config", None, Some(body), &admin)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    set_ttl(1).await;
    login(&hub, &mut alice).await;
    let expired = eventually(Duration::from_secs(10), || async {
        let r = hub.call("GET", "/api/v1/balance", Some(&alice.token), None).await;
        (r.status == 401).then_some(r)
    })
    .await
    .expect("the token expires");
    expect(&expired, 401, "TOKEN_EXPIRED", "expired token");
    set_ttl(900).await;
    login(&hub, &mut alice).await;
    assert_eq!(hub.checksum(&alice.token, "UAH").await, before);
    hub.stop().await;
}

/// The first request (of up to `tries`) answered 429.
async fn first_limited(
    tries: usize,
    mut call: impl AsyncFnMut() -> api_support::Resp,
) -> Option<api_support::Resp> {
    for _ in 0..tries {
        let r = call().await;
        if r.status == 429 {
            return Some(r);
        }
    }
    None
}

fn expect_limited(r: Option<api_support::Resp>, scope: &str, class: &str) {
    let r = r.unwrap_or_else(|| panic!("no 429 for {scope}/{class}"));
    expect(&r, 429, "RATE_LIMITED", &format!("{scope} {class} limit"));
    assert_eq!(r.body["error"]["details"]["scope"], scope, "{}", r.text);
    assert_eq!(r.body["error"]["details"]["class"], class, "{}", r.text);
    assert!(r.headers.contains_key("retry-after"));
}

/// A hub with the default configuration limits as the architecture says: 5 logins a minute per
/// client IP (and per participant), 100 other requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limits_are_the_architectures() {
    let defaults = ApiConfig::default();
    assert_eq!(defaults.ip_rates, RateTable::SEED);
    assert_eq!(defaults.participant_rates, RateTable::SEED);
    assert_eq!(
        (
            RateTable::SEED.login,
            RateTable::SEED.payments,
            RateTable::SEED.trustlines,
            RateTable::SEED.default
        ),
        (5, 30, 10, 100)
    );
    let hub = Hub::start(Backend::Memory, ApiConfig::default(), EngineConfig::default()).await;
    let mut alice = join(&hub, "alice").await; // the first login of the minute
    for _ in 0..4 {
        login(&hub, &mut alice).await;
    }
    let challenge = hub
        .call(
            "POST",
            "/api/v1/auth/challenge",
            None,
            Some(&json!({ "pid": alice.pid.as_str() })),
        )
        .await;
    assert_eq!(
        challenge.status, 200,
        "challenges are not logins: {}",
        challenge.text
    );
    let c = challenge.body["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned();
    let body =
        json!({ "pid": alice.pid.as_str(), "challenge": c, "signature": alice.key.sign_bytes(c.as_bytes()) });
    let sixth = hub.call("POST", "/api/v1/auth/login", None, Some(&body)).await;
    expect_limited(Some(sixth), "ip", "login");
    // Other requests have their own budget.
    let r = hub.call("GET", "/api/v1/balance", Some(&alice.token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    hub.stop().await;
}

/// Each class has its own bucket per participant and per client IP; a refused request changes
/// nothing; health probes are never limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_are_limited() {
    let config = ApiConfig {
        participant_rates: RateTable {
            login: 0,
            payments: 2,
            trustlines: 2,
            default: 8,
        },
        ip_rates: RateTable {
            default: 40,
            ..RateTable::OFF
        },
        ..ApiConfig::default()
    };
    let hub = Hub::start(Backend::Memory, config, EngineConfig::default()).await;
    let alice = join(&hub, "alice").await;
    let bob = join(&hub, "bob").await;
    trust(&hub, &bob, &alice, "UAH", "100").await;
    trust(&hub, &alice, &bob, "UAH", "100").await;
    // Bob's third trust-line change within the minute is refused (his budget is 2).
    let carol = join(&hub, "carol").await;
    let body = bob.sign(json!({ "to": carol.pid.as_str(), "equivalent": "UAH", "limit": "5" }));
    let r = hub
        .call("POST", "/api/v1/trustlines", Some(&bob.token), Some(&body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let body = bob.sign(json!({ "to": carol.pid.as_str(), "equivalent": "EUR", "limit": "5" }));
    let r = hub
        .call("POST", "/api/v1/trustlines", Some(&bob.token), Some(&body))
        .await;
    expect_limited(Some(r), "participant", "trustlines");

    let before = hub.checksum(&alice.token, "UAH").await;
    assert_eq!(pay(&hub, &alice, &bob, "UAH", "1").await.status, 200);
    assert_eq!(pay(&hub, &alice, &bob, "UAH", "1").await.status, 200);
    let third = pay(&hub, &alice, &bob, "UAH", "1").await;
    expect_limited(Some(third), "participant", "payments");
    let after_two = hub.checksum(&alice.token, "UAH").await;
    assert_ne!(
        after_two, before,
        "the two payments within the budget went through"
    );
    // Reads are another class: still allowed, until their own budget is spent.
    let r = first_limited(20, async || {
        hub.call("GET", "/api/v1/balance", Some(&alice.token), None).await
    })
    .await;
    expect_limited(r, "participant", "default");
    // Unauthenticated requests from this address spend the IP budget.
    let r = first_limited(60, async || hub.call("GET", "/api/v1/nowhere", None, None).await).await;
    expect_limited(r, "ip", "default");
    // Health probes are not limited.
    assert_eq!(hub.call("GET", "/healthz", None, None).await.status, 200);
    // Nothing refused changed the state: the checksum is the one after the two payments.
    let cs = eventually(Duration::from_secs(70), || async {
        let r = hub
            .call("GET", "/api/v1/integrity/checksum/UAH", Some(&bob.token), None)
            .await;
        (r.status == 200)
            .then(|| r.body["checksum"].as_str().map(str::to_owned))
            .flatten()
    })
    .await;
    assert_eq!(cs.as_deref(), Some(after_two.as_str()));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_mid_payment_never_half_applies() {
    let (hub, alice, bob, _line) = setup().await;
    let debt = |hub: &Hub, u: &User| {
        let token = u.token.clone();
        let hub_addr = hub.addr;
        async move {
            let r = api_support::http(
                hub_addr,
                "GET",
                "/api/v1/balance/debts?equivalent=UAH",
                Some(&token),
                None,
                &[],
            )
            .await;
            r.body["outgoing"]
                .as_array()
                .and_then(|o| o.first())
                .and_then(|d| d["amount"].as_str())
                .map(str::to_owned)
        }
    };
    assert_eq!(debt(&hub, &alice).await.as_deref(), Some("50.00"));
    for round in 0..5 {
        let tx_id = format!("drop-{round}-{}", uuid::Uuid::new_v4().simple());
        let body = payment_body(&alice, &bob, "UAH", "1", &tx_id).to_string();
        let request = format!(
            "POST /api/v1/payments HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            hub.addr,
            alice.token,
            body.len(),
            body
        );
        let mut stream = tokio::net::TcpStream::connect(hub.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        drop(stream);
        let path = format!("/api/v1/payments/{tx_id}");
        let committed = eventually(Duration::from_secs(3), || async {
            let r = hub.call("GET", &path, Some(&alice.token), None).await;
            (r.status == 200).then_some(r)
        })
        .await;
        match committed {
            Some(r) => assert_eq!(r.body["status"], "COMMITTED", "{}", r.text),
            None => {
                // Clearly absent: the tx_id is still free, and sending it again pays once.
                let r = hub
                    .call(
                        "POST",
                        "/api/v1/payments",
                        Some(&alice.token),
                        Some(&serde_json::from_str(&body).expect("json")),
                    )
                    .await;
                eprintln!("round {round}: resent: {}", r.text);
                assert_eq!(r.body["status"], "COMMITTED", "{}", r.text);
            }
        }
        // Exactly one payment of 1 was applied: never half, never twice.
        let want = format!("{}.00", 51 + round);
        assert_eq!(debt(&hub, &alice).await.as_deref(), Some(want.as_str()));
    }
    let v = hub
        .call("POST", "/api/v1/integrity/verify", Some(&alice.token), None)
        .await;
    assert_eq!(v.body["status"], "healthy", "{}", v.text);
    let admin = hub
        .raw(
            "GET",
            "/api/v1/admin/audit-log",
            None,
            None,
            &[("x-admin-token", ADMIN)],
        )
        .await;
    assert_eq!(admin.status, 200);
    hub.stop().await;
}
