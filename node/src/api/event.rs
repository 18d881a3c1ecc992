//! Events a node publishes to its subscribers.

use std::sync::Arc;

use crate::core::exchange::receipt::Trade;
use crate::core::ledger::AppliedBlock;
use crate::core::tx::TxBody;
use crate::core::types::{NodeId, Ticker};
use crate::replica::ReplicaEvent;

use super::types::Role;

#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// A block was committed and applied: header, transactions, receipts.
    Block(Arc<AppliedBlock>),
    /// The block's trades (also in `Block`), for subscribers that want only these.
    Trades(Arc<[Trade]>),
    /// Order books that may have changed in the last block: these symbols, or every
    /// symbol when `all` (a cancel by order id or an admin action touched it).
    BookChanged {
        symbols: Vec<Ticker>,
        all: bool,
    },
    RoleChanged {
        role: Role,
        leader: Option<NodeId>,
        term: u64,
    },
    SnapshotInstalled {
        height: u64,
    },
    MembershipChanged {
        voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    },
}

impl NodeEvent {
    /// The events a replica event makes public (refusals go only to their submitter).
    pub(crate) fn from_replica(event: &ReplicaEvent) -> Vec<NodeEvent> {
        match event {
            ReplicaEvent::Applied(block) => {
                let mut events = vec![NodeEvent::Block(block.clone())];
                if !block.trades.is_empty() {
                    events.push(NodeEvent::Trades(block.trades.clone().into()));
                }
                let (symbols, all) = touched_books(block);
                if all || !symbols.is_empty() {
                    events.push(NodeEvent::BookChanged { symbols, all });
                }
                events
            }
            ReplicaEvent::Refused { .. } => Vec::new(),
            ReplicaEvent::RoleChanged { role, leader, term } => vec![NodeEvent::RoleChanged {
                role: *role,
                leader: *leader,
                term: *term,
            }],
            ReplicaEvent::SnapshotInstalled { height, .. } => {
                vec![NodeEvent::SnapshotInstalled { height: *height }]
            }
            ReplicaEvent::MembershipChanged { voters, learners } => {
                vec![NodeEvent::MembershipChanged {
                    voters: voters.clone(),
                    learners: learners.clone(),
                }]
            }
        }
    }
}

/// Symbols whose book an accepted transaction of `block` may have changed.
fn touched_books(block: &AppliedBlock) -> (Vec<Ticker>, bool) {
    let mut symbols = Vec::new();
    let mut all = false;
    for (tx, receipt) in block.block.txs.iter().zip(&block.receipts) {
        if !receipt.is_accepted() {
            continue;
        }
        match &tx.tx.body {
            TxBody::Order(order) => symbols.push(order.symbol),
            TxBody::CancelAll {
                symbol: Some(symbol),
            } => symbols.push(*symbol),
            TxBody::Cancel { .. } | TxBody::CancelAll { symbol: None } | TxBody::Admin(_) => {
                all = true
            }
        }
    }
    symbols.sort_unstable();
    symbols.dedup();
    (symbols, all)
}
