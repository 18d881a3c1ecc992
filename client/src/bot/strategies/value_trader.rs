//! A value trader: trades toward a symbol's fundamental value (what the game's scenario
//! last said one share is worth), so that news moves prices the way a student expects:
//! over a minute or two, not at once and not never.
//!
//! Each step it holds a private estimate: the value moved by a little seeded noise (the
//! same seed, the same estimates), drawn afresh every few steps and whenever the value
//! changes. When the best ask is below its estimate by more than a threshold it buys
//! with an immediate-or-cancel order priced between the ask and its estimate; when the
//! best bid is above, it sells likewise. It also rests a bid and an ask around its
//! estimate, so there is liquidity near the value. Whenever it trades, its estimate
//! changes or one of its quotes is filled, it cancels its resting orders and quotes
//! again. Its prices stay within a small reach of the last price (never outside the
//! game's price band), so the price walks to a new value over many trades rather than
//! jumping there.
//!
//! Without a value (before the scenario says one, or in a game without a scenario) it
//! takes nothing and only quotes around the last price with its noise: a quiet noise
//! trader that does not push the price.
//!
//! It never holds more than its position limit, never orders more cash than it has
//! free, and never sells shares it does not have.

use crate::bot::market::{
    Rng, affordable, free_cash, free_shares, held_by_orders, last_or_reference, open_orders,
    position,
};
use crate::bot::{Bot, BotError, OrderKind, Pending, PendingOrder};
use qraft_node::core::exchange::receipt::OrderResult;
use qraft_node::core::exchange::views::{AccountView, SymbolView};

use super::requote::{cancelled, placed};
use qraft_node::core::types::{Cents, OrderId, Shares, Side, Ticker, Ticks};

/// Basis points in one.
const BPS: u128 = 10_000;

/// How the value trader trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The symbol it trades.
    pub symbol: Ticker,
    /// Its estimate is the value moved by up to this many basis points either way
    /// (200 = 2%).
    pub noise_bps: u32,
    /// It takes an ask (a bid) only when it is more than this many basis points below
    /// (above) its estimate.
    pub threshold_bps: u32,
    /// Its resting bid and ask are this many basis points either side of its estimate
    /// (at least one tick).
    pub quote_bps: u32,
    /// Shares per order.
    pub size: Shares,
    /// The most shares it holds, counting what its buys would add.
    pub max_position: i64,
    /// The game's price band in basis points (`Rules::price_band_bps`): its prices stay
    /// within this of the last price.
    pub band_bps: u32,
    /// How far from the last price its orders reach, in basis points (within the band):
    /// how far one of its trades can move the price.
    pub reach_bps: u32,
    /// Steps an estimate lasts while the value stays the same.
    pub redraw_steps: u32,
}

impl Config {
    /// Estimates within 2% of the value, takes at 0.5% of edge, quotes 1% either side,
    /// 10 shares an order, at most 2,000 shares, the default 10% band, orders within 1%
    /// of the last price, a fresh estimate every 10 steps.
    pub fn new(symbol: Ticker) -> Config {
        Config {
            symbol,
            noise_bps: 200,
            threshold_bps: 50,
            quote_bps: 100,
            size: 10,
            max_position: 2_000,
            band_bps: 1_000,
            reach_bps: 100,
            redraw_steps: 10,
        }
    }

    /// How far from the last price its orders may be, in basis points: its reach,
    /// never beyond the game's band.
    pub fn reach(&self) -> u32 {
        self.reach_bps.min(self.band_bps)
    }
}

/// What the value trader remembers between steps.
#[derive(Clone, Debug)]
pub struct State {
    /// Its noise.
    pub rng: Rng,
    /// Its current estimate.
    pub estimate: Option<Estimate>,
    /// Its resting quotes, as last placed.
    pub quote: Option<Quote>,
    /// Orders placed so far.
    pub orders_placed: u64,
}

impl State {
    /// A trader whose noise follows `seed`.
    pub fn new(seed: u64) -> State {
        State {
            rng: Rng::new(seed),
            estimate: None,
            quote: None,
            orders_placed: 0,
        }
    }
}

/// A private estimate of what one share is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// The scenario's value it was drawn around (`None`: drawn around the last price).
    pub value: Option<Ticks>,
    /// The estimate itself.
    pub price: Ticks,
    /// Steps it still lasts before it is drawn again.
    pub steps_left: u32,
}

/// The passive quotes as placed: the orders that rested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quote {
    /// The resting bid.
    pub bid: Option<OrderId>,
    /// The resting ask.
    pub ask: Option<OrderId>,
}

/// The prices an order may have: within the game's price band around the last price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Band {
    /// The lowest price (at least one tick).
    pub low: Ticks,
    /// The highest price.
    pub high: Ticks,
}

impl Band {
    /// The band of `band_bps` around `symbol`'s last price (its reference price before
    /// the first trade), at least one tick wide, as the exchange bounds market orders.
    pub fn around(symbol: &SymbolView, band_bps: u32) -> Band {
        let mark = last_or_reference(symbol);
        let width = (u128::from(mark) * u128::from(band_bps) / BPS).max(1);
        let width = u64::try_from(width).unwrap_or(u64::MAX);
        Band {
            low: mark.saturating_sub(width).max(1),
            high: mark.saturating_add(width),
        }
    }

    /// Whether `price` is inside the band.
    pub fn contains(self, price: Ticks) -> bool {
        (self.low..=self.high).contains(&price)
    }
}

/// An order it decided on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// Buy or sell.
    pub side: Side,
    /// The limit price.
    pub price: Ticks,
    /// Shares.
    pub quantity: Shares,
}

/// What the value trader decides to do in one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Whether it cancels and quotes again (false: it leaves everything as it is).
    pub requote: bool,
    /// Its resting orders in the symbol, to cancel first.
    pub cancel: Vec<OrderId>,
    /// An immediate-or-cancel order against a price on the wrong side of its estimate.
    pub take: Option<Order>,
    /// Its resting bid.
    pub bid: Option<Order>,
    /// Its resting ask.
    pub ask: Option<Order>,
}

/// `basis` moved by a seeded draw of up to `noise_bps` either way, in whole ticks (at
/// least one).
pub fn noisy(basis: Ticks, noise_bps: u32, rng: &mut Rng) -> Ticks {
    let noise = i128::from(rng.offset(u64::from(noise_bps)));
    let scaled = i128::from(basis) * (BPS as i128 + noise) / BPS as i128;
    u64::try_from(scaled.max(1)).unwrap_or(u64::MAX)
}

/// The estimate for this step: the last one while the value is the same and it has
/// steps left, else a fresh draw around the value (around the last price without one).
/// The flag says whether it is fresh.
pub fn next_estimate(
    config: &Config,
    last: Option<Estimate>,
    symbol: &SymbolView,
    rng: &mut Rng,
) -> (Estimate, bool) {
    if let Some(last) = last
        && last.value == symbol.value
        && last.steps_left > 0
    {
        let kept = Estimate {
            steps_left: last.steps_left - 1,
            ..last
        };
        return (kept, false);
    }
    let basis = symbol.value.unwrap_or_else(|| last_or_reference(symbol));
    let fresh = Estimate {
        value: symbol.value,
        price: noisy(basis, config.noise_bps, rng),
        steps_left: config.redraw_steps.saturating_sub(1),
    };
    (fresh, true)
}

/// Whether `price` is more than `threshold_bps` below `estimate`.
fn well_below(price: Ticks, estimate: Ticks, threshold_bps: u32) -> bool {
    u128::from(price) * (BPS + u128::from(threshold_bps)) < u128::from(estimate) * BPS
}

/// Whether `price` is more than `threshold_bps` above `estimate`.
fn well_above(price: Ticks, estimate: Ticks, threshold_bps: u32) -> bool {
    u128::from(price) * BPS > u128::from(estimate) * (BPS + u128::from(threshold_bps))
}

/// The side and price of an immediate-or-cancel order against the best ask (bid) when
/// it is well below (above) the estimate: halfway to the estimate, inside the band.
/// Only with a scenario value: without one it takes nothing.
pub fn take_price(
    config: &Config,
    estimate: &Estimate,
    symbol: &SymbolView,
    band: Band,
) -> Option<(Side, Ticks)> {
    estimate.value?;
    let target = estimate.price;
    if let Some(ask) = symbol.best_ask
        && well_below(ask, target, config.threshold_bps)
        && ask <= band.high
    {
        let price = (ask + (target - ask) / 2).clamp(band.low, band.high);
        return (price < target).then_some((Side::Buy, price));
    }
    if let Some(bid) = symbol.best_bid
        && well_above(bid, target, config.threshold_bps)
        && bid >= band.low
    {
        let price = (bid - (bid - target) / 2).clamp(band.low, band.high);
        return (price > target).then_some((Side::Sell, price));
    }
    None
}

/// The resting bid and ask prices around the estimate, moved into the band and off the
/// other side of the book it saw; a side that would then buy at or above its estimate
/// (sell at or below it) is left out.
pub fn quote_prices(
    config: &Config,
    estimate: Ticks,
    symbol: &SymbolView,
    band: Band,
) -> (Option<Ticks>, Option<Ticks>) {
    let offset = u128::from(estimate) * u128::from(config.quote_bps) / BPS;
    let offset = u64::try_from(offset.max(1)).unwrap_or(u64::MAX);
    let bid = estimate.saturating_sub(offset).clamp(band.low, band.high);
    let bid = symbol
        .best_ask
        .map_or(bid, |ask| bid.min(ask.saturating_sub(1)));
    let ask = estimate.saturating_add(offset).clamp(band.low, band.high);
    let ask = symbol
        .best_bid
        .map_or(ask, |bid| ask.max(bid.saturating_add(1)));
    let bid = Some(bid).filter(|&bid| bid < estimate && band.contains(bid));
    let ask = Some(ask).filter(|&ask| ask > estimate && band.contains(ask));
    (bid, ask)
}

/// What it may spend and sell once its resting orders in the symbol are cancelled, and
/// how many more shares it may hold.
struct Budget {
    cash: Cents,
    shares: Shares,
    room: Shares,
    tick_size: Cents,
}

impl Budget {
    fn of(config: &Config, symbol: &SymbolView, account: &AccountView) -> Budget {
        let tick = symbol.tick_size;
        let held_cash = held_by_orders(account, config.symbol, Side::Buy, tick);
        let cash = free_cash(account).saturating_add(Cents::try_from(held_cash).unwrap_or(0));
        let shares = free_shares(account, config.symbol).saturating_add(held_by_orders(
            account,
            config.symbol,
            Side::Sell,
            tick,
        ));
        let room = config
            .max_position
            .saturating_sub(position(account, config.symbol));
        Budget {
            cash,
            shares,
            room: u64::try_from(room).unwrap_or(0),
            tick_size: tick,
        }
    }

    /// Up to `size` shares on `side` at `price`, taken out of the budget; `None` if it
    /// affords none.
    fn spend(&mut self, side: Side, price: Ticks, size: Shares) -> Option<Order> {
        let most = match side {
            Side::Buy => self.room.min(affordable(self.cash, price, self.tick_size)),
            Side::Sell => self.shares,
        };
        let quantity = size.min(most);
        if quantity == 0 {
            return None;
        }
        match side {
            Side::Buy => {
                self.room -= quantity;
                let cost = i128::from(quantity) * i128::from(price) * i128::from(self.tick_size);
                self.cash = self
                    .cash
                    .saturating_sub(Cents::try_from(cost).unwrap_or(Cents::MAX));
            }
            Side::Sell => self.shares -= quantity,
        }
        Some(Order {
            side,
            price,
            quantity,
        })
    }
}

/// Decides, from the symbol's summary, the account and this step's estimate (`fresh`
/// when just drawn), whether to cancel and quote again and with what. It requotes when
/// the estimate is fresh, when it takes, or when one of its quotes no longer rests.
pub fn plan(
    config: &Config,
    estimate: &Estimate,
    fresh: bool,
    quote: Option<Quote>,
    symbol: &SymbolView,
    account: &AccountView,
) -> Plan {
    let band = Band::around(symbol, config.reach());
    let take = take_price(config, estimate, symbol, band);
    let open: Vec<OrderId> = open_orders(account, config.symbol).map(|o| o.id).collect();
    let rests = |id: Option<OrderId>| id.is_none_or(|id| open.contains(&id));
    let quoted = quote.is_some_and(|q| rests(q.bid) && rests(q.ask));
    if !fresh && take.is_none() && quoted {
        return Plan::default();
    }
    let mut budget = Budget::of(config, symbol, account);
    let take = take.and_then(|(side, price)| budget.spend(side, price, config.size));
    let (bid, ask) = quote_prices(config, estimate.price, symbol, band);
    let bid = bid.and_then(|price| budget.spend(Side::Buy, price, config.size));
    let ask = ask.and_then(|price| budget.spend(Side::Sell, price, config.size));
    Plan {
        requote: true,
        cancel: open,
        take,
        bid,
        ask,
    }
}

/// What one step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// The estimate it traded on.
    pub estimate: Option<Estimate>,
    /// Orders cancelled: (order, shares that were still open).
    pub cancelled: Vec<(OrderId, Shares)>,
    /// Its immediate-or-cancel order, if it took.
    pub taken: Option<OrderResult>,
    /// Its quotes placed, bid first.
    pub placed: Vec<OrderResult>,
}

/// Looks at the symbol and the account, updates the estimate, and carries out [`plan`]:
/// the cancels, the take and both quotes are sent first, then awaited together. After a
/// failure it forgets its quotes, so the next step cancels whatever rests and quotes
/// afresh.
pub async fn step(bot: &mut Bot, config: &Config, state: &mut State) -> Result<Step, BotError> {
    let symbol = bot.symbol(config.symbol).await?;
    let account = bot.account().await?;
    let (estimate, fresh) = next_estimate(config, state.estimate, &symbol, &mut state.rng);
    state.estimate = Some(estimate);
    let plan = plan(config, &estimate, fresh, state.quote, &symbol, &account);
    if !plan.requote {
        return Ok(Step {
            estimate: Some(estimate),
            ..Step::default()
        });
    }
    let result = match send(bot, config, &plan).await {
        Ok(sent) => settle(sent, state).await,
        Err(err) => Err(err),
    };
    match result {
        Ok(step) => Ok(Step {
            estimate: Some(estimate),
            ..step
        }),
        Err(err) => {
            state.quote = None;
            Err(err)
        }
    }
}

/// A plan in flight.
struct Sent {
    cancels: Vec<(OrderId, Pending<Shares>)>,
    take: Option<PendingOrder>,
    bid: Option<PendingOrder>,
    ask: Option<PendingOrder>,
}

/// Sends the plan's cancels, take, bid and ask without waiting for any: they are applied
/// in that order, so the orders can use what the cancels free.
async fn send(bot: &mut Bot, config: &Config, plan: &Plan) -> Result<Sent, BotError> {
    let mut cancels = Vec::with_capacity(plan.cancel.len());
    for &order in &plan.cancel {
        cancels.push((order, bot.send_cancel(order).await?));
    }
    let take = send_order(bot, config, plan.take, Kind::ImmediateOrCancel).await?;
    let bid = send_order(bot, config, plan.bid, Kind::Limit).await?;
    let ask = send_order(bot, config, plan.ask, Kind::Limit).await?;
    Ok(Sent {
        cancels,
        take,
        bid,
        ask,
    })
}

/// Whether an order may rest.
#[derive(Clone, Copy)]
enum Kind {
    Limit,
    ImmediateOrCancel,
}

/// Sends one order of the plan, if it has it.
async fn send_order(
    bot: &mut Bot,
    config: &Config,
    order: Option<Order>,
    kind: Kind,
) -> Result<Option<PendingOrder>, BotError> {
    let Some(o) = order else {
        return Ok(None);
    };
    let kind = match kind {
        Kind::Limit => OrderKind::Limit { price: o.price },
        Kind::ImmediateOrCancel => OrderKind::ImmediateOrCancel { price: o.price },
    };
    bot.place(config.symbol, o.side, o.quantity, kind)
        .await
        .map(Some)
}

/// Awaits everything sent, and remembers the quotes that rest.
async fn settle(sent: Sent, state: &mut State) -> Result<Step, BotError> {
    let Sent {
        cancels,
        take,
        bid,
        ask,
    } = sent;
    let (cancelled, take, bid, ask) =
        tokio::join!(cancelled(cancels), placed(take), placed(bid), placed(ask));
    let mut step = Step::default();
    let mut quote = Quote::default();
    let mut failure = None;
    match cancelled {
        Ok(cancelled) => step.cancelled = cancelled,
        Err(err) => failure = Some(err),
    }
    for (what, placed) in [
        (None, take),
        (Some(Side::Buy), bid),
        (Some(Side::Sell), ask),
    ] {
        match placed {
            Ok(Some(result)) => {
                state.orders_placed += 1;
                let rests = (result.resting > 0).then_some(result.order);
                match what {
                    None => step.taken = Some(result),
                    Some(Side::Buy) => {
                        quote.bid = rests;
                        step.placed.push(result);
                    }
                    Some(Side::Sell) => {
                        quote.ask = rests;
                        step.placed.push(result);
                    }
                }
            }
            Ok(None) => {}
            // A fill or a fee between looking and ordering changed what it has: the next
            // step orders what it can.
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
mod tests;
