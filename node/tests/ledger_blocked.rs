//! `blocked_participants` may name a PID that registers later: the block takes effect when it
//! registers, also when the line was loaded from the store before.

use std::sync::Arc;

use geo_node::ledger::lines::NewTrustLine;
use geo_node::ledger::model::TxState;
use geo_node::ledger::participants::{NewEquivalent, NewParticipant};
use geo_node::ledger::payments::PaymentRequest;
use geo_node::ledger::{Ledger, LedgerConfig};
use geo_node::store::{MemoryStore, Store};
use geo_protocol::{EquivalentCode, Keypair, Pid, Precision};
use serde_json::json;

fn key(i: u8) -> Keypair {
    Keypair::from_seed(&[i + 1; 32])
}

fn pid(i: u8) -> Pid {
    key(i).pid()
}

fn uah() -> EquivalentCode {
    EquivalentCode::new("UAH").unwrap()
}

fn register(l: &mut Ledger, i: u8) {
    l.register(
        NewParticipant {
            pid: pid(i),
            public_key: key(i).public().to_base64(),
            display_name: format!("p{i}"),
            kind: "person".into(),
            profile: json!({}),
        },
        1,
    )
    .unwrap();
}

fn line(l: &mut Ledger, from: u8, to: u8, blocked: &[u8]) {
    let blocked: Vec<String> = blocked.iter().map(|&b| pid(b).to_string()).collect();
    l.create_line(
        NewTrustLine {
            id: uuid::Uuid::new_v4(),
            from: pid(from),
            to: pid(to),
            equivalent: uah(),
            limit: "100".into(),
            policy: Some(json!({ "blocked_participants": blocked })),
        },
        1,
    )
    .unwrap();
}

fn new_ledger() -> Ledger {
    let mut l = Ledger::new(LedgerConfig::default());
    l.create_equivalent(
        NewEquivalent {
            code: uah(),
            precision: Precision::new(2).unwrap(),
            symbol: None,
            description: None,
            metadata: json!({}),
        },
        0,
    )
    .unwrap();
    l
}

/// Pays 10 from 0 to 2; the only route is 0 -> 4 -> 3 -> 2 (lines 4->0, 3->4, 2->3).
fn pay_through_3(l: &mut Ledger, tx: &str) -> TxState {
    let req = PaymentRequest {
        tx_id: tx.into(),
        from: pid(0),
        to: pid(2),
        equivalent: uah(),
        amount: "10".into(),
        description: None,
        max_hops: None,
        max_paths: None,
        avoid: vec![],
        request_hash: tx.into(),
    };
    l.pay(&req, 2).unwrap().record().state
}

/// Builds the route with the line 4 -> 0 blocking participant 3 before 3 exists; `restart`
/// reloads the ledger from a store between the block and the registration.
fn scenario(block: bool, restart: bool) -> TxState {
    let mut l = new_ledger();
    for i in [0, 2, 4] {
        register(&mut l, i);
    }
    line(&mut l, 4, 0, if block { &[3] } else { &[] });
    if restart {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let store = Arc::new(MemoryStore::new());
        rt.block_on(store.apply(&l.take_changes())).unwrap();
        let snap = rt.block_on(store.load()).unwrap();
        l = Ledger::restore(LedgerConfig::default(), snap).expect("restore");
    }
    register(&mut l, 3);
    line(&mut l, 3, 4, &[]);
    line(&mut l, 2, 3, &[]);
    pay_through_3(&mut l, "t1")
}

#[test]
fn a_block_on_a_later_participant_applies_when_it_registers() {
    assert_eq!(
        scenario(false, false),
        TxState::Committed,
        "control: the route works"
    );
    assert_eq!(scenario(true, false), TxState::Aborted);
}

#[test]
fn a_block_loaded_from_the_store_applies_when_the_participant_registers() {
    assert_eq!(
        scenario(false, true),
        TxState::Committed,
        "control: the route works"
    );
    assert_eq!(scenario(true, true), TxState::Aborted);
}
