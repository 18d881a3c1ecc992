//! Transactions in flight: [`Pending`] handles, and what a handle does when the node
//! sends its transaction back unapplied.
//!
//! A refusal for a passing reason (busy, no leader, leader changed) means the
//! transaction was not applied and never will be: the handle signs the same body again
//! with a fresh nonce and resends it, after a growing pause, up to the bot's retry limit.
//! A nonce refused as stale or in use (another program sending with the same key) makes
//! it learn the game's last nonce and resend once. The fresh nonce puts the resent
//! transaction *behind* everything the bot sent meanwhile: see [`Pending`].

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use qraft_node::core::exchange::receipt::{Effect, OrderResult, Outcome};
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::{TxBody, TxHash};
use qraft_node::core::types::{OrderId, Shares};
use qraft_node::net::client::{Client, ClientError, PendingReceipt};

use crate::failover::{SETTLE_RETRY_EVERY, SETTLE_WAIT, Settlement, look_up};
use qraft_node::net::proto::{CommittedView, SubmitFailure};

use super::BotError;
use super::lane::{Lane, Sent};
use crate::retry::{self, Decision, Setback, Tries, decide};

/// A transaction in flight and, once awaited, what it did: `T` is what the call that
/// sent it returns ([`OrderResult`] for an order, the cancelled orders for a cancel,
/// the [`Effect`] for [`Bot::send`](super::Bot::send)).
///
/// Await it with [`Pending::wait`] (or `.await` it directly: it is
/// [`IntoFuture`]). Handles are independent of each other and of the bot: they can be
/// awaited in any order, together (`tokio::join!`, or spawned tasks), or dropped.
/// Dropping one does not cancel its transaction, which may still be applied.
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
    body: TxBody,
    sent: Sent,
    receipt: PendingReceipt,
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
        body: TxBody,
        (sent, receipt): (Sent, PendingReceipt),
        retries: u32,
        finish: fn(Result<Effect, BotError>) -> Result<T, BotError>,
    ) -> Pending<T> {
        Pending {
            lane,
            body,
            sent,
            receipt,
            retries,
            finish,
        }
    }

    /// The transaction's hash as sent. A retry signs it again, so the applied one can
    /// have another: [`Pending::wait_committed`] returns its receipt, which names it.
    pub fn hash(&self) -> TxHash {
        self.sent.hash
    }

    /// The transaction's nonce as sent (a retry signs it with a fresh one).
    pub fn nonce(&self) -> u64 {
        self.sent.nonce
    }

    /// What the transaction did once applied; a rejection is [`BotError::Rejected`].
    pub async fn wait(self) -> Result<T, BotError> {
        let finish = self.finish;
        finish(self.wait_committed().await.and_then(effect))
    }

    /// The transaction's receipt once applied, with the block it is in, whether it
    /// was accepted or rejected.
    pub async fn wait_committed(self) -> Result<CommittedView, BotError> {
        let Pending {
            lane,
            body,
            mut sent,
            mut receipt,
            retries,
            ..
        } = self;
        let mut tries = Tries::default();
        loop {
            let answer = receipt.wait().await;
            let setback = setback(&answer);
            let decision = setback.map_or(Decision::Stop, |s| decide(s, tries, retries));
            tries = tries.after(decision);
            match decision {
                Decision::Stop => return conclude(answer, &sent, &lane).await,
                Decision::Resend { after } => {
                    let tx = sent.hash;
                    tracing::debug!(%tx, ?after, "refused for a passing reason; resending");
                    tokio::time::sleep(after).await;
                }
                Decision::Resync => {
                    let tx = sent.hash;
                    tracing::info!(%tx, "nonce out of date: learning the last one, resending");
                    lane.sync_nonce().await?;
                }
            }
            (sent, receipt) = lane.send(&body).await?;
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
            .field("hash", &self.sent.hash)
            .field("nonce", &self.sent.nonce)
            .finish_non_exhaustive()
    }
}

/// The answer that ends the wait, as the caller sees it. A broken stream, a lost node or
/// a node that gave up waiting leaves the outcome in doubt: [`settle`] finds it.
async fn conclude(
    answer: Result<CommittedView, ClientError>,
    sent: &Sent,
    lane: &Lane,
) -> Result<CommittedView, BotError> {
    match answer {
        Ok(committed) => Ok(committed),
        Err(doubt) if in_doubt(&doubt) => {
            lane.forget_pipeline(&sent.pipeline).await;
            settle(lane, sent, doubt).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Whether a failure leaves the transaction's outcome unknown: it was written, and no
/// answer came (the stream or the connection broke, the node stopped, or it waited for
/// the block longer than it would).
fn in_doubt(err: &ClientError) -> bool {
    matches!(
        err,
        ClientError::NoAnswer
            | ClientError::Connection(_)
            | ClientError::Submit(SubmitFailure::Timeout(_) | SubmitFailure::Stopped)
    )
}

/// Settles a transaction whose answer was lost (`doubt`): on the connection it was sent
/// on if that still serves, else on the one that replaced it, which sent it again (see
/// [`Lane`]), round after round for at most [`SETTLE_WAIT`]:
///
/// - the receipt of the copy sent again, unless that copy was rejected as stale (which
///   says nothing of the first);
/// - else the node's word ([`Client::look_up`]): its receipt, or "not applied" once the
///   key's last nonce has passed its nonce on a node that holds every block and no
///   receipt for it ([`settlement`](crate::failover::settlement));
/// - else it is sent again, once per connection, and looked at again.
///
/// Only if none of that turns up within the bound is it [`BotError::Unanswered`].
async fn settle(lane: &Lane, sent: &Sent, doubt: ClientError) -> Result<CommittedView, BotError> {
    let deadline = tokio::time::Instant::now() + SETTLE_WAIT;
    tracing::info!(tx = %sent.hash, %doubt, "answer lost; settling the transaction");
    let mut client = sent.client.clone();
    let mut sent_again_on: Option<Arc<Client>> = None;
    loop {
        if client.is_closed() {
            match tokio::time::timeout_at(deadline, lane.reconnect(&client)).await {
                Ok(Ok(next)) => client = next,
                Ok(Err(_)) | Err(_) => break,
            }
        }
        if let Some(resent) = lane.take_resent(&sent.hash) {
            sent_again_on = Some(client.clone());
            match tokio::time::timeout_at(deadline, resent.wait()).await {
                Ok(Ok(committed)) if !rejected_as_stale(&committed) => return Ok(committed),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let look = look_up(&client, sent.hash, sent.nonce);
        match tokio::time::timeout_at(deadline, look).await {
            Ok(Ok(Settlement::Applied(committed))) => return Ok(committed),
            Ok(Ok(Settlement::NotApplied)) => return Err(BotError::NotApplied(sent.hash)),
            Ok(Ok(Settlement::Unsettled)) => {}
            Ok(Err(err)) => tracing::debug!(%err, "looking the transaction up failed"),
            Err(_) => break,
        }
        let already = sent_again_on
            .as_ref()
            .is_some_and(|on| Arc::ptr_eq(on, &client));
        if !already && !client.is_closed() {
            sent_again_on = Some(client.clone());
            let again = client.submit(sent.tx.clone());
            match tokio::time::timeout_at(deadline, again).await {
                Ok(Ok(committed)) if !rejected_as_stale(&committed) => return Ok(committed),
                Ok(_) => {}
                Err(_) => break,
            }
            continue;
        }
        if tokio::time::Instant::now() + SETTLE_RETRY_EVERY >= deadline {
            break;
        }
        tokio::time::sleep(SETTLE_RETRY_EVERY).await;
    }
    Err(BotError::Unanswered(sent.hash))
}

/// Whether a copy was rejected as stale: then some transaction with its nonce (perhaps
/// the first copy) was applied before it, and only a lookup tells which.
fn rejected_as_stale(committed: &CommittedView) -> bool {
    matches!(
        committed.receipt.outcome,
        Outcome::Rejected(Rejection::StaleNonce { .. })
    )
}

/// An applied transaction's effect, or its rejection.
fn effect(committed: CommittedView) -> Result<Effect, BotError> {
    match committed.receipt.outcome {
        Outcome::Accepted(effect) => Ok(effect),
        Outcome::Rejected(rejection) => Err(BotError::Rejected(rejection)),
    }
}

/// Whether an answer is a setback worth sending again for. Nothing else is: a receipt
/// is final, and a timeout or broken stream leaves the outcome unknown (resending
/// could apply it twice).
pub(crate) fn setback(answer: &Result<CommittedView, ClientError>) -> Option<Setback> {
    match answer {
        Ok(committed) => retry::applied(&committed.receipt.outcome),
        Err(ClientError::Submit(SubmitFailure::Refused(refusal))) => retry::refused(refusal),
        Err(_) => None,
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
    use qraft_node::api::Refusal;
    use qraft_node::core::exchange::receipt::Receipt;
    use qraft_node::core::hash::Hash32;
    use qraft_node::net::proto::ProtocolError;

    fn refused(refusal: Refusal) -> Result<CommittedView, ClientError> {
        Err(ClientError::Submit(SubmitFailure::Refused(refusal)))
    }

    fn applied(outcome: Outcome) -> Result<CommittedView, ClientError> {
        Ok(CommittedView {
            height: 1,
            block_hash: Hash32([1; 32]),
            index: 0,
            receipt: Receipt {
                tx: Hash32([2; 32]),
                outcome,
            },
        })
    }

    #[test]
    fn passing_refusals_and_nonce_trouble_are_setbacks() {
        let passing = [
            Refusal::Busy { capacity: 2 },
            Refusal::NoLeader,
            Refusal::LeaderChanged,
        ];
        for refusal in passing {
            assert_eq!(setback(&refused(refusal)), Some(Setback::Passing));
        }
        let stale = Refusal::StaleNonce { nonce: 1, last: 2 };
        assert_eq!(setback(&refused(stale)), Some(Setback::Nonce));
        let in_use = Refusal::NonceInUse { nonce: 3 };
        assert_eq!(setback(&refused(in_use)), Some(Setback::Nonce));
        let stale_at_apply = Outcome::Rejected(Rejection::StaleNonce { nonce: 1, last: 2 });
        assert_eq!(setback(&applied(stale_at_apply)), Some(Setback::Nonce));
    }

    #[test]
    fn final_answers_and_unknown_outcomes_are_not_setbacks() {
        assert_eq!(setback(&refused(Refusal::BadSignature)), None);
        assert_eq!(setback(&refused(Refusal::Duplicate)), None);
        assert_eq!(setback(&refused(Refusal::UnknownSigner)), None);
        let closed = Outcome::Rejected(Rejection::MarketClosed);
        assert_eq!(setback(&applied(closed)), None);
        assert_eq!(setback(&applied(Outcome::Accepted(Effect::Admin))), None);
        // The outcome is unknown: sending again could apply it twice.
        let hash = Hash32([3; 32]);
        let timeout = Err(ClientError::Submit(SubmitFailure::Timeout(hash)));
        assert_eq!(setback(&timeout), None);
        assert_eq!(setback(&Err(ClientError::NoAnswer)), None);
        let stopped = Err(ClientError::Submit(SubmitFailure::Stopped));
        assert_eq!(setback(&stopped), None);
        let not_yours = Err(ClientError::Refused(ProtocolError::NotYourTransaction));
        assert_eq!(setback(&not_yours), None);
    }

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
