//! One GEO community hub: the sans-IO ledger, the single-writer engine, storage backends and
//! the HTTP API.

pub mod ledger;
pub mod store;
pub mod engine;
