//! In-memory token buckets, one per key (client IP or participant).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A rate: `per_second` tokens refill each second up to `burst`. `per_second == 0` disables it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Sustained requests per second (0: unlimited).
    pub per_second: u32,
    /// Most requests in a burst.
    pub burst: u32,
}

impl Rate {
    /// No limit.
    pub const UNLIMITED: Rate = Rate {
        per_second: 0,
        burst: 0,
    };
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by `K`.
#[derive(Debug)]
pub struct Buckets<K> {
    map: Mutex<HashMap<K, Bucket>>,
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
    /// Takes one token for `key`; `Err(seconds until one is available)` when the bucket is empty.
    pub fn take(&self, key: &K, rate: Rate, now: Instant) -> Result<(), u64> {
        if rate.per_second == 0 {
            return Ok(());
        }
        let per = f64::from(rate.per_second);
        let burst = f64::from(rate.burst.max(1));
        let Ok(mut map) = self.map.lock() else {
            return Ok(());
        };
        if map.len() >= SWEEP_AT {
            // A bucket that would be full again carries no information.
            map.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per < burst);
        }
        let b = map.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * per).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / per).ceil();
            // `wait` is a small positive number of seconds.
            Err(if wait >= 1.0 { wait.min(3600.0) as u64 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_limits_and_refills() {
        let b: Buckets<u8> = Buckets::default();
        let rate = Rate {
            per_second: 1,
            burst: 2,
        };
        let t0 = Instant::now();
        assert!(b.take(&1, rate, t0).is_ok());
        assert!(b.take(&1, rate, t0).is_ok());
        assert!(b.take(&1, rate, t0).is_err());
        assert!(b.take(&2, rate, t0).is_ok());
        assert!(b
            .take(&1, rate, t0 + std::time::Duration::from_millis(1100))
            .is_ok());
        assert!(b.take(&1, Rate::UNLIMITED, t0).is_ok());
    }
}
