//! Rate limits: in-memory token buckets per scope (client IP, participant) and request class.
//!
//! The classes and default budgets are the GEO v0.1 architecture's: logins 5 per minute,
//! payments 30, trust-line changes 10, anything else 100. Each budget applies separately per
//! client IP and per participant; a bucket holds one minute's budget and refills evenly.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::Method;
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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens scaled by [`TOKEN`]: one nanosecond refills `per_minute` units, so refills are
    /// exact integers (no rounding drift, no floats).
    units: u128,
    at: Instant,
}

/// Units of one token: the nanoseconds of a minute.
const TOKEN: u128 = 60_000_000_000;

/// Token buckets keyed by `K` and class.
#[derive(Debug)]
pub struct Buckets<K> {
    map: Mutex<HashMap<(K, RateClass), Bucket>>,
}

impl<K: Hash + Eq + Clone> Default for Buckets<K> {
    fn default() -> Self {
        Buckets {
            map: Mutex::new(HashMap::new()),
        }
    }
}

/// Most buckets kept before idle ones are swept.
const SWEEP_AT: usize = 50_000;

impl<K: Hash + Eq + Clone> Buckets<K> {
    /// Takes one token of `class` for `key`; `Err(seconds until one is available)` when the
    /// bucket is empty. A budget of 0 per minute is no limit.
    pub fn take(&self, key: &K, class: RateClass, per_minute: u32, now: Instant) -> Result<(), u64> {
        if per_minute == 0 {
            return Ok(());
        }
        let rate = u128::from(per_minute);
        let full = rate * TOKEN;
        let refill = |b: &Bucket| {
            b.units
                .saturating_add(rate * now.saturating_duration_since(b.at).as_nanos())
                .min(full)
        };
        let Ok(mut map) = self.map.lock() else {
            return Ok(());
        };
        if map.len() >= SWEEP_AT {
            // A bucket that would be full again carries no information.
            map.retain(|_, b| refill(b) < full);
        }
        let b = map
            .entry((key.clone(), class))
            .or_insert(Bucket { units: full, at: now });
        b.units = refill(b);
        b.at = now;
        if b.units >= TOKEN {
            b.units -= TOKEN;
            Ok(())
        } else {
            // Seconds until the missing part of a token has refilled, rounded up (at least 1).
            let nanos = (TOKEN - b.units).div_ceil(rate);
            let secs = nanos.div_ceil(1_000_000_000);
            Err(u64::try_from(secs).unwrap_or(3600).clamp(1, 3600))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_holds_a_minute_and_refills_evenly() {
        let b: Buckets<u8> = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(b.take(&1, RateClass::Login, 5, t0).is_ok());
        }
        // The sixth login within the minute waits for one fifth of a minute.
        assert_eq!(b.take(&1, RateClass::Login, 5, t0), Err(12));
        // Other keys and other classes have their own buckets.
        assert!(b.take(&2, RateClass::Login, 5, t0).is_ok());
        assert!(b.take(&1, RateClass::Default, 5, t0).is_ok());
        assert_eq!(
            b.take(&1, RateClass::Login, 5, t0 + Duration::from_secs(11)),
            Err(1)
        );
        assert!(b
            .take(&1, RateClass::Login, 5, t0 + Duration::from_secs(12))
            .is_ok());
        assert!(b
            .take(&1, RateClass::Login, 5, t0 + Duration::from_secs(12))
            .is_err());
        // 0 per minute is no limit.
        for _ in 0..1000 {
            assert!(b.take(&1, RateClass::Payments, 0, t0).is_ok());
        }
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
