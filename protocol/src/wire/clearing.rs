//! `/clearing/*`: debt cycles and their clearing.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, WireAmount};
use crate::equivalent::EquivalentCode;
use crate::pid::Pid;

/// `GET /api/v1/clearing/cycles` and `POST /api/v1/clearing/auto` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingQuery {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Longest cycle searched (3-10, default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
}
endpoint!(ClearingQuery, Get, "/clearing/cycles", ClearingCyclesResponse);

/// `POST /api/v1/clearing/auto` request (query parameters as [`ClearingQuery`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingAutoQuery {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Longest cycle searched (3-10, default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
}
endpoint!(ClearingAutoQuery, Post, "/clearing/auto", ClearingAutoResponse);

/// One debt of a cycle (`ClearingCycleEdge`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingCycleEdge {
    /// Id of the debt.
    pub debt_id: String,
    /// Who owes.
    pub debtor: Pid,
    /// Who is owed.
    pub creditor: Pid,
    /// The debt.
    pub amount: WireAmount,
}

/// `GET /api/v1/clearing/cycles` response (`ClearingCyclesResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingCyclesResponse {
    /// Each cycle as its debts in order.
    pub cycles: Vec<Vec<ClearingCycleEdge>>,
}

/// `POST /api/v1/clearing/auto` response (`ClearingAutoResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClearingAutoResponse {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Cycles cleared.
    pub cleared_cycles: u64,
}
