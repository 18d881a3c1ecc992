//! Blocks: what every node derives from one committed batch of transactions.
//!
//! A block's height and previous hash are assigned when its batch is applied, from the
//! committed order, so a leader change can never fork the chain. The header commits to
//! the transactions (`tx_root`), to their receipts (`receipts_root`) and to the exchange
//! state after them (`state_digest`).

use qraft_keys::ChainId;
use serde::{Deserialize, Serialize};

use super::hash::{Hash32, merkle_root};
use super::tx::SignedTx;
use super::types::NodeId;

pub type BlockHash = Hash32;

/// A block header. Its hash is the block's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// 1 for the first block after genesis.
    pub height: u64,
    /// The previous block's hash; for height 1, the chain id.
    pub prev_hash: BlockHash,
    /// Milliseconds since the Unix epoch, chosen by the proposing leader and carried in the
    /// batch (never read from a local clock at apply time).
    pub timestamp_ms: u64,
    /// The Raft id of the leader that proposed the batch.
    pub proposer: NodeId,
    pub tx_count: u32,
    /// Merkle root of the transactions' hashes, in block order.
    pub tx_root: Hash32,
    /// Merkle root of the receipts' hashes, in block order.
    pub receipts_root: Hash32,
    /// The exchange state digest after applying this block.
    pub state_digest: Hash32,
}

impl BlockHeader {
    pub fn hash(&self) -> BlockHash {
        Hash32::of(
            "qraft/block-header",
            &postcard::to_stdvec(self).expect("encoding into a Vec cannot fail"),
        )
    }
}

/// The hash that the first block points back to: the chain id itself.
pub fn genesis_prev_hash(chain: &ChainId) -> BlockHash {
    Hash32(chain.0)
}

/// A header with its transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<SignedTx>,
}

impl Block {
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The Merkle root of these transactions, to compare with `header.tx_root`.
    pub fn compute_tx_root(txs: &[SignedTx]) -> Hash32 {
        let hashes: Vec<Hash32> = txs.iter().map(SignedTx::hash).collect();
        merkle_root(&hashes)
    }
}
