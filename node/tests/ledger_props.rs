//! Property tests of the ledger against the in-memory store: random sequences of registrations,
//! trust-line changes, payments (single and multi-path), prepares, commits, aborts, expiries,
//! clearings and restarts keep every invariant; a refused operation changes nothing; and the
//! ledger reloaded from the store equals the one in memory.

use std::sync::Arc;

use geo_node::ledger::lines::{NewTrustLine, TrustLineUpdate};
use geo_node::ledger::model::ParticipantStatus;
use geo_node::ledger::participants::{NewEquivalent, NewParticipant};
use geo_node::ledger::payments::{PaymentOutcome, PaymentRequest};
use geo_node::ledger::{Ledger, LedgerConfig, LedgerError};
use geo_node::store::{MemoryStore, Store};
use geo_protocol::{EquivalentCode, Keypair, Pid, Precision};
use proptest::prelude::*;

fn pid(i: u8) -> Pid {
    Keypair::from_seed(&[i.wrapping_add(1); 32]).pid()
}

fn uah() -> EquivalentCode {
    EquivalentCode::new("UAH").unwrap()
}

fn cents(c: u32) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

#[derive(Debug, Clone)]
enum Op {
    Register(u8),
    Line {
        from: u8,
        to: u8,
        limit: u32,
        auto_clearing: bool,
        intermediate: bool,
    },
    UpdateLine {
        line: u8,
        limit: u32,
        auto_clearing: bool,
    },
    CloseLine(u8),
    Pay {
        from: u8,
        to: u8,
        amount: u32,
        max_paths: u8,
    },
    Prepare {
        from: u8,
        to: u8,
        amount: u32,
        ttl: u8,
    },
    Commit(u8),
    Abort(u8),
    Advance(u16),
    ClearShort,
    ClearOptimal,
    Freeze(u8, bool),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 7u8;
    prop_oneof![
        1 => (0..n).prop_map(Op::Register),
        4 => (0..n, 0..n, 1u32..20_000, any::<bool>(), prop::bool::weighted(0.85))
            .prop_map(|(from, to, limit, auto_clearing, intermediate)| Op::Line { from, to, limit, auto_clearing, intermediate }),
        1 => (any::<u8>(), 0u32..20_000, any::<bool>()).prop_map(|(line, limit, auto_clearing)| Op::UpdateLine { line, limit, auto_clearing }),
        1 => any::<u8>().prop_map(Op::CloseLine),
        8 => (0..n, 0..n, 1u32..6_000, 1u8..4).prop_map(|(from, to, amount, max_paths)| Op::Pay { from, to, amount, max_paths }),
        2 => (0..n, 0..n, 1u32..5_000, 1u8..20).prop_map(|(from, to, amount, ttl)| Op::Prepare { from, to, amount, ttl }),
        1 => any::<u8>().prop_map(Op::Commit),
        1 => any::<u8>().prop_map(Op::Abort),
        1 => (0u16..30).prop_map(Op::Advance),
        1 => Just(Op::ClearShort),
        1 => Just(Op::ClearOptimal),
        1 => (0..n, prop::bool::weighted(0.3)).prop_map(|(p, f)| Op::Freeze(p, f)),
        1 => Just(Op::Restart),
    ]
}

struct World {
    rt: tokio::runtime::Runtime,
    store: Arc<MemoryStore>,
    ledger: Ledger,
    now: i64,
    prepared: Vec<String>,
    tx_seq: u64,
    stats: Stats,
}

/// What the random histories exercised (checked so the property cannot pass vacuously).
#[derive(Debug, Default, Clone, Copy)]
struct Stats {
    committed: usize,
    multi_path: usize,
    multi_hop: usize,
    aborted: usize,
    cleared: usize,
    expired: usize,
    restarts: usize,
}

impl World {
    fn new() -> World {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let store = Arc::new(MemoryStore::new());
        let mut ledger = Ledger::new(LedgerConfig::default());
        ledger
            .create_equivalent(
                NewEquivalent {
                    code: uah(),
                    precision: Precision::new(2).unwrap(),
                    symbol: None,
                    description: None,
                    metadata: serde_json::json!({}),
                },
                0,
            )
            .unwrap();
        let mut w = World {
            rt,
            store,
            ledger,
            now: 1_000,
            prepared: Vec::new(),
            tx_seq: 0,
            stats: Stats::default(),
        };
        for i in 0..6 {
            w.apply(&Op::Register(i)).unwrap();
        }
        // A ring with chords, so that payments find multi-hop and multi-path routes and leave
        // cycles of debt behind for clearing.
        for a in 0..6u8 {
            for (step, limit) in [(1u8, 5_000u32), (2, 3_000), (5, 2_000)] {
                let b = (a + step) % 6;
                w.apply(&Op::Line {
                    from: a,
                    to: b,
                    limit,
                    auto_clearing: a != 3,
                    intermediate: true,
                })
                .unwrap();
            }
        }
        w.persist();
        w
    }

    fn persist(&mut self) {
        let changes = self.ledger.take_changes();
        self.stats.cleared += changes
            .transactions
            .iter()
            .filter(|t| t.kind == geo_node::ledger::model::TxKind::Clearing)
            .count();
        self.rt.block_on(self.store.apply(&changes)).unwrap();
    }

    fn payment(&mut self, from: u8, to: u8, amount: u32, max_paths: Option<usize>) -> PaymentRequest {
        self.tx_seq += 1;
        PaymentRequest {
            tx_id: format!("tx-{}", self.tx_seq),
            from: pid(from),
            to: pid(to),
            equivalent: uah(),
            amount: cents(amount),
            description: None,
            max_hops: None,
            max_paths,
            avoid: vec![],
            request_hash: format!("h{}", self.tx_seq),
        }
    }

    fn nth_line(&self, i: u8) -> Option<(uuid::Uuid, Pid)> {
        let lines = self.ledger.lines();
        if lines.is_empty() {
            return None;
        }
        let l = &lines[usize::from(i) % lines.len()];
        Some((l.id, self.ledger.pid(l.from).clone()))
    }

    fn apply(&mut self, op: &Op) -> Result<(), LedgerError> {
        let now = self.now;
        match op.clone() {
            Op::Register(i) => self
                .ledger
                .register(
                    NewParticipant {
                        pid: pid(i),
                        public_key: Keypair::from_seed(&[i.wrapping_add(1); 32]).public().to_base64(),
                        display_name: format!("p{i}"),
                        kind: "person".into(),
                        profile: serde_json::json!({}),
                    },
                    now,
                )
                .map(|_| ()),
            Op::Line {
                from,
                to,
                limit,
                auto_clearing,
                intermediate,
            } => self
                .ledger
                .create_line(
                    NewTrustLine {
                        id: uuid::Uuid::new_v4(),
                        from: pid(from),
                        to: pid(to),
                        equivalent: uah(),
                        limit: cents(limit),
                        policy: Some(serde_json::json!({
                            "auto_clearing": auto_clearing,
                            "can_be_intermediate": intermediate,
                        })),
                    },
                    now,
                )
                .map(|_| ()),
            Op::UpdateLine {
                line,
                limit,
                auto_clearing,
            } => {
                let Some((id, by)) = self.nth_line(line) else {
                    return Ok(());
                };
                self.ledger
                    .update_line(
                        TrustLineUpdate {
                            id,
                            by,
                            limit: Some(cents(limit)),
                            policy: Some(serde_json::json!({ "auto_clearing": auto_clearing })),
                        },
                        now,
                    )
                    .map(|_| ())
            }
            Op::CloseLine(line) => {
                let Some((id, by)) = self.nth_line(line) else {
                    return Ok(());
                };
                self.ledger.close_line(&id, &by, now).map(|_| ())
            }
            Op::Pay {
                from,
                to,
                amount,
                max_paths,
            } => {
                let req = self.payment(from, to, amount, Some(usize::from(max_paths)));
                let out = self.ledger.pay(&req, now)?;
                let rec = out.record();
                if rec.state == geo_node::ledger::model::TxState::Committed {
                    self.stats.committed += 1;
                    let routes = rec.payload.to_json()["routes"].as_array().map_or(0, Vec::len);
                    if routes > 1 {
                        self.stats.multi_path += 1;
                    }
                    if rec.payload.to_json()["routes"][0]["path"]
                        .as_array()
                        .map_or(0, Vec::len)
                        > 2
                    {
                        self.stats.multi_hop += 1;
                    }
                } else {
                    self.stats.aborted += 1;
                }
                Ok(())
            }
            Op::Prepare {
                from,
                to,
                amount,
                ttl,
            } => {
                let req = self.payment(from, to, amount, None);
                let out = self.ledger.prepare(&req, now + i64::from(ttl), now)?;
                if let PaymentOutcome::Fresh(rec) = out {
                    self.prepared.push(rec.tx_id);
                }
                Ok(())
            }
            Op::Commit(i) | Op::Abort(i) => {
                if self.prepared.is_empty() {
                    return Ok(());
                }
                let id = self.prepared.remove(usize::from(i) % self.prepared.len());
                let r = if matches!(op, Op::Commit(_)) {
                    self.ledger.commit(&id, now)
                } else {
                    self.ledger.abort(&id, "test", now)
                };
                r.map(|_| ())
            }
            Op::Advance(ms) => {
                self.now += i64::from(ms);
                self.stats.expired += self.ledger.expire_locks(self.now).len();
                Ok(())
            }
            Op::ClearShort => {
                self.ledger.clear_short_cycles(0, 4, now);
                Ok(())
            }
            Op::ClearOptimal => self.ledger.clear_optimal(0, now).map(|_| ()),
            Op::Freeze(p, frozen) => {
                let status = if frozen {
                    ParticipantStatus::Suspended
                } else {
                    ParticipantStatus::Active
                };
                self.ledger
                    .set_participant_status(&pid(p), status, now)
                    .map(|_| ())
            }
            Op::Restart => {
                self.stats.restarts += 1;
                let before = self.ledger.dump();
                let snap = self.rt.block_on(self.store.load()).unwrap();
                self.ledger = Ledger::restore(LedgerConfig::default(), snap).expect("restore");
                assert_eq!(self.ledger.dump(), before, "reloaded ledger differs from memory");
                Ok(())
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_keep_every_invariant(ops in prop::collection::vec(op(), 1..40)) {
        let mut w = World::new();
        for op in &ops {
            let before = w.ledger.dump();
            let result = w.apply(op);
            if let Err(e) = &result {
                // A refused operation changes nothing at all.
                prop_assert!(!matches!(e, LedgerError::Integrity(_)), "integrity error: {e}");
                prop_assert_eq!(&w.ledger.dump(), &before, "refused {:?} changed the ledger", op);
            }
            let report = w.ledger.check(0);
            prop_assert!(report.passed(), "invariants broken after {:?}: {:?}", op, report);
            w.persist();
        }
        // The store holds exactly what memory holds.
        let dump = w.ledger.dump();
        let snap = w.rt.block_on(w.store.load()).unwrap();
        let reloaded = Ledger::restore(LedgerConfig::default(), snap).expect("restore");
        prop_assert_eq!(reloaded.dump(), dump);
    }
}

#[test]
fn random_histories_exercise_every_operation() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(op(), 20..40);
    let mut total = Stats::default();
    for _ in 0..300 {
        let ops = strategy.new_tree(&mut runner).unwrap().current();
        let mut w = World::new();
        for op in &ops {
            let _ = w.apply(op);
            w.persist();
        }
        let s = w.stats;
        total.committed += s.committed;
        total.multi_path += s.multi_path;
        total.multi_hop += s.multi_hop;
        total.aborted += s.aborted;
        total.cleared += s.cleared;
        total.expired += s.expired;
        total.restarts += s.restarts;
    }
    eprintln!("{total:?}");
    assert!(total.committed > 300, "{total:?}");
    assert!(total.multi_path > 10, "{total:?}");
    assert!(total.multi_hop > 30, "{total:?}");
    assert!(total.aborted > 30, "{total:?}");
    assert!(total.cleared > 10, "{total:?}");
    assert!(total.expired > 10, "{total:?}");
    assert!(total.restarts > 30, "{total:?}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut w = World::new();
    w.apply(&Op::Pay {
        from: 0,
        to: 1,
        amount: 1_000,
        max_paths: 1,
    })
    .unwrap();
    w.persist();
    let before = w.ledger.dump();
    let checksum = w.ledger.full_checksum(0);
    let mut bad = Vec::new();
    for amount in [
        "1.001",
        "-5",
        "0",
        "0.00",
        "1e3",
        "abc",
        "",
        "99999999999999999999",
    ] {
        let mut req = w.payment(0, 1, 1, None);
        req.amount = amount.into();
        bad.push(w.ledger.pay(&req, w.now).unwrap_err());
    }
    let mut req = w.payment(0, 1, 100, None);
    req.to = pid(99);
    bad.push(w.ledger.pay(&req, w.now).unwrap_err());
    let mut req = w.payment(0, 1, 100, None);
    req.equivalent = EquivalentCode::new("NOPE").unwrap();
    bad.push(w.ledger.pay(&req, w.now).unwrap_err());
    let mut req = w.payment(0, 0, 100, None);
    req.to = pid(0);
    bad.push(w.ledger.pay(&req, w.now).unwrap_err());
    // A line that carries the payment's debt: its limit cannot go below it, it cannot close,
    // and only its owner may touch it.
    let line = w
        .ledger
        .lines()
        .iter()
        .find(|l| w.ledger.line_used(l) > 0)
        .unwrap()
        .clone();
    let (id, by) = (line.id, w.ledger.pid(line.from).clone());
    let below = geo_protocol::Amount::from_atoms(w.ledger.line_used(&line) - 1_000_000).unwrap();
    bad.push(
        w.ledger
            .update_line(
                TrustLineUpdate {
                    id,
                    by: by.clone(),
                    limit: Some(below.to_string()),
                    policy: None,
                },
                w.now,
            )
            .unwrap_err(),
    );
    bad.push(w.ledger.close_line(&id, &by, w.now).unwrap_err());
    let trustee = w.ledger.pid(line.to).clone();
    bad.push(w.ledger.close_line(&id, &trustee, w.now).unwrap_err());
    bad.push(
        w.ledger
            .update_line(
                TrustLineUpdate {
                    id,
                    by,
                    limit: None,
                    policy: Some(serde_json::json!({"bogus": true})),
                },
                w.now,
            )
            .unwrap_err(),
    );
    let codes: Vec<&str> = bad.iter().map(LedgerError::code).collect();
    assert_eq!(
        codes,
        [
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "INVALID_AMOUNT",
            "PARTICIPANT_NOT_FOUND",
            "EQUIVALENT_NOT_FOUND",
            "SAME_PARTICIPANT",
            "LIMIT_BELOW_DEBT",
            "DEBT_OUTSTANDING",
            "FORBIDDEN",
            "INVALID_POLICY"
        ]
    );
    assert!(!w.ledger.has_changes());
    assert_eq!(w.ledger.dump(), before);
    assert_eq!(w.ledger.full_checksum(0), checksum);
}

#[test]
fn replays_and_conflicts_of_tx_ids() {
    let mut w = World::new();
    let req = w.payment(0, 1, 1_000, None);
    let first = w.ledger.pay(&req, w.now).unwrap();
    assert!(matches!(first, PaymentOutcome::Fresh(_)));
    let again = w.ledger.pay(&req, w.now).unwrap();
    assert_eq!(again, PaymentOutcome::Replay(first.record().clone()));
    let (a, b) = (w.ledger.node(&pid(0)).unwrap(), w.ledger.node(&pid(1)).unwrap());
    assert_eq!(w.ledger.book(0).graph.net_position(a), -1_000_000_000);
    assert_eq!(w.ledger.book(0).graph.net_position(b), 1_000_000_000);
    let mut other = req.clone();
    other.request_hash = "different".into();
    assert_eq!(w.ledger.pay(&other, w.now).unwrap_err().code(), "TX_ID_CONFLICT");
}
