//! Rate limits: keyed `governor` rate limiters per scope (client IP, participant) and request
//! class.
//!
//! The classes and default budgets are the GEO v0.1 architecture's: logins 5 per minute,
//! payments 30, trust-line changes 10, anything else 100. Each budget applies separately per
//! client IP and per participant; a key may spend one minute's budget at once and regains it
//! evenly over the minute (GCRA, the same as a token bucket holding one minute's budget).

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::http::Method;
use governor::clock::{Clock, MonotonicClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

/// What a request is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    /// `POST /auth/login`.
    Login,
    /// `POST /payments`.
    Payments,
    /// Creating, updating or closing a trust line.
    TrustLines,
    /// Every other request.
    Default,
}

impl RateClass {
    /// The class of a request (`path` as received, with or without the `/api/v1` prefix).
    pub fn of(method: &Method, path: &str) -> RateClass {
        let path = path.strip_prefix("/api/v1").unwrap_or(path);
        let mutating = matches!(
            *method,
            Method::POST | Method::PATCH | Method::PUT | Method::DELETE
        );
        if *method == Method::POST && path == "/auth/login" {
            RateClass::Login
        } else if *method == Method::POST && path == "/payments" {
            RateClass::Payments
        } else if mutating && (path == "/trustlines" || path.starts_with("/trustlines/")) {
            RateClass::TrustLines
        } else {
            RateClass::Default
        }
    }

    /// Name used in error details and configuration keys.
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Login => "login",
            RateClass::Payments => "payments",
            RateClass::TrustLines => "trustlines",
            RateClass::Default => "default",
        }
    }
}

/// Requests per minute of each class for one scope; 0 turns a class's limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTable {
    /// Logins per minute.
    pub login: u32,
    /// Payments per minute.
    pub payments: u32,
    /// Trust-line changes per minute.
    pub trustlines: u32,
    /// Other requests per minute.
    pub default: u32,
}

impl RateTable {
    /// The architecture's defaults: 5 logins, 30 payments, 10 trust-line changes and 100 other
    /// requests per minute.
    pub const SEED: RateTable = RateTable {
        login: 5,
        payments: 30,
        trustlines: 10,
        default: 100,
    };

    /// No limits (load tests, trusted networks).
    pub const OFF: RateTable = RateTable {
        login: 0,
        payments: 0,
        trustlines: 0,
        default: 0,
    };

    /// The budget of a class, per minute.
    pub fn per_minute(&self, class: RateClass) -> u32 {
        match class {
            RateClass::Login => self.login,
            RateClass::Payments => self.payments,
            RateClass::TrustLines => self.trustlines,
            RateClass::Default => self.default,
        }
    }

    /// The budget of a class, mutable (configuration updates).
    pub fn per_minute_mut(&mut self, class: RateClass) -> &mut u32 {
        match class {
            RateClass::Login => &mut self.login,
            RateClass::Payments => &mut self.payments,
            RateClass::TrustLines => &mut self.trustlines,
            RateClass::Default => &mut self.default,
        }
    }
}

/// Every class, in a fixed order.
pub const CLASSES: [RateClass; 4] = [
    RateClass::Login,
    RateClass::Payments,
    RateClass::TrustLines,
    RateClass::Default,
];

/// The keyed limiter of one class at one budget.
type Keyed<K, C> = RateLimiter<K, HashMapStateStore<K>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// A class's limiter and the budget it was built for.
struct ClassLimiter<K: Hash + Eq + Clone, C: Clock> {
    per_minute: u32,
    limiter: Arc<Keyed<K, C>>,
}

/// Checks between two sweeps of keys whose state is indistinguishable from a fresh key's.
const SWEEP_EVERY: u64 = 1024;

/// Keyed rate limiters, one per class, for one scope (keys `K`: client IPs or participants).
///
/// The budgets come from the caller on every check, so a configuration change applies at once:
/// a class whose budget changed gets a new limiter (its keys start afresh). Memory stays
/// bounded: every [`SWEEP_EVERY`] checks of a class, keys that have regained their whole
/// budget are dropped (`retain_recent`) and the map is shrunk, so the map holds only keys seen
/// within about the last minute. The clock is injectable (`C`), so tests advance a
/// [`governor::clock::FakeRelativeClock`] instead of sleeping.
pub struct Limiters<K: Hash + Eq + Clone, C: Clock = MonotonicClock> {
    clock: C,
    classes: [RwLock<Option<ClassLimiter<K, C>>>; 4],
    checks: [AtomicU64; 4],
}

impl<K: Hash + Eq + Clone> Default for Limiters<K> {
    fn default() -> Self {
        Limiters::with_clock(MonotonicClock)
    }
}

impl<K: Hash + Eq + Clone, C: Clock> std::fmt::Debug for Limiters<K, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters").finish_non_exhaustive()
    }
}

fn slot(class: RateClass) -> usize {
    match class {
        RateClass::Login => 0,
        RateClass::Payments => 1,
        RateClass::TrustLines => 2,
        RateClass::Default => 3,
    }
}

impl<K: Hash + Eq + Clone, C: Clock + Clone> Limiters<K, C> {
    /// Limiters that read the time from `clock`.
    pub fn with_clock(clock: C) -> Self {
        Limiters {
            clock,
            classes: Default::default(),
            checks: Default::default(),
        }
    }

    /// The limiter of `class` at a budget of `per_minute` (not 0), built or rebuilt as needed.
    fn limiter(&self, class: RateClass, per_minute: NonZeroU32) -> Arc<Keyed<K, C>> {
        let cell = &self.classes[slot(class)];
        {
            let g = match cell.read() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            if let Some(c) = g.as_ref().filter(|c| c.per_minute == per_minute.get()) {
                return c.limiter.clone();
            }
        }
        let mut g = match cell.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match g.as_ref().filter(|c| c.per_minute == per_minute.get()) {
            Some(c) => c.limiter.clone(),
            None => {
                let limiter = Arc::new(RateLimiter::new(
                    Quota::per_minute(per_minute),
                    HashMapStateStore::default(),
                    self.clock.clone(),
                ));
                *g = Some(ClassLimiter {
                    per_minute: per_minute.get(),
                    limiter: limiter.clone(),
                });
                limiter
            }
        }
    }

    /// Charges one request of `class` to `key`; `Err(seconds until one is allowed)` (at least
    /// 1, at most 3600) when the key has spent its budget. A budget of 0 per minute is no limit.
    pub fn take(&self, key: &K, class: RateClass, per_minute: u32) -> Result<(), u64> {
        let Some(per_minute) = NonZeroU32::new(per_minute) else {
            return Ok(());
        };
        let limiter = self.limiter(class, per_minute);
        let result = limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            let secs = wait.as_nanos().div_ceil(1_000_000_000);
            u64::try_from(secs).unwrap_or(3600).clamp(1, 3600)
        });
        if self.checks[slot(class)].fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        result
    }

    /// Keys held by the limiter of `class` (those not yet swept).
    pub fn len(&self, class: RateClass) -> usize {
        let g = match self.classes[slot(class)].read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        g.as_ref().map_or(0, |c| c.limiter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    fn clocked() -> (Limiters<u32, FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (Limiters::with_clock(clock.clone()), clock)
    }

    #[test]
    fn a_key_spends_a_minute_and_regains_it_evenly() {
        let (b, clock) = clocked();
        for _ in 0..5 {
            assert!(b.take(&1, RateClass::Login, 5).is_ok());
        }
        // The sixth login within the minute waits for one fifth of a minute.
        assert_eq!(b.take(&1, RateClass::Login, 5), Err(12));
        // Other keys and other classes have their own budgets.
        assert!(b.take(&2, RateClass::Login, 5).is_ok());
        assert!(b.take(&1, RateClass::Default, 5).is_ok());
        clock.advance(Duration::from_secs(11));
        assert_eq!(b.take(&1, RateClass::Login, 5), Err(1));
        clock.advance(Duration::from_secs(1));
        assert!(b.take(&1, RateClass::Login, 5).is_ok());
        assert!(b.take(&1, RateClass::Login, 5).is_err());
        // 0 per minute is no limit.
        for _ in 0..1000 {
            assert!(b.take(&1, RateClass::Payments, 0).is_ok());
        }
    }

    #[test]
    fn a_changed_budget_applies_at_once() {
        let (b, _clock) = clocked();
        assert!(b.take(&1, RateClass::Payments, 1).is_ok());
        assert_eq!(b.take(&1, RateClass::Payments, 1), Err(60));
        assert!(b.take(&1, RateClass::Payments, 2).is_ok());
        assert!(b.take(&1, RateClass::Payments, 2).is_ok());
        assert_eq!(b.take(&1, RateClass::Payments, 2), Err(30));
    }

    #[test]
    fn idle_keys_are_swept() {
        let (b, clock) = clocked();
        let n = u32::try_from(SWEEP_EVERY).expect("small");
        for key in 0..n - 1 {
            assert!(b.take(&key, RateClass::Default, 100).is_ok());
        }
        assert_eq!(
            b.len(RateClass::Default),
            usize::try_from(SWEEP_EVERY).expect("small") - 1
        );
        // A minute later every key has its whole budget again: the next sweep drops them all
        // but the one just charged.
        clock.advance(Duration::from_secs(60));
        assert!(b.take(&u32::MAX, RateClass::Default, 100).is_ok());
        assert_eq!(b.len(RateClass::Default), 1);
    }

    #[test]
    fn requests_are_classified_as_the_architecture_lists_them() {
        let c = |m: Method, p: &str| RateClass::of(&m, p);
        assert_eq!(c(Method::POST, "/api/v1/auth/login"), RateClass::Login);
        assert_eq!(c(Method::POST, "/api/v1/auth/challenge"), RateClass::Default);
        assert_eq!(c(Method::POST, "/api/v1/payments"), RateClass::Payments);
        assert_eq!(c(Method::GET, "/api/v1/payments"), RateClass::Default);
        assert_eq!(c(Method::GET, "/api/v1/payments/max-flow"), RateClass::Default);
        assert_eq!(c(Method::POST, "/api/v1/trustlines"), RateClass::TrustLines);
        assert_eq!(c(Method::PATCH, "/api/v1/trustlines/abc"), RateClass::TrustLines);
        assert_eq!(c(Method::DELETE, "/api/v1/trustlines/abc"), RateClass::TrustLines);
        assert_eq!(c(Method::GET, "/api/v1/trustlines"), RateClass::Default);
        assert_eq!(c(Method::POST, "/payments"), RateClass::Payments);
    }
}
