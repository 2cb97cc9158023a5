//! `/payments*`: payments, their outcomes, capacity and max-flow.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, signed_body, JsonObject, WireAmount};
use crate::equivalent::EquivalentCode;
use crate::pid::Pid;

/// Routing limits of one payment (`PaymentConstraints`; no other keys allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentConstraints {
    /// Most lines on one path (1-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_hops: Option<u32>,
    /// Most paths of a split payment (1-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_paths: Option<u32>,
    /// Time budget in milliseconds (1-120000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
    /// Participants no path may cross.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avoid: Option<Vec<Pid>>,
}

/// `POST /api/v1/payments` request (`PaymentCreateRequest`), signed by the payer: payload `tx_id`,
/// `to`, `equivalent`, `amount`, `description?`, `constraints?`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentCreateRequest {
    /// The client's idempotency key, `^[A-Za-z0-9._:-]{1,64}$`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._:-]+$")]
    pub tx_id: String,
    /// The payee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Amount (positive, at most the equivalent's precision: checked by the hub).
    pub amount: WireAmount,
    /// Free text stored with the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Routing limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<PaymentConstraints>,
    /// base64 Ed25519 signature of the canonical JSON of the body without `signature`.
    pub signature: String,
}
endpoint!(PaymentCreateRequest, Post, "/payments", PaymentResult);
signed_body!(PaymentCreateRequest);

/// The final outcome of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PaymentStatus {
    /// Applied.
    Committed,
    /// Refused after recording (no route, not enough capacity): the `tx_id` is used.
    Aborted,
}

/// One path of a payment and the amount it carried (`PaymentRoute`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentRoute {
    /// Payer, intermediaries, payee.
    pub path: Vec<Pid>,
    /// Amount sent along it.
    pub amount: WireAmount,
}

/// Why a payment was aborted (`PaymentError`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentError {
    /// Stable code (`NO_ROUTE`, `INSUFFICIENT_CAPACITY`, ...).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<JsonObject>,
}

/// `POST /api/v1/payments` and `GET /api/v1/payments/{tx_id}` response (`PaymentResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentResult {
    /// The idempotency key.
    pub tx_id: String,
    /// Outcome.
    pub status: PaymentStatus,
    /// Payer.
    pub from: Pid,
    /// Payee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Amount.
    pub amount: WireAmount,
    /// Paths used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Vec<PaymentRoute>>,
    /// Why it was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PaymentError>,
    /// The payment's free text (this hub's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
    /// When it committed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_at: Option<String>,
}

/// `GET /api/v1/payments/{tx_id}` path: the payment asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GetPayment {
    /// Its `tx_id`.
    pub tx_id: String,
}
endpoint!(GetPayment, Get, "/payments/{tx_id}", PaymentResult);

/// Which payments `GET /payments` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentDirection {
    /// Paid by the caller.
    Sent,
    /// Paid to the caller.
    Received,
    /// Both (the default).
    All,
}

/// The `status` filter of `GET /payments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum PaymentStatusFilter {
    /// Committed payments.
    #[serde(rename = "COMMITTED")]
    Committed,
    /// Aborted payments.
    #[serde(rename = "ABORTED")]
    Aborted,
    /// Both (the default).
    #[serde(rename = "all")]
    All,
}

/// `GET /api/v1/payments` query (also `GET /api/v1/balance/history`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PaymentsQuery {
    /// Direction (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<PaymentDirection>,
    /// Equivalent filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<EquivalentCode>,
    /// Status filter (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PaymentStatusFilter>,
    /// Earliest creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_date: Option<String>,
    /// Latest creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_date: Option<String>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page (1-200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}
endpoint!(PaymentsQuery, Get, "/payments", PaymentsList);

/// `GET /api/v1/payments` response (`PaymentsList`), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PaymentsList {
    /// The payments.
    pub items: Vec<PaymentResult>,
}

/// `GET /api/v1/payments/capacity` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CapacityQuery {
    /// Payee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// The amount to check.
    pub amount: WireAmount,
}
endpoint!(CapacityQuery, Get, "/payments/capacity", CapacityResponse);

/// `GET /api/v1/payments/capacity` response (`CapacityResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CapacityResponse {
    /// Whether the amount can be paid now.
    pub can_pay: bool,
    /// The most that can be paid now.
    pub max_amount: WireAmount,
    /// Paths the payment would use.
    pub routes_count: u32,
    /// Lines on the longest of them.
    pub estimated_hops: u32,
}

/// `GET /api/v1/payments/max-flow` query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaxFlowQuery {
    /// Payee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
}
endpoint!(MaxFlowQuery, Get, "/payments/max-flow", MaxFlowResponse);

/// One path of a max-flow answer (`MaxFlowPath`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaxFlowPath {
    /// Payer, intermediaries, payee.
    pub path: Vec<Pid>,
    /// What it can carry.
    pub capacity: WireAmount,
}

/// A line that limits a max-flow answer (`Bottleneck`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Bottleneck {
    /// Creditor of the line.
    pub from: Pid,
    /// Debtor of the line.
    pub to: Pid,
    /// Its limit.
    pub limit: WireAmount,
    /// Its debt.
    pub used: WireAmount,
    /// `limit - used`.
    pub available: WireAmount,
}

/// `GET /api/v1/payments/max-flow` response (`MaxFlowResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MaxFlowResponse {
    /// The most that can be paid now (a promise on the same state).
    pub max_amount: WireAmount,
    /// The paths of that amount.
    pub paths: Vec<MaxFlowPath>,
    /// Lines that limit it.
    pub bottlenecks: Vec<Bottleneck>,
    /// Algorithm name.
    pub algorithm: String,
    /// When it was computed (RFC 3339).
    pub computed_at: String,
}
