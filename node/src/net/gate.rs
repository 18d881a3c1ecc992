//! The handshake gate: how many incoming connections a node sets up at once.
//!
//! A handshake costs the node a TLS key exchange and a signature check before it knows
//! who is calling, so a flood of Initial packets (from anyone: the key is checked only
//! inside the handshake) must not pile up unbounded work. The gate counts handshakes in
//! progress; each holds a [`HandshakePermit`] that frees its slot when dropped (the
//! handshake finished, failed, or passed [`HANDSHAKE_DEADLINE`]).
//!
//! Under light load every attempt goes ahead. Past [`RETRY_ABOVE`] handshakes in
//! progress, an attempt whose address is not yet validated is answered with a QUIC Retry
//! (the caller must echo a token, proving it receives packets at its address: spoofed
//! floods stop there). At [`MAX_PENDING_HANDSHAKES`] every new attempt is refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Handshakes a node sets up at once. A classroom of 30 laptops, each with a node, a
/// dashboard and a bot, reconnecting together after a network blip is about 90 attempts
/// spread over a second; 64 in flight at once serves that within a few round trips while
/// bounding the crypto work a flood can queue.
pub const MAX_PENDING_HANDSHAKES: usize = 64;

/// Past this many handshakes in progress, unvalidated addresses get a QUIC Retry first:
/// half the budget, so honest callers (who answer a Retry in one round trip) still get in
/// while spoofed sources are turned away without any crypto work.
pub const RETRY_ABOVE: usize = MAX_PENDING_HANDSHAKES / 2;

/// How long the node waits for an incoming handshake to finish before dropping it and
/// freeing its slot. A handshake is two round trips; on a classroom LAN or Wi-Fi that is
/// milliseconds, so 5 s leaves room for loss and retransmission, while a caller that
/// stalls on purpose holds a slot for no longer than that.
pub const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(5);

/// What to do with one incoming connection attempt.
#[derive(Debug)]
pub enum GateDecision {
    /// Go ahead with the handshake, holding this permit until it ends.
    Admit(HandshakePermit),
    /// Answer with a QUIC Retry: the address must be validated first.
    Retry,
    /// Refuse: too many handshakes in progress.
    Refuse,
}

/// Counts handshakes in progress. Cloning shares the count.
#[derive(Clone, Debug)]
pub struct HandshakeGate {
    pending: Arc<AtomicUsize>,
    max: usize,
    retry_above: usize,
}

impl Default for HandshakeGate {
    fn default() -> HandshakeGate {
        HandshakeGate::new(MAX_PENDING_HANDSHAKES, RETRY_ABOVE)
    }
}

impl HandshakeGate {
    /// A gate admitting up to `max` handshakes at once, asking for address validation past
    /// `retry_above` of them.
    pub fn new(max: usize, retry_above: usize) -> HandshakeGate {
        HandshakeGate {
            pending: Arc::new(AtomicUsize::new(0)),
            max,
            retry_above: retry_above.min(max),
        }
    }

    /// Decides for an attempt whose address is validated (it echoed a Retry token) or not.
    pub fn decide(&self, address_validated: bool) -> GateDecision {
        let mut pending = self.pending.load(Ordering::Acquire);
        loop {
            if pending >= self.max {
                return GateDecision::Refuse;
            }
            if pending >= self.retry_above && !address_validated {
                return GateDecision::Retry;
            }
            match self.pending.compare_exchange_weak(
                pending,
                pending + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    return GateDecision::Admit(HandshakePermit {
                        pending: Arc::clone(&self.pending),
                    });
                }
                Err(now) => pending = now,
            }
        }
    }

    /// Handshakes in progress now.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

/// One handshake's slot in the gate, freed on drop.
#[derive(Debug)]
pub struct HandshakePermit {
    pending: Arc<AtomicUsize>,
}

impl Drop for HandshakePermit {
    fn drop(&mut self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit(gate: &HandshakeGate, validated: bool) -> HandshakePermit {
        match gate.decide(validated) {
            GateDecision::Admit(permit) => permit,
            other => panic!("expected a permit, got {other:?}"),
        }
    }

    #[test]
    fn admits_freely_then_asks_for_validation_then_refuses() {
        let gate = HandshakeGate::new(4, 2);
        let first = admit(&gate, false);
        let _second = admit(&gate, false);
        assert_eq!(gate.pending(), 2);
        // Past the threshold: unvalidated addresses must retry, validated ones go ahead.
        assert!(matches!(gate.decide(false), GateDecision::Retry));
        let _third = admit(&gate, true);
        let _fourth = admit(&gate, true);
        assert_eq!(gate.pending(), 4);
        // At the cap: everyone is refused, validated or not.
        assert!(matches!(gate.decide(true), GateDecision::Refuse));
        assert!(matches!(gate.decide(false), GateDecision::Refuse));
        // A finished handshake frees its slot.
        drop(first);
        assert_eq!(gate.pending(), 3);
        let _again = admit(&gate, true);
        assert!(matches!(gate.decide(true), GateDecision::Refuse));
    }

    #[test]
    fn permits_free_their_slots_and_clones_share_the_count() {
        let gate = HandshakeGate::default();
        let clone = gate.clone();
        let permits: Vec<_> = (0..RETRY_ABOVE).map(|_| admit(&clone, false)).collect();
        assert_eq!(gate.pending(), RETRY_ABOVE);
        assert!(matches!(gate.decide(false), GateDecision::Retry));
        drop(permits);
        assert_eq!(gate.pending(), 0);
        let _permit = admit(&gate, false);
    }

    #[test]
    fn a_threshold_above_the_cap_is_the_cap() {
        let gate = HandshakeGate::new(1, 10);
        let _only = admit(&gate, false);
        assert!(matches!(gate.decide(false), GateDecision::Refuse));
    }

    #[test]
    fn concurrent_callers_never_exceed_the_cap() {
        let gate = HandshakeGate::new(8, 8);
        let held = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        if let GateDecision::Admit(permit) = gate.decide(true) {
                            held.lock().unwrap().push(permit);
                        }
                    }
                });
            }
        });
        assert_eq!(held.lock().unwrap().len(), 8);
        assert_eq!(gate.pending(), 8);
    }
}
