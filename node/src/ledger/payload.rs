//! What a transaction record says about its operation, one typed shape per kind. The stored and
//! served JSON is the shape itself (no tag: the record's kind names the variant).

use geo_protocol::{EquivalentCode, Pid};
use serde::{Deserialize, Serialize};

/// The kind-specific content of a [`super::model::TxRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TxPayload {
    /// A payment (committed, prepared or aborted).
    Payment(PaymentPayload),
    /// A trust line created, updated or closed.
    TrustLine(TrustLinePayload),
    /// A clearing run.
    Clearing(ClearingPayload),
}

/// A payment: who paid whom, how much, and along which routes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPayload {
    /// Payer.
    pub from: Pid,
    /// Payee.
    pub to: Pid,
    /// Amount, a decimal string at the equivalent's precision.
    pub amount: String,
    /// The payer's description.
    pub description: Option<String>,
    /// Routes with the amount each carries (empty when the payment was not routed).
    pub routes: Vec<RoutePayload>,
}

/// One route of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePayload {
    /// PIDs from payer to payee.
    pub path: Vec<Pid>,
    /// Amount carried, a decimal string at the equivalent's precision.
    pub amount: String,
}

/// A trust line as a change left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustLinePayload {
    /// The line.
    pub trust_line_id: uuid::Uuid,
    /// Owner (creditor).
    pub from: Pid,
    /// Trustee.
    pub to: Pid,
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Limit, a decimal string at the equivalent's precision.
    pub limit: String,
    /// Policy as served (amounts at the equivalent's precision).
    pub policy: serde_json::Value,
    /// Status after the change.
    pub status: String,
    /// True when an administrator made the change (freeze, unfreeze).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

/// A clearing run: the debts it reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingPayload {
    /// Equivalent.
    pub equivalent: EquivalentCode,
    /// Total debt removed (summed over the edges), a decimal string.
    pub cleared: String,
    /// Each reduced debt.
    pub edges: Vec<ClearedEdge>,
    /// `cycle` (a short cycle) or `optimal` (the multilateral set-off).
    #[serde(default)]
    pub mode: String,
    /// The participants of the cycle, for `cycle` runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle: Option<Vec<Pid>>,
}

/// One debt reduced by clearing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearedEdge {
    /// Who owed.
    pub debtor: Pid,
    /// To whom.
    pub creditor: Pid,
    /// By how much the debt shrank, a decimal string.
    pub amount: String,
}

impl TxPayload {
    /// The payment, for payment records.
    pub fn payment(&self) -> Option<&PaymentPayload> {
        match self {
            TxPayload::Payment(p) => Some(p),
            _ => None,
        }
    }

    /// The clearing run, for clearing records.
    pub fn clearing(&self) -> Option<&ClearingPayload> {
        match self {
            TxPayload::Clearing(c) => Some(c),
            _ => None,
        }
    }

    /// The two parties a payment or trust-line record names (payer and payee, owner and
    /// trustee).
    pub fn parties(&self) -> Option<(&Pid, &Pid)> {
        match self {
            TxPayload::Payment(p) => Some((&p.from, &p.to)),
            TxPayload::TrustLine(l) => Some((&l.from, &l.to)),
            TxPayload::Clearing(_) => None,
        }
    }

    /// The JSON form (as stored and served).
    pub fn to_json(&self) -> serde_json::Value {
        // Plain structs of strings, ids and vectors serialise infallibly.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Every participant the record names (payer, payee and mediators; line parties; cleared
    /// debtors and creditors), sorted, without repeats.
    pub fn participants(&self) -> Vec<Pid> {
        let mut out: Vec<Pid> = match self {
            TxPayload::Payment(p) => [p.from.clone(), p.to.clone()]
                .into_iter()
                .chain(p.routes.iter().flat_map(|r| r.path.iter().cloned()))
                .collect(),
            TxPayload::TrustLine(l) => vec![l.from.clone(), l.to.clone()],
            TxPayload::Clearing(c) => c
                .edges
                .iter()
                .flat_map(|e| [e.debtor.clone(), e.creditor.clone()])
                .collect(),
        };
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_protocol::Keypair;

    fn pid(i: u8) -> Pid {
        Keypair::from_seed(&[i; 32]).pid()
    }

    #[test]
    fn each_kind_round_trips_through_its_untagged_json() {
        let payloads = [
            TxPayload::Payment(PaymentPayload {
                from: pid(1),
                to: pid(2),
                amount: "10.50".into(),
                description: None,
                routes: vec![RoutePayload {
                    path: vec![pid(1), pid(3), pid(2)],
                    amount: "10.50".into(),
                }],
            }),
            TxPayload::TrustLine(TrustLinePayload {
                trust_line_id: uuid::Uuid::from_u128(7),
                from: pid(1),
                to: pid(2),
                equivalent: EquivalentCode::new("UAH").unwrap(),
                limit: "100.00".into(),
                policy: serde_json::json!({"auto_clearing": true}),
                status: "active".into(),
                admin: true,
            }),
            TxPayload::Clearing(ClearingPayload {
                equivalent: EquivalentCode::new("UAH").unwrap(),
                cleared: "3.00".into(),
                edges: vec![ClearedEdge {
                    debtor: pid(1),
                    creditor: pid(2),
                    amount: "1.00".into(),
                }],
                mode: "cycle".into(),
                cycle: Some(vec![pid(1), pid(2), pid(3)]),
            }),
        ];
        for p in payloads {
            let json = serde_json::to_value(&p).unwrap();
            assert!(json.get("type").is_none(), "untagged: {json}");
            assert_eq!(serde_json::from_value::<TxPayload>(json).unwrap(), p);
        }
        let payment = serde_json::json!({"from": pid(1), "to": pid(2), "amount": "1", "description": null, "routes": []});
        assert_eq!(
            serde_json::from_value::<TxPayload>(payment)
                .unwrap()
                .participants(),
            {
                let mut v = vec![pid(1), pid(2)];
                v.sort();
                v
            }
        );
    }
}
