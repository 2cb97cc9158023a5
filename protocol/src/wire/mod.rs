//! The bodies of the client API `/api/v1` (GEO v0.1 `openapi.yaml`) and of its WebSocket events,
//! one request and one response type per operation, shared by the hub and every client.
//!
//! Field names and required/optional follow the contract's schemas. Identifiers and amounts are
//! typed and validated while deserialising: [`Pid`](crate::Pid), [`EquivalentCode`](crate::EquivalentCode),
//! [`WireAmount`] / [`SignedWireAmount`] (decimal strings that keep their exact text; the precision
//! of an equivalent is known only to the hub, which checks it with [`WireAmount::for_precision`]).
//!
//! Each request type implements [`Endpoint`]: its method, its path under `/api/v1` and the type of
//! its success answer. Signed bodies implement [`SignedBody`], so client and hub sign and verify the
//! same canonical bytes. Every type derives `utoipa::ToSchema` for the hub's OpenAPI document.

mod amount;
pub mod auth;
pub mod balance;
pub mod clearing;
pub mod equivalents;
pub mod error;
pub mod events;
pub mod integrity;
pub mod participants;
pub mod payments;
pub mod trustlines;

pub use amount::{SignedWireAmount, WireAmount, WireAmountError};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::canonical::to_canonical_bytes;
use crate::signing::{Keypair, PublicKey, SignatureError};

/// The prefix of every client API path.
pub const API_PREFIX: &str = "/api/v1";

/// An HTTP method of the client API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method's name (`"GET"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One operation of the client API: the request type (body, query or a marker for operations that
/// take neither) names its method, path and success answer.
pub trait Endpoint {
    /// The HTTP method.
    const METHOD: Method;
    /// The path under [`API_PREFIX`] as the contract writes it (`/trustlines/{id}`).
    const PATH: &'static str;
    /// The body of the success answer.
    type Response;

    /// The full path of an operation without path parameters (`/api/v1/payments`).
    fn full_path() -> String {
        format!("{API_PREFIX}{}", Self::PATH)
    }
}

/// A request body carrying `signature`: base64 Ed25519 over the canonical JSON (GEO v0.1 Appendix A)
/// of the body without `signature` (registration, profile update, trust-line creation, payment).
///
/// The signed bytes are computed from the typed body, so a client that sends the serialised type
/// and a hub that verifies it (or the raw body it parsed the type from) agree byte for byte.
pub trait SignedBody: Serialize {
    /// The `signature` field.
    fn signature(&self) -> &str;
    /// Replaces the `signature` field.
    fn set_signature(&mut self, signature: String);

    /// The signed payload as JSON: the body without `signature`.
    fn signing_value(&self) -> Result<Value, SignatureError> {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => {
                map.remove("signature");
                Ok(Value::Object(map))
            }
            _ => Err(SignatureError::NotAnObject),
        }
    }

    /// The canonical bytes that are signed.
    fn signing_payload(&self) -> Result<Vec<u8>, SignatureError> {
        Ok(to_canonical_bytes(&self.signing_value()?)?)
    }

    /// Signs the body with `key` (sets `signature`).
    fn sign(&mut self, key: &Keypair) -> Result<(), SignatureError> {
        let signature = key.sign_bytes(&self.signing_payload()?);
        self.set_signature(signature);
        Ok(())
    }

    /// Verifies `signature` with `key`.
    fn verify(&self, key: &PublicKey) -> Result<(), SignatureError> {
        key.verify_bytes(&self.signing_payload()?, self.signature())
    }
}

/// The signed payload of a change to the trust line `id` (`PATCH`/`DELETE /trustlines/{id}`): the
/// body without `signature`, plus `"id"` from the path.
pub(crate) fn payload_with_id<T: Serialize>(body: &T, id: &str) -> Result<Vec<u8>, SignatureError> {
    let mut map = match serde_json::to_value(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(SignatureError::NotAnObject),
    };
    map.remove("signature");
    map.insert("id".into(), Value::String(id.to_owned()));
    Ok(to_canonical_bytes(&Value::Object(map))?)
}

/// A free-form JSON object (`additionalProperties: true` in the contract).
pub type JsonObject = Map<String, Value>;

/// The schema of a string with a pattern (the newtypes that validate while deserialising).
pub(crate) fn string_schema(
    description: &str,
    pattern: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(description))
        .pattern(Some(pattern))
        .into()
}

/// Declares a marker request of an operation that has neither body nor query parameters.
macro_rules! marker_endpoint {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal, $response:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
        pub struct $name;

        impl $crate::wire::Endpoint for $name {
            const METHOD: $crate::wire::Method = $crate::wire::Method::$method;
            const PATH: &'static str = $path;
            type Response = $response;
        }
    };
}
pub(crate) use marker_endpoint;

/// Implements [`Endpoint`] for a request type.
macro_rules! endpoint {
    ($name:ty, $method:ident, $path:literal, $response:ty) => {
        impl $crate::wire::Endpoint for $name {
            const METHOD: $crate::wire::Method = $crate::wire::Method::$method;
            const PATH: &'static str = $path;
            type Response = $response;
        }
    };
}
pub(crate) use endpoint;

/// Implements [`SignedBody`] for a request type with a `signature: String` field.
macro_rules! signed_body {
    ($name:ty) => {
        impl $crate::wire::SignedBody for $name {
            fn signature(&self) -> &str {
                &self.signature
            }
            fn set_signature(&mut self, signature: String) {
                self.signature = signature;
            }
        }
    };
}
pub(crate) use signed_body;
