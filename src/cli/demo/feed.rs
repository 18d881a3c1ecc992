//! The headless demo's output: a line per block on stdout.
//!
//! ```text
//! block 42  17 txs  5 trades  a3f9c2e1
//! ```

use std::io::Write;

use qraft_node::api::NodeEvent;
use qraft_node::core::ledger::AppliedBlock;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// Why the feed ended.
#[derive(Debug, PartialEq, Eq)]
pub enum FeedEnd {
    /// Nobody reads stdout any more (a closed pipe).
    OutputClosed,
    /// The node's events ended: it stopped.
    NodeStopped,
}

/// Prints a line per block the node applies, until stdout or the node goes away.
pub async fn print_blocks(mut events: Receiver<NodeEvent>) -> FeedEnd {
    loop {
        match events.recv().await {
            Ok(NodeEvent::Block(block)) => {
                let mut out = std::io::stdout().lock();
                if writeln!(out, "{}", block_line(&block))
                    .and_then(|()| out.flush())
                    .is_err()
                {
                    return FeedEnd::OutputClosed;
                }
            }
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                eprintln!("note: the block feed fell behind and skipped {missed} events");
            }
            Err(RecvError::Closed) => return FeedEnd::NodeStopped,
        }
    }
}

/// `block 42  17 txs  5 trades  a3f9c2e1`: height, transactions, trades, hash prefix.
pub fn block_line(block: &AppliedBlock) -> String {
    let header = &block.block.header;
    let hash = block.block.hash().to_hex();
    format!(
        "block {}  {}  {}  {}",
        header.height,
        counted(u64::from(header.tx_count), "tx", "txs"),
        counted(block.trades.len() as u64, "trade", "trades"),
        hash.get(..8).unwrap_or(&hash),
    )
}

fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(counted(0, "tx", "txs"), "0 txs");
        assert_eq!(counted(1, "trade", "trades"), "1 trade");
        assert_eq!(counted(17, "tx", "txs"), "17 txs");
    }
}
