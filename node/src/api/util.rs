//! Small helpers of the API: timestamps, random tokens, amounts and parameter parsing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use geo_protocol::{Amount, EquivalentCode, Pid, Precision};

use super::error::ApiError;

/// A random token: base64url (no padding) of 32 bytes from the operating system's generator
/// (two version-4 UUIDs: 244 random bits).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 UTC text of Unix milliseconds (`2024-05-01T12:00:00.123Z`).
pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]`), a bare date, or Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, time) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mut dp = date.split('-');
    let (y, mo, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if let Some(time) = time {
        let (clock, offset_ms) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else if let Some(i) = time.rfind(['+', '-']) {
            let (c, off) = time.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let mut op = off[1..].split(':');
            let (oh, om) = (num(op.next()?)?, num(op.next().unwrap_or("0"))?);
            (c, sign * (oh * 3_600_000 + om * 60_000))
        } else {
            (time, 0)
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (clock, None),
        };
        let mut tp = hms.split(':');
        let (h, mi, s) = (num(tp.next()?)?, num(tp.next()?)?, num(tp.next().unwrap_or("0"))?);
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let frac_ms = match frac {
            Some(f) => {
                let digits: String = f.chars().take(3).collect();
                let v = num(&digits)?;
                v * 10_i64.pow(3 - u32::try_from(digits.len()).unwrap_or(3))
            }
            None => 0,
        };
        ms += h * 3_600_000 + mi * 60_000 + s * 1000 + frac_ms - offset_ms;
    }
    Some(ms)
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
        assert_eq!(random_token().len(), 43);
    }
}
