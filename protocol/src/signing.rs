//! Ed25519 keys and signatures over canonical JSON.
//!
//! Verification is strict (`verify_strict`: no small-order keys, canonical `S`), and a signature
//! always covers the canonical JSON of a body *without* its `signature` field.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::Value;

use crate::canonical::{to_canonical_bytes, CanonicalError};
use crate::pid::Pid;

/// Errors of keys and signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not base64 of 32 bytes of a valid Ed25519 point.
    #[error("invalid public key")]
    BadPublicKey,
    /// The signature is not base64 of 64 bytes.
    #[error("malformed signature")]
    Malformed,
    /// The signature does not verify.
    #[error("signature verification failed")]
    Invalid,
    /// The body cannot be put in canonical form.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The body to sign is not a JSON object.
    #[error("signed body must be a JSON object")]
    NotAnObject,
}

/// A verified Ed25519 public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses a base64 public key (standard alphabet, padded).
    pub fn from_base64(text: &str) -> Result<Self, SignatureError> {
        let bytes = B64.decode(text).map_err(|_| SignatureError::BadPublicKey)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| SignatureError::BadPublicKey)?;
        Self::from_bytes(&arr)
    }

    /// From raw bytes; refuses points that are not valid or are of small order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, SignatureError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| SignatureError::BadPublicKey)?;
        if key.is_weak() {
            return Err(SignatureError::BadPublicKey);
        }
        Ok(Self(key))
    }

    /// Raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Base64 text.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.to_bytes())
    }

    /// The PID of this key.
    pub fn pid(&self) -> Pid {
        Pid::from_public_key(&self.0.to_bytes())
    }

    /// Verifies a base64 signature over raw bytes, strictly.
    pub fn verify_bytes(&self, message: &[u8], signature_b64: &str) -> Result<(), SignatureError> {
        let raw = B64.decode(signature_b64).map_err(|_| SignatureError::Malformed)?;
        let arr: [u8; 64] = raw.try_into().map_err(|_| SignatureError::Malformed)?;
        let sig = ed25519_dalek::Signature::from_bytes(&arr);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Verifies a signature over the canonical JSON of `body` with its `signature` field removed.
    pub fn verify_json(&self, body: &Value, signature_b64: &str) -> Result<(), SignatureError> {
        let message = signing_bytes(body)?;
        self.verify_bytes(&message, signature_b64)
    }
}

/// The bytes a body's signature covers: canonical JSON of the object without `signature`.
pub fn signing_bytes(body: &Value) -> Result<Vec<u8>, SignatureError> {
    let Value::Object(map) = body else {
        return Err(SignatureError::NotAnObject);
    };
    let mut map = map.clone();
    map.remove("signature");
    Ok(to_canonical_bytes(&Value::Object(map))?)
}

/// An Ed25519 key pair (the secret half never leaves the client).
pub struct Keypair(SigningKey);

impl Keypair {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Keypair {
        Keypair(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// From a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(seed))
    }

    /// The secret seed (to store in a key file).
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// This key's PID.
    pub fn pid(&self) -> Pid {
        self.public().pid()
    }

    /// Signs raw bytes; base64 signature.
    pub fn sign_bytes(&self, message: &[u8]) -> String {
        B64.encode(self.0.sign(message).to_bytes())
    }

    /// Signs the canonical JSON of `body` (without `signature`); base64 signature.
    pub fn sign_json(&self, body: &Value) -> Result<String, SignatureError> {
        Ok(self.sign_bytes(&signing_bytes(body)?))
    }

    /// Returns `body` with a `signature` field added.
    pub fn signed(&self, mut body: Value) -> Result<Value, SignatureError> {
        let sig = self.sign_json(&body)?;
        match &mut body {
            Value::Object(map) => {
                map.insert("signature".into(), Value::String(sig));
                Ok(body)
            }
            _ => Err(SignatureError::NotAnObject),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_and_verify_json() {
        let kp = Keypair::from_seed(&[1u8; 32]);
        let body = kp.signed(json!({"to": "x", "amount": "1.5"})).unwrap();
        let sig = body["signature"].as_str().unwrap().to_owned();
        kp.public().verify_json(&body, &sig).unwrap();
        let mut tampered = body.clone();
        tampered["amount"] = json!("1.6");
        assert_eq!(
            kp.public().verify_json(&tampered, &sig),
            Err(SignatureError::Invalid)
        );
        let other = Keypair::from_seed(&[2u8; 32]);
        assert_eq!(
            other.public().verify_json(&body, &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            kp.public().verify_json(&body, "!!"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn weak_keys_refused() {
        // The identity point (small order) must never be accepted as a key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::from_bytes(&identity),
            Err(SignatureError::BadPublicKey)
        );
    }
}
