//! A snapshot of a replica's consensus and chain state, for dashboards and tests.

use serde::{Deserialize, Serialize};

use crate::core::block::BlockHash;
use crate::core::hash::Hash32;
use crate::core::types::NodeId;

/// A node's part in consensus.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
    PreCandidate,
    /// A full replica that does not vote.
    Learner,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::PreCandidate => "pre-candidate",
            Role::Learner => "learner",
        })
    }
}

/// How far a peer's log matches the leader's (known on the leader only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerProgress {
    pub id: NodeId,
    pub matched: u64,
    pub next: u64,
    /// Heard from within the last election timeout.
    pub active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub id: NodeId,
    pub role: Role,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_index: u64,
    pub height: u64,
    pub head_hash: BlockHash,
    pub state_digest: Hash32,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    /// Transactions waiting in this node's mempool (the leader's), and batches proposed
    /// but not applied.
    pub mempool: usize,
    pub inflight_batches: usize,
    /// Blocks below the head this node does not hold yet (it installed a snapshot and is
    /// backfilling them from its peers); 0 when it holds every block.
    pub missing_blocks: u64,
    pub peers: Vec<PeerProgress>,
}
