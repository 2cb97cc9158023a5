//! The client side of the `geo` binary: key files, sessions, the HTTP client, the client verbs
//! and the `bench` load generator. Secret keys stay here: the hub only sees public keys and
//! signatures.

pub mod bench;
pub mod commands;
pub mod http;
pub mod keys;
pub mod session;
