//! What applying a transaction did: receipts, fills and public trades.

use qraft_keys::PublicKey;
use serde::{Deserialize, Serialize};

use super::reject::Rejection;
use crate::core::hash::Hash32;
use crate::core::tx::TxHash;
use crate::core::types::{Cents, OrderId, Shares, Side, Ticker, Ticks};

/// One receipt per transaction in a block, in block order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub tx: TxHash,
    pub outcome: Outcome,
}

impl Receipt {
    pub fn hash(&self) -> Hash32 {
        Hash32::of(
            "qraft/receipt",
            &postcard::to_stdvec(self).expect("encoding into a Vec cannot fail"),
        )
    }

    pub fn is_accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted(_))
    }
}

/// Accepted with its effect, or rejected with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Accepted(Effect),
    Rejected(Rejection),
}

/// What an accepted transaction did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// An order was placed.
    Order(OrderResult),
    /// Resting orders were cancelled: (order, shares that were still open).
    Cancelled(Vec<(OrderId, Shares)>),
    /// An administration transaction took effect.
    Admin,
}

/// What happened to a new order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderResult {
    pub order: OrderId,
    pub fills: Vec<Fill>,
    /// Shares left resting in the book.
    pub resting: Shares,
    /// Shares not traded and not resting, and why.
    pub cancelled: Shares,
    pub cancel_reason: Option<CancelReason>,
}

impl OrderResult {
    pub fn filled(&self) -> Shares {
        self.fills.iter().map(|f| f.quantity).sum()
    }
}

/// Why part of an order was cancelled on arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// Immediate-or-cancel or market: nothing more to trade with at an acceptable price.
    NoMoreLiquidity,
    /// Market order: the next price was outside the price band.
    PriceBand,
    /// The order reached one of the sender's own resting orders (self-trade prevention).
    SelfTrade,
}

impl std::fmt::Display for CancelReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CancelReason::NoMoreLiquidity => "no more orders to trade with at an acceptable price",
            CancelReason::PriceBand => "the next price was outside the price band",
            CancelReason::SelfTrade => "it would have traded with your own order",
        })
    }
}

/// One execution of a new order against a resting one, from the new order's side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The resting order it traded with.
    pub resting_order: OrderId,
    pub price: Ticks,
    pub quantity: Shares,
    /// The commission the order paid for this fill, in cents.
    pub commission: Cents,
}

/// A trade, as the node records it. The public view of a trade is anonymous
/// ([`Trade::public`]); the buyer and seller keys let a node tell each participant about
/// its own fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// Trade sequence number, from 1, across all symbols.
    pub seq: u64,
    pub height: u64,
    pub timestamp_ms: u64,
    pub symbol: Ticker,
    pub price: Ticks,
    pub quantity: Shares,
    /// The side of the incoming order that made the trade.
    pub aggressor: Side,
    pub buy_order: OrderId,
    pub sell_order: OrderId,
    pub buyer: PublicKey,
    pub seller: PublicKey,
}

/// A trade without who was on each side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicTrade {
    pub seq: u64,
    pub height: u64,
    pub timestamp_ms: u64,
    pub symbol: Ticker,
    pub price: Ticks,
    pub quantity: Shares,
    pub aggressor: Side,
}

impl Trade {
    pub fn public(&self) -> PublicTrade {
        PublicTrade {
            seq: self.seq,
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            symbol: self.symbol,
            price: self.price,
            quantity: self.quantity,
            aggressor: self.aggressor,
        }
    }
}
