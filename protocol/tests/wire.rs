//! Wire types: contract bodies round-trip, bad values are refused while deserialising, signed
//! bodies sign the same bytes as the canonical JSON of the body without `signature`.

use geo_protocol::signing::signing_bytes;
use geo_protocol::wire::auth::{LoginRequest, TokenPair};
use geo_protocol::wire::balance::{BalanceSummary, GetBalance};
use geo_protocol::wire::clearing::ClearingCyclesResponse;
use geo_protocol::wire::equivalents::EquivalentsList;
use geo_protocol::wire::error::ErrorEnvelope;
use geo_protocol::wire::events::WsEvent;
use geo_protocol::wire::integrity::{IntegrityStatusResponse, IntegrityVerifyRequest};
use geo_protocol::wire::participants::{ParticipantCreateRequest, ParticipantWithStats};
use geo_protocol::wire::payments::{
    CapacityResponse, MaxFlowResponse, PaymentCreateRequest, PaymentResult, PaymentStatus, PaymentsList,
};
use geo_protocol::wire::trustlines::{
    TrustLine, TrustLineCloseRequest, TrustLineCreateRequest, TrustLineUpdateRequest,
};
use geo_protocol::wire::{Endpoint, Method, SignedBody, WireAmount};
use geo_protocol::{Keypair, Pid};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

fn pid(n: u8) -> String {
    Pid::from_public_key(&[n; 32]).as_str().to_owned()
}

/// Deserialises `body` as `T`, serialises it back and expects the same JSON.
fn round_trip<T: Serialize + DeserializeOwned>(body: Value) -> T {
    let typed: T = serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), body);
    typed
}

/// Expects `body` to be refused as `T` with an error that mentions `needle`.
fn refused<T: DeserializeOwned + std::fmt::Debug>(body: Value, needle: &str) {
    let err = serde_json::from_value::<T>(body.clone()).expect_err(&body.to_string());
    assert!(
        err.to_string().contains(needle),
        "{err} should mention {needle:?} ({body})"
    );
}

fn payment_body() -> Value {
    json!({
        "tx_id": "cli-test-1",
        "to": pid(2),
        "equivalent": "UAH",
        "amount": "10.50",
        "description": "coffee",
        "constraints": {"max_hops": 4, "max_paths": 2, "avoid": [pid(3)]},
        "signature": "c2ln",
    })
}

#[test]
fn contract_examples_round_trip() {
    // The only `example`s the contract gives on client bodies: TokenPair's expires_in and token_type.
    let tokens: TokenPair = round_trip(json!({
        "access_token": "a",
        "refresh_token": "r",
        "expires_in": 3600,
        "token_type": "Bearer",
        "participant": {"pid": pid(1), "display_name": "Alice", "status": "active"},
    }));
    assert_eq!(tokens.expires_in, 3600);
    assert_eq!(tokens.token_type.as_deref(), Some("Bearer"));
}

#[test]
fn hand_written_bodies_round_trip() {
    let p: PaymentCreateRequest = round_trip(payment_body());
    assert_eq!(p.amount.as_str(), "10.50");
    round_trip::<ParticipantCreateRequest>(json!({
        "display_name": "Alice", "type": "business", "public_key": "AAAA",
        "profile": {"description": "bakery"}, "signature": "c2ln",
    }));
    round_trip::<ParticipantWithStats>(json!({
        "pid": pid(1), "display_name": "Alice", "type": "person", "status": "active",
        "verification_level": 0, "public_key": "AAAA", "created_at": "2024-05-01T12:00:00.123Z",
        "updated_at": "2024-05-01T12:00:00.123Z", "profile": {},
        "stats": {"total_incoming_trust": "100.00", "total_outgoing_trust": "0.00",
                  "total_debt": "10.50", "total_credit": "0.00", "net_balance": "-10.50"},
    }));
    round_trip::<TrustLineCreateRequest>(json!({
        "to": pid(1), "equivalent": "UAH", "limit": "100", "policy": {"can_be_intermediate": false},
        "signature": "c2ln",
    }));
    round_trip::<TrustLine>(json!({
        "id": "8c1f3a4e-0000-4000-8000-000000000000", "from": pid(2), "to": pid(1),
        "from_display_name": "Bob", "to_display_name": "Alice", "equivalent": "UAH",
        "limit": "100.00", "used": "10.50", "available": "89.50", "policy": {"auto_clearing": true},
        "status": "active", "created_at": "2024-05-01T12:00:00.123Z", "updated_at": "2024-05-01T12:00:00.123Z",
    }));
    let r: PaymentResult = round_trip(json!({
        "tx_id": "t1", "status": "ABORTED", "from": pid(1), "to": pid(2), "equivalent": "UAH",
        "amount": "5", "routes": [], "error": {"code": "NO_ROUTE", "message": "no route"},
        "created_at": "2024-05-01T12:00:00.123Z",
    }));
    assert_eq!(r.status, PaymentStatus::Aborted);
    round_trip::<PaymentsList>(json!({"items": [{
        "tx_id": "t2", "status": "COMMITTED", "from": pid(1), "to": pid(2), "equivalent": "UAH",
        "amount": "5.00", "routes": [{"path": [pid(1), pid(3), pid(2)], "amount": "5.00"}],
        "created_at": "2024-05-01T12:00:00.123Z", "committed_at": "2024-05-01T12:00:00.123Z",
    }]}));
    round_trip::<CapacityResponse>(
        json!({"can_pay": true, "max_amount": "20.00", "routes_count": 1, "estimated_hops": 2}),
    );
    round_trip::<MaxFlowResponse>(json!({
        "max_amount": "20.00", "paths": [{"path": [pid(1), pid(2)], "capacity": "20.00"}],
        "bottlenecks": [{"from": pid(2), "to": pid(1), "limit": "20.00", "used": "0.00", "available": "20.00"}],
        "algorithm": "k-widest", "computed_at": "2024-05-01T12:00:00.123Z",
    }));
    round_trip::<BalanceSummary>(json!({"equivalents": [{
        "code": "UAH", "total_debt": "10.50", "total_credit": "0.00", "net_balance": "-10.50",
        "available_to_spend": "89.50", "available_to_receive": "0.00",
    }]}));
    round_trip::<ClearingCyclesResponse>(json!({"cycles": [[
        {"debt_id": "d1", "debtor": pid(1), "creditor": pid(2), "amount": "1.00"},
        {"debt_id": "d2", "debtor": pid(2), "creditor": pid(1), "amount": "1.00"},
    ]]}));
    round_trip::<IntegrityStatusResponse>(
        json!({
            "status": "healthy", "last_check": "2024-05-01T12:00:00.123Z", "alerts": [],
            "equivalents": {"UAH": {"status": "healthy", "checksum": "ab", "last_verified": null,
                "invariants": {"zero_sum": {"passed": true, "value": "0"}}}},
        })
        .as_object()
        .map(|m| {
            // `last_verified: null` reads as absent and is not written back.
            let mut m = m.clone();
            m["equivalents"]["UAH"]
                .as_object_mut()
                .unwrap()
                .remove("last_verified");
            Value::Object(m)
        })
        .unwrap(),
    );
    round_trip::<EquivalentsList>(json!({"items": [{
        "code": "UAH", "symbol": "₴", "precision": 2, "is_active": true,
        "created_at": "2024-05-01T12:00:00.123Z", "updated_at": "2024-05-01T12:00:00.123Z",
    }]}));
    round_trip::<ErrorEnvelope>(
        json!({"error": {"code": "INVALID_AMOUNT", "message": "bad", "details": {"field": "amount"}}}),
    );
    round_trip::<IntegrityVerifyRequest>(json!({}));
}

#[test]
fn hub_answers_with_nulls_are_read() {
    // The hub writes `null` for absent optional values; they read as None.
    let line: TrustLine = serde_json::from_value(json!({
        "id": "x", "from": pid(2), "to": pid(1), "from_display_name": null, "to_display_name": null,
        "equivalent": "UAH", "limit": "1", "used": "0", "available": "1", "policy": null,
        "status": "active", "created_at": "t", "updated_at": "t", "extra_field_of_a_newer_hub": 1,
    }))
    .unwrap();
    assert!(line.from_display_name.is_none() && line.policy.is_none());
}

#[test]
fn websocket_events() {
    let hello: WsEvent = round_trip(json!({"type": "hello", "pid": pid(1)}));
    assert!(matches!(hello, WsEvent::Hello { .. }));
    round_trip::<WsEvent>(json!({"type": "lagged", "missed": 3}));
    let tx = json!({
        "tx_id": "t1", "type": "PAYMENT", "state": "COMMITTED", "initiator": pid(1), "equivalent": "UAH",
        "payload": {"from": pid(1)}, "error": null, "created_at": "t", "updated_at": "t",
    });
    let e: WsEvent = round_trip(json!({"type": "trustline.created", "tx": tx}));
    assert!(matches!(e, WsEvent::TrustLineCreated(_)));
    refused::<WsEvent>(json!({"type": "nonsense"}), "unknown variant");
}

#[test]
fn bad_values_are_refused_while_deserialising() {
    let with = |key: &str, v: Value| {
        let mut b = payment_body();
        b[key] = v;
        b
    };
    refused::<PaymentCreateRequest>(with("to", json!("not-a-pid")), "not a participant id");
    refused::<PaymentCreateRequest>(with("to", json!("0OIl")), "not a participant id");
    refused::<PaymentCreateRequest>(with("equivalent", json!("uah")), "equivalent code");
    refused::<PaymentCreateRequest>(with("equivalent", json!("ABCDEFGHIJKLMNOPQ")), "equivalent code");
    for (bad, why) in [
        ("1e5", "not a decimal amount"),
        ("-1", "must not be negative"),
        ("0.1.2", "not a decimal amount"),
        ("1.000000001", "decimal places"),
        ("1000000000000000000", "exceeds the supported maximum"),
        ("", "not a decimal amount"),
        (" 1", "not a decimal amount"),
    ] {
        refused::<PaymentCreateRequest>(with("amount", json!(bad)), why);
        assert!(WireAmount::parse(bad).is_err());
    }
    refused::<PaymentCreateRequest>(
        with("amount", json!(10.5)),
        "expected a non-negative decimal string",
    );
    refused::<PaymentCreateRequest>(
        with("amount", json!(10)),
        "expected a non-negative decimal string",
    );
    refused::<PaymentCreateRequest>(
        with("constraints", json!({"max_hops": 3, "speed": 1})),
        "unknown field",
    );
    refused::<IntegrityVerifyRequest>(json!({"equivalent": "UAH", "x": 1}), "unknown field");
    refused::<BalanceSummary>(
        json!({"equivalents": [{"code": "UAH", "total_debt": "1", "total_credit": "0",
            "net_balance": "--1", "available_to_spend": "0", "available_to_receive": "0"}]}),
        "not a decimal amount",
    );
}

#[test]
fn missing_required_fields_are_refused() {
    for key in ["tx_id", "to", "equivalent", "amount", "signature"] {
        let mut b = payment_body();
        b.as_object_mut().unwrap().remove(key);
        refused::<PaymentCreateRequest>(b, &format!("missing field `{key}`"));
    }
    refused::<TokenPair>(
        json!({"access_token": "a", "refresh_token": "r", "expires_in": 1}),
        "missing field `participant`",
    );
    refused::<TrustLineCreateRequest>(
        json!({"to": pid(1), "equivalent": "UAH", "signature": "s"}),
        "missing field `limit`",
    );
    refused::<ErrorEnvelope>(json!({"error": {"code": "X"}}), "missing field `message`");
}

#[test]
fn signed_bodies_sign_the_canonical_body_without_signature() {
    let key = Keypair::from_seed(&[9u8; 32]);
    let mut p: PaymentCreateRequest = serde_json::from_value(payment_body()).unwrap();
    p.sign(&key).unwrap();
    // The same bytes as the hub's check over the raw body.
    let raw = serde_json::to_value(&p).unwrap();
    assert_eq!(p.signing_payload().unwrap(), signing_bytes(&raw).unwrap());
    key.public().verify_json(&raw, p.signature()).unwrap();
    p.verify(&key.public()).unwrap();
    p.amount = WireAmount::parse("10.5").unwrap();
    assert!(
        p.verify(&key.public()).is_err(),
        "the exact amount text is signed"
    );

    let mut u: TrustLineUpdateRequest =
        serde_json::from_value(json!({"limit": "200", "signature": ""})).unwrap();
    u.sign("line-1", &key).unwrap();
    let with_id = json!({"id": "line-1", "limit": "200"});
    key.public().verify_json(&with_id, &u.signature).unwrap();
    assert!(u.verify("line-2", &key.public()).is_err());

    let c = TrustLineCloseRequest::signed("line-1", &key).unwrap();
    key.public()
        .verify_json(&json!({"id": "line-1"}), &c.signature)
        .unwrap();

    let login = LoginRequest::signed(&key, "abc".into());
    login.verify(&key.public()).unwrap();
    assert_eq!(login.pid, key.pid());
}

#[test]
fn endpoints_name_method_and_path() {
    assert_eq!(PaymentCreateRequest::METHOD, Method::Post);
    assert_eq!(PaymentCreateRequest::full_path(), "/api/v1/payments");
    assert_eq!(GetBalance::METHOD.as_str(), "GET");
    assert_eq!(<TrustLineUpdateRequest as Endpoint>::PATH, "/trustlines/{id}");
}

#[test]
fn schemas_are_generated() {
    use utoipa::PartialSchema;
    let s = serde_json::to_value(PaymentCreateRequest::schema()).unwrap();
    let required: Vec<&str> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["tx_id", "to", "equivalent", "amount", "signature"]);
    let amount = serde_json::to_value(WireAmount::schema()).unwrap();
    assert_eq!(amount["type"], "string");
    assert!(amount["pattern"].as_str().is_some());
}
