//! Why a transaction was rejected, in words a student understands.
//!
//! A rejected transaction changes nothing except, once its signature and nonce are good,
//! using up its nonce, so the same signed transaction can never be replayed later.

use serde::{Deserialize, Serialize};

use crate::core::types::{Cents, NodeId, OrderId, Shares, Ticker, Ticks, format_cents};

/// The reason in a rejection receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    // --- Who is sending -------------------------------------------------------------
    #[error(
        "the signature does not match: the transaction was changed after signing, signed with another key, or signed for another game"
    )]
    BadSignature,
    #[error("this key is not a participant in this game")]
    UnknownSigner,
    #[error(
        "this transaction is a replay or out of date: its nonce {nonce} is not above your last used nonce {last}"
    )]
    StaleNonce { nonce: u64, last: u64 },
    #[error("your account is suspended by the game's admin")]
    Suspended,
    #[error("the game has ended: no more transactions are accepted")]
    GameOver,
    #[error("only the game's admin can do that")]
    NotAdmin,

    // --- Orders ------------------------------------------------------------------------
    #[error("there is no symbol {0} in this game")]
    UnknownSymbol(Ticker),
    #[error("the market is closed")]
    MarketClosed,
    #[error("trading is halted by the game's admin; you can still cancel orders")]
    MarketHalted,
    #[error("{0} is closed for trading")]
    SymbolClosed(Ticker),
    #[error("trading in {0} is halted by the game's admin; you can still cancel orders")]
    SymbolHalted(Ticker),
    #[error("the quantity must be at least 1 share")]
    ZeroQuantity,
    #[error("orders are limited to {max} shares; this one is for {quantity}")]
    OrderTooLarge { quantity: Shares, max: Shares },
    #[error("the price must be above zero")]
    ZeroPrice,
    #[error("the price is too high (the most is {max} ticks)")]
    PriceTooHigh { max: Ticks },
    #[error(
        "not enough cash: this order needs ${} but you have ${} free{}",
        format_cents(*needed as i128),
        format_cents(*available as i128),
        if *reserved > 0 { format!(" (${} more is held for your open buy orders)", format_cents(*reserved as i128)) } else { String::new() }
    )]
    InsufficientCash {
        needed: Cents,
        available: Cents,
        reserved: Cents,
    },
    #[error(
        "not enough shares: you want to sell {needed} {symbol} but have {available} free to sell{}",
        if *reserved > 0 { format!(" ({reserved} more are in your open sell orders)") } else { String::new() }
    )]
    InsufficientShares {
        symbol: Ticker,
        needed: Shares,
        available: i64,
        reserved: Shares,
    },
    #[error(
        "short selling limit: you may be short at most {max} {symbol}; this order could take you to {would_be} short"
    )]
    ShortLimit {
        symbol: Ticker,
        max: Shares,
        would_be: i64,
    },
    #[error("the order's value is too large to handle")]
    ValueTooLarge,
    #[error(
        "order #{0} is not one of your open orders (it may have been filled or cancelled already)"
    )]
    NotYourOpenOrder(OrderId),
    #[error("you have no open orders{} to cancel", match .0 { Some(s) => format!(" in {s}"), None => String::new() })]
    NothingToCancel(Option<Ticker>),

    // --- Administration ------------------------------------------------------------------
    #[error("{what} is already {state}")]
    AlreadyInState { what: String, state: String },
    #[error("{what} is {state}: {hint}")]
    WrongState {
        what: String,
        state: String,
        hint: String,
    },
    #[error("a participant with this key already exists")]
    DuplicateKey,
    #[error("a participant named {0:?} already exists")]
    DuplicateName(String),
    #[error("{0} is already listed")]
    DuplicateSymbol(Ticker),
    #[error("no participant has this key")]
    UnknownParticipant,
    #[error("the game's admin accounts cannot be suspended")]
    CannotSuspendAdmin,
    #[error("{0}")]
    InvalidSpec(String),
    #[error(
        "cash cannot go below what is held for open orders: the account has ${} of which ${} is held",
        format_cents(*cash as i128),
        format_cents(*reserved as i128)
    )]
    CashBelowReserved { cash: Cents, reserved: Cents },
    #[error("node id {0} is already taken")]
    DuplicateNodeId(NodeId),
    #[error("a node named {0:?} already exists")]
    DuplicateNodeName(String),
    #[error("this key is already {0}'s: every node and participant needs a key of its own")]
    KeyInUse(String),
    // --- Who is sending (continued) ------------------------------------------------------
    #[error("the transaction is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("no node {0} is registered")]
    UnknownNode(NodeId),
    // --- Rules set by the admin ------------------------------------------------------------
    #[error(
        "position limit: you may hold at most {max} {symbol}, open buys counted; this order could take you to {would_be}"
    )]
    PositionLimit {
        symbol: Ticker,
        max: Shares,
        would_be: u64,
    },
    #[error("too many orders: the game allows {max} a minute; wait a little")]
    TooManyOrders { max: u32 },
}
