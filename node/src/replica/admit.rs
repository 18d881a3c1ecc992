//! Admission: the cheap checks on a submission (known signer, fresh nonce, signature),
//! then to the mempool (leader), on to the leader (follower), or parked until a leader
//! is known; and the leader's batch cutting.

use crate::core::ledger::Batch;
use crate::core::tx::{MAX_TX_BYTES, SignedTx, TxHash};

use super::mempool::{Origin, Pending};
use super::message::{MAX_FORWARD_BYTES, encoded_len, forward_messages};
use super::{Inflight, Now, ProposalTag, Refusal, Replica, ReplicaError, Role};

impl Replica {
    pub(super) fn admit(&mut self, now: Now) {
        let mut forward = Vec::new();
        self.release_parked(now, &mut forward);
        if !self.incoming.is_empty() {
            let incoming = std::mem::take(&mut self.incoming);
            for (tx, hash, origin) in self.check(incoming) {
                self.route(tx, hash, origin, now, &mut forward);
            }
        }
        if !forward.is_empty()
            && let Some(leader) = self.leader
        {
            let mut txs = Vec::with_capacity(forward.len());
            for (tx, hash) in forward {
                // Only answers to what is in the log are listened to: no room, no send.
                if !self.forwarded.has_room() {
                    self.refuse(
                        hash,
                        Origin::Local,
                        Refusal::Busy {
                            capacity: self.config.max_parked,
                        },
                    );
                    continue;
                }
                self.forwarded.record(&tx, hash, leader, now.mono_ms);
                txs.push(tx);
            }
            for message in forward_messages(txs, MAX_FORWARD_BYTES) {
                self.outbox.push_back((leader, message));
            }
        }
    }

    /// Signer, nonce and signature checks; refuses what fails, returns what passes.
    fn check(&mut self, incoming: Vec<(SignedTx, Origin)>) -> Vec<(SignedTx, TxHash, Origin)> {
        let mut candidates = Vec::with_capacity(incoming.len());
        for (tx, origin) in incoming {
            let hash = tx.hash();
            let len = encoded_len(&tx);
            let exchange = self.ledger.exchange();
            let refusal = match exchange.last_nonce(&tx.tx.signer) {
                _ if len > MAX_TX_BYTES => Some(Refusal::TooLarge {
                    len,
                    max: MAX_TX_BYTES,
                }),
                None => Some(Refusal::UnknownSigner),
                Some(_) if exchange.is_suspended(&tx.tx.signer) => Some(Refusal::Suspended),
                Some(last) if tx.tx.nonce <= last => Some(Refusal::StaleNonce {
                    nonce: tx.tx.nonce,
                    last,
                }),
                Some(_) if self.role == Role::Leader && self.mempool.knows(&hash) => {
                    Some(Refusal::Duplicate)
                }
                Some(_) => None,
            };
            match refusal {
                Some(refusal) => self.refuse(hash, origin, refusal),
                None => candidates.push((tx, hash, origin)),
            }
        }
        let unchecked: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                let (tx, hash, _) = &candidates[i];
                self.verified.get(hash) != Some(&tx.signature)
            })
            .collect();
        let verdicts = self
            .ledger
            .verify_signatures(unchecked.iter().map(|&i| &candidates[i].0));
        let mut good = vec![true; candidates.len()];
        for (&i, ok) in unchecked.iter().zip(verdicts) {
            good[i] = ok;
            if ok {
                if self.verified.len() >= self.config.verified_cache_capacity {
                    // Only a cache: forgetting costs a second check at apply time.
                    self.verified.clear();
                }
                let (tx, hash, _) = &candidates[i];
                self.verified.insert(*hash, tx.signature);
            }
        }
        let mut passed = Vec::with_capacity(candidates.len());
        for ((tx, hash, origin), ok) in candidates.into_iter().zip(good) {
            if ok {
                passed.push((tx, hash, origin));
            } else {
                self.refuse(hash, origin, Refusal::BadSignature);
            }
        }
        passed
    }

    fn route(
        &mut self,
        tx: SignedTx,
        hash: TxHash,
        origin: Origin,
        now: Now,
        forward: &mut Vec<(SignedTx, TxHash)>,
    ) {
        if self.role == Role::Leader {
            let pending = Pending {
                bytes: encoded_len(&tx),
                tx,
                hash,
                origin,
                arrived_ms: now.mono_ms,
            };
            if let Err(refusal) = self.mempool.insert(pending) {
                self.refuse(hash, origin, refusal);
            }
            return;
        }
        match (origin, self.leader) {
            // A leader is known: pass it on.
            (Origin::Local, Some(_)) => forward.push((tx, hash)),
            // Forwarded to us, but we no longer lead: the submitter's node will learn
            // of the new leader too.
            (Origin::Peer(_), _) => self.refuse(hash, origin, Refusal::LeaderChanged),
            // No leader yet: wait for the election, a while.
            (Origin::Local, None) => {
                if self.parked.len() < self.config.max_parked {
                    self.parked.push_back((tx, origin, now.mono_ms));
                } else {
                    self.refuse(hash, origin, Refusal::NoLeader);
                }
            }
        }
    }

    fn release_parked(&mut self, now: Now, forward: &mut Vec<(SignedTx, TxHash)>) {
        if self.parked.is_empty() {
            return;
        }
        if self.role == Role::Leader || self.leader.is_some() {
            for (tx, origin, _) in std::mem::take(&mut self.parked) {
                let hash = tx.hash();
                self.route(tx, hash, origin, now, forward);
            }
            return;
        }
        while let Some((_, _, since)) = self.parked.front() {
            if since + self.config.no_leader_grace_ms > now.mono_ms {
                break;
            }
            let (tx, origin, _) = self.parked.pop_front().expect("front exists");
            self.refuse(tx.hash(), origin, Refusal::NoLeader);
        }
    }

    /// The leader cuts and proposes batches while one is full or due and the pipeline
    /// has room.
    pub(super) fn propose_batches(&mut self, now: Now) -> Result<(), ReplicaError> {
        while self.role == Role::Leader
            && self.inflight.len() < self.config.max_inflight_batches
            && let Some(oldest) = self.mempool.oldest_arrival_ms()
        {
            let full = self.mempool.len() >= self.config.max_batch_txs
                || self.mempool.bytes() >= self.config.max_batch_bytes;
            let due = oldest + self.config.max_batch_delay_ms <= now.mono_ms;
            if !full && !due {
                break;
            }
            let pending = self
                .mempool
                .cut(self.config.max_batch_txs, self.config.max_batch_bytes);
            let mut owners = Vec::with_capacity(pending.len());
            let mut txs = Vec::with_capacity(pending.len());
            for p in pending {
                owners.push((p.hash, p.origin));
                txs.push(p.tx);
            }
            self.propose_batch(txs, owners, now);
        }
        self.propose_scheduled_block(now);
        Ok(())
    }

    /// The scenario's next step is due by the leader's clock and nobody is trading: an
    /// empty batch makes the block that takes it (the exchange takes due steps at the
    /// start of every block). At most one such batch is in flight, and none while
    /// anything else is: any block takes due steps.
    fn propose_scheduled_block(&mut self, now: Now) {
        if self.role != Role::Leader || !self.inflight.is_empty() || !self.mempool.is_empty() {
            return;
        }
        let Some(due) = self.ledger.exchange().next_scheduled_ms() else {
            return;
        };
        if due > now.unix_ms {
            return;
        }
        self.propose_batch(Vec::new(), Vec::new(), now);
    }

    /// Proposes one batch; its transactions are refused to their senders if Raft drops it.
    fn propose_batch(&mut self, txs: Vec<SignedTx>, owners: Vec<(TxHash, Origin)>, now: Now) {
        let seq = self.next_proposal;
        self.next_proposal += 1;
        let tag = ProposalTag {
            node: self.config.id,
            seq,
        };
        let batch = Batch {
            proposer: self.config.id,
            timestamp_ms: now.unix_ms,
            txs,
        };
        let context = postcard::to_stdvec(&tag).expect("encoding into a Vec cannot fail");
        let data = postcard::to_stdvec(&batch).expect("encoding into a Vec cannot fail");
        match self.driver.handle_propose(context, data) {
            Ok(()) => {
                // The leader appended the entry at once, at its last index.
                let index = self.driver.last_index();
                self.inflight.insert(index, Inflight { seq, txs: owners });
            }
            Err(err) => {
                tracing::warn!(%err, count = owners.len(), "raft dropped a proposal");
                self.mempool.forget(owners.iter().map(|(hash, _)| hash));
                for (hash, origin) in owners {
                    self.refuse(hash, origin, Refusal::LeaderChanged);
                }
            }
        }
    }
}
