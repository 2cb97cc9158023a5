//! `geo`: the one binary of the project. `geo hub` runs a community hub; `geo keygen`, `register`,
//! `login`, `trust`, `pay`, `balance`, `history` and `watch` are the client (see docs/cli.md), and
//! `geo bench` is a load generator.

mod cli;

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use geo_node::api::{self, ApiConfig, AppState, RateTable};
use geo_node::engine::{Engine, EngineConfig};

#[derive(Parser)]
#[command(name = "geo", version, about = "GEO federated mutual-credit hub")]
struct Cli {
    #[command(flatten)]
    global: cli::commands::Global,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a community hub (HTTP API on --listen).
    Hub(HubArgs),
    /// Create a key file (Ed25519, mode 0600); never overwrites one.
    Keygen(cli::commands::KeygenArgs),
    /// Register the key's participant at the hub.
    Register(cli::commands::RegisterArgs),
    /// Log in (challenge signed with the key); tokens are saved next to the key file.
    Login,
    /// Open, update or close a trust line.
    #[command(subcommand)]
    Trust(cli::commands::TrustCmd),
    /// Send a signed payment.
    Pay(cli::commands::PayArgs),
    /// Show the balance per equivalent.
    Balance,
    /// Show recent payments, newest first.
    History(cli::commands::HistoryArgs),
    /// Print the hub's events for this participant as JSON lines until Ctrl-C.
    Watch,
    /// Load-test a hub: a ring of participants paying each other over multi-hop routes.
    Bench(cli::bench::BenchArgs),
}

#[derive(clap::Args)]
struct HubArgs {
    /// Database URL: sqlite:PATH, postgres://..., or memory:.
    #[arg(long, env = "GEO_DB", default_value = "sqlite:geo-data/hub.db")]
    db: String,
    /// Address to listen on.
    #[arg(long, env = "GEO_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Admin API token (generated and printed when absent).
    #[arg(long, env = "GEO_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Logins per minute, per client IP and per participant (0: unlimited).
    #[arg(long, default_value_t = RateTable::SEED.login)]
    rate_login: u32,
    /// Payments per minute, per client IP and per participant (0: unlimited).
    #[arg(long, default_value_t = RateTable::SEED.payments)]
    rate_payments: u32,
    /// Trust-line changes per minute, per client IP and per participant (0: unlimited).
    #[arg(long, default_value_t = RateTable::SEED.trustlines)]
    rate_trustlines: u32,
    /// Other requests per minute, per client IP and per participant (0: unlimited).
    #[arg(long, default_value_t = RateTable::SEED.default)]
    rate_default: u32,
    /// No rate limits at all (load tests, hubs behind a limiting proxy).
    #[arg(long)]
    no_rate_limits: bool,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 900)]
    access_ttl: u64,
}

/// Equivalents created at the first start of a hub.
const DEFAULT_EQUIVALENTS: [(&str, u8, &str); 3] = [
    ("UAH", 2, "Ukrainian hryvnia"),
    ("HOUR", 2, "Hour of work"),
    ("EUR", 2, "Euro"),
];

fn sqlite_dir(url: &str) -> Option<&Path> {
    let path = url.strip_prefix("sqlite:")?;
    let path = path.strip_prefix("//").unwrap_or(path);
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Path::new(path).parent().filter(|p| !p.as_os_str().is_empty())
}

async fn hub(args: HubArgs) -> anyhow::Result<()> {
    if let Some(dir) = sqlite_dir(&args.db) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = geo_node::store::open(&args.db)
        .await
        .with_context(|| format!("opening {}", args.db))?;
    let engine = Engine::start(store, EngineConfig::default())
        .await
        .context("starting the engine")?;
    let created = api::ensure_equivalents(&engine, &DEFAULT_EQUIVALENTS)
        .await
        .map_err(|e| anyhow::anyhow!("creating the default equivalents: {e}"))?;
    for code in created {
        tracing::info!(%code, "created default equivalent");
    }
    let admin_token = match args.admin_token.filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => {
            let t = api::util::random_token();
            println!("admin token (X-Admin-Token): {t}");
            t
        }
    };
    let rates = if args.no_rate_limits {
        RateTable::OFF
    } else {
        RateTable {
            login: args.rate_login,
            payments: args.rate_payments,
            trustlines: args.rate_trustlines,
            default: args.rate_default,
        }
    };
    let config = ApiConfig {
        admin_token,
        access_ttl: Duration::from_secs(args.access_ttl.max(1)),
        ip_rates: rates,
        participant_rates: rates,
        ..ApiConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, db = %args.db, "hub listening");
    println!("geo hub listening on http://{addr} (API under /api/v1)");
    let state = AppState::new(engine, config);
    let store = state.engine().store().clone();
    api::serve(listener, state, async {
        shutdown_signal().await;
        tracing::info!("shutting down");
    })
    .await
    .context("serving")?;
    // Every acknowledged payment is already committed; closing the pool checkpoints SQLite's
    // WAL and releases the database's writer lock.
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers send) on Unix.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn bench(global: &cli::commands::Global, args: cli::bench::BenchArgs) -> anyhow::Result<()> {
    let json = args.json;
    let report = cli::bench::run(cli::http::HubUrl::parse(&global.hub)?, args).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", cli::bench::summary(&report));
    }
    Ok(())
}

async fn client(global: cli::commands::Global, command: Cmd) -> anyhow::Result<()> {
    use cli::commands as c;
    match command {
        Cmd::Hub(args) => hub(args).await,
        Cmd::Keygen(args) => c::keygen(&global, &args),
        Cmd::Register(args) => c::register(&global, &args).await,
        Cmd::Login => c::login(&global).await,
        Cmd::Trust(cmd) => c::trust(&global, &cmd).await,
        Cmd::Pay(args) => c::pay(&global, &args).await,
        Cmd::Balance => c::balance(&global).await,
        Cmd::History(args) => c::history(&global, &args).await,
        Cmd::Watch => c::watch(&global).await,
        Cmd::Bench(args) => bench(&global, args).await,
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let is_hub = matches!(cli.command, Cmd::Hub(_));
    // The hub logs at info on standard output; client commands keep standard output for their
    // JSON and log warnings only, on standard error.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(if is_hub { "info" } else { "warn" }));
    if is_hub {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(client(cli.global, cli.command));
    // Background tasks (engine writer, database pools) get a bounded time to wind down.
    runtime.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
