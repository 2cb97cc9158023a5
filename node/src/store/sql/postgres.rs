//! The PostgreSQL store: opening the pool, the advisory writer lock, the migrations of
//! `migrations/postgres`, and the shared SQL instantiated for PostgreSQL.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

// The shared SQL body names the helpers and types of the parent module.
use super::*;

/// The PostgreSQL migrations (`migrations/postgres`), embedded in the binary.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// The PostgreSQL store.
pub struct PostgresStore {
    pool: PgPool,
    faults: FaultBudget,
    writer_lock: WriterLock,
}

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and applies migrations.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let writer_lock = WriterLock::postgres(url).await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(PostgresStore {
            pool,
            faults: FaultBudget::default(),
            writer_lock,
        })
    }
}

sql_store!(
    PostgresStore,
    sqlx::Postgres,
    PgPool,
    "postgres",
    num_in = "::numeric",
    num_out = "{}::text",
    snapshot_sql = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
    migrator = POSTGRES_MIGRATIONS
);
