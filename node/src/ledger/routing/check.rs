//! Route checks: [`check_routes`], the rules a set of routes must satisfy, and the
//! [`RouteViolation`] that names the first rule broken.

use std::collections::{BTreeMap, HashSet};

use super::{Route, RouteLimits};
use crate::ledger::graph::{CreditGraph, NodeId, PairId};

/// Why [`check_routes`] rejected a set of routes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteViolation {
    /// Zero or negative requested amount, or payer equals payee.
    #[error("invalid request")]
    InvalidRequest,
    /// More routes than `max_paths`.
    #[error("{count} routes exceed the limit of {max}")]
    TooManyRoutes {
        /// Number of routes.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A route does not start at the payer or end at the payee, or has no hop.
    #[error("route {route} does not run from payer to payee")]
    BadEndpoints {
        /// Index of the route.
        route: usize,
    },
    /// A route visits a node twice.
    #[error("route {route} is not a simple path")]
    NotSimple {
        /// Index of the route.
        route: usize,
    },
    /// A route is longer than `max_hops`.
    #[error("route {route} has {hops} hops, more than allowed")]
    TooLong {
        /// Index of the route.
        route: usize,
        /// Its hops.
        hops: usize,
    },
    /// A route carries zero or negative atoms.
    #[error("route {route} carries a non-positive amount")]
    NonPositiveAmount {
        /// Index of the route.
        route: usize,
    },
    /// A route passes through an avoided node.
    #[error("route {route} passes through avoided node {node}")]
    Avoided {
        /// Index of the route.
        route: usize,
        /// The node.
        node: NodeId,
    },
    /// Two consecutive nodes of a route share no pair.
    #[error("route {route} uses a missing pair {from} -> {to}")]
    NoPair {
        /// Index of the route.
        route: usize,
        /// Hop start.
        from: NodeId,
        /// Hop end.
        to: NodeId,
    },
    /// An inner node is blocked by a line of a pair on the route.
    #[error("route {route}: node {node} is blocked by a line of pair {lo}-{hi}")]
    Blocked {
        /// Index of the route.
        route: usize,
        /// The blocked inner node.
        node: NodeId,
        /// The pair's smaller node.
        lo: NodeId,
        /// The pair's larger node.
        hi: NodeId,
    },
    /// The routes together exceed a hop's capacity.
    #[error("hop {from} -> {to} carries {used} atoms over its capacity {capacity}")]
    OverCapacity {
        /// Hop start.
        from: NodeId,
        /// Hop end.
        to: NodeId,
        /// Sum of the route amounts over the hop.
        used: i128,
        /// The hop's capacity for this payment.
        capacity: i128,
    },
    /// The amounts do not add up to the requested amount.
    #[error("routes carry {actual} atoms, not {expected}")]
    TotalMismatch {
        /// The requested amount.
        expected: i128,
        /// The sum of the routes (saturated on overflow).
        actual: i128,
    },
}

/// The first `blocked` policy broken by `path`: (blocked inner node, pair).
pub(super) fn blocked_violation(g: &CreditGraph, path: &[NodeId]) -> Option<(NodeId, PairId)> {
    if path.len() < 3 {
        return None;
    }
    let inner = &path[1..path.len() - 1];
    for w in path.windows(2) {
        let Some(pid) = g.find(w[0], w[1]) else { continue };
        let p = g.pair(pid);
        for slot in [&p.line_lo_hi, &p.line_hi_lo].into_iter().flatten() {
            if let Some(&b) = slot.policy.blocked.iter().find(|b| inner.contains(b)) {
                return Some((b, pid));
            }
        }
    }
    None
}

/// Checks a set of routes for a payment of `amount` from `s` to `t` against `g` and `limits`
/// (see the [`routing`](super) module documentation for the rules).
pub fn check_routes(
    g: &CreditGraph,
    s: NodeId,
    t: NodeId,
    amount: i128,
    routes: &[Route],
    limits: &RouteLimits,
) -> Result<(), RouteViolation> {
    if amount <= 0 || s == t {
        return Err(RouteViolation::InvalidRequest);
    }
    if routes.len() > limits.max_paths {
        return Err(RouteViolation::TooManyRoutes {
            count: routes.len(),
            max: limits.max_paths,
        });
    }
    let mut used: BTreeMap<(NodeId, NodeId), i128> = BTreeMap::new();
    let mut total: i128 = 0;
    for (i, r) in routes.iter().enumerate() {
        if r.path.len() < 2 || r.path.first() != Some(&s) || r.path.last() != Some(&t) {
            return Err(RouteViolation::BadEndpoints { route: i });
        }
        let mut seen = HashSet::with_capacity(r.path.len());
        if !r.path.iter().all(|v| seen.insert(*v)) {
            return Err(RouteViolation::NotSimple { route: i });
        }
        if r.hops() > limits.max_hops {
            return Err(RouteViolation::TooLong {
                route: i,
                hops: r.hops(),
            });
        }
        if r.amount <= 0 {
            return Err(RouteViolation::NonPositiveAmount { route: i });
        }
        if let Some(&node) = r.path[1..r.path.len() - 1]
            .iter()
            .find(|v| limits.avoid.contains(v))
        {
            return Err(RouteViolation::Avoided { route: i, node });
        }
        for w in r.path.windows(2) {
            if g.find(w[0], w[1]).is_none() {
                return Err(RouteViolation::NoPair {
                    route: i,
                    from: w[0],
                    to: w[1],
                });
            }
            let e = used.entry((w[0], w[1])).or_insert(0);
            *e = e.saturating_add(r.amount);
        }
        if let Some((node, pid)) = blocked_violation(g, &r.path) {
            let p = g.pair(pid);
            return Err(RouteViolation::Blocked {
                route: i,
                node,
                lo: p.lo,
                hi: p.hi,
            });
        }
        total = total.saturating_add(r.amount);
    }
    for (&(from, to), &u) in &used {
        let capacity = g.hop_capacity(from, to, s, t);
        if u > capacity {
            return Err(RouteViolation::OverCapacity {
                from,
                to,
                used: u,
                capacity,
            });
        }
    }
    if total != amount {
        return Err(RouteViolation::TotalMismatch {
            expected: amount,
            actual: total,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{chain, trust};
    use super::super::Router;
    use super::*;

    #[test]
    fn shared_hop_is_not_double_counted() {
        // Two paths 0->1->3 and 0->2->3 plus 1->2; hop 0->1 has only 30.
        let mut g = CreditGraph::new();
        trust(&mut g, 1, 0, 30);
        trust(&mut g, 2, 0, 30);
        trust(&mut g, 3, 1, 100);
        trust(&mut g, 3, 2, 100);
        trust(&mut g, 2, 1, 100);
        let mut r = Router::new();
        let lim = RouteLimits::default();
        let plan = r.max_flow(&g, 0, 3, &lim);
        assert_eq!(plan.total, 60);
        check_routes(&g, 0, 3, 60, &plan.routes, &lim).unwrap();
        // A forged plan that reuses hop 0->1 twice is rejected.
        let forged = vec![
            Route {
                path: vec![0, 1, 3],
                amount: 30,
            },
            Route {
                path: vec![0, 1, 2, 3],
                amount: 30,
            },
        ];
        assert!(matches!(
            check_routes(&g, 0, 3, 60, &forged, &lim),
            Err(RouteViolation::OverCapacity { from: 0, to: 1, .. })
        ));
    }

    #[test]
    fn check_routes_rejects_malformed_plans() {
        let g = chain(100);
        let lim = RouteLimits::default();
        let r = |path: Vec<NodeId>, amount| Route { path, amount };
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &[r(vec![0, 1, 2], 10)], &lim),
            Err(RouteViolation::BadEndpoints { .. })
        ));
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &[r(vec![0, 1, 0, 1, 2, 3], 10)], &lim),
            Err(RouteViolation::NotSimple { .. })
        ));
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &[r(vec![0, 2, 3], 10)], &lim),
            Err(RouteViolation::NoPair { .. })
        ));
        assert!(matches!(
            check_routes(&g, 0, 3, 10, &[r(vec![0, 1, 2, 3], 9)], &lim),
            Err(RouteViolation::TotalMismatch { .. })
        ));
        assert!(matches!(
            check_routes(
                &g,
                0,
                3,
                10,
                &[r(vec![0, 1, 2, 3], 10), r(vec![0, 1, 2, 3], 0)],
                &lim
            ),
            Err(RouteViolation::NonPositiveAmount { .. })
        ));
        let one = RouteLimits {
            max_paths: 1,
            ..RouteLimits::default()
        };
        assert!(matches!(
            check_routes(
                &g,
                0,
                3,
                10,
                &[r(vec![0, 1, 2, 3], 5), r(vec![0, 1, 2, 3], 5)],
                &one
            ),
            Err(RouteViolation::TooManyRoutes { .. })
        ));
    }
}
