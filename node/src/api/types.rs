//! What the node shows its clients: the answers [`Handle`](super::Handle) gives, and why
//! a submission is refused. The replica, the network protocol and every client crate name
//! these types from here.

use serde::{Deserialize, Serialize};

use crate::core::block::BlockHash;
use crate::core::exchange::receipt::Receipt;
use crate::core::exchange::views::SymbolView;
use crate::core::hash::Hash32;
use crate::core::types::{NodeId, Session};

/// A transaction was ordered and applied on this node: where, and what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub height: u64,
    pub block_hash: BlockHash,
    /// The transaction's position in its block.
    pub index: u32,
    pub receipt: Receipt,
}

/// A receipt as stored, with where its transaction landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReceipt {
    pub height: u64,
    pub index: u32,
    pub receipt: Receipt,
}

/// Why a submission was not taken. None of these transactions were ordered, so none will
/// be applied: the client may fix and resubmit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("the node is busy: {capacity} transactions are already waiting; retry shortly")]
    Busy { capacity: usize },
    #[error("this transaction is already waiting to be ordered")]
    Duplicate,
    #[error("another transaction with nonce {nonce} from you is already waiting")]
    NonceInUse { nonce: u64 },
    #[error(
        "the signature does not match: the transaction was changed after signing, signed with another key, or signed for another game"
    )]
    BadSignature,
    #[error("this key is not a participant in this game")]
    UnknownSigner,
    #[error("nonce {nonce} is not above your last used nonce {last}: a replay or out of date")]
    StaleNonce { nonce: u64, last: u64 },
    #[error("no leader is known (an election is under way or too few nodes are reachable)")]
    NoLeader,
    #[error("the leader changed before this transaction was ordered; resubmit it")]
    LeaderChanged,
    #[error("the transaction is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("this participant is suspended: the game's admin must reinstate them first")]
    Suspended,
    #[error(
        "busy: {waiting} of your transactions are already waiting to be ordered, your share of this node; retry shortly"
    )]
    OverShare { waiting: usize },
}

impl Refusal {
    /// Whether resubmitting the same transaction later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Refusal::Busy { .. }
                | Refusal::OverShare { .. }
                | Refusal::NoLeader
                | Refusal::LeaderChanged
        )
    }
}

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

/// A snapshot of a node's consensus and chain state ([`Handle::status`](super::Handle::status)).
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

/// A membership change, proposed by the leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    AddLearner(NodeId),
    /// Make a learner a voter.
    Promote(NodeId),
    Remove(NodeId),
}

/// Where a node id stands in the game's node registry
/// ([`Handle::node_registration`](super::Handle::node_registration)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registration {
    /// No node with this id is registered (the genesis names the nodes, and the admin
    /// registers more).
    Unregistered,
    /// Registered and not removed: it may join.
    Registered,
    /// Registered, then removed by the admin: its id is not used again.
    Removed,
}

/// The market as a whole ([`Handle::market`](super::Handle::market)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketView {
    pub symbols: Vec<SymbolView>,
    pub session: Session,
    pub game_over: bool,
}

/// What settling a transaction needs, nonce first, then receipt
/// ([`Handle::settle_facts`](super::Handle::settle_facts)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettleFacts {
    /// Whether the node holds every block (one still backfilling may lack a receipt).
    pub whole_chain: bool,
    /// The signer's last applied nonce (0: none).
    pub last_nonce: u64,
    pub receipt: Option<StoredReceipt>,
}

/// Where a node's Raft log starts, and the snapshot it holds
/// ([`Handle::log_bounds`](super::Handle::log_bounds)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBounds {
    /// The first index still in the log (what is before it is in the snapshot).
    pub first_index: u64,
    /// The log index of the latest snapshot this node made or installed, if any.
    pub snapshot_index: Option<u64>,
}
