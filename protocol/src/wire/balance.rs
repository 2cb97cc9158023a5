//! `/balance*`: the caller's balances and debts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, marker_endpoint, SignedWireAmount, WireAmount};
use crate::equivalent::EquivalentCode;
use crate::pid::Pid;

marker_endpoint!(
    /// `GET /api/v1/balance` request: the caller's balance per equivalent.
    GetBalance,
    Get,
    "/balance",
    BalanceSummary
);

/// The caller's balance in one equivalent (`BalanceEquivalent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalanceEquivalent {
    /// Equivalent.
    pub code: EquivalentCode,
    /// What it owes.
    pub total_debt: WireAmount,
    /// What it is owed.
    pub total_credit: WireAmount,
    /// `total_credit - total_debt`.
    pub net_balance: SignedWireAmount,
    /// What it can pay its neighbours directly.
    pub available_to_spend: WireAmount,
    /// What its neighbours can pay it directly.
    pub available_to_receive: WireAmount,
}

/// `GET /api/v1/balance` response (`BalanceSummary`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BalanceSummary {
    /// One entry per equivalent.
    pub equivalents: Vec<BalanceEquivalent>,
}

/// Which debts `GET /balance/debts` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DebtDirection {
    /// What the caller owes.
    Outgoing,
    /// What the caller is owed.
    Incoming,
    /// Both (the default).
    All,
}

/// `GET /api/v1/balance/debts` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DebtsQuery {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Direction (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<DebtDirection>,
}
endpoint!(DebtsQuery, Get, "/balance/debts", DebtsDetails);

/// A debt of the caller to `creditor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutgoingDebt {
    /// Whom the caller owes.
    pub creditor: Pid,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor_name: Option<String>,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Amount owed.
    pub amount: WireAmount,
}

/// A debt of `debtor` to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IncomingDebt {
    /// Who owes the caller.
    pub debtor: Pid,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor_name: Option<String>,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Amount owed.
    pub amount: WireAmount,
}

/// `GET /api/v1/balance/debts` response (`DebtsDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DebtsDetails {
    /// What the caller owes.
    pub outgoing: Vec<OutgoingDebt>,
    /// What the caller is owed.
    pub incoming: Vec<IncomingDebt>,
}
