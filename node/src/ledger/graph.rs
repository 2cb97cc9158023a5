//! The credit graph of one equivalent: trust lines and debts between pairs of participants.
//!
//! Everything is stored per unordered pair `{lo, hi}` (`lo < hi`): the line `lo -> hi` (lo trusts
//! hi), the line `hi -> lo`, one signed debt (so debt symmetry holds by construction) and the
//! amounts reserved by prepare locks in each payment direction. Amounts are atoms (10^-8 units,
//! see [`geo_protocol::Amount`]) as `i128`; every value here stays within ±`Amount::MAX`, and
//! sums over a whole graph stay far inside `i128`.
//!
//! Payment direction: a payment hop `payer -> payee` makes the payer owe the payee (or cancels
//! what the payee owed the payer). Its capacity is
//! `limit(payee -> payer) - debt[payer -> payee] + debt[payee -> payer] - reserved(payer -> payee)`,
//! counting the limit only while that line is active, and zero when no line of the pair is active.

use std::collections::HashMap;

/// Dense index of a participant inside a ledger.
pub type NodeId = u32;
/// Dense index of a pair inside one [`CreditGraph`].
pub type PairId = u32;

/// Life cycle of a trust line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineStatus {
    /// Usable for payments and clearing.
    Active,
    /// Stopped by an administrator or an integrity alarm; debts stay.
    Frozen,
    /// Closed by its owner at zero debt.
    Closed,
}

impl LineStatus {
    /// The wire/storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            LineStatus::Active => "active",
            LineStatus::Frozen => "frozen",
            LineStatus::Closed => "closed",
        }
    }

    /// Parses the wire/storage name.
    pub fn parse(s: &str) -> Option<LineStatus> {
        match s {
            "active" => Some(LineStatus::Active),
            "frozen" => Some(LineStatus::Frozen),
            "closed" => Some(LineStatus::Closed),
            _ => None,
        }
    }
}

/// A trust line's policy (GEO v0.1 section 3.3 plus `max_hop_usage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinePolicy {
    /// The owner consents in advance to clearing cycles through this line.
    pub auto_clearing: bool,
    /// The owner may be an intermediate of payments over this pair.
    pub can_be_intermediate: bool,
    /// Most atoms one payment may move over this pair while the owner is an intermediate
    /// (`None`: no cap; `Some(0)` forbids mediation like `can_be_intermediate = false`).
    pub max_hop_usage: Option<i128>,
    /// Informational daily turnover limit (not enforced, as in GEO v0.1).
    pub daily_limit: Option<i128>,
    /// Participants that must not appear inside any route that uses this line.
    pub blocked: Vec<NodeId>,
}

impl Default for LinePolicy {
    fn default() -> Self {
        LinePolicy {
            auto_clearing: true,
            can_be_intermediate: true,
            max_hop_usage: None,
            daily_limit: None,
            blocked: Vec::new(),
        }
    }
}

/// One directed trust line as the graph sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineSlot {
    /// Index of the line in the ledger's line table.
    pub line: u32,
    /// The limit in atoms.
    pub limit: i128,
    /// Status.
    pub status: LineStatus,
    /// Policy.
    pub policy: LinePolicy,
}

impl LineSlot {
    fn active_limit(&self) -> i128 {
        if self.status == LineStatus::Active {
            self.limit
        } else {
            0
        }
    }
}

/// The state between two participants in one equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The smaller node id.
    pub lo: NodeId,
    /// The larger node id.
    pub hi: NodeId,
    /// Line `lo -> hi` (lo trusts hi: hi may owe lo up to its limit).
    pub line_lo_hi: Option<LineSlot>,
    /// Line `hi -> lo` (hi trusts lo: lo may owe hi up to its limit).
    pub line_hi_lo: Option<LineSlot>,
    /// Signed debt in atoms: positive when `lo` owes `hi`, negative when `hi` owes `lo`.
    pub debt: i128,
    /// Atoms reserved by prepare locks for payments `lo -> hi`.
    pub reserved_lo_hi: i128,
    /// Atoms reserved by prepare locks for payments `hi -> lo`.
    pub reserved_hi_lo: i128,
}

impl Pair {
    fn new(lo: NodeId, hi: NodeId) -> Pair {
        Pair {
            lo,
            hi,
            line_lo_hi: None,
            line_hi_lo: None,
            debt: 0,
            reserved_lo_hi: 0,
            reserved_hi_lo: 0,
        }
    }

    /// The other node of the pair.
    pub fn other(&self, node: NodeId) -> NodeId {
        if node == self.lo {
            self.hi
        } else {
            self.lo
        }
    }

    /// The line owned by `from` (the one `from -> other`), if any.
    pub fn line_from(&self, from: NodeId) -> Option<&LineSlot> {
        if from == self.lo {
            self.line_lo_hi.as_ref()
        } else {
            self.line_hi_lo.as_ref()
        }
    }

    /// Mutable access to the line owned by `from`.
    pub fn line_from_mut(&mut self, from: NodeId) -> &mut Option<LineSlot> {
        if from == self.lo {
            &mut self.line_lo_hi
        } else {
            &mut self.line_hi_lo
        }
    }

    /// True when at least one line of the pair is active.
    pub fn has_active_line(&self) -> bool {
        let active = |l: &Option<LineSlot>| l.as_ref().is_some_and(|l| l.status == LineStatus::Active);
        active(&self.line_lo_hi) || active(&self.line_hi_lo)
    }

    /// What `debtor` owes the other node (zero if the debt runs the other way).
    pub fn debt_of(&self, debtor: NodeId) -> i128 {
        if debtor == self.lo {
            self.debt.max(0)
        } else {
            (-self.debt).max(0)
        }
    }

    /// Atoms reserved for payments from `payer` to the other node.
    pub fn reserved_from(&self, payer: NodeId) -> i128 {
        if payer == self.lo {
            self.reserved_lo_hi
        } else {
            self.reserved_hi_lo
        }
    }

    /// Capacity of a hop `payer -> other` before reservations and policies.
    pub fn raw_capacity(&self, payer: NodeId) -> i128 {
        if !self.has_active_line() {
            return 0;
        }
        let payee = self.other(payer);
        let limit = self.line_from(payee).map_or(0, LineSlot::active_limit);
        // Signed debt seen from the payer: positive when the payer owes the payee.
        let payer_owes = if payer == self.lo { self.debt } else { -self.debt };
        (limit - payer_owes).max(0)
    }

    /// Capacity of a hop `payer -> other` minus reservations (no policies).
    pub fn capacity(&self, payer: NodeId) -> i128 {
        (self.raw_capacity(payer) - self.reserved_from(payer)).max(0)
    }

    /// Capacity of a hop `payer -> other` for a payment from `source` to `target`: reservations
    /// and the mediation policies (`can_be_intermediate`, `max_hop_usage`) of both lines applied.
    pub fn capacity_for(&self, payer: NodeId, source: NodeId, target: NodeId) -> i128 {
        let mut cap = self.capacity(payer);
        if cap == 0 {
            return 0;
        }
        for (owner, slot) in [(self.lo, &self.line_lo_hi), (self.hi, &self.line_hi_lo)] {
            let Some(slot) = slot else { continue };
            if slot.status != LineStatus::Active {
                continue;
            }
            if owner == source || owner == target {
                continue;
            }
            if !slot.policy.can_be_intermediate {
                return 0;
            }
            if let Some(max) = slot.policy.max_hop_usage {
                cap = cap.min(max);
            }
        }
        cap
    }

    /// Applies a committed payment hop `payer -> payee` of `atoms`.
    pub fn apply_payment(&mut self, payer: NodeId, atoms: i128) {
        if payer == self.lo {
            self.debt += atoms;
        } else {
            self.debt -= atoms;
        }
    }

    /// Changes the reservation for payments from `payer` by `delta` atoms.
    pub fn reserve(&mut self, payer: NodeId, delta: i128) {
        if payer == self.lo {
            self.reserved_lo_hi += delta;
        } else {
            self.reserved_hi_lo += delta;
        }
    }
}

/// All pairs of one equivalent with adjacency lists.
#[derive(Debug, Clone, Default)]
pub struct CreditGraph {
    adj: Vec<Vec<(NodeId, PairId)>>,
    pairs: Vec<Pair>,
    index: HashMap<(NodeId, NodeId), PairId>,
}

fn key(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

impl CreditGraph {
    /// An empty graph.
    pub fn new() -> CreditGraph {
        CreditGraph::default()
    }

    /// Number of node slots (at least every node that has a pair).
    pub fn node_count(&self) -> usize {
        self.adj.len()
    }

    /// Makes room for nodes up to `n - 1`.
    pub fn ensure_nodes(&mut self, n: usize) {
        if self.adj.len() < n {
            self.adj.resize_with(n, Vec::new);
        }
    }

    /// Neighbors of `node` with the pair that links them.
    pub fn neighbors(&self, node: NodeId) -> &[(NodeId, PairId)] {
        self.adj.get(node as usize).map_or(&[], Vec::as_slice)
    }

    /// All pairs.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// One pair by id.
    pub fn pair(&self, id: PairId) -> &Pair {
        &self.pairs[id as usize]
    }

    /// One pair by id, mutable.
    pub fn pair_mut(&mut self, id: PairId) -> &mut Pair {
        &mut self.pairs[id as usize]
    }

    /// The pair of two nodes, if it exists.
    pub fn find(&self, a: NodeId, b: NodeId) -> Option<PairId> {
        self.index.get(&key(a, b)).copied()
    }

    /// The pair of two nodes, created empty if missing. `a != b` is the caller's duty.
    pub fn find_or_insert(&mut self, a: NodeId, b: NodeId) -> PairId {
        let k = key(a, b);
        if let Some(id) = self.index.get(&k) {
            return *id;
        }
        let id = PairId::try_from(self.pairs.len()).unwrap_or(PairId::MAX);
        self.pairs.push(Pair::new(k.0, k.1));
        self.index.insert(k, id);
        self.ensure_nodes(k.1 as usize + 1);
        self.adj[k.0 as usize].push((k.1, id));
        self.adj[k.1 as usize].push((k.0, id));
        id
    }

    /// What `debtor` owes `creditor` (0 when nothing or the other way round).
    pub fn debt(&self, debtor: NodeId, creditor: NodeId) -> i128 {
        self.find(debtor, creditor)
            .map_or(0, |id| self.pair(id).debt_of(debtor))
    }

    /// Capacity of the hop `payer -> payee` for a payment `source -> target` (0 if no pair).
    pub fn hop_capacity(&self, payer: NodeId, payee: NodeId, source: NodeId, target: NodeId) -> i128 {
        self.find(payer, payee)
            .map_or(0, |id| self.pair(id).capacity_for(payer, source, target))
    }

    /// Net position of `node`: what others owe it minus what it owes.
    pub fn net_position(&self, node: NodeId) -> i128 {
        self.neighbors(node)
            .iter()
            .map(|&(other, id)| {
                let p = self.pair(id);
                p.debt_of(other) - p.debt_of(node)
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(limit: i128) -> Option<LineSlot> {
        Some(LineSlot {
            line: 0,
            limit,
            status: LineStatus::Active,
            policy: LinePolicy::default(),
        })
    }

    #[test]
    fn capacity_follows_limits_and_debts() {
        let mut g = CreditGraph::new();
        let id = g.find_or_insert(1, 0);
        assert_eq!(g.pair(id).lo, 0);
        // 1 trusts 0 for 100: 0 may pay 1 up to 100; 1 cannot pay 0.
        *g.pair_mut(id).line_from_mut(1) = line(100);
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 100);
        assert_eq!(g.hop_capacity(1, 0, 1, 0), 0);
        g.pair_mut(id).apply_payment(0, 30);
        assert_eq!(g.debt(0, 1), 30);
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 70);
        // 1 can now pay 0 back up to the 30 that 0 owes.
        assert_eq!(g.hop_capacity(1, 0, 1, 0), 30);
        assert_eq!(g.net_position(1), 30);
        assert_eq!(g.net_position(0), -30);
        g.pair_mut(id).reserve(0, 50);
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 20);
    }

    #[test]
    fn mediation_policy_applies_to_intermediates_only() {
        let mut g = CreditGraph::new();
        let id = g.find_or_insert(0, 1);
        *g.pair_mut(id).line_from_mut(1) = line(100);
        if let Some(l) = g.pair_mut(id).line_from_mut(1).as_mut() {
            l.policy.can_be_intermediate = false;
        }
        // Node 1 owns the line: as payee it is not an intermediate.
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 100);
        // As an intermediate of a payment 0 -> 5, it refuses.
        assert_eq!(g.hop_capacity(0, 1, 0, 5), 0);
        if let Some(l) = g.pair_mut(id).line_from_mut(1).as_mut() {
            l.policy.can_be_intermediate = true;
            l.policy.max_hop_usage = Some(10);
        }
        assert_eq!(g.hop_capacity(0, 1, 0, 5), 10);
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 100);
    }
}
