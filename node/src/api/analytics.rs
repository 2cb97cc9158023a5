//! Admin analytics computed from the in-memory ledger: participant statistics and metrics,
//! trust-line bottlenecks, liquidity per equivalent, clearable cycles, the ego graph of a
//! participant and the usage of an equivalent.
//!
//! Pure functions over a [`Ledger`] (the handlers in `admin.rs` call them inside
//! `engine().read(...)` and add what only the store knows). Amounts stay integer atoms; shares
//! of a limit are parts per million ([`Share`]), parsed exactly from their decimal text and
//! compared exactly (no floats anywhere).

use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use geo_protocol::{Amount, EquivalentCode, Precision};
use serde_json::{json, Map, Value};

use super::util::fmt_atoms;
use super::views;
use crate::ledger::clearing::{cycles_through, Cycle};
use crate::ledger::graph::{LineStatus, NodeId};
use crate::ledger::model::{EqId, ParticipantStatus, TrustLine, TxRecord};
use crate::ledger::{Ledger, LedgerError};

/// Parts per million in one whole.
const PPM: u32 = 1_000_000;

/// The longest cycle (in participants) the cycle searches of the ledger look for
/// (`short_cycles` and `cycles_through` cap their length at 4).
pub const SEARCHED_CYCLE_LEN: usize = 4;

/// A share of a whole in `[0, 1]`, in parts per million.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Share(u32);

impl Share {
    /// The default bottleneck threshold of the contract: 0.10.
    pub const DEFAULT_THRESHOLD: Share = Share(100_000);

    /// Parses a decimal share from `0` to `1` (`"0.1"`, `"0.10"`, `"1"`, `"0.000001"`), exactly:
    /// at most 6 significant decimals, no sign, exponent or spaces.
    pub fn parse(text: &str) -> Result<Share, String> {
        let bad = || format!("{text:?} is not a decimal number from 0 to 1");
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return Err(bad());
        }
        let frac = frac.unwrap_or("").trim_end_matches('0');
        if frac.len() > 6 {
            return Err(format!("{text:?} has more than 6 decimal places"));
        }
        let whole = match int.trim_start_matches('0') {
            "" => 0,
            "1" => 1,
            _ => return Err(bad()),
        };
        let mut ppm = whole * PPM;
        let mut scale = PPM / 10;
        for b in frac.bytes() {
            ppm += u32::from(b - b'0') * scale;
            scale /= 10;
        }
        if ppm > PPM {
            return Err(bad());
        }
        Ok(Share(ppm))
    }

    /// Parts per million.
    pub fn ppm(self) -> u32 {
        self.0
    }

    /// The shortest exact decimal text (`"0.1"`, `"1"`, `"0.000001"`).
    pub fn to_text(self) -> String {
        let (int, frac) = (self.0 / PPM, self.0 % PPM);
        if frac == 0 {
            return int.to_string();
        }
        let digits = format!("{frac:06}");
        format!("{int}.{}", digits.trim_end_matches('0'))
    }
}

/// Compares `a / b` with `c / d` exactly, for `a, c >= 0` and `b, d > 0`, without the
/// overflow of cross-multiplication (by the continued-fraction expansion of both).
pub fn cmp_ratio(mut a: i128, mut b: i128, mut c: i128, mut d: i128) -> Ordering {
    loop {
        let (qa, ra) = (a / b, a % b);
        let (qc, rc) = (c / d, c % d);
        if qa != qc {
            return qa.cmp(&qc);
        }
        match (ra == 0, rc == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            // ra/b < rc/d exactly when d/rc < b/ra.
            (false, false) => (a, b, c, d) = (d, rc, b, ra),
        }
    }
}

/// The load of one trust line: limit, the debt standing on it, what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineLoad {
    /// Index of the line in [`Ledger::lines`].
    pub index: usize,
    /// Limit in atoms.
    pub limit: i128,
    /// Debt standing on the line (what `to` owes `from`), atoms.
    pub used: i128,
    /// `limit - used`, never below zero.
    pub available: i128,
}

impl LineLoad {
    /// The load of line `index`.
    pub fn of(l: &Ledger, index: usize, line: &TrustLine) -> LineLoad {
        let limit = line.limit.atoms();
        let used = l.line_used(line);
        LineLoad {
            index,
            limit,
            used,
            available: (limit - used).max(0),
        }
    }

    /// `(available, limit)` as a fraction (a zero limit counts as nothing available: 0/1).
    fn fraction(&self) -> (i128, i128) {
        if self.limit <= 0 {
            (0, 1)
        } else {
            (self.available.min(self.limit), self.limit)
        }
    }

    /// The available share of the limit, rounded down to parts per million.
    pub fn available_share(&self) -> Share {
        let (a, b) = self.fraction();
        let ppm = a.saturating_mul(i128::from(PPM)) / b;
        Share(u32::try_from(ppm).unwrap_or(PPM))
    }

    /// True when the available share is below `threshold` (exactly: `available / limit < t`).
    pub fn is_bottleneck(&self, threshold: Share) -> bool {
        let (a, b) = self.fraction();
        cmp_ratio(a, b, i128::from(threshold.0), i128::from(PPM)) == Ordering::Less
    }

    /// Most constrained first: smaller available share, then less available, then line order.
    pub fn cmp_constraint(&self, other: &LineLoad) -> Ordering {
        let (a, b) = self.fraction();
        let (c, d) = other.fraction();
        cmp_ratio(a, b, c, d)
            .then(self.available.cmp(&other.available))
            .then(self.index.cmp(&other.index))
    }
}

/// The equivalents a query covers: the one named, or all.
pub fn eq_ids(l: &Ledger, code: Option<&EquivalentCode>) -> Result<Vec<EqId>, LedgerError> {
    match code {
        Some(c) => Ok(vec![l.eq_id(c)?]),
        None => Ok((0..l.equivalents().len())
            .filter_map(|i| EqId::try_from(i).ok())
            .collect()),
    }
}

/// Active lines of the given equivalents whose available share is below `threshold`, most
/// constrained first.
pub fn bottlenecks(l: &Ledger, eqs: &[EqId], threshold: Share) -> Vec<LineLoad> {
    let mut out: Vec<LineLoad> = l
        .lines()
        .iter()
        .enumerate()
        .filter(|(_, line)| line.status == LineStatus::Active && eqs.contains(&line.eq))
        .map(|(i, line)| LineLoad::of(l, i, line))
        .filter(|load| load.is_bottleneck(threshold))
        .collect();
    out.sort_by(LineLoad::cmp_constraint);
    out
}

/// A bottleneck as JSON: the `TrustLine` plus `available_share` (decimal text, rounded down to
/// parts per million).
pub fn bottleneck_json(l: &Ledger, load: &LineLoad) -> Value {
    let mut v = views::trust_line(l, &l.lines()[load.index]);
    if let Value::Object(m) = &mut v {
        m.insert(
            "available_share".into(),
            Value::String(load.available_share().to_text()),
        );
    }
    v
}

/// Liquidity of one equivalent over its active lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Liquidity {
    /// Equivalent.
    pub eq: EqId,
    /// Number of active lines.
    pub active_lines: usize,
    /// Sum of their limits, atoms.
    pub total_limit: i128,
    /// Sum of the debts standing on them, atoms.
    pub total_used: i128,
    /// Sum of what is left on them, atoms.
    pub total_available: i128,
    /// Their bottlenecks, most constrained first.
    pub bottlenecks: Vec<LineLoad>,
}

/// The liquidity of one equivalent.
pub fn liquidity(l: &Ledger, eq: EqId, threshold: Share) -> Liquidity {
    let mut out = Liquidity {
        eq,
        active_lines: 0,
        total_limit: 0,
        total_used: 0,
        total_available: 0,
        bottlenecks: Vec::new(),
    };
    for (i, line) in l.lines().iter().enumerate() {
        if line.eq != eq || line.status != LineStatus::Active {
            continue;
        }
        let load = LineLoad::of(l, i, line);
        out.active_lines += 1;
        out.total_limit = out.total_limit.saturating_add(load.limit);
        out.total_used = out.total_used.saturating_add(load.used);
        out.total_available = out.total_available.saturating_add(load.available);
        if load.is_bottleneck(threshold) {
            out.bottlenecks.push(load);
        }
    }
    out.bottlenecks.sort_by(LineLoad::cmp_constraint);
    out
}

/// Liquidity as JSON, with at most `top` bottlenecks listed.
pub fn liquidity_json(l: &Ledger, q: &Liquidity, top: usize) -> Value {
    let pr = l.equivalent_at(q.eq).precision;
    json!({
        "equivalent": l.equivalent_at(q.eq).code.as_str(),
        "active_lines": q.active_lines,
        "total_limit": fmt_atoms(q.total_limit, pr),
        "total_used": fmt_atoms(q.total_used, pr),
        "total_available": fmt_atoms(q.total_available, pr),
        "bottlenecks": q.bottlenecks.len(),
        "top_bottlenecks": q.bottlenecks.iter().take(top).map(|b| bottleneck_json(l, b)).collect::<Vec<_>>(),
    })
}

const STATUSES: [ParticipantStatus; 4] = [
    ParticipantStatus::Active,
    ParticipantStatus::Suspended,
    ParticipantStatus::Left,
    ParticipantStatus::Deleted,
];

/// Counts of participants: by status and type, and how many have lines, debts and credits,
/// overall and per equivalent.
pub fn participant_stats(l: &Ledger) -> Value {
    let mut by_status: BTreeMap<&str, usize> = STATUSES.iter().map(|s| (s.as_str(), 0)).collect();
    let mut by_type: BTreeMap<String, usize> = ["person", "business", "hub"]
        .iter()
        .map(|k| ((*k).to_owned(), 0))
        .collect();
    for p in l.participants() {
        *by_status.entry(p.status.as_str()).or_insert(0) += 1;
        *by_type.entry(p.kind.clone()).or_insert(0) += 1;
    }
    let mut with_lines = BTreeSet::new();
    let mut with_debt = BTreeSet::new();
    let mut with_credit = BTreeSet::new();
    let mut by_eq = Map::new();
    for (i, e) in l.equivalents().iter().enumerate() {
        let Ok(eq) = EqId::try_from(i) else { continue };
        let mut lines = BTreeSet::new();
        for line in l.lines() {
            if line.eq == eq && line.status != LineStatus::Closed {
                lines.insert(line.from);
                lines.insert(line.to);
            }
        }
        let (mut debtors, mut creditors) = (BTreeSet::new(), BTreeSet::new());
        for pair in l.book(eq).graph.pairs() {
            if pair.debt > 0 {
                debtors.insert(pair.lo);
                creditors.insert(pair.hi);
            } else if pair.debt < 0 {
                debtors.insert(pair.hi);
                creditors.insert(pair.lo);
            }
        }
        by_eq.insert(
            e.code.as_str().to_owned(),
            json!({
                "with_trust_lines": lines.len(),
                "with_debt": debtors.len(),
                "with_credit": creditors.len(),
            }),
        );
        with_lines.extend(lines);
        with_debt.extend(debtors);
        with_credit.extend(creditors);
    }
    let total = l.participants().len();
    json!({
        "total_participants": total,
        "participants_by_status": by_status,
        "participants_by_type": by_type,
        "total": total,
        "by_status": by_status,
        "by_type": by_type,
        "with_trust_lines": with_lines.len(),
        "without_trust_lines": total - with_lines.len(),
        "with_debt": with_debt.len(),
        "with_credit": with_credit.len(),
        "by_equivalent": by_eq,
    })
}

/// Committed payments of one participant in one equivalent: counts and volumes in atoms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentFlow {
    /// Payments sent.
    pub sent: u64,
    /// Their total, atoms.
    pub sent_volume: i128,
    /// Payments received.
    pub received: u64,
    /// Their total, atoms.
    pub received_volume: i128,
}

/// Sums payment records (sent and received by one participant) per equivalent code. Records
/// without an equivalent or a readable amount count with a zero volume.
pub fn payment_flows(sent: &[TxRecord], received: &[TxRecord]) -> BTreeMap<String, PaymentFlow> {
    let mut out: BTreeMap<String, PaymentFlow> = BTreeMap::new();
    let amount = |tx: &TxRecord| {
        tx.payload
            .payment()
            .and_then(|p| Amount::parse_stored(&p.amount).ok())
            .map_or(0, Amount::atoms)
    };
    for (records, outgoing) in [(sent, true), (received, false)] {
        for tx in records {
            let Some(code) = &tx.equivalent else { continue };
            let f = out.entry(code.as_str().to_owned()).or_default();
            if outgoing {
                f.sent += 1;
                f.sent_volume = f.sent_volume.saturating_add(amount(tx));
            } else {
                f.received += 1;
                f.received_volume = f.received_volume.saturating_add(amount(tx));
            }
        }
    }
    out
}

#[derive(Default)]
struct LineSums {
    lines: usize,
    frozen: usize,
    limit: i128,
    used: i128,
    available: i128,
}

impl LineSums {
    fn add(&mut self, line: &TrustLine, load: &LineLoad) {
        match line.status {
            LineStatus::Active => {
                self.lines += 1;
                self.limit = self.limit.saturating_add(load.limit);
                self.used = self.used.saturating_add(load.used);
                self.available = self.available.saturating_add(load.available);
            }
            LineStatus::Frozen => self.frozen += 1,
            LineStatus::Closed => {}
        }
    }

    fn json(&self, pr: Precision) -> Value {
        json!({
            "active_lines": self.lines,
            "frozen_lines": self.frozen,
            "total_limit": fmt_atoms(self.limit, pr),
            "total_used": fmt_atoms(self.used, pr),
            "total_available": fmt_atoms(self.available, pr),
        })
    }
}

/// Metrics of one participant per equivalent: position, lines it opened (`outgoing`: others
/// may owe it) and lines opened to it (`incoming`: it may owe), its bottleneck lines, and the
/// committed payments of `flows`.
pub fn participant_metrics(
    l: &Ledger,
    me: NodeId,
    eqs: &[EqId],
    threshold: Share,
    flows: &BTreeMap<String, PaymentFlow>,
) -> Value {
    let mut by_eq = Map::new();
    for &eq in eqs {
        let e = l.equivalent_at(eq);
        let pr = e.precision;
        let pos = views::position(l, eq, me);
        let (mut out, mut inc) = (LineSums::default(), LineSums::default());
        let mut bottlenecks = 0usize;
        for (i, line) in l.lines().iter().enumerate() {
            if line.eq != eq || (line.from != me && line.to != me) {
                continue;
            }
            let load = LineLoad::of(l, i, line);
            if line.from == me {
                out.add(line, &load);
            } else {
                inc.add(line, &load);
            }
            if line.status == LineStatus::Active && load.is_bottleneck(threshold) {
                bottlenecks += 1;
            }
        }
        let flow = flows.get(e.code.as_str()).copied().unwrap_or_default();
        by_eq.insert(
            e.code.as_str().to_owned(),
            json!({
                "net_balance": fmt_atoms(pos.credit - pos.debt, pr),
                "total_debt": fmt_atoms(pos.debt, pr),
                "total_credit": fmt_atoms(pos.credit, pr),
                "outgoing": out.json(pr),
                "incoming": inc.json(pr),
                "bottlenecks": bottlenecks,
                "payments": {
                    "sent": { "count": flow.sent, "volume": fmt_atoms(flow.sent_volume, pr) },
                    "received": { "count": flow.received, "volume": fmt_atoms(flow.received_volume, pr) },
                },
            }),
        );
    }
    let p = l.participant_at(me);
    json!({
        "pid": p.pid.as_str(),
        "display_name": p.display_name,
        "type": p.kind,
        "status": p.status.as_str(),
        "threshold": share_number(threshold),
        "by_equivalent": by_eq,
    })
}

/// `AdminEquivalentUsageResponse` without the stored checkpoints: (trust lines of any status,
/// pairs with a debt).
pub fn equivalent_usage(l: &Ledger, eq: EqId) -> (usize, usize) {
    let lines = l.lines().iter().filter(|line| line.eq == eq).count();
    let debts = l.book(eq).graph.pairs().iter().filter(|p| p.debt != 0).count();
    (lines, debts)
}

/// Clearable cycles of 3..=`max_len` participants (capped at [`SEARCHED_CYCLE_LEN`]) of each
/// equivalent, through `through` when given: at most `limit` per equivalent, largest first.
pub fn cycles(
    l: &Ledger,
    eqs: &[EqId],
    through: Option<NodeId>,
    max_len: usize,
    limit: usize,
) -> Vec<(EqId, Cycle)> {
    let mut out = Vec::new();
    for &eq in eqs {
        let found = match through {
            None => l.list_cycles(eq, max_len, limit),
            Some(node) => {
                let graph = &l.book(eq).graph;
                // A cycle through `node` uses the debt of one of its pairs.
                let pairs: Vec<_> = graph.neighbors(node).iter().map(|&(_, p)| p).collect();
                cycles_through(graph, &pairs, max_len, limit)
            }
        };
        out.extend(found.into_iter().map(|c| (eq, c)));
    }
    out
}

/// The debts of a cycle as `{debt_id, debtor, creditor, amount}` (the shape of
/// `GET /clearing/cycles`).
pub fn cycle_edges(l: &Ledger, eq: EqId, cycle: &Cycle) -> Vec<Value> {
    let e = l.equivalent_at(eq);
    let n = cycle.nodes.len();
    (0..n)
        .map(|i| {
            let (d, c) = (cycle.nodes[i], cycle.nodes[(i + 1) % n]);
            json!({
                "debt_id": format!("{}:{}:{}", e.code, l.pid(d), l.pid(c)),
                "debtor": l.pid(d).as_str(),
                "creditor": l.pid(c).as_str(),
                "amount": fmt_atoms(l.debt(eq, d, c), e.precision),
            })
        })
        .collect()
}

/// A cycle of the admin listing: equivalent, participants in order, what clearing it cancels
/// on every debt, and its debts.
pub fn cycle_json(l: &Ledger, eq: EqId, cycle: &Cycle) -> Value {
    let e = l.equivalent_at(eq);
    json!({
        "equivalent": e.code.as_str(),
        "length": cycle.nodes.len(),
        "participants": cycle.nodes.iter().map(|n| l.pid(*n).as_str()).collect::<Vec<_>>(),
        "amount": fmt_atoms(cycle.amount, e.precision),
        "edges": cycle_edges(l, eq, cycle),
    })
}

/// The neighbourhood of `center`: participants within `depth` hops over the lines of `eqs`
/// whose status is in `statuses` (in either direction), with their distance, and the indices
/// of those lines between two of them.
pub fn ego(
    l: &Ledger,
    center: NodeId,
    depth: usize,
    eqs: &[EqId],
    statuses: &[LineStatus],
) -> (Vec<(NodeId, usize)>, Vec<usize>) {
    let selected: Vec<usize> = l
        .lines()
        .iter()
        .enumerate()
        .filter(|(_, line)| eqs.contains(&line.eq) && statuses.contains(&line.status))
        .map(|(i, _)| i)
        .collect();
    let mut adjacent: BTreeMap<NodeId, BTreeSet<NodeId>> = BTreeMap::new();
    for &i in &selected {
        let line = &l.lines()[i];
        adjacent.entry(line.from).or_default().insert(line.to);
        adjacent.entry(line.to).or_default().insert(line.from);
    }
    let mut dist: BTreeMap<NodeId, usize> = BTreeMap::from([(center, 0)]);
    let mut queue = VecDeque::from([center]);
    while let Some(n) = queue.pop_front() {
        let d = dist.get(&n).copied().unwrap_or(0);
        if d >= depth {
            continue;
        }
        for &m in adjacent.get(&n).into_iter().flatten() {
            if let Entry::Vacant(slot) = dist.entry(m) {
                slot.insert(d + 1);
                queue.push_back(m);
            }
        }
    }
    let links = selected
        .into_iter()
        .filter(|&i| {
            let line = &l.lines()[i];
            dist.contains_key(&line.from) && dist.contains_key(&line.to)
        })
        .collect();
    let mut nodes: Vec<(NodeId, usize)> = dist.into_iter().collect();
    nodes.sort_by_key(|&(n, d)| (d, n));
    (nodes, links)
}

/// A node of the admin graph views: the participant with its net balance per equivalent.
pub fn graph_node(l: &Ledger, node: NodeId, eqs: &[EqId]) -> Value {
    let p = l.participant_at(node);
    let mut net = Map::new();
    for &eq in eqs {
        let e = l.equivalent_at(eq);
        let pos = views::position(l, eq, node);
        net.insert(
            e.code.to_string(),
            Value::String(fmt_atoms(pos.credit - pos.debt, e.precision)),
        );
    }
    json!({
        "id": p.pid.as_str(), "name": p.display_name, "type": p.kind,
        "status": p.status.as_str(), "net_balance": net,
    })
}

/// A link of the admin graph views: the `TrustLine` plus `source` and `target`.
pub fn graph_link(l: &Ledger, line: &TrustLine) -> Value {
    let mut v = views::trust_line(l, line);
    if let Value::Object(m) = &mut v {
        m.insert("source".into(), m.get("from").cloned().unwrap_or(Value::Null));
        m.insert("target".into(), m.get("to").cloned().unwrap_or(Value::Null));
    }
    v
}

// ------------------------------------------------------------------------------------------------
// Shapes the reference hub's admin UI reads (see `docs/api.md`, "Admin analytics").

/// A share as a JSON number (`0.1`), for fields the reference's clients read as numbers. It is
/// not money: the exact decimal text is parsed into the number; a share that cannot be one is
/// written as its text.
pub fn share_number(share: Share) -> Value {
    let text = share.to_text();
    text.parse::<serde_json::Number>()
        .map_or(Value::String(text), Value::Number)
}

/// The debts of the given equivalents as `{equivalent, debtor, creditor, amount}`.
pub fn debts_json(l: &Ledger, eqs: &[EqId], only: Option<&BTreeSet<NodeId>>) -> Vec<Value> {
    let mut out = Vec::new();
    for &eq in eqs {
        let e = l.equivalent_at(eq);
        for pair in l.book(eq).graph.pairs() {
            let (debtor, creditor, amount) = match pair.debt.cmp(&0) {
                Ordering::Greater => (pair.lo, pair.hi, pair.debt),
                Ordering::Less => (pair.hi, pair.lo, pair.debt.saturating_neg()),
                Ordering::Equal => continue,
            };
            if only.is_some_and(|set| !set.contains(&debtor) || !set.contains(&creditor)) {
                continue;
            }
            out.push(json!({
                "equivalent": e.code.as_str(),
                "debtor": l.pid(debtor).as_str(),
                "creditor": l.pid(creditor).as_str(),
                "amount": fmt_atoms(amount, e.precision),
            }));
        }
    }
    out
}

/// A row of the reference's net rankings: `{pid, display_name, net}`.
fn net_row(l: &Ledger, node: NodeId, net: i128, precision: Precision) -> Value {
    let p = l.participant_at(node);
    json!({ "pid": p.pid.as_str(), "display_name": p.display_name, "net": fmt_atoms(net, precision) })
}

/// Net positions of one equivalent ranked as the reference's liquidity summary lists them:
/// (top creditors, top debtors, top by absolute net), at most `top` each.
pub fn net_rankings(l: &Ledger, eq: EqId, top: usize) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let pr = l.equivalent_at(eq).precision;
    let mut nets: BTreeMap<NodeId, i128> = BTreeMap::new();
    for pair in l.book(eq).graph.pairs() {
        if pair.debt == 0 {
            continue;
        }
        // positive debt: lo owes hi.
        *nets.entry(pair.hi).or_insert(0) += pair.debt;
        *nets.entry(pair.lo).or_insert(0) -= pair.debt;
    }
    let mut all: Vec<(NodeId, i128)> = nets.into_iter().filter(|&(_, n)| n != 0).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let creditors = all
        .iter()
        .filter(|(_, n)| *n > 0)
        .take(top)
        .map(|&(node, n)| net_row(l, node, n, pr))
        .collect();
    let debtors = all
        .iter()
        .rev()
        .filter(|(_, n)| *n < 0)
        .take(top)
        .map(|&(node, n)| net_row(l, node, n, pr))
        .collect();
    all.sort_by(|a, b| b.1.unsigned_abs().cmp(&a.1.unsigned_abs()).then(a.0.cmp(&b.0)));
    let by_abs = all
        .iter()
        .take(top)
        .map(|&(node, n)| net_row(l, node, n, pr))
        .collect();
    (creditors, debtors, by_abs)
}

/// The per-equivalent rows of the reference's participant metrics (`balance_rows`):
/// `{equivalent, outgoing_limit, outgoing_used, incoming_limit, incoming_used, total_debt,
/// total_credit, net}` over active lines (`outgoing`: lines the participant opened).
pub fn balance_rows(l: &Ledger, me: NodeId, eqs: &[EqId]) -> Vec<Value> {
    eqs.iter()
        .map(|&eq| {
            let e = l.equivalent_at(eq);
            let pr = e.precision;
            let pos = views::position(l, eq, me);
            let (mut out, mut inc) = (LineSums::default(), LineSums::default());
            for (i, line) in l.lines().iter().enumerate() {
                if line.eq != eq || (line.from != me && line.to != me) {
                    continue;
                }
                let load = LineLoad::of(l, i, line);
                if line.from == me {
                    out.add(line, &load);
                } else {
                    inc.add(line, &load);
                }
            }
            json!({
                "equivalent": e.code.as_str(),
                "outgoing_limit": fmt_atoms(out.limit, pr),
                "outgoing_used": fmt_atoms(out.used, pr),
                "incoming_limit": fmt_atoms(inc.limit, pr),
                "incoming_used": fmt_atoms(inc.used, pr),
                "total_debt": fmt_atoms(pos.debt, pr),
                "total_credit": fmt_atoms(pos.credit, pr),
                "net": fmt_atoms(pos.credit - pos.debt, pr),
            })
        })
        .collect()
}

/// Cycles keyed by equivalent as the reference lists them:
/// `{CODE: {cycles: [[{equivalent, debtor, creditor, amount}, ...], ...]}}` (every equivalent
/// of `eqs` present, with no cycles when none was found).
pub fn cycles_by_equivalent(l: &Ledger, eqs: &[EqId], found: &[(EqId, Cycle)]) -> Map<String, Value> {
    let mut out = Map::new();
    for &eq in eqs {
        let code = l.equivalent_at(eq).code.as_str();
        let cycles: Vec<Value> = found
            .iter()
            .filter(|(e, _)| *e == eq)
            .map(|(_, c)| {
                let edges: Vec<Value> = cycle_edges(l, eq, c)
                    .into_iter()
                    .map(|mut edge| {
                        if let Value::Object(m) = &mut edge {
                            m.insert("equivalent".into(), Value::String(code.to_owned()));
                        }
                        edge
                    })
                    .collect();
                Value::Array(edges)
            })
            .collect();
        out.insert(code.to_owned(), json!({ "cycles": cycles }));
    }
    out
}

#[cfg(test)]
mod tests {
    use geo_protocol::{Keypair, Pid};

    use super::*;
    use crate::ledger::lines::NewTrustLine;
    use crate::ledger::model::TxKind;
    use crate::ledger::participants::{NewEquivalent, NewParticipant};
    use crate::ledger::payments::PaymentRequest;
    use crate::ledger::LedgerConfig;

    fn pid(i: u8) -> Pid {
        Keypair::from_seed(&[i; 32]).pid()
    }

    fn code(c: &str) -> EquivalentCode {
        EquivalentCode::new(c).expect("code")
    }

    /// `n` participants, UAH and HOUR (precision 2), and the given lines of UAH
    /// `(from, to, limit)`.
    fn world(n: u8, lines: &[(u8, u8, &str)]) -> Ledger {
        let mut l = Ledger::new(LedgerConfig::default());
        for c in ["UAH", "HOUR"] {
            l.create_equivalent(
                NewEquivalent {
                    code: code(c),
                    precision: Precision::new(2).expect("precision"),
                    symbol: None,
                    description: None,
                    metadata: json!({}),
                },
                0,
            )
            .expect("equivalent");
        }
        for i in 0..n {
            let kp = Keypair::from_seed(&[i; 32]);
            l.register(
                NewParticipant {
                    pid: kp.pid(),
                    public_key: kp.public().to_base64(),
                    display_name: format!("p{i}"),
                    kind: if i == 0 { "business" } else { "person" }.into(),
                    profile: json!({}),
                },
                0,
            )
            .expect("register");
        }
        for &(from, to, limit) in lines {
            l.create_line(
                NewTrustLine {
                    id: uuid::Uuid::new_v4(),
                    from: pid(from),
                    to: pid(to),
                    equivalent: code("UAH"),
                    limit: limit.into(),
                    policy: None,
                },
                0,
            )
            .expect("line");
        }
        l
    }

    fn pay(l: &mut Ledger, tx: &str, from: u8, to: u8, amount: &str) {
        let out = l
            .pay(
                &PaymentRequest {
                    tx_id: tx.into(),
                    from: pid(from),
                    to: pid(to),
                    equivalent: code("UAH"),
                    amount: amount.into(),
                    description: None,
                    max_hops: None,
                    max_paths: None,
                    avoid: Vec::new(),
                    request_hash: tx.into(),
                },
                0,
            )
            .expect("pay");
        assert_eq!(out.record().state.as_str(), "COMMITTED", "{out:?}");
    }

    #[test]
    fn shares_parse_exactly() {
        for (text, ppm) in [
            ("0", 0),
            ("0.1", 100_000),
            ("0.10", 100_000),
            ("00.5", 500_000),
            ("1", 1_000_000),
            ("1.000000000", 1_000_000),
            ("0.000001", 1),
            ("0.1234560", 123_456),
        ] {
            assert_eq!(Share::parse(text).map(Share::ppm), Ok(ppm), "{text}");
        }
        for text in [
            "",
            ".5",
            "5.",
            "-0.1",
            "+0.1",
            "1.1",
            "2",
            "0.1e1",
            "0,1",
            " 0.1",
            "0.0000001",
            "nan",
        ] {
            assert!(Share::parse(text).is_err(), "{text:?} accepted");
        }
        assert_eq!(Share(100_000).to_text(), "0.1");
        assert_eq!(Share(1_000_000).to_text(), "1");
        assert_eq!(Share(0).to_text(), "0");
        assert_eq!(Share(123_450).to_text(), "0.12345");
    }

    #[test]
    fn ratios_compare_exactly_without_overflow() {
        use Ordering::*;
        assert_eq!(cmp_ratio(1, 3, 1, 2), Less);
        assert_eq!(cmp_ratio(2, 4, 1, 2), Equal);
        assert_eq!(cmp_ratio(0, 7, 0, 9), Equal);
        assert_eq!(cmp_ratio(0, 7, 1, 9), Less);
        assert_eq!(cmp_ratio(5, 3, 4, 3), Greater);
        let max = Amount::MAX.atoms();
        // Cross products of these overflow i128.
        assert_eq!(cmp_ratio(max - 1, max, max - 2, max - 1), Greater);
        assert_eq!(cmp_ratio(max - 2, max - 1, max - 1, max), Less);
        assert_eq!(cmp_ratio(max / 2, max, 1, 2), Less);
        // Against brute force on small numbers.
        for a in 0..12 {
            for b in 1..12 {
                for c in 0..12 {
                    for d in 1..12 {
                        assert_eq!(cmp_ratio(a, b, c, d), (a * d).cmp(&(c * b)), "{a}/{b} {c}/{d}");
                    }
                }
            }
        }
    }

    #[test]
    fn bottlenecks_are_lines_below_the_threshold_most_constrained_first() {
        // p1 trusts p0 for 100 and p2 trusts p0 for 50; p3 trusts p0 for 10.
        let mut l = world(4, &[(1, 0, "100"), (2, 0, "50"), (3, 0, "10")]);
        pay(&mut l, "a", 0, 1, "95"); // 5 % left
        pay(&mut l, "b", 0, 2, "48"); // 4 % left
        pay(&mut l, "c", 0, 3, "9.50"); // 5 % left, less available than the first
        let eqs = eq_ids(&l, Some(&code("UAH"))).expect("eq");
        let found = bottlenecks(&l, &eqs, Share::DEFAULT_THRESHOLD);
        let owners: Vec<u8> = found
            .iter()
            .map(|b| {
                let from = l.pid(l.lines()[b.index].from);
                (0..4).find(|i| &pid(*i) == from).expect("known")
            })
            .collect();
        assert_eq!(owners, vec![2, 3, 1]);
        assert_eq!(found[0].available, 200_000_000);
        assert_eq!(found[0].available_share().to_text(), "0.04");
        // Exactly at the threshold is not below it.
        assert!(bottlenecks(&l, &eqs, Share::parse("0.04").expect("share")).is_empty());
        assert_eq!(
            bottlenecks(&l, &eqs, Share::parse("0.05").expect("share")).len(),
            1
        );
        assert!(bottlenecks(&l, &eqs, Share(0)).is_empty());
        assert_eq!(bottlenecks(&l, &eqs, Share(PPM)).len(), 3);
        // Other equivalents have none.
        let hour = eq_ids(&l, Some(&code("HOUR"))).expect("eq");
        assert!(bottlenecks(&l, &hour, Share(PPM)).is_empty());

        let q = liquidity(&l, eqs[0], Share::DEFAULT_THRESHOLD);
        assert_eq!(q.active_lines, 3);
        assert_eq!(q.total_limit, 160 * 100_000_000);
        assert_eq!(q.total_used, 15_250_000_000);
        assert_eq!(q.total_available, q.total_limit - q.total_used);
        assert_eq!(q.bottlenecks, found);
        let v = liquidity_json(&l, &q, 2);
        assert_eq!(v["total_limit"], "160.00");
        assert_eq!(v["total_used"], "152.50");
        assert_eq!(v["total_available"], "7.50");
        assert_eq!(v["bottlenecks"], 3);
        assert_eq!(v["top_bottlenecks"].as_array().map(Vec::len), Some(2));
        assert_eq!(v["top_bottlenecks"][0]["available_share"], "0.04");
    }

    #[test]
    fn participant_stats_count_statuses_types_lines_and_debts() {
        let mut l = world(4, &[(1, 0, "100"), (2, 1, "100")]);
        pay(&mut l, "a", 0, 2, "10");
        l.set_participant_status(&pid(3), ParticipantStatus::Suspended, 0)
            .expect("freeze");
        let v = participant_stats(&l);
        assert_eq!(v["total"], 4);
        assert_eq!(v["by_status"]["active"], 3);
        assert_eq!(v["by_status"]["suspended"], 1);
        assert_eq!(v["by_status"]["deleted"], 0);
        assert_eq!(v["by_type"]["business"], 1);
        assert_eq!(v["by_type"]["person"], 3);
        assert_eq!(v["by_type"]["hub"], 0);
        assert_eq!(v["with_trust_lines"], 3);
        assert_eq!(v["without_trust_lines"], 1);
        // 0 owes 1, 1 owes 2.
        assert_eq!(v["with_debt"], 2);
        assert_eq!(v["with_credit"], 2);
        assert_eq!(v["by_equivalent"]["UAH"]["with_debt"], 2);
        assert_eq!(v["by_equivalent"]["HOUR"]["with_trust_lines"], 0);
    }

    #[test]
    fn participant_metrics_sum_lines_positions_and_payments() {
        let mut l = world(3, &[(1, 0, "100"), (0, 2, "30")]);
        pay(&mut l, "a", 0, 1, "95");
        let eqs = eq_ids(&l, Some(&code("UAH"))).expect("eq");
        let tx = |id: &str, amount: &str| TxRecord {
            tx_id: id.into(),
            kind: TxKind::Payment,
            initiator: None,
            equivalent: Some(code("UAH")),
            payload: crate::ledger::payload::TxPayload::Payment(crate::ledger::payload::PaymentPayload {
                from: pid(0),
                to: pid(1),
                amount: amount.into(),
                description: None,
                routes: vec![],
            }),
            state: crate::ledger::model::TxState::Committed,
            request_hash: None,
            error: None,
            created_at: 0,
            updated_at: 0,
        };
        let flows = payment_flows(&[tx("a", "95.00"), tx("b", "0.5")], &[tx("c", "1")]);
        let me = l.node(&pid(0)).expect("node");
        let v = participant_metrics(&l, me, &eqs, Share::DEFAULT_THRESHOLD, &flows);
        let m = &v["by_equivalent"]["UAH"];
        assert_eq!(v["type"], "business");
        assert_eq!(v["threshold"], json!(0.1));
        assert_eq!(m["net_balance"], "-95.00");
        assert_eq!(m["total_debt"], "95.00");
        assert_eq!(m["total_credit"], "0.00");
        // p0 opened the line to p2; p1 opened the line to p0.
        assert_eq!(m["outgoing"]["active_lines"], 1);
        assert_eq!(m["outgoing"]["total_limit"], "30.00");
        assert_eq!(m["outgoing"]["total_used"], "0.00");
        assert_eq!(m["incoming"]["total_limit"], "100.00");
        assert_eq!(m["incoming"]["total_used"], "95.00");
        assert_eq!(m["incoming"]["total_available"], "5.00");
        assert_eq!(m["bottlenecks"], 1);
        assert_eq!(m["payments"]["sent"]["count"], 2);
        assert_eq!(m["payments"]["sent"]["volume"], "95.50");
        assert_eq!(m["payments"]["received"]["count"], 1);
        assert_eq!(m["payments"]["received"]["volume"], "1.00");
    }

    #[test]
    fn ego_graph_stops_at_its_depth() {
        // A chain 0 - 1 - 2 - 3 plus a closed line 0 - 3.
        let mut l = world(4, &[(0, 1, "10"), (1, 2, "10"), (2, 3, "10"), (0, 3, "10")]);
        let closed = l.lines()[3].id;
        l.close_line(&closed, &pid(0), 0).expect("close");
        let eqs = eq_ids(&l, None).expect("eqs");
        let open = [LineStatus::Active, LineStatus::Frozen];
        let node = |i: u8| l.node(&pid(i)).expect("node");
        let (nodes, links) = ego(&l, node(0), 1, &eqs, &open);
        assert_eq!(nodes, vec![(node(0), 0), (node(1), 1)]);
        assert_eq!(links, vec![0]);
        let (nodes, links) = ego(&l, node(1), 2, &eqs, &open);
        assert_eq!(nodes.len(), 4);
        assert_eq!(links, vec![0, 1, 2]);
        // With closed lines, 3 is one hop from 0.
        let all = [LineStatus::Active, LineStatus::Frozen, LineStatus::Closed];
        let (nodes, links) = ego(&l, node(0), 1, &eqs, &all);
        assert_eq!(nodes, vec![(node(0), 0), (node(1), 1), (node(3), 1)]);
        assert_eq!(links, vec![0, 3]);
        // No lines in HOUR: the participant alone.
        let hour = eq_ids(&l, Some(&code("HOUR"))).expect("eq");
        assert_eq!(ego(&l, node(2), 2, &hour, &open), (vec![(node(2), 0)], vec![]));
    }

    #[test]
    fn cycles_through_a_participant_are_a_subset_of_all() {
        // Debts 0 -> 1 -> 2 -> 0 and 3 -> 4 -> 5 -> 3 need lines the other way.
        let mut l = world(
            6,
            &[
                (1, 0, "10"),
                (2, 1, "10"),
                (0, 2, "10"),
                (4, 3, "10"),
                (5, 4, "10"),
                (3, 5, "10"),
            ],
        );
        l.config.clear_after_payment = false;
        for (i, (a, b)) in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)]
            .iter()
            .enumerate()
        {
            pay(&mut l, &format!("t{i}"), *a, *b, if *a < 3 { "2" } else { "3" });
        }
        let eqs = eq_ids(&l, None).expect("eqs");
        let all = cycles(&l, &eqs, None, 6, 100);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].1.amount, 300_000_000);
        let node = |i: u8| l.node(&pid(i)).expect("node");
        let through = cycles(&l, &eqs, Some(node(1)), 6, 100);
        assert_eq!(through.len(), 1);
        assert!(through[0].1.nodes.contains(&node(1)));
        let v = cycle_json(&l, through[0].0, &through[0].1);
        assert_eq!(v["equivalent"], "UAH");
        assert_eq!(v["length"], 3);
        assert_eq!(v["amount"], "2.00");
        assert_eq!(v["edges"].as_array().map(Vec::len), Some(3));
        assert_eq!(v["edges"][0]["amount"], "2.00");
        assert!(cycles(&l, &eqs, Some(node(1)), 6, 0).is_empty());
    }

    #[test]
    fn usage_counts_lines_of_any_status_and_debts() {
        let mut l = world(3, &[(1, 0, "10"), (2, 0, "10")]);
        pay(&mut l, "a", 0, 1, "1");
        let closed = l.lines()[1].id;
        l.close_line(&closed, &pid(2), 0).expect("close");
        let uah = l.eq_id(&code("UAH")).expect("eq");
        let hour = l.eq_id(&code("HOUR")).expect("eq");
        assert_eq!(equivalent_usage(&l, uah), (2, 1));
        assert_eq!(equivalent_usage(&l, hour), (0, 0));
    }

    #[test]
    fn deleting_an_unused_equivalent_renumbers_the_others() {
        let mut l = world(2, &[]);
        l.take_changes();
        // A third equivalent after HOUR, with a line: its id moves down when HOUR goes.
        l.create_equivalent(
            NewEquivalent {
                code: code("EUR"),
                precision: Precision::new(2).expect("precision"),
                symbol: None,
                description: None,
                metadata: json!({}),
            },
            0,
        )
        .expect("EUR");
        l.create_line(
            NewTrustLine {
                id: uuid::Uuid::new_v4(),
                from: pid(0),
                to: pid(1),
                equivalent: code("EUR"),
                limit: "5".into(),
                policy: None,
            },
            0,
        )
        .expect("line");
        assert_eq!(
            l.delete_equivalent(&code("EUR")).map_err(|e| e.code()),
            Err("EQUIVALENT_IN_USE")
        );
        let deleted = l.delete_equivalent(&code("HOUR")).expect("delete");
        assert_eq!(deleted.code, code("HOUR"));
        assert!(l.equivalent(&code("HOUR")).is_none());
        let eur = l.eq_id(&code("EUR")).expect("EUR");
        assert_eq!(eur, 1);
        assert_eq!(l.lines()[0].eq, eur);
        assert_eq!(views::trust_line(&l, &l.lines()[0])["equivalent"], "EUR");
        assert_eq!(
            l.delete_equivalent(&code("HOUR")).map_err(|e| e.code()),
            Err("EQUIVALENT_NOT_FOUND")
        );
        let cs = l.take_changes();
        assert_eq!(cs.equivalents_deleted, vec![code("HOUR")]);
        assert_eq!(
            cs.equivalents.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
            vec!["EUR"]
        );
        // A UAH payment after the deletion still works, and UAH with a debt is in use.
        l.create_line(
            NewTrustLine {
                id: uuid::Uuid::new_v4(),
                from: pid(1),
                to: pid(0),
                equivalent: code("UAH"),
                limit: "5".into(),
                policy: None,
            },
            0,
        )
        .expect("line");
        pay(&mut l, "p", 0, 1, "1");
        assert_eq!(
            l.delete_equivalent(&code("UAH")).map_err(|e| e.code()),
            Err("EQUIVALENT_IN_USE")
        );
        for eq in 0..l.equivalents().len() {
            assert!(l.check(EqId::try_from(eq).expect("id")).passed());
        }
    }
}
