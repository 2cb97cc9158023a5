//! Small helpers of the API: timestamps, random tokens, amounts and parameter parsing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use geo_protocol::{Amount, EquivalentCode, Pid, Precision};
use time::format_description::well_known::Rfc3339;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::error::ApiError;

/// A random token: base64url (no padding) of 32 bytes from the operating system's generator
/// (two version-4 UUIDs: 244 random bits).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The one output format of time stamps: RFC 3339 in UTC with milliseconds.
const TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
/// A bare date (`2024-05-01`), read as midnight UTC.
const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
/// A date-time without an offset (`2024-05-01T12:00:00[.fff]`), read as UTC.
const LOCAL_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");

/// RFC 3339 UTC text of Unix milliseconds (`2024-05-01T12:00:00.123Z`). A time outside years
/// 0000-9999 is shown as the nearest one inside.
pub fn fmt_time(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(if ms < 0 {
        PrimitiveDateTime::MIN.assume_utc()
    } else {
        PrimitiveDateTime::MAX.assume_utc()
    });
    // The format names only components an `OffsetDateTime` has, and years 0-9999 fit its
    // four digits, so formatting cannot fail; an empty string would be the answer if it did.
    t.format(TIME_FORMAT).unwrap_or_default()
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`), a date-time without an offset
/// (UTC), a bare date (midnight UTC), or Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let at = OffsetDateTime::parse(t, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(t, LOCAL_FORMAT).map(PrimitiveDateTime::assume_utc))
        .or_else(|_| Date::parse(t, DATE_FORMAT).map(|d| d.midnight().assume_utc()))
        .ok()?;
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// An amount in atoms as text at a precision.
pub fn fmt_atoms(atoms: i128, precision: Precision) -> String {
    Amount::from_atoms(atoms)
        .unwrap_or(Amount::MAX)
        .to_string_with(precision)
}

/// Parses a PID parameter (400 when malformed).
pub fn parse_pid(text: &str, field: &str) -> Result<Pid, ApiError> {
    Pid::parse(text).map_err(|e| ApiError::validation(format!("{field}: {e}")))
}

/// Parses an equivalent code parameter (400 when malformed).
pub fn parse_code(text: &str, field: &str) -> Result<EquivalentCode, ApiError> {
    EquivalentCode::new(text).map_err(|e| ApiError::validation(format!("{field}: {e}")))
}

/// Checks the shape of a positive amount before the ledger sees it (the ledger checks the
/// equivalent's precision).
pub fn check_amount_shape(text: &str) -> Result<(), ApiError> {
    Amount::parse_positive(text, Precision::MAX)
        .map(|_| ())
        .map_err(|e| ApiError::invalid_amount(e.to_string()))
}

/// Page bounds from `page`/`per_page`/`limit` parameters: (limit, offset).
pub fn paging(page: Option<i64>, per_page: Option<i64>, limit: Option<i64>, default: i64) -> (i64, i64) {
    let per = per_page.or(limit).unwrap_or(default).clamp(1, 200);
    let page = page.unwrap_or(1).max(1);
    (per, (page - 1).saturating_mul(per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        for ms in [0_i64, 1_700_000_000_123, 951_782_400_000, -86_400_000] {
            assert_eq!(parse_time(&fmt_time(ms)), Some(ms), "{}", fmt_time(ms));
        }
        assert_eq!(fmt_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_time("2024-02-29T01:02:03+01:00"),
            parse_time("2024-02-29T00:02:03Z")
        );
        assert_eq!(parse_time("2024-02-29"), parse_time("2024-02-29T00:00:00Z"));
        assert_eq!(parse_time("bogus"), None);
        assert_eq!(parse_time("2024-02-30"), None);
        assert_eq!(fmt_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(fmt_time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(fmt_time(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            parse_time("2024-02-29T00:02:03.5"),
            parse_time("2024-02-29T00:02:03.500Z")
        );
        assert_eq!(
            parse_time("2024-02-29 00:02:03z"),
            parse_time("2024-02-29T00:02:03Z")
        );
        assert_eq!(random_token().len(), 43);
    }
}
