//! Deterministic ids: every id the ledger gives out (transactions of trust-line changes and
//! clearings, integrity audit records) is derived from a seed that was fixed before the command
//! entered the ledger and travels with it in the command log. Replaying the log therefore
//! recreates the very same ids on every machine and in every run.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The seed of the ids of one command (or of one batch's own work, such as lock expiry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdSeed(pub uuid::Uuid);

impl IdSeed {
    /// A seed made from a number (batch sequence numbers, simulations, tests).
    pub fn from_u128(n: u128) -> IdSeed {
        IdSeed(uuid::Uuid::from_u128(n))
    }
}

/// Hands out the ids of one command: the `n`-th id is `sha256("geo-id" || seed || n)`, shaped
/// as a version-4 UUID.
#[derive(Debug, Clone)]
pub(crate) struct IdSource {
    seed: IdSeed,
    next: u32,
}

impl IdSource {
    /// Ids of the command with this seed, starting from the first.
    pub fn new(seed: IdSeed) -> IdSource {
        IdSource { seed, next: 0 }
    }

    /// The next id.
    pub fn next_uuid(&mut self) -> uuid::Uuid {
        let mut hash = Sha256::new();
        hash.update(b"geo-id");
        hash.update(self.seed.0.as_bytes());
        hash.update(self.next.to_be_bytes());
        self.next = self.next.wrapping_add(1);
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

impl Default for IdSource {
    fn default() -> Self {
        IdSource::new(IdSeed::from_u128(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_ids_and_distinct_within_a_seed() {
        let seed = IdSeed::from_u128(42);
        let mut a = IdSource::new(seed);
        let mut b = IdSource::new(seed);
        let first = a.next_uuid();
        assert_eq!(first, b.next_uuid());
        let second = a.next_uuid();
        assert_ne!(first, second);
        assert_eq!(second, b.next_uuid());
        assert_eq!(first.get_version_num(), 4);
        assert_ne!(IdSource::new(IdSeed::from_u128(43)).next_uuid(), first);
    }
}
