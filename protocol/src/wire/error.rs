//! The contract's error envelope (`ErrorEnvelope`): every non-2xx answer of `/api/v1`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JsonObject;

/// The error envelope `{"error": {"code", "message", "details"?}}` of every failed call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorEnvelope {
    /// What went wrong.
    pub error: ErrorBody,
}

/// The inside of [`ErrorEnvelope`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code (`INVALID_AMOUNT`, `TOKEN_EXPIRED`, ...).
    pub code: String,
    /// A human-readable message.
    pub message: String,
    /// Details of the failure, when the code has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<JsonObject>,
}
