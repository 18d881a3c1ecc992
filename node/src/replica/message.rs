//! What nodes say to each other. (Why a submission can be refused before it is ordered,
//! [`Refusal`], is the client's to read: it lives in `api`.)

use serde::{Deserialize, Serialize};

use crate::api::Refusal;
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
    /// The leader's answer for forwarded transactions it did not take. Only the node the
    /// transactions were forwarded to is listened to.
    Refused(Vec<(TxHash, Refusal)>),
}

/// The most bytes of transactions in one [`PeerMessage::Forward`]: a follower splits
/// what it forwards into messages of at most this much, so a forward always fits in a
/// peer frame (`net::frame::MAX_PEER_FRAME`, 8 MiB) with room to spare, whatever the
/// size of the transactions (each at most `MAX_TX_BYTES`).
pub const MAX_FORWARD_BYTES: usize = 1 << 20;

/// The most refusals in one [`PeerMessage::Refused`]: about 100 bytes each, so a message
/// stays well under a peer frame however many forwarded transactions a leader refuses
/// at once.
pub const MAX_REFUSALS_PER_MESSAGE: usize = 10_000;

/// Splits `txs` into [`PeerMessage::Forward`] messages of at most `max_bytes` of encoded
/// transactions each (a transaction larger than `max_bytes` travels alone), in order.
pub fn forward_messages(txs: Vec<SignedTx>, max_bytes: usize) -> Vec<PeerMessage> {
    let mut messages = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for tx in txs {
        let len = encoded_len(&tx);
        if !current.is_empty() && bytes + len > max_bytes {
            messages.push(PeerMessage::Forward(std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += len;
        current.push(tx);
    }
    if !current.is_empty() {
        messages.push(PeerMessage::Forward(current));
    }
    messages
}

/// A signed transaction's encoded size in bytes.
pub fn encoded_len(tx: &SignedTx) -> usize {
    postcard::experimental::serialized_size(tx).unwrap_or(usize::MAX)
}
