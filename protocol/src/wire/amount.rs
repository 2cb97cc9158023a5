//! Amounts on the wire: decimal strings validated while deserialising, kept as sent.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::amount::{Amount, AmountError};
use crate::equivalent::Precision;

/// An amount refused on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid amount {text:?}: {reason}")]
pub struct WireAmountError {
    /// The text received (at most 64 characters of it).
    pub text: String,
    /// Why it was refused.
    pub reason: AmountError,
}

fn refuse(text: &str, reason: AmountError) -> WireAmountError {
    WireAmountError {
        text: text.chars().take(64).collect(),
        reason,
    }
}

/// A non-negative amount as a decimal string (`"10.50"`): digits with an optional fraction, no
/// sign, no exponent, no spaces, no leading zeros, at most 18 integer digits and 8 significant
/// decimals. A JSON number is refused. The exact text is kept (`"10.50"` stays `"10.50"`), because
/// it is part of signed bodies; [`WireAmount::amount`] is its exact value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireAmount {
    text: String,
    value: Amount,
}

impl WireAmount {
    /// Validates a decimal string.
    pub fn parse(text: &str) -> Result<WireAmount, WireAmountError> {
        let value = Amount::parse_non_negative(text, Precision::MAX).map_err(|e| refuse(text, e))?;
        Ok(WireAmount {
            text: text.to_owned(),
            value,
        })
    }

    /// An amount rendered at `precision` decimals (what a hub answers).
    pub fn from_amount(value: Amount, precision: Precision) -> Result<WireAmount, WireAmountError> {
        let text = value.to_string_with(precision);
        if value.is_negative() {
            return Err(refuse(&text, AmountError::Negative));
        }
        Ok(WireAmount { text, value })
    }

    /// The text as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact value.
    pub fn amount(&self) -> Amount {
        self.value
    }

    /// The value for an equivalent of `precision` decimals, which must be positive (the rule for
    /// payment amounts and trust-line limits): zero and excess decimals are refused.
    pub fn for_precision(&self, precision: Precision) -> Result<Amount, AmountError> {
        Amount::parse_positive(&self.text, precision)
    }
}

/// An amount that may be negative (`"-10.50"`, net balances): as [`WireAmount`] plus an optional
/// leading `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedWireAmount {
    text: String,
    value: Amount,
}

impl SignedWireAmount {
    /// Validates a decimal string with an optional leading `-`.
    pub fn parse(text: &str) -> Result<SignedWireAmount, WireAmountError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.starts_with('-') {
            return Err(refuse(text, AmountError::Malformed(text.to_owned())));
        }
        let abs = Amount::parse_non_negative(digits, Precision::MAX).map_err(|e| refuse(text, e))?;
        if digits.len() != text.len() && abs.is_zero() {
            return Err(refuse(text, AmountError::Malformed(text.to_owned())));
        }
        let value = if digits.len() == text.len() {
            abs
        } else {
            abs.neg()
        };
        Ok(SignedWireAmount {
            text: text.to_owned(),
            value,
        })
    }

    /// An amount rendered at `precision` decimals.
    pub fn from_amount(value: Amount, precision: Precision) -> SignedWireAmount {
        SignedWireAmount {
            text: value.to_string_with(precision),
            value,
        }
    }

    /// The text as received.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The exact value.
    pub fn amount(&self) -> Amount {
        self.value
    }
}

macro_rules! text_newtype {
    ($name:ident, $expecting:literal, $description:literal, $pattern:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.text)
            }
        }

        impl std::str::FromStr for $name {
            type Err = WireAmountError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.text)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v).map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(V)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                super::string_schema($description, $pattern)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

text_newtype!(
    WireAmount,
    "a non-negative decimal string such as \"10.50\"",
    "Non-negative amount as a decimal string (no sign, no exponent)",
    "^(0|[1-9][0-9]{0,17})(\\.[0-9]+)?$"
);
text_newtype!(
    SignedWireAmount,
    "a decimal string such as \"-10.50\"",
    "Amount as a decimal string, negative with a leading '-'",
    "^-?(0|[1-9][0-9]{0,17})(\\.[0-9]+)?$"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_value() {
        let a = WireAmount::parse("10.50").unwrap();
        assert_eq!(a.as_str(), "10.50");
        assert_eq!(a.amount().atoms(), 1_050_000_000);
        assert!(WireAmount::parse("0").is_ok());
        for bad in [
            "-1",
            "1e5",
            "0.1.2",
            "",
            "+1",
            "01",
            "1.",
            ".5",
            "1.000000001",
            "1000000000000000000",
        ] {
            assert!(WireAmount::parse(bad).is_err(), "{bad}");
        }
        let s = SignedWireAmount::parse("-10.50").unwrap();
        assert_eq!(s.amount().atoms(), -1_050_000_000);
        assert_eq!(s.as_str(), "-10.50");
        for bad in ["-0", "--1", "-", "1e5", "-1e5"] {
            assert!(SignedWireAmount::parse(bad).is_err(), "{bad}");
        }
    }
}
