//! The ledger is deterministic: random command histories (registrations, trust-line changes,
//! payments, prepares, commits, aborts, lock expiry, clearing, admin actions, refused commands
//! and failed batches) applied as command-log batches to two fresh ledgers, and to a ledger
//! rebuilt from the store after every batch, give byte-identical replies, change sets and
//! stored snapshots. The log travels through its serialised form on the way to one replica.

use std::sync::Arc;

use geo_node::engine::{Command, LogBatch};
use geo_node::ledger::graph::LineStatus;
use geo_node::ledger::lines::{NewTrustLine, TrustLineUpdate};
use geo_node::ledger::model::{Actor, AdminEntry, ParticipantStatus, TxKind, TxState};
use geo_node::ledger::participants::{NewEquivalent, NewParticipant};
use geo_node::ledger::payments::PaymentRequest;
use geo_node::ledger::{IdSeed, Ledger, LedgerConfig};
use geo_node::store::{MemoryStore, Store};
use geo_protocol::{EquivalentCode, Keypair, Pid, Precision};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const PEOPLE: u8 = 7;

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
    CreateUah,
    Register(u8),
    Line {
        from: u8,
        to: u8,
        limit: u32,
        auto_clearing: bool,
    },
    UpdateLine {
        line: u8,
        limit: u32,
    },
    CloseLine(u8),
    FreezeLine(u8, bool),
    Pay {
        from: u8,
        to: u8,
        amount: u32,
        paths: u8,
    },
    Replay(u8),
    Prepare {
        from: u8,
        to: u8,
        amount: u32,
        ttl: u8,
    },
    Commit(u8),
    Abort(u8),
    ClearShort,
    ClearOptimal,
    Freeze(u8, bool),
    Audit(bool),
}

#[derive(Debug, Clone)]
struct BatchPlan {
    ops: Vec<Op>,
    advance: u16,
    checkpoint: bool,
    fails: bool,
}

fn op() -> impl Strategy<Value = Op> {
    let n = PEOPLE;
    prop_oneof![
        1 => (0..n + 1).prop_map(Op::Register),
        3 => (0..n, 0..n, 0u32..20_000, prop::bool::weighted(0.8))
            .prop_map(|(from, to, limit, auto_clearing)| Op::Line { from, to, limit, auto_clearing }),
        1 => (any::<u8>(), 0u32..20_000).prop_map(|(line, limit)| Op::UpdateLine { line, limit }),
        1 => any::<u8>().prop_map(Op::CloseLine),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(l, f)| Op::FreezeLine(l, f)),
        10 => (0..n, 0..n, 0u32..6_000, 1u8..4).prop_map(|(from, to, amount, paths)| Op::Pay { from, to, amount, paths }),
        1 => any::<u8>().prop_map(Op::Replay),
        3 => (0..n, 0..n, 1u32..5_000, 1u8..60).prop_map(|(from, to, amount, ttl)| Op::Prepare { from, to, amount, ttl }),
        1 => any::<u8>().prop_map(Op::Commit),
        1 => any::<u8>().prop_map(Op::Abort),
        1 => Just(Op::ClearShort),
        1 => Just(Op::ClearOptimal),
        1 => (0..n, prop::bool::weighted(0.3)).prop_map(|(p, f)| Op::Freeze(p, f)),
        1 => any::<bool>().prop_map(Op::Audit),
    ]
}

fn batch() -> impl Strategy<Value = BatchPlan> {
    (
        prop::collection::vec(op(), 1..16),
        0u16..40,
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(ops, advance, checkpoint, fails)| BatchPlan {
            ops,
            advance,
            checkpoint,
            fails,
        })
}

/// Turns ops into commands; the state it reads (lines, prepared payments) is the same on every
/// replica, so any replica can be asked.
#[derive(Default)]
struct Planner {
    seq: u128,
    payments: Vec<PaymentRequest>,
    prepared: Vec<String>,
}

impl Planner {
    fn next(&mut self) -> u128 {
        self.seq += 1;
        self.seq
    }

    fn payment(&mut self, from: u8, to: u8, amount: u32, paths: Option<usize>) -> PaymentRequest {
        let n = self.next();
        let req = PaymentRequest {
            tx_id: format!("tx-{n}"),
            from: pid(from),
            to: pid(to),
            equivalent: uah(),
            amount: cents(amount),
            description: Some(format!("payment {n}")),
            max_hops: None,
            max_paths: paths,
            avoid: vec![],
            request_hash: format!("h{n}"),
        };
        self.payments.push(req.clone());
        req
    }

    fn line(ledger: &Ledger, i: u8) -> Option<(uuid::Uuid, Pid)> {
        let lines = ledger.lines();
        (!lines.is_empty()).then(|| {
            let l = &lines[usize::from(i) % lines.len()];
            (l.id, ledger.pid(l.from).clone())
        })
    }

    fn command(&mut self, ledger: &Ledger, at: i64, op: &Op) -> Option<Command> {
        Some(match op.clone() {
            Op::CreateUah => Command::CreateEquivalent(NewEquivalent {
                code: uah(),
                precision: Precision::new(2).unwrap(),
                symbol: None,
                description: None,
                metadata: serde_json::json!({}),
            }),
            Op::Register(i) => Command::Register(NewParticipant {
                pid: pid(i),
                public_key: Keypair::from_seed(&[i.wrapping_add(1); 32]).public().to_base64(),
                display_name: format!("p{i}"),
                kind: "person".into(),
                profile: serde_json::json!({}),
            }),
            Op::Line {
                from,
                to,
                limit,
                auto_clearing,
            } => Command::CreateLine(NewTrustLine {
                id: uuid::Uuid::from_u128(self.next()),
                from: pid(from),
                to: pid(to),
                equivalent: uah(),
                limit: cents(limit),
                policy: Some(serde_json::json!({ "auto_clearing": auto_clearing })),
            }),
            Op::UpdateLine { line, limit } => {
                let (id, by) = Self::line(ledger, line)?;
                Command::UpdateLine(TrustLineUpdate {
                    id,
                    by,
                    limit: Some(cents(limit)),
                    policy: None,
                })
            }
            Op::CloseLine(line) => {
                let (id, by) = Self::line(ledger, line)?;
                Command::CloseLine { id, by }
            }
            Op::FreezeLine(line, frozen) => Command::SetLineStatus {
                id: Self::line(ledger, line)?.0,
                status: if frozen {
                    LineStatus::Frozen
                } else {
                    LineStatus::Active
                },
            },
            Op::Pay {
                from,
                to,
                amount,
                paths,
            } => Command::Pay(self.payment(from, to, amount, Some(usize::from(paths)))),
            Op::Replay(i) => {
                let earlier = self.payments.get(usize::from(i) % self.payments.len().max(1))?;
                Command::Pay(earlier.clone())
            }
            Op::Prepare {
                from,
                to,
                amount,
                ttl,
            } => {
                let request = self.payment(from, to, amount, None);
                self.prepared.push(request.tx_id.clone());
                Command::Prepare {
                    request,
                    expires_at: at + i64::from(ttl),
                }
            }
            Op::Commit(i) | Op::Abort(i) => {
                let tx_id = self
                    .prepared
                    .get(usize::from(i) % self.prepared.len().max(1))?
                    .clone();
                if matches!(op, Op::Commit(_)) {
                    Command::Commit { tx_id }
                } else {
                    Command::Abort {
                        tx_id,
                        reason: "test".into(),
                    }
                }
            }
            Op::ClearShort => Command::ClearShort {
                equivalent: uah(),
                max_len: 4,
            },
            Op::ClearOptimal => Command::ClearOptimal { equivalent: uah() },
            Op::Freeze(p, frozen) => Command::SetParticipantStatus {
                pid: pid(p),
                status: if frozen {
                    ParticipantStatus::Suspended
                } else {
                    ParticipantStatus::Active
                },
            },
            Op::Audit(on_ledger) => {
                let entry = AdminEntry {
                    actor: Actor {
                        request_id: Some(format!("req-{}", self.seq)),
                        ip_address: Some("127.0.0.1".into()),
                        ..Actor::admin()
                    },
                    action: "admin.participants.freeze".into(),
                    object_type: "participant".into(),
                    object_id: pid(0).to_string(),
                    reason: Some("test".into()),
                    after_state: None,
                };
                if on_ledger {
                    // An admin action with its audit entry in one command.
                    Command::Audited {
                        command: Box::new(Command::SetParticipantStatus {
                            pid: pid(self.next() as u8 % PEOPLE),
                            status: if self.seq.is_multiple_of(2) {
                                ParticipantStatus::Suspended
                            } else {
                                ParticipantStatus::Active
                            },
                        }),
                        entry,
                    }
                } else {
                    Command::AdminAudit(entry)
                }
            }
        })
    }
}

/// A ledger and the store its change sets go to.
struct Replica {
    ledger: Ledger,
    store: Arc<MemoryStore>,
}

impl Replica {
    fn new() -> Replica {
        Replica::with(LedgerConfig::default())
    }

    fn with(config: LedgerConfig) -> Replica {
        Replica {
            ledger: Ledger::new(config),
            store: Arc::new(MemoryStore::new()),
        }
    }
}

/// What the histories exercised, so that the property cannot pass vacuously.
#[derive(Debug, Default)]
struct Seen {
    batches: usize,
    commands: usize,
    refused: usize,
    committed: usize,
    cleared: usize,
    expired: usize,
    replayed: usize,
    lookups: usize,
    failed_batches: usize,
}

fn run_history(
    rt: &tokio::runtime::Runtime,
    plans: &[BatchPlan],
    seen: &mut Seen,
) -> Result<(), TestCaseError> {
    let mut a = Replica::new();
    // `b` remembers only a few recent transactions: it asks its own store where the writer's
    // window knew the answer, and must still decide the same.
    let mut b = Replica::with(LedgerConfig {
        recent_window: 8,
        ..LedgerConfig::default()
    });
    // `c` is the engine's view: rebuilt from its store after every batch, it looks older
    // transactions up in the store, and those answers become steps of the log.
    let mut c = Replica::new();
    let mut planner = Planner::default();
    let mut at: i64 = 1_000;
    let mut seq: u64 = 0;
    let setup = setup_batch();
    for (i, plan) in std::iter::once(&setup).chain(plans).enumerate() {
        at += i64::from(plan.advance);
        let mut commands = Vec::new();
        for op in &plan.ops {
            if let Some(cmd) = planner.command(&c.ledger, at, op) {
                commands.push(cmd);
            }
        }
        let mut log = LogBatch::begin(&mut c.ledger, seq, at);
        let mut replies = Vec::new();
        for (k, command) in commands.into_iter().enumerate() {
            if let Some(tx_id) = command.tx_id().map(str::to_owned) {
                if c.ledger.needs_lookup(&tx_id) {
                    let found = rt.block_on(c.store.transaction(&tx_id)).unwrap();
                    seen.lookups += 1;
                    log.lookup(&mut c.ledger, tx_id, found);
                }
            }
            let seed = IdSeed::from_u128((u128::from(seq) << 32) | k as u128);
            replies.push(format!("{:?}", log.command(&mut c.ledger, seed, command)));
        }
        log.finish(&mut c.ledger, plan.checkpoint);
        let changes_c = c.ledger.take_changes();
        if plan.fails && i > 0 {
            // The write failed: the engine rebuilds from the store; the batch is not in the log.
            seen.failed_batches += 1;
            let snap = rt.block_on(c.store.load()).unwrap();
            c.ledger = Ledger::restore(LedgerConfig::default(), snap).expect("restore after a failed batch");
            prop_assert_eq!(
                c.ledger.dump(),
                a.ledger.dump(),
                "rollback did not restore the state"
            );
            continue;
        }
        rt.block_on(c.store.apply(&changes_c)).unwrap();

        let replies_a: Vec<String> = log
            .replay(&mut a.ledger, |id| rt.block_on(a.store.transaction(id)).unwrap())
            .iter()
            .map(|r| format!("{r:?}"))
            .collect();
        let wire = serde_json::to_string(&log).unwrap();
        let decoded: LogBatch = serde_json::from_str(&wire).unwrap();
        let replies_b: Vec<String> = decoded
            .replay(&mut b.ledger, |id| rt.block_on(b.store.transaction(id)).unwrap())
            .iter()
            .map(|r| format!("{r:?}"))
            .collect();
        prop_assert_eq!(&replies_a, &replies);
        prop_assert_eq!(&replies_b, &replies);
        let changes_a = a.ledger.take_changes();
        let changes_b = b.ledger.take_changes();
        let (text_a, text_b, text_c) = (
            format!("{changes_a:?}"),
            format!("{changes_b:?}"),
            format!("{changes_c:?}"),
        );
        prop_assert_eq!(&text_a, &text_b, "change sets of two fresh replicas differ");
        prop_assert_eq!(
            &text_a,
            &text_c,
            "change set of the replica rebuilt from the store differs"
        );
        rt.block_on(a.store.apply(&changes_a)).unwrap();
        rt.block_on(b.store.apply(&changes_b)).unwrap();
        let snaps: Vec<String> = [&a, &b, &c]
            .iter()
            .map(|r| format!("{:?}", rt.block_on(r.store.load()).unwrap()))
            .collect();
        prop_assert_eq!(&snaps[0], &snaps[1], "stored snapshots differ");
        prop_assert_eq!(&snaps[0], &snaps[2], "stored snapshots differ");

        let snap = rt.block_on(c.store.load()).unwrap();
        c.ledger = Ledger::restore(LedgerConfig::default(), snap).expect("restore");
        prop_assert_eq!(c.ledger.dump(), a.ledger.dump());
        prop_assert_eq!(c.ledger.dump(), b.ledger.dump());

        seen.batches += 1;
        seen.commands += replies.len();
        seen.refused += replies.iter().filter(|r| r.starts_with("Err")).count();
        seen.replayed += replies.iter().filter(|r| r.contains("Replay(")).count();
        for tx in &changes_a.transactions {
            match (tx.kind, tx.state) {
                (TxKind::Payment, TxState::Committed) => seen.committed += 1,
                (TxKind::Clearing, _) => seen.cleared += 1,
                (TxKind::Payment, TxState::Aborted)
                    if tx.error.as_ref().is_some_and(|e| e["code"] == "TIMEOUT") =>
                {
                    seen.expired += 1
                }
                _ => {}
            }
        }
        seq += 1;
    }
    Ok(())
}

/// The first batch: the equivalent, the participants and a ring of lines with chords.
fn setup_batch() -> BatchPlan {
    let mut ops: Vec<Op> = std::iter::once(Op::CreateUah)
        .chain((0..PEOPLE).map(Op::Register))
        .collect();
    for a in 0..PEOPLE {
        for (step, limit) in [(1u8, 5_000u32), (2, 3_000), (4, 2_000)] {
            ops.push(Op::Line {
                from: a,
                to: (a + step) % PEOPLE,
                limit,
                auto_clearing: a != 3,
            });
        }
    }
    BatchPlan {
        ops,
        advance: 0,
        checkpoint: true,
        fails: false,
    }
}

#[test]
fn command_logs_replay_byte_identically() {
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let seen = std::cell::RefCell::new(Seen::default());
    let mut runner = TestRunner::new(Config {
        cases: 1000,
        max_shrink_iters: 100,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(batch(), 12..40), |plans| {
            run_history(&rt, &plans, &mut seen.borrow_mut())
        })
        .unwrap();
    let seen = seen.into_inner();
    // Over all histories, every kind of step happened many times (shrinking adds runs, so
    // these are lower bounds).
    println!("{seen:?}");
    assert!(seen.commands >= 100_000, "{seen:?}");
    assert!(seen.refused > 1_000, "{seen:?}");
    assert!(seen.committed > 10_000, "{seen:?}");
    assert!(seen.cleared > 100, "{seen:?}");
    assert!(seen.expired > 100, "{seen:?}");
    assert!(seen.replayed > 100, "{seen:?}");
    assert!(seen.failed_batches > 100, "{seen:?}");
}
