//! The decision logic of the example bots, written against [`Bot`](super::Bot) so that
//! the examples (`examples/*.rs`) are thin mains over them and tests can run them
//! against an in-process cluster.
//!
//! Each strategy has a `Config` (what it trades and how), a `State` (what it remembers
//! between steps), pure decision functions (unit-tested) and an async `step` that looks
//! at the market, decides and orders.
//!
//! - [`market_maker`]: a bid and an ask around the last price, requoted when it moves.
//! - [`momentum`]: immediate-or-cancel orders when the short moving average of trade
//!   prices crosses the long one, within a position limit.
//! - [`random`]: seeded random limit and immediate-or-cancel orders near the mid.
//! - [`value_trader`]: trades toward the scenario's fundamental value of a symbol, with
//!   seeded noise, and rests quotes around its estimate.

pub mod market_maker;
pub mod momentum;
pub mod random;
mod requote;
pub mod value_trader;
