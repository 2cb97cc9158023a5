//! `geo bench`: a load generator for one hub over HTTP.
//!
//! It creates `members` participants with fresh in-memory keys, registers and logs them in, and
//! opens a ring of trust lines (each member trusts both neighbours, with a large limit). Payment
//! `j` goes from member `j mod K` to member `j mod K + hops` along the ring, so every payment needs
//! a route of `hops` (>= 2) lines. The `payments` signed payment requests are prepared before the
//! clock starts and then sent by `clients` concurrent clients, each over a keep-alive connection
//! of its own. The run is bounded by the number of payments and by `--max-seconds`.
//!
//! Reported: committed payments per second, aborted payments and errors by code, and the latency
//! of the payment requests (p50, p90, p99, max).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use geo_protocol::wire::auth::{ChallengeRequest, LoginRequest};
use geo_protocol::wire::error::ErrorEnvelope;
use geo_protocol::wire::participants::{ParticipantCreateRequest, ParticipantType};
use geo_protocol::wire::payments::{PaymentCreateRequest, PaymentResult, PaymentStatus};
use geo_protocol::wire::trustlines::TrustLineCreateRequest;
use geo_protocol::wire::{Endpoint, SignedBody, WireAmount};
use geo_protocol::{EquivalentCode, Keypair, Pid};
use hyper::body::Bytes;
use hyper::Method;
use serde::Serialize;

use super::http::{encode, CallError, Conn, HttpClient, HubUrl};

/// Options of `geo bench` (the hub is the global `--hub`).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Concurrent clients, each with a keep-alive connection of its own.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Payments to send in total.
    #[arg(long, default_value_t = 10_000)]
    pub payments: usize,
    /// Participants in the ring.
    #[arg(long, default_value_t = 50)]
    pub members: usize,
    /// Equivalent of the trust lines and payments (must exist on the hub).
    #[arg(long, default_value = "UAH")]
    pub equivalent: String,
    /// Length of every payment's route along the ring (2-6).
    #[arg(long, default_value_t = 3)]
    pub hops: usize,
    /// Amount of each payment.
    #[arg(long, default_value = "1.00")]
    pub amount: String,
    /// Limit of every trust line of the ring.
    #[arg(long, default_value = "1000000000")]
    pub limit: String,
    /// Stop sending payments after this many seconds, whatever is left.
    #[arg(long, default_value_t = 300)]
    pub max_seconds: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest request.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Hub URL.
    pub hub: String,
    /// Participants in the ring.
    pub members: usize,
    /// Concurrent clients.
    pub clients: usize,
    /// Payments asked for.
    pub payments: usize,
    /// Route length asked for.
    pub hops: usize,
    /// Equivalent.
    pub equivalent: String,
    /// Amount of each payment.
    pub amount: String,
    /// Seconds spent registering, logging in and opening trust lines.
    pub setup_seconds: f64,
    /// Seconds spent preparing (signing) the payment requests, outside the timed phase.
    pub signing_seconds: f64,
    /// Duration of the timed phase in seconds.
    pub elapsed_seconds: f64,
    /// Payment requests sent.
    pub sent: u64,
    /// Payments answered `COMMITTED`.
    pub committed: u64,
    /// Payments answered `ABORTED`.
    pub aborted: u64,
    /// Aborted payments by `error.code`.
    pub aborted_by_code: BTreeMap<String, u64>,
    /// Requests that failed (error envelope or transport), total.
    pub errors: u64,
    /// Failed requests by code (`TRANSPORT` for connection problems).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Payments not sent because `--max-seconds` ran out.
    pub not_sent: u64,
    /// Committed payments per second of the timed phase.
    pub committed_per_second: f64,
    /// Answered requests per second of the timed phase.
    pub requests_per_second: f64,
    /// Latency of the payment requests (all outcomes).
    pub latency_ms: Latency,
    /// Route lengths (lines per path) seen in committed payments: length -> paths.
    pub route_hops: BTreeMap<usize, u64>,
}

/// Runs `count` jobs `f(i)` with at most `concurrency` at a time; results in index order.
async fn parallel<T, F, Fut>(count: usize, concurrency: usize, f: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let f = Arc::new(f);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let f = f.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, anyhow::Error>(out);
                }
                out.push((i, f(i).await?));
            }
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

async fn register_and_login(http: &HttpClient, key: &Keypair, name: String) -> anyhow::Result<String> {
    let mut body = ParticipantCreateRequest {
        display_name: name,
        kind: Some(ParticipantType::Person),
        public_key: key.public().to_base64(),
        profile: None,
        signature: String::new(),
    };
    body.sign(key).map_err(|e| anyhow::anyhow!("signing: {e}"))?;
    http.send(&ParticipantCreateRequest::full_path(), None, &body)
        .await?;
    let (challenge, _) = http
        .send(
            &ChallengeRequest::full_path(),
            None,
            &ChallengeRequest { pid: key.pid() },
        )
        .await?;
    let login = LoginRequest::signed(key, challenge.challenge);
    let (tokens, _) = http.send(&LoginRequest::full_path(), None, &login).await?;
    Ok(tokens.access_token)
}

/// One prepared payment request.
struct Prepared {
    body: Bytes,
    token: Arc<str>,
}

#[derive(Default)]
struct ClientStats {
    latencies_us: Vec<u32>,
    committed: u64,
    aborted: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
    not_sent: u64,
    route_hops: BTreeMap<usize, u64>,
}

impl ClientStats {
    fn record(&mut self, result: Result<(u16, Bytes), CallError>) {
        let (status, bytes) = match result {
            Ok(r) => r,
            Err(_) => {
                *self.errors.entry("TRANSPORT".into()).or_default() += 1;
                return;
            }
        };
        if status != 200 {
            let code = serde_json::from_slice::<ErrorEnvelope>(&bytes)
                .map_or_else(|_| format!("HTTP_{status}"), |e| e.error.code);
            *self.errors.entry(code).or_default() += 1;
            return;
        }
        match serde_json::from_slice::<PaymentResult>(&bytes) {
            Ok(answer) if answer.status == PaymentStatus::Committed => {
                self.committed += 1;
                for r in answer.routes.iter().flatten() {
                    *self.route_hops.entry(r.path.len().saturating_sub(1)).or_default() += 1;
                }
            }
            Ok(answer) => {
                let code = answer.error.map_or_else(|| format!("HTTP_{status}"), |e| e.code);
                *self.aborted.entry(code).or_default() += 1;
            }
            Err(_) => *self.errors.entry("UNEXPECTED_ANSWER".into()).or_default() += 1,
        }
    }

    fn merge(&mut self, other: ClientStats) {
        self.latencies_us.extend(other.latencies_us);
        self.committed += other.committed;
        self.not_sent += other.not_sent;
        for (k, v) in other.aborted {
            *self.aborted.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.route_hops {
            *self.route_hops.entry(k).or_default() += v;
        }
    }
}

fn percentile(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_us.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted_us.len()) - 1;
    f64::from(sorted_us[i]) / 1000.0
}

fn latency(mut us: Vec<u32>) -> Latency {
    us.sort_unstable();
    let sum: u64 = us.iter().map(|&x| u64::from(x)).sum();
    Latency {
        p50: percentile(&us, 0.50),
        p90: percentile(&us, 0.90),
        p99: percentile(&us, 0.99),
        max: us.last().map_or(0.0, |&x| f64::from(x) / 1000.0),
        mean: if us.is_empty() {
            0.0
        } else {
            sum as f64 / us.len() as f64 / 1000.0
        },
    }
}

/// Signs every payment of the run (in parallel threads), grouped by client.
fn prepare(
    args: &BenchArgs,
    keys: &[Keypair],
    tokens: &[Arc<str>],
    run: &str,
) -> anyhow::Result<Vec<Vec<Prepared>>> {
    let k = keys.len();
    let pids: Vec<Pid> = keys.iter().map(Keypair::pid).collect();
    let equivalent =
        EquivalentCode::new(&args.equivalent).map_err(|e| anyhow::anyhow!("--equivalent: {e}"))?;
    let amount = WireAmount::parse(&args.amount).map_err(|e| anyhow::anyhow!("--amount: {e}"))?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = args.payments.div_ceil(threads).max(1);
    let signed: Vec<anyhow::Result<Vec<(usize, Prepared)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (pids, equivalent, amount) = (&pids, &equivalent, &amount);
                s.spawn(move || {
                    let lo = (t * chunk).min(args.payments);
                    let hi = ((t + 1) * chunk).min(args.payments);
                    (lo..hi)
                        .map(|j| {
                            let payer = j % k;
                            let payee = (payer + args.hops) % k;
                            let mut body = PaymentCreateRequest {
                                tx_id: format!("bench-{run}-{j}"),
                                to: pids[payee].clone(),
                                equivalent: equivalent.clone(),
                                amount: amount.clone(),
                                description: None,
                                constraints: None,
                                signature: String::new(),
                            };
                            body.sign(&keys[payer])
                                .map_err(|e| anyhow::anyhow!("signing: {e}"))?;
                            Ok((
                                j,
                                Prepared {
                                    body: encode(&body)?,
                                    token: tokens[payer].clone(),
                                },
                            ))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a signing thread panicked")))
            })
            .collect()
    });
    let mut per_client: Vec<Vec<Prepared>> = (0..args.clients).map(|_| Vec::new()).collect();
    for part in signed {
        for (j, p) in part? {
            per_client[j % args.clients].push(p);
        }
    }
    Ok(per_client)
}

/// Runs the benchmark against `hub` and returns the report.
pub async fn run(hub: HubUrl, args: BenchArgs) -> anyhow::Result<Report> {
    if !(2..=6).contains(&args.hops) {
        anyhow::bail!("--hops must be between 2 and 6 (the hub routes over at most 6 lines)");
    }
    if args.members < args.hops + 2 {
        anyhow::bail!("--members must be at least --hops + 2 so that no route is shorter than 2 lines");
    }
    if args.clients == 0 || args.payments == 0 {
        anyhow::bail!("--clients and --payments must be positive");
    }
    let http = HttpClient::new(hub.clone());
    http.call(Method::GET, "/api/v1/health", None, None::<&()>)
        .await
        .map_err(|e| anyhow::anyhow!("hub {} is not healthy: {e}", hub.base()))?;
    let setup_start = Instant::now();
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let k = args.members;
    let keys: Arc<Vec<Keypair>> = Arc::new((0..k).map(|_| Keypair::generate()).collect());
    let setup_concurrency = args.clients.clamp(1, 16);

    let tokens: Vec<Arc<str>> = {
        let (http, keys, run_id) = (http.clone(), keys.clone(), run_id.clone());
        parallel(k, setup_concurrency, move |i| {
            let (http, keys, name) = (http.clone(), keys.clone(), format!("bench-{}-{i}", &run_id[..8]));
            async move { register_and_login(&http, &keys[i], name).await.map(Arc::from) }
        })
        .await?
    };

    // Line 2i: member i trusts i+1; line 2i+1: member i trusts i-1. Both directions of every
    // ring edge are open, so payments can flow around the ring indefinitely.
    {
        let (http, keys, tokens) = (http.clone(), keys.clone(), Arc::new(tokens.clone()));
        let eq = EquivalentCode::new(&args.equivalent).map_err(|e| anyhow::anyhow!("--equivalent: {e}"))?;
        let limit = WireAmount::parse(&args.limit).map_err(|e| anyhow::anyhow!("--limit: {e}"))?;
        parallel(2 * k, setup_concurrency, move |l| {
            let owner = l / 2;
            let to = if l % 2 == 0 {
                (owner + 1) % k
            } else {
                (owner + k - 1) % k
            };
            let mut body = TrustLineCreateRequest {
                to: keys[to].pid(),
                equivalent: eq.clone(),
                limit: limit.clone(),
                policy: None,
                signature: String::new(),
            };
            let body = body.sign(&keys[owner]).map(|()| body);
            let (http, token) = (http.clone(), tokens[owner].clone());
            async move {
                let body = body.map_err(|e| anyhow::anyhow!("signing: {e}"))?;
                http.send(&TrustLineCreateRequest::full_path(), Some(&token), &body)
                    .await
                    .map_err(|e| anyhow::anyhow!("opening a trust line: {e}"))
            }
        })
        .await?;
    }
    let setup_seconds = setup_start.elapsed().as_secs_f64();

    let sign_start = Instant::now();
    let batches = {
        let args = args.clone();
        let keys = keys.clone();
        let tokens = tokens.clone();
        let run_id = run_id.clone();
        tokio::task::spawn_blocking(move || prepare(&args, &keys, &tokens, &run_id)).await??
    };
    let signing_seconds = sign_start.elapsed().as_secs_f64();

    let barrier = Arc::new(tokio::sync::Barrier::new(args.clients + 1));
    let max = Duration::from_secs(args.max_seconds.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        let hub = hub.clone();
        let barrier = barrier.clone();
        tasks.spawn(async move {
            let conn = Conn::connect(&hub).await;
            barrier.wait().await;
            let mut conn = conn?;
            let deadline = Instant::now() + max;
            let mut stats = ClientStats {
                latencies_us: Vec::with_capacity(batch.len()),
                ..ClientStats::default()
            };
            for (n, p) in batch.iter().enumerate() {
                let t0 = Instant::now();
                if t0 >= deadline {
                    stats.not_sent += (batch.len() - n) as u64;
                    break;
                }
                let result = conn
                    .send(Method::POST, "/api/v1/payments", Some(&p.token), p.body.clone())
                    .await;
                let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                stats.latencies_us.push(us);
                stats.record(result);
            }
            Ok::<_, CallError>(stats)
        });
    }
    barrier.wait().await;
    let start = Instant::now();
    let mut total = ClientStats::default();
    let mut connect_errors = 0u64;
    while let Some(done) = tasks.join_next().await {
        match done? {
            Ok(stats) => total.merge(stats),
            Err(_) => connect_errors += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    if connect_errors > 0 {
        *total.errors.entry("CONNECT".into()).or_default() += connect_errors;
    }
    let sent = total.latencies_us.len() as u64;
    let aborted: u64 = total.aborted.values().sum();
    let errors: u64 = total.errors.values().sum();
    Ok(Report {
        hub: hub.base().to_owned(),
        members: k,
        clients: args.clients,
        payments: args.payments,
        hops: args.hops,
        equivalent: args.equivalent.clone(),
        amount: args.amount.clone(),
        setup_seconds,
        signing_seconds,
        elapsed_seconds: elapsed,
        sent,
        committed: total.committed,
        aborted,
        aborted_by_code: total.aborted,
        errors,
        errors_by_code: total.errors,
        not_sent: total.not_sent,
        committed_per_second: total.committed as f64 / elapsed,
        requests_per_second: sent as f64 / elapsed,
        latency_ms: latency(total.latencies_us),
        route_hops: total.route_hops,
    })
}

/// The human summary of a report.
pub fn summary(r: &Report) -> String {
    let mut out = String::new();
    let codes = |m: &BTreeMap<String, u64>| {
        if m.is_empty() {
            "-".to_owned()
        } else {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    out.push_str(&format!(
        "geo bench against {}: {} members, {} clients, {} payments of {} {} over {} hops\n",
        r.hub, r.members, r.clients, r.payments, r.amount, r.equivalent, r.hops
    ));
    out.push_str(&format!(
        "setup {:.2} s, signing {:.2} s (outside the timed phase)\n",
        r.setup_seconds, r.signing_seconds
    ));
    out.push_str(&format!(
        "sent {} in {:.2} s: committed {} ({:.0}/s), aborted {} [{}], errors {} [{}], not sent {}\n",
        r.sent,
        r.elapsed_seconds,
        r.committed,
        r.committed_per_second,
        r.aborted,
        codes(&r.aborted_by_code),
        r.errors,
        codes(&r.errors_by_code),
        r.not_sent
    ));
    let l = &r.latency_ms;
    out.push_str(&format!(
        "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}, mean {:.2}\n",
        l.p50, l.p90, l.p99, l.max, l.mean
    ));
    let hops = r
        .route_hops
        .iter()
        .map(|(h, n)| format!("{h} lines: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!("route lengths of committed payments: {hops}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let l = latency((1..=100).map(|x| x * 1000).collect());
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert_eq!(latency(Vec::new()).p99, 0.0);
    }
}
