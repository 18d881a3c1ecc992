//! The one nonce policy of every signer: each nonce is above the last one this signer
//! used or learned the game had seen from its key, and at least the wall clock in
//! microseconds.
//!
//! The clock keeps separate runs of one key apart (a CLI command run twice, a bot
//! restarted while its last transaction still waits to be applied: the new run starts
//! above it without asking); learning the game's last nonce keeps a signer whose clock is
//! behind from signing nonces the game has passed.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The nonces of one signer; cheap to clone, clones share the count.
#[derive(Clone, Debug, Default)]
pub struct NonceClock {
    last: Arc<Mutex<u64>>,
}

impl NonceClock {
    pub fn new() -> NonceClock {
        NonceClock::default()
    }

    /// The nonce to sign with next, taken: above every one before it, and at least the
    /// wall clock in microseconds.
    pub fn next(&self) -> u64 {
        let mut last = self.lock();
        *last = next_nonce(*last, clock_micros());
        *last
    }

    /// The game has seen nonce `nonce` from this key (or this signer used it): the next
    /// one is above it.
    pub fn saw(&self, nonce: u64) {
        let mut last = self.lock();
        *last = (*last).max(nonce);
    }

    /// The last nonce taken or seen.
    pub fn last(&self) -> u64 {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, u64> {
        // A panic while holding it cannot leave a torn u64: the count stays usable.
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The nonce after `last` at wall-clock time `clock_micros`.
pub fn next_nonce(last: u64, clock_micros: u64) -> u64 {
    last.saturating_add(1).max(clock_micros)
}

/// Microseconds since the Unix epoch (0 if the clock is before it).
pub fn clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rise_and_never_fall_behind_the_clock() {
        assert_eq!(next_nonce(0, 1_000), 1_000);
        assert_eq!(next_nonce(1_000, 1_000), 1_001);
        // The clock went back (or many were signed within a microsecond): still above.
        assert_eq!(next_nonce(5_000, 1_000), 5_001);
        assert_eq!(next_nonce(u64::MAX, 1_000), u64::MAX);
    }

    #[test]
    fn a_clock_shares_its_count_and_learns_what_the_game_saw() {
        let clock = NonceClock::new();
        let first = clock.next();
        assert!(first >= clock_micros() - 60_000_000, "near the wall clock");
        let shared = clock.clone();
        let second = shared.next();
        assert!(second > first);
        assert_eq!(clock.last(), second);
        // The game saw a nonce far ahead (another run with a faster clock).
        let ahead = second + 10_000_000_000;
        clock.saw(ahead);
        assert_eq!(shared.next(), ahead + 1);
        // Seeing an older one changes nothing.
        clock.saw(first);
        assert_eq!(clock.last(), ahead + 1);
    }
}
