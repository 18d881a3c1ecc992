//! Settling a transaction whose outcome is in doubt: written on a connection that was
//! lost (or whose node did not answer in time) before its receipt came back.
//!
//! A transaction is applied at most once: it carries its signer's nonce, a node refuses
//! one whose nonce the game has passed, and a second copy that reaches a block anyway is
//! rejected there as stale without replacing the first copy's receipt. So the identical
//! signed transaction may be sent again, to the node the program moved to (a successor
//! session sends every transaction left in flight first thing, see
//! [`Session::reconnect`]), and its outcome settled:
//!
//! - its receipt (from the copy sent again, or looked up by hash): accepted, or rejected
//!   by the exchange;
//! - or a definite "not applied": the game's last nonce from this key has passed the
//!   transaction's, and (asked after that, on the same node, which holds every block)
//!   the node holds no receipt for it. This is the one settle rule
//!   ([`crate::failover::settlement`], asked by [`Transport::look_up`]).
//!
//! Only when neither turns up within [`SETTLE_WAIT`] (or the session's timeout, if
//! shorter) is the outcome unknown.

use std::sync::Arc;
use std::time::Duration;

use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::{SignedTx, TxBody, TxHash};
use qraft_node::net::proto::CommittedView;

use super::link::{Link, Linked};
use super::{Session, Transport, Unanswered};
use crate::failover::{SETTLE_RETRY_EVERY, SETTLE_WAIT, Settlement};

/// What settling found.
pub enum Settled<S> {
    /// Its receipt, found on `on`; `body` is the transaction's, if it was sent from here.
    Applied {
        committed: CommittedView,
        body: Option<TxBody>,
        on: Arc<S>,
    },
    /// It was not applied and never will be.
    NotApplied,
    /// Neither turned up within `waited`: `first_node` is where it was in flight, `last`
    /// the last thing learnt.
    Unknown {
        first_node: String,
        last: String,
        waited: Duration,
    },
}

/// What one round of settling on one connection found.
#[derive(Debug)]
pub enum Round {
    /// Its receipt, or "not applied".
    Settled(Settlement<CommittedView>),
    /// Nothing definite yet: why.
    NotYet(String),
}

/// The outcome of transaction `hash`, in doubt on `since`: settled on that connection
/// if it still serves, else on the ones after it, for at most [`SETTLE_WAIT`] (or the
/// session's timeout, if shorter). It is no longer in flight afterwards, whatever the
/// outcome: nothing sends it again. `why`: why it is in doubt (the last thing learnt,
/// until a round learns more).
pub async fn settle<S: Linked>(
    link: &Link<S>,
    since: Arc<S>,
    hash: TxHash,
    why: String,
) -> Settled<S> {
    let session = since.session();
    let signed = session.unanswered(&hash);
    // No longer in flight once settled, or given up (this future dropped).
    let _flying = session.flying(hash);
    let wait = SETTLE_WAIT.min(session.timeout());
    let deadline = tokio::time::Instant::now() + wait;
    let first_node = session.node_name();
    let mut last = why;
    let mut current = since.clone();
    loop {
        let ctx = if link.is_lost(&current) {
            match tokio::time::timeout_at(deadline, link.after(&current)).await {
                Ok(Ok(next)) => next,
                Ok(Err(down)) => {
                    if let Some(down) = down {
                        last = S::why_down(&down);
                    }
                    break;
                }
                Err(_) => break,
            }
        } else {
            current.clone()
        };
        let round = ctx.session().round(&hash, signed.as_ref());
        match tokio::time::timeout_at(deadline, round).await {
            Ok(Round::Settled(settlement)) => {
                return match settlement {
                    Settlement::Applied(committed) => Settled::Applied {
                        committed,
                        body: signed.map(|s| s.tx.body),
                        on: ctx,
                    },
                    Settlement::NotApplied | Settlement::Unsettled => Settled::NotApplied,
                };
            }
            Ok(Round::NotYet(why)) => last = why,
            Err(_) => break,
        }
        let closed = ctx.session().transport().is_closed();
        current = ctx;
        if !closed {
            if tokio::time::Instant::now() + SETTLE_RETRY_EVERY >= deadline {
                break;
            }
            tokio::time::sleep(SETTLE_RETRY_EVERY).await;
        }
    }
    Settled::Unknown {
        first_node,
        last,
        waited: wait,
    }
}

impl<T: Transport> Session<T> {
    /// One round of settling transaction `hash` on this connection: the receipt of the
    /// copy sent again on reconnecting, else the one settle rule, else the transaction
    /// (`signed`, if it was sent from here) sent again.
    pub async fn round(&self, hash: &TxHash, signed: Option<&SignedTx>) -> Round {
        if let Some(pending) = self.take_resent(hash)
            && let Some(committed) = from_copy(pending.await)
        {
            return Round::Settled(Settlement::Applied(committed));
        }
        let Some(signed) = signed else {
            // Not sent from here: only its receipt can tell.
            return match self.transport.committed(*hash).await {
                Ok(Some(committed)) => Round::Settled(Settlement::Applied(committed)),
                Ok(None) => {
                    Round::NotYet(format!("{} has no receipt for it yet", self.node_name()))
                }
                Err(err) => Round::NotYet(err.to_string()),
            };
        };
        match self
            .transport
            .look_up(*hash, self.key(), signed.tx.nonce)
            .await
        {
            Ok(Settlement::Unsettled) => {}
            Ok(settled) => return Round::Settled(settled),
            Err(err) => return Round::NotYet(err.to_string()),
        }
        let answer = match self.transport.send(signed).await {
            Ok(pending) => pending.await,
            Err(err) => Err(err),
        };
        match from_copy(answer) {
            Some(committed) => Round::Settled(Settlement::Applied(committed)),
            None => Round::NotYet(format!(
                "{} has no receipt for it yet; it was sent again",
                self.node_name()
            )),
        }
    }
}

/// The receipt, if definite, of a copy of the transaction sent again. A copy refused
/// (its nonce passed, a duplicate of one waiting, no leader) or rejected as stale says
/// nothing of the first copy: the lookup settles those.
fn from_copy<E>(answer: Result<CommittedView, Unanswered<E>>) -> Option<CommittedView> {
    let committed = answer.ok()?;
    let stale = matches!(
        committed.receipt.outcome,
        Outcome::Rejected(Rejection::StaleNonce { .. })
    );
    (!stale).then_some(committed)
}
