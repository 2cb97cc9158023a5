//! Trust line operations (GEO v0.1 section 5): create, update, close, and the admin freeze.

use geo_protocol::{Amount, EquivalentCode, Pid};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::LedgerError;
use super::graph::LineStatus;
use super::model::{Millis, TrustLine, TxKind, TxRecord, TxState};
use super::payload::{TrustLinePayload, TxPayload};
use super::policy::PolicyRecord;
use super::state::Ledger;

/// A request to open a trust line (signature checked at the edge).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewTrustLine {
    /// Id to give the line.
    pub id: uuid::Uuid,
    /// Owner (creditor, the signer).
    pub from: Pid,
    /// Trustee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Limit as sent (decimal string), checked against the equivalent's precision.
    pub limit: String,
    /// Policy keys as sent (JSON object), or `None` for defaults.
    pub policy: Option<Value>,
}

/// A request to change a trust line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrustLineUpdate {
    /// Line id.
    pub id: uuid::Uuid,
    /// Who asks (must be the owner).
    pub by: Pid,
    /// New limit as sent.
    pub limit: Option<String>,
    /// Policy keys to change.
    pub policy: Option<Value>,
}

impl Ledger {
    fn line_index(&self, id: &uuid::Uuid) -> Result<u32, LedgerError> {
        self.line_by_id
            .get(id)
            .copied()
            .ok_or_else(|| LedgerError::UnknownTrustLine(id.to_string()))
    }

    /// What the trustee owes the owner on this line, plus what prepare locks reserve for the
    /// trustee's payments to the owner beyond the owner's own debt (what a new limit must cover).
    fn line_commitment(&self, line: &TrustLine) -> i128 {
        let graph = &self.books[line.eq as usize].graph;
        graph.find(line.from, line.to).map_or(0, |p| {
            let pair = graph.pair(p);
            let owed_to_owner = pair.debt_of(line.to);
            let owed_by_owner = pair.debt_of(line.from);
            (owed_to_owner - owed_by_owner + pair.reserved_from(line.to)).max(owed_to_owner)
        })
    }

    fn line_tx(&mut self, kind: TxKind, index: u32, now: Millis, admin: bool) -> uuid::Uuid {
        let line = &self.lines[index as usize];
        let precision = self.equivalents[line.eq as usize].precision;
        let row = self.line_row(index);
        let tx_id = self.ids.next_uuid();
        let payload = TxPayload::TrustLine(TrustLinePayload {
            trust_line_id: row.id,
            from: row.from.clone(),
            to: row.to.clone(),
            equivalent: row.equivalent.clone(),
            limit: row.limit.to_string_with(precision),
            policy: row.policy.to_json(precision),
            status: row.status.as_str().to_owned(),
            admin,
        });
        let (eq, from, to) = (line.eq, line.from, line.to);
        self.record_tx(TxRecord {
            tx_id: tx_id.to_string(),
            kind,
            initiator: Some(row.from.clone()),
            equivalent: Some(row.equivalent.clone()),
            payload,
            state: TxState::Committed,
            request_hash: None,
            error: None,
            created_at: now,
            updated_at: now,
        });
        let digest = self.digest_hex(eq);
        let audit_id = self.ids.next_uuid();
        self.audit(
            kind.as_str(),
            Some(&tx_id.to_string()),
            eq,
            digest,
            vec![from, to],
            &[],
            audit_id,
            now,
        );
        tx_id
    }

    /// Opens a trust line `from -> to`: `from` trusts `to` up to `limit`.
    pub fn create_line(&mut self, req: NewTrustLine, now: Millis) -> Result<&TrustLine, LedgerError> {
        if req.from == req.to {
            return Err(LedgerError::SameParticipant);
        }
        let from = self.active_node(&req.from)?;
        let to = self.active_node(&req.to)?;
        let eq = self.active_eq(&req.equivalent)?;
        let precision = self.equivalents[eq as usize].precision;
        let limit = Amount::parse_positive(&req.limit, precision)?;
        let policy = match &req.policy {
            Some(p) => PolicyRecord::default().merged(p, precision)?,
            None => PolicyRecord::default(),
        };
        if self.line_by_id.contains_key(&req.id) {
            return Err(LedgerError::Integrity(format!("trust line id {} reused", req.id)));
        }
        let graph = &self.books[eq as usize].graph;
        if let Some(p) = graph.find(from, to) {
            if graph
                .pair(p)
                .line_from(from)
                .is_some_and(|s| s.status != LineStatus::Closed)
            {
                return Err(LedgerError::TrustLineExists {
                    from: req.from.to_string(),
                    to: req.to.to_string(),
                    equivalent: req.equivalent.to_string(),
                });
            }
        }
        let index = u32::try_from(self.lines.len()).map_err(|_| LedgerError::Full("trust lines"))?;
        let graph_policy = self.graph_policy(&policy);
        self.lines.push(TrustLine {
            id: req.id,
            from,
            to,
            eq,
            limit,
            policy: graph_policy,
            blocked_pids: policy.blocked_participants,
            status: LineStatus::Active,
            created_at: now,
            updated_at: now,
        });
        self.line_by_id.insert(req.id, index);
        self.note_pending_blocks(index);
        self.sync_slot(index);
        self.dirty.lines.insert(index);
        self.line_tx(TxKind::TrustLineCreate, index, now, false);
        Ok(&self.lines[index as usize])
    }

    /// Changes a line's limit and/or policy. Only the owner may; the line must be active; the new
    /// limit may not be below what the trustee owes on it (nor what pending locks reserve).
    pub fn update_line(&mut self, req: TrustLineUpdate, now: Millis) -> Result<&TrustLine, LedgerError> {
        let index = self.line_index(&req.id)?;
        let line = &self.lines[index as usize];
        if self.pid(line.from) != &req.by {
            return Err(LedgerError::NotOwner);
        }
        if line.status != LineStatus::Active {
            return Err(LedgerError::TrustLineNotActive(req.id.to_string()));
        }
        let precision = self.equivalents[line.eq as usize].precision;
        let limit = match &req.limit {
            Some(text) => {
                let limit = Amount::parse_positive(text, precision)?;
                let committed = self.line_commitment(line);
                if limit.atoms() < committed {
                    return Err(LedgerError::LimitBelowDebt {
                        debt: Ledger::amount(committed),
                        limit,
                    });
                }
                limit
            }
            None => line.limit,
        };
        let record = self.line_row(index).policy;
        let policy = match &req.policy {
            Some(p) => record.merged(p, precision)?,
            None => record,
        };
        let graph_policy = self.graph_policy(&policy);
        let line = &mut self.lines[index as usize];
        line.limit = limit;
        line.policy = graph_policy;
        line.blocked_pids = policy.blocked_participants;
        line.updated_at = now;
        self.note_pending_blocks(index);
        self.sync_slot(index);
        self.dirty.lines.insert(index);
        self.line_tx(TxKind::TrustLineUpdate, index, now, false);
        Ok(&self.lines[index as usize])
    }

    /// Closes a line; only the owner, only at zero debt and with nothing reserved on it.
    pub fn close_line(&mut self, id: &uuid::Uuid, by: &Pid, now: Millis) -> Result<&TrustLine, LedgerError> {
        let index = self.line_index(id)?;
        let line = &self.lines[index as usize];
        if self.pid(line.from) != by {
            return Err(LedgerError::NotOwner);
        }
        if line.status == LineStatus::Closed {
            return Err(LedgerError::TrustLineNotActive(id.to_string()));
        }
        let used = self.line_used(line);
        let committed = self.line_commitment(line);
        if used > 0 || committed > 0 {
            return Err(LedgerError::DebtOutstanding {
                debt: Ledger::amount(used.max(committed)),
            });
        }
        let line = &mut self.lines[index as usize];
        line.status = LineStatus::Closed;
        line.updated_at = now;
        self.sync_slot(index);
        self.dirty.lines.insert(index);
        self.line_tx(TxKind::TrustLineClose, index, now, false);
        Ok(&self.lines[index as usize])
    }

    /// Freezes (`frozen`) or unfreezes (`active`) a line: an administrator's action. Debts stay.
    pub fn set_line_status(
        &mut self,
        id: &uuid::Uuid,
        status: LineStatus,
        now: Millis,
    ) -> Result<&TrustLine, LedgerError> {
        let index = self.line_index(id)?;
        let line = &self.lines[index as usize];
        if line.status == LineStatus::Closed || status == LineStatus::Closed {
            return Err(LedgerError::TrustLineNotActive(id.to_string()));
        }
        let line = &mut self.lines[index as usize];
        line.status = status;
        line.updated_at = now;
        self.sync_slot(index);
        self.dirty.lines.insert(index);
        self.line_tx(TxKind::TrustLineUpdate, index, now, true);
        Ok(&self.lines[index as usize])
    }
}
