//! What the quoting strategies (`market_maker`, `value_trader`) share: awaiting a
//! requote's cancels and orders, all sent before any is awaited.

use qraft_node::core::exchange::receipt::OrderResult;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::types::{OrderId, Shares};

use crate::bot::{BotError, Pending, PendingOrder};

/// The cancels' answers: (order, shares that were still open) for each order that was
/// cancelled. An order filled meanwhile is not an error: nothing was left to cancel.
pub(super) async fn cancelled(
    cancels: Vec<(OrderId, Pending<Shares>)>,
) -> Result<Vec<(OrderId, Shares)>, BotError> {
    let mut done = Vec::with_capacity(cancels.len());
    let mut failure = None;
    // All are in flight: awaiting them in turn costs no extra round trip.
    for (order, pending) in cancels {
        match pending.wait().await {
            Ok(shares) => done.push((order, shares)),
            Err(BotError::Rejected(Rejection::NotYourOpenOrder(_))) => {}
            Err(err) => {
                failure.get_or_insert(err);
            }
        }
    }
    failure.map_or(Ok(done), Err)
}

/// An order's answer, if one was sent.
pub(super) async fn placed(order: Option<PendingOrder>) -> Result<Option<OrderResult>, BotError> {
    match order {
        Some(pending) => pending.wait().await.map(Some),
        None => Ok(None),
    }
}
