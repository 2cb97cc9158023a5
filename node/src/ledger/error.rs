//! Errors of ledger operations. Each has a stable machine-readable code (see [`LedgerError::code`]).

use geo_protocol::{Amount, AmountError};

/// Why a ledger operation was refused. A refused operation changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// No participant with this PID.
    #[error("unknown participant {0}")]
    UnknownParticipant(String),
    /// A participant with this PID is already registered.
    #[error("participant {0} is already registered")]
    ParticipantExists(String),
    /// The participant is suspended, left or deleted.
    #[error("participant {0} is not active")]
    ParticipantNotActive(String),
    /// No equivalent with this code.
    #[error("unknown equivalent {0}")]
    UnknownEquivalent(String),
    /// The equivalent exists already.
    #[error("equivalent {0} already exists")]
    EquivalentExists(String),
    /// The equivalent is inactive.
    #[error("equivalent {0} is not active")]
    EquivalentNotActive(String),
    /// The equivalent still has trust lines or debts.
    #[error("equivalent {0} is in use")]
    EquivalentInUse(String),
    /// No trust line with this id.
    #[error("unknown trust line {0}")]
    UnknownTrustLine(String),
    /// An open line (from, to, equivalent) exists already.
    #[error("an open trust line from {from} to {to} in {equivalent} already exists")]
    TrustLineExists {
        /// Owner.
        from: String,
        /// Trustee.
        to: String,
        /// Equivalent.
        equivalent: String,
    },
    /// The line is frozen or closed.
    #[error("trust line {0} is not active")]
    TrustLineNotActive(String),
    /// Only the line's owner (`from`) may change it.
    #[error("only the owner of a trust line may change it")]
    NotOwner,
    /// A participant cannot trust itself or pay itself.
    #[error("source and destination must differ")]
    SameParticipant,
    /// The new limit is below what is owed (or reserved) on the line.
    #[error("new limit {limit} is below the current debt {debt}")]
    LimitBelowDebt {
        /// Debt plus reservations on the line.
        debt: Amount,
        /// Requested limit.
        limit: Amount,
    },
    /// A line can close only at zero debt.
    #[error("trust line still carries a debt of {debt}")]
    DebtOutstanding {
        /// Outstanding debt.
        debt: Amount,
    },
    /// Amount refused (zero, negative, too precise, too large).
    #[error(transparent)]
    Amount(#[from] AmountError),
    /// Invalid trust line policy.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// No route at all between payer and payee.
    #[error("no route from payer to payee")]
    NoRoute,
    /// Routes exist but cannot carry the amount.
    #[error("insufficient capacity: at most {available} can be sent")]
    InsufficientCapacity {
        /// What could be sent.
        available: Amount,
    },
    /// The same `tx_id` was used with a different request.
    #[error("tx_id {0} was already used with a different request")]
    TxConflict(String),
    /// No transaction or prepare lock with this id.
    #[error("unknown transaction {0}")]
    UnknownTransaction(String),
    /// The transaction is not in a state that allows this step.
    #[error("transaction {0} is not prepared")]
    NotPrepared(String),
    /// The tx_id is known from an earlier run; its record must be fetched from the store first.
    #[error("transaction {0} must be looked up in the store")]
    NeedsLookup(String),
    /// An invariant would break; the operation was refused.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// A limit of the implementation (too many participants, equivalents...).
    #[error("capacity of the ledger exceeded: {0}")]
    Full(&'static str),
}

impl LedgerError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::UnknownParticipant(_) => "PARTICIPANT_NOT_FOUND",
            LedgerError::ParticipantExists(_) => "PARTICIPANT_EXISTS",
            LedgerError::ParticipantNotActive(_) => "PARTICIPANT_NOT_ACTIVE",
            LedgerError::UnknownEquivalent(_) => "EQUIVALENT_NOT_FOUND",
            LedgerError::EquivalentExists(_) => "EQUIVALENT_EXISTS",
            LedgerError::EquivalentNotActive(_) => "EQUIVALENT_NOT_ACTIVE",
            LedgerError::EquivalentInUse(_) => "EQUIVALENT_IN_USE",
            LedgerError::UnknownTrustLine(_) => "TRUSTLINE_NOT_FOUND",
            LedgerError::TrustLineExists { .. } => "TRUSTLINE_EXISTS",
            LedgerError::TrustLineNotActive(_) => "TRUSTLINE_NOT_ACTIVE",
            LedgerError::NotOwner => "FORBIDDEN",
            LedgerError::SameParticipant => "SAME_PARTICIPANT",
            LedgerError::LimitBelowDebt { .. } => "LIMIT_BELOW_DEBT",
            LedgerError::DebtOutstanding { .. } => "DEBT_OUTSTANDING",
            LedgerError::Amount(_) => "INVALID_AMOUNT",
            LedgerError::InvalidPolicy(_) => "INVALID_POLICY",
            LedgerError::NoRoute => "NO_ROUTE",
            LedgerError::InsufficientCapacity { .. } => "INSUFFICIENT_CAPACITY",
            LedgerError::TxConflict(_) => "TX_ID_CONFLICT",
            LedgerError::UnknownTransaction(_) => "TRANSACTION_NOT_FOUND",
            LedgerError::NotPrepared(_) => "TRANSACTION_NOT_PREPARED",
            LedgerError::NeedsLookup(_) => "INTERNAL",
            LedgerError::Integrity(_) => "INTEGRITY_VIOLATION",
            LedgerError::Full(_) => "LEDGER_FULL",
        }
    }
}
