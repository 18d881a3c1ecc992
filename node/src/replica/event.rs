//! What a replica tells the world: applied blocks, refusals, role changes.

use std::sync::Arc;

use crate::api::{Refusal, Role};
use crate::core::ledger::AppliedBlock;
use crate::core::tx::TxHash;
use crate::core::types::NodeId;

#[derive(Clone, Debug)]
pub enum ReplicaEvent {
    /// A block was applied: its transactions, receipts and trades.
    Applied(Arc<AppliedBlock>),
    /// A submission from one of this node's clients was not taken.
    Refused { hash: TxHash, refusal: Refusal },
    /// This node's role or the leader it knows changed.
    RoleChanged {
        role: Role,
        leader: Option<NodeId>,
        term: u64,
    },
    /// The node's state was replaced by a snapshot from the leader.
    SnapshotInstalled { height: u64, index: u64 },
    /// The cluster's membership changed.
    MembershipChanged {
        voters: Vec<NodeId>,
        learners: Vec<NodeId>,
    },
}
