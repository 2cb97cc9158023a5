//! Clearing of debt cycles: multilateral set-off without changing any net position.
//!
//! Two tools:
//! - the **triggered search** ([`cycles_through`], GEO spec 7.2.1): short cycles (3 or 4
//!   participants) of clearable debts through the pairs a payment just changed, and
//!   [`short_cycles`] that lists the largest short cycles of a whole graph;
//! - the **optimal pass** ([`optimal_clearing`]): the largest total debt that can be cancelled at
//!   once, solved exactly as a min-cost flow.
//!
//! A debt `debtor -> creditor` is *clearable* when the creditor's trust line to the debtor exists,
//! is active and carries the `auto_clearing` consent ([`debt_edges`]). Clearing only ever reduces
//! clearable debts, and the reductions form a circulation, so every net position stays as it was.
//!
//! # Files
//! - `mod.rs`: [`DebtEdge`] and [`debt_edges`], the clearable debts of a graph.
//! - `cycles.rs`: the triggered search and the listing of short cycles.
//! - `optimal.rs`: the optimal pass (SCC restriction, then primal-dual min-cost flow).
//! - `apply.rs`: applying either to the [`Ledger`](super::Ledger), checked for neutrality first.

pub mod apply;
mod cycles;
mod optimal;
#[cfg(test)]
mod testkit;

pub use apply::ClearingSummary;
pub use cycles::{cycles_through, short_cycles, Cycle};
pub use optimal::{optimal_clearing, ClearingPlan};

use super::graph::{CreditGraph, LineStatus, NodeId, Pair};

/// One debt of a graph, as a directed edge `debtor -> creditor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DebtEdge {
    /// The participant that owes.
    pub debtor: NodeId,
    /// The participant owed.
    pub creditor: NodeId,
    /// The debt in atoms (positive).
    pub amount: i128,
    /// The creditor consents to clearing it (see [`debt_edges`]).
    pub clearable: bool,
}

/// True when `creditor`'s line of the pair exists, is active and consents to auto-clearing.
fn creditor_consents(pair: &Pair, creditor: NodeId) -> bool {
    pair.line_from(creditor)
        .is_some_and(|l| l.status == LineStatus::Active && l.policy.auto_clearing)
}

/// What `debtor` owes across `pair` if that debt is clearable, else 0.
fn clearable_debt_of(pair: &Pair, debtor: NodeId) -> i128 {
    let amount = pair.debt_of(debtor);
    if amount > 0 && creditor_consents(pair, pair.other(debtor)) {
        amount
    } else {
        0
    }
}

/// The clearable debt `debtor -> creditor` of the graph (0 if none or not clearable).
fn clearable_debt(g: &CreditGraph, debtor: NodeId, creditor: NodeId) -> i128 {
    g.find(debtor, creditor)
        .map_or(0, |id| clearable_debt_of(g.pair(id), debtor))
}

/// The debts of a graph, one per pair with a non-zero debt, in pair order.
///
/// `clearable` is true when the creditor's line (creditor -> debtor) exists, is
/// [`LineStatus::Active`] and has `policy.auto_clearing`.
pub fn debt_edges(g: &CreditGraph) -> Vec<DebtEdge> {
    g.pairs()
        .iter()
        .filter(|p| p.debt != 0)
        .map(|p| {
            let (debtor, creditor) = if p.debt > 0 { (p.lo, p.hi) } else { (p.hi, p.lo) };
            DebtEdge {
                debtor,
                creditor,
                amount: p.debt_of(debtor),
                clearable: creditor_consents(p, creditor),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::testkit::{edge, fixed, graph_of};
    use super::*;
    use crate::ledger::graph::{LinePolicy, LineSlot};

    #[test]
    fn debt_edges_follow_consent_and_status() {
        let mut g = graph_of(&[edge(0, 1, 5), fixed(1, 2, 6), edge(2, 0, 7)]);
        let edges = debt_edges(&g);
        assert_eq!(
            edges,
            vec![edge(0, 1, 5), fixed(1, 2, 6), edge(2, 0, 7)],
            "one edge per pair, consent from the creditor's line"
        );
        let id = g.find(2, 0).unwrap();
        if let Some(line) = g.pair_mut(id).line_from_mut(0).as_mut() {
            line.status = LineStatus::Frozen;
        }
        assert!(!debt_edges(&g)[2].clearable);
        // The debtor's own line does not give consent.
        *g.pair_mut(id).line_from_mut(0) = None;
        *g.pair_mut(id).line_from_mut(2) = Some(LineSlot {
            line: 9,
            limit: 100,
            status: LineStatus::Active,
            policy: LinePolicy::default(),
        });
        assert!(!debt_edges(&g)[2].clearable);
    }
}
