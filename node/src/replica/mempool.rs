//! The leader's mempool: signed transactions waiting to be cut into a batch.
//!
//! - Bounded: when full, [`Mempool::insert`] answers [`Refusal::Busy`]; nothing is ever
//!   dropped silently.
//! - Deduplicated by transaction hash, across waiting *and* proposed-but-not-applied
//!   transactions, so a client retrying a submission cannot get it proposed twice.
//! - Per-signer nonce order: a batch takes the signers in the order their transactions
//!   arrived, and each signer's transactions in nonce order, so a bot that pipelines
//!   nonces 5, 6, 7 gets them applied in that order even if they arrived shuffled.

use std::collections::{BTreeMap, VecDeque};

use qraft_keys::PublicKey;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;

use super::message::Refusal;

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
}

#[derive(Debug)]
pub struct Mempool {
    capacity: usize,
    /// Each signer's waiting transactions by nonce.
    by_signer: FxHashMap<PublicKey, BTreeMap<u64, Pending>>,
    /// One entry per waiting transaction: its signer, in arrival order.
    arrivals: VecDeque<(PublicKey, u64)>,
    /// Hashes of waiting and proposed-but-not-yet-applied transactions.
    known: FxHashSet<TxHash>,
    len: usize,
}

impl Mempool {
    pub fn new(capacity: usize) -> Mempool {
        Mempool {
            capacity,
            by_signer: FxHashMap::default(),
            arrivals: VecDeque::new(),
            known: FxHashSet::default(),
            len: 0,
        }
    }

    /// Transactions waiting to be proposed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// When the oldest waiting transaction arrived.
    pub fn oldest_arrival_ms(&self) -> Option<u64> {
        self.arrivals.front().map(|(_, ms)| *ms)
    }

    /// Whether this hash is waiting or proposed and not yet applied.
    pub fn knows(&self, hash: &TxHash) -> bool {
        self.known.contains(hash)
    }

    /// Admits a transaction whose signature, signer and nonce the caller has checked.
    pub fn insert(&mut self, pending: Pending) -> Result<(), Refusal> {
        if self.known.contains(&pending.hash) {
            return Err(Refusal::Duplicate);
        }
        if self.len >= self.capacity {
            return Err(Refusal::Busy {
                capacity: self.capacity,
            });
        }
        let signer = pending.tx.tx.signer;
        let nonce = pending.tx.tx.nonce;
        let queue = self.by_signer.entry(signer).or_default();
        if queue.contains_key(&nonce) {
            return Err(Refusal::NonceInUse { nonce });
        }
        self.known.insert(pending.hash);
        self.arrivals.push_back((signer, pending.arrived_ms));
        queue.insert(nonce, pending);
        self.len += 1;
        Ok(())
    }

    /// Takes up to `max` transactions for the next batch. Their hashes stay known (so
    /// duplicates are still refused) until [`Mempool::forget`] says they were applied.
    pub fn cut(&mut self, max: usize) -> Vec<Pending> {
        let mut batch = Vec::with_capacity(max.min(self.len));
        while batch.len() < max {
            let Some((signer, _)) = self.arrivals.pop_front() else {
                break;
            };
            let queue = self
                .by_signer
                .get_mut(&signer)
                .expect("every arrival has its signer's queue");
            let (_, pending) = queue
                .pop_first()
                .expect("a signer has as many waiting transactions as arrivals");
            if queue.is_empty() {
                self.by_signer.remove(&signer);
            }
            self.len -= 1;
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
        let mut all = self.cut(usize::MAX);
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
            tx,
            origin: Origin::Local,
            arrived_ms,
        }
    }

    #[test]
    fn full_pool_says_busy_and_keeps_what_it_has() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(2);
        pool.insert(pending(&a, 1, 0)).unwrap();
        pool.insert(pending(&a, 2, 0)).unwrap();
        assert_eq!(
            pool.insert(pending(&a, 3, 0)),
            Err(Refusal::Busy { capacity: 2 })
        );
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.cut(10).len(), 2);
    }

    #[test]
    fn duplicates_are_refused_while_waiting_and_while_proposed() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(10);
        let p = pending(&a, 1, 0);
        pool.insert(p.clone()).unwrap();
        assert_eq!(pool.insert(p.clone()), Err(Refusal::Duplicate));
        let batch = pool.cut(10);
        assert_eq!(pool.insert(p.clone()), Err(Refusal::Duplicate));
        pool.forget(batch.iter().map(|p| &p.hash));
        pool.insert(p).unwrap();
    }

    #[test]
    fn same_nonce_with_other_content_is_refused() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(10);
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
        let mut pool = Mempool::new(10);
        pool.insert(pending(&a, 7, 1)).unwrap();
        pool.insert(pending(&b, 3, 2)).unwrap();
        pool.insert(pending(&a, 5, 3)).unwrap();
        pool.insert(pending(&a, 6, 4)).unwrap();
        assert_eq!(pool.oldest_arrival_ms(), Some(1));
        let first = pool.cut(2);
        let order: Vec<(PublicKey, u64)> = first
            .iter()
            .map(|p| (p.tx.tx.signer, p.tx.tx.nonce))
            .collect();
        assert_eq!(order, vec![(a.public(), 5), (b.public(), 3)]);
        let rest: Vec<u64> = pool.cut(10).iter().map(|p| p.tx.tx.nonce).collect();
        assert_eq!(rest, vec![6, 7]);
        assert!(pool.is_empty());
        assert_eq!(pool.oldest_arrival_ms(), None);
    }

    #[test]
    fn drain_returns_everything_and_forgets_proposed_hashes() {
        let a = Keypair::from_label("a");
        let mut pool = Mempool::new(10);
        let proposed = pending(&a, 1, 0);
        pool.insert(proposed.clone()).unwrap();
        pool.cut(1);
        pool.insert(pending(&a, 2, 1)).unwrap();
        let drained = pool.drain();
        assert_eq!(drained.len(), 1);
        assert!(!pool.knows(&proposed.hash));
        assert!(pool.is_empty());
    }
}
