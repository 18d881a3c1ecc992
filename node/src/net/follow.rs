//! Keeps a networked node's allowlist and peer addresses in step with the ledger.
//!
//! The genesis seeds both; the admin's transactions grow them: a participant added by
//! `AddParticipant` may connect as a client, and a node registered by `AddNode` may
//! connect as a peer and is dialled at its registered address (unless this node's
//! configuration overrides that address). Both hold for blocks applied now, before a
//! restart, or inside a snapshot installed from the leader.

use rustc_hash::FxHashMap;

use crate::api::{Handle, NodeEvent};
use crate::core::genesis::NodeSpec;
use crate::core::tx::{AdminAction, TxBody};
use crate::core::types::NodeId;

use super::peer::PeerTransport;
use super::tls::Allowlist;

/// What the follower updates.
pub(super) struct Follower {
    pub handle: Handle,
    pub allow: Allowlist,
    pub transport: PeerTransport,
    /// This node's own id (it does not dial itself).
    pub me: NodeId,
    /// Addresses from the node's configuration, which win over registered ones.
    pub overrides: FxHashMap<NodeId, String>,
}

impl Follower {
    /// Runs until the node stops.
    pub async fn run(self) {
        let mut events = self.handle.subscribe();
        self.admit_everyone_in_the_ledger().await;
        loop {
            match events.recv().await {
                Ok(NodeEvent::Block(block)) => {
                    for (tx, receipt) in block.block.txs.iter().zip(&block.receipts) {
                        if !receipt.is_accepted() {
                            continue;
                        }
                        match &tx.tx.body {
                            TxBody::Admin(AdminAction::AddParticipant(spec)) => {
                                self.allow.allow_participant(spec.key);
                                tracing::info!(participant = %spec.name, "may connect from now on");
                            }
                            TxBody::Admin(AdminAction::AddNode(spec)) => {
                                self.admit_node(spec);
                                tracing::info!(node = spec.id, name = %spec.name, address = %spec.address, "registered node may connect from now on");
                            }
                            _ => {}
                        }
                    }
                }
                // A snapshot replaced the state wholesale; missed events may hide changes.
                Ok(NodeEvent::SnapshotInstalled { .. })
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    self.admit_everyone_in_the_ledger().await;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    fn admit_node(&self, spec: &NodeSpec) {
        self.allow.allow_node(spec.id, spec.key);
        if spec.id != self.me && !self.overrides.contains_key(&spec.id) {
            self.transport.set_address(spec.id, spec.address.clone());
        }
    }

    /// Admits every participant and node the ledger knows.
    async fn admit_everyone_in_the_ledger(&self) {
        let known = self
            .handle
            .query(|r| {
                let exchange = r.ledger().exchange();
                (
                    exchange.participant_keys().copied().collect::<Vec<_>>(),
                    exchange.nodes().to_vec(),
                )
            })
            .await;
        let Ok((participants, nodes)) = known else {
            return;
        };
        for key in participants {
            self.allow.allow_participant(key);
        }
        for node in &nodes {
            self.admit_node(node);
        }
    }
}
