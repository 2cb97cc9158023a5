//! Parser of the Sarafu debt graph. (Being written.)
