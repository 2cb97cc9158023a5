//! Durable payments through the engine, in process, no HTTP: committed multi-hop payments per
//! second on SQLite (WAL, synchronous=FULL) and, when `GEO_TEST_POSTGRES_URL` is set, PostgreSQL.
//!
//! 1,000 participants on a ring where each trusts its 1st and 2nd neighbours both ways; every
//! payment goes from `i` to `i + 5` (at least three hops) with many submitters in flight, so the
//! writer's group commit carries many payments per database transaction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use geo_node::engine::{Command, Engine, EngineConfig, Reply};
use geo_node::ledger::lines::NewTrustLine;
use geo_node::ledger::model::TxState;
use geo_node::ledger::participants::{NewEquivalent, NewParticipant};
use geo_node::ledger::payments::PaymentRequest;
use geo_node::store::{PostgresStore, SqliteStore, Store};
use geo_protocol::{EquivalentCode, Keypair, Pid, Precision};

const MEMBERS: usize = 1_000;
const IN_FLIGHT: usize = 512;

fn keypair(i: usize) -> Keypair {
    let mut seed = [3u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(&seed)
}

fn pid(i: usize) -> Pid {
    keypair(i).pid()
}

async fn setup(engine: &Engine) {
    let uah = EquivalentCode::new("UAH").unwrap();
    engine
        .submit(Command::CreateEquivalent(NewEquivalent {
            code: uah.clone(),
            precision: Precision::new(2).unwrap(),
            symbol: None,
            description: None,
            metadata: serde_json::json!({}),
        }))
        .await
        .unwrap();
    let mut handles = Vec::new();
    for i in 0..MEMBERS {
        let e = engine.clone();
        handles.push(tokio::spawn(async move {
            e.submit(Command::Register(NewParticipant {
                pid: pid(i),
                public_key: keypair(i).public().to_base64(),
                display_name: format!("m{i}"),
                kind: "person".into(),
                profile: serde_json::json!({}),
            }))
            .await
        }));
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
    let mut handles = Vec::new();
    for i in 0..MEMBERS {
        for step in [1, 2, MEMBERS - 1, MEMBERS - 2] {
            let e = engine.clone();
            let uah = uah.clone();
            handles.push(tokio::spawn(async move {
                e.submit(Command::CreateLine(NewTrustLine {
                    id: uuid::Uuid::new_v4(),
                    from: pid(i),
                    to: pid((i + step) % MEMBERS),
                    equivalent: uah,
                    limit: "1000000000".into(),
                    policy: None,
                }))
                .await
            }));
        }
    }
    for h in handles {
        h.await.unwrap().unwrap();
    }
}

/// Runs `n` payments with `IN_FLIGHT` submitters; returns the elapsed time.
async fn pay_many(engine: &Engine, n: u64, round: &mut u64) -> Duration {
    let uah = EquivalentCode::new("UAH").unwrap();
    // Keys are derived outside the timed part: the engine never sees them.
    static PIDS: std::sync::OnceLock<Arc<Vec<Pid>>> = std::sync::OnceLock::new();
    let pids = PIDS
        .get_or_init(|| Arc::new((0..MEMBERS).map(pid).collect()))
        .clone();
    let start = Instant::now();
    let per = n.div_ceil(IN_FLIGHT as u64);
    let mut handles = Vec::new();
    for w in 0..IN_FLIGHT as u64 {
        let e = engine.clone();
        let uah = uah.clone();
        let pids = pids.clone();
        let base = *round;
        handles.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for k in 0..per {
                let seq = base + w * per + k;
                let from = (seq as usize * 7919) % MEMBERS;
                let req = PaymentRequest {
                    tx_id: format!("b{seq}"),
                    from: pids[from].clone(),
                    to: pids[(from + 5) % MEMBERS].clone(),
                    equivalent: uah.clone(),
                    amount: "1.25".into(),
                    description: None,
                    max_hops: None,
                    max_paths: None,
                    avoid: vec![],
                    request_hash: format!("h{seq}"),
                };
                if let Ok(Reply::Payment(p)) = e.submit(Command::Pay(req)).await {
                    if p.record().state == TxState::Committed {
                        ok += 1;
                    }
                }
            }
            ok
        }));
    }
    let mut committed = 0;
    for h in handles {
        committed += h.await.unwrap();
    }
    *round += per * IN_FLIGHT as u64;
    assert_eq!(
        committed,
        per * IN_FLIGHT as u64,
        "every benchmark payment must commit"
    );
    start.elapsed()
}

fn bench_backend(c: &mut Criterion, name: &str, store: Arc<dyn Store>, rt: &tokio::runtime::Runtime) {
    let engine = rt.block_on(async {
        let engine = Engine::start(store, EngineConfig::default()).await.unwrap();
        setup(&engine).await;
        engine
    });
    let mut round = 0u64;
    // A plain throughput figure first (also what docs/performance.md quotes).
    let n = 40_000;
    let elapsed = rt.block_on(pay_many(&engine, n, &mut round));
    println!(
        "{name}: {n} committed 3+-hop payments in {:.2} s = {:.0} payments/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    let mut group = c.benchmark_group(format!("engine_{name}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("durable_multi_hop_payment", |b| {
        b.iter_custom(|iters| rt.block_on(pay_many(&engine, iters, &mut round)))
    });
    group.finish();
    engine.kill();
}

fn engine_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(rt.block_on(SqliteStore::open(&url)).unwrap());
    bench_backend(c, "sqlite", store, &rt);
    if let Ok(admin) = std::env::var("GEO_TEST_POSTGRES_URL") {
        let name = format!("geo_bench_{}", uuid::Uuid::new_v4().simple());
        let store: Arc<dyn Store> = rt.block_on(async {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&pool)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            Arc::new(PostgresStore::open(&format!("{base}/{name}")).await.unwrap())
        });
        bench_backend(c, "postgres", store, &rt);
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
        });
    }
}

criterion_group!(benches, engine_benches);
criterion_main!(benches);
