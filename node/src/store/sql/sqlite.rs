//! The embedded SQLite store: opening the pool (WAL, `synchronous = FULL`, pragmas), the writer
//! lock file, the migrations of `migrations/sqlite`, and the shared SQL instantiated for SQLite.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

// The shared SQL body names the helpers and types of the parent module.
use super::*;

/// The SQLite migrations (`migrations/sqlite`), embedded in the binary.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");

/// The embedded SQLite store (WAL, `synchronous = FULL`: a commit survives power loss).
pub struct SqliteStore {
    pool: SqlitePool,
    faults: FaultBudget,
    writer_lock: WriterLock,
}

impl SqliteStore {
    /// Opens (creating if missing) the database a `sqlite:` URL names and applies migrations.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // A page cache and a memory map large enough that a batch's index look-ups do not go
            // back to the kernel for every page; checkpoints less often, in bigger steps.
            .pragma("cache_size", "-131072")
            .pragma("mmap_size", "1073741824")
            .pragma("wal_autocheckpoint", "10000")
            .pragma("temp_store", "memory");
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let writer_lock = if in_memory {
            WriterLock::none()
        } else {
            if let Some(dir) = opts.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Locked(format!("cannot create {}: {e}", dir.display())))?;
            }
            WriterLock::sqlite(opts.get_filename())?
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        SQLITE_MIGRATIONS.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            faults: FaultBudget::default(),
            writer_lock,
        })
    }
}

sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    SqlitePool,
    "sqlite",
    num_in = "",
    num_out = "{}",
    snapshot_sql = "",
    migrator = SQLITE_MIGRATIONS
);
