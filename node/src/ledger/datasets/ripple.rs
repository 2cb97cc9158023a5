//! Parser of the Ripple credit-link topology. (Being written.)
