//! The hub's use cases, one typed method each: the only place where engine commands are built
//! and their replies read. Every edge calls this layer (the JSON API, the admin pages, and next
//! the federation server and the simulator), so an action is written once. An admin action and
//! its audit entry go to the engine as one command ([`Command::Audited`]) and commit in the same
//! batch, with the actor and the object's state before and after.

use geo_protocol::{EquivalentCode, Pid};

use crate::engine::{Command, Engine, EngineError, Reply};
use crate::ledger::clearing_runs::ClearingSummary;
use crate::ledger::graph::LineStatus;
use crate::ledger::integrity::InvariantReport;
use crate::ledger::lines::{NewTrustLine, TrustLineUpdate};
use crate::ledger::model::{
    Actor, AdminEntry, Equivalent, Millis, Participant, ParticipantStatus, TrustLine, TxRecord,
};
use crate::ledger::participants::{EquivalentPatch, NewEquivalent, NewParticipant};
use crate::ledger::payments::{PaymentOutcome, PaymentRequest};

/// Why a use case did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The engine refused or could not persist the command.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The engine answered with a reply of another kind (a bug).
    #[error("unexpected reply from the engine to {0}")]
    UnexpectedReply(&'static str),
}

/// Result of a use case.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// What an administrator names when acting: the audit-log action, and their note.
#[derive(Debug, Clone)]
pub struct AdminAction {
    /// Who acts.
    pub actor: Actor,
    /// The action's name in the audit log (`admin.participants.freeze`, ...).
    pub action: String,
    /// The administrator's note.
    pub reason: Option<String>,
}

impl AdminAction {
    /// An action by `actor` named `action`, with an optional note.
    pub fn new(actor: Actor, action: impl Into<String>, reason: Option<String>) -> AdminAction {
        AdminAction {
            actor,
            action: action.into(),
            reason,
        }
    }

    fn entry(self, object_type: &str, object_id: String, after: Option<serde_json::Value>) -> AdminEntry {
        AdminEntry {
            actor: self.actor,
            action: self.action,
            object_type: object_type.to_owned(),
            object_id,
            reason: self.reason,
            after_state: after,
        }
    }
}

/// The use cases of one hub; cheap to clone.
#[derive(Clone)]
pub struct HubService {
    engine: Engine,
}

macro_rules! expect_reply {
    ($reply:expr, $variant:ident, $what:literal) => {
        match $reply {
            Reply::$variant(v) => Ok(v),
            _ => Err(ServiceError::UnexpectedReply($what)),
        }
    };
}

impl HubService {
    /// The use cases of the hub `engine` runs.
    pub fn new(engine: Engine) -> HubService {
        HubService { engine }
    }

    /// The engine (for reads).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    async fn submit(&self, command: Command) -> ServiceResult<Reply> {
        Ok(self.engine.submit(command).await?)
    }

    async fn audited(
        &self,
        command: Command,
        admin: AdminAction,
        object_type: &str,
        object_id: String,
    ) -> ServiceResult<Reply> {
        let entry = admin.entry(object_type, object_id, None);
        self.submit(Command::Audited {
            command: Box::new(command),
            entry,
        })
        .await
    }

    // ------------------------------------------------------------------ participants

    /// Registers a participant (the signature was checked at the edge).
    pub async fn register(&self, p: NewParticipant) -> ServiceResult<Participant> {
        expect_reply!(self.submit(Command::Register(p)).await?, Participant, "register")
    }

    /// Changes a participant's display name and profile.
    pub async fn update_profile(
        &self,
        pid: Pid,
        display_name: Option<String>,
        profile: Option<serde_json::Value>,
    ) -> ServiceResult<Participant> {
        let command = Command::UpdateProfile {
            pid,
            display_name,
            profile,
        };
        expect_reply!(self.submit(command).await?, Participant, "update_profile")
    }

    /// Admin: freezes, unfreezes or bans a participant.
    pub async fn set_participant_status(
        &self,
        admin: AdminAction,
        pid: Pid,
        status: ParticipantStatus,
    ) -> ServiceResult<Participant> {
        let id = pid.to_string();
        let command = Command::SetParticipantStatus { pid, status };
        expect_reply!(
            self.audited(command, admin, "participant", id).await?,
            Participant,
            "set_participant_status"
        )
    }

    // ------------------------------------------------------------------ equivalents

    /// Creates an equivalent at the hub's first start (no administrator involved).
    pub async fn bootstrap_equivalent(&self, e: NewEquivalent) -> ServiceResult<Equivalent> {
        expect_reply!(
            self.submit(Command::CreateEquivalent(e)).await?,
            Equivalent,
            "bootstrap_equivalent"
        )
    }

    /// Admin: creates an equivalent, inactive when `active` is false (the deactivation follows
    /// as a second command; the audit entry is the creation's).
    pub async fn create_equivalent(
        &self,
        admin: AdminAction,
        e: NewEquivalent,
        active: bool,
    ) -> ServiceResult<Equivalent> {
        let code = e.code.clone();
        let created = expect_reply!(
            self.audited(
                Command::CreateEquivalent(e),
                admin,
                "equivalent",
                code.to_string()
            )
            .await?,
            Equivalent,
            "create_equivalent"
        )?;
        if active {
            return Ok(created);
        }
        let patch = EquivalentPatch {
            is_active: Some(false),
            ..EquivalentPatch::default()
        };
        expect_reply!(
            self.submit(Command::UpdateEquivalent { code, patch }).await?,
            Equivalent,
            "create_equivalent"
        )
    }

    /// Admin: changes an equivalent (precision never changes).
    pub async fn update_equivalent(
        &self,
        admin: AdminAction,
        code: EquivalentCode,
        patch: EquivalentPatch,
    ) -> ServiceResult<Equivalent> {
        let id = code.to_string();
        expect_reply!(
            self.audited(Command::UpdateEquivalent { code, patch }, admin, "equivalent", id)
                .await?,
            Equivalent,
            "update_equivalent"
        )
    }

    /// Admin: deletes an equivalent that was never used.
    pub async fn delete_equivalent(
        &self,
        admin: AdminAction,
        code: EquivalentCode,
    ) -> ServiceResult<Equivalent> {
        let id = code.to_string();
        expect_reply!(
            self.audited(Command::DeleteEquivalent { code }, admin, "equivalent", id)
                .await?,
            Equivalent,
            "delete_equivalent"
        )
    }

    // ------------------------------------------------------------------ trust lines

    /// Opens a trust line (signed by its owner at the edge).
    pub async fn open_line(&self, line: NewTrustLine) -> ServiceResult<TrustLine> {
        expect_reply!(self.submit(Command::CreateLine(line)).await?, Line, "open_line")
    }

    /// Changes a trust line's limit or policy (its owner only).
    pub async fn update_line(&self, update: TrustLineUpdate) -> ServiceResult<TrustLine> {
        expect_reply!(
            self.submit(Command::UpdateLine(update)).await?,
            Line,
            "update_line"
        )
    }

    /// Closes a trust line (its owner only, at zero debt).
    pub async fn close_line(&self, id: uuid::Uuid, by: Pid) -> ServiceResult<TrustLine> {
        expect_reply!(
            self.submit(Command::CloseLine { id, by }).await?,
            Line,
            "close_line"
        )
    }

    /// Admin: freezes or unfreezes a trust line.
    pub async fn set_line_status(
        &self,
        admin: AdminAction,
        id: uuid::Uuid,
        status: LineStatus,
    ) -> ServiceResult<TrustLine> {
        expect_reply!(
            self.audited(
                Command::SetLineStatus { id, status },
                admin,
                "trustline",
                id.to_string()
            )
            .await?,
            Line,
            "set_line_status"
        )
    }

    // ------------------------------------------------------------------ payments

    /// Routes and commits a payment (or records why it could not be routed).
    pub async fn pay(&self, request: PaymentRequest) -> ServiceResult<PaymentOutcome> {
        expect_reply!(self.submit(Command::Pay(request)).await?, Payment, "pay")
    }

    /// PREPARE: routes a payment and reserves its capacity until `expires_at`.
    pub async fn prepare(
        &self,
        request: PaymentRequest,
        expires_at: Millis,
    ) -> ServiceResult<PaymentOutcome> {
        expect_reply!(
            self.submit(Command::Prepare { request, expires_at }).await?,
            Payment,
            "prepare"
        )
    }

    /// COMMIT of a prepared payment.
    pub async fn commit(&self, tx_id: String) -> ServiceResult<TxRecord> {
        expect_reply!(
            self.submit(Command::Commit { tx_id }).await?,
            Transaction,
            "commit"
        )
    }

    /// ABORT of a prepared payment.
    pub async fn abort(&self, tx_id: String, reason: String) -> ServiceResult<TxRecord> {
        expect_reply!(
            self.submit(Command::Abort { tx_id, reason }).await?,
            Transaction,
            "abort"
        )
    }

    /// Admin: aborts a prepared payment, audited.
    pub async fn abort_as_admin(
        &self,
        admin: AdminAction,
        tx_id: String,
        reason: String,
    ) -> ServiceResult<TxRecord> {
        let id = tx_id.clone();
        expect_reply!(
            self.audited(Command::Abort { tx_id, reason }, admin, "transaction", id)
                .await?,
            Transaction,
            "abort_as_admin"
        )
    }

    // ------------------------------------------------------------------ clearing, integrity

    /// Clears the short cycles (3..=`max_len` participants) of an equivalent.
    pub async fn clear_short(
        &self,
        equivalent: EquivalentCode,
        max_len: usize,
    ) -> ServiceResult<ClearingSummary> {
        expect_reply!(
            self.submit(Command::ClearShort { equivalent, max_len }).await?,
            Clearing,
            "clear_short"
        )
    }

    /// Runs the optimal clearing of an equivalent.
    pub async fn clear_optimal(&self, equivalent: EquivalentCode) -> ServiceResult<ClearingSummary> {
        expect_reply!(
            self.submit(Command::ClearOptimal { equivalent }).await?,
            Clearing,
            "clear_optimal"
        )
    }

    /// Admin: a clearing run, audited (`optimal`, or short cycles up to `max_len`).
    pub async fn clear_as_admin(
        &self,
        admin: AdminAction,
        equivalent: EquivalentCode,
        max_len: Option<usize>,
    ) -> ServiceResult<ClearingSummary> {
        let id = equivalent.to_string();
        let command = match max_len {
            Some(max_len) => Command::ClearShort { equivalent, max_len },
            None => Command::ClearOptimal { equivalent },
        };
        expect_reply!(
            self.audited(command, admin, "clearing", id).await?,
            Clearing,
            "clear_as_admin"
        )
    }

    /// Runs every invariant check and writes a checkpoint per equivalent.
    pub async fn verify(&self) -> ServiceResult<Vec<(EquivalentCode, InvariantReport)>> {
        expect_reply!(self.submit(Command::Verify).await?, Verified, "verify")
    }

    /// Admin: the full check, audited.
    pub async fn verify_as_admin(
        &self,
        admin: AdminAction,
    ) -> ServiceResult<Vec<(EquivalentCode, InvariantReport)>> {
        expect_reply!(
            self.audited(Command::Verify, admin, "integrity", "all".into())
                .await?,
            Verified,
            "verify_as_admin"
        )
    }

    // ------------------------------------------------------------------ the admin log

    /// Admin: records an action outside the ledger (configuration, feature flags, a login)
    /// with the state it left. Returns the entry's id.
    pub async fn record_admin(
        &self,
        admin: AdminAction,
        object_type: &str,
        object_id: &str,
        after: serde_json::Value,
    ) -> ServiceResult<uuid::Uuid> {
        let entry = admin.entry(object_type, object_id.to_owned(), Some(after));
        expect_reply!(
            self.submit(Command::AdminAudit(entry)).await?,
            AdminAudited,
            "record_admin"
        )
    }
}
