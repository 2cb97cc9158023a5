//! Plain records of the ledger: participants, equivalents, trust lines, prepare locks and the
//! records each operation leaves behind (transactions and audit entries).

use geo_protocol::{Amount, EquivalentCode, Pid, Precision};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::graph::{LinePolicy, LineStatus, NodeId};
use super::payload::TxPayload;

/// Milliseconds since the Unix epoch (the engine supplies the clock; the ledger never reads one).
pub type Millis = i64;

/// Dense index of an equivalent inside a ledger.
pub type EqId = u16;

/// Status of a participant (GEO v0.1 section 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantStatus {
    /// Normal operation.
    Active,
    /// Frozen by an administrator: may not pay, be paid or route.
    Suspended,
    /// Left the community.
    Left,
    /// Removed (banned).
    Deleted,
}

impl ParticipantStatus {
    /// Wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantStatus::Active => "active",
            ParticipantStatus::Suspended => "suspended",
            ParticipantStatus::Left => "left",
            ParticipantStatus::Deleted => "deleted",
        }
    }

    /// Parses the wire/storage name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "left" => Some(Self::Left),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A registered participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Identifier derived from the public key.
    pub pid: Pid,
    /// Ed25519 public key, base64.
    pub public_key: String,
    /// Display name.
    pub display_name: String,
    /// `person`, `business` or `hub`.
    pub kind: String,
    /// Free-form profile object.
    pub profile: Value,
    /// Status.
    pub status: ParticipantStatus,
    /// Verification level 0-3.
    pub verification_level: i16,
    /// Position in the ledger's load order (the order of registration): a ledger rebuilt from
    /// the store numbers participants as the original did, so it routes and clears the same way.
    pub ord: u64,
    /// Creation time.
    pub created_at: Millis,
    /// Last update time.
    pub updated_at: Millis,
}

/// An equivalent (unit of account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equivalent {
    /// Code.
    pub code: EquivalentCode,
    /// Decimal places.
    pub precision: Precision,
    /// Optional symbol.
    pub symbol: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// Free-form metadata.
    pub metadata: Value,
    /// Inactive equivalents accept no new trust lines or payments.
    pub is_active: bool,
    /// Position in the ledger's load order (the order of creation).
    pub ord: u64,
    /// Creation time.
    pub created_at: Millis,
    /// Last update time.
    pub updated_at: Millis,
}

/// A trust line record (the graph holds its live slot; this is the full record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustLine {
    /// UUID.
    pub id: uuid::Uuid,
    /// The creditor (owner).
    pub from: NodeId,
    /// The potential debtor.
    pub to: NodeId,
    /// Equivalent.
    pub eq: EqId,
    /// Limit.
    pub limit: Amount,
    /// Policy.
    pub policy: LinePolicy,
    /// Blocked participants as given (PIDs; not all need be registered).
    pub blocked_pids: Vec<Pid>,
    /// Status.
    pub status: LineStatus,
    /// Creation time.
    pub created_at: Millis,
    /// Last update time.
    pub updated_at: Millis,
}

/// One route of a payment: the path and the amount it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRecord {
    /// PIDs from payer to payee.
    pub path: Vec<Pid>,
    /// Amount carried.
    pub amount: Amount,
}

/// A prepare lock: capacity reserved on every hop of a payment until commit, abort or expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareLock {
    /// Transaction id.
    pub tx_id: String,
    /// Equivalent.
    pub eq: EqId,
    /// Payer of the whole payment.
    pub from: NodeId,
    /// Payee of the whole payment.
    pub to: NodeId,
    /// Routes as node ids with their amounts.
    pub routes: Vec<(Vec<NodeId>, i128)>,
    /// When the lock lapses (presumed abort).
    pub expires_at: Millis,
    /// When it was taken.
    pub created_at: Millis,
}

/// Kinds of recorded transactions (GEO v0.1 section 3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxKind {
    /// Payment.
    Payment,
    /// Clearing.
    Clearing,
    /// Trust line created.
    TrustLineCreate,
    /// Trust line updated.
    TrustLineUpdate,
    /// Trust line closed.
    TrustLineClose,
}

impl TxKind {
    /// Wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::Payment => "PAYMENT",
            TxKind::Clearing => "CLEARING",
            TxKind::TrustLineCreate => "TRUST_LINE_CREATE",
            TxKind::TrustLineUpdate => "TRUST_LINE_UPDATE",
            TxKind::TrustLineClose => "TRUST_LINE_CLOSE",
        }
    }

    /// Parses the wire/storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PAYMENT" => TxKind::Payment,
            "CLEARING" => TxKind::Clearing,
            "TRUST_LINE_CREATE" => TxKind::TrustLineCreate,
            "TRUST_LINE_UPDATE" => TxKind::TrustLineUpdate,
            "TRUST_LINE_CLOSE" => TxKind::TrustLineClose,
            _ => return None,
        })
    }
}

/// Persisted state of a transaction. Terminal states are kept forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxState {
    /// Capacity reserved, outcome pending (cross-hub payments).
    Prepared,
    /// Applied.
    Committed,
    /// Not applied, final.
    Aborted,
}

impl TxState {
    /// Wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            TxState::Prepared => "PREPARED",
            TxState::Committed => "COMMITTED",
            TxState::Aborted => "ABORTED",
        }
    }

    /// Parses the wire/storage name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PREPARED" => TxState::Prepared,
            "COMMITTED" => TxState::Committed,
            "ABORTED" => TxState::Aborted,
            _ => return None,
        })
    }
}

/// A transaction as recorded in the `transactions` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    /// Id (client `tx_id` for payments, UUID otherwise).
    pub tx_id: String,
    /// Kind.
    pub kind: TxKind,
    /// Initiator.
    pub initiator: Option<Pid>,
    /// Equivalent code.
    pub equivalent: Option<EquivalentCode>,
    /// What the operation was (its shape follows `kind`).
    pub payload: TxPayload,
    /// State.
    pub state: TxState,
    /// SHA-256 of the canonical request, for idempotency conflicts.
    pub request_hash: Option<String>,
    /// Error for aborted transactions: `{code, message}`.
    pub error: Option<Value>,
    /// Creation time.
    pub created_at: Millis,
    /// Last update.
    pub updated_at: Millis,
}

/// One entry of the integrity audit log: the state checksum before and after an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// UUID.
    pub id: uuid::Uuid,
    /// Operation (`PAYMENT`, `CLEARING`, `TRUST_LINE_CREATE`, ...).
    pub operation: String,
    /// Related transaction.
    pub tx_id: Option<String>,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Checksum before.
    pub checksum_before: String,
    /// Checksum after.
    pub checksum_after: String,
    /// Participants touched.
    pub affected: Vec<Pid>,
    /// Which invariants were checked and their outcome.
    pub invariants: Value,
    /// All checks passed.
    pub passed: bool,
    /// Details of failures.
    pub error: Option<Value>,
    /// Time.
    pub at: Millis,
}

/// One entry of the admin audit log: an action an administrator took through the admin API or
/// the admin pages. It changes no ledger state; the engine persists it with the next batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminAuditRecord {
    /// UUID.
    pub id: uuid::Uuid,
    /// Time of the action.
    pub at: Millis,
    /// Role of the actor (`admin`).
    pub actor_role: String,
    /// Who acted, when known (the admin token names no one).
    pub actor_id: Option<String>,
    /// What was done, in the reference hub's names (`admin.participants.freeze`,
    /// `admin.equivalents.create`, `admin.config.patch`, ...).
    pub action: String,
    /// Kind of the object acted on (`participant`, `equivalent`, `config`, ...).
    pub object_type: String,
    /// Id of the object acted on.
    pub object_id: String,
    /// The administrator's note.
    pub reason: Option<String>,
    /// State of the object before, when recorded.
    pub before_state: Option<Value>,
    /// State of the object after, when recorded.
    pub after_state: Option<Value>,
    /// Id of the HTTP request that carried the action (`X-Request-ID`), when known.
    pub request_id: Option<String>,
    /// Address of the client that sent it, when known.
    pub ip_address: Option<String>,
    /// `User-Agent` of the client, when sent.
    pub user_agent: Option<String>,
}

/// Who takes an admin action, and where the request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Role (`admin`).
    pub role: String,
    /// Who, when known (the admin token names no one).
    pub id: Option<String>,
    /// Id of the HTTP request (`X-Request-ID`), when known.
    pub request_id: Option<String>,
    /// Address of the client, when known.
    pub ip_address: Option<String>,
    /// `User-Agent` of the client, when sent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// An administrator with no further origin (tests, the command line).
    pub fn admin() -> Actor {
        Actor {
            role: "admin".to_owned(),
            ..Actor::default()
        }
    }
}

/// An admin action as it enters the ledger. The ledger stamps its id (from the command's id
/// seed) and time (the batch's), and for an action on a ledger object records the object's state
/// before and after (see `Command::Audited`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdminEntry {
    /// Who acted.
    pub actor: Actor,
    /// What was done, in the reference hub's names (`admin.participants.freeze`, ...).
    pub action: String,
    /// Kind of the object acted on (`participant`, `equivalent`, `config`, ...).
    pub object_type: String,
    /// Id of the object acted on.
    pub object_id: String,
    /// The administrator's note.
    pub reason: Option<String>,
    /// State after, for actions outside the ledger (configuration, flags); ledger objects
    /// have theirs read by the ledger.
    pub after_state: Option<Value>,
}
