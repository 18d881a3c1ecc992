//! The replica's side of backfilling: which blocks below its head it lacks, and storing
//! checked blocks it is given. (Fetching them is IO: [`crate::backfill`].)
//!
//! Installing a snapshot moves the head without the blocks before it: those heights
//! become a [`MissingRange`], with the hash its highest block must have (the snapshot's
//! head). The ranges are a meta record of the store ([`MISSING_META_KEY`]), written in
//! the same batch as the snapshot install and as every backfill write, so a restart
//! resumes where the backfill was. A store made before the record existed is scanned once
//! when opened.
//!
//! A backfill hands over blocks highest first ([`CheckedSegment`]); they are stored only
//! if they hang from a range's top (their anchor is that range's) and, when they reach
//! the bottom of the range, link to the block below it.

use serde::{Deserialize, Serialize};

use crate::backfill::check::{Anchor, CheckedSegment};
use crate::backfill::receipts;
use crate::core::block::{Block, BlockHash};
use crate::core::ledger::Head;
use crate::io::store::{Store, StoreError, WriteSet};

use super::{Replica, ReplicaError, StoredReceipt};

/// The store's meta record of the missing block ranges (postcard `Vec<MissingRange>`).
pub const MISSING_META_KEY: &str = "missing_blocks";

/// Blocks read at a time when a store without the record is scanned for gaps.
const SCAN_CHUNK: u64 = 256;

/// Heights `low..=high` are not stored; block `high` must hash to `high_hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingRange {
    pub low: u64,
    pub high: u64,
    pub high_hash: BlockHash,
}

impl MissingRange {
    /// How many blocks the range lacks.
    pub fn count(&self) -> u64 {
        self.high - self.low + 1
    }

    /// What the blocks filling this range hang from.
    pub fn anchor(&self) -> Anchor {
        Anchor {
            height: self.high,
            hash: self.high_hash,
            low: self.low,
        }
    }
}

/// Why checked blocks were not stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackfillRefusal {
    /// Nothing is missing at the blocks' height any more (stored meanwhile, or a
    /// snapshot moved the range): ask again what is missing.
    #[error("no missing range hangs from block {height} with that hash")]
    NotWanted { height: u64 },
    /// The lowest block does not link to the stored block below the range.
    #[error(
        "block {height} does not link to the stored block {below} (it names {named}, which hashes to {stored})"
    )]
    BrokenLink {
        height: u64,
        below: u64,
        named: String,
        stored: String,
    },
}

/// What a stored backfill leaves to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackfillProgress {
    /// Blocks stored by this write.
    pub stored: u64,
    /// Blocks still missing, in all ranges.
    pub missing: u64,
}

/// The ranges as stored in a write.
pub(super) fn missing_meta(ranges: &[MissingRange]) -> (String, Vec<u8>) {
    (
        MISSING_META_KEY.to_string(),
        postcard::to_stdvec(ranges).expect("encoding into a Vec cannot fail"),
    )
}

/// The missing ranges of `store`, whose chain's head is `head`: from its record, or (a
/// store made before the record) by scanning its blocks; and whether the record must be
/// written.
pub(super) fn load_missing(
    store: &Store,
    head: &Head,
) -> Result<(Vec<MissingRange>, bool), ReplicaError> {
    if let Some(bytes) = store.meta(MISSING_META_KEY)? {
        let ranges = postcard::from_bytes(&bytes).map_err(|e| {
            ReplicaError::Store(StoreError::Invalid(format!(
                "the record of missing blocks is undecodable: {e}"
            )))
        })?;
        return Ok((ranges, false));
    }
    Ok((scan_missing(store, head)?, true))
}

/// Finds the heights below `head` without a stored block, reading every block once.
fn scan_missing(store: &Store, head: &Head) -> Result<Vec<MissingRange>, ReplicaError> {
    let mut gaps = Vec::new();
    let mut next = 1;
    while next <= head.height {
        let to = head.height.min(next + SCAN_CHUNK - 1);
        for (height, _) in store.blocks(next, to)? {
            if height > next {
                gaps.push((next, height - 1));
            }
            next = height + 1;
        }
        if next <= to {
            gaps.push((next, to));
            next = to + 1;
        }
    }
    // Merge gaps split by the chunks, then anchor each to the block above it.
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (low, high) in gaps {
        match merged.last_mut() {
            Some(last) if last.1 + 1 == low => last.1 = high,
            _ => merged.push((low, high)),
        }
    }
    let mut ranges = Vec::new();
    for (low, high) in merged.into_iter().rev() {
        let high_hash = if high == head.height {
            head.hash
        } else {
            match decode_block(store, high + 1)? {
                Some(block) => block.header.prev_hash,
                None => continue,
            }
        };
        ranges.push(MissingRange {
            low,
            high,
            high_hash,
        });
    }
    Ok(ranges)
}

fn decode_block(store: &Store, height: u64) -> Result<Option<Block>, ReplicaError> {
    Ok(store
        .block(height)?
        .and_then(|bytes| postcard::from_bytes(&bytes).ok()))
}

impl Replica {
    /// Block ranges below the head this node does not hold, highest first: what its
    /// backfill fetches.
    pub fn missing_blocks(&self) -> &[MissingRange] {
        &self.missing
    }

    /// Blocks still missing below the head, in all ranges.
    pub fn missing_block_count(&self) -> u64 {
        self.missing.iter().map(MissingRange::count).sum()
    }

    /// A snapshot moved the head from `old` to `new`: the blocks between are missing.
    pub(super) fn note_snapshot_gap(&mut self, old: &Head, new: &Head, write: &mut WriteSet) {
        if new.height <= old.height {
            return;
        }
        self.missing.insert(
            0,
            MissingRange {
                low: old.height + 1,
                high: new.height,
                high_hash: new.hash,
            },
        );
        write.meta.push(missing_meta(&self.missing));
        tracing::info!(
            from = old.height + 1,
            to = new.height,
            "blocks before the installed snapshot are missing: backfilling them from peers"
        );
    }

    /// Stores blocks the backfill fetched and checked (handed out as a write: tell the
    /// fetcher after the runner performed it), if they still fill the top of a
    /// missing range; see the [module docs](self). An error is fatal (the store failed).
    pub fn handle_backfill(
        &mut self,
        segment: CheckedSegment,
    ) -> Result<Result<BackfillProgress, BackfillRefusal>, ReplicaError> {
        let anchor = segment.anchor();
        let Some(position) = self
            .missing
            .iter()
            .position(|range| range.anchor() == anchor)
        else {
            return Ok(Err(BackfillRefusal::NotWanted {
                height: anchor.height,
            }));
        };
        let range = self.missing[position];
        let low = segment.low();
        if low == range.low && range.low > 1 {
            let below = range.low - 1;
            let stored = decode_block(self.store(), below)?.map(|b| b.hash());
            if stored != Some(segment.below_hash()) {
                return Ok(Err(BackfillRefusal::BrokenLink {
                    height: low,
                    below,
                    named: segment.below_hash().to_hex(),
                    stored: stored.map_or("nothing".into(), |h| h.to_hex()),
                }));
            }
        }
        let below_hash = segment.below_hash();
        let blocks = segment.into_blocks();
        let stored = blocks.len() as u64;
        let mut write = WriteSet::default();
        self.write_receipts(&blocks, &mut write)?;
        for full in &blocks {
            write.blocks.push((
                full.block.header.height,
                postcard::to_stdvec(&full.block).expect("encoding into a Vec cannot fail"),
            ));
        }
        if low == range.low {
            self.missing.remove(position);
        } else {
            self.missing[position] = MissingRange {
                low: range.low,
                high: low - 1,
                high_hash: below_hash,
            };
        }
        write.meta.push(missing_meta(&self.missing));
        self.hand_out(write, super::write::Then::Stored)?;
        let missing = self.missing_block_count();
        Ok(Ok(BackfillProgress { stored, missing }))
    }

    /// The receipts of backfilled `blocks` (highest first): each under its position when
    /// [`receipts::kept_by_position`], and under its transaction's hash unless another
    /// copy of the transaction, stored or in these blocks, keeps that key.
    fn write_receipts(
        &self,
        blocks: &[crate::backfill::check::FullBlock],
        write: &mut WriteSet,
    ) -> Result<(), ReplicaError> {
        let mut winners: rustc_hash::FxHashMap<[u8; 32], StoredReceipt> = Default::default();
        for full in blocks {
            let height = full.block.header.height;
            for (index, receipt) in full.receipts.iter().enumerate() {
                let stored = StoredReceipt {
                    height,
                    index: index as u32,
                    receipt: receipt.clone(),
                };
                if receipts::kept_by_position(&receipt.outcome) {
                    write.receipts.push((
                        receipts::position_key(height, index as u32),
                        postcard::to_stdvec(&stored).expect("encoding into a Vec cannot fail"),
                    ));
                }
                let key = receipt.tx.0;
                let existing = match winners.get(&key) {
                    Some(existing) => Some(existing.clone()),
                    None => self
                        .store()
                        .receipt(&key)?
                        .and_then(|bytes| postcard::from_bytes::<StoredReceipt>(&bytes).ok()),
                };
                if existing.is_none_or(|existing| receipts::replaces(&existing, &stored)) {
                    winners.insert(key, stored);
                }
            }
        }
        for (key, stored) in winners {
            write.receipts.push((
                key,
                postcard::to_stdvec(&stored).expect("encoding into a Vec cannot fail"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backfill::check::{FullBlock, check_segment};
    use crate::core::exchange::receipt::Outcome;
    use crate::core::exchange::reject::Rejection;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::ledger::{Batch, Ledger};
    use crate::core::tx::{Tx, TxBody};
    use crate::replica::ReplicaConfig;
    use crate::replica::write::write_through;

    /// Four blocks; block 3 repeats block 2's transaction (a stale-nonce copy).
    fn four_blocks(game: &crate::core::genesis::sample::SampleGame) -> (Ledger, Vec<FullBlock>) {
        let chain = game.genesis.chain_id();
        let mut ledger = Ledger::new(&game.genesis).unwrap();
        let trader = &game.traders[0];
        let tx = |nonce| {
            Tx {
                signer: trader.public(),
                nonce,
                body: TxBody::CancelAll { symbol: None },
            }
            .sign(trader, &chain)
        };
        let batches = [vec![tx(1)], vec![tx(2)], vec![tx(2), tx(3)], vec![tx(4)]];
        let mut blocks = Vec::new();
        for (at, txs) in batches.into_iter().enumerate() {
            let applied = ledger.apply_batch(Batch {
                proposer: 1,
                timestamp_ms: 1_000 + at as u64,
                txs,
            });
            blocks.push(FullBlock {
                block: applied.block,
                receipts: applied.receipts,
            });
        }
        (ledger, blocks)
    }

    fn down(blocks: &[FullBlock], low: u64, high: u64) -> Vec<FullBlock> {
        blocks[low as usize - 1..high as usize]
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    #[test]
    fn backfilled_blocks_are_stored_from_the_top_resume_after_a_restart_and_serve_whole() {
        let game = sample_game(&SampleOptions::default());
        let chain = game.genesis.chain_id();
        let dir = tempfile::tempdir().unwrap();
        let (ledger, blocks) = four_blocks(&game);
        assert!(matches!(
            blocks[2].receipts[0].outcome,
            Outcome::Rejected(Rejection::StaleNonce { .. })
        ));
        let mut replica = Replica::open(ReplicaConfig::new(1), &game.genesis, dir.path()).unwrap();
        write_through(&mut replica);
        assert!(replica.missing_blocks().is_empty());
        // As if a snapshot at block 4 was installed on an empty chain.
        let mut write = WriteSet::default();
        let genesis_head = replica.ledger().head().clone();
        replica.note_snapshot_gap(&genesis_head, ledger.head(), &mut write);
        replica.driver.store_mut().commit(write).unwrap();
        let range = replica.missing_blocks()[0];
        assert_eq!((range.low, range.high, range.count()), (1, 4, 4));

        // Blocks hanging from anything but the range's top are not wanted.
        let mut elsewhere = range.anchor();
        elsewhere.height = 3;
        elsewhere.hash = blocks[2].block.hash();
        let segment = check_segment(&chain, elsewhere, down(&blocks, 2, 3)).unwrap();
        assert_eq!(
            replica.handle_backfill(segment).unwrap(),
            Err(BackfillRefusal::NotWanted { height: 3 })
        );
        let segment = check_segment(&chain, range.anchor(), down(&blocks, 3, 4)).unwrap();
        let progress = replica.handle_backfill(segment).unwrap().unwrap();
        write_through(&mut replica);
        assert_eq!(
            progress,
            BackfillProgress {
                stored: 2,
                missing: 2
            }
        );

        // A restart resumes with what is left.
        drop(replica);
        let mut replica = Replica::open(ReplicaConfig::new(1), &game.genesis, dir.path()).unwrap();
        write_through(&mut replica);
        let left = replica.missing_blocks().to_vec();
        assert_eq!(
            left,
            vec![MissingRange {
                low: 1,
                high: 2,
                high_hash: blocks[1].block.hash()
            }]
        );
        let segment = check_segment(&chain, left[0].anchor(), down(&blocks, 1, 2)).unwrap();
        let progress = replica.handle_backfill(segment).unwrap().unwrap();
        write_through(&mut replica);
        assert_eq!(
            progress,
            BackfillProgress {
                stored: 2,
                missing: 0
            }
        );
        assert_eq!(replica.status().missing_blocks, 0);

        // Every block is stored and gives all its receipts, the stale copy's included;
        // the transaction's own receipt is its first copy's.
        let store = replica.store();
        for full in &blocks {
            let height = full.block.header.height;
            assert_eq!(replica.block(height).unwrap().as_ref(), Some(&full.block));
            let served = receipts::block_receipts(&full.block, |key| {
                postcard::from_bytes(&store.receipt(key).ok()??).ok()
            });
            assert_eq!(served.as_ref(), Some(&full.receipts), "block {height}");
        }
        let repeated = blocks[1].block.txs[0].hash();
        let kept = replica.receipt(&repeated).unwrap().unwrap();
        assert_eq!((kept.height, kept.index), (2, 0));
    }
}
