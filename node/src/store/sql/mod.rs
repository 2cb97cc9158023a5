//! SQLite and PostgreSQL stores (sqlx, runtime-checked queries, one migration folder each).
//!
//! Both share one body of SQL, `sql_store!` here, which each backend module instantiates; the
//! differences are the numeric cast for amounts (PostgreSQL keeps them as `NUMERIC(38,8)`, SQLite as
//! exact decimal text) and how the pool is opened. Batches are written with multi-row statements
//! inside a single transaction.
//!
//! # Files
//! - `mod.rs`: the shared SQL (`sql_store!`), row decoding helpers and the fault budget of crash tests.
//! - `sqlite.rs`: [`SqliteStore`]: opening the pool (WAL, pragmas), the writer lock, its migrations.
//! - `postgres.rs`: [`PostgresStore`]: opening the pool, the advisory writer lock, its migrations.

use geo_protocol::{Amount, EquivalentCode, Pid, Precision};
use sqlx::{QueryBuilder, Row};

use super::writer_lock::WriterLock;
use super::{
    AdminAuditFilter, AppliedMigration, AuditFilter, BoxFuture, EquivalentReferences, KnownMigration,
    MigrationStatus, Store, StoreError, TxFilter,
};
use crate::ledger::graph::LineStatus;
use crate::ledger::model::{
    AdminAuditRecord, AuditRecord, Equivalent, Participant, ParticipantStatus, TxKind, TxRecord, TxState,
};
use crate::ledger::policy::PolicyRecord;
use crate::ledger::snapshot::{ChangeSet, Checkpoint, DebtRow, LineRow, LockRow, Snapshot};

/// Fault injection for crash tests: when armed with `n`, the `n+1`-th statement of the next
/// batches fails before it runs (as if the process died there; the open database transaction is
/// rolled back). Disarmed it costs one atomic load per statement.
#[derive(Debug)]
struct FaultBudget(std::sync::atomic::AtomicI64);

impl Default for FaultBudget {
    fn default() -> Self {
        FaultBudget(std::sync::atomic::AtomicI64::new(-1))
    }
}

impl FaultBudget {
    fn tick(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        if self.0.load(Ordering::Relaxed) < 0 {
            return Ok(());
        }
        if self.0.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.0.store(-1, Ordering::SeqCst);
            return Err(StoreError::Injected("statement budget exhausted".into()));
        }
        Ok(())
    }
}

/// Rows per multi-row statement (keeps every statement far below SQLite's 32,766 parameters).
const CHUNK: usize = 400;

fn corrupt(table: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        table,
        detail: detail.to_string(),
    }
}

/// A load-order position as stored (a non-negative BIGINT).
fn ord(table: &'static str, n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|e| corrupt(table, e))
}

/// A load-order position to store (positions count rows, far below `i64::MAX`).
fn ord_column(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn pid(table: &'static str, s: &str) -> Result<Pid, StoreError> {
    Pid::parse(s).map_err(|e| corrupt(table, e))
}

fn code(table: &'static str, s: &str) -> Result<EquivalentCode, StoreError> {
    EquivalentCode::new(s).map_err(|e| corrupt(table, e))
}

fn amount(table: &'static str, s: &str) -> Result<Amount, StoreError> {
    Amount::parse_stored(s).map_err(|e| corrupt(table, e))
}

fn json(table: &'static str, s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| corrupt(table, e))
}

fn opt_json(table: &'static str, s: Option<String>) -> Result<Option<serde_json::Value>, StoreError> {
    s.map(|s| json(table, &s)).transpose()
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serialising plain records (strings, numbers, maps with string keys) cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// The payer and payee of a payment record (for indexed history queries).
fn parties(tx: &TxRecord) -> (Option<String>, Option<String>) {
    if tx.kind != TxKind::Payment {
        return (None, None);
    }
    match tx.payload.payment() {
        Some(p) => (Some(p.from.to_string()), Some(p.to.to_string())),
        None => (None, None),
    }
}

macro_rules! sql_store {
    (
        $name:ident,
        $db:ty,
        $pool:ty,
        $backend:literal,
        num_in = $num_in:literal,
        num_out = $num_out:literal,
        snapshot_sql = $snapshot_sql:literal,
        migrator = $migrator:ident
    ) => {
        impl $name {
            /// The connection pool.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Crash-test hook: the next batch fails just before its `statements + 1`-th statement
            /// (0 fails before the first), leaving the database as before the batch.
            #[doc(hidden)]
            pub fn fail_after_statements(&self, statements: i64) {
                self.faults.0.store(statements, std::sync::atomic::Ordering::SeqCst);
            }

            fn num(col: &str) -> String {
                format!($num_out, col)
            }

            fn tx_columns() -> &'static str {
                "tx_id, kind, initiator, equivalent, payload, state, request_hash, error, created_at, updated_at"
            }

            fn tx_row(row: &<$db as sqlx::Database>::Row) -> Result<TxRecord, StoreError> {
                const T: &str = "transactions";
                let kind: String = row.try_get("kind")?;
                let state: String = row.try_get("state")?;
                let initiator: Option<String> = row.try_get("initiator")?;
                let equivalent: Option<String> = row.try_get("equivalent")?;
                let payload: String = row.try_get("payload")?;
                Ok(TxRecord {
                    tx_id: row.try_get("tx_id")?,
                    kind: TxKind::parse(&kind).ok_or_else(|| corrupt(T, kind.clone()))?,
                    initiator: initiator.map(|p| pid(T, &p)).transpose()?,
                    equivalent: equivalent.map(|c| code(T, &c)).transpose()?,
                    payload: serde_json::from_str(&payload).map_err(|e| corrupt(T, e))?,
                    state: TxState::parse(&state).ok_or_else(|| corrupt(T, state.clone()))?,
                    request_hash: row.try_get("request_hash")?,
                    error: opt_json(T, row.try_get("error")?)?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            }

            fn audit_row(row: &<$db as sqlx::Database>::Row) -> Result<AuditRecord, StoreError> {
                const T: &str = "integrity_audit_log";
                let id: String = row.try_get("id")?;
                let affected: String = row.try_get("affected_participants")?;
                let affected: Vec<String> = serde_json::from_str(&affected).map_err(|e| corrupt(T, e))?;
                let eq: String = row.try_get("equivalent_code")?;
                let invariants: String = row.try_get("invariants_checked")?;
                Ok(AuditRecord {
                    id: uuid::Uuid::parse_str(&id).map_err(|e| corrupt(T, e))?,
                    operation: row.try_get("operation_type")?,
                    tx_id: row.try_get("tx_id")?,
                    equivalent: code(T, &eq)?,
                    checksum_before: row.try_get("state_checksum_before")?,
                    checksum_after: row.try_get("state_checksum_after")?,
                    affected: affected.iter().map(|p| pid(T, p)).collect::<Result<_, _>>()?,
                    invariants: json(T, &invariants)?,
                    passed: row.try_get("verification_passed")?,
                    error: opt_json(T, row.try_get("error_details")?)?,
                    at: row.try_get("created_at")?,
                })
            }

            fn admin_audit_columns() -> &'static str {
                "id, actor_role, actor_id, action, object_type, object_id, reason, before_state, after_state, \
                 created_at, request_id, ip_address, user_agent"
            }

            fn admin_audit_row(row: &<$db as sqlx::Database>::Row) -> Result<AdminAuditRecord, StoreError> {
                const T: &str = "admin_audit_log";
                let id: String = row.try_get("id")?;
                Ok(AdminAuditRecord {
                    id: uuid::Uuid::parse_str(&id).map_err(|e| corrupt(T, e))?,
                    at: row.try_get("created_at")?,
                    actor_role: row.try_get("actor_role")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    object_type: row.try_get("object_type")?,
                    object_id: row.try_get("object_id")?,
                    reason: row.try_get("reason")?,
                    before_state: opt_json(T, row.try_get("before_state")?)?,
                    after_state: opt_json(T, row.try_get("after_state")?)?,
                    request_id: row.try_get("request_id")?,
                    ip_address: row.try_get("ip_address")?,
                    user_agent: row.try_get("user_agent")?,
                })
            }

            async fn load_snapshot(&self) -> Result<Snapshot, StoreError> {
                let mut snap = Snapshot::default();
                // Every read in one transaction: a consistent snapshot even if another process
                // (or a writer of a killed engine still finishing) commits meanwhile.
                let mut tx = self.pool.begin().await?;
                if !$snapshot_sql.is_empty() {
                    sqlx::query($snapshot_sql).execute(&mut *tx).await?;
                }
                let rows = sqlx::query(
                    "SELECT pid, public_key, display_name, kind, profile, status, verification_level, ord, \
                     created_at, updated_at FROM participants ORDER BY ord",
                )
                .fetch_all(&mut *tx)
                .await?;
                for r in rows {
                    const T: &str = "participants";
                    let p: String = r.try_get("pid")?;
                    let status: String = r.try_get("status")?;
                    let profile: String = r.try_get("profile")?;
                    let level: i64 = r.try_get("verification_level")?;
                    snap.participants.push(Participant {
                        pid: pid(T, &p)?,
                        public_key: r.try_get("public_key")?,
                        display_name: r.try_get("display_name")?,
                        kind: r.try_get("kind")?,
                        profile: json(T, &profile)?,
                        status: ParticipantStatus::parse(&status).ok_or_else(|| corrupt(T, status.clone()))?,
                        verification_level: i16::try_from(level).map_err(|e| corrupt(T, e))?,
                        ord: ord(T, r.try_get("ord")?)?,
                        created_at: r.try_get("created_at")?,
                        updated_at: r.try_get("updated_at")?,
                    });
                }
                let rows = sqlx::query(
                    "SELECT code, precision, symbol, description, metadata, is_active, ord, created_at, updated_at \
                     FROM equivalents ORDER BY ord",
                )
                .fetch_all(&mut *tx)
                .await?;
                for r in rows {
                    const T: &str = "equivalents";
                    let c: String = r.try_get("code")?;
                    let precision: i64 = r.try_get("precision")?;
                    let metadata: String = r.try_get("metadata")?;
                    snap.equivalents.push(Equivalent {
                        code: code(T, &c)?,
                        precision: Precision::from_i64(precision).map_err(|e| corrupt(T, e))?,
                        symbol: r.try_get("symbol")?,
                        description: r.try_get("description")?,
                        metadata: json(T, &metadata)?,
                        is_active: r.try_get("is_active")?,
                        ord: ord(T, r.try_get("ord")?)?,
                        created_at: r.try_get("created_at")?,
                        updated_at: r.try_get("updated_at")?,
                    });
                }
                let sql = format!(
                    "SELECT id, from_pid, to_pid, equivalent, {} AS limit_amount, policy, status, ord, created_at, \
                     updated_at FROM trust_lines ORDER BY ord",
                    Self::num("limit_amount")
                );
                for r in sqlx::query(&sql).fetch_all(&mut *tx).await? {
                    const T: &str = "trust_lines";
                    let id: String = r.try_get("id")?;
                    let (f, t, e): (String, String, String) =
                        (r.try_get("from_pid")?, r.try_get("to_pid")?, r.try_get("equivalent")?);
                    let limit: String = r.try_get("limit_amount")?;
                    let policy: String = r.try_get("policy")?;
                    let status: String = r.try_get("status")?;
                    snap.lines.push(LineRow {
                        id: uuid::Uuid::parse_str(&id).map_err(|e| corrupt(T, e))?,
                        from: pid(T, &f)?,
                        to: pid(T, &t)?,
                        equivalent: code(T, &e)?,
                        limit: amount(T, &limit)?,
                        policy: serde_json::from_str::<PolicyRecord>(&policy).map_err(|e| corrupt(T, e))?,
                        status: LineStatus::parse(&status).ok_or_else(|| corrupt(T, status.clone()))?,
                        ord: ord(T, r.try_get("ord")?)?,
                        created_at: r.try_get("created_at")?,
                        updated_at: r.try_get("updated_at")?,
                    });
                }
                let sql = format!("SELECT equivalent, debtor, creditor, {} AS amount FROM debts", Self::num("amount"));
                for r in sqlx::query(&sql).fetch_all(&mut *tx).await? {
                    const T: &str = "debts";
                    let (e, d, c, a): (String, String, String, String) =
                        (r.try_get("equivalent")?, r.try_get("debtor")?, r.try_get("creditor")?, r.try_get("amount")?);
                    snap.debts.push(DebtRow {
                        equivalent: code(T, &e)?,
                        debtor: pid(T, &d)?,
                        creditor: pid(T, &c)?,
                        amount: amount(T, &a)?,
                    });
                }
                for r in sqlx::query(
                    "SELECT tx_id, equivalent, from_pid, to_pid, routes, expires_at, created_at FROM prepare_locks",
                )
                .fetch_all(&mut *tx)
                .await?
                {
                    const T: &str = "prepare_locks";
                    let (e, f, t, routes): (String, String, String, String) =
                        (r.try_get("equivalent")?, r.try_get("from_pid")?, r.try_get("to_pid")?, r.try_get("routes")?);
                    snap.locks.push(LockRow {
                        tx_id: r.try_get("tx_id")?,
                        equivalent: code(T, &e)?,
                        from: pid(T, &f)?,
                        to: pid(T, &t)?,
                        routes: serde_json::from_str(&routes).map_err(|e| corrupt(T, e))?,
                        expires_at: r.try_get("expires_at")?,
                        created_at: r.try_get("created_at")?,
                    });
                }
                snap.tx_ids = sqlx::query_scalar("SELECT tx_id FROM transactions").fetch_all(&mut *tx).await?;
                let sql = format!("SELECT {} FROM transactions WHERE state = 'PREPARED'", Self::tx_columns());
                for r in sqlx::query(&sql).fetch_all(&mut *tx).await? {
                    snap.prepared.push(Self::tx_row(&r)?);
                }
                for r in sqlx::query(
                    "SELECT a.equivalent_code, a.state_checksum_after FROM integrity_audit_log a JOIN \
                     (SELECT equivalent_code, MAX(seq) AS m FROM integrity_audit_log GROUP BY equivalent_code) b \
                     ON a.seq = b.m",
                )
                .fetch_all(&mut *tx)
                .await?
                {
                    let e: String = r.try_get("equivalent_code")?;
                    snap.last_digests.push((code("integrity_audit_log", &e)?, r.try_get("state_checksum_after")?));
                }
                tx.commit().await?;
                Ok(snap)
            }

            /// Writes `rows` in multi-row statements of at most `CHUNK` rows each: `head` is the
            /// `INSERT INTO table (columns) ` text, `bind` binds the values of one row, `tail`
            /// (empty or an `ON CONFLICT` clause) follows the values.
            async fn insert_chunks<T>(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                head: &str,
                rows: &[T],
                tail: &str,
                mut bind: impl FnMut(sqlx::query_builder::Separated<'_, '_, $db, &'static str>, &T),
            ) -> Result<(), StoreError> {
                for chunk in rows.chunks(CHUNK) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(head);
                    qb.push_values(chunk, |b, row| bind(b, row));
                    qb.push(tail);
                    self.faults.tick()?;
                    qb.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Deletes, in one statement, the rows of `table` whose `column` is one of `keys`.
            async fn delete_in(
                &self,
                tx: &mut sqlx::Transaction<'_, $db>,
                table: &str,
                column: &str,
                keys: impl IntoIterator<Item = String>,
            ) -> Result<(), StoreError> {
                let mut qb: QueryBuilder<$db> =
                    QueryBuilder::new(format!("DELETE FROM {table} WHERE {column} IN ("));
                let mut sep = qb.separated(", ");
                for key in keys {
                    sep.push_bind(key);
                }
                qb.push(")");
                self.faults.tick()?;
                qb.build().execute(&mut **tx).await?;
                Ok(())
            }

            async fn apply_changes(&self, cs: &ChangeSet) -> Result<(), StoreError> {
                if cs.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pool.begin().await?;
                // Deletions first: a code deleted and created again in one batch ends up created.
                // The foreign keys of trust_lines and debts refuse deleting a used equivalent.
                for chunk in cs.equivalents_deleted.chunks(CHUNK) {
                    for (table, column) in [("integrity_checkpoints", "equivalent_code"), ("equivalents", "code")] {
                        self.delete_in(&mut tx, table, column, chunk.iter().map(|c| c.to_string()))
                            .await?;
                    }
                }
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO participants (pid, public_key, display_name, kind, profile, status, \
                         verification_level, ord, created_at, updated_at) ",
                    &cs.participants,
                    " ON CONFLICT (pid) DO UPDATE SET display_name = excluded.display_name, \
                         kind = excluded.kind, profile = excluded.profile, status = excluded.status, \
                         verification_level = excluded.verification_level, updated_at = excluded.updated_at",
                    |mut b, p| {
                        b.push_bind(p.pid.to_string())
                            .push_bind(p.public_key.clone())
                            .push_bind(p.display_name.clone())
                            .push_bind(p.kind.clone())
                            .push_bind(to_json(&p.profile))
                            .push_bind(p.status.as_str())
                            .push_bind(i64::from(p.verification_level))
                            .push_bind(ord_column(p.ord))
                            .push_bind(p.created_at)
                            .push_bind(p.updated_at);
                    },
                )
                .await?;
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO equivalents (code, precision, symbol, description, metadata, is_active, \
                         ord, created_at, updated_at) ",
                    &cs.equivalents,
                    " ON CONFLICT (code) DO UPDATE SET symbol = excluded.symbol, \
                         description = excluded.description, metadata = excluded.metadata, \
                         is_active = excluded.is_active, updated_at = excluded.updated_at",
                    |mut b, e| {
                        b.push_bind(e.code.to_string())
                            .push_bind(i64::from(e.precision.get()))
                            .push_bind(e.symbol.clone())
                            .push_bind(e.description.clone())
                            .push_bind(to_json(&e.metadata))
                            .push_bind(e.is_active)
                            .push_bind(ord_column(e.ord))
                            .push_bind(e.created_at)
                            .push_bind(e.updated_at);
                    },
                )
                .await?;
                // One line per statement keeps a close-then-reopen of the same (from, to) in order
                // for the partial unique index.
                for l in &cs.lines {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                        "INSERT INTO trust_lines (id, from_pid, to_pid, equivalent, limit_amount, policy, status, \
                         ord, created_at, updated_at) VALUES (",
                    );
                    qb.push_bind(l.id.to_string())
                        .push(", ")
                        .push_bind(l.from.to_string())
                        .push(", ")
                        .push_bind(l.to.to_string())
                        .push(", ")
                        .push_bind(l.equivalent.to_string())
                        .push(", ")
                        .push_bind(l.limit.to_string())
                        .push($num_in)
                        .push(", ")
                        .push_bind(to_json(&l.policy))
                        .push(", ")
                        .push_bind(l.status.as_str())
                        .push(", ")
                        .push_bind(ord_column(l.ord))
                        .push(", ")
                        .push_bind(l.created_at)
                        .push(", ")
                        .push_bind(l.updated_at)
                        .push(
                            ") ON CONFLICT (id) DO UPDATE SET limit_amount = excluded.limit_amount, \
                             policy = excluded.policy, status = excluded.status, updated_at = excluded.updated_at",
                        );
                    self.faults.tick()?;
                    qb.build().execute(&mut *tx).await?;
                }
                let deletes: Vec<_> = cs.debts.iter().filter_map(|d| Some((d, d.row_to_delete()?))).collect();
                for chunk in deletes.chunks(CHUNK) {
                    let mut qb: QueryBuilder<$db> = QueryBuilder::new("DELETE FROM debts WHERE ");
                    for (i, (d, (debtor, creditor))) in chunk.iter().enumerate() {
                        if i > 0 {
                            qb.push(" OR ");
                        }
                        qb.push("(equivalent = ")
                            .push_bind(d.equivalent.to_string())
                            .push(" AND debtor = ")
                            .push_bind(debtor.to_string())
                            .push(" AND creditor = ")
                            .push_bind(creditor.to_string())
                            .push(")");
                    }
                    self.faults.tick()?;
                    qb.build().execute(&mut *tx).await?;
                }
                let upserts: Vec<_> = cs.debts.iter().filter_map(|d| Some((d, d.row_to_upsert()?))).collect();
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO debts (equivalent, debtor, creditor, amount) ",
                    &upserts,
                    " ON CONFLICT (equivalent, debtor, creditor) DO UPDATE SET amount = excluded.amount",
                    |mut b, (d, (debtor, creditor, amt))| {
                        b.push_bind(d.equivalent.to_string())
                            .push_bind(debtor.to_string())
                            .push_bind(creditor.to_string())
                            .push_bind(amt.to_string())
                            .push_unseparated($num_in);
                    },
                )
                .await?;
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO prepare_locks (tx_id, equivalent, from_pid, to_pid, routes, expires_at, \
                         created_at) ",
                    &cs.locks,
                    " ON CONFLICT (tx_id) DO UPDATE SET routes = excluded.routes, \
                         expires_at = excluded.expires_at",
                    |mut b, l| {
                        b.push_bind(l.tx_id.clone())
                            .push_bind(l.equivalent.to_string())
                            .push_bind(l.from.to_string())
                            .push_bind(l.to.to_string())
                            .push_bind(to_json(&l.routes))
                            .push_bind(l.expires_at)
                            .push_bind(l.created_at);
                    },
                )
                .await?;
                for chunk in cs.locks_deleted.chunks(CHUNK) {
                    self.delete_in(&mut tx, "prepare_locks", "tx_id", chunk.iter().cloned())
                        .await?;
                }
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO transactions (tx_id, kind, initiator, equivalent, from_pid, to_pid, payload, \
                         state, request_hash, error, created_at, updated_at) ",
                    &cs.transactions,
                    " ON CONFLICT (tx_id) DO UPDATE SET payload = excluded.payload, state = excluded.state, \
                         error = excluded.error, updated_at = excluded.updated_at",
                    |mut b, t| {
                        let (from, to) = parties(t);
                        b.push_bind(t.tx_id.clone())
                            .push_bind(t.kind.as_str())
                            .push_bind(t.initiator.as_ref().map(|p| p.to_string()))
                            .push_bind(t.equivalent.as_ref().map(|c| c.to_string()))
                            .push_bind(from)
                            .push_bind(to)
                            .push_bind(to_json(&t.payload))
                            .push_bind(t.state.as_str())
                            .push_bind(t.request_hash.clone())
                            .push_bind(t.error.as_ref().map(to_json))
                            .push_bind(t.created_at)
                            .push_bind(t.updated_at);
                    },
                )
                .await?;
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO integrity_audit_log (id, operation_type, tx_id, equivalent_code, \
                         state_checksum_before, state_checksum_after, affected_participants, invariants_checked, \
                         verification_passed, error_details, created_at) ",
                    &cs.audit,
                    "",
                    |mut b, a| {
                        let affected: Vec<&str> = a.affected.iter().map(|p| p.as_str()).collect();
                        b.push_bind(a.id.to_string())
                            .push_bind(a.operation.clone())
                            .push_bind(a.tx_id.clone())
                            .push_bind(a.equivalent.to_string())
                            .push_bind(a.checksum_before.clone())
                            .push_bind(a.checksum_after.clone())
                            .push_bind(to_json(&affected))
                            .push_bind(to_json(&a.invariants))
                            .push_bind(a.passed)
                            .push_bind(a.error.as_ref().map(to_json))
                            .push_bind(a.at);
                    },
                )
                .await?;
                self.insert_chunks(
                    &mut tx,
                    "INSERT INTO integrity_checkpoints (equivalent_code, checksum, digest, invariants, passed, \
                         created_at) ",
                    &cs.checkpoints,
                    "",
                    |mut b, c| {
                        b.push_bind(c.equivalent.to_string())
                            .push_bind(c.checksum.clone())
                            .push_bind(c.digest.clone())
                            .push_bind(to_json(&c.invariants))
                            .push_bind(c.passed)
                            .push_bind(c.at);
                    },
                )
                .await?;
                self.insert_chunks(
                    &mut tx,
                    &format!("INSERT INTO admin_audit_log ({}) ", Self::admin_audit_columns()),
                    &cs.admin_audit,
                    "",
                    |mut b, a| {
                        b.push_bind(a.id.to_string())
                            .push_bind(a.actor_role.clone())
                            .push_bind(a.actor_id.clone())
                            .push_bind(a.action.clone())
                            .push_bind(a.object_type.clone())
                            .push_bind(a.object_id.clone())
                            .push_bind(a.reason.clone())
                            .push_bind(a.before_state.as_ref().map(to_json))
                            .push_bind(a.after_state.as_ref().map(to_json))
                            .push_bind(a.at)
                            .push_bind(a.request_id.clone())
                            .push_bind(a.ip_address.clone())
                            .push_bind(a.user_agent.clone());
                    },
                )
                .await?;
                self.faults.tick()?;
                tx.commit().await?;
                Ok(())
            }

            async fn list_transactions(&self, f: &TxFilter) -> Result<Vec<TxRecord>, StoreError> {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(format!(
                    "SELECT {} FROM transactions WHERE 1 = 1",
                    Self::tx_columns()
                ));
                if let Some(p) = &f.participant {
                    match f.outgoing {
                        Some(true) => {
                            qb.push(" AND from_pid = ").push_bind(p.clone());
                        }
                        Some(false) => {
                            qb.push(" AND to_pid = ").push_bind(p.clone());
                        }
                        None => {
                            qb.push(" AND (from_pid = ")
                                .push_bind(p.clone())
                                .push(" OR to_pid = ")
                                .push_bind(p.clone())
                                .push(" OR initiator = ")
                                .push_bind(p.clone())
                                .push(")");
                        }
                    }
                }
                if let Some(k) = f.kind {
                    qb.push(" AND kind = ").push_bind(k.as_str());
                }
                if let Some(s) = f.state {
                    qb.push(" AND state = ").push_bind(s.as_str());
                }
                if let Some(e) = &f.equivalent {
                    qb.push(" AND equivalent = ").push_bind(e.clone());
                }
                if let Some(s) = f.since {
                    qb.push(" AND created_at >= ").push_bind(s);
                }
                if let Some(u) = f.until {
                    qb.push(" AND created_at < ").push_bind(u);
                }
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(f.limit)
                    .push(" OFFSET ")
                    .push_bind(f.offset);
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::tx_row).collect()
            }

            async fn list_audit(&self, f: &AuditFilter) -> Result<Vec<AuditRecord>, StoreError> {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(
                    "SELECT id, operation_type, tx_id, equivalent_code, state_checksum_before, \
                     state_checksum_after, affected_participants, invariants_checked, verification_passed, \
                     error_details, created_at FROM integrity_audit_log WHERE 1 = 1",
                );
                if let Some(e) = &f.equivalent {
                    qb.push(" AND equivalent_code = ").push_bind(e.clone());
                }
                if let Some(t) = &f.tx_id {
                    qb.push(" AND tx_id = ").push_bind(t.clone());
                }
                if f.failures_only {
                    qb.push(" AND verification_passed = ").push_bind(false);
                }
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(f.limit)
                    .push(" OFFSET ")
                    .push_bind(f.offset);
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::audit_row).collect()
            }

            /// Adds the `WHERE` conditions of an admin audit filter.
            fn admin_audit_where(qb: &mut QueryBuilder<'_, $db>, f: &AdminAuditFilter) {
                if let Some(a) = &f.action {
                    qb.push(" AND action = ").push_bind(a.clone());
                }
                if let Some(t) = &f.object_type {
                    qb.push(" AND object_type = ").push_bind(t.clone());
                }
                if let Some(o) = &f.object_id {
                    qb.push(" AND object_id = ").push_bind(o.clone());
                }
            }

            async fn count_admin_audit(&self, f: &AdminAuditFilter) -> Result<u64, StoreError> {
                let mut qb: QueryBuilder<$db> =
                    QueryBuilder::new("SELECT COUNT(*) AS n FROM admin_audit_log WHERE 1 = 1");
                Self::admin_audit_where(&mut qb, f);
                let row = qb.build().fetch_one(&self.pool).await?;
                let n: i64 = row.try_get("n")?;
                u64::try_from(n).map_err(|e| corrupt("admin_audit_log", e))
            }

            async fn list_admin_audit(&self, f: &AdminAuditFilter) -> Result<Vec<AdminAuditRecord>, StoreError> {
                let mut qb: QueryBuilder<$db> = QueryBuilder::new(format!(
                    "SELECT {} FROM admin_audit_log WHERE 1 = 1",
                    Self::admin_audit_columns()
                ));
                Self::admin_audit_where(&mut qb, f);
                qb.push(" ORDER BY seq DESC LIMIT ")
                    .push_bind(f.limit)
                    .push(" OFFSET ")
                    .push_bind(f.offset);
                let rows = qb.build().fetch_all(&self.pool).await?;
                rows.iter().map(Self::admin_audit_row).collect()
            }

            async fn checkpoints_latest(&self) -> Result<Vec<Checkpoint>, StoreError> {
                let rows = sqlx::query(
                    "SELECT c.equivalent_code, c.checksum, c.digest, c.invariants, c.passed, c.created_at \
                     FROM integrity_checkpoints c JOIN (SELECT equivalent_code, MAX(seq) AS m FROM \
                     integrity_checkpoints GROUP BY equivalent_code) l ON c.seq = l.m ORDER BY c.equivalent_code",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        const T: &str = "integrity_checkpoints";
                        let e: String = r.try_get("equivalent_code")?;
                        let inv: String = r.try_get("invariants")?;
                        Ok(Checkpoint {
                            equivalent: code(T, &e)?,
                            checksum: r.try_get("checksum")?,
                            digest: r.try_get("digest")?,
                            invariants: json(T, &inv)?,
                            passed: r.try_get("passed")?,
                            at: r.try_get("created_at")?,
                        })
                    })
                    .collect()
            }
        }

        impl Store for $name {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn load(&self) -> BoxFuture<'_, Result<Snapshot, StoreError>> {
                Box::pin(self.load_snapshot())
            }

            fn apply<'a>(&'a self, changes: &'a ChangeSet) -> BoxFuture<'a, Result<(), StoreError>> {
                Box::pin(self.apply_changes(changes))
            }

            fn transaction<'a>(&'a self, tx_id: &'a str) -> BoxFuture<'a, Result<Option<TxRecord>, StoreError>> {
                Box::pin(async move {
                    let sql = format!("SELECT {} FROM transactions WHERE tx_id = $1", Self::tx_columns());
                    let row = sqlx::query(&sql).bind(tx_id).fetch_optional(&self.pool).await?;
                    row.as_ref().map(Self::tx_row).transpose()
                })
            }

            fn transactions<'a>(&'a self, filter: &'a TxFilter) -> BoxFuture<'a, Result<Vec<TxRecord>, StoreError>> {
                Box::pin(self.list_transactions(filter))
            }

            fn audit_log<'a>(&'a self, filter: &'a AuditFilter) -> BoxFuture<'a, Result<Vec<AuditRecord>, StoreError>> {
                Box::pin(self.list_audit(filter))
            }

            fn admin_audit_log<'a>(
                &'a self,
                filter: &'a AdminAuditFilter,
            ) -> BoxFuture<'a, Result<Vec<AdminAuditRecord>, StoreError>> {
                Box::pin(self.list_admin_audit(filter))
            }

            fn admin_audit_count<'a>(
                &'a self,
                filter: &'a AdminAuditFilter,
            ) -> BoxFuture<'a, Result<u64, StoreError>> {
                Box::pin(self.count_admin_audit(filter))
            }

            fn latest_checkpoints(&self) -> BoxFuture<'_, Result<Vec<Checkpoint>, StoreError>> {
                Box::pin(self.checkpoints_latest())
            }

            fn equivalent_references<'a>(
                &'a self,
                code: &'a str,
            ) -> BoxFuture<'a, Result<EquivalentReferences, StoreError>> {
                Box::pin(async move {
                    let row = sqlx::query(
                        "SELECT (SELECT COUNT(*) FROM transactions WHERE equivalent = $1) AS transactions, \
                         (SELECT COUNT(*) FROM integrity_audit_log WHERE equivalent_code = $1) AS audit_records, \
                         (SELECT COUNT(*) FROM integrity_checkpoints WHERE equivalent_code = $1) AS checkpoints",
                    )
                    .bind(code)
                    .fetch_one(&self.pool)
                    .await?;
                    let count = |col: &str| -> Result<u64, StoreError> {
                        let n: i64 = row.try_get(col)?;
                        u64::try_from(n).map_err(|e| corrupt("equivalents", e))
                    };
                    Ok(EquivalentReferences {
                        transactions: count("transactions")?,
                        audit_records: count("audit_records")?,
                        checkpoints: count("checkpoints")?,
                    })
                })
            }

            fn migrations(&self) -> BoxFuture<'_, Result<MigrationStatus, StoreError>> {
                Box::pin(async move {
                    let known: Vec<&sqlx::migrate::Migration> = $migrator
                        .iter()
                        .filter(|m| !m.migration_type.is_down_migration())
                        .collect();
                    let rows = sqlx::query(
                        "SELECT version, description, CAST(installed_on AS TEXT) AS installed_on, success, checksum \
                         FROM _sqlx_migrations ORDER BY version",
                    )
                    .fetch_all(&self.pool)
                    .await?;
                    let mut applied = Vec::with_capacity(rows.len());
                    for r in rows {
                        let version: i64 = r.try_get("version")?;
                        let checksum: Vec<u8> = r.try_get("checksum")?;
                        applied.push(AppliedMigration {
                            version,
                            description: r.try_get("description")?,
                            installed_on: r.try_get("installed_on")?,
                            success: r.try_get("success")?,
                            checksum_matches: known
                                .iter()
                                .find(|m| m.version == version)
                                .map(|m| m.checksum.as_ref() == checksum.as_slice()),
                        });
                    }
                    Ok(MigrationStatus {
                        known: known
                            .iter()
                            .map(|m| KnownMigration {
                                version: m.version,
                                description: m.description.to_string(),
                            })
                            .collect(),
                        applied,
                    })
                })
            }

            fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
                Box::pin(async move {
                    sqlx::query("SELECT 1").execute(&self.pool).await?;
                    Ok(())
                })
            }

            fn close(&self) -> BoxFuture<'_, ()> {
                Box::pin(async {
                    // The pool first: closing waits for a commit still in flight, and only
                    // then may another writer take the database.
                    self.pool.close().await;
                    self.writer_lock.release().await;
                })
            }
        }
    };
}

// The backends come after `sql_store!`: a `macro_rules!` macro is visible only below its
// definition.
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
