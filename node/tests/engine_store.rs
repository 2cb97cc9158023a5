//! One story run on every backend (memory, SQLite, PostgreSQL when configured): the engine's
//! operations persist, survive a crash and a restart unchanged, and a failed or interrupted batch
//! leaves no trace in memory or on disk.

mod common;

use std::sync::Arc;

use common::*;
use geo_node::engine::{Command, EngineError, Reply};
use geo_node::ledger::lines::NewTrustLine;
use geo_node::ledger::model::{ParticipantStatus, TxKind, TxState};
use geo_node::store::{AuditFilter, PostgresStore, SqliteStore, Store, TxFilter};

async fn story(backend: &Backend) {
    let name = backend.name();
    eprintln!("story on {name}");
    let engine = start(backend.open().await).await;
    setup_ring(&engine, 6, "100").await;

    // Payments: one hop, several hops, and one that needs two routes.
    let mut pays = Vec::new();
    for (i, (from, to, amount)) in [(0, 1, "10"), (0, 3, "25.50"), (2, 5, "150"), (4, 0, "0.01")]
        .iter()
        .enumerate()
    {
        pays.push(submit(
            &engine,
            Command::Pay(payment(&format!("p{i}"), *from, *to, amount)),
        ));
    }
    for r in futures_join(pays).await {
        assert!(committed(&r.expect("pay")), "{name}: payment not committed");
    }
    // Prepare / commit / abort, and one lock left open across the restart.
    let far = engine.now() + 3_600_000;
    for id in ["prep-commit", "prep-abort", "prep-open"] {
        let r = engine
            .submit(Command::Prepare {
                request: payment(id, 1, 4, "5"),
                expires_at: far,
            })
            .await
            .expect("prepare");
        assert!(matches!(r, Reply::Payment(p) if p.record().state == TxState::Prepared));
    }
    engine
        .submit(Command::Commit {
            tx_id: "prep-commit".into(),
        })
        .await
        .expect("commit");
    engine
        .submit(Command::Abort {
            tx_id: "prep-abort".into(),
            reason: "test".into(),
        })
        .await
        .expect("abort");
    // A line opened and closed at zero debt, a frozen participant, a clearing run.
    let id = uuid::Uuid::new_v4();
    engine
        .submit(Command::CreateLine(NewTrustLine {
            id,
            from: pid(0),
            to: pid(3),
            equivalent: uah(),
            limit: "5".into(),
            policy: None,
        }))
        .await
        .expect("line");
    engine
        .submit(Command::CloseLine { id, by: pid(0) })
        .await
        .expect("close");
    engine
        .submit(Command::SetParticipantStatus {
            pid: pid(5),
            status: ParticipantStatus::Suspended,
        })
        .await
        .expect("freeze");
    engine
        .submit(Command::ClearOptimal { equivalent: uah() })
        .await
        .expect("clear");
    engine.submit(Command::Verify).await.expect("verify");

    // Reads from the store.
    let store = engine.store().clone();
    let p1 = store.transaction("p1").await.unwrap().expect("p1 stored");
    assert_eq!(p1.state, TxState::Committed, "{name}");
    assert_eq!(p1.payload.to_json()["amount"], "25.50");
    assert_eq!(
        store.transaction("prep-abort").await.unwrap().unwrap().state,
        TxState::Aborted
    );
    let mine = store
        .transactions(&TxFilter {
            participant: Some(pid(0).to_string()),
            limit: 100,
            ..TxFilter::default()
        })
        .await
        .unwrap();
    assert!(
        mine.iter().any(|t| t.tx_id == "p0") && mine.iter().any(|t| t.tx_id == "p1"),
        "{name}"
    );
    let outgoing = store
        .transactions(&TxFilter {
            participant: Some(pid(0).to_string()),
            outgoing: Some(true),
            kind: Some(TxKind::Payment),
            limit: 100,
            ..TxFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(outgoing.len(), 2, "{name}: {outgoing:?}");
    let audit = store
        .audit_log(&AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(audit.len() >= 10, "{name}");
    assert!(audit.iter().all(|a| a.passed));
    let failures = store
        .audit_log(&AuditFilter {
            limit: 10,
            failures_only: true,
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert!(failures.is_empty());
    let cps = store.latest_checkpoints().await.unwrap();
    assert!(cps.iter().any(|c| c.equivalent == uah() && c.passed), "{name}");
    store.ping().await.unwrap();

    // Crash and restart: the ledger comes back identical, the open lock included.
    let before = engine.read(|l| l.dump()).await;
    assert_eq!(before.locks.len(), 1);
    engine.kill();
    wait_until(10, || !engine.is_running()).await;
    engine.store().close().await;
    drop(engine);
    let engine = start(backend.open().await).await;
    assert_eq!(
        engine.read(|l| l.dump()).await,
        before,
        "{name}: state changed across restart"
    );
    let r = engine
        .submit(Command::Commit {
            tx_id: "prep-open".into(),
        })
        .await
        .expect("commit after restart");
    assert!(matches!(r, Reply::Transaction(t) if t.state == TxState::Committed));
    // A replayed tx_id after the restart returns the recorded outcome (looked up in the store).
    let replay = engine
        .submit(Command::Pay(payment("p0", 0, 1, "10")))
        .await
        .expect("replay");
    assert!(matches!(
        replay,
        Reply::Payment(geo_node::ledger::payments::PaymentOutcome::Replay(_))
    ));
    let mut conflicting = payment("p0", 0, 1, "11");
    conflicting.request_hash = "other".into();
    let err = engine.submit(Command::Pay(conflicting)).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Ledger(ref e) if e.code() == "TX_ID_CONFLICT"),
        "{err}"
    );
    engine.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_story_on_every_backend() {
    for backend in Backend::all().await {
        story(&backend).await;
        backend.cleanup().await;
    }
}

/// A batch whose write fails at any statement changes nothing, in memory or on disk, and the
/// engine goes on serving; the tx id of the failed payment stays free to retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_interrupted_at_any_statement_leaves_no_trace() {
    let backend = Backend::sqlite();
    let Backend::Sqlite { url, .. } = &backend else {
        unreachable!()
    };
    let store = Arc::new(SqliteStore::open(url).await.unwrap());
    let engine = start(store.clone()).await;
    setup_ring(&engine, 8, "1000").await;
    let mut k = 0;
    loop {
        let before = engine.read(|l| l.dump()).await;
        store.fail_after_statements(k);
        let id = format!("k{k}");
        let result = engine.submit(Command::Pay(payment(&id, 1, 4, "1.25"))).await;
        if result.is_ok() {
            // The budget outlasted the batch: every statement position has been tried.
            assert!(k >= 4, "a payment batch writes more than {k} statements");
            break;
        }
        assert!(matches!(result, Err(EngineError::Store(_))), "{result:?}");
        assert_eq!(
            engine.read(|l| l.dump()).await,
            before,
            "memory changed by a failed batch (k = {k})"
        );
        assert!(store.transaction(&id).await.unwrap().is_none());
        // The engine still works, and the tx id of the failed batch is free to retry.
        let r = engine
            .submit(Command::Pay(payment(&id, 1, 4, "1.25")))
            .await
            .unwrap();
        assert!(committed(&r));
        k += 1;
    }
    // Reopen from disk: what memory holds is exactly what was committed.
    let dump = engine.read(|l| l.dump()).await;
    engine.kill();
    wait_until(10, || !engine.is_running()).await;
    engine.store().close().await;
    let engine = start(backend.open().await).await;
    assert_eq!(engine.read(|l| l.dump()).await, dump);
    engine.kill();
}

/// Killing the writer at random moments under load never loses an acknowledged payment and never
/// leaves a half-applied one: after reopening, every acknowledged payment is committed in the
/// store, every stored payment's debts are in the ledger (the restore verifies invariants and the
/// audited checksum), and the tx ids that got no answer are either fully there or absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_writer_at_random_moments_loses_nothing() {
    let backend = Backend::sqlite();
    let engine = start(backend.open().await).await;
    setup_ring(&engine, 10, "100000").await;
    engine.kill();
    wait_until(10, || !engine.is_running()).await;
    engine.store().close().await;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut acknowledged: Vec<String> = Vec::new();
    let mut unanswered: Vec<String> = Vec::new();
    for round in 0..12 {
        let engine = start(backend.open().await).await;
        let mut handles = Vec::new();
        for i in 0..200 {
            let from = (next() % 10) as usize;
            let to = (from + 1 + (next() % 9) as usize) % 10;
            let id = format!("r{round}-{i}");
            let fut = submit(&engine, Command::Pay(payment(&id, from, to, "0.37")));
            handles.push((id, tokio::spawn(fut)));
        }
        // Let a random part of the load through, then crash.
        let spins = next() % 400;
        for _ in 0..spins {
            tokio::task::yield_now().await;
        }
        engine.kill();
        wait_until(10, || !engine.is_running()).await;
        for (id, h) in handles {
            match h.await.expect("task") {
                Ok(r) if committed(&r) => acknowledged.push(id),
                Ok(_) => {}
                Err(_) => unanswered.push(id),
            }
        }
        // A real crash ends the process and its database connections with it; in one process the
        // killed writer's last commit may still be in flight on a pool connection, so the pool is
        // closed (which waits for it) before the next round opens the store again.
        engine.store().close().await;
    }
    assert!(
        !acknowledged.is_empty(),
        "no payment was acknowledged before the crashes"
    );
    // Restart verifies invariants and the audited checksum of the loaded debts.
    let engine = start(backend.open().await).await;
    let store = engine.store().clone();
    for id in &acknowledged {
        let tx = store
            .transaction(id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {id} lost"));
        assert_eq!(tx.state, TxState::Committed);
    }
    // Net positions equal what the stored committed payments imply (nothing half-applied).
    let all = store
        .transactions(&TxFilter {
            kind: Some(TxKind::Payment),
            limit: 100_000,
            ..TxFilter::default()
        })
        .await
        .unwrap();
    let mut net: std::collections::HashMap<String, i128> = std::collections::HashMap::new();
    for t in all.iter().filter(|t| t.state == TxState::Committed) {
        let a = geo_protocol::Amount::parse_stored(t.payload.to_json()["amount"].as_str().unwrap())
            .unwrap()
            .atoms();
        *net.entry(t.payload.to_json()["from"].as_str().unwrap().to_owned())
            .or_default() -= a;
        *net.entry(t.payload.to_json()["to"].as_str().unwrap().to_owned())
            .or_default() += a;
    }
    let ledger_net = engine
        .read(|l| {
            (0..10)
                .map(|i| {
                    let n = l.node(&pid(i)).unwrap();
                    (pid(i).to_string(), l.book(0).graph.net_position(n))
                })
                .collect::<Vec<_>>()
        })
        .await;
    for (p, v) in ledger_net {
        assert_eq!(
            net.get(&p).copied().unwrap_or(0),
            v,
            "net position of {p} differs from its payments"
        );
    }
    eprintln!(
        "acknowledged {}, unanswered {}",
        acknowledged.len(),
        unanswered.len()
    );
    engine.kill();
}

/// A seeded random workload through the engine on every backend, with restarts: after each
/// restart the ledger rebuilt from the store equals the one that was in memory, and every
/// invariant holds throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_workload_with_restarts_on_every_backend() {
    use geo_node::ledger::lines::TrustLineUpdate;
    for backend in Backend::all().await {
        let name = backend.name();
        let mut engine = start(backend.open().await).await;
        setup_ring(&engine, 8, "50").await;
        let mut seed: u64 = 0xDEAD_BEEF_1234_5678;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut prepared: Vec<String> = Vec::new();
        for step in 0..400u64 {
            let (a, b) = (rnd(8) as usize, rnd(8) as usize);
            let amount = format!("{}.{:02}", rnd(30), rnd(100));
            let cmd = match rnd(10) {
                0..=4 => Command::Pay(payment(&format!("w{step}"), a, b, &amount)),
                5 => Command::Prepare {
                    request: payment(&format!("w{step}"), a, b, &amount),
                    expires_at: engine.now() + i64::try_from(rnd(3)).unwrap() * 1_000,
                },
                6 if !prepared.is_empty() => {
                    let id = prepared.remove(rnd(prepared.len() as u64) as usize);
                    if rnd(2) == 0 {
                        Command::Commit { tx_id: id }
                    } else {
                        Command::Abort {
                            tx_id: id,
                            reason: "workload".into(),
                        }
                    }
                }
                7 => {
                    let line = engine.read(|l| {
                        let lines = l.lines();
                        let line = &lines[rnd(lines.len() as u64) as usize];
                        (line.id, l.pid(line.from).clone())
                    });
                    let (id, by) = line.await;
                    Command::UpdateLine(TrustLineUpdate {
                        id,
                        by,
                        limit: Some(format!("{}", 1 + rnd(80))),
                        policy: Some(serde_json::json!({"auto_clearing": rnd(4) != 0})),
                    })
                }
                8 => Command::ClearOptimal { equivalent: uah() },
                _ => Command::ClearShort {
                    equivalent: uah(),
                    max_len: 4,
                },
            };
            if let Ok(Reply::Payment(p)) = engine.submit(cmd).await {
                if p.record().state == TxState::Prepared {
                    prepared.push(p.record().tx_id.clone());
                }
            }
            let report = engine.read(|l| l.check(0)).await;
            assert!(
                report.passed(),
                "{name}: invariants broken at step {step}: {report:?}"
            );
            if step % 100 == 99 {
                let before = engine.read(|l| l.dump()).await;
                engine.kill();
                wait_until(10, || !engine.is_running()).await;
                engine.store().close().await;
                engine = start(backend.open().await).await;
                let mut after = engine.read(|l| l.dump()).await;
                // Locks that expired meanwhile were aborted at start; compare the rest.
                let mut before = before;
                before.locks.retain(|l| after.locks.iter().any(|a| a.0 == l.0));
                after.locks.retain(|l| before.locks.iter().any(|b| b.0 == l.0));
                assert_eq!(after, before, "{name}: reloaded ledger differs at step {step}");
            }
        }
        engine.kill();
        backend.cleanup().await;
    }
}

/// One writer per database: while a hub's store is open, a second one on the same database is
/// refused with `StoreError::Locked`; once the first is closed, the database opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_writer_on_the_same_database_is_refused() {
    let mut backends = vec![Backend::sqlite()];
    if let Some(pg) = Backend::postgres().await {
        backends.push(pg);
    }
    for backend in backends {
        let (first, second) = match &backend {
            Backend::Sqlite { url, .. } => {
                let first: Arc<dyn Store> = Arc::new(SqliteStore::open(url).await.unwrap());
                let second = SqliteStore::open(url).await.err().map(|e| e.to_string());
                (first, second)
            }
            Backend::Postgres { url, .. } => {
                let first: Arc<dyn Store> = Arc::new(PostgresStore::open(url).await.unwrap());
                let second = PostgresStore::open(url).await.err().map(|e| e.to_string());
                (first, second)
            }
            Backend::Memory(_) => unreachable!("only durable backends are locked"),
        };
        let name = first.backend();
        let second = second.unwrap_or_else(|| panic!("{name}: a second writer was let in"));
        assert!(second.contains("another hub"), "{name}: {second}");
        // The first store still works; after it closes, the database can be opened again.
        first.ping().await.unwrap();
        first.close().await;
        let again = backend.open().await;
        again.ping().await.unwrap();
        again.close().await;
        backend.cleanup().await;
    }
}

/// The engine's command log, recorded during concurrent traffic (payments batched together,
/// prepares left to expire, clearing, checkpoints), replays into a fresh ledger to the very state
/// of the engine and of the store, on every backend; the log survives its serialised form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_command_log_replays_to_the_same_state_on_every_backend() {
    use geo_node::engine::{EngineConfig, LogBatch};
    use geo_node::ledger::{Ledger, LedgerConfig};
    use std::sync::Mutex;
    for backend in Backend::all().await {
        let name = backend.name();
        let log: Arc<Mutex<Vec<LogBatch>>> = Arc::default();
        let sink = log.clone();
        let config = EngineConfig {
            log: Some(Arc::new(move |batch: &LogBatch| {
                sink.lock().unwrap().push(batch.clone());
            })),
            checkpoint_every: std::time::Duration::from_millis(50),
            ..EngineConfig::default()
        };
        let store = backend.open().await;
        let engine = geo_node::engine::Engine::start(store.clone(), config)
            .await
            .unwrap();
        setup_ring(&engine, 8, "40").await;
        for round in 0..6 {
            let mut batch = Vec::new();
            for i in 0..40usize {
                let (from, to) = (i % 8, (i * 3 + round + 1) % 8);
                let amount = format!("{}.{:02}", 1 + i % 9, i);
                let id = format!("r{round}-{i}");
                let command = match i % 10 {
                    0 => Command::Prepare {
                        request: payment(&id, from, to, &amount),
                        expires_at: engine.now() + 20,
                    },
                    1 => Command::ClearShort {
                        equivalent: uah(),
                        max_len: 4,
                    },
                    2 => Command::Pay(payment(&format!("r0-{}", i + 3), from, to, &amount)),
                    _ => Command::Pay(payment(&id, from, to, &amount)),
                };
                batch.push(submit(&engine, command));
            }
            futures_join(batch).await;
            engine
                .submit(Command::ClearOptimal { equivalent: uah() })
                .await
                .expect("clear");
        }
        // Let the open prepare locks expire (the writer wakes for them on its own).
        let now = engine.now();
        wait_until(10, || {
            log.lock()
                .unwrap()
                .last()
                .is_some_and(|b| b.at > now + 25 && b.steps.is_empty())
        })
        .await;
        let live = engine.read(|l| l.dump()).await;
        assert!(live.locks.is_empty(), "{name}: locks left {:?}", live.locks);
        let stored = Ledger::restore(LedgerConfig::default(), store.load().await.unwrap())
            .unwrap()
            .dump();
        let batches = log.lock().unwrap().clone();
        assert!(batches.len() > 6, "{name}: only {} batches", batches.len());
        assert!(
            batches.iter().any(|b| b.steps.len() > 5),
            "{name}: no batch grouped commands"
        );
        assert!(
            batches.iter().any(|b| b.checkpoint && b.seq > 0),
            "{name}: no checkpoint batch"
        );
        let wire = serde_json::to_string(&batches).unwrap();
        let batches: Vec<LogBatch> = serde_json::from_str(&wire).unwrap();
        let mut fresh = Ledger::new(LedgerConfig::default());
        for (i, b) in batches.iter().enumerate() {
            assert_eq!(b.seq, i as u64, "{name}: log has a gap");
            // The fresh ledger's replay window holds every transaction: it never needs a lookup.
            b.replay(&mut fresh, |_| None);
            fresh.take_changes();
        }
        assert_eq!(fresh.dump(), live, "{name}: replayed log differs from the engine");
        assert_eq!(
            fresh.dump(),
            stored,
            "{name}: replayed log differs from the store"
        );
        engine.kill();
        wait_until(10, || !engine.is_running()).await;
        backend.cleanup().await;
    }
}
