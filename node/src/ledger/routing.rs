//! Payment routing over a [`CreditGraph`](super::graph::CreditGraph). (Being written.)
