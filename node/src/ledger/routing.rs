//! Payment routing over a [`CreditGraph`]: single paths, hop- and path-limited max flow, and
//! the split of a payment over several routes (GEO v0.1 spec 6.3.2/6.3.4).
//!
//! Pure and synchronous. A [`Router`] keeps epoch-stamped scratch arrays so that a query after
//! the first allocates almost nothing; a router is cheap to keep per writer task.
//!
//! # Capacities and policies
//! The capacity of a hop `u -> v` for a payment `s -> t` is always
//! [`Pair::capacity_for`](super::graph::Pair::capacity_for)`(u, s, t)` (reservations, line
//! status, `can_be_intermediate` and `max_hop_usage` applied). For a set of routes, the amounts
//! of all routes crossing the same directed hop are summed and must fit that capacity. A node
//! listed in the `blocked` policy of any line (whatever its status) of any pair used by a route
//! must not be an inner node of that route. The router finds candidate paths, checks them and,
//! on a violation, excludes the offending pair for the rest of the query (bounded retries).
//!
//! # The max-flow promise
//! [`Router::max_flow`] returns a concrete [`FlowPlan`] that [`check_routes`] accepts, and
//! [`Router::route`] falls back to exactly that deterministic computation, so every amount
//! `0 < x <= max_flow(..).total` is payable on the same graph. The plan is a heuristic for
//! the NP-hard hop- and path-limited flow: the better of `max_paths` successive widest
//! hop-limited paths and a Dinic max flow (on the subgraph of nodes that lie on some path of at
//! most `max_hops` hops) decomposed into its widest short paths.

use std::collections::{BTreeMap, HashSet};

use super::graph::{CreditGraph, NodeId, PairId};

/// Retries after a candidate path broke a `blocked` policy (per path searched).
const MAX_BLOCKED_RETRIES: usize = 8;
/// "No value" marker in index arrays.
const NONE: u32 = u32::MAX;

/// Limits of one routing query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLimits {
    /// Most hops (edges) on one route.
    pub max_hops: usize,
    /// Most routes one payment is split over.
    pub max_paths: usize,
    /// Participants that must not be on any route (the payer and payee excepted).
    pub avoid: Vec<NodeId>,
}

impl Default for RouteLimits {
    fn default() -> Self {
        RouteLimits {
            max_hops: 6,
            max_paths: 3,
            avoid: Vec::new(),
        }
    }
}

/// One route of a payment and the atoms it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `path[0]` is the payer, the last node the payee; a simple path.
    pub path: Vec<NodeId>,
    /// Atoms sent along this path.
    pub amount: i128,
}

impl Route {
    /// Number of hops (edges).
    pub fn hops(&self) -> usize {
        self.path.len().saturating_sub(1)
    }
}

/// A concrete plan of routes; `total` is the sum of their amounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowPlan {
    /// The routes, largest first for plans built by [`Router::max_flow`].
    pub routes: Vec<Route>,
    /// Sum of the route amounts in atoms.
    pub total: i128,
}

/// Why a payment could not be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// The amount is zero or negative.
    #[error("amount must be greater than zero")]
    InvalidAmount,
    /// Payer and payee are the same participant.
    #[error("payer and payee are the same participant")]
    SameEndpoints,
    /// A node id outside the graph.
    #[error("unknown participant {0}")]
    UnknownNode(NodeId),
    /// No route at all under the limits.
    #[error("no route between payer and payee")]
    NoRoute,
    /// Routes exist but carry less than the amount.
    #[error("insufficient capacity: at most {available} atoms can be routed")]
    InsufficientCapacity {
        /// What the max-flow plan can carry (a promise: payable on the same state).
        available: i128,
    },
}

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
fn blocked_violation(g: &CreditGraph, path: &[NodeId]) -> Option<(NodeId, PairId)> {
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
/// (see the module documentation for the rules).
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

/// Epoch-stamped membership over dense indices: `begin` forgets everything in O(1).
#[derive(Debug, Clone, Default)]
struct Stamps {
    stamp: Vec<u32>,
    cur: u32,
}

impl Stamps {
    fn begin(&mut self, n: usize) {
        if self.stamp.len() < n {
            self.stamp.resize(n, 0);
        }
        if self.cur == u32::MAX {
            self.stamp.iter_mut().for_each(|x| *x = 0);
            self.cur = 0;
        }
        self.cur += 1;
    }

    fn has(&self, i: usize) -> bool {
        self.stamp.get(i).is_some_and(|&x| x == self.cur)
    }

    fn set(&mut self, i: usize) {
        if let Some(x) = self.stamp.get_mut(i) {
            *x = self.cur;
        }
    }

    fn unset(&mut self, i: usize) {
        if let Some(x) = self.stamp.get_mut(i) {
            *x = 0;
        }
    }
}

/// Epoch-stamped map over dense indices.
#[derive(Debug, Clone, Default)]
struct Marked<T: Copy + Default> {
    stamps: Stamps,
    val: Vec<T>,
}

impl<T: Copy + Default> Marked<T> {
    fn begin(&mut self, n: usize) {
        self.stamps.begin(n);
        if self.val.len() < n {
            self.val.resize(n, T::default());
        }
    }

    fn get(&self, i: usize) -> Option<T> {
        if self.stamps.has(i) {
            self.val.get(i).copied()
        } else {
            None
        }
    }

    fn has(&self, i: usize) -> bool {
        self.stamps.has(i)
    }

    fn set(&mut self, i: usize, v: T) {
        if let Some(x) = self.val.get_mut(i) {
            *x = v;
            self.stamps.set(i);
        }
    }
}

/// A directed arc of the per-query subgraph (local node indices).
#[derive(Debug, Clone, Copy)]
struct Arc {
    from: u32,
    to: u32,
    pair: PairId,
    cap: i128,
}

/// Reusable routing engine; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct Router {
    avoid: Stamps,
    /// Pairs and inner nodes excluded for the rest of a query after a `blocked` violation.
    banned: Stamps,
    banned_node: Stamps,
    /// Bidirectional BFS: (parent, depth) per side.
    fwd: Marked<(NodeId, u32)>,
    bwd: Marked<(NodeId, u32)>,
    front_a: Vec<NodeId>,
    front_b: Vec<NodeId>,
    next: Vec<NodeId>,
    /// Hops to the payee over positive arcs (global ids).
    dist_t: Marked<u32>,
    /// Global id -> local id of the per-query subgraph.
    local: Marked<u32>,
    nodes: Vec<NodeId>,
    lds: Vec<u32>,
    ldt: Vec<u32>,
    arc_start: Vec<u32>,
    arcs: Vec<Arc>,
    res: Vec<i128>,
    /// Widest-path DP, `(max_hops + 1) * nodes` entries, kept zero between calls.
    width: Vec<i128>,
    parent: Vec<u32>,
    layers: Vec<Vec<u32>>,
    /// Cycle removal: local node -> position in the path being built.
    pos: Vec<u32>,
    /// Dinic scratch (residual graph with reverse arcs).
    din_to: Vec<u32>,
    din_cap: Vec<i128>,
    din_start: Vec<u32>,
    din_adj: Vec<u32>,
    din_level: Vec<u32>,
    din_iter: Vec<u32>,
    din_queue: Vec<u32>,
    din_stack: Vec<u32>,
}

/// A path found in the subgraph: local nodes, arc indices, bottleneck.
struct LocalPath {
    nodes: Vec<u32>,
    arcs: Vec<u32>,
    width: i128,
}

impl Router {
    /// A router with empty scratch buffers (they grow on first use).
    pub fn new() -> Router {
        Router::default()
    }

    fn begin_query(&mut self, g: &CreditGraph, s: NodeId, t: NodeId, limits: &RouteLimits) {
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
    fn punish(&mut self, (node, pid): (NodeId, PairId)) -> Option<(NodeId, PairId)> {
        if self.banned_node.has(node as usize) {
            self.banned.set(pid as usize);
            None
        } else {
            self.banned_node.set(node as usize);
            Some((node, pid))
        }
    }

    /// Replaces the node ban of `punish` by a ban of the pair.
    fn unpunish(&mut self, (node, pid): (NodeId, PairId)) {
        self.banned_node.unset(node as usize);
        self.banned.set(pid as usize);
    }

    fn valid_endpoints(g: &CreditGraph, s: NodeId, t: NodeId, limits: &RouteLimits) -> bool {
        let n = g.node_count();
        s != t && (s as usize) < n && (t as usize) < n && limits.max_hops > 0 && limits.max_paths > 0
    }

    /// Shortest (fewest hops) path whose every hop can carry `amount`; bidirectional BFS,
    /// limited to `limits.max_hops` hops. `None` when there is none (or the request is invalid).
    pub fn single_path(
        &mut self,
        g: &CreditGraph,
        s: NodeId,
        t: NodeId,
        amount: i128,
        limits: &RouteLimits,
    ) -> Option<Route> {
        if amount <= 0 || !Self::valid_endpoints(g, s, t, limits) {
            return None;
        }
        self.begin_query(g, s, t, limits);
        let hmax = limits.max_hops.min(g.node_count());
        let mut undo = None;
        for _ in 0..=MAX_BLOCKED_RETRIES {
            let Some(path) = self.bibfs(g, s, t, amount, hmax) else {
                self.unpunish(undo.take()?);
                continue;
            };
            match blocked_violation(g, &path) {
                None => return Some(Route { path, amount }),
                Some(v) => undo = self.punish(v),
            }
        }
        None
    }

    fn bibfs(
        &mut self,
        g: &CreditGraph,
        s: NodeId,
        t: NodeId,
        amount: i128,
        hmax: usize,
    ) -> Option<Vec<NodeId>> {
        let n = g.node_count();
        self.fwd.begin(n);
        self.bwd.begin(n);
        self.fwd.set(s as usize, (NONE, 0));
        self.bwd.set(t as usize, (NONE, 0));
        let mut fa = std::mem::take(&mut self.front_a);
        let mut fb = std::mem::take(&mut self.front_b);
        let mut next = std::mem::take(&mut self.next);
        fa.clear();
        fb.clear();
        fa.push(s);
        fb.push(t);
        let (mut df, mut db) = (0u32, 0u32);
        let mut meet: Option<(u32, NodeId, NodeId)> = None;
        while ((df + db) as usize) < hmax && !fa.is_empty() && !fb.is_empty() {
            next.clear();
            if fa.len() <= fb.len() {
                for &u in &fa {
                    for &(v, pid) in g.neighbors(u) {
                        if self.fwd.has(v as usize)
                            || self.avoid.has(v as usize)
                            || self.banned_node.has(v as usize)
                            || self.banned.has(pid as usize)
                            || g.pair(pid).capacity_for(u, s, t) < amount
                        {
                            continue;
                        }
                        if let Some((_, dv)) = self.bwd.get(v as usize) {
                            let len = df + 1 + dv;
                            if meet.is_none_or(|m| len < m.0) {
                                meet = Some((len, u, v));
                            }
                            continue;
                        }
                        self.fwd.set(v as usize, (u, df + 1));
                        next.push(v);
                    }
                }
                df += 1;
                std::mem::swap(&mut fa, &mut next);
            } else {
                for &v in &fb {
                    for &(u, pid) in g.neighbors(v) {
                        if self.bwd.has(u as usize)
                            || self.avoid.has(u as usize)
                            || self.banned_node.has(u as usize)
                            || self.banned.has(pid as usize)
                            || g.pair(pid).capacity_for(u, s, t) < amount
                        {
                            continue;
                        }
                        if let Some((_, du)) = self.fwd.get(u as usize) {
                            let len = du + 1 + db;
                            if meet.is_none_or(|m| len < m.0) {
                                meet = Some((len, u, v));
                            }
                            continue;
                        }
                        self.bwd.set(u as usize, (v, db + 1));
                        next.push(u);
                    }
                }
                db += 1;
                std::mem::swap(&mut fb, &mut next);
            }
            if meet.is_some() {
                break;
            }
        }
        self.front_a = fa;
        self.front_b = fb;
        self.next = next;
        let (_, u, v) = meet?;
        let mut path = Vec::with_capacity(hmax + 1);
        let mut x = u;
        while x != NONE {
            path.push(x);
            x = self.fwd.get(x as usize).map_or(NONE, |p| p.0);
        }
        path.reverse();
        let mut x = v;
        while x != NONE {
            path.push(x);
            x = self.bwd.get(x as usize).map_or(NONE, |p| p.0);
        }
        let mut seen = HashSet::with_capacity(path.len());
        let simple = path.iter().all(|v| seen.insert(*v));
        (simple && path.len() <= hmax + 1).then_some(path)
    }

    /// Builds the subgraph of nodes and arcs that lie on some `s -> t` path of at most `hmax`
    /// hops over positive capacities, avoiding `limits.avoid`. Two BFS passes. False when empty.
    fn build_subgraph(&mut self, g: &CreditGraph, s: NodeId, t: NodeId, hmax: usize) -> bool {
        let n = g.node_count();
        let hmax32 = u32::try_from(hmax).unwrap_or(u32::MAX);
        self.dist_t.begin(n);
        self.dist_t.set(t as usize, 0);
        let mut front = std::mem::take(&mut self.front_a);
        let mut next = std::mem::take(&mut self.next);
        front.clear();
        front.push(t);
        let mut depth = 0u32;
        while depth < hmax32 && !front.is_empty() {
            next.clear();
            for &v in &front {
                for &(u, pid) in g.neighbors(v) {
                    if self.dist_t.has(u as usize)
                        || self.avoid.has(u as usize)
                        || g.pair(pid).capacity_for(u, s, t) <= 0
                    {
                        continue;
                    }
                    self.dist_t.set(u as usize, depth + 1);
                    if u != s {
                        next.push(u);
                    }
                }
            }
            depth += 1;
            std::mem::swap(&mut front, &mut next);
        }
        self.nodes.clear();
        self.lds.clear();
        self.ldt.clear();
        self.arc_start.clear();
        self.arcs.clear();
        let Some(dts) = self.dist_t.get(s as usize) else {
            self.front_a = front;
            self.next = next;
            return false;
        };
        self.local.begin(n);
        self.local.set(s as usize, 0);
        self.nodes.push(s);
        self.lds.push(0);
        self.ldt.push(dts);
        front.clear();
        front.push(s);
        let mut d = 0u32;
        while !front.is_empty() {
            next.clear();
            for &u in &front {
                if u == t {
                    continue;
                }
                for &(v, pid) in g.neighbors(u) {
                    if self.local.has(v as usize) {
                        continue;
                    }
                    let Some(dv) = self.dist_t.get(v as usize) else {
                        continue;
                    };
                    if d + 1 + dv > hmax32 || g.pair(pid).capacity_for(u, s, t) <= 0 {
                        continue;
                    }
                    let li = u32::try_from(self.nodes.len()).unwrap_or(NONE);
                    self.local.set(v as usize, li);
                    self.nodes.push(v);
                    self.lds.push(d + 1);
                    self.ldt.push(dv);
                    next.push(v);
                }
            }
            d += 1;
            std::mem::swap(&mut front, &mut next);
        }
        self.front_a = front;
        self.next = next;
        for li in 0..self.nodes.len() {
            self.arc_start
                .push(u32::try_from(self.arcs.len()).unwrap_or(NONE));
            let u = self.nodes[li];
            if u == t {
                continue;
            }
            for &(v, pid) in g.neighbors(u) {
                if v == s {
                    continue;
                }
                let Some(lv) = self.local.get(v as usize) else {
                    continue;
                };
                if self.lds[li] + 1 + self.ldt[lv as usize] > hmax32 {
                    continue;
                }
                let cap = g.pair(pid).capacity_for(u, s, t);
                if cap <= 0 {
                    continue;
                }
                self.arcs.push(Arc {
                    from: u32::try_from(li).unwrap_or(NONE),
                    to: lv,
                    pair: pid,
                    cap,
                });
            }
        }
        self.arc_start
            .push(u32::try_from(self.arcs.len()).unwrap_or(NONE));
        // DP tables: sized once per query, kept zero between widest-path calls.
        let cells = (hmax + 1) * self.nodes.len();
        self.width.clear();
        self.width.resize(cells, 0);
        self.parent.clear();
        self.parent.resize(cells, NONE);
        if self.layers.len() < hmax + 1 {
            self.layers.resize_with(hmax + 1, Vec::new);
        }
        self.pos.clear();
        self.pos.resize(self.nodes.len(), NONE);
        self.local.has(t as usize)
    }

    /// Widest walk of at most `hmax` hops from local 0 to `tl` over `self.res`, made simple
    /// (cycles cut, which keeps or raises the bottleneck). Fewest hops among the widest.
    fn widest(&mut self, tl: u32, hmax: usize) -> Option<LocalPath> {
        let m = self.nodes.len();
        let mut layers = std::mem::take(&mut self.layers);
        layers.iter_mut().for_each(Vec::clear);
        self.width[0] = i128::MAX;
        layers[0].push(0);
        for h in 1..=hmax {
            let (done, rest) = layers.split_at_mut(h);
            let prev = &done[h - 1];
            let cur = &mut rest[0];
            for &u in prev {
                if u == tl {
                    continue;
                }
                let wu = self.width[(h - 1) * m + u as usize];
                let (a0, a1) = (self.arc_start[u as usize], self.arc_start[u as usize + 1]);
                for a in a0..a1 {
                    let r = self.res[a as usize];
                    let arc = self.arcs[a as usize];
                    if r <= 0
                        || self.banned.has(arc.pair as usize)
                        || self.banned_node.has(self.nodes[arc.to as usize] as usize)
                    {
                        continue;
                    }
                    if h + self.ldt[arc.to as usize] as usize > hmax {
                        continue;
                    }
                    let w = wu.min(r);
                    let idx = h * m + arc.to as usize;
                    if self.width[idx] == 0 {
                        cur.push(arc.to);
                    }
                    if w > self.width[idx] {
                        self.width[idx] = w;
                        self.parent[idx] = a;
                    }
                }
            }
        }
        let mut best: Option<(usize, i128)> = None;
        for h in 1..=hmax {
            let w = self.width[h * m + tl as usize];
            if w > 0 && best.is_none_or(|b| w > b.1) {
                best = Some((h, w));
            }
        }
        let result = best.map(|(h, _)| {
            // Walk back from (h, t) to (0, s).
            let mut wnodes = Vec::with_capacity(h + 1);
            let mut warcs = Vec::with_capacity(h);
            let mut node = tl;
            for hh in (1..=h).rev() {
                let a = self.parent[hh * m + node as usize];
                wnodes.push(node);
                warcs.push(a);
                node = self.arcs[a as usize].from;
            }
            wnodes.push(node);
            wnodes.reverse();
            warcs.reverse();
            // Cut cycles.
            let mut nodes: Vec<u32> = Vec::with_capacity(wnodes.len());
            let mut arcs: Vec<u32> = Vec::with_capacity(warcs.len());
            for (i, &v) in wnodes.iter().enumerate() {
                let p = self.pos[v as usize];
                if p != NONE {
                    for &x in &nodes[p as usize + 1..] {
                        self.pos[x as usize] = NONE;
                    }
                    nodes.truncate(p as usize + 1);
                    arcs.truncate(p as usize);
                } else {
                    if i > 0 {
                        arcs.push(warcs[i - 1]);
                    }
                    self.pos[v as usize] = u32::try_from(nodes.len()).unwrap_or(NONE);
                    nodes.push(v);
                }
            }
            for &x in &nodes {
                self.pos[x as usize] = NONE;
            }
            let width = arcs.iter().map(|&a| self.res[a as usize]).min().unwrap_or(0);
            LocalPath { nodes, arcs, width }
        });
        // Reset the touched DP cells.
        for (h, layer) in layers.iter().enumerate().take(hmax + 1) {
            for &v in layer {
                self.width[h * m + v as usize] = 0;
                self.parent[h * m + v as usize] = NONE;
            }
        }
        self.layers = layers;
        result.filter(|p| p.width > 0)
    }

    fn global_path(&self, p: &LocalPath) -> Vec<NodeId> {
        p.nodes.iter().map(|&l| self.nodes[l as usize]).collect()
    }

    /// Candidate 1: up to `max_paths` successive widest paths on decreasing residuals.
    fn widest_plan(&mut self, g: &CreditGraph, tl: u32, hmax: usize, max_paths: usize) -> FlowPlan {
        self.res.clear();
        self.res.extend(self.arcs.iter().map(|a| a.cap));
        let mut plan = FlowPlan::default();
        'paths: for _ in 0..max_paths {
            let mut undo = None;
            for _ in 0..=MAX_BLOCKED_RETRIES {
                let Some(p) = self.widest(tl, hmax) else {
                    match undo.take() {
                        Some(v) => {
                            self.unpunish(v);
                            continue;
                        }
                        None => break 'paths,
                    }
                };
                let path = self.global_path(&p);
                if let Some(v) = blocked_violation(g, &path) {
                    undo = self.punish(v);
                    continue;
                }
                let Some(total) = plan.total.checked_add(p.width) else {
                    break 'paths;
                };
                for &a in &p.arcs {
                    self.res[a as usize] -= p.width;
                }
                plan.total = total;
                plan.routes.push(Route {
                    path,
                    amount: p.width,
                });
                continue 'paths;
            }
            break;
        }
        plan
    }

    /// Candidate 2: Dinic max flow on the subgraph, decomposed into paths (widest first);
    /// keeps the `max_paths` widest that fit `hmax` hops and the blocked policies.
    fn dinic_plan(&mut self, g: &CreditGraph, tl: u32, hmax: usize, max_paths: usize) -> FlowPlan {
        let m = self.nodes.len();
        // Residual graph: arc 2i is the real arc i, 2i+1 its reverse.
        self.din_to.clear();
        self.din_cap.clear();
        for a in &self.arcs {
            self.din_to.push(a.to);
            self.din_cap.push(a.cap);
            self.din_to.push(a.from);
            self.din_cap.push(0);
        }
        // Adjacency (CSR) of residual arcs by tail.
        self.din_start.clear();
        self.din_start.resize(m + 1, 0);
        for a in &self.arcs {
            self.din_start[a.from as usize + 1] += 1;
            self.din_start[a.to as usize + 1] += 1;
        }
        for i in 0..m {
            self.din_start[i + 1] += self.din_start[i];
        }
        self.din_adj.clear();
        self.din_adj.resize(self.din_to.len(), 0);
        self.din_iter.clear();
        self.din_iter.extend_from_slice(&self.din_start[..m]);
        for (i, a) in self.arcs.iter().enumerate() {
            let f = a.from as usize;
            let t = a.to as usize;
            let k = u32::try_from(2 * i).unwrap_or(NONE);
            self.din_adj[self.din_iter[f] as usize] = k;
            self.din_iter[f] += 1;
            self.din_adj[self.din_iter[t] as usize] = k + 1;
            self.din_iter[t] += 1;
        }
        // Bounded number of phases keeps the cost at a few passes over the subgraph.
        for _phase in 0..(2 * hmax + 4) {
            // BFS levels from s over residual arcs.
            self.din_level.clear();
            self.din_level.resize(m, NONE);
            self.din_level[0] = 0;
            self.din_queue.clear();
            self.din_queue.push(0);
            let mut qi = 0;
            while qi < self.din_queue.len() {
                let u = self.din_queue[qi] as usize;
                qi += 1;
                for k in self.din_start[u]..self.din_start[u + 1] {
                    let e = self.din_adj[k as usize] as usize;
                    let v = self.din_to[e] as usize;
                    if self.din_cap[e] > 0 && self.din_level[v] == NONE {
                        self.din_level[v] = self.din_level[u] + 1;
                        self.din_queue.push(v as u32);
                    }
                }
            }
            if self.din_level[tl as usize] == NONE {
                break;
            }
            self.din_iter.clear();
            self.din_iter.extend_from_slice(&self.din_start[..m]);
            // Blocking flow by iterative DFS with current-arc pointers.
            loop {
                self.din_stack.clear(); // residual arc indices on the current path
                let mut u = 0usize;
                let found = loop {
                    if u == tl as usize {
                        break true;
                    }
                    let end = self.din_start[u + 1];
                    let mut advanced = false;
                    while self.din_iter[u] < end {
                        let e = self.din_adj[self.din_iter[u] as usize] as usize;
                        let v = self.din_to[e] as usize;
                        if self.din_cap[e] > 0 && self.din_level[v] == self.din_level[u] + 1 {
                            self.din_stack.push(e as u32);
                            u = v;
                            advanced = true;
                            break;
                        }
                        self.din_iter[u] += 1;
                    }
                    if !advanced {
                        // Dead end: retreat.
                        self.din_level[u] = NONE;
                        match self.din_stack.pop() {
                            None => break false,
                            Some(e) => {
                                let back = self.din_to[(e ^ 1) as usize] as usize;
                                self.din_iter[back] += 1;
                                u = back;
                            }
                        }
                    }
                };
                if !found {
                    break;
                }
                let push = self
                    .din_stack
                    .iter()
                    .map(|&e| self.din_cap[e as usize])
                    .min()
                    .unwrap_or(0);
                if push <= 0 {
                    break;
                }
                for &e in &self.din_stack {
                    self.din_cap[e as usize] -= push;
                    self.din_cap[(e ^ 1) as usize] += push;
                }
            }
        }
        // Flow on real arcs, reusing `res` as the remaining flow to decompose.
        self.res.clear();
        self.res
            .extend((0..self.arcs.len()).map(|i| self.din_cap[2 * i + 1]));
        // Decompose: repeatedly take the widest walk over flow-carrying arcs.
        let mut paths: Vec<(Vec<NodeId>, i128)> = Vec::new();
        let mut guard = 0;
        while guard < 4 * max_paths + MAX_BLOCKED_RETRIES {
            guard += 1;
            let Some(p) = self.widest(tl, hmax) else { break };
            for &a in &p.arcs {
                self.res[a as usize] -= p.width;
            }
            let path = self.global_path(&p);
            if blocked_violation(g, &path).is_some() {
                continue;
            }
            paths.push((path, p.width));
            if paths.len() >= max_paths {
                break;
            }
        }
        let mut plan = FlowPlan::default();
        for (path, amount) in paths {
            let Some(total) = plan.total.checked_add(amount) else {
                break;
            };
            plan.total = total;
            plan.routes.push(Route { path, amount });
        }
        plan
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
    use super::super::graph::{LinePolicy, LineSlot, LineStatus};
    use super::*;
    use proptest::prelude::*;

    /// `from` trusts `to` for `limit`: `to` may pay `from` up to `limit`.
    fn trust(g: &mut CreditGraph, from: NodeId, to: NodeId, limit: i128) -> PairId {
        let id = g.find_or_insert(from, to);
        *g.pair_mut(id).line_from_mut(from) = Some(LineSlot {
            line: 0,
            limit,
            status: LineStatus::Active,
            policy: LinePolicy::default(),
        });
        id
    }

    fn policy(g: &mut CreditGraph, owner: NodeId, other: NodeId) -> &mut LinePolicy {
        let id = g.find(owner, other).unwrap();
        &mut g.pair_mut(id).line_from_mut(owner).as_mut().unwrap().policy
    }

    fn paths(routes: &[Route]) -> Vec<Vec<NodeId>> {
        routes.iter().map(|r| r.path.clone()).collect()
    }

    /// Payment chain 0 -> 1 -> 2 -> 3 (each receiver trusts its payer for `cap`).
    fn chain(cap: i128) -> CreditGraph {
        let mut g = CreditGraph::new();
        trust(&mut g, 1, 0, cap);
        trust(&mut g, 2, 1, cap);
        trust(&mut g, 3, 2, cap);
        g
    }

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
    fn fewest_hops_wins() {
        // Short path 0->4->3 and long path 0->1->2->3.
        let mut g = chain(100);
        trust(&mut g, 4, 0, 100);
        trust(&mut g, 3, 4, 100);
        let mut r = Router::new();
        let p = r.single_path(&g, 0, 3, 10, &RouteLimits::default()).unwrap();
        assert_eq!(p.path, vec![0, 4, 3]);
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
        let rg = super::super::datasets::ripple::parse_ripple(&ripple_text()).unwrap();
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
}
