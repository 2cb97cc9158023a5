//! [`Router`]: the scratch state a routing query reuses, and the public queries
//! ([`Router::max_flow`], [`Router::route`]) that choose between the path searches.

use super::scratch::{Marked, Stamps};
use super::subgraph::Arc;
use super::{FlowPlan, Route, RouteLimits, RoutingError};
use crate::ledger::graph::{CreditGraph, NodeId, PairId};

/// Reusable routing engine; see the [`routing`](super) module documentation.
#[derive(Debug, Clone, Default)]
pub struct Router {
    pub(super) avoid: Stamps,
    /// Pairs and inner nodes excluded for the rest of a query after a `blocked` violation.
    pub(super) banned: Stamps,
    pub(super) banned_node: Stamps,
    /// Bidirectional BFS: (parent, depth) per side.
    pub(super) fwd: Marked<(NodeId, u32)>,
    pub(super) bwd: Marked<(NodeId, u32)>,
    pub(super) front_a: Vec<NodeId>,
    pub(super) front_b: Vec<NodeId>,
    pub(super) next: Vec<NodeId>,
    /// Hops to the payee over positive arcs (global ids).
    pub(super) dist_t: Marked<u32>,
    /// Global id -> local id of the per-query subgraph.
    pub(super) local: Marked<u32>,
    pub(super) nodes: Vec<NodeId>,
    pub(super) lds: Vec<u32>,
    pub(super) ldt: Vec<u32>,
    pub(super) arc_start: Vec<u32>,
    pub(super) arcs: Vec<Arc>,
    pub(super) res: Vec<i128>,
    /// Widest-path DP, `(max_hops + 1) * nodes` entries, kept zero between calls.
    pub(super) width: Vec<i128>,
    pub(super) parent: Vec<u32>,
    pub(super) layers: Vec<Vec<u32>>,
    /// Cycle removal: local node -> position in the path being built.
    pub(super) pos: Vec<u32>,
    /// Dinic scratch (residual graph with reverse arcs).
    pub(super) din_to: Vec<u32>,
    pub(super) din_cap: Vec<i128>,
    pub(super) din_start: Vec<u32>,
    pub(super) din_adj: Vec<u32>,
    pub(super) din_level: Vec<u32>,
    pub(super) din_iter: Vec<u32>,
    pub(super) din_queue: Vec<u32>,
    pub(super) din_stack: Vec<u32>,
}

impl Router {
    /// A router with empty scratch buffers (they grow on first use).
    pub fn new() -> Router {
        Router::default()
    }

    pub(super) fn begin_query(&mut self, g: &CreditGraph, s: NodeId, t: NodeId, limits: &RouteLimits) {
        self.avoid.begin(g.node_count());
        for &a in &limits.avoid {
            if a != s && a != t {
                self.avoid.set(a as usize);
            }
        }
        self.banned.begin(g.pairs().len());
        self.banned_node.begin(g.node_count());
    }

    /// Reacts to a `blocked` violation: first keep the blocked node off inner positions, and
    /// if it already was, exclude the pair whose line blocks it.
    /// Returns the violation when it banned the node, so that a search that then finds
    /// nothing can [`Router::unpunish`] it and ban the pair instead.
    pub(super) fn punish(&mut self, (node, pid): (NodeId, PairId)) -> Option<(NodeId, PairId)> {
        if self.banned_node.has(node as usize) {
            self.banned.set(pid as usize);
            None
        } else {
            self.banned_node.set(node as usize);
            Some((node, pid))
        }
    }

    /// Replaces the node ban of `punish` by a ban of the pair.
    pub(super) fn unpunish(&mut self, (node, pid): (NodeId, PairId)) {
        self.banned_node.unset(node as usize);
        self.banned.set(pid as usize);
    }

    pub(super) fn valid_endpoints(g: &CreditGraph, s: NodeId, t: NodeId, limits: &RouteLimits) -> bool {
        let n = g.node_count();
        s != t && (s as usize) < n && (t as usize) < n && limits.max_hops > 0 && limits.max_paths > 0
    }

    fn plans(
        &mut self,
        g: &CreditGraph,
        s: NodeId,
        t: NodeId,
        limits: &RouteLimits,
        need: Option<i128>,
    ) -> FlowPlan {
        if !Self::valid_endpoints(g, s, t, limits) {
            return FlowPlan::default();
        }
        self.begin_query(g, s, t, limits);
        let hmax = limits.max_hops.min(g.node_count());
        if !self.build_subgraph(g, s, t, hmax) {
            return FlowPlan::default();
        }
        let Some(tl) = self.local.get(t as usize) else {
            return FlowPlan::default();
        };
        let widest = self.widest_plan(g, tl, hmax, limits.max_paths);
        if need.is_some_and(|x| widest.total >= x) {
            return widest;
        }
        self.banned.begin(g.pairs().len());
        self.banned_node.begin(g.node_count());
        let dinic = self.dinic_plan(g, tl, hmax, limits.max_paths);
        if dinic.total > widest.total {
            dinic
        } else {
            widest
        }
    }

    /// The most that can be paid `s -> t` under `limits`, as a concrete plan of at most
    /// `max_paths` routes of at most `max_hops` hops each (largest route first). A promise:
    /// [`Router::route`] succeeds for every amount up to `total` on the same graph.
    pub fn max_flow(&mut self, g: &CreditGraph, s: NodeId, t: NodeId, limits: &RouteLimits) -> FlowPlan {
        self.plans(g, s, t, limits, None)
    }

    /// Routes paying exactly `amount` from `s` to `t`: one shortest path that carries it all,
    /// else a split over successive widest paths, else the [`Router::max_flow`] plan cut down
    /// to `amount`.
    pub fn route(
        &mut self,
        g: &CreditGraph,
        s: NodeId,
        t: NodeId,
        amount: i128,
        limits: &RouteLimits,
    ) -> Result<Vec<Route>, RoutingError> {
        if amount <= 0 {
            return Err(RoutingError::InvalidAmount);
        }
        if s == t {
            return Err(RoutingError::SameEndpoints);
        }
        for v in [s, t] {
            if (v as usize) >= g.node_count() {
                return Err(RoutingError::UnknownNode(v));
            }
        }
        if let Some(r) = self.single_path(g, s, t, amount, limits) {
            return Ok(vec![r]);
        }
        // The split (widest paths) comes first inside `plans`; when it falls short the
        // result is exactly the `max_flow` plan, so the max-flow promise holds.
        let plan = self.plans(g, s, t, limits, Some(amount));
        if plan.total < amount {
            return Err(if plan.total == 0 {
                RoutingError::NoRoute
            } else {
                RoutingError::InsufficientCapacity {
                    available: plan.total,
                }
            });
        }
        let mut left = amount;
        let mut routes = Vec::with_capacity(plan.routes.len());
        for r in plan.routes {
            if left == 0 {
                break;
            }
            let take = r.amount.min(left);
            left -= take;
            routes.push(Route {
                path: r.path,
                amount: take,
            });
        }
        Ok(routes)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{chain, paths, policy, trust};
    use super::super::{check_routes, RouteViolation};
    use super::*;
    use crate::ledger::graph::LineStatus;

    #[test]
    fn multi_hop_single_path() {
        let g = chain(100);
        let mut r = Router::new();
        let lim = RouteLimits::default();
        let p = r.single_path(&g, 0, 3, 100, &lim).unwrap();
        assert_eq!(p.path, vec![0, 1, 2, 3]);
        check_routes(&g, 0, 3, 100, &[p], &lim).unwrap();
        assert!(r.single_path(&g, 0, 3, 101, &lim).is_none());
        assert!(r.single_path(&g, 3, 0, 1, &lim).is_none());
        let plan = r.max_flow(&g, 0, 3, &lim);
        assert_eq!(plan.total, 100);
        assert_eq!(
            r.route(&g, 0, 3, 101, &lim),
            Err(RoutingError::InsufficientCapacity { available: 100 })
        );
        assert_eq!(r.route(&g, 3, 0, 1, &lim), Err(RoutingError::NoRoute));
        assert_eq!(r.route(&g, 0, 0, 1, &lim), Err(RoutingError::SameEndpoints));
        assert_eq!(r.route(&g, 0, 3, 0, &lim), Err(RoutingError::InvalidAmount));
        assert_eq!(r.route(&g, 0, 9, 1, &lim), Err(RoutingError::UnknownNode(9)));
    }

    #[test]
    fn debts_cancel_back() {
        // 1 trusts nobody, but owes 0: it can pay 0 back up to the debt.
        let mut g = CreditGraph::new();
        let id = trust(&mut g, 1, 0, 100);
        g.pair_mut(id).apply_payment(0, 40); // 0 owes 1: 40
        let mut r = Router::new();
        let lim = RouteLimits::default();
        assert_eq!(r.max_flow(&g, 1, 0, &lim).total, 40);
        assert_eq!(r.max_flow(&g, 0, 1, &lim).total, 60);
    }

    #[test]
    fn splits_across_paths() {
        // 0 -> {1, 2, 3} -> 4, each path 50; the payment of 120 needs three routes.
        let mut g = CreditGraph::new();
        for m in 1..=3 {
            trust(&mut g, m, 0, 50);
            trust(&mut g, 4, m, 50);
        }
        let mut r = Router::new();
        let lim = RouteLimits::default();
        let routes = r.route(&g, 0, 4, 120, &lim).unwrap();
        assert_eq!(routes.len(), 3);
        check_routes(&g, 0, 4, 120, &routes, &lim).unwrap();
        assert_eq!(r.max_flow(&g, 0, 4, &lim).total, 150);
        let two = RouteLimits {
            max_paths: 2,
            ..RouteLimits::default()
        };
        assert_eq!(r.max_flow(&g, 0, 4, &two).total, 100);
        assert_eq!(
            r.route(&g, 0, 4, 101, &two),
            Err(RoutingError::InsufficientCapacity { available: 100 })
        );
    }

    #[test]
    fn hop_limit() {
        let g = chain(100);
        let mut r = Router::new();
        let lim = RouteLimits {
            max_hops: 2,
            ..RouteLimits::default()
        };
        assert!(r.single_path(&g, 0, 3, 1, &lim).is_none());
        assert_eq!(r.max_flow(&g, 0, 3, &lim).total, 0);
        assert_eq!(r.route(&g, 0, 3, 1, &lim), Err(RoutingError::NoRoute));
        let three = RouteLimits {
            max_hops: 3,
            ..RouteLimits::default()
        };
        assert!(r.single_path(&g, 0, 3, 1, &three).is_some());
        let long = vec![Route {
            path: vec![0, 1, 2, 3],
            amount: 1,
        }];
        assert!(matches!(
            check_routes(&g, 0, 3, 1, &long, &lim),
            Err(RouteViolation::TooLong { .. })
        ));
    }

    #[test]
    fn avoid_is_honoured() {
        let mut g = chain(100);
        trust(&mut g, 4, 0, 100);
        trust(&mut g, 3, 4, 100);
        let mut r = Router::new();
        let lim = RouteLimits {
            avoid: vec![4, 0],
            ..RouteLimits::default()
        };
        let p = r.single_path(&g, 0, 3, 10, &lim).unwrap();
        assert_eq!(p.path, vec![0, 1, 2, 3]);
        let plan = r.max_flow(&g, 0, 3, &lim);
        assert_eq!(plan.total, 100);
        check_routes(&g, 0, 3, 100, &plan.routes, &lim).unwrap();
        let bad = vec![Route {
            path: vec![0, 4, 3],
            amount: 10,
        }];
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &bad, &lim),
            Err(RouteViolation::Avoided { node: 4, .. })
        ));
    }

    #[test]
    fn blocked_policy_excludes_inner_nodes() {
        // Short path 0->4->3, long 0->1->2->3. The line 3->2 blocks node 4 (irrelevant to the
        // long path) and the line 3->4 blocks node 4 itself: the short path is refused.
        let mut g = chain(100);
        trust(&mut g, 4, 0, 100);
        trust(&mut g, 3, 4, 100);
        policy(&mut g, 3, 4).blocked = vec![4];
        let mut r = Router::new();
        let lim = RouteLimits::default();
        let p = r.single_path(&g, 0, 3, 10, &lim).unwrap();
        assert_eq!(p.path, vec![0, 1, 2, 3]);
        let plan = r.max_flow(&g, 0, 3, &lim);
        assert_eq!(plan.total, 100);
        assert_eq!(paths(&plan.routes), vec![vec![0, 1, 2, 3]]);
        let bad = vec![Route {
            path: vec![0, 4, 3],
            amount: 10,
        }];
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &bad, &lim),
            Err(RouteViolation::Blocked { node: 4, .. })
        ));
        // Blocking the payer or payee has no effect (they are not inner nodes).
        policy(&mut g, 3, 4).blocked = vec![0, 3];
        let p = r.single_path(&g, 0, 3, 10, &lim).unwrap();
        assert_eq!(p.path, vec![0, 4, 3]);
        // A line far from the route blocks an inner node of it: the route must change.
        policy(&mut g, 3, 4).blocked = vec![];
        policy(&mut g, 4, 0).blocked = vec![4];
        let p = r.single_path(&g, 0, 3, 10, &lim).unwrap();
        assert_eq!(p.path, vec![0, 1, 2, 3]);
    }

    #[test]
    fn mediation_policies() {
        // 0 -> 1 -> 2; the line 2 -> 1 (owned by 2) is not relevant to 1's mediation, the
        // line 1 -> 0 (owned by 1, an intermediate) is.
        let mut g = CreditGraph::new();
        trust(&mut g, 1, 0, 100);
        trust(&mut g, 2, 1, 100);
        let mut r = Router::new();
        let lim = RouteLimits::default();
        policy(&mut g, 1, 0).can_be_intermediate = false;
        assert_eq!(r.max_flow(&g, 0, 2, &lim).total, 0);
        assert!(r.single_path(&g, 0, 1, 100, &lim).is_some()); // as payee 1 is fine
        policy(&mut g, 1, 0).can_be_intermediate = true;
        policy(&mut g, 1, 0).max_hop_usage = Some(30);
        assert_eq!(r.max_flow(&g, 0, 2, &lim).total, 30);
        assert_eq!(r.max_flow(&g, 0, 1, &lim).total, 100);
        let routes = r.route(&g, 0, 2, 30, &lim).unwrap();
        check_routes(&g, 0, 2, 30, &routes, &lim).unwrap();
        assert!(r.route(&g, 0, 2, 31, &lim).is_err());
    }

    #[test]
    fn reservations_and_status_reduce_capacity() {
        let mut g = chain(100);
        let id = g.find(1, 2).unwrap();
        g.pair_mut(id).reserve(1, 70);
        let mut r = Router::new();
        let lim = RouteLimits::default();
        assert_eq!(r.max_flow(&g, 0, 3, &lim).total, 30);
        assert!(r.single_path(&g, 0, 3, 31, &lim).is_none());
        g.pair_mut(id).line_from_mut(2).as_mut().unwrap().status = LineStatus::Frozen;
        assert_eq!(r.max_flow(&g, 0, 3, &lim).total, 0);
    }
}
