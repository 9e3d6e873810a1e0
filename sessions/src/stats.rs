//! Counts of refused cookies, by reason, for metrics and alerts.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::Rejection;

/// How many incoming cookies a store refused, by [`Rejection`]. Shared by clones of the store.
///
/// A rise in `Tampered` or `UnknownKey` after a deploy usually means a key was lost from the
/// rotation; a rise in `Oversized` means sessions grew.
#[derive(Default)]
pub struct RejectionCounts {
    counts: [AtomicU64; Rejection::ALL.len()],
}

impl RejectionCounts {
    /// How many cookies were refused for `reason`.
    pub fn get(&self, reason: Rejection) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }

    /// How many cookies were refused for any reason.
    pub fn total(&self) -> u64 {
        Rejection::ALL.iter().map(|&reason| self.get(reason)).sum()
    }

    pub(crate) fn record(&self, reason: Rejection) {
        self.record_many(reason, 1);
    }

    pub(crate) fn record_many(&self, reason: Rejection, count: u64) {
        if count > 0 {
            self.counts[reason.index()].fetch_add(count, Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for RejectionCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(Rejection::ALL.iter().map(|&reason| (reason, self.get(reason))))
            .finish()
    }
}
