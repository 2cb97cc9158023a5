//! Prometheus metrics of one hub, exposed through `prometheus-client` in the Prometheus text
//! format (version 0.0.4).
//!
//! Every hub has its own [`Registry`] (many hubs live in one process; nothing is registered
//! globally). Counters and histograms are updated as requests and engine events happen; the
//! gauges that describe the ledger are set from one read of it at scrape time.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::broadcast;

use super::state::AppState;
use crate::engine::Event;
use crate::ledger::model::{EqId, ParticipantStatus, TxKind, TxState};
use crate::ledger::Ledger;

/// Upper bounds (seconds) of the histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// One label with a fixed value set (`status`, `class`).
type Fixed = [(&'static str, &'static str); 1];
/// The `equivalent` label.
type Equivalent = [(&'static str, String); 1];
/// A gauge with a fractional value.
type FloatGauge = Gauge<f64, AtomicU64>;

/// A latency histogram in seconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram);

impl Latency {
    fn new() -> Latency {
        Latency(Histogram::new(BUCKETS))
    }

    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }
}

/// The gauges that describe the ledger, set at scrape time.
#[derive(Debug, Default)]
struct LedgerGauges {
    active_participants: Gauge,
    participants: Family<Fixed, Gauge>,
    total_debt: Family<Equivalent, FloatGauge>,
    zero_sum: Family<Equivalent, FloatGauge>,
    integrity_status: Family<Equivalent, Gauge>,
    limit_violations: Family<Equivalent, Gauge>,
    symmetry_violations: Family<Equivalent, Gauge>,
    integrity_violations: Family<Equivalent, Gauge>,
    checkpoint_age: Family<Equivalent, FloatGauge>,
}

/// Counters, histograms and gauges of one hub, in the hub's own registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    payments: Family<Fixed, Counter>,
    clearings: Family<Fixed, Counter>,
    requests: Family<Fixed, Counter>,
    /// Time to answer `POST /payments`.
    pub payment_duration: Latency,
    /// Time of routing queries (capacity, max-flow).
    pub routing_duration: Latency,
    gauges: LedgerGauges,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn fixed(name: &'static str, value: &'static str) -> Fixed {
    [(name, value)]
}

fn equivalent(code: &str) -> Equivalent {
    [("equivalent", code.to_owned())]
}

impl Metrics {
    /// A fresh registry with every metric of the hub registered (counters at 0).
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let payments = Family::<Fixed, Counter>::default();
        let clearings = Family::<Fixed, Counter>::default();
        let requests = Family::<Fixed, Counter>::default();
        for s in ["committed", "aborted", "rejected"] {
            payments.get_or_create_owned(&fixed("status", s));
        }
        clearings.get_or_create_owned(&fixed("status", "committed"));
        for c in ["2xx", "4xx", "5xx"] {
            requests.get_or_create_owned(&fixed("class", c));
        }
        let payment_duration = Latency::new();
        let routing_duration = Latency::new();
        let gauges = LedgerGauges::default();
        registry.register("geo_payments", "Payments by outcome", payments.clone());
        registry.register(
            "geo_clearings",
            "Clearing transactions committed",
            clearings.clone(),
        );
        registry.register(
            "geo_http_requests",
            "Answered requests by status class",
            requests.clone(),
        );
        registry.register(
            "geo_payment_duration_seconds",
            "Time to answer a payment request",
            payment_duration.0.clone(),
        );
        registry.register(
            "geo_routing_duration_seconds",
            "Time of capacity and max-flow queries",
            routing_duration.0.clone(),
        );
        let g = &gauges;
        registry.register(
            "geo_active_participants",
            "Active participants",
            g.active_participants.clone(),
        );
        registry.register(
            "geo_participants",
            "Registered participants by status",
            g.participants.clone(),
        );
        registry.register("geo_total_debt", "Sum of all debts", g.total_debt.clone());
        registry.register(
            "geo_zero_sum_balance",
            "Sum of net positions (must be 0)",
            g.zero_sum.clone(),
        );
        registry.register(
            "geo_integrity_status",
            "1 when every invariant of the equivalent holds, 0 on a violation",
            g.integrity_status.clone(),
        );
        registry.register(
            "geo_trust_limit_violations_current",
            "Debts above their trust limits now",
            g.limit_violations.clone(),
        );
        registry.register(
            "geo_debt_symmetry_violations_current",
            "Pairs owing each other both ways now (0 by construction: one signed debt per pair)",
            g.symmetry_violations.clone(),
        );
        registry.register(
            "geo_integrity_violations_total",
            "Invariant violations in the current state (zero-sum, limits, reservations)",
            g.integrity_violations.clone(),
        );
        registry.register(
            "geo_last_checkpoint_age_seconds",
            "Time since the latest integrity checkpoint of an equivalent",
            g.checkpoint_age.clone(),
        );
        Metrics {
            registry,
            payments,
            clearings,
            requests,
            payment_duration,
            routing_duration,
            gauges,
        }
    }

    /// Counts a payment refused before it was recorded (validation, signature, conflict).
    pub fn payment_rejected(&self) {
        self.payments.get_or_create(&fixed("status", "rejected")).inc();
    }

    /// Counts an answered request by status.
    pub fn observe_request(&self, status: u16) {
        let class = match status {
            500.. => "5xx",
            400.. => "4xx",
            _ => "2xx",
        };
        self.requests.get_or_create(&fixed("class", class)).inc();
    }

    fn on_event(&self, e: &Event) {
        match (e.tx.kind, e.tx.state) {
            (TxKind::Payment, TxState::Committed) => {
                self.payments.get_or_create(&fixed("status", "committed")).inc();
            }
            (TxKind::Payment, TxState::Aborted) => {
                self.payments.get_or_create(&fixed("status", "aborted")).inc();
            }
            (TxKind::Clearing, _) => {
                self.clearings.get_or_create(&fixed("status", "committed")).inc();
            }
            _ => {}
        }
    }

    /// Sets the ledger gauges from a scrape of the ledger.
    fn set_gauges(&self, g: &Gauges) {
        let m = &self.gauges;
        let active = g
            .by_status
            .iter()
            .find(|(s, _)| *s == ParticipantStatus::Active.as_str())
            .map_or(0, |(_, n)| *n);
        m.active_participants.set(count(active));
        for (status, n) in &g.by_status {
            m.participants
                .get_or_create(&fixed("status", status))
                .set(count(*n));
        }
        for e in &g.per_eq {
            let label = equivalent(&e.code);
            m.total_debt.get_or_create(&label).set(units(e.total_debt));
            m.zero_sum.get_or_create(&label).set(units(e.zero_sum));
            m.integrity_status.get_or_create(&label).set(i64::from(e.healthy));
            m.limit_violations
                .get_or_create(&label)
                .set(count(e.limit_violations));
            m.symmetry_violations.get_or_create(&label).set(0);
            m.integrity_violations.get_or_create(&label).set(count(
                e.limit_violations + e.reservation_violations + usize::from(e.zero_sum != 0),
            ));
        }
    }

    /// The Prometheus text of every metric.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(4096);
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// A count as a gauge value (saturating; counts never come near `i64::MAX`).
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Atoms as a number of units. Prometheus values are floats: the exact decimal text is parsed
/// into the nearest one (no cast of the amount).
fn units(atoms: i128) -> f64 {
    geo_protocol::Amount::from_atoms(atoms)
        .ok()
        .and_then(|a| a.to_string().parse().ok())
        .unwrap_or(f64::NAN)
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
    let snapshot = state.engine().read(scrape).await;
    m.set_gauges(&snapshot);
    if let Ok(cps) = state.engine().store().latest_checkpoints().await {
        let now = state.engine().now();
        for cp in cps {
            let age = u64::try_from(now - cp.at).unwrap_or(0);
            m.gauges
                .checkpoint_age
                .get_or_create(&equivalent(cp.equivalent.as_str()))
                .set(Duration::from_millis(age).as_secs_f64());
        }
    }
    match m.encode() {
        Ok(text) => ([(CONTENT_TYPE, prometheus_text::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding /metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
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
