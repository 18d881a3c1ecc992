//! Why the node has no answer. [`NodeStopped`] is the one way "the node stopped" is said:
//! every in-process error carries it ([`SubmitError::Stopped`], [`QueryError::Stopped`],
//! [`MembershipError::Stopped`]; the node thread's inbox only says it closed), and the
//! wire's `Stopped` variants
//! ([`SubmitFailure::Stopped`](crate::net::proto::SubmitFailure::Stopped),
//! [`ProtocolError::Stopped`](crate::net::proto::ProtocolError::Stopped), unit variants
//! whose place in their enum is their wire tag) are made from it and print its message.

use std::time::Duration;

use crate::core::tx::TxHash;
use crate::core::types::NodeId;

use super::types::Refusal;

/// The node has stopped: its thread ended (shut down, a fatal error, a panic), so it
/// takes nothing more and answers nothing more. Restarting the node (recovery is from its
/// data directory) is the only way on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, thiserror::Error)]
#[error("the node has stopped")]
pub struct NodeStopped;

/// Why a submission has no receipt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Not taken, so never applied; `refusal.is_retryable()` says whether to retry.
    #[error("{0}")]
    Refused(Refusal),
    /// No answer in time. The transaction may still be applied: look up its receipt by
    /// hash before resubmitting (a resubmission with the same nonce is refused as stale
    /// once the first is applied, so it is never applied twice).
    #[error("no answer within {waited:?}: the outcome is unknown; look up the receipt of {hash}")]
    Timeout { hash: TxHash, waited: Duration },
    /// The node stopped before answering: the transaction may or may not have been
    /// applied (look its receipt up on another node).
    #[error(transparent)]
    Stopped(#[from] NodeStopped),
}

/// Why a query has no answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The node is too busy to take the query now (its client inbox is full, or as many
    /// store reads as it allows are running): ask again later.
    #[error("the node is busy; try again shortly")]
    Busy,
    #[error(transparent)]
    Stopped(#[from] NodeStopped),
}

/// Why a membership change was not proposed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("only the leader can do that; the leader is {leader:?}")]
    NotLeader { leader: Option<NodeId> },
    /// Raft did not take the change (another is still pending, or it is not valid for
    /// the current membership): why, for a person to read.
    #[error("the membership change was not taken: {0}")]
    Refused(String),
    #[error(transparent)]
    Stopped(#[from] NodeStopped),
}
