//! The per-query subgraph of max-flow planning: the nodes and arcs that lie on some `s -> t`
//! path of at most `max_hops` hops, in local indices (local 0 is the payer).

use super::{Router, NONE};
use crate::ledger::graph::{CreditGraph, NodeId, PairId};

/// A directed arc of the per-query subgraph (local node indices).
#[derive(Debug, Clone, Copy)]
pub(super) struct Arc {
    pub(super) from: u32,
    pub(super) to: u32,
    pub(super) pair: PairId,
    pub(super) cap: i128,
}

/// A path found in the subgraph: local nodes, arc indices, bottleneck.
pub(super) struct LocalPath {
    pub(super) nodes: Vec<u32>,
    pub(super) arcs: Vec<u32>,
    pub(super) width: i128,
}

impl Router {
    /// Builds the subgraph of nodes and arcs that lie on some `s -> t` path of at most `hmax`
    /// hops over positive capacities, avoiding `limits.avoid`. Two BFS passes. False when empty.
    pub(super) fn build_subgraph(&mut self, g: &CreditGraph, s: NodeId, t: NodeId, hmax: usize) -> bool {
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

    pub(super) fn global_path(&self, p: &LocalPath) -> Vec<NodeId> {
        p.nodes.iter().map(|&l| self.nodes[l as usize]).collect()
    }
}
