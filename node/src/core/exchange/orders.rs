//! Placing, matching and cancelling orders.
//!
//! Matching is price-time priority: an incoming order trades with the best opposite price
//! first and, within a price, with the oldest order first, always at the resting order's
//! price. Self-trade prevention cancels the rest of an incoming order when the next
//! order it would trade with is the sender's own. Funds are checked before matching for
//! the worst price the order may trade at, and whatever rests reserves its cash (buys) or
//! shares (sells), so nobody can spend the same cash or shares twice.

use super::Exchange;
use super::book::{NewResting, OrderNode};
use super::invariants::order_value;
use super::receipt::{CancelReason, Effect, Fill, OrderResult, Trade};
use super::reject::Rejection;
use super::{MAX_PRICE_TICKS, MAX_RECENT_TRADES};
use crate::core::tx::{NewOrder, OrderKind};
use crate::core::types::{Cents, OrderId, Session, Shares, Side, Ticker, Ticks};

/// The largest order value (in cents) accepted: $10 trillion, far above any game and far
/// below overflow (limits on quantity, price and tick size keep the product within i128).
const MAX_ORDER_VALUE: i128 = 1_000_000_000_000_000;

/// The commission an order pays: per share traded, and once the first time it trades.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Fees {
    pub per_share: Cents,
    pub due: Cents,
}

impl Fees {
    /// The most an order of `quantity` shares can pay.
    pub fn most(self, quantity: Shares) -> Cents {
        self.due + self.per_share * quantity as Cents
    }
}

impl Exchange {
    fn check_trading(&self, symbol: u16) -> Result<(), Rejection> {
        match self.session {
            Session::Open => {}
            Session::Closed => return Err(Rejection::MarketClosed),
            Session::Halted => return Err(Rejection::MarketHalted),
        }
        let state = &self.symbols[symbol as usize];
        match state.session {
            Session::Open => Ok(()),
            Session::Closed => Err(Rejection::SymbolClosed(state.spec.ticker)),
            Session::Halted => Err(Rejection::SymbolHalted(state.spec.ticker)),
        }
    }

    /// The worst price a market order may trade at: the mark price moved by the band
    /// (at least one tick), never below one tick.
    fn band_limit(&self, symbol: u16, side: Side) -> Ticks {
        let mark = self.symbols[symbol as usize].mark_price();
        let width = (mark as u128 * self.rules.price_band_bps as u128 / 10_000).max(1) as u64;
        match side {
            Side::Buy => mark.saturating_add(width).min(MAX_PRICE_TICKS),
            Side::Sell => mark.saturating_sub(width).max(1),
        }
    }

    pub(super) fn place_order(
        &mut self,
        account: u32,
        order: &NewOrder,
    ) -> Result<OrderResult, Rejection> {
        let symbol = self.symbol_of(order.symbol)?;
        self.check_trading(symbol)?;
        if order.quantity == 0 {
            return Err(Rejection::ZeroQuantity);
        }
        if order.quantity > self.rules.max_order_shares {
            return Err(Rejection::OrderTooLarge {
                quantity: order.quantity,
                max: self.rules.max_order_shares,
            });
        }
        self.check_order_rate(account)?;
        self.check_position_limit(account, symbol, order.side, order.quantity)?;
        let (limit, may_rest) = match order.kind {
            OrderKind::Limit { price } => (price, true),
            OrderKind::ImmediateOrCancel { price } => (price, false),
            OrderKind::Market => (self.band_limit(symbol, order.side), false),
        };
        if limit == 0 {
            return Err(Rejection::ZeroPrice);
        }
        if limit > MAX_PRICE_TICKS {
            return Err(Rejection::PriceTooHigh {
                max: MAX_PRICE_TICKS,
            });
        }
        let fees = Fees {
            per_share: self.rules.commission_per_share,
            due: self.rules.commission_per_order,
        };
        self.check_funds(account, symbol, order.side, order.quantity, limit, fees)?;
        self.record_order(account);

        let id = self.next_order_id;
        self.next_order_id += 1;
        let is_market = matches!(order.kind, OrderKind::Market);
        let (fills, remaining, stop) = self.match_incoming(
            account,
            symbol,
            order.side,
            order.quantity,
            limit,
            id,
            is_market,
            fees,
        );
        // What it still owes the first time it trades: nothing once it traded.
        let fees = Fees {
            due: if fills.is_empty() { fees.due } else { 0 },
            ..fees
        };

        let mut result = OrderResult {
            order: id,
            fills,
            resting: 0,
            cancelled: 0,
            cancel_reason: None,
        };
        if remaining > 0 {
            if may_rest && stop != Some(CancelReason::SelfTrade) {
                self.rest(
                    account,
                    symbol,
                    order.side,
                    limit,
                    remaining,
                    order.quantity,
                    id,
                    fees,
                );
                result.resting = remaining;
            } else {
                result.cancelled = remaining;
                result.cancel_reason = Some(stop.unwrap_or(CancelReason::NoMoreLiquidity));
            }
        }
        Ok(result)
    }

    fn check_funds(
        &self,
        account: u32,
        symbol: u16,
        side: Side,
        quantity: Shares,
        limit: Ticks,
        fees: Fees,
    ) -> Result<(), Rejection> {
        let acct = &self.accounts[account as usize];
        // The most commission the order can cost: held in cash whichever its side.
        let fee = fees.most(quantity);
        if side == Side::Sell && fee > acct.free_cash() {
            return Err(Rejection::InsufficientCash {
                needed: fee,
                available: acct.free_cash(),
                reserved: acct.cash_reserved,
            });
        }
        match side {
            Side::Buy => {
                let tick = self.symbols[symbol as usize].spec.tick_size;
                let needed = quantity as i128 * limit as i128 * tick as i128 + i128::from(fee);
                if needed > MAX_ORDER_VALUE {
                    return Err(Rejection::ValueTooLarge);
                }
                let needed = needed as Cents;
                if needed > acct.free_cash() {
                    return Err(Rejection::InsufficientCash {
                        needed,
                        available: acct.free_cash(),
                        reserved: acct.cash_reserved,
                    });
                }
            }
            Side::Sell => {
                let position = acct.position(symbol as usize);
                let free = position.shares - position.reserved as i64;
                let after = free - quantity as i64;
                let ticker = self.symbols[symbol as usize].spec.ticker;
                if self.rules.short_selling {
                    let floor = -(self.rules.max_short_shares as i64);
                    if after < floor {
                        return Err(Rejection::ShortLimit {
                            symbol: ticker,
                            max: self.rules.max_short_shares,
                            would_be: -after,
                        });
                    }
                } else if after < 0 {
                    return Err(Rejection::InsufficientShares {
                        symbol: ticker,
                        needed: quantity,
                        available: free,
                        reserved: position.reserved,
                    });
                }
            }
        }
        Ok(())
    }

    /// Trades an incoming order against the book. Returns the fills, what is left, and why
    /// matching stopped early, if it stopped for a reason other than running out of
    /// orders at acceptable prices (self-trade, or a market order reaching its band).
    #[allow(
        clippy::too_many_arguments,
        reason = "the incoming order's fields: a private step of `place_order`"
    )]
    fn match_incoming(
        &mut self,
        account: u32,
        symbol: u16,
        side: Side,
        quantity: Shares,
        limit: Ticks,
        id: OrderId,
        band_limited: bool,
        fees: Fees,
    ) -> (Vec<Fill>, Shares, Option<CancelReason>) {
        let mut taker_due = fees.due;
        let mut fills = Vec::new();
        let mut remaining = quantity;
        let mut stop = None;
        while remaining > 0 {
            let Some((price, slot)) = self.books.books[symbol as usize].best(side.opposite())
            else {
                break;
            };
            let crosses = match side {
                Side::Buy => price <= limit,
                Side::Sell => price >= limit,
            };
            if !crosses {
                if band_limited {
                    stop = Some(CancelReason::PriceBand);
                }
                break;
            }
            let maker = self.books.get(slot);
            if maker.account == account {
                stop = Some(CancelReason::SelfTrade);
                break;
            }
            let (maker_id, maker_account) = (maker.id, maker.account);
            let traded = remaining.min(maker.remaining);
            let maker_fee = maker.fee_due + maker.fee_per_share * traded as Cents;
            if traded == maker.remaining {
                self.books.remove(slot);
            } else {
                self.books.reduce(slot, traded);
            }
            let (buyer, seller, buy_order, sell_order) = match side {
                Side::Buy => (account, maker_account, id, maker_id),
                Side::Sell => (maker_account, account, maker_id, id),
            };
            self.settle(symbol, price, traded, buyer, seller, side);
            // The resting order pays from what its account held for it; the incoming one
            // from the cash the funds check found free.
            self.charge(maker_account, maker_fee, true);
            let taker_fee = taker_due + fees.per_share * traded as Cents;
            taker_due = 0;
            self.charge(account, taker_fee, false);
            self.record_trade(
                symbol, price, traded, side, buy_order, sell_order, buyer, seller,
            );
            fills.push(Fill {
                resting_order: maker_id,
                price,
                quantity: traded,
                commission: taker_fee,
            });
            remaining -= traded;
        }
        (fills, remaining, stop)
    }

    /// Moves cash and shares for one trade. `aggressor` is the incoming order's side; the
    /// other side is the resting order, whose reservation is released.
    fn settle(
        &mut self,
        symbol: u16,
        price: Ticks,
        quantity: Shares,
        buyer: u32,
        seller: u32,
        aggressor: Side,
    ) {
        let tick = self.symbols[symbol as usize].spec.tick_size;
        let value = order_value(quantity, price, tick);
        let s = symbol as usize;
        let floor = self.short_floor();
        {
            let b = &mut self.accounts[buyer as usize];
            if aggressor == Side::Sell {
                // Releases what the resting buy reserved for these shares (see `rest`).
                debug_assert!(
                    value <= b.cash_reserved,
                    "a fill releases {value} cents but only {} are reserved",
                    b.cash_reserved
                );
                b.cash_reserved -= value;
            } else {
                // The funds check covered the whole order at its limit.
                debug_assert!(
                    value <= b.free_cash(),
                    "a buy pays {value} cents but has only {} free",
                    b.free_cash()
                );
            }
            b.cash -= value;
            debug_assert!(0 <= b.cash_reserved && b.cash_reserved <= b.cash);
            b.position_mut(s).shares += quantity as i64;
        }
        {
            let seller_acct = &mut self.accounts[seller as usize];
            seller_acct.cash += value;
            let position = seller_acct.position_mut(s);
            if aggressor == Side::Buy {
                // Releases what the resting sell reserved (see `rest`).
                debug_assert!(
                    quantity <= position.reserved,
                    "a fill releases {quantity} shares but only {} are reserved",
                    position.reserved
                );
                position.reserved -= quantity;
            }
            position.shares -= quantity as i64;
            // The funds check kept the whole sell within the short limit.
            debug_assert!(
                position.shares - position.reserved as i64 >= floor,
                "a sell leaves {} shares with {} reserved, below {floor}",
                position.shares,
                position.reserved
            );
        }
        self.touch_account(buyer);
        self.touch_account(seller);
    }

    /// The lowest a position, less what its open sells hold, may go: under the loosest
    /// rules ever in force, since resting sells keep what they were accepted under.
    pub(super) fn short_floor(&self) -> i64 {
        self.loosest_short_floor()
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of the `Trade` it records"
    )]
    fn record_trade(
        &mut self,
        symbol: u16,
        price: Ticks,
        quantity: Shares,
        aggressor: Side,
        buy_order: OrderId,
        sell_order: OrderId,
        buyer: u32,
        seller: u32,
    ) {
        let candle_ms = self.rules.candle_ms;
        let state = &mut self.symbols[symbol as usize];
        state.record_trade(price, quantity, self.timestamp_ms, candle_ms);
        let trade = Trade {
            seq: self.next_trade_seq,
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            symbol: state.spec.ticker,
            price,
            quantity,
            aggressor,
            buy_order,
            sell_order,
            buyer: self.accounts[buyer as usize].key,
            seller: self.accounts[seller as usize].key,
        };
        self.next_trade_seq += 1;
        if self.recent_trades.len() == MAX_RECENT_TRADES {
            self.recent_trades.pop_front();
        }
        self.recent_trades.push_back(trade.clone());
        self.block_trades.push(trade);
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of the `NewResting` it builds"
    )]
    fn rest(
        &mut self,
        account: u32,
        symbol: u16,
        side: Side,
        price: Ticks,
        remaining: Shares,
        original: Shares,
        id: OrderId,
        fees: Fees,
    ) {
        debug_assert!(remaining > 0, "an order rests with nothing left");
        let tick = self.symbols[symbol as usize].spec.tick_size;
        let floor = self.short_floor();
        let acct = &mut self.accounts[account as usize];
        // Its commissions, held in cash whichever its side: paid by `charge` as it
        // trades, the rest given back by `release`.
        let fee = fees.most(remaining);
        debug_assert!(
            fee <= acct.free_cash(),
            "an order holds {fee} cents of commission but has only {} free",
            acct.free_cash()
        );
        acct.cash_reserved += fee;
        match side {
            Side::Buy => {
                // Released by `release` (cancel) or `settle` (fills), the same amount.
                let amount = order_value(remaining, price, tick);
                // The funds check covered the whole order at its limit, fills included.
                debug_assert!(
                    amount <= acct.free_cash(),
                    "a buy reserves {amount} cents but has only {} free",
                    acct.free_cash()
                );
                acct.cash_reserved += amount;
                debug_assert!(acct.cash_reserved <= acct.cash);
            }
            Side::Sell => {
                let position = acct.position_mut(symbol as usize);
                debug_assert!(
                    position.shares - (position.reserved + remaining) as i64 >= floor,
                    "a sell reserves {remaining} shares of {} with {} reserved, below {floor}",
                    position.shares,
                    position.reserved
                );
                position.reserved += remaining;
            }
        }
        self.touch_account(account);
        self.books.insert(NewResting {
            id,
            account,
            symbol,
            side,
            price,
            remaining,
            original,
            placed_height: self.height,
            fee_per_share: fees.per_share,
            fee_due: fees.due,
        });
    }

    /// Takes a commission out of the game: from what the account held for the order
    /// (`held`: a resting order), or from the cash the funds check found free (an
    /// incoming one).
    fn charge(&mut self, account: u32, fee: Cents, held: bool) {
        if fee == 0 {
            return;
        }
        let acct = &mut self.accounts[account as usize];
        if held {
            debug_assert!(
                fee <= acct.cash_reserved,
                "a commission of {fee} cents but only {} held",
                acct.cash_reserved
            );
            acct.cash_reserved -= fee;
        } else {
            debug_assert!(
                fee <= acct.free_cash(),
                "a commission of {fee} cents but only {} free",
                acct.free_cash()
            );
        }
        acct.cash -= fee;
        acct.commissions_paid += fee;
        self.issued.add_cash(-fee);
        self.touch_account(account);
    }

    /// Gives back what a resting order held.
    fn release(&mut self, order: &OrderNode) {
        let tick = self.symbols[order.symbol as usize].spec.tick_size;
        let acct = &mut self.accounts[order.account as usize];
        // The commissions it held and will not pay.
        debug_assert!(order.fee_held() <= acct.cash_reserved);
        acct.cash_reserved -= order.fee_held();
        match order.side {
            Side::Buy => {
                // What `rest` reserved for the shares still open.
                let amount = order_value(order.remaining, order.price, tick);
                debug_assert!(
                    amount <= acct.cash_reserved,
                    "order #{} releases {amount} cents but only {} are reserved",
                    order.id,
                    acct.cash_reserved
                );
                acct.cash_reserved -= amount;
                debug_assert!(acct.cash_reserved >= 0);
            }
            Side::Sell => {
                let position = acct.position_mut(order.symbol as usize);
                debug_assert!(
                    order.remaining <= position.reserved,
                    "order #{} releases {} shares but only {} are reserved",
                    order.id,
                    order.remaining,
                    position.reserved
                );
                position.reserved -= order.remaining;
            }
        }
        self.touch_account(order.account);
    }

    /// Removes a resting order and releases what it held; returns (id, shares left).
    pub(super) fn cancel_slot(&mut self, slot: u32) -> (OrderId, Shares) {
        let order = self.books.remove(slot);
        self.release(&order);
        (order.id, order.remaining)
    }

    pub(super) fn cancel_one(&mut self, account: u32, order: OrderId) -> Result<Effect, Rejection> {
        let slot = self
            .books
            .slot_of(order)
            .filter(|slot| self.books.get(*slot).account == account)
            .ok_or(Rejection::NotYourOpenOrder(order))?;
        Ok(Effect::Cancelled(vec![self.cancel_slot(slot)]))
    }

    pub(super) fn cancel_all(
        &mut self,
        account: u32,
        symbol: Option<Ticker>,
    ) -> Result<Effect, Rejection> {
        let only = symbol.map(|t| self.symbol_of(t)).transpose()?;
        let slots: Vec<u32> = self
            .books
            .account_orders(account)
            .into_iter()
            .filter(|slot| only.is_none_or(|s| self.books.get(*slot).symbol == s))
            .collect();
        if slots.is_empty() {
            return Err(Rejection::NothingToCancel(symbol));
        }
        let cancelled = slots
            .into_iter()
            .map(|slot| self.cancel_slot(slot))
            .collect();
        Ok(Effect::Cancelled(cancelled))
    }
}
