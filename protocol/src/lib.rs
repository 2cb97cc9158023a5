//! GEO v0.1 protocol types, shared by every crate of the workspace.
//!
//! Pure data and pure functions: identifiers ([`Pid`]), exact money ([`Amount`]), equivalent codes
//! ([`EquivalentCode`]), canonical JSON ([`canonical`]), Ed25519 signing ([`signing`]) and the
//! request and response bodies of the client API ([`wire`]), shared by the hub and its clients.
//! Nothing here performs I/O or keeps global state.

pub mod amount;
pub mod canonical;
pub mod equivalent;
pub mod pid;
pub mod signing;
pub mod wire;

pub use amount::{Amount, AmountError};
pub use equivalent::{EquivalentCode, EquivalentError, Precision};
pub use pid::{Pid, PidError};
pub use signing::{Keypair, PublicKey, SignatureError};
