//! The live block feed.

use std::collections::{BTreeMap, VecDeque};

use qraft_node::core::types::NodeId;

/// How many blocks the feed keeps.
pub const BLOCKS_LEN: usize = 200;

/// One committed block as the feed shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockLine {
    pub height: u64,
    pub timestamp_ms: u64,
    pub tx_count: u32,
    /// Hex prefix of the block's hash.
    pub hash: String,
    pub proposer: NodeId,
    /// How many of its transactions are mine.
    pub mine: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChainState {
    /// Newest first.
    pub blocks: VecDeque<BlockLine>,
    /// Submit-to-commit times of my transactions, in ms, by block height.
    pub my_latency: BTreeMap<u64, Vec<u64>>,
}

impl ChainState {
    pub fn head(&self) -> Option<&BlockLine> {
        self.blocks.front()
    }

    /// Adds a block (ignoring one already shown), keeping newest first.
    pub fn push(&mut self, line: BlockLine) {
        if self.blocks.iter().any(|b| b.height == line.height) {
            return;
        }
        let at = self
            .blocks
            .iter()
            .position(|b| b.height < line.height)
            .unwrap_or(self.blocks.len());
        self.blocks.insert(at, line);
        self.blocks.truncate(BLOCKS_LEN);
    }

    pub fn record_latency(&mut self, height: u64, ms: u64) {
        self.my_latency.entry(height).or_default().push(ms);
        while self.my_latency.len() > BLOCKS_LEN {
            self.my_latency.pop_first();
        }
    }
}
