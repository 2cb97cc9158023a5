//! The state every handler shares: the hub's engine, its API configuration and feature flags,
//! login state and rate limits, set once with `with_state`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use geo_protocol::{Pid, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use crate::engine::Engine;
use crate::ledger::model::Actor;
use crate::ledger::routing::RouteLimits;
use crate::ledger::Ledger;
use crate::service::{AdminAction, HubService};

use super::error::{ApiError, ApiResult};
use super::ratelimit::{RateClass, RateTable};
use super::{audit, auth, metrics, ratelimit};

/// Configuration of the API of one hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiConfig {
    /// Token of the admin API (`X-Admin-Token`); empty disables the admin API.
    pub admin_token: String,
    /// Largest request body in bytes.
    pub body_limit: usize,
    /// Lifetime of access tokens.
    pub access_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_ttl: Duration,
    /// Lifetime of login challenges.
    pub challenge_ttl: Duration,
    /// Requests per minute per client IP, by class (the architecture's defaults).
    pub ip_rates: RateTable,
    /// Requests per minute per participant, by class (the architecture's defaults).
    pub participant_rates: RateTable,
    /// Version reported by `/health`.
    pub version: String,
    /// Environment name reported by `/health`.
    pub environment: Option<String>,
    /// Age after which a payment still PREPARED is listed as an incident
    /// (`GET /admin/incidents`; the reference's `PAYMENT_TX_STUCK_TIMEOUT_SECONDS`).
    pub incident_sla: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_token: String::new(),
            body_limit: 64 * 1024,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            challenge_ttl: Duration::from_secs(60),
            ip_rates: RateTable::SEED,
            participant_rates: RateTable::SEED,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            environment: None,
            incident_sla: Duration::from_secs(120),
        }
    }
}

/// Switches an administrator can flip at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureFlags {
    /// Payments may be split over several paths (off: one path per payment).
    pub multipath_enabled: bool,
    /// Informational (the router always combines widest paths and max flow).
    pub full_multipath_enabled: bool,
    /// `POST /clearing/auto` is allowed.
    pub clearing_enabled: bool,
}

impl Default for FeatureFlags {
    fn default() -> Self {
        FeatureFlags {
            multipath_enabled: true,
            full_multipath_enabled: true,
            clearing_enabled: true,
        }
    }
}

struct Shared {
    engine: Engine,
    service: HubService,
    config: RwLock<ApiConfig>,
    body_limit: usize,
    flags: RwLock<FeatureFlags>,
    auth: auth::AuthState,
    ip_limits: ratelimit::Limiters<IpAddr>,
    participant_limits: ratelimit::Limiters<Pid>,
    keys: RwLock<HashMap<Pid, PublicKey>>,
    metrics: Arc<metrics::Metrics>,
    started: Instant,
    shutdown: watch::Sender<bool>,
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    match l.read() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}

impl AppState {
    /// A new state over a running engine. Inside a tokio runtime it also starts the task that
    /// counts committed payments and clearings for `/metrics`.
    pub fn new(engine: Engine, config: ApiConfig) -> AppState {
        let metrics = Arc::new(metrics::Metrics::default());
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(metrics::count_events(engine.subscribe(), metrics.clone()));
        }
        let (shutdown, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Shared {
                service: HubService::new(engine.clone()),
                engine,
                body_limit: config.body_limit,
                config: RwLock::new(config),
                flags: RwLock::new(FeatureFlags::default()),
                auth: auth::AuthState::default(),
                ip_limits: ratelimit::Limiters::default(),
                participant_limits: ratelimit::Limiters::default(),
                keys: RwLock::new(HashMap::new()),
                metrics,
                started: Instant::now(),
                shutdown,
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The hub's use cases: every change goes through here.
    pub fn service(&self) -> &HubService {
        &self.inner.service
    }

    /// An admin action of the request being served: the audit-log name of `action` (see
    /// [`audit::action_name`]), the note, and the request's origin.
    pub fn admin_action(&self, action: &str, reason: Option<&str>) -> AdminAction {
        let origin = audit::RequestContext::current();
        let actor = Actor {
            role: "admin".to_owned(),
            id: None,
            request_id: origin.as_ref().map(|o| o.request_id.clone()),
            ip_address: origin.as_ref().and_then(|o| o.ip_address.clone()),
            user_agent: origin.and_then(|o| o.user_agent),
        };
        AdminAction::new(
            actor,
            audit::action_name(action).into_owned(),
            reason.map(str::to_owned),
        )
    }

    /// A copy of the current configuration.
    pub fn config(&self) -> ApiConfig {
        read(&self.inner.config)
    }

    /// The two rate tables (per IP, per participant), read without cloning the configuration:
    /// every request asks.
    fn rates(&self) -> (RateTable, RateTable) {
        let g = match self.inner.config.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        (g.ip_rates, g.participant_rates)
    }

    /// Changes the configuration (the body limit is fixed when the router is built).
    pub fn update_config(&self, f: impl FnOnce(&mut ApiConfig)) {
        let mut g = match self.inner.config.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g);
    }

    /// Current feature flags.
    pub fn flags(&self) -> FeatureFlags {
        read(&self.inner.flags)
    }

    /// Changes the feature flags.
    pub fn update_flags(&self, f: impl FnOnce(&mut FeatureFlags)) {
        let mut g = match self.inner.flags.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut g);
    }

    /// The body limit in bytes.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The admin token.
    pub fn admin_token(&self) -> String {
        match self.inner.config.read() {
            Ok(g) => g.admin_token.clone(),
            Err(p) => p.into_inner().admin_token.clone(),
        }
    }

    /// Login challenges and tokens.
    pub fn auth(&self) -> &auth::AuthState {
        &self.inner.auth
    }

    /// Counters and histograms.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Seconds since the state was created.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// The sender of the shutdown signal (`serve` raises it when the server stops).
    pub(crate) fn shutdown_sender(&self) -> watch::Sender<bool> {
        self.inner.shutdown.clone()
    }

    /// A receiver that turns `true` when the server shuts down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Charges one request of `class` to a participant's rate limit.
    pub fn limit_participant(&self, pid: &Pid, class: RateClass) -> ApiResult<()> {
        let per_minute = self.rates().1.per_minute(class);
        self.inner
            .participant_limits
            .take(pid, class, per_minute)
            .map_err(|wait| ApiError::rate_limited("participant", class, wait))
    }

    pub(crate) fn limit_ip(&self, ip: IpAddr, class: RateClass) -> ApiResult<()> {
        let per_minute = self.rates().0.per_minute(class);
        self.inner
            .ip_limits
            .take(&ip, class, per_minute)
            .map_err(|wait| ApiError::rate_limited("ip", class, wait))
    }

    /// The registered public key of a participant (cached: keys never change).
    pub async fn public_key(&self, pid: &Pid) -> ApiResult<PublicKey> {
        if let Some(k) = self.inner.keys.read().ok().and_then(|m| m.get(pid).copied()) {
            return Ok(k);
        }
        let text = self
            .engine()
            .read(|l| l.participant(pid).map(|p| p.public_key.clone()))
            .await;
        let text = text.ok_or_else(|| {
            ApiError::not_found("PARTICIPANT_NOT_FOUND", format!("unknown participant {pid}"))
        })?;
        let key = PublicKey::from_base64(&text).map_err(ApiError::internal)?;
        if let Ok(mut m) = self.inner.keys.write() {
            m.insert(pid.clone(), key);
        }
        Ok(key)
    }

    /// Records an admin action outside the ledger (configuration, feature flags, logins) in the
    /// persisted admin audit log: the entry goes through the writer like any change. The action
    /// it records has already happened, so a failed write does not fail the caller: it is
    /// logged at error level. (Actions on ledger objects are audited in the same command as the
    /// action: see [`HubService`].)
    /// The action is named as the reference hub names it ([`audit::action_name`]); the request
    /// being served supplies `request_id`, `ip_address` and `user_agent`.
    pub async fn log_admin(
        &self,
        action: &str,
        object_type: &str,
        object_id: &str,
        reason: Option<&str>,
        after: Value,
    ) {
        let admin = self.admin_action(action, reason);
        let name = admin.action.clone();
        if let Err(e) = self
            .service()
            .record_admin(admin, object_type, object_id, after)
            .await
        {
            tracing::error!(
                error = %e,
                action = %name,
                object_type,
                object_id,
                "admin action done but not recorded in the admin audit log"
            );
        }
    }
}

/// Routing limits the ledger uses for a payment without constraints (the spec's defaults, no
/// inactive participant on a route, one path when multipath is switched off). Capacity and
/// max-flow answers use the same limits, so what they report is payable.
pub fn default_limits(l: &Ledger, flags: FeatureFlags) -> RouteLimits {
    let max_paths = if flags.multipath_enabled { None } else { Some(1) };
    l.route_limits(None, max_paths, &[])
}
