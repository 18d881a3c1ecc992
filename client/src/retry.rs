//! The one retry policy for transactions a node did not take, for every client (CLI,
//! session, dashboard, bots).
//!
//! Only setbacks are retried: a refusal for a passing reason (busy, over its share, no
//! leader, leader changed) is signed again with a fresh nonce and resent after a pause,
//! 50 ms doubling up to a second, at most [`RETRIES`] times (about 4.5 s in all: an
//! election on a LAN takes about 1.3 s, and a busy node drains in well under a second);
//! a nonce refused as stale or in use, or a transaction applied and rejected as stale
//! (another program signs with this key), makes the client learn the game's last nonce
//! for the key and resend, once. Nothing else is retried: a receipt is final, and a
//! transaction without an answer may still be applied (settling it is
//! [`crate::failover::settlement`]'s job, never a blind resend).

use std::time::Duration;

use qraft_node::api::Refusal;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;

/// How many times a transaction refused for a passing reason is sent again.
pub const RETRIES: u32 = 8;

/// Why a transaction sent did not take effect, where sending it again can help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setback {
    /// Refused for a passing reason: busy, over its share, no leader, leader changed.
    Passing,
    /// Its nonce was refused as stale or in use, or it was applied and rejected as
    /// stale: another program sent with this key.
    Nonce,
}

/// The setback a refusal is, if any.
pub fn refused(refusal: &Refusal) -> Option<Setback> {
    match refusal {
        refusal if refusal.is_retryable() => Some(Setback::Passing),
        Refusal::StaleNonce { .. } | Refusal::NonceInUse { .. } => Some(Setback::Nonce),
        _ => None,
    }
}

/// The setback an applied transaction's outcome is, if any (only a stale nonce).
pub fn applied(outcome: &Outcome) -> Option<Setback> {
    matches!(outcome, Outcome::Rejected(Rejection::StaleNonce { .. })).then_some(Setback::Nonce)
}

/// How often a transaction has been sent again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tries {
    /// Resends after a passing refusal.
    pub resent: u32,
    /// Whether the nonce was learnt again after a nonce setback.
    pub resynced: bool,
}

/// What to do about a setback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Sign again with a fresh nonce and resend, after this pause.
    Resend { after: Duration },
    /// Learn the game's last nonce for this key, then sign again and resend.
    Resync,
    /// Give up: the caller gets the answer as it is.
    Stop,
}

/// Resend after a passing refusal while fewer than `retries` resends were made; learn
/// the nonce and resend once after a nonce setback.
pub fn decide(setback: Setback, tries: Tries, retries: u32) -> Decision {
    match setback {
        Setback::Passing if tries.resent < retries => Decision::Resend {
            after: retry_delay(tries.resent),
        },
        Setback::Nonce if !tries.resynced => Decision::Resync,
        _ => Decision::Stop,
    }
}

/// The pause before retry number `attempt` (from 0): 50 ms doubling up to 1 s.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(5)).min(1_000))
}

impl Tries {
    /// Notes that `decision` was carried out.
    pub fn after(self, decision: Decision) -> Tries {
        match decision {
            Decision::Resend { .. } => Tries {
                resent: self.resent + 1,
                ..self
            },
            Decision::Resync => Tries {
                resynced: true,
                ..self
            },
            Decision::Stop => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::exchange::receipt::Effect;

    #[test]
    fn retries_back_off_up_to_a_second() {
        assert_eq!(retry_delay(0), Duration::from_millis(50));
        assert_eq!(retry_delay(1), Duration::from_millis(100));
        assert_eq!(retry_delay(4), Duration::from_millis(800));
        assert_eq!(retry_delay(5), Duration::from_millis(1_000));
        assert_eq!(retry_delay(40), Duration::from_millis(1_000));
        let all: Duration = (0..RETRIES).map(retry_delay).sum();
        assert_eq!(all, Duration::from_millis(4_550));
    }

    #[test]
    fn passing_refusals_and_nonce_trouble_are_setbacks() {
        for refusal in [
            Refusal::Busy { capacity: 2 },
            Refusal::NoLeader,
            Refusal::LeaderChanged,
        ] {
            assert_eq!(refused(&refusal), Some(Setback::Passing), "{refusal:?}");
        }
        let stale = Refusal::StaleNonce { nonce: 1, last: 2 };
        assert_eq!(refused(&stale), Some(Setback::Nonce));
        assert_eq!(
            refused(&Refusal::NonceInUse { nonce: 3 }),
            Some(Setback::Nonce)
        );
        let stale_at_apply = Outcome::Rejected(Rejection::StaleNonce { nonce: 1, last: 2 });
        assert_eq!(applied(&stale_at_apply), Some(Setback::Nonce));
    }

    #[test]
    fn final_answers_are_not_setbacks() {
        assert_eq!(refused(&Refusal::BadSignature), None);
        assert_eq!(refused(&Refusal::Duplicate), None);
        assert_eq!(refused(&Refusal::UnknownSigner), None);
        assert_eq!(applied(&Outcome::Rejected(Rejection::MarketClosed)), None);
        assert_eq!(applied(&Outcome::Accepted(Effect::Admin)), None);
    }

    #[test]
    fn passing_refusals_are_resent_until_the_limit_with_growing_pauses() {
        let mut tries = Tries::default();
        let mut pauses = Vec::new();
        while let decision @ Decision::Resend { after } = decide(Setback::Passing, tries, 3) {
            pauses.push(after.as_millis());
            tries = tries.after(decision);
        }
        assert_eq!(pauses, [50, 100, 200]);
        assert_eq!(decide(Setback::Passing, tries, 3), Decision::Stop);
        assert_eq!(
            decide(Setback::Passing, Tries::default(), 0),
            Decision::Stop
        );
    }

    #[test]
    fn a_nonce_setback_resyncs_once() {
        let fresh = Tries::default();
        assert_eq!(decide(Setback::Nonce, fresh, 8), Decision::Resync);
        let resynced = fresh.after(Decision::Resync);
        assert_eq!(decide(Setback::Nonce, resynced, 8), Decision::Stop);
        // Resyncing does not use up passing retries, nor the other way round.
        assert!(matches!(
            decide(Setback::Passing, resynced, 8),
            Decision::Resend { .. }
        ));
        let worn = Tries {
            resent: 8,
            resynced: false,
        };
        assert_eq!(decide(Setback::Nonce, worn, 8), Decision::Resync);
    }
}
