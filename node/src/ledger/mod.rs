//! The sans-IO domain of one hub: credit graph, routing, clearing and integrity checks.
//!
//! Pure functions and plain data: nothing here awaits, reads a clock or touches a database.

pub mod clearing;
pub mod datasets;
pub mod graph;
pub mod routing;
