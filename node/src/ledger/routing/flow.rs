//! The second plan candidate: a Dinic max flow on the subgraph, decomposed into its widest
//! short paths.

use super::check::blocked_violation;
use super::{FlowPlan, Route, Router, MAX_BLOCKED_RETRIES, NONE};
use crate::ledger::graph::{CreditGraph, NodeId};

impl Router {
    /// Candidate 2: Dinic max flow on the subgraph, decomposed into paths (widest first);
    /// keeps the `max_paths` widest that fit `hmax` hops and the blocked policies.
    pub(super) fn dinic_plan(&mut self, g: &CreditGraph, tl: u32, hmax: usize, max_paths: usize) -> FlowPlan {
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
}
