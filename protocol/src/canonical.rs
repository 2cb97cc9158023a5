//! Canonical JSON (GEO v0.1 Appendix A): the exact bytes that are signed.
//!
//! Rules: object keys sorted by their UTF-8 bytes (which is Unicode code point order), no
//! insignificant whitespace, UTF-8 output with only the escapes JSON requires, and no floating
//! point numbers at all: amounts travel as decimal strings, and the only numbers allowed are
//! integers. The encoder refuses floats instead of guessing a representation.

use serde_json::Value;

/// Errors of canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// A number that is not an integer appeared in a signed document.
    #[error("floating point numbers are not allowed in signed JSON (use decimal strings): {0}")]
    Float(String),
}

/// Encodes a JSON value canonically.
pub fn to_canonical_bytes(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// Encodes a JSON value canonically, as a `String`.
pub fn to_canonical_string(value: &Value) -> Result<String, CanonicalError> {
    let bytes = to_canonical_bytes(value)?;
    // Only valid UTF-8 is ever written: keys and strings come from `String`s, the rest is ASCII.
    String::from_utf8(bytes).map_err(|e| CanonicalError::Float(e.to_string()))
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.extend_from_slice(n.to_string().as_bytes());
            } else {
                return Err(CanonicalError::Float(n.to_string()));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_strips_whitespace() {
        let v = json!({"b": 1, "a": {"d": [1, 2, {"z": null, "y": true}], "c": "x"}});
        assert_eq!(
            to_canonical_string(&v).unwrap(),
            r#"{"a":{"c":"x","d":[1,2,{"y":true,"z":null}]},"b":1}"#
        );
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let v = json!({"k": "é\"\\\n\u{1}/€"});
        assert_eq!(
            to_canonical_string(&v).unwrap(),
            "{\"k\":\"é\\\"\\\\\\n\\u0001/€\"}"
        );
    }

    #[test]
    fn refuses_floats() {
        assert!(to_canonical_bytes(&json!({"amount": 1.5})).is_err());
        assert!(to_canonical_bytes(&json!({"n": -3})).is_ok());
    }
}
