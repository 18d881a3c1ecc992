//! The leader's mempool: signed transactions waiting to be cut into a batch.
//!
//! - Bounded in count and in bytes: when full, [`Mempool::insert`] answers
//!   [`Refusal::Busy`]; nothing is ever dropped silently.
//! - Fair: each signer may hold at most a share of it ([`MempoolLimits::signer_txs`],
//!   [`MempoolLimits::signer_bytes`]); a signer over its share is answered
//!   [`Refusal::OverShare`] while everyone else is still taken. One student with a
//!   script of pre-signed transactions cannot take every slot.
//! - Deduplicated by transaction hash, across waiting *and* proposed-but-not-applied
//!   transactions, so a client retrying a submission cannot get it proposed twice.
//! - Per-signer nonce order: a batch takes the signers in the order their transactions
//!   arrived, and each signer's transactions in nonce order, so a bot that pipelines
//!   nonces 5, 6, 7 gets them applied in that order even if they arrived shuffled.

use std::collections::{BTreeMap, VecDeque};

use qraft_keys::PublicKey;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::api::Refusal;
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;

/// The part of the mempool one signer may hold, as a fraction `1 / SIGNER_SHARE_DIVISOR`
/// of each of its limits: a class has about 30 students and a handful of bots, so the
/// pool is full only when 16 of them flood at once, and one flooding signer leaves
/// fifteen sixteenths for everyone else.
pub const SIGNER_SHARE_DIVISOR: usize = 16;

/// How much the mempool holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Transactions waiting, at most.
    pub txs: usize,
    /// Bytes of encoded transactions waiting, at most.
    pub bytes: usize,
    /// Transactions one signer may have waiting, at most.
    pub signer_txs: usize,
    /// Bytes one signer may have waiting, at most.
    pub signer_bytes: usize,
}

impl MempoolLimits {
    /// `txs` and `bytes` for the whole pool, and a [`SIGNER_SHARE_DIVISOR`]th of each
    /// (at least one transaction of the largest size) for any one signer.
    pub fn with_fair_share(txs: usize, bytes: usize) -> MempoolLimits {
        MempoolLimits {
            txs,
            bytes,
            signer_txs: (txs / SIGNER_SHARE_DIVISOR).max(1),
            signer_bytes: (bytes / SIGNER_SHARE_DIVISOR).max(crate::core::tx::MAX_TX_BYTES),
        }
    }
}

/// Where a submission came from, so a refusal finds its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A client of this node.
    Local,
    /// Forwarded by another node on behalf of its client.
    Peer(NodeId),
}

/// A transaction waiting in the mempool.
#[derive(Clone, Debug)]
pub struct Pending {
    pub tx: SignedTx,
    pub hash: TxHash,
    pub origin: Origin,
    /// When it arrived (the caller's clock, ms).
    pub arrived_ms: u64,
    /// Its encoded size.
    pub bytes: usize,
}

/// One signer's waiting transactions.
#[derive(Debug, Default)]
struct SignerQueue {
    by_nonce: BTreeMap<u64, Pending>,
    bytes: usize,
}

#[derive(Debug)]
pub struct Mempool {
    limits: MempoolLimits,
    /// Each signer's waiting transactions by nonce.
    by_signer: FxHashMap<PublicKey, SignerQueue>,
    /// One entry per waiting transaction: its signer, in arrival order.
    arrivals: VecDeque<(PublicKey, u64)>,
    /// Hashes of waiting and proposed-but-not-yet-applied transactions.
    known: FxHashSet<TxHash>,
    len: usize,
    bytes: usize,
}

impl Mempool {
    pub fn new(limits: MempoolLimits) -> Mempool {
        Mempool {
            limits,
            by_signer: FxHashMap::default(),
            arrivals: VecDeque::new(),
            known: FxHashSet::default(),
            len: 0,
            bytes: 0,
        }
    }

    /// Transactions waiting to be proposed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes of transactions waiting to be proposed.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn limits(&self) -> MempoolLimits {
        self.limits
    }

    /// When the oldest waiting transaction arrived.
    pub fn oldest_arrival_ms(&self) -> Option<u64> {
        self.arrivals.front().map(|(_, ms)| *ms)
    }

    /// Whether this hash is waiting or proposed and not yet applied.
    pub fn knows(&self, hash: &TxHash) -> bool {
        self.known.contains(hash)
    }

    /// Admits a transaction whose signature, signer, nonce and size the caller has
    /// checked.
    pub fn insert(&mut self, pending: Pending) -> Result<(), Refusal> {
        if self.known.contains(&pending.hash) {
            return Err(Refusal::Duplicate);
        }
        let signer = pending.tx.tx.signer;
        let nonce = pending.tx.tx.nonce;
        let queue = self.by_signer.get(&signer);
        if queue.is_some_and(|q| q.by_nonce.contains_key(&nonce)) {
            return Err(Refusal::NonceInUse { nonce });
        }
        if self.len >= self.limits.txs || self.bytes + pending.bytes > self.limits.bytes {
            return Err(Refusal::Busy {
                capacity: self.limits.txs,
            });
        }
        if let Some(queue) = queue
            && (queue.by_nonce.len() >= self.limits.signer_txs
                || queue.bytes + pending.bytes > self.limits.signer_bytes)
        {
            return Err(Refusal::OverShare {
                waiting: queue.by_nonce.len(),
            });
        }
        let queue = self.by_signer.entry(signer).or_default();
        self.known.insert(pending.hash);
        self.arrivals.push_back((signer, pending.arrived_ms));
        self.len += 1;
        self.bytes += pending.bytes;
        queue.bytes += pending.bytes;
        queue.by_nonce.insert(nonce, pending);
        Ok(())
    }

    /// Takes up to `max_txs` transactions, of at most `max_bytes` together, for the next
    /// batch (the first is taken whatever its size, so a batch is never empty while
    /// something waits). Their hashes stay known (so duplicates are still refused) until
    /// [`Mempool::forget`] says they were applied.
    pub fn cut(&mut self, max_txs: usize, max_bytes: usize) -> Vec<Pending> {
        let mut batch = Vec::with_capacity(max_txs.min(self.len));
        let mut bytes = 0;
        while batch.len() < max_txs {
            let Some(&(signer, _)) = self.arrivals.front() else {
                break;
            };
            let queue = self
                .by_signer
                .get_mut(&signer)
                .expect("every arrival has its signer's queue");
            let (_, next) = queue
                .by_nonce
                .first_key_value()
                .expect("a signer has as many waiting transactions as arrivals");
            if !batch.is_empty() && bytes + next.bytes > max_bytes {
                break;
            }
            self.arrivals.pop_front();
            let (_, pending) = queue.by_nonce.pop_first().expect("checked above");
            queue.bytes -= pending.bytes;
            if queue.by_nonce.is_empty() {
                self.by_signer.remove(&signer);
            }
            self.len -= 1;
            self.bytes -= pending.bytes;
            bytes += pending.bytes;
            batch.push(pending);
        }
        batch
    }

    /// Forgets applied (or abandoned) transactions, so their hashes may be submitted
    /// again (the ledger's nonce rule then refuses a replay).
    pub fn forget<'a>(&mut self, hashes: impl IntoIterator<Item = &'a TxHash>) {
        for hash in hashes {
            self.known.remove(hash);
        }
    }

    /// Empties the mempool (this node stopped leading): every waiting transaction back
    /// to its submitter; proposed hashes are forgotten.
    pub fn drain(&mut self) -> Vec<Pending> {
        let mut all = self.cut(usize::MAX, usize::MAX);
        all.sort_by_key(|p| p.arrived_ms);
        self.known.clear();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::tx::{NewOrder, OrderKind, Tx, TxBody};
    use crate::core::types::{Side, Ticker};
    use qraft_keys::{ChainId, Keypair};

    fn pending(key: &Keypair, nonce: u64, arrived_ms: u64) -> Pending {
        let tx = Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol: Ticker::new("ACME").unwrap(),
                side: Side::Buy,
                kind: OrderKind::Limit { price: 100 },
                quantity: 1,
            }),
        }
        .sign(key, &ChainId([7; 32]));
        Pending {
            hash: tx.hash(),
            bytes: super::super::message::encoded_len(&tx),
            tx,
            origin: Origin::Local,
            arrived_ms,
        }
    }

    /// A pool of `txs` transactions where one signer may fill it all.
    fn unshared(txs: usize) -> MempoolLimits {
        MempoolLimits {
            txs,
            bytes: usize::MAX,
            signer_txs: txs,
            signer_bytes: usize::MAX,
        }
    }

    #[test]
    fn full_pool_says_busy_and_keeps_what_it_has() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(unshared(2));
        pool.insert(pending(&a, 1, 0)).unwrap();
        pool.insert(pending(&a, 2, 0)).unwrap();
        assert_eq!(
            pool.insert(pending(&a, 3, 0)),
            Err(Refusal::Busy { capacity: 2 })
        );
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.cut(10, usize::MAX).len(), 2);
    }

    #[test]
    fn duplicates_are_refused_while_waiting_and_while_proposed() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(unshared(10));
        let p = pending(&a, 1, 0);
        pool.insert(p.clone()).unwrap();
        assert_eq!(pool.insert(p.clone()), Err(Refusal::Duplicate));
        let batch = pool.cut(10, usize::MAX);
        assert_eq!(pool.insert(p.clone()), Err(Refusal::Duplicate));
        pool.forget(batch.iter().map(|p| &p.hash));
        pool.insert(p).unwrap();
    }

    #[test]
    fn same_nonce_with_other_content_is_refused() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(unshared(10));
        pool.insert(pending(&a, 1, 0)).unwrap();
        let mut other = pending(&a, 1, 0);
        other.tx = Tx {
            body: TxBody::CancelAll { symbol: None },
            ..other.tx.tx
        }
        .sign(&a, &ChainId([7; 32]));
        other.hash = other.tx.hash();
        assert_eq!(pool.insert(other), Err(Refusal::NonceInUse { nonce: 1 }));
    }

    #[test]
    fn batches_keep_each_signers_nonce_order_and_arrival_order_across_signers() {
        let (a, b) = (Keypair::from_label("a"), Keypair::from_label("b"));
        let mut pool = Mempool::new(unshared(10));
        pool.insert(pending(&a, 7, 1)).unwrap();
        pool.insert(pending(&b, 3, 2)).unwrap();
        pool.insert(pending(&a, 5, 3)).unwrap();
        pool.insert(pending(&a, 6, 4)).unwrap();
        assert_eq!(pool.oldest_arrival_ms(), Some(1));
        let first = pool.cut(2, usize::MAX);
        let order: Vec<(PublicKey, u64)> = first
            .iter()
            .map(|p| (p.tx.tx.signer, p.tx.tx.nonce))
            .collect();
        assert_eq!(order, vec![(a.public(), 5), (b.public(), 3)]);
        let rest: Vec<u64> = pool
            .cut(10, usize::MAX)
            .iter()
            .map(|p| p.tx.tx.nonce)
            .collect();
        assert_eq!(rest, vec![6, 7]);
        assert!(pool.is_empty());
        assert_eq!(pool.oldest_arrival_ms(), None);
    }

    #[test]
    fn drain_returns_everything_and_forgets_proposed_hashes() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(unshared(10));
        let proposed = pending(&a, 1, 0);
        pool.insert(proposed.clone()).unwrap();
        pool.cut(1, usize::MAX);
        pool.insert(pending(&a, 2, 1)).unwrap();
        let drained = pool.drain();
        assert_eq!(drained.len(), 1);
        assert!(!pool.knows(&proposed.hash));
        assert!(pool.is_empty());
    }

    #[test]
    fn a_signer_over_its_share_is_busy_while_others_are_taken() {
        let (greedy, honest) = (Keypair::from_label("greedy"), Keypair::from_label("honest"));
        let mut pool = Mempool::new(MempoolLimits::with_fair_share(64, usize::MAX / 2));
        assert_eq!(pool.limits().signer_txs, 4);
        for nonce in 1..=4 {
            pool.insert(pending(&greedy, nonce, 0)).unwrap();
        }
        assert_eq!(
            pool.insert(pending(&greedy, 5, 0)),
            Err(Refusal::OverShare { waiting: 4 })
        );
        pool.insert(pending(&honest, 1, 0)).unwrap();
        assert_eq!(pool.len(), 5);
        // Once some of the greedy signer's are cut, it may send more.
        assert_eq!(pool.cut(2, usize::MAX).len(), 2);
        pool.insert(pending(&greedy, 5, 0)).unwrap();
    }

    #[test]
    fn the_pool_and_each_share_are_bounded_in_bytes() {
        let (a, b) = (Keypair::from_label("a"), Keypair::from_label("b"));
        let one = pending(&a, 1, 0).bytes;
        let mut pool = Mempool::new(MempoolLimits {
            txs: 100,
            bytes: 3 * one,
            signer_txs: 100,
            signer_bytes: 2 * one,
        });
        pool.insert(pending(&a, 1, 0)).unwrap();
        pool.insert(pending(&a, 2, 0)).unwrap();
        assert_eq!(
            pool.insert(pending(&a, 3, 0)),
            Err(Refusal::OverShare { waiting: 2 })
        );
        pool.insert(pending(&b, 1, 0)).unwrap();
        assert_eq!(pool.bytes(), 3 * one);
        assert_eq!(
            pool.insert(pending(&b, 2, 0)),
            Err(Refusal::Busy { capacity: 100 })
        );
    }

    #[test]
    fn a_cut_stops_at_its_byte_budget_but_never_comes_back_empty() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(unshared(10));
        for nonce in 1..=5 {
            pool.insert(pending(&a, nonce, 0)).unwrap();
        }
        let one = pool.bytes() / 5;
        assert_eq!(pool.cut(10, 2 * one + one / 2).len(), 2);
        assert_eq!(
            pool.cut(10, 1).len(),
            1,
            "the first is taken whatever its size"
        );
        assert_eq!(pool.cut(10, usize::MAX).len(), 2);
        assert_eq!(pool.bytes(), 0);
    }
}
