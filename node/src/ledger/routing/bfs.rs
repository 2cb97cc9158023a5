//! The single path: the fewest-hops route that carries a whole amount, found by
//! bidirectional BFS (retrying around `blocked` policies).

use std::collections::HashSet;

use super::check::blocked_violation;
use super::{Route, RouteLimits, Router, MAX_BLOCKED_RETRIES, NONE};
use crate::ledger::graph::{CreditGraph, NodeId};

impl Router {
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
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{chain, trust};
    use super::*;

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
}
