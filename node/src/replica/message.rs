//! What nodes say to each other, and why a submission can be refused before it is
//! ordered.

use serde::{Deserialize, Serialize};

use crate::core::tx::{SignedTx, TxHash};
use crate::raft::wire::WireMessage;

/// One message between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// Raft's own traffic, in our postcard mirror of its protobuf types.
    Raft(Box<WireMessage>),
    /// Transactions a follower's clients submitted, for the leader's mempool. The leader
    /// checks them again: it trusts no one's signature checks but its own.
    Forward(Vec<SignedTx>),
    /// The leader's answer for forwarded transactions it did not take.
    Refused(Vec<(TxHash, Refusal)>),
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
}

impl Refusal {
    /// Whether resubmitting the same transaction later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Refusal::Busy { .. } | Refusal::NoLeader | Refusal::LeaderChanged
        )
    }
}
