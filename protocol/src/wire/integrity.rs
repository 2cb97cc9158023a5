//! `/integrity/*`: invariants, checksums and the integrity audit log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, marker_endpoint, JsonObject};
use crate::equivalent::EquivalentCode;

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntegrityHealth {
    /// Every invariant holds.
    Healthy,
    /// Something needs attention.
    Warning,
    /// An invariant is broken.
    Critical,
}

/// The result of one invariant check (`InvariantResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InvariantResult {
    /// Whether it holds.
    pub passed: bool,
    /// A measured value (e.g. the zero-sum total).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Number of violations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<u64>,
    /// Details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<JsonObject>,
}

/// The integrity of one equivalent (`EquivalentIntegrityStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EquivalentIntegrityStatus {
    /// Health.
    pub status: IntegrityHealth,
    /// State checksum.
    pub checksum: String,
    /// Last verification (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<String>,
    /// Each invariant by name.
    pub invariants: BTreeMap<String, InvariantResult>,
}

marker_endpoint!(
    /// `GET /api/v1/integrity/status` request.
    GetIntegrityStatus,
    Get,
    "/integrity/status",
    IntegrityStatusResponse
);

/// `GET /api/v1/integrity/status` response (`IntegrityStatusResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityStatusResponse {
    /// Overall health.
    pub status: IntegrityHealth,
    /// When it was checked (RFC 3339).
    pub last_check: String,
    /// Per equivalent code.
    pub equivalents: BTreeMap<EquivalentCode, EquivalentIntegrityStatus>,
    /// Alerts.
    pub alerts: Vec<String>,
}

/// `GET /api/v1/integrity/checksum/{equivalent}` path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GetIntegrityChecksum {
    /// Equivalent.
    pub equivalent: EquivalentCode,
}
endpoint!(
    GetIntegrityChecksum,
    Get,
    "/integrity/checksum/{equivalent}",
    IntegrityChecksumResponse
);

/// `GET /api/v1/integrity/checksum/{equivalent}` response (`IntegrityChecksumResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityChecksumResponse {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// State checksum.
    pub checksum: String,
    /// When it was computed (RFC 3339).
    pub created_at: String,
    /// Invariants by name.
    #[schema(value_type = Object)]
    pub invariants_status: JsonObject,
}

/// `POST /api/v1/integrity/verify` request (`IntegrityVerifyRequest`; no other keys allowed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrityVerifyRequest {
    /// Only this equivalent (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<EquivalentCode>,
}
endpoint!(
    IntegrityVerifyRequest,
    Post,
    "/integrity/verify",
    IntegrityVerifyResponse
);

/// `POST /api/v1/integrity/verify` response (`IntegrityVerifyResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityVerifyResponse {
    /// Overall health.
    pub status: IntegrityHealth,
    /// When it was checked (RFC 3339).
    pub checked_at: String,
    /// Per equivalent code.
    pub equivalents: BTreeMap<EquivalentCode, EquivalentIntegrityStatus>,
    /// Alerts.
    pub alerts: Vec<String>,
}

/// `GET /api/v1/integrity/audit-log` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityAuditLogQuery {
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page (1-200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}
endpoint!(
    IntegrityAuditLogQuery,
    Get,
    "/integrity/audit-log",
    IntegrityAuditLogResponse
);

/// One integrity audit record (`IntegrityAuditLogItem`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityAuditLogItem {
    /// Record id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When (RFC 3339).
    pub timestamp: String,
    /// Who (null for the hub itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// The operation checked.
    pub action: String,
    /// Kind of object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    /// Id of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// Checksums and invariants after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub after_state: Option<JsonObject>,
}

/// `GET /api/v1/integrity/audit-log` response (`IntegrityAuditLogResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IntegrityAuditLogResponse {
    /// The records.
    pub items: Vec<IntegrityAuditLogItem>,
}
