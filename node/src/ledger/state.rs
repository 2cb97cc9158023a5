//! The [`Ledger`]: the whole in-memory state of one hub and the bookkeeping shared by its
//! operations (lookups, the incremental digest, change tracking, restore from a snapshot).
//!
//! Operations live in sibling modules (`participants`, `lines`, `payments`, `clearing::apply`);
//! each validates everything first and mutates only when it cannot fail any more, so a refused
//! operation leaves the ledger untouched.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use geo_protocol::{Amount, EquivalentCode, Pid};

use super::error::LedgerError;
use super::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId, PairId};
use super::ids::{IdSeed, IdSource};
use super::integrity::{check_graph, full_checksum, InvariantReport, StateDigest};
use super::model::{
    AdminAuditRecord, AdminEntry, AuditRecord, EqId, Equivalent, Millis, Participant, ParticipantStatus,
    PrepareLock, RouteRecord, TrustLine, TxRecord, TxState,
};
use super::policy::PolicyRecord;
use super::routing::Router;
use super::snapshot::{ChangeSet, Checkpoint, DebtChange, LineRow, LockRow, Snapshot};

/// Tunables of the ledger.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Search for and clear short cycles through the pairs a payment changed.
    pub clear_after_payment: bool,
    /// Longest cycle (in participants) of the triggered search (3 or 4).
    pub triggered_cycle_len: usize,
    /// How many recent transactions are kept in memory for idempotent replays.
    pub recent_window: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            clear_after_payment: true,
            triggered_cycle_len: 4,
            recent_window: 100_000,
        }
    }
}

/// The graph and digest of one equivalent.
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// Trust lines and debts.
    pub graph: CreditGraph,
    /// Incremental checksum of the debts.
    pub digest: StateDigest,
}

/// Keys touched since the last [`Ledger::take_changes`].
#[derive(Debug, Default)]
pub(crate) struct Dirty {
    pub participants: BTreeSet<NodeId>,
    pub equivalents: BTreeSet<EqId>,
    pub lines: BTreeSet<u32>,
    /// Pairs whose debt changed, with the signed debt they had before the first change.
    pub pairs: BTreeMap<(EqId, PairId), i128>,
    pub locks: BTreeSet<String>,
    pub transactions: Vec<TxRecord>,
    pub audit: Vec<AuditRecord>,
    pub checkpoints: Vec<Checkpoint>,
    /// Equivalents deleted, in order (their rows and checkpoints are removed from the store).
    pub equivalents_deleted: Vec<EquivalentCode>,
    /// Admin audit entries to persist with the batch.
    pub admin_audit: Vec<AdminAuditRecord>,
}

/// Recently recorded transactions (for replays) and fingerprints of all known tx ids.
#[derive(Debug, Default)]
pub(crate) struct TxIndex {
    pub recent: HashMap<String, TxRecord>,
    pub order: VecDeque<String>,
    pub seen: HashSet<u64>,
}

pub(crate) fn fingerprint(tx_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tx_id.hash(&mut h);
    h.finish()
}

/// The whole state of one hub.
pub struct Ledger {
    pub(crate) config: LedgerConfig,
    pub(crate) participants: Vec<Participant>,
    pub(crate) by_pid: HashMap<Pid, NodeId>,
    pub(crate) equivalents: Vec<Equivalent>,
    pub(crate) by_code: HashMap<EquivalentCode, EqId>,
    pub(crate) books: Vec<Book>,
    pub(crate) lines: Vec<TrustLine>,
    pub(crate) line_by_id: HashMap<uuid::Uuid, u32>,
    pub(crate) locks: BTreeMap<String, PrepareLock>,
    pub(crate) txs: TxIndex,
    pub(crate) router: Router,
    pub(crate) dirty: Dirty,
    /// Participants that are not active (kept off every route).
    pub(crate) inactive: BTreeSet<NodeId>,
    /// Lines whose `blocked_participants` name a PID that is not registered (yet), by that PID;
    /// a registration applies them without scanning every line. Entries may be stale (the line's
    /// policy changed since) and are checked when used.
    pub(crate) pending_blocks: HashMap<Pid, Vec<u32>>,
    /// Ids of the command being applied (see [`Ledger::seed_ids`]).
    pub(crate) ids: IdSource,
    /// Load-order position of the next equivalent created ([`Equivalent::ord`]).
    pub(crate) next_eq_ord: u64,
}

/// Why a snapshot cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// A row refers to something that does not exist or repeats a key.
    #[error("inconsistent snapshot: {0}")]
    Inconsistent(String),
    /// An invariant does not hold on the loaded state.
    #[error("invariant violated after load: {0}")]
    Invariant(String),
    /// The digest of the loaded debts differs from the last audited one.
    #[error("state checksum mismatch for {equivalent}: audited {audited}, loaded {loaded}")]
    Checksum {
        /// Equivalent.
        equivalent: String,
        /// Last audited digest.
        audited: String,
        /// Digest of the loaded debts.
        loaded: String,
    },
}

impl Ledger {
    /// An empty ledger.
    pub fn new(config: LedgerConfig) -> Ledger {
        Ledger {
            config,
            participants: Vec::new(),
            by_pid: HashMap::new(),
            equivalents: Vec::new(),
            by_code: HashMap::new(),
            books: Vec::new(),
            lines: Vec::new(),
            line_by_id: HashMap::new(),
            locks: BTreeMap::new(),
            txs: TxIndex::default(),
            router: Router::new(),
            dirty: Dirty::default(),
            inactive: BTreeSet::new(),
            pending_blocks: HashMap::new(),
            ids: IdSource::default(),
            next_eq_ord: 0,
        }
    }

    /// Sets the seed of the ids the next operations give out. The engine calls it before every
    /// command with the seed the command carries in the log, so a replay gives the same ids.
    pub fn seed_ids(&mut self, seed: IdSeed) {
        self.ids = IdSource::new(seed);
    }

    /// The configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    // ---------------------------------------------------------------- lookups

    /// Node id of a PID.
    pub fn node(&self, pid: &Pid) -> Result<NodeId, LedgerError> {
        self.by_pid
            .get(pid)
            .copied()
            .ok_or_else(|| LedgerError::UnknownParticipant(pid.to_string()))
    }

    /// Node id of an active participant.
    pub fn active_node(&self, pid: &Pid) -> Result<NodeId, LedgerError> {
        let n = self.node(pid)?;
        if self.participants[n as usize].status != ParticipantStatus::Active {
            return Err(LedgerError::ParticipantNotActive(pid.to_string()));
        }
        Ok(n)
    }

    /// A participant by PID.
    pub fn participant(&self, pid: &Pid) -> Option<&Participant> {
        self.by_pid.get(pid).map(|n| &self.participants[*n as usize])
    }

    /// A participant by node id.
    pub fn participant_at(&self, node: NodeId) -> &Participant {
        &self.participants[node as usize]
    }

    /// All participants.
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }

    /// PID of a node.
    pub fn pid(&self, node: NodeId) -> &Pid {
        &self.participants[node as usize].pid
    }

    /// Equivalent id of a code.
    pub fn eq_id(&self, code: &EquivalentCode) -> Result<EqId, LedgerError> {
        self.by_code
            .get(code)
            .copied()
            .ok_or_else(|| LedgerError::UnknownEquivalent(code.to_string()))
    }

    /// Equivalent id of an active equivalent.
    pub fn active_eq(&self, code: &EquivalentCode) -> Result<EqId, LedgerError> {
        let id = self.eq_id(code)?;
        if !self.equivalents[id as usize].is_active {
            return Err(LedgerError::EquivalentNotActive(code.to_string()));
        }
        Ok(id)
    }

    /// An equivalent by code.
    pub fn equivalent(&self, code: &EquivalentCode) -> Option<&Equivalent> {
        self.by_code.get(code).map(|id| &self.equivalents[*id as usize])
    }

    /// An equivalent by id.
    pub fn equivalent_at(&self, id: EqId) -> &Equivalent {
        &self.equivalents[id as usize]
    }

    /// All equivalents.
    pub fn equivalents(&self) -> &[Equivalent] {
        &self.equivalents
    }

    /// The book (graph and digest) of an equivalent.
    pub fn book(&self, id: EqId) -> &Book {
        &self.books[id as usize]
    }

    /// A trust line by id.
    pub fn line(&self, id: &uuid::Uuid) -> Option<&TrustLine> {
        self.line_by_id.get(id).map(|i| &self.lines[*i as usize])
    }

    /// All trust lines (closed ones included).
    pub fn lines(&self) -> &[TrustLine] {
        &self.lines
    }

    /// Open prepare locks.
    pub fn locks(&self) -> impl Iterator<Item = &PrepareLock> {
        self.locks.values()
    }

    /// What `debtor` owes `creditor` in an equivalent.
    pub fn debt(&self, eq: EqId, debtor: NodeId, creditor: NodeId) -> i128 {
        self.books[eq as usize].graph.debt(debtor, creditor)
    }

    /// The debt standing on a line (what `to` owes `from`).
    pub fn line_used(&self, line: &TrustLine) -> i128 {
        self.debt(line.eq, line.to, line.from)
    }

    /// A recorded transaction still in the in-memory window.
    pub fn recent_transaction(&self, tx_id: &str) -> Option<&TxRecord> {
        self.txs.recent.get(tx_id)
    }

    /// The incremental digest of an equivalent, hex.
    pub fn digest_hex(&self, eq: EqId) -> String {
        self.books[eq as usize].digest.hex()
    }

    /// The spec's full checksum of an equivalent.
    pub fn full_checksum(&self, eq: EqId) -> String {
        full_checksum(&self.books[eq as usize].graph, |n| self.pid(n).clone())
    }

    /// Runs every invariant check on one equivalent.
    pub fn check(&self, eq: EqId) -> InvariantReport {
        let book = &self.books[eq as usize];
        let mut report = check_graph(&book.graph);
        let recomputed = StateDigest::of_graph(&book.graph, |n| self.pid(n).clone());
        if recomputed != book.digest {
            // A digest drift means some debt change bypassed the bookkeeping.
            report.reservation_violations += 1;
        }
        report
    }

    /// Converts atoms to an amount (values in the ledger are always within range).
    pub(crate) fn amount(atoms: i128) -> Amount {
        Amount::from_atoms(atoms).unwrap_or(Amount::MAX)
    }

    // ---------------------------------------------------------------- mutation helpers

    /// Adds `atoms` to the debt of `payer` towards `payee` (a payment hop, or with the roles
    /// swapped a clearing reduction), keeping the digest current and marking the pair dirty.
    pub(crate) fn shift_debt(&mut self, eq: EqId, payer: NodeId, payee: NodeId, atoms: i128) -> PairId {
        let book = &mut self.books[eq as usize];
        let pair_id = book.graph.find_or_insert(payer, payee);
        let pair = book.graph.pair_mut(pair_id);
        let (lo, hi, before) = (pair.lo, pair.hi, pair.debt);
        pair.apply_payment(payer, atoms);
        let after = pair.debt;
        let pids = &self.participants;
        let pid = |n: NodeId| &pids[n as usize].pid;
        if before > 0 {
            book.digest.remove(pid(lo), pid(hi), before);
        } else if before < 0 {
            book.digest.remove(pid(hi), pid(lo), -before);
        }
        if after > 0 {
            book.digest.insert(pid(lo), pid(hi), after);
        } else if after < 0 {
            book.digest.insert(pid(hi), pid(lo), -after);
        }
        self.dirty.pairs.entry((eq, pair_id)).or_insert(before);
        pair_id
    }

    /// Re-syncs the graph slot of a line from its record.
    pub(crate) fn sync_slot(&mut self, index: u32) {
        let line = &self.lines[index as usize];
        let slot = LineSlot {
            line: index,
            limit: line.limit.atoms(),
            status: line.status,
            policy: line.policy.clone(),
        };
        let (eq, from, to) = (line.eq, line.from, line.to);
        let graph = &mut self.books[eq as usize].graph;
        let pair = graph.find_or_insert(from, to);
        *graph.pair_mut(pair).line_from_mut(from) = Some(slot);
    }

    /// Graph policy of a stored policy (blocked PIDs that are not registered are dropped: they
    /// can never be on a route).
    pub(crate) fn graph_policy(&self, record: &PolicyRecord) -> LinePolicy {
        LinePolicy {
            auto_clearing: record.auto_clearing,
            can_be_intermediate: record.can_be_intermediate,
            max_hop_usage: record.max_hop_usage.map(Amount::atoms),
            daily_limit: record.daily_limit.map(Amount::atoms),
            blocked: record
                .blocked_participants
                .iter()
                .filter_map(|p| self.by_pid.get(p).copied())
                .collect(),
        }
    }

    /// Remembers the unregistered PIDs that line `index` blocks (see `pending_blocks`).
    pub(crate) fn note_pending_blocks(&mut self, index: u32) {
        let line = &self.lines[index as usize];
        for pid in &line.blocked_pids {
            if !self.by_pid.contains_key(pid) {
                let lines = self.pending_blocks.entry(pid.clone()).or_default();
                if lines.last() != Some(&index) {
                    lines.push(index);
                }
            }
        }
    }

    /// Records a transaction: in the replay window and in the change set.
    pub(crate) fn record_tx(&mut self, tx: TxRecord) {
        self.txs.seen.insert(fingerprint(&tx.tx_id));
        if !self.txs.recent.contains_key(&tx.tx_id) {
            self.txs.order.push_back(tx.tx_id.clone());
        }
        self.txs.recent.insert(tx.tx_id.clone(), tx.clone());
        self.dirty.transactions.push(tx);
    }

    /// Shrinks the replay window to its configured size. Runs once the batch's records went to
    /// the change set ([`Ledger::take_changes`]): a record of the batch in progress is not in the
    /// store yet, so forgetting it then would make a replay in the same batch look new.
    fn trim_window(&mut self) {
        while self.txs.order.len() > self.config.recent_window {
            if let Some(old) = self.txs.order.pop_front() {
                let keep = self
                    .txs
                    .recent
                    .get(&old)
                    .is_some_and(|t| t.state == TxState::Prepared);
                if keep {
                    self.txs.order.push_back(old);
                    break;
                }
                self.txs.recent.remove(&old);
            }
        }
    }

    /// Makes a transaction fetched from the store known again (after [`LedgerError::NeedsLookup`]).
    pub fn remember_transaction(&mut self, tx: TxRecord) {
        self.txs.seen.insert(fingerprint(&tx.tx_id));
        if !self.txs.recent.contains_key(&tx.tx_id) {
            self.txs.order.push_back(tx.tx_id.clone());
        }
        self.txs.recent.insert(tx.tx_id.clone(), tx);
    }

    /// Forgets that a tx id might exist in the store (the store answered that it does not).
    pub fn forget_fingerprint(&mut self, tx_id: &str) {
        self.txs.seen.remove(&fingerprint(tx_id));
    }

    /// True when only the store can tell whether `tx_id` was seen (the replay window forgot it
    /// but its fingerprint remains): the engine looks it up before applying the command.
    pub fn needs_lookup(&self, tx_id: &str) -> bool {
        !self.txs.recent.contains_key(tx_id) && self.txs.seen.contains(&fingerprint(tx_id))
    }

    /// Checks a tx id against the replay window: `Ok(Some(record))` for a known one,
    /// `Ok(None)` for a new one, `NeedsLookup` when only the store can tell.
    pub(crate) fn known_tx(&self, tx_id: &str) -> Result<Option<&TxRecord>, LedgerError> {
        if let Some(tx) = self.txs.recent.get(tx_id) {
            return Ok(Some(tx));
        }
        if self.txs.seen.contains(&fingerprint(tx_id)) {
            return Err(LedgerError::NeedsLookup(tx_id.to_owned()));
        }
        Ok(None)
    }

    /// Appends an audit record for an operation on one equivalent.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn audit(
        &mut self,
        operation: &str,
        tx_id: Option<&str>,
        eq: EqId,
        before: String,
        affected: Vec<NodeId>,
        touched: &[PairId],
        id: uuid::Uuid,
        now: Millis,
    ) {
        let graph = &self.books[eq as usize].graph;
        let mut violations = Vec::new();
        for &p in touched {
            let pair = graph.pair(p);
            if pair.debt == 0 {
                continue;
            }
            let (debtor, creditor, debt) = if pair.debt > 0 {
                (pair.lo, pair.hi, pair.debt)
            } else {
                (pair.hi, pair.lo, -pair.debt)
            };
            let limit = pair
                .line_from(creditor)
                .filter(|l| l.status != LineStatus::Closed)
                .map_or(0, |l| l.limit);
            if debt > limit {
                violations.push(serde_json::json!({
                    "debtor": self.pid(debtor).as_str(),
                    "creditor": self.pid(creditor).as_str(),
                    "debt": Self::amount(debt).to_string(),
                    "limit": Self::amount(limit).to_string(),
                }));
            }
        }
        let passed = violations.is_empty();
        let record = AuditRecord {
            id,
            operation: operation.to_owned(),
            tx_id: tx_id.map(str::to_owned),
            equivalent: self.equivalents[eq as usize].code.clone(),
            checksum_before: before,
            checksum_after: self.books[eq as usize].digest.hex(),
            affected: affected.iter().map(|n| self.pid(*n).clone()).collect(),
            invariants: serde_json::json!({
                "zero_sum": true,
                "trust_limits": passed,
                "debt_symmetry": true,
            }),
            passed,
            error: (!passed).then(|| serde_json::json!({ "trust_limit_violations": violations })),
            at: now,
        };
        self.dirty.audit.push(record);
    }

    /// Queues an admin audit entry: it changes no state and is persisted with the changes of
    /// the current batch (see [`Ledger::take_changes`]).
    pub fn record_admin_action(&mut self, record: AdminAuditRecord) {
        self.dirty.admin_audit.push(record);
    }

    /// Records an admin action with the states of its object before and after; its id comes
    /// from the current command's id seed. Returns the id.
    pub fn record_admin_entry(
        &mut self,
        entry: AdminEntry,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        now: Millis,
    ) -> uuid::Uuid {
        let id = self.ids.next_uuid();
        let actor = entry.actor;
        self.record_admin_action(AdminAuditRecord {
            id,
            at: now,
            actor_role: actor.role,
            actor_id: actor.id,
            action: entry.action,
            object_type: entry.object_type,
            object_id: entry.object_id,
            reason: entry.reason,
            before_state: before,
            after_state: after.or(entry.after_state),
            request_id: actor.request_id,
            ip_address: actor.ip_address,
            user_agent: actor.user_agent,
        });
        id
    }

    /// Runs the full checks of every equivalent and queues a checkpoint for each.
    pub fn checkpoint(&mut self, now: Millis) -> Vec<(EquivalentCode, InvariantReport)> {
        let mut out = Vec::new();
        for eq in 0..self.equivalents.len() {
            let eq = EqId::try_from(eq).unwrap_or(EqId::MAX);
            let report = self.check(eq);
            let cp = Checkpoint {
                equivalent: self.equivalents[eq as usize].code.clone(),
                checksum: self.full_checksum(eq),
                digest: self.digest_hex(eq),
                invariants: report.to_json(),
                passed: report.passed(),
                at: now,
            };
            self.dirty.checkpoints.push(cp);
            out.push((self.equivalents[eq as usize].code.clone(), report));
        }
        out
    }

    // ---------------------------------------------------------------- persistence

    /// True when operations since the last [`Ledger::take_changes`] left rows to write.
    pub fn has_changes(&self) -> bool {
        let d = &self.dirty;
        !(d.participants.is_empty()
            && d.equivalents.is_empty()
            && d.lines.is_empty()
            && d.pairs.is_empty()
            && d.locks.is_empty()
            && d.transactions.is_empty()
            && d.audit.is_empty()
            && d.checkpoints.is_empty()
            && d.equivalents_deleted.is_empty()
            && d.admin_audit.is_empty())
    }

    /// The rows to persist for everything done since the last call, and a fresh change set.
    pub fn take_changes(&mut self) -> ChangeSet {
        self.trim_window();
        let dirty = std::mem::take(&mut self.dirty);
        let mut cs = ChangeSet {
            transactions: dirty.transactions,
            audit: dirty.audit,
            checkpoints: dirty.checkpoints,
            equivalents_deleted: dirty.equivalents_deleted,
            admin_audit: dirty.admin_audit,
            ..ChangeSet::default()
        };
        cs.participants = dirty
            .participants
            .iter()
            .map(|n| self.participants[*n as usize].clone())
            .collect();
        cs.equivalents = dirty
            .equivalents
            .iter()
            .map(|e| self.equivalents[*e as usize].clone())
            .collect();
        cs.lines = dirty.lines.iter().map(|i| self.line_row(*i)).collect();
        cs.debts = dirty
            .pairs
            .iter()
            .map(|(&(eq, p), &before)| {
                let pair = self.books[eq as usize].graph.pair(p);
                DebtChange {
                    equivalent: self.equivalents[eq as usize].code.clone(),
                    a: self.pid(pair.lo).clone(),
                    b: self.pid(pair.hi).clone(),
                    before: Self::amount(before),
                    amount: Self::amount(pair.debt),
                }
            })
            .collect();
        for tx_id in dirty.locks {
            match self.locks.get(&tx_id) {
                Some(lock) => cs.locks.push(self.lock_row(lock)),
                None => cs.locks_deleted.push(tx_id),
            }
        }
        cs
    }

    /// The storage row of a line.
    pub fn line_row(&self, index: u32) -> LineRow {
        let l = &self.lines[index as usize];
        LineRow {
            id: l.id,
            from: self.pid(l.from).clone(),
            to: self.pid(l.to).clone(),
            equivalent: self.equivalents[l.eq as usize].code.clone(),
            limit: l.limit,
            policy: PolicyRecord {
                auto_clearing: l.policy.auto_clearing,
                can_be_intermediate: l.policy.can_be_intermediate,
                max_hop_usage: l.policy.max_hop_usage.map(Self::amount),
                daily_limit: l.policy.daily_limit.map(Self::amount),
                blocked_participants: l.blocked_pids.clone(),
            },
            status: l.status,
            ord: u64::from(index),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }

    fn lock_row(&self, lock: &PrepareLock) -> LockRow {
        LockRow {
            tx_id: lock.tx_id.clone(),
            equivalent: self.equivalents[lock.eq as usize].code.clone(),
            from: self.pid(lock.from).clone(),
            to: self.pid(lock.to).clone(),
            routes: lock
                .routes
                .iter()
                .map(|(path, atoms)| RouteRecord {
                    path: path.iter().map(|n| self.pid(*n).clone()).collect(),
                    amount: Self::amount(*atoms),
                })
                .collect(),
            expires_at: lock.expires_at,
            created_at: lock.created_at,
        }
    }

    /// Rebuilds a ledger from stored rows, verifying every invariant and, where an audited
    /// digest exists, that the loaded debts hash to it.
    pub fn restore(config: LedgerConfig, snap: Snapshot) -> Result<Ledger, RestoreError> {
        let bad = |m: String| RestoreError::Inconsistent(m);
        let mut l = Ledger::new(config);
        // Load order is creation order, so that node, equivalent and line numbering (and with it
        // every routing and clearing choice) is the original's.
        let mut snap = snap;
        snap.participants.sort_by_key(|p| p.ord);
        snap.equivalents.sort_by_key(|e| e.ord);
        l.next_eq_ord = snap.equivalents.last().map_or(0, |e| e.ord + 1);
        for p in snap.participants {
            let n =
                NodeId::try_from(l.participants.len()).map_err(|_| bad("too many participants".into()))?;
            if l.by_pid.insert(p.pid.clone(), n).is_some() {
                return Err(bad(format!("participant {} twice", p.pid)));
            }
            if p.status != ParticipantStatus::Active {
                l.inactive.insert(n);
            }
            l.participants.push(p);
        }
        for e in snap.equivalents {
            let id = EqId::try_from(l.equivalents.len()).map_err(|_| bad("too many equivalents".into()))?;
            if l.by_code.insert(e.code.clone(), id).is_some() {
                return Err(bad(format!("equivalent {} twice", e.code)));
            }
            l.equivalents.push(e);
            let mut book = Book::default();
            book.graph.ensure_nodes(l.participants.len());
            l.books.push(book);
        }
        let node = |l: &Ledger, pid: &Pid| {
            l.by_pid
                .get(pid)
                .copied()
                .ok_or_else(|| bad(format!("unknown participant {pid}")))
        };
        let eqid = |l: &Ledger, c: &EquivalentCode| {
            l.by_code
                .get(c)
                .copied()
                .ok_or_else(|| bad(format!("unknown equivalent {c}")))
        };
        // In creation order: of several lines with the same (from, to), only the newest can be
        // open, and it takes the graph slot last, as it did when it was created.
        let mut rows = snap.lines;
        rows.sort_by_key(|r| r.ord);
        for row in rows {
            let from = node(&l, &row.from)?;
            let to = node(&l, &row.to)?;
            let eq = eqid(&l, &row.equivalent)?;
            let index = u32::try_from(l.lines.len()).map_err(|_| bad("too many lines".into()))?;
            let policy = l.graph_policy(&row.policy);
            l.lines.push(TrustLine {
                id: row.id,
                from,
                to,
                eq,
                limit: row.limit,
                policy,
                blocked_pids: row.policy.blocked_participants.clone(),
                status: row.status,
                created_at: row.created_at,
                updated_at: row.updated_at,
            });
            if l.line_by_id.insert(row.id, index).is_some() {
                return Err(bad(format!("trust line {} twice", row.id)));
            }
            l.note_pending_blocks(index);
            if from == to {
                return Err(bad(format!("trust line {} to itself", row.id)));
            }
            let graph = &l.books[eq as usize].graph;
            let occupied = graph
                .find(from, to)
                .and_then(|p| {
                    graph
                        .pair(p)
                        .line_from(from)
                        .map(|s| s.status != LineStatus::Closed)
                })
                .unwrap_or(false);
            if occupied && row.status != LineStatus::Closed {
                return Err(bad(format!("two open lines from {} to {}", row.from, row.to)));
            }
            l.sync_slot(index);
        }
        let mut seen_pairs = HashSet::new();
        for d in snap.debts {
            let debtor = node(&l, &d.debtor)?;
            let creditor = node(&l, &d.creditor)?;
            let eq = eqid(&l, &d.equivalent)?;
            if !d.amount.is_positive() || debtor == creditor {
                return Err(bad(format!(
                    "debt {} -> {} of {}",
                    d.debtor, d.creditor, d.amount
                )));
            }
            let key = (eq, debtor.min(creditor), debtor.max(creditor));
            if !seen_pairs.insert(key) {
                return Err(RestoreError::Invariant(format!(
                    "debt symmetry: {} and {} owe each other (or a debt repeats)",
                    d.debtor, d.creditor
                )));
            }
            l.shift_debt(eq, debtor, creditor, d.amount.atoms());
        }
        for row in snap.locks {
            let eq = eqid(&l, &row.equivalent)?;
            let from = node(&l, &row.from)?;
            let to = node(&l, &row.to)?;
            let mut routes = Vec::new();
            for r in &row.routes {
                let path = r
                    .path
                    .iter()
                    .map(|p| node(&l, p))
                    .collect::<Result<Vec<_>, _>>()?;
                routes.push((path, r.amount.atoms()));
            }
            let lock = PrepareLock {
                tx_id: row.tx_id.clone(),
                eq,
                from,
                to,
                routes,
                expires_at: row.expires_at,
                created_at: row.created_at,
            };
            l.reserve_lock(&lock, 1);
            l.locks.insert(row.tx_id, lock);
        }
        for id in &snap.tx_ids {
            l.txs.seen.insert(fingerprint(id));
        }
        for tx in snap.prepared {
            l.remember_transaction(tx);
        }
        for eq in 0..l.equivalents.len() {
            let eq = EqId::try_from(eq).unwrap_or(EqId::MAX);
            let report = check_graph(&l.books[eq as usize].graph);
            if !report.passed() {
                return Err(RestoreError::Invariant(format!(
                    "{}: zero-sum {} , {} debts above their limits",
                    l.equivalents[eq as usize].code,
                    report.zero_sum,
                    report.limit_violations.len()
                )));
            }
        }
        for (code, audited) in snap.last_digests {
            if let Some(&eq) = l.by_code.get(&code) {
                let loaded = l.books[eq as usize].digest.hex();
                if loaded != audited {
                    return Err(RestoreError::Checksum {
                        equivalent: code.to_string(),
                        audited,
                        loaded,
                    });
                }
            }
        }
        l.dirty = Dirty::default();
        Ok(l)
    }

    /// Adds (`sign = 1`) or releases (`sign = -1`) the reservations of a lock.
    pub(crate) fn reserve_lock(&mut self, lock: &PrepareLock, sign: i128) {
        let graph = &mut self.books[lock.eq as usize].graph;
        for (path, atoms) in &lock.routes {
            for hop in path.windows(2) {
                let pair = graph.find_or_insert(hop[0], hop[1]);
                graph.pair_mut(pair).reserve(hop[0], sign * atoms);
            }
        }
    }
}

/// A canonical, comparable dump of a ledger's durable state (for tests and simulations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerDump {
    /// Participants sorted by PID: (pid, status, name).
    pub participants: Vec<(String, String, String)>,
    /// Equivalents sorted by code: (code, precision, active).
    pub equivalents: Vec<(String, u8, bool)>,
    /// Lines sorted by id.
    pub lines: Vec<LineRow>,
    /// Debts sorted: (equivalent, debtor, creditor, amount).
    pub debts: Vec<(String, String, String, String)>,
    /// Locks sorted by tx id: (tx_id, expires_at, routes).
    pub locks: Vec<(String, i64, Vec<RouteRecord>)>,
    /// Digest per equivalent.
    pub digests: Vec<(String, String)>,
}

impl Ledger {
    /// The canonical dump of the durable state.
    pub fn dump(&self) -> LedgerDump {
        let mut participants: Vec<_> = self
            .participants
            .iter()
            .map(|p| {
                (
                    p.pid.to_string(),
                    p.status.as_str().to_owned(),
                    p.display_name.clone(),
                )
            })
            .collect();
        participants.sort();
        let mut equivalents: Vec<_> = self
            .equivalents
            .iter()
            .map(|e| (e.code.to_string(), e.precision.get(), e.is_active))
            .collect();
        equivalents.sort();
        let mut lines: Vec<LineRow> = (0..self.lines.len()).map(|i| self.line_row(i as u32)).collect();
        lines.sort_by_key(|l| l.id);
        let mut debts = Vec::new();
        let mut digests = Vec::new();
        for (eq, book) in self.books.iter().enumerate() {
            let code = self.equivalents[eq].code.to_string();
            for p in book.graph.pairs() {
                if p.debt != 0 {
                    let (d, c, a) = if p.debt > 0 {
                        (p.lo, p.hi, p.debt)
                    } else {
                        (p.hi, p.lo, -p.debt)
                    };
                    debts.push((
                        code.clone(),
                        self.pid(d).to_string(),
                        self.pid(c).to_string(),
                        Self::amount(a).to_string(),
                    ));
                }
            }
            digests.push((code, book.digest.hex()));
        }
        debts.sort();
        digests.sort();
        let locks = self
            .locks
            .values()
            .map(|l| {
                let row = self.lock_row(l);
                (row.tx_id, row.expires_at, row.routes)
            })
            .collect();
        LedgerDump {
            participants,
            equivalents,
            lines,
            debts,
            locks,
            digests,
        }
    }
}
