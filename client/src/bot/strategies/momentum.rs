//! A momentum trader: watches trade prices; buys when the short moving average crosses
//! above the long one and sells when it crosses below, with immediate-or-cancel orders a
//! few ticks through the last price, never holding more than its position limit.

use std::collections::VecDeque;

use crate::bot::market::{affordable, free_cash, free_shares, position};
use crate::bot::{Bot, BotError};
use qraft_node::core::exchange::receipt::OrderResult;
use qraft_node::core::types::{Cents, Shares, Side, Ticker, Ticks};

/// How the momentum trader trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub symbol: Ticker,
    /// Trades in the short moving average.
    pub short: usize,
    /// Trades in the long moving average.
    pub long: usize,
    /// Shares per order.
    pub size: Shares,
    /// The most shares it holds (long), and, where short selling is allowed, the most it
    /// is short.
    pub max_position: i64,
    /// How many ticks through the last price its orders may trade.
    pub slippage: Ticks,
}

impl Config {
    /// Averages of 5 and 20 trades, 10 shares an order, at most 200 shares, 2 ticks of
    /// slippage.
    pub fn new(symbol: Ticker) -> Config {
        Config {
            symbol,
            short: 5,
            long: 20,
            size: 10,
            max_position: 200,
            slippage: 2,
        }
    }
}

/// Tells when the short moving average of prices crosses the long one. Integer
/// arithmetic only: the averages are compared as cross-multiplied sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossover {
    short: usize,
    long: usize,
    prices: VecDeque<Ticks>,
    /// Whether the short average was last above the long one.
    above: Option<bool>,
}

impl Crossover {
    /// Averages over the last `short` and `long` prices (`short < long`, both at least 1).
    pub fn new(short: usize, long: usize) -> Crossover {
        let short = short.max(1);
        let long = long.max(short + 1);
        Crossover {
            short,
            long,
            prices: VecDeque::with_capacity(long),
            above: None,
        }
    }

    /// Adds a trade price; the side to trade if the averages just crossed (buy when the
    /// short one went above the long one, sell when it went below).
    pub fn push(&mut self, price: Ticks) -> Option<Side> {
        if self.prices.len() == self.long {
            self.prices.pop_front();
        }
        self.prices.push_back(price);
        if self.prices.len() < self.long {
            return None;
        }
        let sum = |n: usize| -> u128 { self.prices.iter().rev().take(n).map(|&p| p as u128).sum() };
        // short_sum / short vs long_sum / long, without dividing.
        let short = sum(self.short) * self.long as u128;
        let long = sum(self.long) * self.short as u128;
        let above = match short.cmp(&long) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => return None,
        };
        let previous = self.above.replace(above);
        match previous {
            Some(was) if was != above => Some(if above { Side::Buy } else { Side::Sell }),
            _ => None,
        }
    }

    /// The prices seen (at most `long`), oldest first.
    pub fn prices(&self) -> impl Iterator<Item = Ticks> + '_ {
        self.prices.iter().copied()
    }
}

/// What the momentum trader remembers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub crossover: Crossover,
    pub orders_placed: u64,
}

impl State {
    pub fn new(config: &Config) -> State {
        State {
            crossover: Crossover::new(config.short, config.long),
            orders_placed: 0,
        }
    }
}

/// Feeds the symbol's recent trades (oldest first) to the averages, so the first
/// signal need not wait for `long` new trades. Signals from history are ignored.
pub async fn warm_up(bot: &Bot, config: &Config, state: &mut State) -> Result<(), BotError> {
    let trades = bot.trades(Some(config.symbol), config.long as u32).await?;
    for trade in trades.iter().rev() {
        state.crossover.push(trade.price);
    }
    Ok(())
}

/// The order to send for `signal` at last price `price`: (limit price, shares), or `None`
/// when the position limit, cash or shares leave nothing to trade.
pub fn order_for(
    config: &Config,
    signal: Side,
    price: Ticks,
    held: i64,
    cash: Cents,
    shares_free: Shares,
    tick_size: Cents,
) -> Option<(Ticks, Shares)> {
    let (limit, room) = match signal {
        Side::Buy => {
            let limit = price.saturating_add(config.slippage);
            let room = u64::try_from(config.max_position.saturating_sub(held)).unwrap_or(0);
            (limit, room.min(affordable(cash, limit, tick_size)))
        }
        Side::Sell => {
            let limit = price.saturating_sub(config.slippage).max(1);
            let room = u64::try_from(held.saturating_add(config.max_position)).unwrap_or(0);
            (limit, room.min(shares_free))
        }
    };
    let quantity = config.size.min(room);
    (quantity > 0).then_some((limit, quantity))
}

/// Takes one trade price; on a crossover, sends an immediate-or-cancel order in its
/// direction within the position limit. The order's result, if one was sent.
pub async fn step(
    bot: &mut Bot,
    config: &Config,
    state: &mut State,
    price: Ticks,
    tick_size: Cents,
) -> Result<Option<OrderResult>, BotError> {
    let Some(signal) = state.crossover.push(price) else {
        return Ok(None);
    };
    let account = bot.account().await?;
    let order = order_for(
        config,
        signal,
        price,
        position(&account, config.symbol),
        free_cash(&account),
        free_shares(&account, config.symbol),
        tick_size,
    );
    let Some((limit, quantity)) = order else {
        return Ok(None);
    };
    let result = match signal {
        Side::Buy => bot.buy_ioc(config.symbol, quantity, limit).await?,
        Side::Sell => bot.sell_ioc(config.symbol, quantity, limit).await?,
    };
    state.orders_placed += 1;
    Ok(Some(result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::market::tests::acme;

    #[test]
    fn crossing_up_buys_and_crossing_down_sells_once_each() {
        let mut c = Crossover::new(2, 4);
        // Not enough prices yet, then a flat market: no signal.
        assert_eq!(c.push(100), None);
        assert_eq!(c.push(100), None);
        assert_eq!(c.push(100), None);
        assert_eq!(c.push(100), None);
        // Falling: the short average goes below; the first reading sets the state.
        assert_eq!(c.push(98), None);
        assert_eq!(c.push(97), None);
        // Rising sharply: the short average crosses above.
        assert_eq!(c.push(104), Some(Side::Buy));
        assert_eq!(c.push(106), None, "still above: no new signal");
        // Falling again: crosses below.
        assert_eq!(c.push(95), None, "equal averages: no change");
        assert_eq!(c.push(90), Some(Side::Sell));
        assert_eq!(c.prices().collect::<Vec<_>>(), vec![104, 106, 95, 90]);
    }

    #[test]
    fn equal_averages_keep_the_previous_state() {
        let mut c = Crossover::new(1, 2);
        assert_eq!(c.push(10), None);
        assert_eq!(c.push(12), None); // above
        assert_eq!(c.push(12), None); // equal: no change
        assert_eq!(c.push(11), Some(Side::Sell));
        assert_eq!(c.push(11), None); // equal
        assert_eq!(c.push(13), Some(Side::Buy));
    }

    #[test]
    fn orders_respect_the_position_limit_cash_and_shares() {
        let mut config = Config::new(acme());
        config.max_position = 100;
        // Room for 10 (the size).
        assert_eq!(
            order_for(&config, Side::Buy, 1_000, 0, 1_000_000, 0, 1),
            Some((1_002, 10))
        );
        // Only 4 more fit under the limit.
        assert_eq!(
            order_for(&config, Side::Buy, 1_000, 96, 1_000_000, 0, 1),
            Some((1_002, 4))
        );
        // At the limit, or no cash: nothing.
        assert_eq!(
            order_for(&config, Side::Buy, 1_000, 100, 1_000_000, 0, 1),
            None
        );
        assert_eq!(order_for(&config, Side::Buy, 1_000, 0, 500, 0, 1), None);
        // Selling is bounded by free shares (no short selling) and the short limit.
        assert_eq!(
            order_for(&config, Side::Sell, 1_000, 50, 0, 3, 1),
            Some((998, 3))
        );
        assert_eq!(order_for(&config, Side::Sell, 1_000, -100, 0, 50, 1), None);
        assert_eq!(
            order_for(&config, Side::Sell, 1, 10, 0, 10, 1),
            Some((1, 10)),
            "never below one tick"
        );
    }
}
