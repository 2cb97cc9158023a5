//! One GEO community hub: the sans-IO ledger, the single-writer engine, storage backends and
//! the HTTP API.

pub mod api;
pub mod engine;
pub mod ledger;
pub mod service;
pub mod store;
