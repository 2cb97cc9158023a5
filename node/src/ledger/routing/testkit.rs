//! Graph builders shared by the routing tests.

use super::Route;
use crate::ledger::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId, PairId};

/// `from` trusts `to` for `limit`: `to` may pay `from` up to `limit`.
pub(super) fn trust(g: &mut CreditGraph, from: NodeId, to: NodeId, limit: i128) -> PairId {
    let id = g.find_or_insert(from, to);
    *g.pair_mut(id).line_from_mut(from) = Some(LineSlot {
        line: 0,
        limit,
        status: LineStatus::Active,
        policy: LinePolicy::default(),
    });
    id
}

pub(super) fn policy(g: &mut CreditGraph, owner: NodeId, other: NodeId) -> &mut LinePolicy {
    let id = g.find(owner, other).unwrap();
    &mut g.pair_mut(id).line_from_mut(owner).as_mut().unwrap().policy
}

pub(super) fn paths(routes: &[Route]) -> Vec<Vec<NodeId>> {
    routes.iter().map(|r| r.path.clone()).collect()
}

/// Payment chain 0 -> 1 -> 2 -> 3 (each receiver trusts its payer for `cap`).
pub(super) fn chain(cap: i128) -> CreditGraph {
    let mut g = CreditGraph::new();
    trust(&mut g, 1, 0, cap);
    trust(&mut g, 2, 1, cap);
    trust(&mut g, 3, 2, cap);
    g
}
