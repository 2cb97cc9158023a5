//! The in-memory store: the same contract as the SQL stores, for tests and deterministic
//! simulation. A batch is checked before any of it is applied, so it is all-or-nothing too.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use geo_protocol::Amount;

use super::{
    AdminAuditFilter, AuditFilter, BoxFuture, EquivalentReferences, MigrationStatus, Store, StoreError,
    TxFilter,
};
use crate::ledger::graph::LineStatus;
use crate::ledger::model::{AdminAuditRecord, AuditRecord, Equivalent, Participant, TxRecord, TxState};
use crate::ledger::snapshot::{ChangeSet, Checkpoint, DebtRow, LineRow, LockRow, Snapshot};

#[derive(Default)]
struct Tables {
    participants: BTreeMap<String, Participant>,
    equivalents: BTreeMap<String, Equivalent>,
    lines: BTreeMap<uuid::Uuid, LineRow>,
    debts: BTreeMap<(String, String, String), Amount>,
    locks: BTreeMap<String, LockRow>,
    transactions: Vec<TxRecord>,
    tx_index: HashMap<String, usize>,
    audit: Vec<AuditRecord>,
    checkpoints: Vec<Checkpoint>,
    admin_audit: Vec<AdminAuditRecord>,
}

/// A store that keeps everything in memory (lost when dropped).
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    fail_next_apply: Mutex<Option<String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Makes the next [`Store::apply`] fail without writing anything (fault injection).
    pub fn fail_next_apply(&self, reason: &str) {
        if let Ok(mut f) = self.fail_next_apply.lock() {
            *f = Some(reason.to_owned());
        }
    }

    fn tables(&self) -> Result<std::sync::MutexGuard<'_, Tables>, StoreError> {
        self.tables
            .lock()
            .map_err(|_| StoreError::Injected("memory store poisoned".into()))
    }
}

fn tx_matches(tx: &TxRecord, f: &TxFilter) -> bool {
    let parties = tx.payload.parties();
    let from = parties.map(|(from, _)| from.as_str());
    let to = parties.map(|(_, to)| to.as_str());
    if let Some(p) = &f.participant {
        let p = p.as_str();
        let ok = match f.outgoing {
            Some(true) => from == Some(p),
            Some(false) => to == Some(p),
            None => from == Some(p) || to == Some(p) || tx.initiator.as_ref().map(|i| i.as_str()) == Some(p),
        };
        if !ok {
            return false;
        }
    }
    f.kind.is_none_or(|k| k == tx.kind)
        && f.state.is_none_or(|s| s == tx.state)
        && f.equivalent
            .as_ref()
            .is_none_or(|e| tx.equivalent.as_ref().map(|c| c.as_str()) == Some(e.as_str()))
        && f.since.is_none_or(|s| tx.created_at >= s)
        && f.until.is_none_or(|u| tx.created_at < u)
}

impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn load(&self) -> BoxFuture<'_, Result<Snapshot, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            let mut last: BTreeMap<String, String> = BTreeMap::new();
            for a in &t.audit {
                last.insert(a.equivalent.to_string(), a.checksum_after.clone());
            }
            let mut participants: Vec<Participant> = t.participants.values().cloned().collect();
            participants.sort_by_key(|p| p.ord);
            let mut equivalents: Vec<Equivalent> = t.equivalents.values().cloned().collect();
            equivalents.sort_by_key(|e| e.ord);
            let mut lines: Vec<LineRow> = t.lines.values().cloned().collect();
            lines.sort_by_key(|l| l.ord);
            Ok(Snapshot {
                participants,
                equivalents,
                lines,
                debts: t
                    .debts
                    .iter()
                    .filter_map(|((e, d, c), a)| {
                        Some(DebtRow {
                            equivalent: geo_protocol::EquivalentCode::new(e).ok()?,
                            debtor: geo_protocol::Pid::parse(d).ok()?,
                            creditor: geo_protocol::Pid::parse(c).ok()?,
                            amount: *a,
                        })
                    })
                    .collect(),
                locks: t.locks.values().cloned().collect(),
                tx_ids: t.transactions.iter().map(|x| x.tx_id.clone()).collect(),
                prepared: t
                    .transactions
                    .iter()
                    .filter(|x| x.state == TxState::Prepared)
                    .cloned()
                    .collect(),
                last_digests: last
                    .into_iter()
                    .filter_map(|(e, d)| Some((geo_protocol::EquivalentCode::new(&e).ok()?, d)))
                    .collect(),
            })
        })
    }

    fn apply<'a>(&'a self, cs: &'a ChangeSet) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if let Ok(mut f) = self.fail_next_apply.lock() {
                if let Some(reason) = f.take() {
                    return Err(StoreError::Injected(reason));
                }
            }
            let mut t = self.tables()?;
            // Check the one constraint the SQL schemas enforce that a buggy batch could break:
            // at most one open line per (from, to, equivalent).
            let mut lines = t.lines.clone();
            for l in &cs.lines {
                lines.insert(l.id, l.clone());
            }
            let mut open = std::collections::HashSet::new();
            for l in lines.values().filter(|l| l.status != LineStatus::Closed) {
                if !open.insert((l.from.clone(), l.to.clone(), l.equivalent.clone())) {
                    return Err(StoreError::Corrupt {
                        table: "trust_lines",
                        detail: "two open lines".into(),
                    });
                }
            }
            // Like the SQL schemas' unique key on the admin audit log's ids.
            let mut ids: std::collections::HashSet<uuid::Uuid> = t.admin_audit.iter().map(|a| a.id).collect();
            if !cs.admin_audit.iter().all(|a| ids.insert(a.id)) {
                return Err(StoreError::Corrupt {
                    table: "admin_audit_log",
                    detail: "duplicate id".into(),
                });
            }
            // Like the SQL schemas' foreign keys: only an equivalent nothing refers to is deleted.
            for code in &cs.equivalents_deleted {
                let referred = t.lines.values().any(|l| &l.equivalent == code)
                    || t.debts.keys().any(|(e, _, _)| e == code.as_str());
                if referred {
                    return Err(StoreError::Corrupt {
                        table: "equivalents",
                        detail: format!("{code} is still referred to"),
                    });
                }
            }
            for code in &cs.equivalents_deleted {
                t.equivalents.remove(code.as_str());
                t.checkpoints.retain(|c| &c.equivalent != code);
            }
            t.lines = lines;
            for p in &cs.participants {
                t.participants.insert(p.pid.to_string(), p.clone());
            }
            for e in &cs.equivalents {
                t.equivalents.insert(e.code.to_string(), e.clone());
            }
            for d in &cs.debts {
                let e = d.equivalent.to_string();
                if let Some((debtor, creditor)) = d.row_to_delete() {
                    t.debts
                        .remove(&(e.clone(), debtor.to_string(), creditor.to_string()));
                }
                if let Some((debtor, creditor, amount)) = d.row_to_upsert() {
                    t.debts
                        .insert((e, debtor.to_string(), creditor.to_string()), amount);
                }
            }
            for l in &cs.locks {
                t.locks.insert(l.tx_id.clone(), l.clone());
            }
            for id in &cs.locks_deleted {
                t.locks.remove(id);
            }
            for tx in &cs.transactions {
                match t.tx_index.get(&tx.tx_id).copied() {
                    Some(i) => t.transactions[i] = tx.clone(),
                    None => {
                        let i = t.transactions.len();
                        t.tx_index.insert(tx.tx_id.clone(), i);
                        t.transactions.push(tx.clone());
                    }
                }
            }
            t.audit.extend(cs.audit.iter().cloned());
            t.checkpoints.extend(cs.checkpoints.iter().cloned());
            t.admin_audit.extend(cs.admin_audit.iter().cloned());
            Ok(())
        })
    }

    fn transaction<'a>(&'a self, tx_id: &'a str) -> BoxFuture<'a, Result<Option<TxRecord>, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            Ok(t.tx_index.get(tx_id).map(|i| t.transactions[*i].clone()))
        })
    }

    fn transactions<'a>(&'a self, f: &'a TxFilter) -> BoxFuture<'a, Result<Vec<TxRecord>, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            Ok(t.transactions
                .iter()
                .rev()
                .filter(|tx| tx_matches(tx, f))
                .skip(usize::try_from(f.offset).unwrap_or(0))
                .take(usize::try_from(f.limit).unwrap_or(0))
                .cloned()
                .collect())
        })
    }

    fn audit_log<'a>(&'a self, f: &'a AuditFilter) -> BoxFuture<'a, Result<Vec<AuditRecord>, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            Ok(t.audit
                .iter()
                .rev()
                .filter(|a| f.equivalent.as_ref().is_none_or(|e| a.equivalent.as_str() == e))
                .filter(|a| {
                    f.tx_id
                        .as_ref()
                        .is_none_or(|x| a.tx_id.as_deref() == Some(x.as_str()))
                })
                .filter(|a| !f.failures_only || !a.passed)
                .skip(usize::try_from(f.offset).unwrap_or(0))
                .take(usize::try_from(f.limit).unwrap_or(0))
                .cloned()
                .collect())
        })
    }

    fn admin_audit_log<'a>(
        &'a self,
        f: &'a AdminAuditFilter,
    ) -> BoxFuture<'a, Result<Vec<AdminAuditRecord>, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            Ok(t.admin_audit
                .iter()
                .rev()
                .filter(|a| admin_audit_matches(f, a))
                .skip(usize::try_from(f.offset).unwrap_or(0))
                .take(usize::try_from(f.limit).unwrap_or(0))
                .cloned()
                .collect())
        })
    }

    fn admin_audit_count<'a>(&'a self, f: &'a AdminAuditFilter) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            let n = t.admin_audit.iter().filter(|a| admin_audit_matches(f, a)).count();
            Ok(u64::try_from(n).unwrap_or(u64::MAX))
        })
    }

    fn latest_checkpoints(&self) -> BoxFuture<'_, Result<Vec<Checkpoint>, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            let mut last: BTreeMap<String, Checkpoint> = BTreeMap::new();
            for c in &t.checkpoints {
                last.insert(c.equivalent.to_string(), c.clone());
            }
            Ok(last.into_values().collect())
        })
    }

    fn equivalent_references<'a>(
        &'a self,
        code: &'a str,
    ) -> BoxFuture<'a, Result<EquivalentReferences, StoreError>> {
        Box::pin(async move {
            let t = self.tables()?;
            let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            Ok(EquivalentReferences {
                transactions: count(
                    t.transactions
                        .iter()
                        .filter(|x| x.equivalent.as_ref().is_some_and(|e| e.as_str() == code))
                        .count(),
                ),
                audit_records: count(t.audit.iter().filter(|a| a.equivalent.as_str() == code).count()),
                checkpoints: count(
                    t.checkpoints
                        .iter()
                        .filter(|c| c.equivalent.as_str() == code)
                        .count(),
                ),
            })
        })
    }

    fn migrations(&self) -> BoxFuture<'_, Result<MigrationStatus, StoreError>> {
        // Nothing to migrate: the tables are Rust collections.
        Box::pin(async { Ok(MigrationStatus::default()) })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move { self.tables().map(|_| ()) })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Whether an admin audit entry passes the conditions of a filter (paging aside).
fn admin_audit_matches(f: &AdminAuditFilter, a: &AdminAuditRecord) -> bool {
    let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    is(&f.action, &a.action) && is(&f.object_type, &a.object_type) && is(&f.object_id, &a.object_id)
}
