//! Operations on participants and equivalents.

use geo_protocol::{EquivalentCode, Pid, Precision};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::error::LedgerError;
use super::graph::NodeId;
use super::model::{EqId, Equivalent, Millis, Participant, ParticipantStatus};
use super::state::{Book, Ledger};

/// A new participant (the signature was checked at the edge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewParticipant {
    /// PID (derived from the key by the caller).
    pub pid: Pid,
    /// Public key, base64.
    pub public_key: String,
    /// Display name.
    pub display_name: String,
    /// `person`, `business` or `hub`.
    pub kind: String,
    /// Profile object.
    pub profile: Value,
}

/// A new equivalent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewEquivalent {
    /// Code.
    pub code: EquivalentCode,
    /// Precision.
    pub precision: Precision,
    /// Symbol.
    pub symbol: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Metadata.
    pub metadata: Value,
}

/// Changes to an equivalent (precision never changes: stored amounts depend on it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EquivalentPatch {
    /// New symbol (`Some(None)` clears it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub symbol: Option<Option<String>>,
    /// New description (`Some(None)` clears it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub description: Option<Option<String>>,
    /// New metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Activate or deactivate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
}

/// A field that is present (possibly `null`) is `Some`; an absent one stays `None` (serde's
/// `default`), so "clear" and "leave as is" survive a round trip.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

impl Ledger {
    /// Registers a participant.
    pub fn register(&mut self, p: NewParticipant, now: Millis) -> Result<NodeId, LedgerError> {
        if self.by_pid.contains_key(&p.pid) {
            return Err(LedgerError::ParticipantExists(p.pid.to_string()));
        }
        let node =
            NodeId::try_from(self.participants.len()).map_err(|_| LedgerError::Full("participants"))?;
        self.by_pid.insert(p.pid.clone(), node);
        self.participants.push(Participant {
            pid: p.pid,
            public_key: p.public_key,
            display_name: p.display_name,
            kind: p.kind,
            profile: p.profile,
            status: ParticipantStatus::Active,
            verification_level: 0,
            ord: u64::from(node),
            created_at: now,
            updated_at: now,
        });
        for book in &mut self.books {
            book.graph.ensure_nodes(self.participants.len());
        }
        // A newly registered participant may be named in existing `blocked_participants` lists.
        let pid = self.participants[node as usize].pid.clone();
        let pending = self.pending_blocks.remove(&pid).unwrap_or_default();
        for i in pending {
            let line = &self.lines[i as usize];
            if line.blocked_pids.contains(&pid) && !line.policy.blocked.contains(&node) {
                self.lines[i as usize].policy.blocked.push(node);
                self.sync_slot(i);
            }
        }
        self.dirty.participants.insert(node);
        Ok(node)
    }

    /// Updates a participant's display name and profile.
    pub fn update_profile(
        &mut self,
        pid: &Pid,
        display_name: Option<String>,
        profile: Option<Value>,
        now: Millis,
    ) -> Result<&Participant, LedgerError> {
        let node = self.node(pid)?;
        let p = &mut self.participants[node as usize];
        if let Some(name) = display_name {
            p.display_name = name;
        }
        if let Some(profile) = profile {
            p.profile = profile;
        }
        p.updated_at = now;
        self.dirty.participants.insert(node);
        Ok(&self.participants[node as usize])
    }

    /// Sets a participant's status (admin freeze, unfreeze, ban).
    pub fn set_participant_status(
        &mut self,
        pid: &Pid,
        status: ParticipantStatus,
        now: Millis,
    ) -> Result<&Participant, LedgerError> {
        let node = self.node(pid)?;
        if status == ParticipantStatus::Active {
            self.inactive.remove(&node);
        } else {
            self.inactive.insert(node);
        }
        let p = &mut self.participants[node as usize];
        p.status = status;
        p.updated_at = now;
        self.dirty.participants.insert(node);
        Ok(&self.participants[node as usize])
    }

    /// Creates an equivalent.
    pub fn create_equivalent(&mut self, e: NewEquivalent, now: Millis) -> Result<EqId, LedgerError> {
        if self.by_code.contains_key(&e.code) {
            return Err(LedgerError::EquivalentExists(e.code.to_string()));
        }
        let id = EqId::try_from(self.equivalents.len()).map_err(|_| LedgerError::Full("equivalents"))?;
        self.by_code.insert(e.code.clone(), id);
        self.equivalents.push(Equivalent {
            code: e.code,
            precision: e.precision,
            symbol: e.symbol,
            description: e.description,
            metadata: e.metadata,
            is_active: true,
            ord: self.next_eq_ord,
            created_at: now,
            updated_at: now,
        });
        self.next_eq_ord += 1;
        let mut book = Book::default();
        book.graph.ensure_nodes(self.participants.len());
        self.books.push(book);
        self.dirty.equivalents.insert(id);
        Ok(id)
    }

    /// Updates an equivalent.
    pub fn update_equivalent(
        &mut self,
        code: &EquivalentCode,
        patch: EquivalentPatch,
        now: Millis,
    ) -> Result<&Equivalent, LedgerError> {
        let id = self.eq_id(code)?;
        let e = &mut self.equivalents[id as usize];
        if let Some(s) = patch.symbol {
            e.symbol = s;
        }
        if let Some(d) = patch.description {
            e.description = d;
        }
        if let Some(m) = patch.metadata {
            e.metadata = m;
        }
        if let Some(a) = patch.is_active {
            e.is_active = a;
        }
        e.updated_at = now;
        self.dirty.equivalents.insert(id);
        Ok(&self.equivalents[id as usize])
    }

    /// Deletes an equivalent that was never used: no trust line of any status, no debt, no
    /// prepare lock, and no transaction or audit record of it in this ledger's memory (the
    /// caller checks the store for older records first). Its pending checkpoints are dropped
    /// with it; the equivalents after it move down one id. Returns the deleted record.
    ///
    /// Refused with [`LedgerError::EquivalentInUse`] otherwise: a used equivalent is
    /// deactivated, never deleted, because stored history refers to it.
    pub fn delete_equivalent(&mut self, code: &EquivalentCode) -> Result<Equivalent, LedgerError> {
        let id = self.eq_id(code)?;
        let used = self.lines.iter().any(|l| l.eq == id)
            || self.books[id as usize].graph.pairs().iter().any(|p| p.debt != 0)
            || self.locks.values().any(|l| l.eq == id)
            || self.dirty.pairs.keys().any(|&(eq, _)| eq == id)
            || self
                .txs
                .recent
                .values()
                .any(|t| t.equivalent.as_ref() == Some(code))
            || self
                .dirty
                .transactions
                .iter()
                .any(|t| t.equivalent.as_ref() == Some(code))
            || self.dirty.audit.iter().any(|a| &a.equivalent == code);
        if used {
            return Err(LedgerError::EquivalentInUse(code.to_string()));
        }
        let removed = self.equivalents.remove(id as usize);
        self.books.remove(id as usize);
        self.by_code.remove(code);
        let shift = |eq: &mut EqId| {
            if *eq > id {
                *eq -= 1;
            }
        };
        for v in self.by_code.values_mut() {
            shift(v);
        }
        for l in &mut self.lines {
            shift(&mut l.eq);
        }
        for l in self.locks.values_mut() {
            shift(&mut l.eq);
        }
        let dirty = &mut self.dirty;
        dirty.equivalents = std::mem::take(&mut dirty.equivalents)
            .into_iter()
            .filter(|&eq| eq != id)
            .map(|mut eq| {
                shift(&mut eq);
                eq
            })
            .collect();
        dirty.pairs = std::mem::take(&mut dirty.pairs)
            .into_iter()
            .map(|((mut eq, pair), before)| {
                shift(&mut eq);
                ((eq, pair), before)
            })
            .collect();
        dirty.checkpoints.retain(|c| &c.equivalent != code);
        dirty.equivalents_deleted.push(code.clone());
        Ok(removed)
    }

    /// Number of open lines and debts of an equivalent.
    pub fn equivalent_usage(&self, id: EqId) -> (usize, usize) {
        let lines = self
            .lines
            .iter()
            .filter(|l| l.eq == id && l.status != super::graph::LineStatus::Closed)
            .count();
        let debts = self.books[id as usize]
            .graph
            .pairs()
            .iter()
            .filter(|p| p.debt != 0)
            .count();
        (lines, debts)
    }
}
