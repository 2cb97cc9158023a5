//! Clearing benchmarks on the real Sarafu debt graph (`shared/data/sarafu-debt.csv`).
//!
//! Run with `cargo bench -p geo-node --bench clearing`. Set `GEO_SHARED_DATA` to the folder
//! holding the data when it is not `../shared/data` beside the checkout.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use geo_node::ledger::clearing::{cycles_through, debt_edges, optimal_clearing, short_cycles, DebtEdge};
use geo_node::ledger::datasets::sarafu::{parse_sarafu, sarafu_graph, SarafuDebt};
use geo_node::ledger::graph::PairId;

fn load() -> Vec<SarafuDebt> {
    let dir = std::env::var_os("GEO_SHARED_DATA").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
        PathBuf::from,
    );
    let path = dir.join("sarafu-debt.csv");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_sarafu(&text).expect("sarafu-debt.csv parses")
}

fn bench_clearing(c: &mut Criterion) {
    let debts = load();
    let n = debts
        .iter()
        .map(|&(a, b, _)| a.max(b) as usize + 1)
        .max()
        .unwrap_or(0);
    let edges: Vec<DebtEdge> = debts
        .iter()
        .map(|&(debtor, creditor, amount)| DebtEdge {
            debtor,
            creditor,
            amount,
            clearable: true,
        })
        .collect();

    let mut group = c.benchmark_group("clearing");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("optimal_sarafu_94k_edges", |b| {
        b.iter(|| optimal_clearing(black_box(n), black_box(&edges)))
    });

    let g = sarafu_graph(&debts);
    group.bench_function("debt_edges_sarafu", |b| b.iter(|| debt_edges(black_box(&g))));

    // Triggered search: the pairs a multi-hop payment would change, sampled over the graph.
    let pairs: Vec<PairId> = (0..g.pairs().len() as PairId).step_by(97).collect();
    group.bench_function("cycles_through_1_pair_x972", |b| {
        b.iter(|| {
            let mut found = 0;
            for &p in &pairs {
                found += cycles_through(black_box(&g), &[p], 4, 20).len();
            }
            found
        })
    });
    // A payment's changed pairs: five sampled pairs that do lie on short cycles.
    let payment: Vec<PairId> = pairs
        .iter()
        .copied()
        .filter(|&p| !cycles_through(&g, &[p], 4, 1).is_empty())
        .take(5)
        .collect();
    group.bench_function("cycles_through_5_pairs", |b| {
        b.iter(|| cycles_through(black_box(&g), black_box(&payment), 4, 20))
    });
    group.bench_function("short_cycles_len3_top100", |b| {
        b.iter(|| short_cycles(black_box(&g), 3, 100))
    });
    group.bench_function("short_cycles_len4_top100", |b| {
        b.iter(|| short_cycles(black_box(&g), 4, 100))
    });
    group.finish();
}

criterion_group!(benches, bench_clearing);
criterion_main!(benches);
