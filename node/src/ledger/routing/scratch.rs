//! Epoch-stamped scratch arrays over dense indices: the router's per-query sets and maps,
//! forgotten in O(1) by `begin`.

/// Epoch-stamped membership over dense indices: `begin` forgets everything in O(1).
#[derive(Debug, Clone, Default)]
pub(super) struct Stamps {
    stamp: Vec<u32>,
    cur: u32,
}

impl Stamps {
    pub(super) fn begin(&mut self, n: usize) {
        if self.stamp.len() < n {
            self.stamp.resize(n, 0);
        }
        if self.cur == u32::MAX {
            self.stamp.iter_mut().for_each(|x| *x = 0);
            self.cur = 0;
        }
        self.cur += 1;
    }

    pub(super) fn has(&self, i: usize) -> bool {
        self.stamp.get(i).is_some_and(|&x| x == self.cur)
    }

    pub(super) fn set(&mut self, i: usize) {
        if let Some(x) = self.stamp.get_mut(i) {
            *x = self.cur;
        }
    }

    pub(super) fn unset(&mut self, i: usize) {
        if let Some(x) = self.stamp.get_mut(i) {
            *x = 0;
        }
    }
}

/// Epoch-stamped map over dense indices.
#[derive(Debug, Clone, Default)]
pub(super) struct Marked<T: Copy + Default> {
    stamps: Stamps,
    val: Vec<T>,
}

impl<T: Copy + Default> Marked<T> {
    pub(super) fn begin(&mut self, n: usize) {
        self.stamps.begin(n);
        if self.val.len() < n {
            self.val.resize(n, T::default());
        }
    }

    pub(super) fn get(&self, i: usize) -> Option<T> {
        if self.stamps.has(i) {
            self.val.get(i).copied()
        } else {
            None
        }
    }

    pub(super) fn has(&self, i: usize) -> bool {
        self.stamps.has(i)
    }

    pub(super) fn set(&mut self, i: usize, v: T) {
        if let Some(x) = self.val.get_mut(i) {
            *x = v;
            self.stamps.set(i);
        }
    }
}
