//! The optimal pass: the largest total debt that can be cancelled at once, solved exactly as a
//! min-cost flow ([`optimal_clearing`]).
//!
//! # The optimal pass
//!
//! With `x_e` the reduction of edge `e` and `y_e = amount_e - x_e` the debt left, the best set-off
//! keeps every node's balance `sum_out y - sum_in y` equal to the one of the amounts and
//! minimises `sum y_e` over `0 <= y_e <= amount_e`. That is a min-cost flow with unit costs and
//! supplies `b(v) = sum_out amount - sum_in amount`, for which `y = amount` is feasible and `y`
//! starts at zero. Only edges inside a strongly connected component of the clearable subgraph
//! can carry a reduction (an edge between components lies on no cycle), so the flow runs on
//! those edges only (the rest keep `y = amount`; their balances are left out of the supplies).
//!
//! The solver is primal-dual: each phase computes exact shortest distances from a super source
//! (linked to the nodes of positive supply) with Dijkstra on reduced costs (Dial's buckets), raises the node
//! potentials by them, and then sends a maximum flow over the arcs of zero reduced cost with
//! Dinic's algorithm (BFS levels, iterative blocking flow with current-arc pointers). Every
//! phase raises the source-sink distance by at least one, and distances are below the node
//! count, so it terminates; everything is integer (`i128` amounts, `i64` potentials) and exact.
//! No recursion anywhere: Tarjan's SCC and the blocking flow use explicit stacks.

use std::cmp::Ordering;

use super::DebtEdge;
use crate::ledger::graph::NodeId;

/// The outcome of [`optimal_clearing`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearingPlan {
    /// `(index into the input edges, atoms to cancel)`, atoms > 0, ascending by index, each index
    /// at most once.
    pub reductions: Vec<(usize, i128)>,
    /// The sum of all reductions.
    pub cleared: i128,
}

/// Optimal multilateral set-off.
///
/// Returns reductions `x_e` with `0 <= x_e <= amount_e`, `x_e = 0` for non-clearable edges and
/// edges with a non-positive amount, forming a circulation (every node's net position
/// unchanged), with the largest possible `sum x_e`. Node ids at or beyond `node_count` are
/// accepted (the node count is only a sizing hint). Parallel edges and self-loops are handled as
/// the mathematics says (a self-loop is a circulation of its own and is cleared entirely).
pub fn optimal_clearing(node_count: usize, edges: &[DebtEdge]) -> ClearingPlan {
    // Candidate edges: clearable with a positive amount.
    let candidates: Vec<usize> = (0..edges.len())
        .filter(|&i| edges[i].clearable && edges[i].amount > 0)
        .collect();
    if candidates.is_empty() {
        return ClearingPlan::default();
    }
    let n = candidates
        .iter()
        .map(|&i| edges[i].debtor.max(edges[i].creditor) as usize + 1)
        .max()
        .unwrap_or(0)
        .max(node_count);

    // Strongly connected components of the candidate subgraph; keep the inner edges.
    let arcs: Vec<(u32, u32)> = candidates
        .iter()
        .map(|&i| (edges[i].debtor, edges[i].creditor))
        .collect();
    let comp = strongly_connected_components(n, &arcs);
    let kept: Vec<usize> = candidates
        .iter()
        .zip(&arcs)
        .filter(|(_, &(u, v))| comp[u as usize] == comp[v as usize])
        .map(|(&i, _)| i)
        .collect();
    if kept.is_empty() {
        return ClearingPlan::default();
    }

    // Compact the nodes touched by kept edges.
    let mut local = vec![u32::MAX; n];
    let mut count: u32 = 0;
    let mut local_of = |v: NodeId| -> u32 {
        let slot = &mut local[v as usize];
        if *slot == u32::MAX {
            *slot = count;
            count += 1;
        }
        *slot
    };
    let kept_arcs: Vec<(u32, u32, i128)> = kept
        .iter()
        .map(|&i| {
            let e = &edges[i];
            (local_of(e.debtor), local_of(e.creditor), e.amount)
        })
        .collect();

    let remaining = min_cost_debts(count as usize, &kept_arcs);
    let mut plan = ClearingPlan::default();
    for (&i, (&(_, _, amount), &left)) in kept.iter().zip(kept_arcs.iter().zip(&remaining)) {
        let x = amount - left;
        if x > 0 {
            plan.reductions.push((i, x));
            plan.cleared += x;
        }
    }
    plan.reductions.sort_unstable_by_key(|&(i, _)| i);
    plan
}

/// Component id of every node (Tarjan, iterative). `arcs` are `(from, to)` with ids below `n`.
fn strongly_connected_components(n: usize, arcs: &[(u32, u32)]) -> Vec<u32> {
    // CSR adjacency.
    let mut start = vec![0usize; n + 1];
    for &(u, _) in arcs {
        start[u as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut targets = vec![0u32; arcs.len()];
    for &(u, v) in arcs {
        targets[fill[u as usize]] = v;
        fill[u as usize] += 1;
    }

    const UNSEEN: u32 = u32::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut comp = vec![UNSEEN; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, usize)> = Vec::new();
    let mut counter: u32 = 0;
    let mut comps: u32 = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        index[root] = counter;
        low[root] = counter;
        counter += 1;
        stack.push(root as u32);
        on_stack[root] = true;
        calls.push((root as u32, start[root]));
        while let Some(top) = calls.last_mut() {
            let v = top.0 as usize;
            if top.1 < start[v + 1] {
                let w = targets[top.1] as usize;
                top.1 += 1;
                if index[w] == UNSEEN {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w as u32);
                    on_stack[w] = true;
                    calls.push((w as u32, start[w]));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                let p = parent as usize;
                low[p] = low[p].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp[w as usize] = comps;
                    if w as usize == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    comp
}

/// The residual network of the min-cost flow: arcs in twin pairs (`a ^ 1` is the reverse).
struct Network {
    /// Head of each arc.
    to: Vec<u32>,
    /// Residual capacity of each arc.
    cap: Vec<i128>,
    /// Cost of each arc (+1 for a debt kept, -1 for its reverse, 0 for source/sink arcs).
    cost: Vec<i64>,
    /// CSR: the arcs leaving node `v` are `out[start[v]..start[v + 1]]`.
    start: Vec<usize>,
    out: Vec<u32>,
}

impl Network {
    fn new(nodes: usize, arcs: &[(u32, u32, i128, i64)]) -> Network {
        let mut to = Vec::with_capacity(arcs.len() * 2);
        let mut cap = Vec::with_capacity(arcs.len() * 2);
        let mut cost = Vec::with_capacity(arcs.len() * 2);
        let mut start = vec![0usize; nodes + 1];
        for &(u, v, c, w) in arcs {
            to.push(v);
            cap.push(c);
            cost.push(w);
            to.push(u);
            cap.push(0);
            cost.push(-w);
            start[u as usize + 1] += 1;
            start[v as usize + 1] += 1;
        }
        for i in 0..nodes {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut out = vec![0u32; to.len()];
        for a in 0..to.len() {
            // The tail of arc `a` is the head of its twin.
            let tail = to[a ^ 1] as usize;
            out[fill[tail]] = a as u32;
            fill[tail] += 1;
        }
        Network {
            to,
            cap,
            cost,
            start,
            out,
        }
    }

    fn tail(&self, a: usize) -> usize {
        self.to[a ^ 1] as usize
    }

    fn reduced_cost(&self, a: usize, pot: &[i64]) -> i64 {
        self.cost[a] + pot[self.tail(a)] - pot[self.to[a] as usize]
    }

    fn arcs_of(&self, v: usize) -> &[u32] {
        &self.out[self.start[v]..self.start[v + 1]]
    }
}

/// Min-cost flow on the debts `(debtor, creditor, amount)` of `nodes` nodes (ids below `nodes`):
/// the debts `y` left after clearing, one per input arc, minimising their sum with every node's
/// balance kept.
fn min_cost_debts(nodes: usize, debts: &[(u32, u32, i128)]) -> Vec<i128> {
    let mut supply = vec![0i128; nodes];
    for &(u, v, amount) in debts {
        supply[u as usize] += amount;
        supply[v as usize] -= amount;
    }
    let source = nodes as u32;
    let sink = source + 1;
    let total = nodes + 2;
    let mut arcs: Vec<(u32, u32, i128, i64)> = Vec::with_capacity(debts.len() + nodes);
    arcs.extend(debts.iter().map(|&(u, v, amount)| (u, v, amount, 1)));
    let mut to_send: i128 = 0;
    for (v, &b) in supply.iter().enumerate() {
        match b.cmp(&0) {
            Ordering::Greater => {
                arcs.push((source, v as u32, b, 0));
                to_send += b;
            }
            Ordering::Less => arcs.push((v as u32, sink, -b, 0)),
            Ordering::Equal => {}
        }
    }
    let mut net = Network::new(total, &arcs);
    let (s, t) = (source as usize, sink as usize);

    let mut pot = vec![0i64; total];
    let mut dist = vec![i64::MAX; total];
    let mut done = vec![false; total];
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new()];
    let mut level = vec![u32::MAX; total];
    let mut queue: Vec<u32> = Vec::with_capacity(total);
    let mut current = vec![0usize; total];
    let mut adm_start: Vec<usize> = Vec::with_capacity(total + 1);
    let mut adm: Vec<(u32, u32)> = Vec::new();
    let mut path: Vec<u32> = Vec::new();

    while to_send > 0 {
        // Dijkstra on reduced costs (non-negative integers, so Dial's buckets serve as the
        // priority queue), stopped once the sink is settled.
        dist.fill(i64::MAX);
        done.fill(false);
        dist[s] = 0;
        buckets[0].push(source);
        let mut pending = 1usize;
        let mut d = 0usize;
        'search: while pending > 0 && d < buckets.len() {
            while let Some(u) = buckets[d].pop() {
                pending -= 1;
                let u = u as usize;
                if done[u] || dist[u] != d as i64 {
                    continue;
                }
                done[u] = true;
                if u == t {
                    break 'search;
                }
                for &a in net.arcs_of(u) {
                    let a = a as usize;
                    if net.cap[a] <= 0 {
                        continue;
                    }
                    let v = net.to[a] as usize;
                    let nd = dist[u] + net.reduced_cost(a, &pot);
                    if nd < dist[v] {
                        dist[v] = nd;
                        // nd >= d >= 0: reduced costs are non-negative.
                        let slot = usize::try_from(nd).unwrap_or(usize::MAX);
                        if slot >= buckets.len() {
                            buckets.resize_with(slot.saturating_add(1), Vec::new);
                        }
                        buckets[slot].push(v as u32);
                        pending += 1;
                    }
                }
            }
            d += 1;
        }
        for bucket in &mut buckets {
            bucket.clear();
        }
        if !done[t] {
            // Cannot happen (y = amount is feasible); stop rather than loop.
            break;
        }
        let reach = dist[t];
        for v in 0..total {
            // Settled nodes have exact distances <= reach; the others are at least `reach`
            // away, and capping them keeps every residual reduced cost non-negative.
            pot[v] += if done[v] { dist[v] } else { reach };
        }

        // The admissible arcs of this phase: zero reduced cost (with their twins, which gain
        // capacity as flow is pushed). Admissibility is fixed until the potentials change.
        adm_start.clear();
        adm.clear();
        adm_start.push(0);
        for v in 0..total {
            for &a in net.arcs_of(v) {
                let a = a as usize;
                if net.reduced_cost(a, &pot) == 0 {
                    adm.push((a as u32, net.to[a]));
                }
            }
            adm_start.push(adm.len());
        }

        // Maximum flow over the admissible arcs, Dinic style.
        loop {
            level.fill(u32::MAX);
            level[s] = 0;
            queue.clear();
            queue.push(source);
            let mut head = 0;
            while head < queue.len() {
                let u = queue[head] as usize;
                head += 1;
                if level[t] != u32::MAX && level[u] >= level[t] {
                    // Nodes at the sink's level or beyond cannot lead to it.
                    break;
                }
                for &(a, v) in &adm[adm_start[u]..adm_start[u + 1]] {
                    let v = v as usize;
                    if level[v] == u32::MAX && net.cap[a as usize] > 0 {
                        level[v] = level[u] + 1;
                        queue.push(v as u32);
                    }
                }
            }
            if level[t] == u32::MAX {
                break;
            }
            current.copy_from_slice(&adm_start[..total]);
            // Blocking flow: advance along current arcs, augment at the sink, retreat from
            // dead ends (which leave the level graph).
            path.clear();
            let mut u = s;
            loop {
                if u == t {
                    let mut push = i128::MAX;
                    for &a in &path {
                        push = push.min(net.cap[a as usize]);
                    }
                    let mut cut = path.len();
                    for (k, &a) in path.iter().enumerate() {
                        let a = a as usize;
                        net.cap[a] -= push;
                        net.cap[a ^ 1] += push;
                        if net.cap[a] == 0 && cut == path.len() {
                            cut = k;
                        }
                    }
                    to_send -= push;
                    path.truncate(cut);
                    u = path.last().map_or(s, |&a| net.to[a as usize] as usize);
                    continue;
                }
                let end = adm_start[u + 1];
                let want = level[u].wrapping_add(1);
                let mut next = None;
                while current[u] < end {
                    let (a, v) = adm[current[u]];
                    if level[v as usize] == want && net.cap[a as usize] > 0 {
                        next = Some((a, v));
                        break;
                    }
                    current[u] += 1;
                }
                match next {
                    Some((a, v)) => {
                        path.push(a);
                        u = v as usize;
                    }
                    None => {
                        // Dead end: drop `u` from the level graph and retreat.
                        level[u] = u32::MAX;
                        match path.pop() {
                            Some(a) => {
                                u = net.tail(a as usize);
                                current[u] += 1;
                            }
                            None => break,
                        }
                    }
                }
            }
        }
    }

    // y_e is the flow on arc 2e: what its reverse can give back.
    (0..debts.len()).map(|e| net.cap[2 * e + 1]).collect()
}

#[cfg(test)]
mod tests {
    use super::super::short_cycles;
    use super::super::testkit::{edge, fixed, graph_of, small_graph};
    use super::*;
    use proptest::prelude::*;

    /// Checks bounds, consent and neutrality of a plan; returns the debts left.
    fn check_plan(n: usize, edges: &[DebtEdge], plan: &ClearingPlan) -> Vec<i128> {
        let mut left: Vec<i128> = edges.iter().map(|e| e.amount).collect();
        let mut sum = 0;
        let mut last = None;
        for &(i, x) in &plan.reductions {
            if let Some(l) = last {
                assert!(l < i, "indices ascending and unique");
            }
            last = Some(i);
            assert!(x > 0, "reductions are positive");
            assert!(edges[i].clearable, "no reduction on a non-clearable edge");
            assert!(
                x <= edges[i].amount,
                "no debt increased (reduction within the debt)"
            );
            left[i] -= x;
            sum += x;
        }
        assert_eq!(sum, plan.cleared);
        let mut before = vec![0i128; n];
        let mut after = vec![0i128; n];
        for (e, &y) in edges.iter().zip(&left) {
            before[e.creditor as usize] += e.amount;
            before[e.debtor as usize] -= e.amount;
            after[e.creditor as usize] += y;
            after[e.debtor as usize] -= y;
        }
        assert_eq!(before, after, "net positions unchanged");
        left
    }

    #[test]
    fn triangle_is_cleared_by_its_minimum() {
        let edges = [edge(0, 1, 10), edge(1, 2, 7), edge(2, 0, 12)];
        let plan = optimal_clearing(3, &edges);
        check_plan(3, &edges, &plan);
        assert_eq!(plan.reductions, vec![(0, 7), (1, 7), (2, 7)]);
        assert_eq!(plan.cleared, 21);
    }

    #[test]
    fn square_and_chain_tail() {
        // A square plus a tail 3 -> 4 that is on no cycle.
        let edges = [
            edge(0, 1, 5),
            edge(1, 2, 5),
            edge(2, 3, 5),
            edge(3, 0, 9),
            edge(3, 4, 100),
        ];
        let plan = optimal_clearing(5, &edges);
        check_plan(5, &edges, &plan);
        assert_eq!(plan.reductions, vec![(0, 5), (1, 5), (2, 5), (3, 5)]);
        assert_eq!(plan.cleared, 20);
    }

    #[test]
    fn overlapping_cycles_beat_greedy() {
        // Cycle A: 0->1->2->0 (3 edges), cycle B: 0->1->3->4->0 (4 edges), sharing 0->1 with
        // 10. A greedy search that takes the short cycle first cancels 3 * 10 = 30; taking the
        // long one cancels 4 * 10 = 40, which is optimal.
        let edges = [
            edge(0, 1, 10),
            edge(1, 2, 10),
            edge(2, 0, 10),
            edge(1, 3, 10),
            edge(3, 4, 10),
            edge(4, 0, 10),
        ];
        let plan = optimal_clearing(5, &edges);
        check_plan(5, &edges, &plan);
        assert_eq!(plan.cleared, 40);
        let g = graph_of(&edges);
        let cycles = short_cycles(&g, 4, 10);
        assert_eq!(cycles.len(), 2);
        assert_eq!(cycles[0].nodes, vec![0, 1, 2]);
        assert_eq!(cycles[1].nodes, vec![0, 1, 3, 4]);
    }

    #[test]
    fn split_flow_matches_reference() {
        // Two triangles sharing two nodes in opposite directions plus a big edge:
        // the optimum needs flow split over several cycles.
        let edges = [
            edge(0, 1, 6),
            edge(1, 2, 4),
            edge(2, 0, 4),
            edge(1, 3, 4),
            edge(3, 0, 4),
            edge(2, 3, 3),
        ];
        let plan = optimal_clearing(4, &edges);
        let left = check_plan(4, &edges, &plan);
        assert_eq!(plan.cleared, brute_force_cancel(4, &edges));
        assert_eq!(left.iter().sum::<i128>(), 25 - plan.cleared);
    }

    #[test]
    fn non_clearable_edges_are_respected() {
        let edges = [edge(0, 1, 10), fixed(1, 2, 10), edge(2, 0, 10)];
        let plan = optimal_clearing(3, &edges);
        assert_eq!(plan, ClearingPlan::default());
        // With a clearable detour 1 -> 3 -> 2, the cycle goes around the fixed edge.
        let edges = [
            edge(0, 1, 10),
            fixed(1, 2, 10),
            edge(2, 0, 10),
            edge(1, 3, 4),
            edge(3, 2, 6),
        ];
        let plan = optimal_clearing(4, &edges);
        check_plan(4, &edges, &plan);
        assert_eq!(plan.reductions, vec![(0, 4), (2, 4), (3, 4), (4, 4)]);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(optimal_clearing(0, &[]), ClearingPlan::default());
        // Zero or negative amounts are ignored; ids beyond node_count are accepted.
        let edges = [edge(0, 1, 0), edge(1, 0, -3), edge(7, 8, 2), edge(8, 7, 5)];
        let plan = optimal_clearing(2, &edges);
        assert_eq!(plan.reductions, vec![(2, 2), (3, 2)]);
        // A self-loop is its own circulation.
        let plan = optimal_clearing(1, &[edge(0, 0, 3)]);
        assert_eq!(plan.cleared, 3);
        // Large amounts stay exact.
        let big = geo_protocol::Amount::MAX.atoms();
        let edges = [edge(0, 1, big), edge(1, 2, big - 1), edge(2, 0, big)];
        assert_eq!(optimal_clearing(3, &edges).cleared, 3 * (big - 1));
    }

    /// Independent reference: cycle canceling with Bellman-Ford on the residual graph of the
    /// reductions x (forward arcs cost -1 while x < amount, backward arcs cost +1 while x > 0).
    fn brute_force_cancel(n: usize, edges: &[DebtEdge]) -> i128 {
        let mut x = vec![0i128; edges.len()];
        loop {
            // Residual arcs: (from, to, cost, edge, forward)
            let mut arcs = Vec::new();
            for (i, e) in edges.iter().enumerate() {
                if !e.clearable || e.amount <= 0 {
                    continue;
                }
                if x[i] < e.amount {
                    arcs.push((e.debtor as usize, e.creditor as usize, -1i64, i, true));
                }
                if x[i] > 0 {
                    arcs.push((e.creditor as usize, e.debtor as usize, 1i64, i, false));
                }
            }
            let mut dist = vec![0i64; n];
            let mut pred: Vec<Option<usize>> = vec![None; n];
            let mut last = None;
            for _ in 0..n {
                last = None;
                for (k, &(u, v, c, _, _)) in arcs.iter().enumerate() {
                    if dist[u] + c < dist[v] {
                        dist[v] = dist[u] + c;
                        pred[v] = Some(k);
                        last = Some(v);
                    }
                }
            }
            let Some(mut v) = last else {
                return x.iter().sum();
            };
            for _ in 0..n {
                v = arcs[pred[v].unwrap()].0;
            }
            let mut cycle = Vec::new();
            let startv = v;
            loop {
                let k = pred[v].unwrap();
                cycle.push(k);
                v = arcs[k].0;
                if v == startv {
                    break;
                }
            }
            let delta = cycle
                .iter()
                .map(|&k| {
                    let (_, _, _, i, fwd) = arcs[k];
                    if fwd {
                        edges[i].amount - x[i]
                    } else {
                        x[i]
                    }
                })
                .min()
                .unwrap();
            for &k in &cycle {
                let (_, _, _, i, fwd) = arcs[k];
                x[i] += if fwd { delta } else { -delta };
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        #[test]
        fn optimal_matches_cycle_canceling((n, edges) in small_graph()) {
            let plan = optimal_clearing(n, &edges);
            check_plan(n, &edges, &plan);
            prop_assert_eq!(plan.cleared, brute_force_cancel(n, &edges));
        }
    }
}
