//! Parsers of the public data sets used by tests and benchmarks (pure: they take the file's text).

pub mod ripple;
pub mod sarafu;
