//! Parser of the Ripple credit-link topology (`ripple-lcc.credit-links`, see
//! `../shared/data/README.md`).
//!
//! # Format
//! One link per line: `a b lower current upper`, node numbers then three decimal numbers (plain
//! or with an exponent such as `-1.1E9` or `3.4E-4`). `a` can send to `b` up to
//! `upper - current`; `b` can send to `a` up to `current - lower`.
//!
//! # Mapping into a [`CreditGraph`]
//! - Node number `k` becomes [`NodeId`] `k`; the graph has `max id + 1` node slots.
//! - "`a` can send to `b` up to X" becomes the trust line `b -> a` with limit X (b trusts a, so
//!   a may come to owe b up to X), and "`b` can send to `a` up to Y" the line `a -> b` with
//!   limit Y. Both lines are created even when a limit is zero, so no link is lost. Debts and
//!   reservations stay 0, status [`LineStatus::Active`], default [`LinePolicy`]. Line `2i` is
//!   `b -> a` and `2i + 1` is `a -> b` for the link on data line `i` (0-based).
//! - Each capacity is computed exactly from the decimal texts (arbitrary-precision decimal
//!   subtraction, no floats), then rounded DOWN to 8 decimals (atoms); a capacity that lost
//!   digits is counted in [`RippleReport::rounded`]. A capacity above
//!   [`Amount::MAX`](geo_protocol::Amount::MAX) is capped to it and counted in
//!   [`RippleReport::capped`]; a negative capacity (`current` outside `[lower, upper]`)
//!   becomes 0 and is counted in [`RippleReport::negative`].
//! - A link that repeats a pair adds its limits to the existing lines (saturating at the
//!   maximum, counted as capped) and is counted in [`RippleReport::merged`].
//! - Malformed lines (wrong field count, bad number, `a == b`, exponent beyond ±1000) are an
//!   error naming the 1-based line number. Blank lines and lines starting with `#` are skipped.

use super::super::graph::{CreditGraph, LinePolicy, LineSlot, LineStatus, NodeId};

/// What the mapping changed or counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RippleReport {
    /// Links read.
    pub links: usize,
    /// Node slots in the graph (`max id + 1`).
    pub nodes: usize,
    /// Directed capacities (two per link) greater than zero after the mapping.
    pub positive_arcs: usize,
    /// Capacities that had more than 8 decimals and were rounded down.
    pub rounded: usize,
    /// Capacities capped at `Amount::MAX`.
    pub capped: usize,
    /// Capacities that came out negative and were set to 0.
    pub negative: usize,
    /// Links that repeated an existing pair and were merged into it.
    pub merged: usize,
}

/// The parsed graph and the mapping report.
#[derive(Debug, Clone)]
pub struct RippleGraph {
    /// The credit graph (one equivalent).
    pub graph: CreditGraph,
    /// What the mapping did.
    pub report: RippleReport,
}

/// A malformed input line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ripple credit links, line {line}: {reason}")]
pub struct RippleError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// An exact decimal `(-1)^neg * mag * 10^exp`, `mag` little-endian base-10 digits.
#[derive(Debug, Clone)]
struct Dec {
    neg: bool,
    mag: Vec<u8>,
    exp: i32,
}

const MAX_EXP: i32 = 1000;

fn parse_dec(text: &str) -> Result<Dec, String> {
    let bad = || format!("not a decimal number: {text:?}");
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut exp: i32 = match exp_text {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 6 {
                return Err(bad());
            }
            let v: i32 = e.parse().map_err(|_| bad())?;
            if !(-MAX_EXP..=MAX_EXP).contains(&v) {
                return Err(format!("exponent out of range: {text:?}"));
            }
            v
        }
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int_part) || !all_digits(frac_part) {
        return Err(bad());
    }
    let frac_len = i32::try_from(frac_part.len()).map_err(|_| bad())?;
    if frac_len > 10 * MAX_EXP {
        return Err(bad());
    }
    exp -= frac_len;
    let mag: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .rev()
        .map(|b| b - b'0')
        .collect();
    Ok(Dec { neg, mag, exp })
}

/// Little-endian magnitude shifted to exponent `e` (`e <= d.exp`).
fn aligned(d: &Dec, e: i32) -> Vec<u8> {
    let shift = usize::try_from(d.exp - e).unwrap_or(0);
    let mut v = vec![0u8; shift];
    v.extend_from_slice(&d.mag);
    v
}

fn cmp_mag(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    for i in (0..len).rev() {
        let (x, y) = (a.get(i).copied().unwrap_or(0), b.get(i).copied().unwrap_or(0));
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// `a - b` exactly.
fn sub(a: &Dec, b: &Dec) -> Dec {
    let e = a.exp.min(b.exp);
    let (x, y) = (aligned(a, e), aligned(b, e));
    let y_neg = !b.neg;
    let len = x.len().max(y.len()) + 1;
    let digit = |v: &[u8], i: usize| i32::from(v.get(i).copied().unwrap_or(0));
    let mut out = Vec::with_capacity(len);
    if a.neg == y_neg {
        let mut carry = 0;
        for i in 0..len {
            let s = digit(&x, i) + digit(&y, i) + carry;
            out.push(u8::try_from(s % 10).unwrap_or(0));
            carry = s / 10;
        }
        return Dec {
            neg: a.neg,
            mag: out,
            exp: e,
        };
    }
    let (big, small, neg) = if cmp_mag(&x, &y) == std::cmp::Ordering::Less {
        (&y, &x, y_neg)
    } else {
        (&x, &y, a.neg)
    };
    let mut borrow = 0;
    for i in 0..len {
        let mut d = digit(big, i) - digit(small, i) - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out.push(u8::try_from(d).unwrap_or(0));
    }
    Dec {
        neg,
        mag: out,
        exp: e,
    }
}

/// Maps a capacity to atoms: negative -> 0, round down to 8 decimals, cap at `Amount::MAX`.
fn to_atoms(d: &Dec, report: &mut RippleReport) -> i128 {
    let max = geo_protocol::Amount::MAX.atoms();
    let nonzero = d.mag.iter().any(|&x| x != 0);
    if !nonzero {
        return 0;
    }
    if d.neg {
        report.negative += 1;
        return 0;
    }
    // Value in atoms = mag * 10^(exp + 8).
    let shift = d.exp + 8;
    let (digits, zeros): (&[u8], usize) = if shift >= 0 {
        (&d.mag, usize::try_from(shift).unwrap_or(usize::MAX))
    } else {
        let drop = usize::try_from(-shift).unwrap_or(usize::MAX);
        let cut = drop.min(d.mag.len());
        if d.mag[..cut].iter().any(|&x| x != 0) {
            report.rounded += 1;
        }
        (&d.mag[cut..], 0)
    };
    let mut acc: i128 = 0;
    let mut capped = false;
    // Most significant first; acc stays <= MAX * 10 + 9, far inside i128.
    for &x in digits.iter().rev().chain(std::iter::repeat_n(&0u8, zeros)) {
        acc = acc * 10 + i128::from(x);
        if acc > max {
            capped = true;
            break;
        }
    }
    if capped {
        report.capped += 1;
        return max;
    }
    acc
}

fn add_limit(slot: &mut Option<LineSlot>, line: u32, limit: i128, report: &mut RippleReport) {
    let max = geo_protocol::Amount::MAX.atoms();
    match slot {
        Some(s) => {
            let sum = s.limit.saturating_add(limit);
            if sum > max {
                report.capped += 1;
            }
            s.limit = sum.min(max);
        }
        None => {
            *slot = Some(LineSlot {
                line,
                limit,
                status: LineStatus::Active,
                policy: LinePolicy::default(),
            });
        }
    }
}

/// Parses the whole file text into a [`RippleGraph`] (see the module documentation).
pub fn parse_ripple(text: &str) -> Result<RippleGraph, RippleError> {
    let mut graph = CreditGraph::new();
    let mut report = RippleReport::default();
    let mut max_node: Option<NodeId> = None;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |reason: String| RippleError {
            line: line_no,
            reason,
        };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 5 {
            return Err(err(format!("expected 5 fields, found {}", f.len())));
        }
        let node = |s: &str| {
            s.parse::<NodeId>()
                .map_err(|_| err(format!("not a node number: {s:?}")))
        };
        let (a, b) = (node(f[0])?, node(f[1])?);
        if a == b {
            return Err(err(format!("link from node {a} to itself")));
        }
        let lower = parse_dec(f[2]).map_err(&err)?;
        let current = parse_dec(f[3]).map_err(&err)?;
        let upper = parse_dec(f[4]).map_err(&err)?;
        let a_to_b = to_atoms(&sub(&upper, &current), &mut report);
        let b_to_a = to_atoms(&sub(&current, &lower), &mut report);
        let idx = u32::try_from(report.links)
            .ok()
            .and_then(|k| k.checked_mul(2))
            .ok_or_else(|| err("too many links".to_string()))?;
        let existed = graph.find(a, b).is_some();
        let pid = graph.find_or_insert(a, b);
        if existed {
            report.merged += 1;
        }
        let pair = graph.pair_mut(pid);
        // "a can send to b up to X": b trusts a for X (line b -> a).
        add_limit(pair.line_from_mut(b), idx, a_to_b, &mut report);
        add_limit(pair.line_from_mut(a), idx + 1, b_to_a, &mut report);
        report.links += 1;
        max_node = Some(max_node.map_or(a.max(b), |m| m.max(a).max(b)));
    }
    report.nodes = max_node.map_or(0, |m| m as usize + 1);
    graph.ensure_nodes(report.nodes);
    report.positive_arcs = graph
        .pairs()
        .iter()
        .map(|p| usize::from(p.capacity(p.lo) > 0) + usize::from(p.capacity(p.hi) > 0))
        .sum();
    Ok(RippleGraph { graph, report })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_directions_and_decimals() {
        let text = "0 1 -5 -2 10\n1 2 -1.1E2 0.0 3.000000005\n";
        let r = parse_ripple(text).unwrap();
        let g = &r.graph;
        // 0 can send 1 up to 10 - (-2) = 12 units; 1 can send 0 up to -2 - (-5) = 3.
        assert_eq!(g.hop_capacity(0, 1, 0, 1), 12 * 100_000_000);
        assert_eq!(g.hop_capacity(1, 0, 1, 0), 3 * 100_000_000);
        assert_eq!(g.hop_capacity(1, 2, 1, 2), 300_000_000); // 3.000000005 rounded down
        assert_eq!(g.hop_capacity(2, 1, 2, 1), 110 * 100_000_000);
        assert_eq!(r.report.rounded, 1);
        assert_eq!(r.report.nodes, 3);
        assert_eq!(r.report.positive_arcs, 4);
    }

    #[test]
    fn caps_huge_and_exact_subtraction() {
        // 1.1E41 - 1.1E41 + tiny: exact arithmetic gives the tiny difference.
        let text = "0 1 -1.1E41 1.1E41 1.1E41\n0 2 0 -0.000000019 1E-83\n";
        let r = parse_ripple(text).unwrap();
        assert_eq!(r.graph.hop_capacity(0, 1, 0, 1), 0);
        assert_eq!(
            r.graph.hop_capacity(1, 0, 1, 0),
            geo_protocol::Amount::MAX.atoms()
        );
        assert_eq!(r.report.capped, 1);
        // 0 -> 2: 1E-83 + 0.000000019 = 1 atom after rounding down; 2 -> 0: -0.000000019 < 0.
        assert_eq!(r.graph.hop_capacity(0, 2, 0, 2), 1);
        assert_eq!(r.graph.hop_capacity(2, 0, 2, 0), 0);
        assert_eq!(r.report.negative, 1);
    }

    #[test]
    fn malformed_lines_name_their_number() {
        assert_eq!(parse_ripple("0 1 0 0 1\n0 1 0 x 1\n").unwrap_err().line, 2);
        assert_eq!(parse_ripple("0 1 0 0\n").unwrap_err().line, 1);
        assert_eq!(parse_ripple("3 3 0 0 1\n").unwrap_err().line, 1);
        assert_eq!(parse_ripple("0 1 0 0 1E99999\n").unwrap_err().line, 1);
        assert_eq!(parse_ripple("0 1 . 0 1\n").unwrap_err().line, 1);
        assert_eq!(parse_ripple("0 1 1e 0 1\n").unwrap_err().line, 1);
    }
}
