//! `/equivalents`: the units of account.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{marker_endpoint, JsonObject};
use crate::equivalent::EquivalentCode;

/// An equivalent (`Equivalent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Equivalent {
    /// Code.
    pub code: EquivalentCode,
    /// Symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Decimal places (the contract allows 0-18; this hub 0-8).
    #[schema(minimum = 0, maximum = 18)]
    pub precision: u8,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<JsonObject>,
    /// Whether it is in use.
    pub is_active: bool,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

/// An equivalent as stored (`StoredEquivalent`): a read projection with an unvalidated code, so
/// rows older than the contract stay visible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StoredEquivalent {
    /// Code.
    pub code: String,
    /// Symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Decimal places.
    pub precision: i64,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<JsonObject>,
    /// Whether it is in use.
    pub is_active: bool,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last change (RFC 3339).
    pub updated_at: String,
}

marker_endpoint!(
    /// `GET /api/v1/equivalents` request: the active equivalents.
    ListEquivalents,
    Get,
    "/equivalents",
    EquivalentsList
);

/// `GET /api/v1/equivalents` response (`EquivalentsList`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EquivalentsList {
    /// The equivalents.
    pub items: Vec<StoredEquivalent>,
}
