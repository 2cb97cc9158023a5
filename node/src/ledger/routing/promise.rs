//! Tests of the max-flow promise: random small graphs against an exhaustive search, and
//! plans on the Ripple credit graph.

use proptest::prelude::*;

use super::check::blocked_violation;
use super::{check_routes, RouteLimits, Router};
use crate::ledger::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId};

/// A random line: (owner, other, limit, status selector, can_be_intermediate,
/// max_hop_usage, blocked sample).
type LineSpec = (u32, u32, i128, u8, bool, Option<i128>, Vec<u32>);

/// A random small graph: (node count, lines, debts, reservations, policies).
#[derive(Debug, Clone)]
struct Case {
    n: u32,
    lines: Vec<LineSpec>,
    debts: Vec<(u32, u32, i128)>,
    reserves: Vec<(u32, u32, i128)>,
}

fn case() -> impl Strategy<Value = Case> {
    (2u32..=12).prop_flat_map(|n| {
        let line = (
            0..n,
            0..n,
            0i128..=100,
            0u8..10,
            prop::bool::weighted(0.9),
            prop::option::weighted(0.15, 0i128..=60),
            prop::collection::vec(0..n, 0..=1).boxed(),
        );
        (
            Just(n),
            prop::collection::vec(line, n as usize..=5 * n as usize),
            prop::collection::vec((0..n, 0..n, -60i128..=60), 0..=n as usize),
            prop::collection::vec((0..n, 0..n, 0i128..=40), 0..=(n as usize / 2)),
        )
            .prop_map(|(n, lines, debts, reserves)| Case {
                n,
                lines,
                debts,
                reserves,
            })
    })
}

fn build(c: &Case) -> CreditGraph {
    let mut g = CreditGraph::new();
    g.ensure_nodes(c.n as usize);
    for (i, &(a, b, limit, st, can, max_hop, ref blocked)) in c.lines.iter().enumerate() {
        if a == b {
            continue;
        }
        let id = g.find_or_insert(a, b);
        // Blocked lists are rare (1 line in 4 keeps its sample).
        let blocked = if i % 4 == 0 { blocked.clone() } else { Vec::new() };
        *g.pair_mut(id).line_from_mut(a) = Some(LineSlot {
            line: u32::try_from(i).unwrap(),
            limit,
            status: match st {
                0 => LineStatus::Frozen,
                1 => LineStatus::Closed,
                _ => LineStatus::Active,
            },
            policy: LinePolicy {
                can_be_intermediate: can,
                max_hop_usage: max_hop,
                blocked,
                ..LinePolicy::default()
            },
        });
    }
    for &(a, b, d) in &c.debts {
        if let Some(id) = g.find(a, b) {
            g.pair_mut(id).apply_payment(a, d);
        }
    }
    for &(a, b, r) in &c.reserves {
        if let Some(id) = g.find(a, b) {
            g.pair_mut(id).reserve(a, r);
        }
    }
    g
}

/// Widest simple path of at most `max_hops` hops that honours avoid and blocked, by
/// exhaustive search (small graphs only).
fn brute_widest(g: &CreditGraph, s: NodeId, t: NodeId, lim: &RouteLimits) -> i128 {
    fn go(
        g: &CreditGraph,
        path: &mut Vec<NodeId>,
        width: i128,
        s: NodeId,
        t: NodeId,
        lim: &RouteLimits,
        best: &mut i128,
    ) {
        let u = *path.last().unwrap();
        if u == t {
            if blocked_violation(g, path).is_none() {
                *best = (*best).max(width);
            }
            return;
        }
        if path.len() > lim.max_hops {
            return;
        }
        for &(v, _) in g.neighbors(u) {
            if path.contains(&v) || (v != t && lim.avoid.contains(&v)) {
                continue;
            }
            let c = g.hop_capacity(u, v, s, t);
            if c <= 0 {
                continue;
            }
            path.push(v);
            go(g, path, width.min(c), s, t, lim, best);
            path.pop();
        }
    }
    let mut best = 0;
    go(g, &mut vec![s], i128::MAX, s, t, lim, &mut best);
    best
}

fn ripple_text() -> String {
    let dir = std::env::var("GEO_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data").to_string());
    std::fs::read_to_string(format!("{dir}/ripple-lcc.credit-links")).unwrap()
}

#[test]
fn ripple_max_flow_plans_are_valid() {
    let rg = crate::ledger::datasets::ripple::parse_ripple(&ripple_text()).unwrap();
    assert_eq!(rg.report.links, 99_787);
    assert_eq!(rg.report.nodes, 67_149);
    assert_eq!(rg.report.merged, 0);
    // README: 142,132 positive arcs; rounding down to atoms zeroes 736 below 10^-8 units.
    assert!(
        rg.report.positive_arcs <= 142_132 && rg.report.positive_arcs > 141_000,
        "{:?}",
        rg.report
    );
    let g = &rg.graph;
    let mut r = Router::new();
    let lim = RouteLimits::default();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        u32::try_from(x % 67_149).unwrap()
    };
    let mut paid = 0;
    for _ in 0..40 {
        let (s, t) = (next(), next());
        if s == t {
            continue;
        }
        let plan = r.max_flow(g, s, t, &lim);
        if plan.total == 0 {
            continue;
        }
        paid += 1;
        check_routes(g, s, t, plan.total, &plan.routes, &lim).unwrap();
        let routes = r.route(g, s, t, plan.total, &lim).unwrap();
        check_routes(g, s, t, plan.total, &routes, &lim).unwrap();
        assert!(r.route(g, s, t, plan.total + 1, &lim).is_err());
        if let Some(p) = r.single_path(g, s, t, 100_000_000, &lim) {
            check_routes(g, s, t, 100_000_000, &[p], &lim).unwrap();
        }
    }
    assert!(paid > 5, "too few routable pairs: {paid}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn max_flow_is_a_promise(
        c in case(),
        s in 0u32..12,
        t in 0u32..12,
        hops in 1usize..=6,
        k in 1usize..=4,
        avoid in prop::collection::vec(0u32..12, 0..=2),
        pick in any::<u64>(),
        amount in 1i128..=150,
    ) {
        let g = build(&c);
        let s = s % c.n;
        let t = (s + 1 + t % (c.n - 1)) % c.n;
        let lim = RouteLimits { max_hops: hops, max_paths: k, avoid };
        let mut r = Router::new();
        let plan = r.max_flow(&g, s, t, &lim);
        prop_assert_eq!(plan.total, plan.routes.iter().map(|r| r.amount).sum::<i128>());
        if plan.total > 0 {
            check_routes(&g, s, t, plan.total, &plan.routes, &lim).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let x = 1 + (pick % u64::try_from(plan.total).unwrap()) as i128;
            for x in [x, 1, plan.total] {
                let routes = r.route(&g, s, t, x, &lim).map_err(|e| TestCaseError::fail(format!("route({x}) of total {}: {e}", plan.total)))?;
                check_routes(&g, s, t, x, &routes, &lim).map_err(|e| TestCaseError::fail(e.to_string()))?;
            }
        } else {
            prop_assert!(plan.routes.is_empty());
        }
        // Maximality checks. With `blocked` policies the path searches are heuristics (ban
        // and retry) that may disagree, so these hold only for graphs without them.
        let blocked = g.pairs().iter().any(|p| {
            [&p.line_lo_hi, &p.line_hi_lo].into_iter().flatten().any(|l| !l.policy.blocked.is_empty())
        });
        if !blocked {
            prop_assert!(r.route(&g, s, t, plan.total + 1, &lim).is_err(), "route(total+1) succeeded, total {}", plan.total);
            prop_assert!(plan.total >= brute_widest(&g, s, t, &lim), "widest single path beats the plan");
        }
        if let Some(p) = r.single_path(&g, s, t, amount, &lim) {
            check_routes(&g, s, t, amount, &[p], &lim).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        // Determinism: a fresh router and a reused one agree.
        prop_assert_eq!(Router::new().max_flow(&g, s, t, &lim), r.max_flow(&g, s, t, &lim));
    }
}
