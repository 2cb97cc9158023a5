//! Shared helpers of the integration tests: backends to run the same story on, and a small
//! world of participants, trust lines and payments driven through the engine.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use geo_node::engine::{Command, Engine, EngineConfig, Reply};
use geo_node::ledger::lines::NewTrustLine;
use geo_node::ledger::participants::{NewEquivalent, NewParticipant};
use geo_node::ledger::payments::PaymentRequest;
use geo_node::store::{MemoryStore, PostgresStore, SqliteStore, Store};
use geo_protocol::{EquivalentCode, Keypair, Pid, Precision};

/// Where a store lives, so that a test can open it again after a crash.
pub enum Backend {
    /// One in-memory store shared across "restarts".
    Memory(Arc<MemoryStore>),
    /// A SQLite file in a temporary directory.
    Sqlite { url: String, _dir: tempfile::TempDir },
    /// A fresh PostgreSQL database, dropped at the end.
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
}

impl Backend {
    /// Every backend available here: memory, SQLite, and PostgreSQL when
    /// `GEO_TEST_POSTGRES_URL` names a server.
    pub async fn all() -> Vec<Backend> {
        let mut out = vec![Backend::memory(), Backend::sqlite()];
        if let Some(pg) = Backend::postgres().await {
            out.push(pg);
        }
        out
    }

    pub fn memory() -> Backend {
        Backend::Memory(Arc::new(MemoryStore::new()))
    }

    pub fn sqlite() -> Backend {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite:{}", dir.path().join("hub.db").display());
        Backend::Sqlite { url, _dir: dir }
    }

    /// A fresh database on the server named by `GEO_TEST_POSTGRES_URL`, if set.
    pub async fn postgres() -> Option<Backend> {
        let admin = std::env::var("GEO_TEST_POSTGRES_URL").ok()?;
        let name = format!("geo_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin)
            .await
            .expect("connect to GEO_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&pool)
            .await
            .expect("create database");
        pool.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        Some(Backend::Postgres {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory(_) => "memory",
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres { .. } => "postgres",
        }
    }

    /// Opens (or re-opens) the store.
    pub async fn open(&self) -> Arc<dyn Store> {
        match self {
            Backend::Memory(m) => m.clone(),
            Backend::Sqlite { url, .. } => Arc::new(SqliteStore::open(url).await.expect("open sqlite")),
            Backend::Postgres { url, .. } => Arc::new(PostgresStore::open(url).await.expect("open postgres")),
        }
    }

    /// Drops a PostgreSQL test database (other backends clean up on drop).
    pub async fn cleanup(self) {
        if let Backend::Postgres { admin, name, .. } = self {
            if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
            }
        }
    }
}

pub fn keypair(i: usize) -> Keypair {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_seed(&seed)
}

pub fn pid(i: usize) -> Pid {
    keypair(i).pid()
}

pub fn uah() -> EquivalentCode {
    EquivalentCode::new("UAH").expect("code")
}

/// Polls `cond` until it holds (or panics after `secs`).
pub async fn wait_until(secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub async fn start(store: Arc<dyn Store>) -> Engine {
    Engine::start(store, EngineConfig::default())
        .await
        .expect("engine start")
}

/// Creates UAH, `n` participants and a ring of trust lines (each i trusts i+1 and i+2 for
/// `limit` units both ways), so that payments between any two have multi-hop routes.
pub async fn setup_ring(engine: &Engine, n: usize, limit: &str) {
    engine
        .submit(Command::CreateEquivalent(NewEquivalent {
            code: uah(),
            precision: Precision::new(2).expect("precision"),
            symbol: Some("₴".into()),
            description: None,
            metadata: serde_json::json!({}),
        }))
        .await
        .expect("equivalent");
    let mut pending = Vec::new();
    for i in 0..n {
        let kp = keypair(i);
        pending.push(submit(
            engine,
            Command::Register(NewParticipant {
                pid: kp.pid(),
                public_key: kp.public().to_base64(),
                display_name: format!("member {i}"),
                kind: "person".into(),
                profile: serde_json::json!({}),
            }),
        ));
    }
    for r in futures_join(pending).await {
        r.expect("register");
    }
    let mut pending = Vec::new();
    for i in 0..n {
        for step in [1, 2, n - 1, n - 2] {
            let j = (i + step) % n;
            if i == j {
                continue;
            }
            pending.push(submit(
                engine,
                Command::CreateLine(NewTrustLine {
                    id: uuid::Uuid::new_v4(),
                    from: pid(i),
                    to: pid(j),
                    equivalent: uah(),
                    limit: limit.into(),
                    policy: None,
                }),
            ));
        }
    }
    for r in futures_join(pending).await {
        if let Err(e) = r {
            // Duplicate (i, j) pairs on small rings are refused, which is fine.
            assert!(e.to_string().contains("already exists"), "{e}");
        }
    }
}

/// A `'static` future submitting one command.
pub fn submit(
    engine: &Engine,
    command: Command,
) -> impl std::future::Future<Output = Result<Reply, geo_node::engine::EngineError>> + Send + 'static {
    let engine = engine.clone();
    async move { engine.submit(command).await }
}

/// Awaits all futures concurrently (they are submitted to the engine in one go).
pub async fn futures_join<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

pub fn payment(tx_id: &str, from: usize, to: usize, amount: &str) -> PaymentRequest {
    PaymentRequest {
        tx_id: tx_id.into(),
        from: pid(from),
        to: pid(to),
        equivalent: uah(),
        amount: amount.into(),
        description: Some(format!("{from} pays {to}")),
        max_hops: None,
        max_paths: None,
        avoid: vec![],
        request_hash: format!("hash-of-{tx_id}"),
    }
}

/// The committed payment record of a reply.
pub fn committed(reply: &Reply) -> bool {
    matches!(reply, Reply::Payment(p) if p.record().state == geo_node::ledger::model::TxState::Committed)
}
