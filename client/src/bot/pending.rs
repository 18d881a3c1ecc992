//! Transactions in flight: [`Pending`] handles, each a transaction written now on the
//! bot's session ([`Session::write`](crate::session::Session::write)) and finished when
//! awaited ([`Session::finish`](crate::session::Session::finish)).
//!
//! Finishing applies the one retry policy ([`crate::retry`]): a refusal for a passing
//! reason (busy, no leader, leader changed) means the transaction was not applied and
//! never will be, so it is signed again with a fresh nonce and resent, after a growing
//! pause, up to the bot's retry limit; a nonce refused as stale or in use (another
//! program sending with the same key) makes the session learn the game's last nonce and
//! resend once. The fresh nonce puts the resent transaction *behind* everything the bot
//! sent meanwhile: see [`Pending`]. An answer lost with its node is settled by the one
//! settle path ([`settle`]): its receipt, or [`BotError::NotApplied`].

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use qraft_node::core::exchange::receipt::{Effect, OrderResult, Outcome};
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::TxHash;
use qraft_node::core::types::{OrderId, Shares};
use qraft_node::net::client::ClientError;
use qraft_node::net::proto::CommittedView;

use super::BotError;
use super::lane::{BotSession, Lane, MAX_AGAIN, submit_error};
use crate::session::{Sent, Settled, SubmitError, settle};

/// A transaction in flight and, once awaited, what it did: `T` is what the call that
/// sent it returns ([`OrderResult`] for an order, the cancelled orders for a cancel,
/// the [`Effect`] for [`Bot::send`](super::Bot::send)).
///
/// Await it with [`Pending::wait`] (or `.await` it directly: it is
/// [`IntoFuture`]). Handles are independent of each other and of the bot: they can be
/// awaited in any order, together (`tokio::join!`, or spawned tasks), or dropped.
/// Dropping one does not cancel its transaction, which may still be applied; it is no
/// longer in flight (a new node after a failure does not get it again).
///
/// **Order.** Transactions are applied in the order they were sent, except after a
/// retry: a transaction the node refused for a passing reason is signed again with a
/// fresh nonce and sent again *when its handle is awaited*, so it lands behind
/// everything sent before the retry. Where order matters (a cancel before the quote
/// that replaces it), do not rely on it under load: cancel orders by id rather than
/// all at once, or await the first before sending the second.
#[must_use = "a pending transaction is not retried unless awaited"]
pub struct Pending<T> {
    lane: Arc<Lane>,
    /// The session it was written on.
    session: Arc<BotSession>,
    sent: Sent<ClientError>,
    retries: u32,
    finish: fn(Result<Effect, BotError>) -> Result<T, BotError>,
}

/// Any transaction in flight: [`Bot::send`](super::Bot::send).
pub type PendingTx = Pending<Effect>;
/// An order in flight: [`Bot::place`](super::Bot::place) and friends.
pub type PendingOrder = Pending<OrderResult>;
/// A cancel-all in flight: the orders cancelled, (order, shares still open) each.
pub type PendingCancel = Pending<Vec<(OrderId, Shares)>>;

impl<T> Pending<T> {
    pub(crate) fn new(
        lane: Arc<Lane>,
        (session, sent): (Arc<BotSession>, Sent<ClientError>),
        retries: u32,
        finish: fn(Result<Effect, BotError>) -> Result<T, BotError>,
    ) -> Pending<T> {
        Pending {
            lane,
            session,
            sent,
            retries,
            finish,
        }
    }

    /// The transaction's hash as sent. A retry signs it again, so the applied one can
    /// have another: [`Pending::wait_committed`] returns its receipt, which names it.
    pub fn hash(&self) -> TxHash {
        self.sent.hash()
    }

    /// The transaction's nonce as sent (a retry signs it with a fresh one).
    pub fn nonce(&self) -> u64 {
        self.sent.nonce()
    }

    /// What the transaction did once applied; a rejection is [`BotError::Rejected`].
    pub async fn wait(self) -> Result<T, BotError> {
        let finish = self.finish;
        finish(self.wait_committed().await.and_then(effect))
    }

    /// The transaction's receipt once applied, with the block it is in, whether it
    /// was accepted or rejected.
    ///
    /// Finished on the session it was written on ([`Session::finish`](crate::session::Session::finish));
    /// an answer in doubt is settled ([`settle`]); a resend whose connection was lost
    /// before it was written is written on the next.
    pub async fn wait_committed(self) -> Result<CommittedView, BotError> {
        let Pending {
            lane,
            mut session,
            mut sent,
            retries,
            ..
        } = self;
        let body = sent.tx().tx.body.clone();
        let mut again = 0;
        loop {
            let err = match session.finish(sent, retries, &|_| {}).await {
                Ok(committed) => return Ok(committed),
                Err(err) => err,
            };
            if let Some(tx) = err.in_doubt() {
                tracing::info!(%tx, "answer lost; settling the transaction");
                let why = submit_error(err).to_string();
                return match settle(lane.link(), session, tx, why).await {
                    Settled::Applied { committed, .. } => Ok(committed),
                    Settled::NotApplied => Err(BotError::NotApplied(tx)),
                    Settled::Unknown { .. } => Err(BotError::Unanswered(tx)),
                };
            }
            match err {
                SubmitError::NotSent(_) if again < MAX_AGAIN && lane.link().is_lost(&session) => {
                    again += 1;
                    (session, sent) = lane.write(&body).await?;
                }
                err => return Err(submit_error(err)),
            }
        }
    }
}

impl<T: Send + 'static> IntoFuture for Pending<T> {
    type Output = Result<T, BotError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T, BotError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

impl<T> std::fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("hash", &self.sent.hash())
            .field("nonce", &self.sent.nonce())
            .finish_non_exhaustive()
    }
}

/// An applied transaction's effect, or its rejection.
fn effect(committed: CommittedView) -> Result<Effect, BotError> {
    match committed.receipt.outcome {
        Outcome::Accepted(effect) => Ok(effect),
        Outcome::Rejected(rejection) => Err(BotError::Rejected(rejection)),
    }
}

// --- What each kind of call makes of an effect -------------------------------------------

pub(crate) fn as_effect(effect: Result<Effect, BotError>) -> Result<Effect, BotError> {
    effect
}

pub(crate) fn as_order(effect: Result<Effect, BotError>) -> Result<OrderResult, BotError> {
    match effect? {
        Effect::Order(result) => Ok(result),
        other => Err(BotError::Unexpected(format!("{other:?}"))),
    }
}

/// One order cancelled: the shares that were still open.
pub(crate) fn as_cancelled_shares(effect: Result<Effect, BotError>) -> Result<Shares, BotError> {
    Ok(as_cancelled(effect)?.iter().map(|(_, shares)| shares).sum())
}

pub(crate) fn as_cancelled(
    effect: Result<Effect, BotError>,
) -> Result<Vec<(OrderId, Shares)>, BotError> {
    match effect? {
        Effect::Cancelled(cancelled) => Ok(cancelled),
        other => Err(BotError::Unexpected(format!("{other:?}"))),
    }
}

/// A cancel-all: having nothing to cancel is not an error.
pub(crate) fn as_cancelled_all(
    effect: Result<Effect, BotError>,
) -> Result<Vec<(OrderId, Shares)>, BotError> {
    match effect {
        Err(BotError::Rejected(Rejection::NothingToCancel(_))) => Ok(Vec::new()),
        other => as_cancelled(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_and_their_waits_can_move_between_tasks() {
        fn is_send<T: Send + 'static>(_: &T) {}
        let _check = |pending: PendingOrder| {
            is_send(&pending);
            is_send(&pending.wait());
        };
    }

    #[test]
    fn cancel_all_with_nothing_to_cancel_is_empty() {
        let nothing = Err(BotError::Rejected(Rejection::NothingToCancel(None)));
        assert_eq!(as_cancelled_all(nothing).unwrap(), Vec::new());
        let one = Ok(Effect::Cancelled(vec![(7, 3)]));
        assert_eq!(as_cancelled_all(one).unwrap(), vec![(7, 3)]);
        let shares = Ok(Effect::Cancelled(vec![(7, 3), (8, 2)]));
        assert_eq!(as_cancelled_shares(shares).unwrap(), 5);
        assert!(matches!(
            as_order(Ok(Effect::Admin)),
            Err(BotError::Unexpected(_))
        ));
    }
}
