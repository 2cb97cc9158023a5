//! Exact money: a fixed-point decimal with [`Amount::SCALE`] (8) fractional digits stored in an `i128`.
//!
//! Every equivalent has a precision of 0 to 8 decimals, so one internal scale serves them all and
//! amounts of different equivalents never need rescaling. Parsing is strict: plain decimal strings
//! only (no sign unless negatives are asked for, no exponent, no spaces), never more decimals than the
//! equivalent's precision, never above [`Amount::MAX`]. Arithmetic is checked: an overflow is an
//! error, never a wrap.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::equivalent::Precision;

/// Errors of amount parsing and arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The text is not a plain decimal number (`123`, `0.5`, `10.25`).
    #[error("not a decimal amount: {0:?}")]
    Malformed(String),
    /// More fractional digits than the equivalent allows.
    #[error("amount {value} has more than {precision} decimal places")]
    TooPrecise { value: String, precision: u8 },
    /// Zero where a positive amount is required.
    #[error("amount must be greater than zero")]
    Zero,
    /// A negative amount where only non-negative ones are allowed.
    #[error("amount must not be negative")]
    Negative,
    /// Above the largest supported amount.
    #[error("amount exceeds the supported maximum of {}", Amount::MAX)]
    TooLarge,
    /// Arithmetic left the supported range.
    #[error("amount arithmetic overflow")]
    Overflow,
}

/// An exact signed decimal amount with 8 fractional digits ("atoms" of 10^-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i128);

const ONE_UNIT: i128 = 100_000_000;

impl Amount {
    /// Number of fractional digits of the internal representation.
    pub const SCALE: u8 = 8;
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The largest supported amount: 10^18 units minus one atom (999999999999999999.99999999).
    pub const MAX: Amount = Amount(1_000_000_000_000_000_000 * ONE_UNIT - 1);

    /// From a count of atoms (10^-8 units). Fails beyond ±[`Amount::MAX`].
    pub fn from_atoms(atoms: i128) -> Result<Amount, AmountError> {
        if !(-Self::MAX.0..=Self::MAX.0).contains(&atoms) {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(atoms))
    }

    /// From whole units. Fails beyond ±[`Amount::MAX`].
    pub fn from_units(units: i64) -> Result<Amount, AmountError> {
        // |i64::MAX| * 10^8 is about 9.2e26, far inside i128: the product cannot overflow.
        Amount::from_atoms(i128::from(units) * ONE_UNIT)
    }

    /// The count of atoms (10^-8 units).
    pub const fn atoms(self) -> i128 {
        self.0
    }

    /// True for zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// True above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// True below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Checked addition that stays within ±[`Amount::MAX`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        let sum = self.0.checked_add(other.0).ok_or(AmountError::Overflow)?;
        Amount::from_atoms(sum).map_err(|_| AmountError::Overflow)
    }

    /// Checked subtraction that stays within ±[`Amount::MAX`].
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        let diff = self.0.checked_sub(other.0).ok_or(AmountError::Overflow)?;
        Amount::from_atoms(diff).map_err(|_| AmountError::Overflow)
    }

    /// Negation (always in range: the range is symmetric).
    pub const fn neg(self) -> Amount {
        Amount(-self.0)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Amount) -> Amount {
        if self <= other {
            self
        } else {
            other
        }
    }

    /// Number of significant fractional digits (0 for whole numbers, at most 8).
    pub fn decimals(self) -> u8 {
        let mut frac = (self.0 % ONE_UNIT).abs();
        if frac == 0 {
            return 0;
        }
        let mut digits = Self::SCALE;
        while frac % 10 == 0 {
            frac /= 10;
            digits -= 1;
        }
        digits
    }

    /// True when the amount has no more decimals than `precision` allows.
    pub fn fits(self, precision: Precision) -> bool {
        self.decimals() <= precision.get()
    }

    /// Parses a positive amount for an equivalent of the given precision (the wire rule for
    /// payments and trust-line limits: zero, negatives, exponents and excess decimals are refused).
    pub fn parse_positive(text: &str, precision: Precision) -> Result<Amount, AmountError> {
        let amount = Self::parse_non_negative(text, precision)?;
        if amount.is_zero() {
            return Err(AmountError::Zero);
        }
        Ok(amount)
    }

    /// Parses a non-negative amount (zero allowed) for an equivalent of the given precision.
    pub fn parse_non_negative(text: &str, precision: Precision) -> Result<Amount, AmountError> {
        if text.starts_with('-') {
            // Distinguish "-0" (malformed sign use) from real negatives for a clearer message.
            let parsed = Self::parse_signed(text, Precision::MAX)?;
            return Err(if parsed.is_zero() {
                AmountError::Malformed(text.to_owned())
            } else {
                AmountError::Negative
            });
        }
        let amount = Self::parse_signed(text, Precision::MAX)?;
        if !amount.fits(precision) {
            return Err(AmountError::TooPrecise {
                value: text.to_owned(),
                precision: precision.get(),
            });
        }
        Ok(amount)
    }

    /// Parses a decimal string with an optional leading `-` and at most `precision` decimals
    /// beyond which only zeros may follow up to 8 (so `"1.50000000"` is accepted at precision 2;
    /// this is for reading back stored values; wire input uses [`Amount::parse_positive`]).
    pub fn parse_stored(text: &str) -> Result<Amount, AmountError> {
        Self::parse_signed(text, Precision::MAX)
    }

    fn parse_signed(text: &str, precision: Precision) -> Result<Amount, AmountError> {
        let malformed = || AmountError::Malformed(text.to_owned());
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        // No leading zeros except a single "0" before the point.
        if int_part.len() > 1 && int_part.starts_with('0') {
            return Err(malformed());
        }
        let frac = frac_part.unwrap_or("");
        if frac_part.is_some() && frac.is_empty() {
            return Err(malformed());
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed());
        }
        let significant = frac.trim_end_matches('0');
        if significant.len() > usize::from(precision.get()) {
            return Err(AmountError::TooPrecise {
                value: text.to_owned(),
                precision: precision.get(),
            });
        }
        if frac.len() > 64 {
            return Err(malformed());
        }
        // 19 integer digits already exceed MAX (10^18 - 1); refuse before any arithmetic.
        if int_part.len() > 18 {
            return Err(AmountError::TooLarge);
        }
        let mut atoms: i128 = 0;
        for b in int_part.bytes() {
            atoms = atoms * 10 + i128::from(b - b'0');
        }
        atoms *= ONE_UNIT;
        let mut scale = ONE_UNIT / 10;
        for b in significant.bytes() {
            atoms += i128::from(b - b'0') * scale;
            scale /= 10;
        }
        if atoms > Self::MAX.0 {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(if negative { -atoms } else { atoms }))
    }

    /// Formats with exactly `precision` decimals (`"10.50"` for 10.5 at precision 2).
    ///
    /// Digits beyond `precision` are never dropped silently: an amount that does not fit the
    /// precision is printed with all its significant decimals.
    pub fn to_string_with(self, precision: Precision) -> String {
        let digits = precision.get().max(self.decimals());
        let abs = self.0.unsigned_abs();
        let int = abs / ONE_UNIT.unsigned_abs();
        let frac = abs % ONE_UNIT.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        if digits == 0 {
            return format!("{sign}{int}");
        }
        let frac_str = format!("{frac:08}");
        format!("{sign}{int}.{}", &frac_str[..usize::from(digits)])
    }
}

/// Canonical text: the shortest exact decimal (`"10.5"`, `"3"`, `"-0.00000001"`).
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_with(Precision::ZERO))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Amount::parse_stored(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(n: u8) -> Precision {
        Precision::new(n).unwrap()
    }

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(Amount::parse_positive("10", p(2)).unwrap().atoms(), 1_000_000_000);
        assert_eq!(Amount::parse_positive("0.5", p(2)).unwrap().atoms(), 50_000_000);
        assert_eq!(Amount::parse_positive("1.50", p(2)).unwrap().to_string(), "1.5");
        assert_eq!(Amount::parse_positive("0.00000001", p(8)).unwrap().atoms(), 1);
    }

    #[test]
    fn refuses_bad_amounts() {
        let two = p(2);
        assert_eq!(Amount::parse_positive("0", two), Err(AmountError::Zero));
        assert_eq!(Amount::parse_positive("0.00", two), Err(AmountError::Zero));
        assert_eq!(Amount::parse_positive("-1", two), Err(AmountError::Negative));
        assert!(matches!(
            Amount::parse_positive("1.001", two),
            Err(AmountError::TooPrecise { .. })
        ));
        for bad in [
            "", "1e3", "1E3", " 1", "1 ", "+1", ".5", "5.", "01", "1,5", "NaN", "inf", "0x10", "--1", "-0",
            "1..2",
        ] {
            assert!(
                matches!(Amount::parse_positive(bad, two), Err(AmountError::Malformed(_))),
                "{bad:?} must be malformed"
            );
        }
        assert_eq!(
            Amount::parse_positive("1000000000000000000", p(0)),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            Amount::parse_positive("99999999999999999999999", p(0)),
            Err(AmountError::TooLarge)
        );
        assert!(Amount::parse_positive("999999999999999999.99999999", p(8)).is_ok());
    }

    #[test]
    fn formats_with_precision() {
        let a = Amount::parse_positive("10.5", p(2)).unwrap();
        assert_eq!(a.to_string_with(p(2)), "10.50");
        assert_eq!(a.to_string_with(p(0)), "10.5");
        assert_eq!(Amount::ZERO.to_string_with(p(3)), "0.000");
        assert_eq!(Amount::from_atoms(-1).unwrap().to_string(), "-0.00000001");
    }

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        assert_eq!(
            Amount::MAX.checked_add(Amount::from_atoms(1).unwrap()),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount::MAX.neg().checked_sub(Amount::from_atoms(1).unwrap()),
            Err(AmountError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(atoms in -Amount::MAX.atoms()..=Amount::MAX.atoms()) {
            let a = Amount::from_atoms(atoms).unwrap();
            prop_assert_eq!(Amount::parse_stored(&a.to_string()).unwrap(), a);
            prop_assert_eq!(Amount::parse_stored(&a.to_string_with(p(8))).unwrap(), a);
        }

        #[test]
        fn precision_rule_matches_decimals(units in 0u64..1_000_000, frac in 0u32..100_000_000, prec in 0u8..=8) {
            let text = format!("{units}.{frac:08}");
            let parsed = Amount::parse_non_negative(&text, p(prec));
            let exact = Amount::parse_stored(&text).unwrap();
            prop_assert_eq!(parsed.is_ok(), exact.decimals() <= prec);
        }
    }
}
