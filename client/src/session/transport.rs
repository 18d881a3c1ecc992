//! What a [`Session`](super::Session) needs of a connection to one node, written once for
//! both ways of reaching a node: over QUIC ([`Quic`](super::Quic), the CLI, sessions,
//! bots) and in the same process ([`Handle`](qraft_node::api::Handle), the dashboard of
//! `qraft run` and `qraft demo`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use qraft_keys::PublicKey;
use qraft_node::api::Refusal;
use qraft_node::core::tx::{SignedTx, TxHash};
use qraft_node::net::proto::CommittedView;

use crate::failover::Settlement;

/// A boxed future that can move between tasks.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How one submission on a node ended without a receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unanswered<E> {
    /// The node refused it: it was not applied and will not be.
    Refused(Refusal),
    /// The node gave up waiting for it to be applied: it may still be.
    NodeTimedOut(TxHash),
    /// The node stopped before answering: it may have been applied.
    Stopped,
    /// The connection failed after the transaction may have been written: it may have
    /// been applied.
    InDoubt(E),
    /// The transaction was never written: nothing happened.
    NotSent(E),
}

/// The receipt of one transaction written on the ordered pipeline, to await.
pub type PendingAnswer<E> = BoxFuture<Result<CommittedView, Unanswered<E>>>;

/// One connection to one node of the game, as a participant with one key.
///
/// Every method is one exchange with the node; the [`Session`](super::Session) adds the
/// policies (nonces, retries, settling, failover).
pub trait Transport: Send + Sync + 'static {
    /// What goes wrong on the connection.
    type Error: fmt::Display + fmt::Debug + Send + Sync + 'static;

    /// The node, as `host:port` (what [`crate::failover::reconnect_order`] orders).
    fn address(&self) -> String;

    /// Whether the connection is closed: nothing sent on it from now on is answered.
    fn is_closed(&self) -> bool;

    /// Resolves when the connection is lost (closed, or the node silent), with why; the
    /// connection is closed by then.
    fn lost(&self) -> impl Future<Output = String> + Send;

    /// Closes the connection at once: everything waiting on it fails now.
    fn abandon(&self, why: &str);

    /// Writes `tx` on the ordered pipeline, after every transaction written before it;
    /// its receipt comes later.
    fn send(
        &self,
        tx: &SignedTx,
    ) -> impl Future<Output = Result<PendingAnswer<Self::Error>, Unanswered<Self::Error>>> + Send;

    /// The last nonce the game applied from `key` (0: none), or `None` if `key` is not a
    /// participant.
    fn last_nonce(
        &self,
        key: PublicKey,
    ) -> impl Future<Output = Result<Option<u64>, Self::Error>> + Send;

    /// Transaction `hash`'s receipt with its block, if this node holds it.
    fn committed(
        &self,
        hash: TxHash,
    ) -> impl Future<Output = Result<Option<CommittedView>, Self::Error>> + Send;

    /// One look at transaction `hash` of `key`'s, signed with `nonce`, by the one settle
    /// rule ([`crate::failover::settlement`]): whether the node holds every block and the
    /// key's last nonce first, then the receipt.
    fn look_up(
        &self,
        hash: TxHash,
        key: PublicKey,
        nonce: u64,
    ) -> impl Future<Output = Result<Settlement<CommittedView>, Self::Error>> + Send;
}

/// Opens connections of type `T` to the nodes of a game, for a
/// [`Session`](super::Session) that lost its own.
pub trait Dial<T>: Send + Sync + 'static {
    /// Connects to the first of `nodes` (in order) that answers.
    fn dial(&self, nodes: Vec<String>) -> BoxFuture<Result<T, DialError>>;
}

/// Why a connection could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialError {
    /// The game refused this key (every node will): why.
    Refused(String),
    /// No node answered: why.
    Unreachable(String),
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Refused(why) | DialError::Unreachable(why) => f.write_str(why),
        }
    }
}
