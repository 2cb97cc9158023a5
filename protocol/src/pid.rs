//! Participant identifiers: `PID = base58(sha256(public_key))`.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Errors of PID parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PidError {
    /// Not base58 of exactly 32 bytes.
    #[error("not a participant id (base58 of 32 bytes): {0:?}")]
    Malformed(String),
}

/// A participant identifier: base58 (Bitcoin alphabet) of the SHA-256 of the Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Pid(String);

impl Pid {
    /// Derives the PID of a 32-byte public key.
    pub fn from_public_key(public_key: &[u8; 32]) -> Pid {
        let digest = Sha256::digest(public_key);
        Pid(bs58::encode(digest).into_string())
    }

    /// Parses a PID: base58 text decoding to exactly 32 bytes, in its canonical encoding.
    pub fn parse(text: &str) -> Result<Pid, PidError> {
        let bad = || PidError::Malformed(text.chars().take(64).collect());
        if text.len() > 64 {
            return Err(bad());
        }
        // Base58 maps each leading '1' to a leading zero byte and the rest to a number without
        // leading zero digits, so a text that decodes to exactly 32 bytes is the one canonical
        // encoding of those bytes: no re-encoding is needed to check it.
        let mut bytes = [0u8; 32];
        match bs58::decode(text).onto(&mut bytes[..]) {
            Ok(32) => {}
            _ => return Err(bad()),
        }
        Ok(Pid(text.to_owned()))
    }

    /// The PID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Pid::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// OpenAPI: a string of base58 text (the Bitcoin alphabet, 32 to 44 characters).
impl utoipa::PartialSchema for Pid {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::wire::string_schema(
            "Participant id: base58 (Bitcoin alphabet) of the SHA-256 of the Ed25519 public key",
            "^[1-9A-HJ-NP-Za-km-z]{32,44}$",
        )
    }
}

impl utoipa::ToSchema for Pid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_and_parses() {
        let pid = Pid::from_public_key(&[7u8; 32]);
        assert_eq!(Pid::parse(pid.as_str()).unwrap(), pid);
        assert!(Pid::parse("").is_err());
        assert!(Pid::parse("0OIl").is_err());
        assert!(Pid::parse("abc").is_err());
        // One more leading '1' is one more zero byte: 33 bytes, refused.
        assert!(Pid::parse(&format!("1{}", pid.as_str())).is_err());
        let zero = Pid::from_public_key(&[0u8; 32]);
        assert_eq!(Pid::parse(zero.as_str()).unwrap(), zero);
    }
}
