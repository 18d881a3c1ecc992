//! Each participant's share of the requests that cost a node real work: reading blocks
//! and receipts from the store and encoding them. A token bucket per key, counted in
//! records read (a receipt or a block is one, a page of blocks one per block), shared by
//! all that key's connections to this node, so one student looping `blocks` queries over
//! every connection a key may hold gets the same share as a student with one.
//!
//! Submissions have a share of their own: a key may have at most [`MAX_KEY_INFLIGHT`]
//! pipelined transactions waiting for their outcome on this node, across all its
//! connections and pipelines ([`RequestBudget::inflight`]), so one key cannot fill the
//! node thread's client inbox. Cheap requests (status, book, account) are bounded by the
//! key's connections and streams.

use std::sync::{Arc, Mutex, PoisonError};

use qraft_keys::PublicKey;
use rustc_hash::FxHashMap;
use tokio::sync::Semaphore;
use tokio::time::{Duration, Instant};

/// Records (blocks, receipts) a key may read at once after a quiet spell: enough for
/// `qraft blocks --follow` to catch up 2,000 blocks, or an audit script to check 2,000
/// receipts, without waiting.
pub const READ_BURST: u64 = 2_000;
/// Records a key may read per second, sustained: far more than a dashboard, a bot or a
/// catching-up follower needs, and a few hundred times less than a loop of `blocks`
/// queries takes from a node when nothing holds it back.
pub const READ_PER_SECOND: u64 = 1_000;

/// Reads one block of a `FullBlocks` request costs: the block, and its receipts at a
/// hundred to a read (a full batch of 2,000 transactions has 2,000 receipts, each a
/// lookup of its own). Charged per block asked for, before reading.
pub const FULL_BLOCK_READS: u64 = 20;

/// How long a request past its key's budget waits for its refusal, holding its stream:
/// with 32 streams per connection and 8 connections per key, a key asking in a loop gets
/// at most 256 refusals a second from a node, not as many as it can send.
pub const OVER_BUDGET_PAUSE: Duration = Duration::from_secs(1);

/// Pipelined transactions one key may have waiting for their outcomes on a node: a
/// sixteenth of the node thread's client inbox (`io::inbox::CLIENT_QUEUE`, 16,384), the
/// same share a signer has of the leader's mempool, and four full pipelines' worth.
pub const MAX_KEY_INFLIGHT: usize = 1_024;

/// Thousandths of a request, so the refill needs no fractions.
const MILLI: u64 = 1_000;

/// The budgets of every key that asked, cheap to clone (clones share them). Bounded by
/// the keys the allowlist admits.
#[derive(Clone, Default)]
pub struct RequestBudget {
    buckets: Arc<Mutex<FxHashMap<PublicKey, Bucket>>>,
    inflight: Arc<Mutex<FxHashMap<PublicKey, Arc<Semaphore>>>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    /// Thousandths of a request left.
    milli: u64,
    updated: Instant,
}

impl RequestBudget {
    pub fn new() -> RequestBudget {
        RequestBudget::default()
    }

    /// The permits for `key`'s pipelined transactions on this node: hold one from reading
    /// a transaction until its outcome is written.
    pub fn inflight(&self, key: &PublicKey) -> Arc<Semaphore> {
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        inflight
            .entry(*key)
            .or_insert_with(|| Arc::new(Semaphore::new(MAX_KEY_INFLIGHT)))
            .clone()
    }

    /// Takes `reads` records from `key`'s budget now; false (taking nothing) when they
    /// are not all there. A request for more than [`READ_BURST`] is taken as that many.
    pub fn try_take(&self, key: &PublicKey, reads: u64) -> bool {
        self.try_take_at(key, reads, Instant::now())
    }

    fn try_take_at(&self, key: &PublicKey, reads: u64, now: Instant) -> bool {
        let cost = reads.clamp(1, READ_BURST) * MILLI;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(*key).or_insert(Bucket {
            milli: READ_BURST * MILLI,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated);
        let refill = refill_milli(elapsed);
        bucket.milli = (bucket.milli + refill).min(READ_BURST * MILLI);
        bucket.updated = now;
        if bucket.milli < cost {
            return false;
        }
        bucket.milli -= cost;
        true
    }
}

/// Thousandths of a request earned in `elapsed`.
fn refill_milli(elapsed: Duration) -> u64 {
    let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    ms.saturating_mul(READ_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_keys::Keypair;

    #[test]
    fn a_burst_then_the_sustained_rate_each_key_on_its_own() {
        let budget = RequestBudget::new();
        let (greedy, other) = (
            Keypair::from_label("budget/greedy").public(),
            Keypair::from_label("budget/other").public(),
        );
        let start = Instant::now();
        // Pages of 100 blocks: the burst holds twenty.
        for _ in 0..READ_BURST / 100 {
            assert!(budget.try_take_at(&greedy, 100, start));
        }
        assert!(
            !budget.try_take_at(&greedy, 100, start),
            "the burst is spent"
        );
        assert!(!budget.try_take_at(&greedy, 1, start), "even one receipt");
        assert!(
            budget.try_take_at(&other, 100, start),
            "another key has its own"
        );
        // A tenth of a second later, one more page (at 1,000 records a second).
        let later = start + Duration::from_millis(100);
        assert!(budget.try_take_at(&greedy, 100, later));
        assert!(!budget.try_take_at(&greedy, 1, later));
        // A long quiet spell fills the bucket to the burst, no more.
        let much_later = later + Duration::from_secs(3_600);
        let taken = (0..2 * READ_BURST)
            .filter(|_| budget.try_take_at(&greedy, 1, much_later))
            .count() as u64;
        assert_eq!(taken, READ_BURST);
        // An oversized ask costs a full burst, never more.
        let next_hour = much_later + Duration::from_secs(3_600);
        assert!(budget.try_take_at(&greedy, u64::MAX, next_hour));
        assert!(!budget.try_take_at(&greedy, 1, next_hour));
    }

    #[test]
    fn clones_share_the_budgets() {
        let budget = RequestBudget::new();
        let key = Keypair::from_label("budget/shared").public();
        let clone = budget.clone();
        let now = Instant::now();
        assert!(clone.try_take_at(&key, READ_BURST, now));
        assert!(!budget.try_take_at(&key, 1, now));
    }

    #[test]
    fn a_key_shares_one_inflight_budget_across_its_pipelines() {
        let budget = RequestBudget::new();
        let key = Keypair::from_label("budget/inflight").public();
        let one = budget.inflight(&key);
        let two = budget.clone().inflight(&key);
        let held: Vec<_> = (0..MAX_KEY_INFLIGHT)
            .map(|_| one.clone().try_acquire_owned().unwrap())
            .collect();
        assert!(two.clone().try_acquire_owned().is_err(), "the same budget");
        let other = budget.inflight(&Keypair::from_label("budget/else").public());
        assert!(other.try_acquire_owned().is_ok());
        drop(held);
        assert!(two.try_acquire_owned().is_ok());
    }
}
