//! GEO v0.1 protocol types, shared by every crate of the workspace.
//!
//! Pure data and pure functions: identifiers ([`Pid`]), exact money ([`Amount`]), equivalent codes
//! ([`EquivalentCode`]), canonical JSON ([`canonical`]) and Ed25519 signing ([`signing`]).
//! Nothing here performs I/O or keeps global state.

pub mod amount;
pub mod canonical;
pub mod equivalent;
pub mod pid;
pub mod signing;

pub use amount::{Amount, AmountError};
pub use equivalent::{EquivalentCode, EquivalentError, Precision};
pub use pid::{Pid, PidError};
pub use signing::{Keypair, PublicKey, SignatureError};
