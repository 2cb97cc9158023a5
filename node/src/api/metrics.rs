//! Prometheus metrics in the text exposition format, written by hand.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;

use super::AppState;
use crate::engine::Event;
use crate::ledger::model::{EqId, ParticipantStatus, TxKind, TxState};
use crate::ledger::Ledger;

/// Upper bounds (seconds) of the histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// A latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; 12],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}.{:06}", sum / 1_000_000, sum % 1_000_000);
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// Counters and histograms of one hub.
#[derive(Debug, Default)]
pub struct Metrics {
    payments_committed: AtomicU64,
    payments_aborted: AtomicU64,
    payments_rejected: AtomicU64,
    clearings: AtomicU64,
    requests_2xx: AtomicU64,
    requests_4xx: AtomicU64,
    requests_5xx: AtomicU64,
    /// Time to answer `POST /payments`.
    pub payment_duration: Histogram,
    /// Time of routing queries (capacity, max-flow).
    pub routing_duration: Histogram,
}

impl Metrics {
    /// Counts a payment refused before it was recorded (validation, signature, conflict).
    pub fn payment_rejected(&self) {
        self.payments_rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answered request by status.
    pub fn observe_request(&self, status: u16) {
        let c = match status {
            500.. => &self.requests_5xx,
            400.. => &self.requests_4xx,
            _ => &self.requests_2xx,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    fn on_event(&self, e: &Event) {
        match (e.tx.kind, e.tx.state) {
            (TxKind::Payment, TxState::Committed) => self.payments_committed.fetch_add(1, Ordering::Relaxed),
            (TxKind::Payment, TxState::Aborted) => self.payments_aborted.fetch_add(1, Ordering::Relaxed),
            (TxKind::Clearing, _) => self.clearings.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

/// Counts committed payments and clearings from the engine's events until the engine stops.
pub async fn count_events(mut rx: broadcast::Receiver<Arc<Event>>, metrics: Arc<Metrics>) {
    loop {
        match rx.recv().await {
            Ok(e) => metrics.on_event(&e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "metrics lagged behind the event stream");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = state.metrics();
    let mut out = String::with_capacity(4096);
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "# HELP geo_payments_total Payments by outcome.\n# TYPE geo_payments_total counter"
    );
    let _ = writeln!(
        out,
        "geo_payments_total{{status=\"committed\"}} {}",
        load(&m.payments_committed)
    );
    let _ = writeln!(
        out,
        "geo_payments_total{{status=\"aborted\"}} {}",
        load(&m.payments_aborted)
    );
    let _ = writeln!(
        out,
        "geo_payments_total{{status=\"rejected\"}} {}",
        load(&m.payments_rejected)
    );
    let _ = writeln!(
        out,
        "# HELP geo_clearings_total Clearing transactions committed.\n# TYPE geo_clearings_total counter"
    );
    let _ = writeln!(
        out,
        "geo_clearings_total{{status=\"committed\"}} {}",
        load(&m.clearings)
    );
    let _ = writeln!(out, "# HELP geo_http_requests_total Answered requests by status class.\n# TYPE geo_http_requests_total counter");
    let _ = writeln!(
        out,
        "geo_http_requests_total{{class=\"2xx\"}} {}",
        load(&m.requests_2xx)
    );
    let _ = writeln!(
        out,
        "geo_http_requests_total{{class=\"4xx\"}} {}",
        load(&m.requests_4xx)
    );
    let _ = writeln!(
        out,
        "geo_http_requests_total{{class=\"5xx\"}} {}",
        load(&m.requests_5xx)
    );
    m.payment_duration.render(
        "geo_payment_duration_seconds",
        "Time to answer a payment request.",
        &mut out,
    );
    m.routing_duration.render(
        "geo_routing_duration_seconds",
        "Time of capacity and max-flow queries.",
        &mut out,
    );

    let snapshot = state.engine().read(scrape).await;
    render_gauges(&snapshot, &mut out);
    if let Ok(cps) = state.engine().store().latest_checkpoints().await {
        let now = state.engine().now();
        help(
            &mut out,
            "geo_last_checkpoint_age_seconds",
            "gauge",
            "Time since the latest integrity checkpoint of an equivalent.",
        );
        for cp in cps {
            let age = (now - cp.at).max(0);
            let _ = writeln!(
                out,
                "geo_last_checkpoint_age_seconds{{equivalent=\"{}\"}} {}.{:03}",
                cp.equivalent,
                age / 1000,
                age % 1000
            );
        }
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}

/// What the gauges show, read from the ledger at scrape time.
struct Gauges {
    /// Participants by status.
    by_status: Vec<(&'static str, usize)>,
    per_eq: Vec<EquivalentGauges>,
}

struct EquivalentGauges {
    code: String,
    total_debt: i128,
    zero_sum: i128,
    limit_violations: usize,
    reservation_violations: usize,
    healthy: bool,
}

fn scrape(l: &Ledger) -> Gauges {
    let mut by_status: Vec<(&'static str, usize)> = [
        ParticipantStatus::Active,
        ParticipantStatus::Suspended,
        ParticipantStatus::Left,
        ParticipantStatus::Deleted,
    ]
    .iter()
    .map(|s| (s.as_str(), 0))
    .collect();
    for p in l.participants() {
        if let Some(slot) = by_status.iter_mut().find(|(name, _)| *name == p.status.as_str()) {
            slot.1 += 1;
        }
    }
    let mut per_eq = Vec::new();
    for (i, e) in l.equivalents().iter().enumerate() {
        let Ok(eq) = EqId::try_from(i) else { continue };
        let report = l.check(eq);
        per_eq.push(EquivalentGauges {
            code: e.code.to_string(),
            total_debt: l.book(eq).graph.pairs().iter().map(|p| p.debt.abs()).sum(),
            zero_sum: report.zero_sum,
            limit_violations: report.limit_violations.len(),
            reservation_violations: report.reservation_violations,
            healthy: report.passed(),
        });
    }
    Gauges { by_status, per_eq }
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

/// The gauges of the architecture's list, per equivalent where it has an `equivalent` label.
fn render_gauges(g: &Gauges, out: &mut String) {
    let active = g
        .by_status
        .iter()
        .find(|(s, _)| *s == ParticipantStatus::Active.as_str())
        .map_or(0, |(_, n)| *n);
    help(out, "geo_active_participants", "gauge", "Active participants.");
    let _ = writeln!(out, "geo_active_participants {active}");
    help(
        out,
        "geo_participants",
        "gauge",
        "Registered participants by status.",
    );
    for (status, n) in &g.by_status {
        let _ = writeln!(out, "geo_participants{{status=\"{status}\"}} {n}");
    }
    let per_eq = |out: &mut String,
                  name: &str,
                  kind: &str,
                  text: &str,
                  value: &dyn Fn(&EquivalentGauges) -> String| {
        help(out, name, kind, text);
        for e in &g.per_eq {
            let _ = writeln!(out, "{name}{{equivalent=\"{}\"}} {}", e.code, value(e));
        }
    };
    per_eq(out, "geo_total_debt", "gauge", "Sum of all debts.", &|e| {
        atoms_text(e.total_debt)
    });
    per_eq(
        out,
        "geo_zero_sum_balance",
        "gauge",
        "Sum of net positions (must be 0).",
        &|e| atoms_text(e.zero_sum),
    );
    per_eq(
        out,
        "geo_integrity_status",
        "gauge",
        "1 when every invariant of the equivalent holds, 0 on a violation.",
        &|e| u8::from(e.healthy).to_string(),
    );
    per_eq(
        out,
        "geo_trust_limit_violations_current",
        "gauge",
        "Debts above their trust limits now.",
        &|e| e.limit_violations.to_string(),
    );
    per_eq(
        out,
        "geo_debt_symmetry_violations_current",
        "gauge",
        "Pairs owing each other both ways now (0 by construction: one signed debt per pair).",
        &|_| "0".to_owned(),
    );
    per_eq(
        out,
        "geo_integrity_violations_total",
        "gauge",
        "Invariant violations in the current state (zero-sum, limits, reservations).",
        &|e| (e.limit_violations + e.reservation_violations + usize::from(e.zero_sum != 0)).to_string(),
    );
}

/// Atoms as a decimal number of units (exact, no float).
fn atoms_text(atoms: i128) -> String {
    geo_protocol::Amount::from_atoms(atoms)
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "NaN".to_owned())
}
