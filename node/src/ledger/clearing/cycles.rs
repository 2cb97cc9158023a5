//! Short cycles of clearable debts: the triggered search through the pairs a payment changed
//! ([`cycles_through`], GEO spec 7.2.1) and the listing of a whole graph's largest short cycles
//! ([`short_cycles`]).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};

use super::{clearable_debt, clearable_debt_of};
use crate::ledger::graph::{CreditGraph, NodeId, PairId};

/// A cycle of clearable debts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cycle {
    /// `nodes[i]` owes `nodes[i + 1]`, the last owes `nodes[0]`. Rotated so that the smallest
    /// node id comes first.
    pub nodes: Vec<NodeId>,
    /// The smallest debt on the cycle: what clearing it cancels on every edge.
    pub amount: i128,
}

/// Rotates a cycle so its smallest node comes first (direction kept).
fn canonical(mut nodes: Vec<NodeId>) -> Vec<NodeId> {
    let pos = nodes
        .iter()
        .enumerate()
        .min_by_key(|&(_, v)| *v)
        .map_or(0, |(i, _)| i);
    nodes.rotate_left(pos);
    nodes
}

/// Largest amount first, then lexicographically smallest nodes.
fn by_size(a: &Cycle, b: &Cycle) -> Ordering {
    b.amount.cmp(&a.amount).then_with(|| a.nodes.cmp(&b.nodes))
}

/// The clearable debts `node -> creditor` of the graph.
fn clearable_out(g: &CreditGraph, node: NodeId) -> impl Iterator<Item = (NodeId, i128)> + '_ {
    g.neighbors(node).iter().filter_map(move |&(other, id)| {
        let amount = clearable_debt_of(g.pair(id), node);
        (amount > 0).then_some((other, amount))
    })
}

/// The nodes `w` with clearable debts `from -> w` and `w -> to`, with both amounts; `w` is
/// neither `from` nor `to`. Scans the smaller of the two adjacency lists.
fn middles(g: &CreditGraph, from: NodeId, to: NodeId, mut visit: impl FnMut(NodeId, i128, i128)) {
    if g.neighbors(from).len() <= g.neighbors(to).len() {
        for (w, first) in clearable_out(g, from) {
            if w != to {
                let second = clearable_debt(g, w, to);
                if second > 0 {
                    visit(w, first, second);
                }
            }
        }
    } else {
        for &(w, id) in g.neighbors(to) {
            if w == from {
                continue;
            }
            let second = clearable_debt_of(g.pair(id), w);
            if second > 0 {
                let first = clearable_debt(g, from, w);
                if first > 0 {
                    visit(w, first, second);
                }
            }
        }
    }
}

/// Triggered search (GEO spec 7.2.1): cycles of 3..=`max_len` participants (`max_len` is
/// capped at 4) of clearable debts that use the debt of one of the `changed` pairs.
///
/// Deduplicated (a cycle through several changed pairs appears once), largest amount first
/// (ties: smallest node list), at most `limit`. Unknown pair ids and pairs without a clearable
/// debt are skipped.
pub fn cycles_through(g: &CreditGraph, changed: &[PairId], max_len: usize, limit: usize) -> Vec<Cycle> {
    let max_len = max_len.min(4);
    if max_len < 3 || limit == 0 {
        return Vec::new();
    }
    let mut seen: HashSet<Vec<NodeId>> = HashSet::new();
    let mut found: Vec<Cycle> = Vec::new();
    let mut add = |nodes: Vec<NodeId>, amount: i128| {
        let nodes = canonical(nodes);
        if seen.insert(nodes.clone()) {
            found.push(Cycle { nodes, amount });
        }
    };
    for &id in changed {
        let Some(pair) = g.pairs().get(id as usize) else {
            continue;
        };
        if pair.debt == 0 {
            continue;
        }
        let a = if pair.debt > 0 { pair.lo } else { pair.hi };
        let b = pair.other(a);
        let ab = clearable_debt_of(pair, a);
        if ab == 0 {
            continue;
        }
        // a -> b -> c -> a
        middles(g, b, a, |c, bc, ca| add(vec![a, b, c], ab.min(bc).min(ca)));
        if max_len >= 4 {
            // a -> b -> c -> d -> a
            for (c, bc) in clearable_out(g, b) {
                if c == a {
                    continue;
                }
                middles(g, c, a, |d, cd, da| {
                    if d != b {
                        add(vec![a, b, c, d], ab.min(bc).min(cd).min(da));
                    }
                });
            }
        }
    }
    found.sort_unstable_by(by_size);
    found.truncate(limit);
    found
}

/// Heap entry ordered so that the *worst* kept cycle (smallest amount, then largest nodes) is
/// the heap's top.
struct Worst(Cycle);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        by_size(&self.0, &other.0)
    }
}

/// All cycles of 3..=`max_len` participants (`max_len` capped at 4) of clearable debts, for
/// listing: at most `limit`, largest amount first (ties: smallest node list). Each cycle appears
/// once, rotated to start at its smallest node.
pub fn short_cycles(g: &CreditGraph, max_len: usize, limit: usize) -> Vec<Cycle> {
    let max_len = max_len.min(4);
    if max_len < 3 || limit == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Worst> = BinaryHeap::new();
    let mut offer = |nodes: &[NodeId], amount: i128| {
        if heap.len() >= limit {
            let Some(worst) = heap.peek() else { return };
            let candidate_better =
                amount > worst.0.amount || (amount == worst.0.amount && nodes < worst.0.nodes.as_slice());
            if !candidate_better {
                return;
            }
            heap.pop();
        }
        heap.push(Worst(Cycle {
            nodes: nodes.to_vec(),
            amount,
        }));
    };
    let count = NodeId::try_from(g.node_count()).unwrap_or(NodeId::MAX);
    for s in 0..count {
        // Every cycle is found once: from its smallest node `s`, all others larger.
        for (b, sb) in clearable_out(g, s) {
            if b < s {
                continue;
            }
            for (c, bc) in clearable_out(g, b) {
                if c <= s {
                    continue;
                }
                let cs = clearable_debt(g, c, s);
                if cs > 0 {
                    offer(&[s, b, c], sb.min(bc).min(cs));
                }
                if max_len >= 4 {
                    middles(g, c, s, |d, cd, ds| {
                        if d > s && d != b {
                            offer(&[s, b, c, d], sb.min(bc).min(cd).min(ds));
                        }
                    });
                }
            }
        }
    }
    let mut out: Vec<Cycle> = heap.into_iter().map(|w| w.0).collect();
    out.sort_unstable_by(by_size);
    out
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{edge, fixed, graph_of, small_graph};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn triggered_search_finds_cycles_through_changed_pairs() {
        let edges = [
            edge(0, 1, 10),
            edge(1, 2, 10),
            edge(2, 0, 3),
            edge(2, 3, 5),
            edge(3, 0, 8),
            edge(4, 5, 1),
            edge(5, 6, 1),
            fixed(6, 4, 1),
        ];
        let g = graph_of(&edges);
        let p01 = g.find(0, 1).unwrap();
        let p12 = g.find(1, 2).unwrap();
        let cycles = cycles_through(&g, &[p01, p12, p01], 4, 10);
        assert_eq!(
            cycles,
            vec![
                Cycle {
                    nodes: vec![0, 1, 2, 3],
                    amount: 5
                },
                Cycle {
                    nodes: vec![0, 1, 2],
                    amount: 3
                },
            ]
        );
        assert_eq!(cycles_through(&g, &[p01], 3, 10).len(), 1);
        assert_eq!(cycles_through(&g, &[p01], 4, 1).len(), 1);
        assert!(cycles_through(&g, &[p01], 2, 10).is_empty());
        let p23 = g.find(2, 3).unwrap();
        assert_eq!(cycles_through(&g, &[p23], 4, 10).len(), 1);
        // The 4-5-6 triangle needs 4's consent on 6 -> 4.
        let p45 = g.find(4, 5).unwrap();
        assert!(cycles_through(&g, &[p45, 999], 4, 10).is_empty());
        assert_eq!(short_cycles(&g, 4, 10), cycles);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        #[test]
        fn short_cycles_are_real_cycles((n, edges) in small_graph()) {
            // Build a graph (one debt per pair, netted) and check every listed cycle.
            let g = graph_of(&edges);
            let cycles = short_cycles(&g, 4, 1000);
            let mut seen = HashSet::new();
            for c in &cycles {
                prop_assert!(c.nodes.len() == 3 || c.nodes.len() == 4);
                prop_assert!(seen.insert(c.nodes.clone()));
                let mut distinct = c.nodes.clone();
                distinct.sort_unstable();
                distinct.dedup();
                prop_assert_eq!(distinct.len(), c.nodes.len());
                let min = (0..c.nodes.len())
                    .map(|i| clearable_debt(&g, c.nodes[i], c.nodes[(i + 1) % c.nodes.len()]))
                    .min()
                    .unwrap();
                prop_assert!(min > 0);
                prop_assert_eq!(min, c.amount);
            }
            // Count independently by brute force over ordered tuples.
            let nn = n as u32;
            let mut count = 0;
            for a in 0..nn { for b in 0..nn { for c in 0..nn {
                if a < b && a < c && b != c && clearable_debt(&g, a, b) > 0
                    && clearable_debt(&g, b, c) > 0 && clearable_debt(&g, c, a) > 0 {
                    count += 1;
                }
                for d in 0..nn {
                    if a < b && a < c && a < d && b != c && b != d && c != d
                        && clearable_debt(&g, a, b) > 0 && clearable_debt(&g, b, c) > 0
                        && clearable_debt(&g, c, d) > 0 && clearable_debt(&g, d, a) > 0 {
                        count += 1;
                    }
                }
            }}}
            prop_assert_eq!(cycles.len(), count);
            // Triggered search through every pair finds the same set.
            let all: Vec<PairId> = (0..g.pairs().len() as PairId).collect();
            let mut through = cycles_through(&g, &all, 4, 1000);
            through.sort_unstable_by(by_size);
            prop_assert_eq!(through, cycles.clone());
            // Every cycle through one pair uses that pair.
            if let Some(&p) = all.first() {
                for c in cycles_through(&g, &[p], 4, 1000) {
                    let pair = g.pair(p);
                    let k = c.nodes.len();
                    let uses_pair = (0..k).any(|i| {
                        let (u, v) = (c.nodes[i], c.nodes[(i + 1) % k]);
                        (u.min(v), u.max(v)) == (pair.lo, pair.hi)
                    });
                    prop_assert!(uses_pair);
                }
            }
        }
    }
}
