//! The one client of a game: [`Session`], what a participant's program does to trade,
//! over QUIC ([`Quic`]) or in the same process ([`Handle`](qraft_node::api::Handle)).
//!
//! A session holds one key and one connection (a [`Transport`]) and carries the
//! policies every client shares:
//!
//! - signing with the key's next nonce ([`Signer`], by the one nonce policy
//!   [`crate::nonce::NonceClock`]), learnt from the game once per connection
//!   ([`Session::sync_nonce`]);
//! - submitting on the ordered pipeline, each transaction in its [`Turn`] (an ordering
//!   token passed as a value), and retrying by the one retry policy
//!   ([`crate::retry::decide`]): [`Session::submit`], which is [`Session::write`]
//!   (sign and write now, a [`Sent`] back) then [`Session::finish`] (the answer, the
//!   retries), for a program that keeps many in flight;
//! - keeping what it wrote and has no answer for (shared with its successors, and
//!   given up when its [`Sent`] is dropped unfinished), so that a successor on another
//!   node sends it again ([`Session::reconnect`], ordered by
//!   [`crate::failover::reconnect_order`] and spread by key);
//! - settling a transaction in doubt by the one settle rule ([`settle`], over
//!   [`crate::failover::settlement`]): its receipt, or "not applied".
//!
//! [`Link`] keeps a long-lived program's session up: it watches the node, replaces a lost
//! connection and hands the new one to every command and subscription. [`Follow`] is a
//! subscription on a link's session that goes on from the next session when its node is
//! lost ([`Followed::Moved`]).
//!
//! - `transport.rs`: [`Transport`], [`Dial`], [`Unanswered`];
//! - `quic.rs`: [`Quic`], [`QuicDial`]; `local.rs`: the [`Transport`] of a [`Handle`];
//! - `submit.rs`: [`Session::write`], [`Session::finish`], [`Session::submit`], [`Sent`];
//! - `sequence.rs`: [`Sequencer`], [`Turn`];
//! - `link.rs`: [`Link`], [`Linked`]; `settle.rs`: [`settle`], [`Settled`];
//! - `follow.rs`: [`Follow`], [`Followed`], [`Policy`], [`Subscribe`], [`Events`].
//!
//! [`Handle`]: qraft_node::api::Handle

mod follow;
mod link;
mod local;
mod quic;
mod sequence;
mod settle;
mod submit;
#[cfg(test)]
mod tests;
mod transport;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use qraft_keys::{Keypair, PublicKey};
use qraft_node::api::Refusal;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::{SignedTx, TxBody, TxHash};

use crate::failover::{RECONNECT_PAUSE, next_reconnect_pause, reconnect_order, reconnect_spread};
use crate::signer::Signer;

pub use follow::{Events, Follow, FollowError, Followed, Policy, Subscribe, SubscribeError};
pub use link::{Link, Linked};
pub use quic::{Quic, QuicDial, unanswered};
pub use sequence::{Sequencer, Turn};
pub use settle::{Round, Settled, settle};
use submit::Flights;
pub use submit::Sent;
pub use transport::{BoxFuture, Dial, DialError, PendingAnswer, Transport, Unanswered};

/// Why a transaction submitted has no receipt. In doubt ([`SubmitError::in_doubt`]): it
/// may still be applied, and [`settle`] finds out.
#[derive(Debug)]
pub enum SubmitError<E> {
    /// The node refused it, finally or after the retries: not applied.
    Refused { tx: TxHash, refusal: Refusal },
    /// No answer within the session's timeout: in doubt.
    NoAnswer { tx: TxHash, waited: Duration },
    /// The connection failed after it may have been written: in doubt.
    InDoubt { tx: TxHash, error: E },
    /// The node gave up waiting for it to be applied: in doubt.
    NodeTimedOut { tx: TxHash },
    /// The node stopped before answering: in doubt.
    Stopped { tx: TxHash },
    /// It was never written: nothing happened.
    NotSent(E),
    /// Learning the key's last nonce failed: nothing was sent.
    Sync(SyncError<E>),
}

impl<E> SubmitError<E> {
    /// The transaction, if its outcome is in doubt.
    pub fn in_doubt(&self) -> Option<TxHash> {
        match self {
            SubmitError::NoAnswer { tx, .. }
            | SubmitError::InDoubt { tx, .. }
            | SubmitError::NodeTimedOut { tx }
            | SubmitError::Stopped { tx } => Some(*tx),
            _ => None,
        }
    }
}

/// Why the key's last nonce could not be learnt.
#[derive(Debug)]
pub enum SyncError<E> {
    /// The key is not a participant in this game.
    NotParticipant,
    /// The node did not answer in time.
    Silent { node: String, waited: Duration },
    /// The request failed.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for SyncError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::NotParticipant => f.write_str("this key is not a participant in this game"),
            SyncError::Silent { node, waited } => {
                write!(f, "no answer from {node} within {}s", waited.as_secs())
            }
            SyncError::Failed(err) => err.fmt(f),
        }
    }
}

/// Why no node took over from a lost connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReconnectError {
    /// The game refused this key: why.
    Refused(String),
    /// No node of the game answered in time: the last trouble seen.
    Exhausted { last_error: String },
    /// This session cannot reach another node (it has no [`Dial`]).
    Alone,
}

/// A submission's progress, for a program that shows it (or logs it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Signed, and about to be written to the node.
    Sending(TxHash),
    /// Refused for a passing reason: signed again and resent after a pause.
    Resending(Refusal),
    /// Its nonce was used already (another program with this key): learnt, resent.
    Resyncing,
}

/// What a session knows of the game it plays.
#[derive(Clone)]
pub struct Game {
    pub genesis: Arc<Genesis>,
    /// The nodes to use, in the order asked for (`--node`, or every node of the genesis).
    pub nodes: Vec<String>,
}

impl Game {
    /// Every node of `genesis`, or `nodes` if any are given.
    pub fn new(genesis: Genesis, nodes: Vec<String>) -> Game {
        let nodes = if nodes.is_empty() {
            // A node that dials out has no address to connect to.
            genesis
                .nodes()
                .filter(|n| !n.dials_out())
                .map(|n| n.address.clone())
                .collect()
        } else {
            nodes
        };
        Game {
            genesis: Arc::new(genesis),
            nodes,
        }
    }

    /// A node, for people: `node 2 (127.0.0.1:7802)`, or its address when the genesis
    /// does not name it.
    pub fn node_name(&self, address: &str) -> String {
        self.genesis
            .nodes()
            .find(|n| n.address.eq_ignore_ascii_case(address))
            .map_or_else(
                || address.to_string(),
                |n| format!("node {} ({address})", n.id),
            )
    }
}

/// One participant's session with a game, on one connection ([`Transport`]): signs,
/// submits, retries and settles. Shared by concurrent commands: every method takes
/// `&self`. A lost connection is replaced by a successor ([`Session::reconnect`]).
pub struct Session<T: Transport> {
    transport: T,
    /// The key and its nonces, shared with this session's successors.
    signer: Signer,
    game: Game,
    dial: Option<Arc<dyn Dial<T>>>,
    /// Whether this connection has learnt the game's last nonce from this key.
    nonce_synced: AtomicBool,
    timeout: Duration,
    /// Transactions written and not answered yet, shared with this session's
    /// successors: what a successor sends again. Bounded by the [`Sent`]s alive and the
    /// transactions in doubt not settled yet: each holds one.
    flight: Flights<T::Error>,
    /// Held while signing and writing, so nonces reach the node in the order they are
    /// given out.
    writing: tokio::sync::Mutex<()>,
}

fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Transport> Session<T> {
    /// A session as `keypair` in `game` on `transport`; `timeout` bounds every wait for
    /// the node. With `dial`, a lost connection can be replaced.
    pub fn new(
        transport: T,
        keypair: Keypair,
        game: Game,
        timeout: Duration,
        dial: Option<Arc<dyn Dial<T>>>,
    ) -> Session<T> {
        Session {
            transport,
            signer: Signer::new(keypair, game.genesis.chain_id()),
            game,
            dial,
            nonce_synced: AtomicBool::new(false),
            timeout,
            flight: Flights::default(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// A session on `transport` that carries on from this one: the same key, nonces,
    /// game and transactions in flight, the nonce to be learnt again.
    pub fn successor(&self, transport: T) -> Session<T> {
        Session {
            transport,
            signer: self.signer.clone(),
            game: self.game.clone(),
            dial: self.dial.clone(),
            nonce_synced: AtomicBool::new(false),
            timeout: self.timeout,
            flight: self.flight.clone(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn game(&self) -> &Game {
        &self.game
    }

    pub fn key(&self) -> PublicKey {
        self.signer.key()
    }

    pub fn keypair(&self) -> &Keypair {
        self.signer.keypair()
    }

    /// The session's signer (its nonces are the session's).
    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The connected node, for people (see [`Game::node_name`]).
    pub fn node_name(&self) -> String {
        self.game.node_name(&self.transport.address())
    }

    /// Signs `body` with the key's next nonce ([`Signer::sign`]).
    pub fn sign(&self, body: TxBody) -> SignedTx {
        self.signer.sign(body)
    }

    /// Learns that the game has seen nonce `last` from this key.
    pub fn saw_nonce(&self, last: u64) {
        self.signer.saw(last);
    }

    /// Once per connection: learns the last nonce the game has seen from this key (so a
    /// machine whose clock is behind still signs above it), and checks that the key is a
    /// participant.
    pub async fn sync_nonce(&self) -> Result<(), SyncError<T::Error>> {
        if self.nonce_synced.load(Ordering::Acquire) {
            return Ok(());
        }
        let asked = self.transport.last_nonce(self.key());
        match tokio::time::timeout(self.timeout, asked).await {
            Ok(Ok(Some(last))) => {
                self.signer.saw(last);
                self.nonce_synced.store(true, Ordering::Release);
                Ok(())
            }
            Ok(Ok(None)) => Err(SyncError::NotParticipant),
            Ok(Err(err)) => Err(SyncError::Failed(err)),
            Err(_) => Err(SyncError::Silent {
                node: self.transport.address(),
                waited: self.timeout,
            }),
        }
    }

    /// A new session after this one's connection was lost: to the other nodes first
    /// ([`reconnect_order`], spread by key), round after round with a growing pause, for
    /// at most the session's timeout. The successor learns the game's last nonce from
    /// this key, and sends again what this one left in flight, before it is handed out.
    pub async fn reconnect(&self) -> Result<Session<T>, ReconnectError> {
        let Some(dial) = &self.dial else {
            return Err(ReconnectError::Alone);
        };
        let genesis_nodes: Vec<String> = self
            .game
            .genesis
            .nodes()
            .map(|n| n.address.clone())
            .collect();
        let spread = reconnect_spread(&self.key());
        let order = reconnect_order(
            &self.game.nodes,
            &genesis_nodes,
            &self.transport.address(),
            spread,
        );
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = RECONNECT_PAUSE;
        let mut last_error = String::from("no attempt finished in time");
        loop {
            match tokio::time::timeout_at(deadline, dial.dial(order.clone())).await {
                Ok(Ok(transport)) => {
                    let next = self.successor(transport);
                    match tokio::time::timeout_at(deadline, next.sync_nonce()).await {
                        Ok(Ok(())) => {
                            let resent = next.resend_in_flight();
                            let _ = tokio::time::timeout_at(deadline, resent).await;
                            return Ok(next);
                        }
                        Ok(Err(err)) => last_error = err.to_string(),
                        Err(_) => last_error = format!("{} did not answer", next.node_name()),
                    }
                    next.transport.abandon("unusable");
                }
                Ok(Err(DialError::Refused(why))) => return Err(ReconnectError::Refused(why)),
                Ok(Err(DialError::Unreachable(why))) => last_error = why,
                Err(_) => {}
            }
            if tokio::time::Instant::now() + pause >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = next_reconnect_pause(pause);
        }
        Err(ReconnectError::Exhausted { last_error })
    }
}
