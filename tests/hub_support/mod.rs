//! A real hub on 127.0.0.1:0 (memory store) running on a runtime of its own, for tests that run
//! the `geo` binary against it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

use geo_node::api::{self, ApiConfig, AppState, RateTable};
use geo_node::engine::{Engine, EngineConfig};

/// A running hub; stops when dropped.
pub struct TestHub {
    pub addr: SocketAddr,
    pub state: AppState,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The default configuration without rate limits (the client tests send many requests from one
/// address; the limits themselves are tested in `node/tests/api_bad_input.rs`).
pub fn unlimited() -> ApiConfig {
    ApiConfig {
        ip_rates: RateTable::OFF,
        participant_rates: RateTable::OFF,
        ..ApiConfig::default()
    }
}

impl TestHub {
    /// Starts a hub on the memory store with UAH, HOUR and EUR (precision 2).
    pub fn start(config: ApiConfig) -> TestHub {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let (addr, state) = runtime.block_on(async move {
            let store = geo_node::store::open("memory:").await.expect("store");
            let engine = Engine::start(store, EngineConfig::default())
                .await
                .expect("engine");
            api::ensure_equivalents(
                &engine,
                &[("UAH", 2, "hryvnia"), ("HOUR", 2, "hour"), ("EUR", 2, "euro")],
            )
            .await
            .expect("equivalents");
            let mut config = config;
            config.admin_token = "test-admin".into();
            let state = AppState::new(engine, config);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(api::serve(listener, state.clone(), async move {
                let _ = rx.await;
            }));
            (addr, state)
        });
        TestHub {
            addr,
            state,
            runtime: Some(runtime),
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Runs `geo` with `args` against this hub (GEO_HUB set, GEO_KEY unset, HOME in `home`).
    pub fn geo(&self, home: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_geo"))
            .args(args)
            .env("GEO_HUB", self.url())
            .env_remove("GEO_KEY")
            .env("HOME", home)
            .output()
            .expect("run geo")
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.state.engine().kill();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// Standard output as JSON (panics with both streams when it is not).
pub fn json_out(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); status {:?}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Asserts success and returns stdout as JSON.
pub fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "geo failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    json_out(out)
}
