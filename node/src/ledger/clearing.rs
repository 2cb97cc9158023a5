//! Clearing of debt cycles. (Being written.)
