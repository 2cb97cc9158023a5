//! Debt-edge and graph builders shared by the clearing tests.

use proptest::prelude::*;

use super::DebtEdge;
use crate::ledger::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId};

pub(super) fn edge(debtor: NodeId, creditor: NodeId, amount: i128) -> DebtEdge {
    DebtEdge {
        debtor,
        creditor,
        amount,
        clearable: true,
    }
}

pub(super) fn fixed(debtor: NodeId, creditor: NodeId, amount: i128) -> DebtEdge {
    DebtEdge {
        clearable: false,
        ..edge(debtor, creditor, amount)
    }
}

pub(super) fn graph_of(edges: &[DebtEdge]) -> CreditGraph {
    let mut g = CreditGraph::new();
    for (k, e) in edges.iter().enumerate() {
        let id = g.find_or_insert(e.debtor, e.creditor);
        let pair = g.pair_mut(id);
        *pair.line_from_mut(e.creditor) = Some(LineSlot {
            line: k as u32,
            limit: e.amount,
            status: LineStatus::Active,
            policy: LinePolicy {
                auto_clearing: e.clearable,
                ..LinePolicy::default()
            },
        });
        pair.apply_payment(e.debtor, e.amount);
    }
    g
}

pub(super) fn small_graph() -> impl Strategy<Value = (usize, Vec<DebtEdge>)> {
    (2usize..=10).prop_flat_map(|n| {
        let n32 = n as u32;
        let e = (0..n32, 1..n32, 1i128..=20, prop::bool::weighted(0.85)).prop_map(
            move |(debtor, step, amount, clearable)| DebtEdge {
                debtor,
                // Never the debtor itself.
                creditor: (debtor + step) % n32,
                amount,
                clearable,
            },
        );
        (Just(n), prop::collection::vec(e, 0..=(3 * n)))
    })
}
