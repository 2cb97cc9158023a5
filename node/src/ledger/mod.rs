//! The sans-IO domain of one hub: credit graph, routing, clearing and integrity checks.
//!
//! Pure functions and plain data: nothing here awaits, reads a clock or touches a database.
//! [`Ledger`] is the whole state of a hub; the engine owns one and is its only writer.

pub mod clearing;
pub mod datasets;
pub mod error;
pub mod graph;
pub mod ids;
pub mod integrity;
pub mod lines;
pub mod model;
pub mod participants;
pub mod payload;
pub mod payments;
pub mod policy;
pub mod routing;
pub mod snapshot;
pub mod state;

/// The old path of [`clearing::apply`], kept for callers.
pub use clearing::apply as clearing_runs;
pub use error::LedgerError;
pub use ids::IdSeed;
pub use state::{Ledger, LedgerConfig, RestoreError};
