//! The WebSocket event stream `GET /api/v1/ws` (not in the OpenAPI contract): one JSON text
//! message per event, tagged by `type`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::payments::PaymentResult;
use super::{marker_endpoint, JsonObject};
use crate::equivalent::EquivalentCode;
use crate::pid::Pid;

marker_endpoint!(
    /// `GET /api/v1/ws?token=ACCESS`: opens the event stream (messages: [`WsEvent`]).
    OpenEventStream,
    Get,
    "/ws",
    WsEvent
);

/// A transaction record as events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TxView {
    /// Transaction id (`tx_id` of payments, a UUID otherwise).
    pub tx_id: String,
    /// `PAYMENT`, `CLEARING`, `TRUST_LINE_CREATE`, `TRUST_LINE_UPDATE`, `TRUST_LINE_CLOSE`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `PREPARED`, `COMMITTED` or `ABORTED`.
    pub state: String,
    /// Who started it.
    #[serde(default)]
    pub initiator: Option<Pid>,
    /// Its equivalent.
    #[serde(default)]
    pub equivalent: Option<EquivalentCode>,
    /// The typed content of the record (depends on `type`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Why it was aborted.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub error: Option<JsonObject>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// A committed transaction that concerns the subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TxEvent {
    /// The transaction.
    pub tx: TxView,
    /// The payment's outcome (payment events only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentResult>,
}

/// One message of the event stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum WsEvent {
    /// First message: the stream is subscribed.
    #[serde(rename = "hello")]
    Hello {
        /// The subscriber.
        pid: Pid,
    },
    /// The subscriber fell behind and missed `missed` events.
    #[serde(rename = "lagged")]
    Lagged {
        /// Events dropped.
        missed: u64,
    },
    /// A payment committed.
    #[serde(rename = "payment.committed")]
    PaymentCommitted(TxEvent),
    /// A payment was aborted.
    #[serde(rename = "payment.aborted")]
    PaymentAborted(TxEvent),
    /// A clearing ran.
    #[serde(rename = "clearing.done")]
    ClearingDone(TxEvent),
    /// A trust line was opened.
    #[serde(rename = "trustline.created")]
    TrustLineCreated(TxEvent),
    /// A trust line changed.
    #[serde(rename = "trustline.updated")]
    TrustLineUpdated(TxEvent),
    /// A trust line was closed.
    #[serde(rename = "trustline.closed")]
    TrustLineClosed(TxEvent),
}
