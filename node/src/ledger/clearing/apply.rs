//! Applying clearing to the ledger: the triggered short-cycle pass after payments and the
//! optimal multilateral set-off, each checked for neutrality before any debt changes.

use std::collections::HashMap;

use geo_protocol::Pid;

use super::{cycles_through, debt_edges, optimal_clearing, short_cycles, Cycle};
use crate::ledger::error::LedgerError;
use crate::ledger::graph::{LineStatus, NodeId, PairId};
use crate::ledger::model::{EqId, Millis, TxKind, TxRecord, TxState};
use crate::ledger::payload::{ClearedEdge, ClearingPayload, TxPayload};
use crate::ledger::state::Ledger;

/// What a clearing run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearingSummary {
    /// Cycles (or, for the optimal pass, debt edges) reduced.
    pub reductions: usize,
    /// Total debt removed, in atoms (summed over every reduced edge).
    pub cleared: i128,
    /// Transaction ids recorded.
    pub tx_ids: Vec<String>,
}

impl Ledger {
    /// True when the debt `debtor -> creditor` may be cleared without asking: the creditor's
    /// line to the debtor is active and consents to automatic clearing.
    fn clearable(&self, eq: EqId, debtor: NodeId, creditor: NodeId) -> bool {
        let graph = &self.books[eq as usize].graph;
        graph.find(debtor, creditor).is_some_and(|p| {
            graph
                .pair(p)
                .line_from(creditor)
                .is_some_and(|l| l.status == LineStatus::Active && l.policy.auto_clearing)
        })
    }

    /// How much of the debt `debtor -> creditor` clearing may remove now: nothing without consent,
    /// and never so much that the creditor's side of the pair could no longer carry what prepare
    /// locks reserved for its payments to the debtor (a reduction of what the debtor owes shrinks
    /// exactly that capacity).
    fn clearable_amount(&self, eq: EqId, debtor: NodeId, creditor: NodeId) -> i128 {
        if !self.clearable(eq, debtor, creditor) {
            return 0;
        }
        let graph = &self.books[eq as usize].graph;
        graph.find(debtor, creditor).map_or(0, |p| {
            let pair = graph.pair(p);
            pair.debt_of(debtor).min(pair.capacity(creditor))
        })
    }

    /// Reduces a list of debts (`debtor`, `creditor`, atoms) after checking that the reductions
    /// form a circulation (every net position unchanged) and never exceed a debt.
    fn apply_reductions(
        &mut self,
        eq: EqId,
        reductions: &[(NodeId, NodeId, i128)],
        cycle: Option<Vec<Pid>>,
        now: Millis,
    ) -> Result<String, LedgerError> {
        let mut net: HashMap<NodeId, i128> = HashMap::new();
        for &(debtor, creditor, atoms) in reductions {
            if atoms <= 0 || atoms > self.clearable_amount(eq, debtor, creditor) {
                return Err(LedgerError::Integrity(format!(
                    "clearing would reduce a debt of {} by {}",
                    Ledger::amount(self.debt(eq, debtor, creditor)),
                    Ledger::amount(atoms)
                )));
            }
            *net.entry(debtor).or_default() += atoms;
            *net.entry(creditor).or_default() -= atoms;
        }
        if net.values().any(|v| *v != 0) {
            return Err(LedgerError::Integrity(
                "clearing would change a net position".into(),
            ));
        }
        let before = self.digest_hex(eq);
        let mut touched: Vec<PairId> = Vec::with_capacity(reductions.len());
        for &(debtor, creditor, atoms) in reductions {
            touched.push(self.shift_debt(eq, creditor, debtor, atoms));
        }
        let precision = self.equivalents[eq as usize].precision;
        let total: i128 = reductions.iter().map(|r| r.2).sum();
        let tx_id = self.ids.next_uuid().to_string();
        let mut affected: Vec<NodeId> = net.keys().copied().collect();
        affected.sort_unstable();
        let payload = TxPayload::Clearing(ClearingPayload {
            equivalent: self.equivalents[eq as usize].code.clone(),
            cleared: Ledger::amount(total).to_string_with(precision),
            edges: reductions
                .iter()
                .map(|&(d, c, a)| ClearedEdge {
                    debtor: self.pid(d).clone(),
                    creditor: self.pid(c).clone(),
                    amount: Ledger::amount(a).to_string_with(precision),
                })
                .collect(),
            mode: if cycle.is_some() { "cycle" } else { "optimal" }.to_owned(),
            cycle,
        });
        self.record_tx(TxRecord {
            tx_id: tx_id.clone(),
            kind: TxKind::Clearing,
            initiator: None,
            equivalent: Some(self.equivalents[eq as usize].code.clone()),
            payload,
            state: TxState::Committed,
            request_hash: None,
            error: None,
            created_at: now,
            updated_at: now,
        });
        let audit_id = self.ids.next_uuid();
        self.audit(
            "CLEARING",
            Some(&tx_id),
            eq,
            before,
            affected,
            &touched,
            audit_id,
            now,
        );
        Ok(tx_id)
    }

    fn clear_cycles(&mut self, eq: EqId, cycles: Vec<Cycle>, now: Millis) -> ClearingSummary {
        let mut summary = ClearingSummary::default();
        for cycle in cycles {
            let n = cycle.nodes.len();
            let hops: Vec<(NodeId, NodeId)> = (0..n)
                .map(|i| (cycle.nodes[i], cycle.nodes[(i + 1) % n]))
                .collect();
            // Earlier cycles of this run may have reduced shared debts: take the current minimum.
            let amount = hops
                .iter()
                .map(|&(d, c)| self.clearable_amount(eq, d, c))
                .min()
                .unwrap_or(0);
            if amount <= 0 {
                continue;
            }
            let reductions: Vec<(NodeId, NodeId, i128)> = hops.iter().map(|&(d, c)| (d, c, amount)).collect();
            let cycle_pids: Vec<Pid> = cycle.nodes.iter().map(|n| self.pid(*n).clone()).collect();
            if let Ok(tx) = self.apply_reductions(eq, &reductions, Some(cycle_pids), now) {
                summary.reductions += 1;
                summary.cleared += amount * i128::try_from(n).unwrap_or(0);
                summary.tx_ids.push(tx);
            }
        }
        summary
    }

    /// The triggered pass: clears short cycles through the pairs a payment changed.
    pub fn clear_triggered(&mut self, eq: EqId, touched: &[PairId], now: Millis) -> ClearingSummary {
        let graph = &self.books[eq as usize].graph;
        let cycles = cycles_through(graph, touched, self.config.triggered_cycle_len, 16);
        self.clear_cycles(eq, cycles, now)
    }

    /// Clears all short cycles (3..=`max_len` participants) of an equivalent, largest first.
    pub fn clear_short_cycles(&mut self, eq: EqId, max_len: usize, now: Millis) -> ClearingSummary {
        let mut total = ClearingSummary::default();
        // Each round clears what it found; repeat while rounds still find something.
        for _ in 0..64 {
            let graph = &self.books[eq as usize].graph;
            let cycles = short_cycles(graph, max_len, 1000);
            if cycles.is_empty() {
                break;
            }
            let s = self.clear_cycles(eq, cycles, now);
            if s.reductions == 0 {
                break;
            }
            total.reductions += s.reductions;
            total.cleared += s.cleared;
            total.tx_ids.extend(s.tx_ids);
        }
        total
    }

    /// The optimal pass: removes the most debt any set-off can, respecting `auto_clearing`.
    pub fn clear_optimal(&mut self, eq: EqId, now: Millis) -> Result<ClearingSummary, LedgerError> {
        let graph = &self.books[eq as usize].graph;
        let mut edges = debt_edges(graph);
        // Reservations of prepare locks bound what may be cleared (see `clearable_amount`).
        for e in &mut edges {
            if e.clearable {
                e.amount = self.clearable_amount(eq, e.debtor, e.creditor);
                e.clearable = e.amount > 0;
            }
        }
        let graph = &self.books[eq as usize].graph;
        let plan = optimal_clearing(graph.node_count(), &edges);
        if plan.reductions.is_empty() {
            return Ok(ClearingSummary::default());
        }
        let reductions: Vec<(NodeId, NodeId, i128)> = plan
            .reductions
            .iter()
            .map(|&(i, atoms)| (edges[i].debtor, edges[i].creditor, atoms))
            .collect();
        let tx = self.apply_reductions(eq, &reductions, None, now)?;
        Ok(ClearingSummary {
            reductions: reductions.len(),
            cleared: plan.cleared,
            tx_ids: vec![tx],
        })
    }

    /// Short cycles of an equivalent, for listing (nothing changes).
    pub fn list_cycles(&self, eq: EqId, max_len: usize, limit: usize) -> Vec<Cycle> {
        short_cycles(&self.books[eq as usize].graph, max_len, limit)
    }
}
