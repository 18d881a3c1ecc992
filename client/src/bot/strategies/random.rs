//! A random trader: limit and immediate-or-cancel orders a few ticks either side of the
//! mid price, random sides and sizes, from a seeded generator (the same seed, the same
//! choices). It keeps at most a few orders resting, cancelling its oldest, and never
//! orders more than its free cash or shares cover.

use crate::bot::market::{
    Rng, affordable, free_cash, free_shares, last_or_reference, mid_price, open_orders,
};
use crate::bot::{Bot, BotError};
use qraft_node::core::exchange::receipt::OrderResult;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::OrderKind;
use qraft_node::core::types::{Cents, OrderId, Shares, Side, Ticker, Ticks};

/// How the random trader trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub symbol: Ticker,
    /// Orders are for 1 to this many shares.
    pub max_quantity: Shares,
    /// Prices are up to this many ticks either side of the mid.
    pub spread: Ticks,
    /// The chance, in percent, that an order is immediate-or-cancel rather than a limit.
    pub ioc_percent: u32,
    /// The most orders it leaves resting; beyond that it cancels its oldest.
    pub max_open: usize,
}

impl Config {
    /// 1 to 20 shares, within 5 ticks of the mid, 30% immediate-or-cancel, at most 4
    /// resting.
    pub fn new(symbol: Ticker) -> Config {
        Config {
            symbol,
            max_quantity: 20,
            spread: 5,
            ioc_percent: 30,
            max_open: 4,
        }
    }
}

/// What the random trader remembers.
#[derive(Clone, Debug)]
pub struct State {
    pub rng: Rng,
    pub orders_placed: u64,
}

impl State {
    pub fn new(seed: u64) -> State {
        State {
            rng: Rng::new(seed),
            orders_placed: 0,
        }
    }
}

/// One random order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub side: Side,
    pub quantity: Shares,
    pub price: Ticks,
    pub ioc: bool,
}

/// Draws an order around `mid`.
pub fn choose(config: &Config, rng: &mut Rng, mid: Ticks) -> Choice {
    let side = rng.side();
    let quantity = rng.between(1, config.max_quantity.max(1));
    let offset = rng.offset(config.spread);
    let price = mid.saturating_add_signed(offset).max(1);
    let ioc = rng.chance(config.ioc_percent);
    Choice {
        side,
        quantity,
        price,
        ioc,
    }
}

/// The choice cut down to what free cash (buys) or free shares (sells) cover; `None` if
/// nothing is left.
pub fn fit(choice: Choice, cash: Cents, shares: Shares, tick_size: Cents) -> Option<Choice> {
    let most = match choice.side {
        Side::Buy => affordable(cash, choice.price, tick_size),
        Side::Sell => shares,
    };
    let quantity = choice.quantity.min(most);
    (quantity > 0).then_some(Choice { quantity, ..choice })
}

/// What one step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The resting order it cancelled to stay under `max_open`.
    pub cancelled: Option<OrderId>,
    pub choice: Option<Choice>,
    pub placed: Option<OrderResult>,
}

/// Cancels its oldest resting order if it has too many, then places one random order.
pub async fn step(bot: &mut Bot, config: &Config, state: &mut State) -> Result<Step, BotError> {
    let symbol = bot.symbol(config.symbol).await?;
    let book = bot.book(config.symbol, 1).await?;
    let mut account = bot.account().await?;
    let mut step = Step::default();
    let open: Vec<OrderId> = open_orders(&account, config.symbol).map(|o| o.id).collect();
    if open.len() >= config.max_open.max(1) {
        let oldest = open[0];
        match bot.cancel(oldest).await {
            // Filled meanwhile: just as good.
            Ok(_) | Err(BotError::Rejected(Rejection::NotYourOpenOrder(_))) => {}
            Err(err) => return Err(err),
        }
        step.cancelled = Some(oldest);
        account = bot.account().await?;
    }
    let mid = mid_price(&book).unwrap_or_else(|| last_or_reference(&symbol));
    let choice = choose(config, &mut state.rng, mid);
    let Some(choice) = fit(
        choice,
        free_cash(&account),
        free_shares(&account, config.symbol),
        symbol.tick_size,
    ) else {
        return Ok(step);
    };
    step.choice = Some(choice);
    let kind = if choice.ioc {
        OrderKind::ImmediateOrCancel {
            price: choice.price,
        }
    } else {
        OrderKind::Limit {
            price: choice.price,
        }
    };
    let result = bot
        .order(config.symbol, choice.side, choice.quantity, kind)
        .await?;
    state.orders_placed += 1;
    step.placed = Some(result);
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::market::tests::acme;

    #[test]
    fn choices_are_seeded_and_stay_near_the_mid() {
        let config = Config::new(acme());
        let draw = |seed| {
            let mut rng = Rng::new(seed);
            (0..200)
                .map(|_| choose(&config, &mut rng, 1_000))
                .collect::<Vec<_>>()
        };
        let choices = draw(7);
        assert_eq!(choices, draw(7));
        assert_ne!(choices, draw(8));
        for c in &choices {
            assert!((995..=1_005).contains(&c.price), "{c:?}");
            assert!((1..=20).contains(&c.quantity), "{c:?}");
        }
        assert!(choices.iter().any(|c| c.side == Side::Buy));
        assert!(choices.iter().any(|c| c.side == Side::Sell));
        assert!(choices.iter().any(|c| c.ioc));
        assert!(choices.iter().any(|c| !c.ioc));
    }

    #[test]
    fn prices_never_fall_below_one_tick() {
        let config = Config::new(acme());
        let mut rng = Rng::new(1);
        assert!((0..100).all(|_| choose(&config, &mut rng, 2).price >= 1));
    }

    #[test]
    fn fit_cuts_orders_to_free_cash_and_shares() {
        let buy = Choice {
            side: Side::Buy,
            quantity: 10,
            price: 100,
            ioc: false,
        };
        assert_eq!(fit(buy, 450, 0, 1).map(|c| c.quantity), Some(4));
        assert_eq!(fit(buy, 99, 0, 1), None);
        let sell = Choice {
            side: Side::Sell,
            ..buy
        };
        assert_eq!(fit(sell, 0, 3, 1).map(|c| c.quantity), Some(3));
        assert_eq!(fit(sell, 1_000_000, 0, 1), None);
        assert_eq!(fit(sell, 0, 50, 1), Some(sell));
    }
}
