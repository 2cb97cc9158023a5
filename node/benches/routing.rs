//! Routing benchmarks on the Ripple credit network (67,149 nodes, 99,787 links).
//!
//! Criterion measures the mean over a fixed cycle of random pairs; a timed loop over 1,000
//! pairs prints p50/p99 (criterion reports means only). Run: `cargo bench -p geo-node --bench routing`.

use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use geo_node::ledger::datasets::ripple::parse_ripple;
use geo_node::ledger::graph::{CreditGraph, NodeId};
use geo_node::ledger::routing::{RouteLimits, Router};

const UNIT: i128 = 100_000_000;

fn ripple() -> CreditGraph {
    let dir = std::env::var("GEO_SHARED_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data").to_string());
    let path = format!("{dir}/ripple-lcc.credit-links");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let rg = parse_ripple(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"));
    eprintln!("ripple: {:?}", rg.report);
    rg.graph
}

/// Fixed-seed xorshift pairs (s != t).
fn pairs(n: usize, count: usize) -> Vec<(NodeId, NodeId)> {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        NodeId::try_from(x % n as u64).unwrap_or(0)
    };
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let (s, t) = (next(), next());
        if s != t {
            out.push((s, t));
        }
    }
    out
}

fn percentiles(name: &str, mut us: Vec<f64>, hits: usize) {
    us.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| us[((us.len() as f64 - 1.0) * q).round() as usize];
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    println!(
        "{name}: {} pairs, {hits} found/positive; p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, max {:.1} us, mean {:.1} us",
        us.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0),
        mean
    );
}

fn bench(c: &mut Criterion) {
    let g = ripple();
    let lim = RouteLimits::default();
    let ps = pairs(g.node_count(), 1000);
    let mut router = Router::new();

    // Timed loops for percentiles.
    let mut us = Vec::with_capacity(ps.len());
    let mut hits = 0;
    for &(s, t) in &ps {
        let t0 = Instant::now();
        let r = router.single_path(&g, s, t, UNIT, &lim);
        us.push(t0.elapsed().as_secs_f64() * 1e6);
        hits += usize::from(r.is_some());
    }
    percentiles("single_path (1 unit)", us, hits);
    let mut us = Vec::with_capacity(ps.len());
    let mut hits = 0;
    for &(s, t) in &ps {
        let t0 = Instant::now();
        let plan = router.max_flow(&g, s, t, &lim);
        us.push(t0.elapsed().as_secs_f64() * 1e6);
        hits += usize::from(plan.total > 0);
    }
    percentiles("max_flow (default limits)", us, hits);
    let mut us = Vec::with_capacity(ps.len());
    let mut hits = 0;
    for &(s, t) in &ps {
        let t0 = Instant::now();
        let r = router.route(&g, s, t, 100 * UNIT, &lim);
        us.push(t0.elapsed().as_secs_f64() * 1e6);
        hits += usize::from(r.is_ok());
    }
    percentiles("route (100 units)", us, hits);

    let mut i = 0;
    c.bench_function("ripple single_path 1 unit", |b| {
        b.iter(|| {
            let (s, t) = ps[i % ps.len()];
            i += 1;
            router.single_path(&g, s, t, UNIT, &lim)
        })
    });
    let mut i = 0;
    c.bench_function("ripple max_flow default limits", |b| {
        b.iter(|| {
            let (s, t) = ps[i % ps.len()];
            i += 1;
            router.max_flow(&g, s, t, &lim)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
