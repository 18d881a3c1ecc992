//! A market maker: keeps a bid and an ask a few ticks around the last trade price (the
//! reference price before the first trade), and requotes (cancel, then place both again)
//! when the price moves or one of its quotes is filled. It never bids more cash than it
//! has free, nor offers more shares than it holds.
//!
//! A requote is one round trip: the cancels and both new quotes are sent on the bot's
//! pipeline before any is awaited. It cancels its old orders by id, not all at once, so a
//! cancel the node refused and the bot resent (behind the new quotes) cannot take the
//! new quotes down with it.

use crate::bot::market::{
    affordable, free_cash, free_shares, held_by_orders, last_or_reference, open_orders,
};
use crate::bot::{Bot, BotError, Pending, PendingOrder};
use qraft_node::core::exchange::receipt::OrderResult;
use qraft_node::core::exchange::views::{AccountView, SymbolView};

use super::requote::{cancelled, placed};
use qraft_node::core::types::{Cents, OrderId, Shares, Side, Ticker, Ticks};

/// How the maker quotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub symbol: Ticker,
    /// Ticks between the centre price and each quote.
    pub half_spread: Ticks,
    /// Shares per quote.
    pub size: Shares,
    /// Requote when the centre moves at least this many ticks from the last quote's.
    pub requote_ticks: Ticks,
}

impl Config {
    /// Quotes of 10 shares, 2 ticks either side, requoted on any move.
    pub fn new(symbol: Ticker) -> Config {
        Config {
            symbol,
            half_spread: 2,
            size: 10,
            requote_ticks: 1,
        }
    }
}

/// What the maker remembers between steps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The last quote placed.
    pub quote: Option<Quote>,
    /// Orders placed so far.
    pub orders_placed: u64,
}

/// A quote as placed: its centre and the orders that rested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub center: Ticks,
    pub bid: Option<OrderId>,
    pub ask: Option<OrderId>,
}

/// What the maker decides to do in one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Requote around this price (`None`: leave the quotes alone).
    pub center: Option<Ticks>,
    /// Its resting orders in the symbol, to cancel first.
    pub cancel: Vec<OrderId>,
    /// Bid: (price, shares).
    pub bid: Option<(Ticks, Shares)>,
    /// Ask: (price, shares).
    pub ask: Option<(Ticks, Shares)>,
}

/// Decides, from the symbol's summary and the maker's account, whether to requote and
/// with what. Sizes count the cash and shares its own resting orders will free when
/// cancelled.
pub fn plan(config: &Config, state: &State, symbol: &SymbolView, account: &AccountView) -> Plan {
    let center = last_or_reference(symbol);
    let open: Vec<OrderId> = open_orders(account, config.symbol).map(|o| o.id).collect();
    let resting = |id: Option<OrderId>| id.is_none_or(|id| open.contains(&id));
    let keep = state.quote.is_some_and(|q| {
        q.center.abs_diff(center) < config.requote_ticks.max(1) && resting(q.bid) && resting(q.ask)
    });
    if keep {
        return Plan::default();
    }
    let tick = symbol.tick_size;
    let cash = free_cash(account).saturating_add(
        Cents::try_from(held_by_orders(account, config.symbol, Side::Buy, tick))
            .unwrap_or(Cents::MAX),
    );
    let shares = free_shares(account, config.symbol).saturating_add(held_by_orders(
        account,
        config.symbol,
        Side::Sell,
        tick,
    ));
    let bid_price = center.saturating_sub(config.half_spread).max(1);
    let ask_price = center.saturating_add(config.half_spread.max(1));
    let bid_size = config.size.min(affordable(cash, bid_price, tick));
    let ask_size = config.size.min(shares);
    Plan {
        center: Some(center),
        cancel: open,
        bid: (bid_size > 0).then_some((bid_price, bid_size)),
        ask: (ask_size > 0).then_some((ask_price, ask_size)),
    }
}

/// What one step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Orders cancelled: (order, shares that were still open).
    pub cancelled: Vec<(OrderId, Shares)>,
    /// The orders placed, bid first.
    pub placed: Vec<OrderResult>,
}

/// Looks at the market and the account, and requotes if [`plan`] says so: the cancels
/// and both quotes are sent first, then awaited together. After a failure it forgets its
/// quote, so the next step cancels whatever rests and quotes afresh.
pub async fn step(bot: &mut Bot, config: &Config, state: &mut State) -> Result<Step, BotError> {
    let symbol = bot.symbol(config.symbol).await?;
    let account = bot.account().await?;
    let plan = plan(config, state, &symbol, &account);
    let Some(center) = plan.center else {
        return Ok(Step::default());
    };
    let result = match send(bot, config, &plan).await {
        Ok(requote) => settle(requote, center, state).await,
        Err(err) => Err(err),
    };
    if result.is_err() {
        state.quote = None;
    }
    result
}

/// A requote in flight.
struct Requote {
    cancels: Vec<(OrderId, Pending<Shares>)>,
    bid: Option<PendingOrder>,
    ask: Option<PendingOrder>,
}

/// Sends the plan's cancels, then its bid and ask, without waiting for any: they are
/// applied in that order, so the quotes can use what the cancels free.
async fn send(bot: &mut Bot, config: &Config, plan: &Plan) -> Result<Requote, BotError> {
    let mut cancels = Vec::with_capacity(plan.cancel.len());
    for &order in &plan.cancel {
        cancels.push((order, bot.send_cancel(order).await?));
    }
    let bid = send_quote(bot, config, Side::Buy, plan.bid).await?;
    let ask = send_quote(bot, config, Side::Sell, plan.ask).await?;
    Ok(Requote { cancels, bid, ask })
}

/// Sends one side's quote, (price, shares), if the plan has one.
async fn send_quote(
    bot: &mut Bot,
    config: &Config,
    side: Side,
    quote: Option<(Ticks, Shares)>,
) -> Result<Option<PendingOrder>, BotError> {
    let Some((price, size)) = quote else {
        return Ok(None);
    };
    let pending = bot.place_limit(config.symbol, side, size, price).await?;
    Ok(Some(pending))
}

/// Awaits a requote's cancels and quotes together, and remembers the new quote.
async fn settle(requote: Requote, center: Ticks, state: &mut State) -> Result<Step, BotError> {
    let Requote { cancels, bid, ask } = requote;
    let (cancelled, bid, ask) = tokio::join!(cancelled(cancels), placed(bid), placed(ask));
    let mut step = Step::default();
    let mut quote = Quote {
        center,
        bid: None,
        ask: None,
    };
    let mut failure = None;
    match cancelled {
        Ok(cancelled) => step.cancelled = cancelled,
        Err(err) => failure = Some(err),
    }
    for (side, placed) in [(Side::Buy, bid), (Side::Sell, ask)] {
        match placed {
            Ok(Some(result)) => {
                state.orders_placed += 1;
                let rests = (result.resting > 0).then_some(result.order);
                match side {
                    Side::Buy => quote.bid = rests,
                    Side::Sell => quote.ask = rests,
                }
                step.placed.push(result);
            }
            Ok(None) => {}
            // A fill between looking and quoting changed what it has: quote the other
            // side now and this one next time.
            Err(err) if err.is_insufficient_funds() => {}
            Err(err) => {
                failure.get_or_insert(err);
            }
        }
    }
    match failure {
        Some(err) => Err(err),
        None => {
            state.quote = Some(quote);
            Ok(step)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::market::tests::{account, acme, order};
    use qraft_node::core::types::Session;

    fn symbol(last: Option<Ticks>) -> SymbolView {
        SymbolView {
            ticker: acme(),
            name: "Acme".into(),
            tick_size: 1,
            reference_price: 1_000,
            session: Session::Open,
            last_price: last,
            volume: 0,
            best_bid: None,
            best_ask: None,
            value: None,
        }
    }

    #[test]
    fn first_quote_is_around_the_reference_price() {
        let config = Config::new(acme());
        let plan = plan(
            &config,
            &State::default(),
            &symbol(None),
            &account(1_000_000, 0, 100, 0, vec![]),
        );
        assert_eq!(
            plan,
            Plan {
                center: Some(1_000),
                cancel: vec![],
                bid: Some((998, 10)),
                ask: Some((1_002, 10)),
            }
        );
    }

    #[test]
    fn quotes_stay_while_the_price_stays_and_both_rest() {
        let config = Config::new(acme());
        let state = State {
            quote: Some(Quote {
                center: 1_050,
                bid: Some(7),
                ask: Some(8),
            }),
            orders_placed: 2,
        };
        let orders = vec![
            order(7, Side::Buy, 1_048, 10),
            order(8, Side::Sell, 1_052, 10),
        ];
        let acct = account(1_000_000, 10_480, 100, 10, orders.clone());
        assert_eq!(
            plan(&config, &state, &symbol(Some(1_050)), &acct),
            Plan::default()
        );
        // The price moved: cancel and requote around the new one.
        let moved = plan(&config, &state, &symbol(Some(1_053)), &acct);
        assert_eq!(moved.center, Some(1_053));
        assert_eq!(moved.cancel, vec![7, 8]);
        assert_eq!(moved.bid, Some((1_051, 10)));
        assert_eq!(moved.ask, Some((1_055, 10)));
        // The ask was filled: requote even at the same price.
        let filled = account(1_000_000, 10_480, 90, 0, vec![orders[0].clone()]);
        let requote = plan(&config, &state, &symbol(Some(1_050)), &filled);
        assert_eq!(requote.center, Some(1_050));
        assert_eq!(requote.cancel, vec![7]);
    }

    #[test]
    fn sizes_respect_cash_and_shares_counting_what_cancelling_frees() {
        let config = Config::new(acme());
        // 5,000 cents free buys 5 shares at 998; no shares: no ask.
        let poor = plan(
            &config,
            &State::default(),
            &symbol(None),
            &account(5_000, 0, 0, 0, vec![]),
        );
        assert_eq!(poor.bid, Some((998, 5)));
        assert_eq!(poor.ask, None);
        // Everything is held by its own resting orders, which it will cancel first.
        let held = account(
            2_000,
            2_000,
            3,
            3,
            vec![
                order(1, Side::Buy, 1_000, 2),
                order(2, Side::Sell, 1_001, 3),
            ],
        );
        let plan = plan(&config, &State::default(), &symbol(None), &held);
        assert_eq!(plan.cancel, vec![1, 2]);
        assert_eq!(plan.bid, Some((998, 2)));
        assert_eq!(plan.ask, Some((1_002, 3)));
    }

    #[test]
    fn an_unquoted_side_for_want_of_funds_does_not_force_requotes() {
        let config = Config::new(acme());
        let state = State {
            quote: Some(Quote {
                center: 1_000,
                bid: Some(7),
                ask: None,
            }),
            orders_placed: 1,
        };
        let acct = account(1_000_000, 9_980, 0, 0, vec![order(7, Side::Buy, 998, 10)]);
        assert_eq!(plan(&config, &state, &symbol(None), &acct), Plan::default());
    }

    #[test]
    fn bids_never_go_below_one_tick() {
        let mut config = Config::new(acme());
        config.half_spread = 5;
        let plan = plan(
            &config,
            &State::default(),
            &symbol(Some(3)),
            &account(1_000, 0, 10, 0, vec![]),
        );
        assert_eq!(plan.bid, Some((1, 10)));
        assert_eq!(plan.ask, Some((8, 10)));
    }
}
