//! `/participants*`: registration, profiles and search.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{endpoint, marker_endpoint, signed_body, JsonObject, SignedWireAmount, WireAmount};
use crate::pid::Pid;

/// The kind of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantType {
    /// A person (the default).
    Person,
    /// A business.
    Business,
    /// A hub (hub as participant).
    Hub,
}

impl ParticipantType {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParticipantType::Person => "person",
            ParticipantType::Business => "business",
            ParticipantType::Hub => "hub",
        }
    }
}

/// The status of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantStatus {
    /// Normal operation.
    Active,
    /// Frozen by an administrator.
    Suspended,
    /// Left the community.
    Left,
    /// Removed.
    Deleted,
}

/// A participant's profile (`ParticipantProfile`): free-form, with a few known keys.
pub type ParticipantProfile = JsonObject;

/// `POST /api/v1/participants` request (`ParticipantCreateRequest`), signed with the key it
/// registers: payload `display_name`, `type`, `public_key`, `profile?`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantCreateRequest {
    /// Display name.
    pub display_name: String,
    /// Participant type (the hub's default: person).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ParticipantType>,
    /// Ed25519 public key, base64 (the PID is derived from it).
    pub public_key: String,
    /// Profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub profile: Option<ParticipantProfile>,
    /// base64 Ed25519 signature of the canonical JSON of the body without `signature`.
    pub signature: String,
}
endpoint!(ParticipantCreateRequest, Post, "/participants", Participant);
signed_body!(ParticipantCreateRequest);

marker_endpoint!(
    /// `GET /api/v1/participants/me` request: the caller's participant with stats.
    GetMe,
    Get,
    "/participants/me",
    ParticipantWithStats
);

/// `PATCH /api/v1/participants/me` request (`ParticipantUpdateRequest`), signed with the caller's
/// key: payload `display_name?`, `profile?`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantUpdateRequest {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// New profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub profile: Option<ParticipantProfile>,
    /// base64 Ed25519 signature of the canonical JSON of the body without `signature`.
    pub signature: String,
}
endpoint!(ParticipantUpdateRequest, Patch, "/participants/me", Participant);
signed_body!(ParticipantUpdateRequest);

/// `GET /api/v1/participants` and `GET /api/v1/participants/search` query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantsQuery {
    /// Display-name substring or PID prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Type filter.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ParticipantType>,
    /// Max results (1-200, default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Items per page (1-200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}
endpoint!(ParticipantsQuery, Get, "/participants", ParticipantsList);

/// `GET /api/v1/participants/{pid}` path: the participant asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GetParticipant {
    /// Its PID.
    pub pid: Pid,
}
endpoint!(GetParticipant, Get, "/participants/{pid}", Participant);

impl GetParticipant {
    /// The full path (`/api/v1/participants/<pid>`).
    pub fn path(&self) -> String {
        format!("{}/participants/{}", super::API_PREFIX, self.pid)
    }
}

/// A participant as others see it (`ParticipantPublic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantPublic {
    /// PID.
    pub pid: Pid,
    /// Display name.
    pub display_name: String,
    /// Status.
    pub status: ParticipantStatus,
}

/// `POST /api/v1/participants` and `GET /api/v1/participants/{pid}` response (`Participant`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    /// PID (derived from `public_key`).
    pub pid: Pid,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Participant type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ParticipantType>,
    /// Status.
    pub status: ParticipantStatus,
    /// Verification level, 0 (unverified) to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_level: Option<u8>,
    /// Ed25519 public key, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Registration time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Last change (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub profile: Option<ParticipantProfile>,
    /// Public statistics (`GET /participants/{pid}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_stats: Option<ParticipantPublicStats>,
}

/// Public statistics of a participant (`ParticipantPublicStats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantPublicStats {
    /// Sum of the limits of the lines opened to it.
    pub total_incoming_trust: WireAmount,
    /// Registration time (RFC 3339).
    pub member_since: String,
}

/// `GET /api/v1/participants` and `/participants/search` response (`ParticipantsList`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantsList {
    /// The participants found.
    pub items: Vec<Participant>,
}

/// The caller's statistics (`ParticipantStats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantStats {
    /// Sum of the limits of the lines opened to it.
    pub total_incoming_trust: WireAmount,
    /// Sum of the limits of the lines it opened.
    pub total_outgoing_trust: WireAmount,
    /// What it owes.
    pub total_debt: WireAmount,
    /// What it is owed.
    pub total_credit: WireAmount,
    /// `total_credit - total_debt`.
    pub net_balance: SignedWireAmount,
}

/// `GET /api/v1/participants/me` response (`ParticipantWithStats`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantWithStats {
    /// The participant.
    #[serde(flatten)]
    pub participant: Participant,
    /// Its statistics.
    pub stats: ParticipantStats,
}
