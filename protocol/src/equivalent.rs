//! Equivalents: the units of account (`UAH`, `HOUR`, ...) and their precision.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Errors of equivalent codes and precisions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivalentError {
    /// The code is not 1-16 characters of `A-Z0-9_`.
    #[error("equivalent code must be 1-16 characters of A-Z, 0-9 and _: {0:?}")]
    BadCode(String),
    /// The precision is outside 0-8.
    #[error("equivalent precision must be 0-8, got {0}")]
    BadPrecision(i64),
}

/// A validated equivalent code: 1-16 characters of `A-Z0-9_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EquivalentCode(String);

impl EquivalentCode {
    /// Validates a code.
    pub fn new(code: &str) -> Result<Self, EquivalentError> {
        let ok = (1..=16).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(EquivalentError::BadCode(code.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EquivalentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EquivalentCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EquivalentCode::new(&text).map_err(serde::de::Error::custom)
    }
}

/// OpenAPI: the contract's `EquivalentCode` schema.
impl utoipa::PartialSchema for EquivalentCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::wire::string_schema(
            "Equivalent code (1-16 chars; A-Z, 0-9, underscore)",
            "^[A-Z0-9_]{1,16}$",
        )
    }
}

impl utoipa::ToSchema for EquivalentCode {}

/// Number of decimal places of an equivalent, 0 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Precision(u8);

impl Precision {
    /// Whole units only.
    pub const ZERO: Precision = Precision(0);
    /// The finest precision supported (8 decimals).
    pub const MAX: Precision = Precision(8);

    /// Validates a precision.
    pub fn new(value: u8) -> Result<Self, EquivalentError> {
        if value <= 8 {
            Ok(Self(value))
        } else {
            Err(EquivalentError::BadPrecision(i64::from(value)))
        }
    }

    /// Validates a precision from any integer.
    pub fn from_i64(value: i64) -> Result<Self, EquivalentError> {
        u8::try_from(value)
            .ok()
            .and_then(|v| Self::new(v).ok())
            .ok_or(EquivalentError::BadPrecision(value))
    }

    /// The number of decimals.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Precision {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        Precision::from_i64(value).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        for ok in ["UAH", "HOUR", "A", "X_1", "ABCDEFGHIJKLMNOP"] {
            assert!(EquivalentCode::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "uah", "ABCDEFGHIJKLMNOPQ", "U-A", "U A", "É"] {
            assert!(EquivalentCode::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precisions() {
        assert!(Precision::new(8).is_ok());
        assert!(Precision::new(9).is_err());
        assert!(Precision::from_i64(-1).is_err());
    }
}
