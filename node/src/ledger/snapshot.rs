//! What the ledger exchanges with storage: the [`Snapshot`] it is rebuilt from, and the
//! [`ChangeSet`] of rows one batch of operations leaves to persist.

use geo_protocol::{Amount, EquivalentCode, Pid};

use super::graph::LineStatus;
use super::model::{AdminAuditRecord, AuditRecord, Equivalent, Millis, Participant, RouteRecord, TxRecord};
use super::policy::PolicyRecord;

/// A trust line row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    /// UUID.
    pub id: uuid::Uuid,
    /// Owner (creditor).
    pub from: Pid,
    /// Trustee (potential debtor).
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Limit.
    pub limit: Amount,
    /// Policy.
    pub policy: PolicyRecord,
    /// Status.
    pub status: LineStatus,
    /// Position in the ledger's load order (the order of creation).
    pub ord: u64,
    /// Creation time.
    pub created_at: Millis,
    /// Last update.
    pub updated_at: Millis,
}

/// A debt row (`amount > 0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtRow {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Debtor.
    pub debtor: Pid,
    /// Creditor.
    pub creditor: Pid,
    /// Amount.
    pub amount: Amount,
}

/// The new debt between two participants: `amount > 0` means `a` owes `b`, `< 0` that `b` owes
/// `a`, zero that neither owes anything; `before` is the signed debt the store holds now (so the
/// store can update a row in place, and delete only when the debt vanished or changed direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtChange {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// One side.
    pub a: Pid,
    /// The other side.
    pub b: Pid,
    /// Signed debt of `a` to `b` as stored before this batch.
    pub before: Amount,
    /// Signed debt of `a` to `b`.
    pub amount: Amount,
}

impl DebtChange {
    /// The row `(debtor, creditor, amount)` of a signed debt, if any.
    fn row(&self, signed: Amount) -> Option<(&Pid, &Pid, Amount)> {
        if signed.is_positive() {
            Some((&self.a, &self.b, signed))
        } else if signed.is_negative() {
            Some((&self.b, &self.a, signed.neg()))
        } else {
            None
        }
    }

    /// The row to delete: the stored one, when the debt vanished or changed direction.
    pub fn row_to_delete(&self) -> Option<(&Pid, &Pid)> {
        let old = self.row(self.before)?;
        match self.row(self.amount) {
            Some(new) if new.0 == old.0 => None,
            _ => Some((old.0, old.1)),
        }
    }

    /// The row to insert or update: the new debt, if any.
    pub fn row_to_upsert(&self) -> Option<(&Pid, &Pid, Amount)> {
        self.row(self.amount)
    }
}

/// A prepare lock row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRow {
    /// Transaction id.
    pub tx_id: String,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Payer.
    pub from: Pid,
    /// Payee.
    pub to: Pid,
    /// Reserved routes.
    pub routes: Vec<RouteRecord>,
    /// Expiry.
    pub expires_at: Millis,
    /// Creation.
    pub created_at: Millis,
}

/// A periodic integrity checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Full SHA-256 checksum (spec 11.3.1).
    pub checksum: String,
    /// Incremental digest at that point.
    pub digest: String,
    /// Invariant results.
    pub invariants: serde_json::Value,
    /// All invariants passed.
    pub passed: bool,
    /// Time.
    pub at: Millis,
}

/// Everything the ledger is rebuilt from at start.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// All participants.
    pub participants: Vec<Participant>,
    /// All equivalents.
    pub equivalents: Vec<Equivalent>,
    /// All trust lines, closed ones included.
    pub lines: Vec<LineRow>,
    /// All debts.
    pub debts: Vec<DebtRow>,
    /// Open prepare locks.
    pub locks: Vec<LockRow>,
    /// Every recorded transaction id (for idempotency).
    pub tx_ids: Vec<String>,
    /// Transactions still in `PREPARED` state.
    pub prepared: Vec<TxRecord>,
    /// The last audited digest of each equivalent.
    pub last_digests: Vec<(EquivalentCode, String)>,
}

/// Rows to write, in one database transaction, after a batch.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    /// Participants to insert or update.
    pub participants: Vec<Participant>,
    /// Equivalents to insert or update.
    pub equivalents: Vec<Equivalent>,
    /// Trust lines to insert or update.
    pub lines: Vec<LineRow>,
    /// Debts to replace.
    pub debts: Vec<DebtChange>,
    /// Locks to insert or update.
    pub locks: Vec<LockRow>,
    /// Locks to delete.
    pub locks_deleted: Vec<String>,
    /// Transactions to insert or update (by `tx_id`).
    pub transactions: Vec<TxRecord>,
    /// Audit entries to append.
    pub audit: Vec<AuditRecord>,
    /// Checkpoints to append.
    pub checkpoints: Vec<Checkpoint>,
    /// Equivalents to delete with their checkpoints, before anything else of the batch is
    /// written (so that a code deleted and created again in one batch ends up created).
    pub equivalents_deleted: Vec<EquivalentCode>,
    /// Admin audit entries to append (no ledger state: only persisted and listed).
    pub admin_audit: Vec<AdminAuditRecord>,
}

impl ChangeSet {
    /// True when nothing is to be written.
    pub fn is_empty(&self) -> bool {
        self.participants.is_empty()
            && self.equivalents.is_empty()
            && self.lines.is_empty()
            && self.debts.is_empty()
            && self.locks.is_empty()
            && self.locks_deleted.is_empty()
            && self.transactions.is_empty()
            && self.audit.is_empty()
            && self.checkpoints.is_empty()
            && self.equivalents_deleted.is_empty()
            && self.admin_audit.is_empty()
    }
}
