//! Where the time comes from.
//!
//! Every expiry decision (session `max_age`, `idle_timeout`, per-field `#[max_age]`) asks a [`Clock`], so
//! tests move time forward with a [`ManualClock`] instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, injected into a store with `with_clock`.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> SystemTime;
}

/// The real clock, the default of every store.
///
/// Every time in a session is in whole seconds, so on Linux this reads the coarse real-time clock
/// (`CLOCK_REALTIME_COARSE`: as of the last timer tick, a few milliseconds at most behind, and about a
/// tenth of the cost of a precise read); elsewhere [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn now(&self) -> SystemTime {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        match (u64::try_from(now.tv_sec), u32::try_from(now.tv_nsec)) {
            (Ok(seconds), Ok(nanos)) => UNIX_EPOCH
                .checked_add(Duration::new(seconds, nanos))
                .unwrap_or_else(SystemTime::now),
            _ => SystemTime::now(),
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use sessions::clock::{Clock, ManualClock};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let clock = ManualClock::at_unix(1_700_000_000);
/// let store_clock = clock.clone(); // hand this one to the store
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(store_clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_090));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_seconds: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at `unix_seconds` seconds after the Unix epoch.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self {
            unix_seconds: Arc::new(AtomicU64::new(unix_seconds)),
        }
    }

    /// Moves the clock (and every clone of it) forward; it stops at the year 9999.
    pub fn advance(&self, by: Duration) {
        self.shift(|now| now.saturating_add(by.as_secs()));
    }

    /// Moves the clock (and every clone of it) back, to test clock skew.
    pub fn rewind(&self, by: Duration) {
        self.shift(|now| now.saturating_sub(by.as_secs()));
    }

    /// Sets the time to `to(now)`, for this clock and every clone of it at once.
    fn shift(&self, to: impl Fn(u64) -> u64) {
        let _ = (self.unix_seconds).fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| Some(to(now)));
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        system_time(self.unix_seconds.load(Ordering::SeqCst))
    }
}

/// Whole seconds since the Unix epoch, the resolution of every time in the wire format.
pub(crate) fn unix_seconds(clock: &dyn Clock) -> u64 {
    seconds_of(clock.now())
}

/// `time` in whole seconds since the Unix epoch; a time before it is 0.
pub(crate) fn seconds_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

/// The latest time this crate represents: the last second of the year 9999. Stored bytes can claim any
/// `u64` of seconds, and `SystemTime` cannot hold them all.
pub(crate) const LATEST_UNIX_SECONDS: u64 = 253_402_300_799;

/// The inverse of [`unix_seconds`], for the times a loaded session reports and every time read back
/// from a store. Total: a time past
/// [`LATEST_UNIX_SECONDS`] (only a corrupt store or a nonsense setting gives one) reads as that.
pub(crate) fn system_time(unix_seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix_seconds.min(LATEST_UNIX_SECONDS))
}

/// `time` in whole microseconds since the Unix epoch (a time before it is 0): the resolution of
/// revocation marks.
pub(crate) fn micros_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_micros()).unwrap_or(u64::MAX))
}

/// The inverse of [`micros_of`], total as [`system_time`] is.
pub(crate) fn from_micros(micros: u64) -> SystemTime {
    system_time(micros / 1_000_000) + Duration::from_micros(micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_tells_the_time_to_well_within_a_second() {
        let (precise, ours) = (SystemTime::now(), SystemClock.now());
        let apart = match ours.duration_since(precise) {
            Ok(ahead) => ahead,
            Err(behind) => behind.duration(),
        };
        assert!(
            apart < Duration::from_millis(100),
            "{ours:?} is {apart:?} from {precise:?}"
        );
    }
}
