//! Commands the writer applies, their replies, and the events published after commit.

use geo_protocol::{EquivalentCode, Pid};
use serde::{Deserialize, Serialize};

use crate::ledger::clearing_runs::ClearingSummary;
use crate::ledger::graph::LineStatus;
use crate::ledger::integrity::InvariantReport;
use crate::ledger::lines::{NewTrustLine, TrustLineUpdate};
use crate::ledger::model::{
    AdminEntry, Equivalent, Millis, Participant, ParticipantStatus, TrustLine, TxRecord,
};
use crate::ledger::participants::{EquivalentPatch, NewEquivalent, NewParticipant};
use crate::ledger::payments::{PaymentOutcome, PaymentRequest};
use crate::ledger::{Ledger, LedgerError};

/// A mutation of the hub's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Register a participant.
    Register(NewParticipant),
    /// Update a participant's name and profile.
    UpdateProfile {
        /// Who.
        pid: Pid,
        /// New name.
        display_name: Option<String>,
        /// New profile.
        profile: Option<serde_json::Value>,
    },
    /// Admin: set a participant's status.
    SetParticipantStatus {
        /// Who.
        pid: Pid,
        /// New status.
        status: ParticipantStatus,
    },
    /// Create an equivalent.
    CreateEquivalent(NewEquivalent),
    /// Update an equivalent.
    UpdateEquivalent {
        /// Which.
        code: EquivalentCode,
        /// Changes.
        patch: EquivalentPatch,
    },
    /// Admin: delete an equivalent that was never used (see [`Ledger::delete_equivalent`]).
    DeleteEquivalent {
        /// Which.
        code: EquivalentCode,
    },
    /// Open a trust line.
    CreateLine(NewTrustLine),
    /// Change a trust line.
    UpdateLine(TrustLineUpdate),
    /// Close a trust line.
    CloseLine {
        /// Line.
        id: uuid::Uuid,
        /// Who asks.
        by: Pid,
    },
    /// Admin: freeze or unfreeze a line.
    SetLineStatus {
        /// Line.
        id: uuid::Uuid,
        /// New status.
        status: LineStatus,
    },
    /// Route and commit a payment.
    Pay(PaymentRequest),
    /// Route and reserve a payment until `expires_at`.
    Prepare {
        /// The payment.
        request: PaymentRequest,
        /// Lock expiry.
        expires_at: Millis,
    },
    /// Commit a prepared payment.
    Commit {
        /// Transaction.
        tx_id: String,
    },
    /// Abort a prepared payment.
    Abort {
        /// Transaction.
        tx_id: String,
        /// Why.
        reason: String,
    },
    /// Optimal clearing of one equivalent.
    ClearOptimal {
        /// Equivalent.
        equivalent: EquivalentCode,
    },
    /// Clear short cycles of one equivalent.
    ClearShort {
        /// Equivalent.
        equivalent: EquivalentCode,
        /// Longest cycle.
        max_len: usize,
    },
    /// Run every invariant check and write checkpoints.
    Verify,
    /// Append an entry to the admin audit log for an action outside the ledger (configuration,
    /// feature flags, logins): it changes no ledger state and is persisted with the batch.
    AdminAudit(AdminEntry),
    /// An admin action on the ledger and its audit entry, applied and committed together: the
    /// entry records the object's state before and after, and is written only if the action
    /// succeeds.
    Audited {
        /// The action.
        command: Box<Command>,
        /// Who did it and why.
        entry: AdminEntry,
    },
}

/// The outcome of a command.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A participant.
    Participant(Participant),
    /// An equivalent.
    Equivalent(Equivalent),
    /// A trust line.
    Line(TrustLine),
    /// A payment.
    Payment(PaymentOutcome),
    /// A transaction.
    Transaction(TxRecord),
    /// A clearing run.
    Clearing(ClearingSummary),
    /// Invariant reports per equivalent.
    Verified(Vec<(EquivalentCode, InvariantReport)>),
    /// An admin audit entry was recorded (its id).
    AdminAudited(uuid::Uuid),
}

/// A committed operation, for WebSocket clients, metrics and federation.
#[derive(Debug, Clone)]
pub struct Event {
    /// The transaction record.
    pub tx: TxRecord,
    /// Participants it concerns.
    pub affected: Vec<Pid>,
}

impl Event {
    /// The event of a committed transaction record.
    pub fn of(tx: TxRecord) -> Event {
        let affected = tx.payload.participants();
        Event { tx, affected }
    }
}

impl Command {
    /// Applies the command to the ledger.
    pub fn apply(&self, ledger: &mut Ledger, now: Millis) -> Result<Reply, LedgerError> {
        Ok(match self {
            Command::Register(p) => {
                let node = ledger.register(p.clone(), now)?;
                Reply::Participant(ledger.participant_at(node).clone())
            }
            Command::UpdateProfile {
                pid,
                display_name,
                profile,
            } => Reply::Participant(
                ledger
                    .update_profile(pid, display_name.clone(), profile.clone(), now)?
                    .clone(),
            ),
            Command::SetParticipantStatus { pid, status } => {
                Reply::Participant(ledger.set_participant_status(pid, *status, now)?.clone())
            }
            Command::CreateEquivalent(e) => {
                let id = ledger.create_equivalent(e.clone(), now)?;
                Reply::Equivalent(ledger.equivalent_at(id).clone())
            }
            Command::UpdateEquivalent { code, patch } => {
                Reply::Equivalent(ledger.update_equivalent(code, patch.clone(), now)?.clone())
            }
            Command::DeleteEquivalent { code } => Reply::Equivalent(ledger.delete_equivalent(code)?),
            Command::CreateLine(l) => Reply::Line(ledger.create_line(l.clone(), now)?.clone()),
            Command::UpdateLine(u) => Reply::Line(ledger.update_line(u.clone(), now)?.clone()),
            Command::CloseLine { id, by } => Reply::Line(ledger.close_line(id, by, now)?.clone()),
            Command::SetLineStatus { id, status } => {
                Reply::Line(ledger.set_line_status(id, *status, now)?.clone())
            }
            Command::Pay(req) => Reply::Payment(ledger.pay(req, now)?),
            Command::Prepare { request, expires_at } => {
                Reply::Payment(ledger.prepare(request, *expires_at, now)?)
            }
            Command::Commit { tx_id } => Reply::Transaction(ledger.commit(tx_id, now)?),
            Command::Abort { tx_id, reason } => Reply::Transaction(ledger.abort(tx_id, reason, now)?),
            Command::ClearOptimal { equivalent } => {
                let eq = ledger.active_eq(equivalent)?;
                Reply::Clearing(ledger.clear_optimal(eq, now)?)
            }
            Command::ClearShort { equivalent, max_len } => {
                let eq = ledger.active_eq(equivalent)?;
                Reply::Clearing(ledger.clear_short_cycles(eq, (*max_len).clamp(3, 6), now))
            }
            Command::Verify => Reply::Verified(ledger.checkpoint(now)),
            Command::AdminAudit(entry) => {
                Reply::AdminAudited(ledger.record_admin_entry(entry.clone(), None, None, now))
            }
            Command::Audited { command, entry } => {
                let before = object_state(ledger, command);
                let reply = command.apply(ledger, now)?;
                let after = object_state(ledger, command);
                ledger.record_admin_entry(entry.clone(), before, after, now);
                reply
            }
        })
    }

    /// The tx id the ledger may need to look up in the store, for commands that carry one.
    pub fn tx_id(&self) -> Option<&str> {
        match self {
            Command::Pay(r) | Command::Prepare { request: r, .. } => Some(&r.tx_id),
            Command::Commit { tx_id } | Command::Abort { tx_id, .. } => Some(tx_id),
            Command::Audited { command, .. } => command.tx_id(),
            _ => None,
        }
    }
}

/// The state of the object an admin command acts on, as recorded in the admin audit log
/// (`None` for commands on no single object, or an object that does not exist).
fn object_state(ledger: &Ledger, command: &Command) -> Option<serde_json::Value> {
    use serde_json::json;
    let participant = |pid: &Pid| {
        ledger.participant(pid).map(|p| {
            json!({
                "pid": p.pid.as_str(),
                "display_name": p.display_name,
                "type": p.kind,
                "status": p.status.as_str(),
            })
        })
    };
    let line = |id: &uuid::Uuid| {
        ledger.line(id).map(|l| {
            let eq = ledger.equivalent_at(l.eq);
            json!({
                "id": l.id.to_string(),
                "from": ledger.pid(l.from).as_str(),
                "to": ledger.pid(l.to).as_str(),
                "equivalent": eq.code.as_str(),
                "limit": l.limit.to_string_with(eq.precision),
                "status": l.status.as_str(),
            })
        })
    };
    let equivalent = |code: &EquivalentCode| {
        ledger.equivalent(code).map(|e| {
            json!({
                "code": e.code.as_str(),
                "precision": e.precision.get(),
                "symbol": e.symbol,
                "description": e.description,
                "is_active": e.is_active,
            })
        })
    };
    match command {
        Command::SetParticipantStatus { pid, .. } | Command::UpdateProfile { pid, .. } => participant(pid),
        Command::SetLineStatus { id, .. } | Command::CloseLine { id, .. } => line(id),
        Command::UpdateLine(u) => line(&u.id),
        Command::CreateEquivalent(e) => equivalent(&e.code),
        Command::UpdateEquivalent { code, .. } | Command::DeleteEquivalent { code } => equivalent(code),
        Command::Commit { tx_id } | Command::Abort { tx_id, .. } => ledger
            .recent_transaction(tx_id)
            .map(|t| json!({ "tx_id": t.tx_id, "state": t.state.as_str() })),
        _ => None,
    }
}
