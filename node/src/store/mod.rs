//! Persistence: one [`Store`] trait, implemented for SQLite (embedded default), PostgreSQL
//! (production) and memory (tests and deterministic simulation).
//!
//! The engine is the only writer: it hands each batch's [`ChangeSet`] to [`Store::apply`], which
//! writes it in one database transaction. Reads for history and lists go straight to the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::ledger::model::{AdminAuditRecord, AuditRecord, TxKind, TxRecord, TxState};
use crate::ledger::snapshot::{ChangeSet, Checkpoint, Snapshot};

pub mod memory;
pub mod sql;
pub mod writer_lock;

pub use memory::MemoryStore;
pub use sql::{PostgresStore, SqliteStore};

/// A boxed future, so that stores can be used as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored row cannot be decoded.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The database URL names no supported backend.
    #[error("unsupported database URL {0:?} (use sqlite:, postgres: or memory:)")]
    UnsupportedUrl(String),
    /// Injected by tests.
    #[error("injected fault: {0}")]
    Injected(String),
    /// Another hub holds the database's writer lock (or the lock cannot be taken).
    #[error("database locked: {0}")]
    Locked(String),
}

/// Filter of transaction listings.
#[derive(Debug, Clone, Default)]
pub struct TxFilter {
    /// Only transactions where this PID is payer or payee (payments) or initiator.
    pub participant: Option<String>,
    /// `Some(true)`: only where the participant pays; `Some(false)`: only where it receives.
    pub outgoing: Option<bool>,
    /// Only this kind.
    pub kind: Option<TxKind>,
    /// Only this state.
    pub state: Option<TxState>,
    /// Only this equivalent.
    pub equivalent: Option<String>,
    /// Only transactions created at or after this time.
    pub since: Option<i64>,
    /// Only transactions created before this time.
    pub until: Option<i64>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Filter of audit-log listings.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this equivalent.
    pub equivalent: Option<String>,
    /// Only this transaction.
    pub tx_id: Option<String>,
    /// Only failed checks.
    pub failures_only: bool,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Filter of admin audit-log listings (every given field must match exactly).
#[derive(Debug, Clone, Default)]
pub struct AdminAuditFilter {
    /// Only this action (`admin.participants.freeze`, ...).
    pub action: Option<String>,
    /// Only this object type (`participant`, `equivalent`, ...).
    pub object_type: Option<String>,
    /// Only this object id.
    pub object_id: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A migration the binary carries (applied when a store opens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownMigration {
    /// Version (the number the file name starts with).
    pub version: i64,
    /// Description (the rest of the file name).
    pub description: String,
}

/// A migration recorded as applied in the database (sqlx's `_sqlx_migrations` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Version.
    pub version: i64,
    /// Description.
    pub description: String,
    /// When it was applied, as the database renders the time stamp.
    pub installed_on: Option<String>,
    /// It ran to the end.
    pub success: bool,
    /// Its recorded checksum equals that of the binary's migration of the same version
    /// (`None`: the binary has no migration of this version).
    pub checksum_matches: Option<bool>,
}

/// The migrations of a store: what the binary carries and what the database applied.
/// The memory store has neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations of the binary, by version.
    pub known: Vec<KnownMigration>,
    /// Migrations recorded in the database, by version.
    pub applied: Vec<AppliedMigration>,
}

impl MigrationStatus {
    /// The highest version applied successfully.
    pub fn current_revision(&self) -> Option<i64> {
        self.applied.iter().filter(|m| m.success).map(|m| m.version).max()
    }

    /// The highest version the binary carries.
    pub fn head_revision(&self) -> Option<i64> {
        self.known.iter().map(|m| m.version).max()
    }

    /// Versions of the binary not applied successfully.
    pub fn pending(&self) -> Vec<i64> {
        self.known
            .iter()
            .filter(|k| !self.applied.iter().any(|a| a.version == k.version && a.success))
            .map(|k| k.version)
            .collect()
    }

    /// Every migration of the binary is applied, none failed, and no checksum differs.
    pub fn is_up_to_date(&self) -> bool {
        self.pending().is_empty()
            && self
                .applied
                .iter()
                .all(|a| a.success && a.checksum_matches != Some(false))
    }
}

/// Stored records that refer to an equivalent (besides trust lines and debts, which the ledger
/// holds in memory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EquivalentReferences {
    /// Transactions of the equivalent.
    pub transactions: u64,
    /// Integrity audit records of the equivalent.
    pub audit_records: u64,
    /// Integrity checkpoints of the equivalent.
    pub checkpoints: u64,
}

/// One storage backend.
pub trait Store: Send + Sync + 'static {
    /// Short name (`sqlite`, `postgres`, `memory`).
    fn backend(&self) -> &'static str;
    /// Everything the ledger is rebuilt from.
    fn load(&self) -> BoxFuture<'_, Result<Snapshot, StoreError>>;
    /// Writes a batch atomically: all of it or nothing.
    fn apply<'a>(&'a self, changes: &'a ChangeSet) -> BoxFuture<'a, Result<(), StoreError>>;
    /// One transaction by id.
    fn transaction<'a>(&'a self, tx_id: &'a str) -> BoxFuture<'a, Result<Option<TxRecord>, StoreError>>;
    /// Transactions, newest first.
    fn transactions<'a>(&'a self, filter: &'a TxFilter) -> BoxFuture<'a, Result<Vec<TxRecord>, StoreError>>;
    /// Audit log, newest first.
    fn audit_log<'a>(
        &'a self,
        filter: &'a AuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AuditRecord>, StoreError>>;
    /// Admin audit log, newest first.
    fn admin_audit_log<'a>(
        &'a self,
        filter: &'a AdminAuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AdminAuditRecord>, StoreError>>;
    /// How many admin audit entries match `filter` (its `limit` and `offset` ignored).
    fn admin_audit_count<'a>(
        &'a self,
        filter: &'a AdminAuditFilter,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The latest checkpoint of each equivalent.
    fn latest_checkpoints(&self) -> BoxFuture<'_, Result<Vec<Checkpoint>, StoreError>>;
    /// How many stored transactions, audit records and checkpoints refer to an equivalent.
    fn equivalent_references<'a>(
        &'a self,
        code: &'a str,
    ) -> BoxFuture<'a, Result<EquivalentReferences, StoreError>>;
    /// The migrations the binary carries and those the database recorded as applied.
    fn migrations(&self) -> BoxFuture<'_, Result<MigrationStatus, StoreError>>;
    /// Cheap liveness probe.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Closes every connection, waiting for those in use (and any transaction an aborted writer
    /// left open, which is rolled back) to be released. The store is unusable afterwards.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Opens the store a URL names: `sqlite:PATH` (created if missing), `postgres://...`, or
/// `memory:`. Migrations are applied.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else if url == "memory:" || url == "memory" {
        Ok(Arc::new(MemoryStore::new()))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
