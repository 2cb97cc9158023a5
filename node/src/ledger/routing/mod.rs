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
//!
//! # Files
//! - `check.rs`: [`check_routes`], the rules every set of routes must satisfy.
//! - `router.rs`: [`Router`], its scratch state and the public queries.
//! - `scratch.rs`: epoch-stamped sets and maps the router reuses between queries.
//! - `bfs.rs`: the single path (bidirectional BFS).
//! - `subgraph.rs`: the per-query subgraph of nodes on short enough paths.
//! - `widest.rs`: widest hop-limited paths and the split over successive widest paths.
//! - `flow.rs`: the Dinic max-flow plan.

mod bfs;
mod check;
mod flow;
#[cfg(test)]
mod promise;
mod router;
mod scratch;
mod subgraph;
#[cfg(test)]
mod testkit;
mod widest;

pub use check::{check_routes, RouteViolation};
pub use router::Router;

use super::graph::NodeId;

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
