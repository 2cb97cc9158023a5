//! Integrity: state checksums and the invariant checks of GEO v0.1 section 11.
//!
//! Two checksums per equivalent:
//! - [`StateDigest`]: an order-independent, incrementally updated digest: the sum modulo 2^256 of
//!   SHA-256(`debtor:creditor:amount`) over all debts. O(1) per debt change, so every operation's
//!   audit record carries a before/after value, and it can be recomputed from the debts alone.
//! - [`full_checksum`]: the spec's SHA-256 over the sorted `debtor:creditor:amount` listing joined
//!   by `|` (section 11.3.1), computed on demand and at checkpoints.

use geo_protocol::{Amount, Pid};
use sha2::{Digest, Sha256};

use super::graph::{CreditGraph, LineStatus, NodeId};

/// Additive multiset digest of the debts of one equivalent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct StateDigest([u64; 4]);

fn term(debtor: &Pid, creditor: &Pid, atoms: i128) -> [u64; 4] {
    let amount = Amount::from_atoms(atoms).unwrap_or(Amount::ZERO);
    let mut h = Sha256::new();
    h.update(debtor.as_str().as_bytes());
    h.update(b":");
    h.update(creditor.as_str().as_bytes());
    h.update(b":");
    h.update(amount.to_string().as_bytes());
    let out = h.finalize();
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&out[i * 8..i * 8 + 8]);
        *limb = u64::from_be_bytes(b);
    }
    limbs
}

impl StateDigest {
    /// The digest of no debts.
    pub const EMPTY: StateDigest = StateDigest([0; 4]);

    fn add_limbs(&mut self, t: [u64; 4]) {
        // Big-endian limbs: index 3 is the least significant.
        let mut carry = false;
        for i in (0..4).rev() {
            let (s1, c1) = self.0[i].overflowing_add(t[i]);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            self.0[i] = s2;
            carry = c1 || c2;
        }
    }

    fn sub_limbs(&mut self, t: [u64; 4]) {
        let mut borrow = false;
        for i in (0..4).rev() {
            let (d1, b1) = self.0[i].overflowing_sub(t[i]);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            self.0[i] = d2;
            borrow = b1 || b2;
        }
    }

    /// Adds a debt record (`atoms > 0`).
    pub fn insert(&mut self, debtor: &Pid, creditor: &Pid, atoms: i128) {
        if atoms > 0 {
            self.add_limbs(term(debtor, creditor, atoms));
        }
    }

    /// Removes a debt record (`atoms > 0`).
    pub fn remove(&mut self, debtor: &Pid, creditor: &Pid, atoms: i128) {
        if atoms > 0 {
            self.sub_limbs(term(debtor, creditor, atoms));
        }
    }

    /// Hex text (64 characters).
    pub fn hex(&self) -> String {
        self.0.iter().map(|l| format!("{l:016x}")).collect()
    }

    /// Recomputes the digest of a whole graph.
    pub fn of_graph(graph: &CreditGraph, pid: impl Fn(NodeId) -> Pid) -> StateDigest {
        let mut d = StateDigest::EMPTY;
        for p in graph.pairs() {
            if p.debt > 0 {
                d.insert(&pid(p.lo), &pid(p.hi), p.debt);
            } else if p.debt < 0 {
                d.insert(&pid(p.hi), &pid(p.lo), -p.debt);
            }
        }
        d
    }
}

/// The spec's full checksum: SHA-256 hex of `debtor:creditor:amount` lines sorted by debtor then
/// creditor PID, joined by `|`.
pub fn full_checksum(graph: &CreditGraph, pid: impl Fn(NodeId) -> Pid) -> String {
    let mut rows: Vec<(Pid, Pid, i128)> = graph
        .pairs()
        .iter()
        .filter(|p| p.debt != 0)
        .map(|p| {
            if p.debt > 0 {
                (pid(p.lo), pid(p.hi), p.debt)
            } else {
                (pid(p.hi), pid(p.lo), -p.debt)
            }
        })
        .collect();
    rows.sort();
    let mut h = Sha256::new();
    for (i, (d, c, a)) in rows.iter().enumerate() {
        if i > 0 {
            h.update(b"|");
        }
        let amount = Amount::from_atoms(*a).unwrap_or(Amount::ZERO);
        h.update(format!("{d}:{c}:{amount}").as_bytes());
    }
    hex(&h.finalize())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A debt above its trust limit (or standing on no line that could carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitViolation {
    /// Debtor.
    pub debtor: NodeId,
    /// Creditor.
    pub creditor: NodeId,
    /// Debt in atoms.
    pub debt: i128,
    /// Limit in atoms of the creditor's line (0 when none or closed).
    pub limit: i128,
}

/// Outcome of the invariant checks on one equivalent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InvariantReport {
    /// Sum of all net positions (must be 0).
    pub zero_sum: i128,
    /// Debts above their limits.
    pub limit_violations: Vec<LimitViolation>,
    /// Pairs whose reservations are negative or exceed what the pair could carry.
    pub reservation_violations: usize,
}

impl InvariantReport {
    /// True when every invariant holds.
    pub fn passed(&self) -> bool {
        self.zero_sum == 0 && self.limit_violations.is_empty() && self.reservation_violations == 0
    }

    /// The `invariants_checked` object of an audit record.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "zero_sum": self.zero_sum == 0,
            "trust_limits": self.limit_violations.is_empty(),
            "debt_symmetry": true,
            "reservations": self.reservation_violations == 0,
        })
    }
}

/// Checks zero-sum, trust limits and reservations on a graph. Debt symmetry holds by
/// construction (one signed debt per pair); the store's loader refuses two-way debts.
pub fn check_graph(graph: &CreditGraph) -> InvariantReport {
    let mut report = InvariantReport::default();
    let mut sum: i128 = 0;
    for n in 0..graph.node_count() {
        let node = NodeId::try_from(n).unwrap_or(NodeId::MAX);
        sum += graph.net_position(node);
    }
    report.zero_sum = sum;
    for p in graph.pairs() {
        if p.debt != 0 {
            let (debtor, creditor, debt) = if p.debt > 0 {
                (p.lo, p.hi, p.debt)
            } else {
                (p.hi, p.lo, -p.debt)
            };
            let limit = p
                .line_from(creditor)
                .filter(|l| l.status != LineStatus::Closed)
                .map_or(0, |l| l.limit);
            if debt > limit {
                report.limit_violations.push(LimitViolation {
                    debtor,
                    creditor,
                    debt,
                    limit,
                });
            }
        }
        if p.reserved_lo_hi < 0 || p.reserved_hi_lo < 0 {
            report.reservation_violations += 1;
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_order_independent_and_reversible() {
        let a = Pid::from_public_key(&[1; 32]);
        let b = Pid::from_public_key(&[2; 32]);
        let c = Pid::from_public_key(&[3; 32]);
        let mut d1 = StateDigest::EMPTY;
        d1.insert(&a, &b, 5);
        d1.insert(&b, &c, 7);
        let mut d2 = StateDigest::EMPTY;
        d2.insert(&b, &c, 7);
        d2.insert(&a, &b, 5);
        assert_eq!(d1, d2);
        d2.remove(&a, &b, 5);
        d2.remove(&b, &c, 7);
        assert_eq!(d2, StateDigest::EMPTY);
        assert_eq!(d1.hex().len(), 64);
    }
}
