//! A node's record of the transactions it forwarded to the leader for its own clients,
//! so a leader change does not strand them.
//!
//! A forward is one message to one leader. If that leader dies, or the message is lost
//! in a partition, nobody answers, and the client would wait for its timeout. Instead,
//! whenever a new leader becomes known, every transaction still unanswered goes to it
//! again ([`ForwardLog::redirect`]).
//!
//! Sending a signed transaction twice is safe: it carries its nonce, so it is applied at
//! most once, and a second copy that reaches the chain is rejected there as stale (its
//! receipt does not replace the first's). But the answers must be read with care. For a
//! transaction sent again, "stale nonce", "duplicate" or "nonce in use" may only mean
//! that the first copy went ahead, so those are not passed on: the block that holds it,
//! or the client's timeout, answers. An answer from a leader the transaction is no
//! longer waiting on (an old leader refusing what it held when it stepped down) is
//! dropped too.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;

use super::Refusal;

/// How long a forwarded transaction is remembered (ms): well past any client's wait.
pub const KEEP_MS: u64 = 60_000;

pub(super) struct ForwardLog {
    entries: FxHashMap<TxHash, Forwarded>,
    /// Hashes in the order they were first forwarded, with when: for expiry, and to send
    /// again in the original order (so each signer's nonces stay in order).
    order: VecDeque<(u64, TxHash)>,
    capacity: usize,
}

struct Forwarded {
    tx: SignedTx,
    /// The leader it was last sent to (this node's own id once it leads itself).
    to: NodeId,
    resent: bool,
    since_ms: u64,
}

impl ForwardLog {
    pub fn new(capacity: usize) -> ForwardLog {
        ForwardLog {
            entries: FxHashMap::default(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Whether another transaction can be recorded: every forwarded transaction is in the
    /// log (only the answers it expects are listened to), so a full log means "busy".
    pub fn has_room(&self) -> bool {
        self.entries.len() < self.capacity
    }

    /// `tx` went to `leader` at `now_ms` (the caller checked [`ForwardLog::has_room`]).
    pub fn record(&mut self, tx: &SignedTx, hash: TxHash, leader: NodeId, now_ms: u64) {
        if self.entries.contains_key(&hash) {
            return;
        }
        self.entries.insert(
            hash,
            Forwarded {
                tx: tx.clone(),
                to: leader,
                resent: false,
                since_ms: now_ms,
            },
        );
        self.order.push_back((now_ms, hash));
    }

    /// `hash` is in the chain: its block answers the client.
    pub fn settled(&mut self, hash: &TxHash) {
        self.entries.remove(hash);
    }

    /// Whether peer `from`'s refusal of `hash` is the answer to pass on to the client. It
    /// is only if `hash` was forwarded to `from` and still waits on it (a peer cannot
    /// answer for transactions it was never sent, nor for another leader), and unless it
    /// was sent again and the refusal may only mean that its first copy went ahead.
    pub fn passes_from_peer(&mut self, hash: &TxHash, from: NodeId, refusal: &Refusal) -> bool {
        self.entries.contains_key(hash) && self.passes(hash, from, refusal)
    }

    /// Whether this node's own refusal (`me`) of `hash` is the answer to pass on: always
    /// for a transaction it never forwarded, otherwise as for a peer's.
    pub fn passes_own(&mut self, hash: &TxHash, me: NodeId, refusal: &Refusal) -> bool {
        !self.entries.contains_key(hash) || self.passes(hash, me, refusal)
    }

    fn passes(&mut self, hash: &TxHash, from: NodeId, refusal: &Refusal) -> bool {
        let Some(entry) = self.entries.get(hash) else {
            return false;
        };
        if entry.to != from {
            return false;
        }
        let maybe_first_copy = matches!(
            refusal,
            Refusal::StaleNonce { .. } | Refusal::Duplicate | Refusal::NonceInUse { .. }
        );
        if entry.resent && maybe_first_copy {
            return false;
        }
        self.entries.remove(hash);
        true
    }

    /// `leader` is the new leader: the unanswered transactions to send it, oldest
    /// first. They are recorded as sent to it.
    pub fn redirect(&mut self, leader: NodeId) -> Vec<SignedTx> {
        let mut again = Vec::new();
        for (_, hash) in &self.order {
            if let Some(entry) = self.entries.get_mut(hash)
                && !(entry.resent && entry.to == leader)
            {
                entry.to = leader;
                entry.resent = true;
                again.push(entry.tx.clone());
            }
        }
        again
    }

    /// Forgets what was forwarded more than [`KEEP_MS`] before `now_ms`, and the
    /// answered hashes at the front of the order.
    pub fn expire(&mut self, now_ms: u64) {
        while let Some(&(since, hash)) = self.order.front() {
            let live = self.is_live(since, &hash);
            if live && since + KEEP_MS > now_ms {
                break;
            }
            self.order.pop_front();
            if live {
                self.entries.remove(&hash);
            }
        }
        // An unanswered transaction at the front holds back the answered ones behind it
        // (they are answered in about the order they were sent): bound them.
        if self.order.len() > 2 * self.capacity.max(1_024) {
            let entries = &self.entries;
            self.order.retain(|(since, hash)| {
                entries
                    .get(hash)
                    .is_some_and(|entry| entry.since_ms == *since)
            });
        }
    }

    /// Whether `order`'s item (`since`, `hash`) is still an unanswered entry.
    fn is_live(&self, since: u64, hash: &TxHash) -> bool {
        self.entries
            .get(hash)
            .is_some_and(|entry| entry.since_ms == since)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tx::{Tx, TxBody};
    use qraft_keys::{ChainId, Keypair};

    fn tx(nonce: u64) -> (SignedTx, TxHash) {
        let key = Keypair::from_seed(&[7; 32]);
        let tx = Tx {
            signer: key.public(),
            nonce,
            body: TxBody::CancelAll { symbol: None },
        }
        .sign(&key, &ChainId([1; 32]));
        let hash = tx.hash();
        (tx, hash)
    }

    #[test]
    fn unanswered_transactions_go_to_the_new_leader_in_order() {
        let mut log = ForwardLog::new(10);
        let (a, ha) = tx(1);
        let (b, hb) = tx(2);
        let (c, hc) = tx(3);
        log.record(&a, ha, 2, 0);
        log.record(&b, hb, 2, 1);
        log.record(&c, hc, 2, 2);
        log.settled(&hb);
        let again: Vec<u64> = log.redirect(3).iter().map(|t| t.tx.nonce).collect();
        assert_eq!(again, [1, 3]);
        // Already sent again to 3: not a second time.
        assert!(log.redirect(3).is_empty());
        // Back to 2 (a new term): again.
        assert_eq!(log.redirect(2).len(), 2);
    }

    #[test]
    fn refusals_pass_only_from_the_awaited_leader_and_not_for_maybe_applied_copies() {
        let mut log = ForwardLog::new(10);
        let (a, ha) = tx(1);
        let (b, hb) = tx(2);
        log.record(&a, ha, 2, 0);
        log.record(&b, hb, 2, 0);
        // A first answer from the leader it went to passes, and settles it; another
        // peer's does not.
        assert!(!log.passes_from_peer(&ha, 4, &Refusal::Busy { capacity: 1 }));
        assert!(log.passes_from_peer(&ha, 2, &Refusal::Busy { capacity: 1 }));
        assert_eq!(log.len(), 1);
        log.redirect(3);
        // The old leader's refusal is no longer the answer.
        assert!(!log.passes_from_peer(&hb, 2, &Refusal::LeaderChanged));
        // The new leader's "stale" may mean the first copy was applied.
        let stale = Refusal::StaleNonce { nonce: 2, last: 2 };
        assert!(!log.passes_from_peer(&hb, 3, &stale));
        assert!(!log.passes_from_peer(&hb, 3, &Refusal::Duplicate));
        // Its other refusals are answers.
        assert!(log.passes_from_peer(&hb, 3, &Refusal::BadSignature));
        assert_eq!(log.len(), 0);
        // A peer cannot answer for what it was never sent (or no longer waits on); this
        // node's own refusal of a transaction it never forwarded is the answer.
        assert!(!log.passes_from_peer(&hb, 3, &Refusal::BadSignature));
        assert!(log.passes_own(&hb, 1, &stale));
    }

    #[test]
    fn answered_entries_do_not_pile_up() {
        let mut log = ForwardLog::new(10);
        let (stuck, stuck_hash) = tx(1_000_000);
        log.record(&stuck, stuck_hash, 2, 0);
        for nonce in 1..10_000 {
            let (t, hash) = tx(nonce);
            log.record(&t, hash, 2, nonce);
            log.settled(&hash);
            log.expire(nonce);
        }
        assert_eq!(log.len(), 1);
        assert!(log.order.len() <= 2 * 1_024 + 1, "{}", log.order.len());
        log.settled(&stuck_hash);
        log.expire(10_000);
        assert!(log.order.is_empty());
    }

    #[test]
    fn old_and_excess_entries_are_not_kept() {
        let mut log = ForwardLog::new(2);
        let (a, ha) = tx(1);
        let (b, hb) = tx(2);
        let (c, hc) = tx(3);
        log.record(&a, ha, 2, 0);
        log.record(&b, hb, 2, 10);
        assert!(!log.has_room(), "at capacity: the caller refuses as busy");
        let _ = (c, hc);
        assert_eq!(log.len(), 2);
        log.expire(KEEP_MS + 5);
        assert_eq!(log.len(), 1);
        log.expire(KEEP_MS + 10);
        assert_eq!(log.len(), 0);
        assert!(log.order.is_empty());
    }
}
