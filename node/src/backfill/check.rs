//! The checks a backfilled block passes before it is stored. Pure: hashes and
//! signatures, no IO.
//!
//! Blocks arrive highest first, hanging from an [`Anchor`]: the hash the highest block
//! must have (the head of the snapshot this node installed, or the `prev_hash` of the
//! lowest block it already holds above the gap). Each block must then be:
//! - at the expected height, and hash to the expected hash (the anchor, then each block's
//!   `prev_hash` names the hash of the block below it);
//! - whole: as many transactions as `tx_count`, their Merkle root `tx_root`;
//! - with its receipts: one per transaction, for that transaction, their Merkle root
//!   `receipts_root`;
//! - signed as its receipts say: every signature good, except where the receipt is a
//!   bad-signature rejection (bad there) or a too-large one (not checked when applied).
//!   `tx_root` covers transaction hashes, which leave out the signature: this check
//!   pins the signatures, so a replay of the stored chain (`qraft verify`) reproduces
//!   the receipts;
//! - block 1: its `prev_hash` is the chain id.
//!
//! The state digest in each header can only be checked by replaying from genesis (the
//! audit does); the hash chain from a trusted head already pins it.

use qraft_keys::ChainId;
use qraft_keys::signing::{BatchItem, verify_batch};
use serde::{Deserialize, Serialize};

use crate::core::block::{Block, BlockHash, genesis_prev_hash};
use crate::core::exchange::receipt::{Outcome, Receipt};
use crate::core::exchange::reject::Rejection;
use crate::core::hash::merkle_root;

/// A block with every receipt, in block order: what one node gives another to backfill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullBlock {
    pub block: Block,
    pub receipts: Vec<Receipt>,
}

/// What the blocks of a backfill hang from: block `height` must hash to `hash`, and no
/// block below `low` is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub height: u64,
    pub hash: BlockHash,
    pub low: u64,
}

/// Blocks that passed [`check_segment`], highest first. Only that function makes one.
#[derive(Debug)]
pub struct CheckedSegment {
    anchor: Anchor,
    blocks: Vec<FullBlock>,
}

impl CheckedSegment {
    /// The anchor the blocks were checked against.
    pub fn anchor(&self) -> Anchor {
        self.anchor
    }

    /// The blocks, highest first.
    pub fn blocks(&self) -> &[FullBlock] {
        &self.blocks
    }

    /// The lowest block's height.
    pub fn low(&self) -> u64 {
        self.anchor.height + 1 - self.blocks.len() as u64
    }

    /// The hash the block below the lowest one must have.
    pub fn below_hash(&self) -> BlockHash {
        self.blocks
            .last()
            .expect("a checked segment has a block")
            .block
            .header
            .prev_hash
    }

    pub fn into_blocks(self) -> Vec<FullBlock> {
        self.blocks
    }
}

/// Why backfilled blocks were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("no blocks")]
    Empty,
    #[error("{given} blocks from height {height} reach below the lowest one wanted, {low}")]
    TooMany { height: u64, given: usize, low: u64 },
    #[error("block {height}: {what}")]
    Block { height: u64, what: String },
}

/// Checks `blocks` (highest first) against `anchor` and `chain`; see the
/// [module docs](self). All or nothing: one bad block refuses them all.
pub fn check_segment(
    chain: &ChainId,
    anchor: Anchor,
    blocks: Vec<FullBlock>,
) -> Result<CheckedSegment, CheckError> {
    if blocks.is_empty() {
        return Err(CheckError::Empty);
    }
    let count = blocks.len() as u64;
    if anchor.height < anchor.low || count > anchor.height - anchor.low + 1 {
        return Err(CheckError::TooMany {
            height: anchor.height,
            given: blocks.len(),
            low: anchor.low,
        });
    }
    let mut expected_hash = anchor.hash;
    for (offset, full) in blocks.iter().enumerate() {
        let height = anchor.height - offset as u64;
        let bad = |what: String| CheckError::Block { height, what };
        let header = &full.block.header;
        if header.height != height {
            return Err(bad(format!("it says it is block {}", header.height)));
        }
        let hash = header.hash();
        if hash != expected_hash {
            return Err(bad(format!(
                "it hashes to {}, not to the {} the chain above it names",
                hash.short(8),
                expected_hash.short(8)
            )));
        }
        check_contents(chain, full).map_err(bad)?;
        if height == 1 && header.prev_hash != genesis_prev_hash(chain) {
            return Err(bad("its previous hash is not the chain id".into()));
        }
        expected_hash = header.prev_hash;
    }
    Ok(CheckedSegment { anchor, blocks })
}

/// The block's transactions, receipts and signatures against its header.
fn check_contents(chain: &ChainId, full: &FullBlock) -> Result<(), String> {
    let FullBlock { block, receipts } = full;
    let header = &block.header;
    if block.txs.len() != header.tx_count as usize {
        return Err(format!(
            "it holds {} transactions, its header says {}",
            block.txs.len(),
            header.tx_count
        ));
    }
    if Block::compute_tx_root(&block.txs) != header.tx_root {
        return Err("its transactions do not match its transaction root".into());
    }
    if receipts.len() != block.txs.len() {
        return Err(format!(
            "{} receipts for {} transactions",
            receipts.len(),
            block.txs.len()
        ));
    }
    for (index, (tx, receipt)) in block.txs.iter().zip(receipts).enumerate() {
        if receipt.tx != tx.hash() {
            return Err(format!("receipt {index} is for another transaction"));
        }
    }
    let receipt_hashes: Vec<_> = receipts.iter().map(Receipt::hash).collect();
    if merkle_root(&receipt_hashes) != header.receipts_root {
        return Err("its receipts do not match its receipts root".into());
    }
    check_signatures(chain, full)
}

/// Every signature is as its receipt says: good, unless a bad-signature rejection (then
/// bad); too-large transactions were never checked.
fn check_signatures(chain: &ChainId, full: &FullBlock) -> Result<(), String> {
    let mut checked = Vec::new();
    let mut keys = Vec::new();
    let mut messages = Vec::new();
    for (index, (tx, receipt)) in full.block.txs.iter().zip(&full.receipts).enumerate() {
        let expect_good = match &receipt.outcome {
            Outcome::Rejected(Rejection::TooLarge { .. }) => continue,
            Outcome::Rejected(Rejection::BadSignature) => false,
            _ => true,
        };
        match tx.tx.signer.verifying_key() {
            Ok(key) => {
                checked.push((index, expect_good));
                keys.push(key);
                messages.push(tx.signing_message(chain));
            }
            // A key that does not decode verifies nothing.
            Err(_) if !expect_good => {}
            Err(_) => return Err(format!("transaction {index} has a signer that is no key")),
        }
    }
    let items: Vec<BatchItem<'_>> = checked
        .iter()
        .zip(&keys)
        .zip(&messages)
        .map(|((&(index, _), key), message)| BatchItem {
            key,
            message,
            signature: &full.block.txs[index].signature,
        })
        .collect();
    for ((index, expect_good), good) in checked.iter().zip(verify_batch(&items)) {
        if good != *expect_good {
            return Err(format!(
                "the signature of transaction {index} is {} but its receipt says otherwise",
                if good { "good" } else { "bad" }
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::hash::Hash32;
    use crate::core::ledger::{Batch, Ledger};
    use crate::core::tx::{NewOrder, OrderKind, Tx, TxBody};
    use crate::core::types::Side;

    /// Five blocks of two crossing orders each, as full blocks (lowest first), and the
    /// chain id.
    fn chain() -> (ChainId, Vec<FullBlock>) {
        let game = sample_game(&SampleOptions::default());
        let chain = game.genesis.chain_id();
        let mut ledger = Ledger::new(&game.genesis).unwrap();
        let mut blocks = Vec::new();
        for height in 1..=5u64 {
            let txs = [(0, Side::Buy), (1, Side::Sell)]
                .into_iter()
                .map(|(trader, side)| {
                    let key = &game.traders[trader];
                    Tx {
                        signer: key.public(),
                        nonce: height,
                        body: TxBody::Order(NewOrder {
                            symbol: game.genesis.symbols[0].ticker,
                            side,
                            quantity: 5,
                            kind: OrderKind::Limit { price: 1_000 },
                        }),
                    }
                    .sign(key, &chain)
                })
                .collect();
            let applied = ledger.apply_batch(Batch {
                proposer: 1,
                timestamp_ms: 1_000 * height,
                txs,
            });
            blocks.push(FullBlock {
                block: applied.block,
                receipts: applied.receipts,
            });
        }
        (chain, blocks)
    }

    fn anchor_at(blocks: &[FullBlock], height: u64, low: u64) -> Anchor {
        Anchor {
            height,
            hash: blocks[height as usize - 1].block.hash(),
            low,
        }
    }

    /// Blocks `low..=high` of `blocks`, highest first.
    fn down(blocks: &[FullBlock], low: u64, high: u64) -> Vec<FullBlock> {
        blocks[low as usize - 1..high as usize]
            .iter()
            .rev()
            .cloned()
            .collect()
    }

    #[test]
    fn an_intact_chain_passes_down_to_block_one() {
        let (chain, blocks) = chain();
        let segment = check_segment(&chain, anchor_at(&blocks, 5, 1), down(&blocks, 3, 5)).unwrap();
        assert_eq!(segment.low(), 3);
        assert_eq!(segment.below_hash(), blocks[1].block.hash());
        let rest = Anchor {
            height: 2,
            hash: segment.below_hash(),
            low: 1,
        };
        check_segment(&chain, rest, down(&blocks, 1, 2)).unwrap();
    }

    #[test]
    fn a_forged_block_is_refused() {
        let (chain, blocks) = chain();
        let anchor = anchor_at(&blocks, 5, 1);
        // A transaction swapped for another: its root no longer matches.
        let mut forged = down(&blocks, 3, 5);
        forged[1].block.txs[0] = blocks[0].block.txs[0].clone();
        let err = check_segment(&chain, anchor, forged).unwrap_err();
        assert!(
            err.to_string().starts_with("block 4: its transactions"),
            "{err}"
        );
        // A header made to match a forged transaction no longer hashes to the chain.
        let mut forged = down(&blocks, 3, 5);
        forged[1].block.txs[0] = blocks[0].block.txs[0].clone();
        forged[1].block.header.tx_root = Block::compute_tx_root(&forged[1].block.txs);
        let err = check_segment(&chain, anchor, forged).unwrap_err();
        assert!(
            err.to_string().starts_with("block 4: it hashes to"),
            "{err}"
        );
        // A signature changed (the transaction hash leaves it out): refused too.
        let mut forged = down(&blocks, 3, 5);
        forged[2].block.txs[1].signature = forged[2].block.txs[0].signature;
        let err = check_segment(&chain, anchor, forged).unwrap_err();
        assert!(
            err.to_string()
                .contains("signature of transaction 1 is bad"),
            "{err}"
        );
        // A block at another height than the chain says.
        let err = check_segment(&chain, anchor, down(&blocks, 2, 4)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 5: it says it is block 4"),
            "{err}"
        );
    }

    #[test]
    fn a_wrong_receipt_is_refused() {
        let (chain, blocks) = chain();
        let anchor = anchor_at(&blocks, 5, 1);
        let mut wrong = down(&blocks, 4, 5);
        wrong[0].receipts[1].outcome = Outcome::Rejected(Rejection::MarketClosed);
        let err = check_segment(&chain, anchor, wrong).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block 5: its receipts do not match its receipts root"
        );
        let mut swapped = down(&blocks, 4, 5);
        swapped[1].receipts.swap(0, 1);
        let err = check_segment(&chain, anchor, swapped).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block 4: receipt 0 is for another transaction"
        );
        let mut missing = down(&blocks, 4, 5);
        missing[0].receipts.pop();
        assert!(check_segment(&chain, anchor, missing).is_err());
    }

    #[test]
    fn a_broken_prev_hash_is_refused() {
        let (chain, blocks) = chain();
        // Block 4 re-linked to a made-up block 3: it no longer hashes to what 5 names.
        let mut broken = down(&blocks, 3, 5);
        broken[1].block.header.prev_hash = Hash32([7; 32]);
        let err = check_segment(&chain, anchor_at(&blocks, 5, 1), broken).unwrap_err();
        assert!(
            err.to_string().starts_with("block 4: it hashes to"),
            "{err}"
        );
        // The same block as the top of a segment (its own hash the anchor): block 3
        // below does not hash to its prev_hash.
        let mut broken = down(&blocks, 3, 4);
        broken[0].block.header.prev_hash = Hash32([7; 32]);
        let anchor = Anchor {
            height: 4,
            hash: broken[0].block.hash(),
            low: 1,
        };
        let err = check_segment(&chain, anchor, broken).unwrap_err();
        assert!(
            err.to_string().starts_with("block 3: it hashes to"),
            "{err}"
        );
        // Block 1 must point at the chain id.
        let other = ChainId([9; 32]);
        let err = check_segment(&other, anchor_at(&blocks, 1, 1), down(&blocks, 1, 1)).unwrap_err();
        assert!(err.to_string().starts_with("block 1:"), "{err}");
        // Nothing below the lowest block wanted, and something.
        let err = check_segment(&chain, anchor_at(&blocks, 5, 4), down(&blocks, 3, 5)).unwrap_err();
        assert!(matches!(err, CheckError::TooMany { .. }), "{err}");
        assert_eq!(
            check_segment(&chain, anchor_at(&blocks, 5, 4), Vec::new()).unwrap_err(),
            CheckError::Empty
        );
    }
}
