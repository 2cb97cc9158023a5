//! Trust line policies as they travel (JSON) and as they are stored.

use geo_protocol::{Amount, Pid, Precision};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::LedgerError;

/// A trust line policy in its wire and storage form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// Consent to automatic clearing.
    pub auto_clearing: bool,
    /// Allow the owner to mediate payments over this line.
    pub can_be_intermediate: bool,
    /// Cap per payment while the owner mediates (`None`: none; zero forbids mediation).
    pub max_hop_usage: Option<Amount>,
    /// Informational daily limit (not enforced).
    pub daily_limit: Option<Amount>,
    /// Participants that must not be inside a route using this line.
    pub blocked_participants: Vec<Pid>,
}

impl Default for PolicyRecord {
    fn default() -> Self {
        PolicyRecord {
            auto_clearing: true,
            can_be_intermediate: true,
            max_hop_usage: None,
            daily_limit: None,
            blocked_participants: Vec::new(),
        }
    }
}

const KEYS: [&str; 5] = [
    "auto_clearing",
    "can_be_intermediate",
    "max_hop_usage",
    "daily_limit",
    "blocked_participants",
];

fn bad(msg: impl Into<String>) -> LedgerError {
    LedgerError::InvalidPolicy(msg.into())
}

fn optional_amount(v: &Value, key: &str, precision: Precision) -> Result<Option<Amount>, LedgerError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Amount::parse_non_negative(s, precision)
            .map(Some)
            .map_err(|e| bad(format!("{key}: {e}"))),
        _ => Err(bad(format!("{key} must be a decimal string or null"))),
    }
}

impl PolicyRecord {
    /// Applies the keys of a JSON policy object on top of `self` (unknown keys, wrong types,
    /// malformed amounts and PIDs are refused).
    pub fn merged(&self, patch: &Value, precision: Precision) -> Result<PolicyRecord, LedgerError> {
        let Value::Object(map) = patch else {
            return Err(bad("policy must be an object"));
        };
        let mut out = self.clone();
        for (key, value) in map {
            match key.as_str() {
                "auto_clearing" => {
                    out.auto_clearing = value
                        .as_bool()
                        .ok_or_else(|| bad("auto_clearing must be a boolean"))?;
                }
                "can_be_intermediate" => {
                    out.can_be_intermediate = value
                        .as_bool()
                        .ok_or_else(|| bad("can_be_intermediate must be a boolean"))?;
                }
                "max_hop_usage" => out.max_hop_usage = optional_amount(value, key, precision)?,
                "daily_limit" => out.daily_limit = optional_amount(value, key, precision)?,
                "blocked_participants" => {
                    let list = match value {
                        Value::Null => Vec::new(),
                        Value::Array(items) => items
                            .iter()
                            .map(|i| {
                                i.as_str()
                                    .and_then(|s| Pid::parse(s).ok())
                                    .ok_or_else(|| bad("blocked_participants must be a list of PIDs"))
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                        _ => return Err(bad("blocked_participants must be a list of PIDs")),
                    };
                    if list.len() > 256 {
                        return Err(bad("at most 256 blocked participants"));
                    }
                    out.blocked_participants = list;
                }
                other => {
                    return Err(bad(format!(
                        "unknown policy key {other:?} (allowed: {})",
                        KEYS.join(", ")
                    )));
                }
            }
        }
        Ok(out)
    }

    /// The policy as a JSON object with amounts at the equivalent's precision.
    pub fn to_json(&self, precision: Precision) -> Value {
        let mut m = Map::new();
        m.insert("auto_clearing".into(), Value::Bool(self.auto_clearing));
        m.insert(
            "can_be_intermediate".into(),
            Value::Bool(self.can_be_intermediate),
        );
        let amt = |a: &Option<Amount>| a.map_or(Value::Null, |a| Value::String(a.to_string_with(precision)));
        m.insert("max_hop_usage".into(), amt(&self.max_hop_usage));
        m.insert("daily_limit".into(), amt(&self.daily_limit));
        m.insert(
            "blocked_participants".into(),
            Value::Array(
                self.blocked_participants
                    .iter()
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            ),
        );
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_and_validates() {
        let p2 = Precision::new(2).unwrap();
        let base = PolicyRecord::default();
        let m = base
            .merged(&json!({"auto_clearing": false, "max_hop_usage": "10.5"}), p2)
            .unwrap();
        assert!(!m.auto_clearing);
        assert_eq!(m.max_hop_usage.unwrap().to_string(), "10.5");
        assert!(base.merged(&json!({"bogus": 1}), p2).is_err());
        assert!(base.merged(&json!({"max_hop_usage": "1.001"}), p2).is_err());
        assert!(base.merged(&json!({"max_hop_usage": 5}), p2).is_err());
        assert!(base
            .merged(&json!({"blocked_participants": ["nope"]}), p2)
            .is_err());
        assert!(base.merged(&json!([]), p2).is_err());
    }
}
