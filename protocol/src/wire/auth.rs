//! `/auth/*`: challenge-response login and token refresh.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::endpoint;
use super::participants::ParticipantPublic;
use crate::pid::Pid;
use crate::signing::{Keypair, PublicKey, SignatureError};

/// `POST /api/v1/auth/challenge` request (`ChallengeRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeRequest {
    /// The participant that wants to log in.
    pub pid: Pid,
}
endpoint!(ChallengeRequest, Post, "/auth/challenge", ChallengeResponse);

/// `POST /api/v1/auth/challenge` response (`ChallengeResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeResponse {
    /// The challenge to sign (its UTF-8 bytes).
    pub challenge: String,
    /// When the challenge expires (RFC 3339).
    pub expires_at: String,
}

/// `POST /api/v1/auth/login` request (`LoginRequest`). The signature is over the UTF-8 bytes of
/// the challenge string, not over JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The participant logging in.
    pub pid: Pid,
    /// The challenge received from `POST /auth/challenge`.
    pub challenge: String,
    /// base64 Ed25519 signature of the challenge's UTF-8 bytes.
    pub signature: String,
    /// The client's device, for the hub's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_info: Option<DeviceInfo>,
}
endpoint!(LoginRequest, Post, "/auth/login", TokenPair);

impl LoginRequest {
    /// A login answering `challenge`, signed with `key` (the PID is the key's).
    pub fn signed(key: &Keypair, challenge: String) -> LoginRequest {
        let signature = key.sign_bytes(challenge.as_bytes());
        LoginRequest {
            pid: key.pid(),
            challenge,
            signature,
            device_info: None,
        }
    }

    /// The signed bytes: the challenge's UTF-8 bytes.
    pub fn signing_payload(&self) -> &[u8] {
        self.challenge.as_bytes()
    }

    /// Verifies the signature with the participant's registered key.
    pub fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        key.verify_bytes(self.signing_payload(), &self.signature)
    }
}

/// The client's device (`DeviceInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceInfo {
    /// Platform name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Client application version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
}

/// `POST /api/v1/auth/refresh` request (`RefreshRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the current pair (revoked by the exchange).
    pub refresh_token: String,
}
endpoint!(RefreshRequest, Post, "/auth/refresh", TokenPair);

/// `POST /api/v1/auth/login` and `POST /api/v1/auth/refresh` response (`TokenPair`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// Bearer token of API calls.
    pub access_token: String,
    /// Token for `POST /auth/refresh`.
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    #[schema(example = 3600)]
    pub expires_in: u64,
    /// Who logged in.
    pub participant: ParticipantPublic,
    /// Always `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Bearer")]
    pub token_type: Option<String>,
}
