//! `/trustlines*`: opening, changing, closing and listing trust lines.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, payload_with_id, signed_body, JsonObject, WireAmount};
use crate::equivalent::EquivalentCode;
use crate::pid::Pid;
use crate::signing::{Keypair, PublicKey, SignatureError};

/// A trust line's policy: `auto_clearing`, `can_be_intermediate`, `max_hop_usage`, `daily_limit`,
/// `blocked_participants` (free-form object in the contract).
pub type TrustLinePolicy = JsonObject;

/// The status of a trust line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrustLineStatus {
    /// In use.
    Active,
    /// Frozen by an administrator.
    Frozen,
    /// Closed by its owner.
    Closed,
}

/// A trust line (`TrustLine`): `from` trusts `to` up to `limit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrustLine {
    /// Trust line UUID.
    pub id: String,
    /// The creditor, who opened the line.
    pub from: Pid,
    /// The potential debtor.
    pub to: Pid,
    /// Display name of `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_display_name: Option<String>,
    /// Display name of `to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_display_name: Option<String>,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Maximum debt of `to` to `from`.
    pub limit: WireAmount,
    /// Current debt against the line.
    pub used: WireAmount,
    /// `limit - used`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<WireAmount>,
    /// Policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<TrustLinePolicy>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TrustLineStatus>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change (RFC 3339; this hub's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// `GET /api/v1/trustlines` response (`TrustLinesList`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrustLinesList {
    /// The lines.
    pub items: Vec<TrustLine>,
}

/// Which lines `GET /trustlines` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrustLineDirection {
    /// Lines the caller opened.
    Outgoing,
    /// Lines opened to the caller.
    Incoming,
    /// Both (the default).
    All,
}

/// `GET /api/v1/trustlines` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustLinesQuery {
    /// Direction (default all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<TrustLineDirection>,
    /// Equivalent filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<EquivalentCode>,
    /// Status filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TrustLineStatus>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page (1-200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}
endpoint!(TrustLinesQuery, Get, "/trustlines", TrustLinesList);

/// `POST /api/v1/trustlines` request (`TrustLineCreateRequest`), signed by the caller (`from`):
/// payload `to`, `equivalent`, `limit`, `policy?`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrustLineCreateRequest {
    /// Whom the caller trusts.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Credit limit.
    pub limit: WireAmount,
    /// Policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<TrustLinePolicy>,
    /// base64 Ed25519 signature of the canonical JSON of the body without `signature`.
    pub signature: String,
}
endpoint!(TrustLineCreateRequest, Post, "/trustlines", TrustLine);
signed_body!(TrustLineCreateRequest);

/// `GET /api/v1/trustlines/{id}` path: the line asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GetTrustLine {
    /// Trust line UUID.
    pub id: String,
}
endpoint!(GetTrustLine, Get, "/trustlines/{id}", TrustLine);

/// The full path of trust line `id` (`/api/v1/trustlines/<id>`).
pub fn trustline_path(id: &str) -> String {
    format!("{}/trustlines/{id}", super::API_PREFIX)
}

/// `PATCH /api/v1/trustlines/{id}` request (`TrustLineUpdateRequest`), signed by the owner: payload
/// `id` (from the path), `limit?`, `policy?`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrustLineUpdateRequest {
    /// New limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<WireAmount>,
    /// New policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub policy: Option<TrustLinePolicy>,
    /// base64 Ed25519 signature of the canonical JSON of the body without `signature`, plus `id`.
    pub signature: String,
}
endpoint!(TrustLineUpdateRequest, Patch, "/trustlines/{id}", TrustLine);

impl TrustLineUpdateRequest {
    /// The signed bytes for line `id`: the canonical JSON of `{id, limit?, policy?}`.
    pub fn signing_payload(&self, id: &str) -> Result<Vec<u8>, SignatureError> {
        payload_with_id(self, id)
    }

    /// Signs the change of line `id` with `key`.
    pub fn sign(&mut self, id: &str, key: &Keypair) -> Result<(), SignatureError> {
        self.signature = key.sign_bytes(&self.signing_payload(id)?);
        Ok(())
    }

    /// Verifies the signature of the change of line `id`.
    pub fn verify(&self, id: &str, key: &PublicKey) -> Result<(), SignatureError> {
        key.verify_bytes(&self.signing_payload(id)?, &self.signature)
    }
}

/// `DELETE /api/v1/trustlines/{id}` request (`TrustLineCloseRequest`), signed by the owner:
/// payload `{id}` (from the path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrustLineCloseRequest {
    /// base64 Ed25519 signature of the canonical JSON of `{"id": <path id>}`.
    pub signature: String,
}
endpoint!(
    TrustLineCloseRequest,
    Delete,
    "/trustlines/{id}",
    TrustLineCloseResponse
);

impl TrustLineCloseRequest {
    /// The signed bytes for line `id`: the canonical JSON of `{id}`.
    pub fn signing_payload(&self, id: &str) -> Result<Vec<u8>, SignatureError> {
        payload_with_id(self, id)
    }

    /// A close request of line `id` signed with `key`.
    pub fn signed(id: &str, key: &Keypair) -> Result<TrustLineCloseRequest, SignatureError> {
        let mut body = TrustLineCloseRequest::default();
        body.signature = key.sign_bytes(&body.signing_payload(id)?);
        Ok(body)
    }

    /// Verifies the signature of the closing of line `id`.
    pub fn verify(&self, id: &str, key: &PublicKey) -> Result<(), SignatureError> {
        key.verify_bytes(&self.signing_payload(id)?, &self.signature)
    }
}

/// `DELETE /api/v1/trustlines/{id}` response (an inline schema in the contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrustLineCloseResponse {
    /// `closed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The closed line (this hub's addition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_line: Option<TrustLine>,
}
