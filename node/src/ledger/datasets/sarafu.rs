//! Parser of the Sarafu debt graph (`sarafu-debt.csv`, see `shared/data/README.md`).
//!
//! The file holds one debt per line, `debtor creditor amount`, separated by spaces (tabs are
//! accepted too): two node numbers and a non-negative decimal amount in units. Amounts are
//! converted exactly to atoms (10^-8 units); the file has at most 3 decimals, and anything up to
//! the atom (8 decimals) is accepted. Blank lines and lines starting with `#` are skipped.
//!
//! Pure: the caller reads the file and hands over its text, so tests and benchmarks decide where
//! the data lives.

use geo_protocol::{Amount, AmountError, Precision};

use crate::ledger::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId};

/// One debt of the data set: `(debtor, creditor, atoms)`.
pub type SarafuDebt = (NodeId, NodeId, i128);

/// Why a line of the Sarafu file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sarafu-debt line {line}: {kind}")]
pub struct SarafuError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub kind: SarafuErrorKind,
}

/// The kind of a [`SarafuError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SarafuErrorKind {
    /// Not exactly three fields.
    #[error("expected `debtor creditor amount`, found {0} field(s)")]
    FieldCount(usize),
    /// A node number that is not a `u32`.
    #[error("bad node number {0:?}")]
    BadNode(String),
    /// An amount that is not a non-negative decimal within the amount range.
    #[error("bad amount {text:?}: {source}")]
    BadAmount {
        /// The field as written.
        text: String,
        /// The amount parser's reason.
        source: AmountError,
    },
    /// A participant that owes itself.
    #[error("self-debt of node {0}")]
    SelfDebt(NodeId),
}

/// Parses the whole file: every debt in file order, amounts in atoms.
///
/// Never panics; the first malformed line yields an error naming its (1-based) line number.
pub fn parse_sarafu(text: &str) -> Result<Vec<SarafuDebt>, SarafuError> {
    let mut out = Vec::with_capacity(text.len() / 16);
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let body = raw.trim();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let err = |kind| SarafuError { line, kind };
        let fields: Vec<&str> = body.split_ascii_whitespace().collect();
        let [debtor, creditor, amount] = fields[..] else {
            return Err(err(SarafuErrorKind::FieldCount(fields.len())));
        };
        let node = |s: &str| {
            s.parse::<NodeId>()
                .map_err(|_| err(SarafuErrorKind::BadNode(s.to_owned())))
        };
        let debtor = node(debtor)?;
        let creditor = node(creditor)?;
        if debtor == creditor {
            return Err(err(SarafuErrorKind::SelfDebt(debtor)));
        }
        let atoms = Amount::parse_non_negative(amount, Precision::MAX)
            .map_err(|source| {
                err(SarafuErrorKind::BadAmount {
                    text: amount.to_owned(),
                    source,
                })
            })?
            .atoms();
        out.push((debtor, creditor, atoms));
    }
    Ok(out)
}

/// Builds a credit graph holding the given debts.
///
/// For every debt the creditor gets an active trust line to the debtor (policy default, so
/// `auto_clearing` is on) whose limit is the debt, so the trust-limit invariant holds; debts of
/// the same pair add up (netted when they run both ways). Line indices count from 0 in order of
/// creation. Zero debts create the pair and the line but no debt.
pub fn sarafu_graph(debts: &[SarafuDebt]) -> CreditGraph {
    let mut g = CreditGraph::new();
    let mut next_line: u32 = 0;
    for &(debtor, creditor, atoms) in debts {
        if debtor == creditor {
            continue;
        }
        let id = g.find_or_insert(debtor, creditor);
        let pair = g.pair_mut(id);
        match pair.line_from_mut(creditor) {
            Some(slot) => slot.limit += atoms,
            slot @ None => {
                *slot = Some(LineSlot {
                    line: next_line,
                    limit: atoms,
                    status: LineStatus::Active,
                    policy: LinePolicy::default(),
                });
                next_line = next_line.saturating_add(1);
            }
        }
        pair.apply_payment(debtor, atoms);
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        let debts = parse_sarafu("6 8 321.5\n5 8 114\n\n9 5 0.001\r\n").unwrap();
        assert_eq!(
            debts,
            vec![(6, 8, 32_150_000_000), (5, 8, 11_400_000_000), (9, 5, 100_000)]
        );
    }

    #[test]
    fn reports_the_line_of_malformed_input() {
        let e = parse_sarafu("1 2 3\n1 2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.kind, SarafuErrorKind::FieldCount(2));
        let e = parse_sarafu("1 2 3\n\n1 x 3\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(matches!(e.kind, SarafuErrorKind::BadNode(_)));
        assert!(matches!(
            parse_sarafu("1 2 -3").unwrap_err().kind,
            SarafuErrorKind::BadAmount { .. }
        ));
        assert!(matches!(
            parse_sarafu("1 2 1e5").unwrap_err().kind,
            SarafuErrorKind::BadAmount { .. }
        ));
        assert!(matches!(
            parse_sarafu("1 2 0.000000001").unwrap_err().kind,
            SarafuErrorKind::BadAmount { .. }
        ));
        assert!(matches!(
            parse_sarafu("1 2 99999999999999999999999").unwrap_err().kind,
            SarafuErrorKind::BadAmount { .. }
        ));
        assert_eq!(
            parse_sarafu("4 4 1").unwrap_err().kind,
            SarafuErrorKind::SelfDebt(4)
        );
        assert!(parse_sarafu("1 2 3 4").is_err());
        assert!(parse_sarafu("4294967296 1 3").is_err());
        assert!(parse_sarafu("# comment\n1 2 3").is_ok());
    }

    #[test]
    fn builds_a_graph_with_consenting_lines() {
        let debts = parse_sarafu("0 1 2\n1 2 3\n2 0 4.5\n").unwrap();
        let g = sarafu_graph(&debts);
        assert_eq!(g.debt(0, 1), 200_000_000);
        assert_eq!(g.debt(2, 0), 450_000_000);
        assert_eq!(g.net_position(0), 250_000_000);
        let id = g.find(0, 1).unwrap();
        let line = g.pair(id).line_from(1).unwrap();
        assert!(line.policy.auto_clearing);
        assert_eq!(line.status, LineStatus::Active);
        assert_eq!(line.limit, 200_000_000);
    }
}
