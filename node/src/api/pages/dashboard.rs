//! `/admin/dashboard`: counts of participants and trust lines, per-equivalent trust, debt,
//! 24-hour payment volume and invariant status, and the most recent transactions.

use std::collections::HashMap;

use axum::extract::State;
use geo_protocol::{Amount, Precision};
use maud::{html, Markup, Render};
use serde_json::Value;

use super::html::{badge, short, url_encode};
use super::{render, AdminSession, PageResult};
use crate::api::util::{fmt_atoms, fmt_time};
use crate::api::AppState;
use crate::ledger::graph::LineStatus;
use crate::ledger::model::{EqId, ParticipantStatus, TxKind, TxRecord, TxState};
use crate::store::TxFilter;

/// Most payments summed for the 24-hour volume.
const VOLUME_SCAN: i64 = 10_000;

struct EqRow {
    code: String,
    precision: Precision,
    lines: usize,
    trust: i128,
    debt: i128,
    passed: bool,
}

struct Overview {
    by_status: Vec<(ParticipantStatus, usize)>,
    participants: usize,
    lines: [usize; 3],
    eqs: Vec<EqRow>,
}

/// Display names of PIDs and precisions of equivalents, for rendering transaction rows.
pub struct Names {
    /// PID -> display name.
    pub names: HashMap<String, String>,
    /// Code -> precision.
    pub precisions: HashMap<String, Precision>,
}

impl Names {
    /// Looks up every participant and equivalent (cheap: clones strings).
    pub async fn load(state: &AppState) -> Names {
        state
            .engine()
            .read(|l| Names {
                names: l
                    .participants()
                    .iter()
                    .map(|p| (p.pid.as_str().to_owned(), p.display_name.clone()))
                    .collect(),
                precisions: l
                    .equivalents()
                    .iter()
                    .map(|e| (e.code.as_str().to_owned(), e.precision))
                    .collect(),
            })
            .await
    }

    /// A participant cell: the display name with the PID in the tooltip.
    pub fn who(&self, pid: Option<&Value>) -> Markup {
        match pid.and_then(Value::as_str) {
            Some(p) => match self.names.get(p) {
                Some(n) => html! { span title=(p) { (n) } },
                None => short(p),
            },
            None => html! { "–" },
        }
    }

    /// A stored amount text re-rendered at the equivalent's precision (plain text).
    pub fn amount(&self, eq: Option<&str>, text: Option<&Value>) -> String {
        let Some(t) = text.and_then(Value::as_str) else {
            return "–".to_owned();
        };
        let precision = eq.and_then(|e| self.precisions.get(e)).copied();
        match (Amount::parse_non_negative(t, Precision::MAX), precision) {
            (Ok(a), Some(p)) => a.to_string_with(p),
            _ => t.to_owned(),
        }
    }
}

/// One row of the recent-transactions table.
pub fn tx_row(tx: &TxRecord, names: &Names) -> Markup {
    let eq = tx.equivalent.as_ref().map(|e| e.as_str());
    let p = &tx.payload.to_json();
    let (amount, parties) = match tx.kind {
        TxKind::Payment => (
            names.amount(eq, p.get("amount")),
            html! { (names.who(p.get("from"))) " → " (names.who(p.get("to"))) },
        ),
        TxKind::Clearing => {
            let n = p.get("edges").and_then(Value::as_array).map_or(0, Vec::len);
            (names.amount(eq, p.get("cleared")), html! { (n) " debts reduced" })
        }
        _ => (
            names.amount(eq, p.get("limit")),
            html! { (names.who(p.get("from"))) " → " (names.who(p.get("to"))) },
        ),
    };
    let state = match tx.state {
        TxState::Committed => "committed",
        TxState::Prepared => "prepared",
        TxState::Aborted => "aborted",
    };
    html! {
        tr {
            td class="time" { (fmt_time(tx.created_at)) }
            td { (tx.kind.as_str()) }
            td { (badge(state)) }
            td { (eq.unwrap_or("–")) }
            td class="num" { (amount) }
            td { (parties) }
            td { (short(&tx.tx_id)) }
        }
    }
}

/// The header of the transactions table.
pub fn tx_head() -> Markup {
    html! {
        tr {
            th { "Time" } th { "Type" } th { "State" } th { "Equiv." } th class="num" { "Amount" }
            th { "Parties" } th { "Tx" }
        }
    }
}

fn overview(l: &crate::ledger::Ledger) -> Overview {
    let mut counts: HashMap<ParticipantStatus, usize> = HashMap::new();
    for p in l.participants() {
        *counts.entry(p.status).or_default() += 1;
    }
    let by_status = [
        ParticipantStatus::Active,
        ParticipantStatus::Suspended,
        ParticipantStatus::Left,
        ParticipantStatus::Deleted,
    ]
    .into_iter()
    .map(|s| (s, counts.get(&s).copied().unwrap_or(0)))
    .collect();
    let mut lines = [0usize; 3];
    for line in l.lines() {
        let i = match line.status {
            LineStatus::Active => 0,
            LineStatus::Frozen => 1,
            LineStatus::Closed => 2,
        };
        lines[i] += 1;
    }
    let eqs = l
        .equivalents()
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let eq = EqId::try_from(i).ok()?;
            let (trust, n) = l
                .lines()
                .iter()
                .filter(|x| x.eq == eq && x.status == LineStatus::Active)
                .fold((0i128, 0usize), |(t, n), x| (t + x.limit.atoms(), n + 1));
            let debt = l.book(eq).graph.pairs().iter().map(|p| p.debt.abs()).sum();
            Some(EqRow {
                code: e.code.as_str().to_owned(),
                precision: e.precision,
                lines: n,
                trust,
                debt,
                passed: l.check(eq).passed(),
            })
        })
        .collect();
    Overview {
        by_status,
        participants: l.participants().len(),
        lines,
        eqs,
    }
}

fn card(id: &str, value: impl Render, label: &str, sub: impl Render) -> Markup {
    html! {
        div class="card" id=(id) {
            div class="value" { (value) }
            div class="label" { (label) }
            div class="sub" { (sub) }
        }
    }
}

/// `GET /admin/dashboard`.
pub async fn page(State(state): State<AppState>, session: AdminSession) -> PageResult {
    let ov = state.engine().read(overview).await;
    let now = state.engine().now();
    let store = state.engine().store();
    let recent = store
        .transactions(&TxFilter {
            limit: 15,
            ..TxFilter::default()
        })
        .await?;
    let day = store
        .transactions(&TxFilter {
            kind: Some(TxKind::Payment),
            state: Some(TxState::Committed),
            since: Some(now - 86_400_000),
            limit: VOLUME_SCAN,
            ..TxFilter::default()
        })
        .await?;
    let capped = i64::try_from(day.len()).unwrap_or(i64::MAX) >= VOLUME_SCAN;
    let mut volume: HashMap<String, (i128, usize)> = HashMap::new();
    for tx in &day {
        let Some(code) = tx.equivalent.as_ref() else {
            continue;
        };
        let atoms = tx
            .payload
            .payment()
            .map(|p| p.amount.as_str())
            .and_then(|t| Amount::parse_non_negative(t, Precision::MAX).ok())
            .map_or(0, Amount::atoms);
        let v = volume.entry(code.as_str().to_owned()).or_default();
        v.0 += atoms;
        v.1 += 1;
    }
    let names = Names::load(&state).await;

    let status_text: Vec<String> = ov
        .by_status
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    let payments: usize = volume.values().map(|v| v.1).sum();
    let failing: Vec<&str> = ov
        .eqs
        .iter()
        .filter(|e| !e.passed)
        .map(|e| e.code.as_str())
        .collect();
    let (value, sub) = if failing.is_empty() {
        (badge("healthy"), "all invariants hold".to_owned())
    } else {
        (badge("critical"), format!("violated in {}", failing.join(", ")))
    };
    let body = html! {
        section class="cards" {
            (card("card-participants", ov.participants, "participants", status_text.join(" · ")))
            (card(
                "card-lines",
                ov.lines[0] + ov.lines[1],
                "open trust lines",
                format!("{} active · {} frozen · {} closed", ov.lines[0], ov.lines[1], ov.lines[2]),
            ))
            (card(
                "card-volume",
                format!("{}{payments}", if capped { "≥" } else { "" }),
                "payments in 24 h",
                format!("{} equivalents", ov.eqs.len()),
            ))
            (card("card-integrity", value, "integrity", sub))
        }
        h2 { "Equivalents" }
        table {
            thead {
                tr {
                    th { "Code" } th class="num" { "Active lines" } th class="num" { "Total trust" }
                    th class="num" { "Outstanding debt" } th class="num" { "Volume 24 h" }
                    th class="num" { "Payments 24 h" } th { "Invariants" }
                }
            }
            tbody {
                @for e in &ov.eqs {
                    @let (vol, n) = volume.get(&e.code).copied().unwrap_or((0, 0));
                    tr {
                        td { a href={ "/admin/trustlines?equivalent=" (url_encode(&e.code)) } { (e.code) } }
                        td class="num" { (e.lines) }
                        td class="num" { (fmt_atoms(e.trust, e.precision)) }
                        td class="num" { (fmt_atoms(e.debt, e.precision)) }
                        td class="num" { (fmt_atoms(vol, e.precision)) }
                        td class="num" { (n) }
                        td { (badge(if e.passed { "passed" } else { "FAILED" })) }
                    }
                }
            }
        }
        h2 { "Recent transactions" }
        table id="recent" {
            thead { (tx_head()) }
            tbody {
                @if recent.is_empty() {
                    tr { td colspan="7" class="muted" { "No transactions yet." } }
                }
                @for tx in &recent {
                    (tx_row(tx, &names))
                }
            }
        }
    };
    Ok(render("Dashboard", "dashboard", &session, body))
}
