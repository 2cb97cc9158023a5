//! `geo bench --json` against an in-process hub with small numbers.

mod hub_support;

use hub_support::{ok_json, TestHub};

#[test]
fn bench_commits_every_payment_over_multi_hop_routes() {
    let hub = TestHub::start(hub_support::unlimited());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hub.geo(
        dir.path(),
        &[
            "bench",
            "--hub",
            &hub.url(),
            "--members",
            "20",
            "--clients",
            "4",
            "--payments",
            "200",
            "--hops",
            "3",
            "--max-seconds",
            "120",
            "--json",
        ],
    );
    let r = ok_json(&out);
    assert_eq!(r["committed"], 200, "{r}");
    assert_eq!(r["sent"], 200, "{r}");
    assert_eq!(r["aborted"], 0, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["not_sent"], 0, "{r}");
    assert_eq!(r["members"], 20);
    assert_eq!(r["clients"], 4);
    for key in [
        "elapsed_seconds",
        "setup_seconds",
        "signing_seconds",
        "committed_per_second",
        "requests_per_second",
    ] {
        assert!(r[key].as_f64().is_some_and(|x| x >= 0.0), "{key}: {r}");
    }
    assert!(r["committed_per_second"].as_f64().is_some_and(|x| x > 0.0));
    for key in ["p50", "p90", "p99", "max", "mean"] {
        assert!(
            r["latency_ms"][key].as_f64().is_some_and(|x| x > 0.0),
            "latency {key}: {r}"
        );
    }
    assert!(r["latency_ms"]["p50"].as_f64() <= r["latency_ms"]["p99"].as_f64());
    assert!(r["aborted_by_code"].is_object() && r["errors_by_code"].is_object());
    // Every route of every payment is the 3-line way along the ring.
    let hops = r["route_hops"].as_object().expect("route_hops");
    assert!(!hops.is_empty());
    for (len, n) in hops {
        assert!(len.parse::<usize>().expect("number") >= 2, "{r}");
        assert!(n.as_u64().is_some_and(|n| n > 0));
    }
}

#[test]
fn bench_refuses_single_hop_rings() {
    let hub = TestHub::start(hub_support::unlimited());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = hub.geo(
        dir.path(),
        &["bench", "--hub", &hub.url(), "--hops", "1", "--payments", "1"],
    );
    assert!(!out.status.success());
}
