//! Widest hop-limited paths on the subgraph, and the first plan candidate: a split over up to
//! `max_paths` successive widest paths.

use super::check::blocked_violation;
use super::subgraph::LocalPath;
use super::{FlowPlan, Route, Router, MAX_BLOCKED_RETRIES, NONE};
use crate::ledger::graph::CreditGraph;

impl Router {
    /// Widest walk of at most `hmax` hops from local 0 to `tl` over `self.res`, made simple
    /// (cycles cut, which keeps or raises the bottleneck). Fewest hops among the widest.
    pub(super) fn widest(&mut self, tl: u32, hmax: usize) -> Option<LocalPath> {
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

    /// Candidate 1: up to `max_paths` successive widest paths on decreasing residuals.
    pub(super) fn widest_plan(
        &mut self,
        g: &CreditGraph,
        tl: u32,
        hmax: usize,
        max_paths: usize,
    ) -> FlowPlan {
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
}
