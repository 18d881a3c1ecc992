//! Read-only views of the exchange: market data, accounts and the leaderboard.
//!
//! These are what the node serves to clients. Books and trades are anonymous; an account
//! view is only for its owner (the network layer enforces who may ask).

use qraft_keys::PublicKey;
use serde::{Deserialize, Serialize};

use super::Exchange;
use super::receipt::PublicTrade;
use super::symbol::Candle;
use crate::core::types::{Cents, OrderId, Role, Session, Shares, Side, Ticker, Ticks};

/// A symbol with its market summary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolView {
    pub ticker: Ticker,
    pub name: String,
    pub tick_size: Cents,
    pub reference_price: Ticks,
    pub session: Session,
    pub last_price: Option<Ticks>,
    pub volume: Shares,
    pub best_bid: Option<Ticks>,
    pub best_ask: Option<Ticks>,
    /// What one share is worth, as the game's scenario last said (none without one).
    pub value: Option<Ticks>,
}

/// One aggregated price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepthLevel {
    pub price: Ticks,
    pub quantity: Shares,
    pub orders: u32,
}

/// The top of one symbol's book: bids best (highest) first, asks best (lowest) first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepthView {
    pub symbol: Ticker,
    pub bids: Vec<DepthLevel>,
    pub asks: Vec<DepthLevel>,
}

/// One of a participant's open orders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: OrderId,
    pub symbol: Ticker,
    pub side: Side,
    pub price: Ticks,
    pub remaining: Shares,
    pub original: Shares,
    pub placed_height: u64,
}

/// A position with its value at the mark price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    pub symbol: Ticker,
    pub shares: i64,
    pub reserved: Shares,
    pub mark_price: Ticks,
    pub value: Cents,
}

/// A participant's own account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub key: PublicKey,
    pub name: String,
    pub role: Role,
    pub suspended: bool,
    pub cash: Cents,
    pub cash_reserved: Cents,
    pub last_nonce: u64,
    pub positions: Vec<PositionView>,
    pub open_orders: Vec<OrderView>,
    /// Cash plus positions at mark prices.
    pub net_worth: Cents,
    /// Every commission the account paid.
    pub commissions_paid: Cents,
    /// What it was given: its worth when it joined plus cash the admin added since; its
    /// profit is `net_worth - start_worth`.
    pub start_worth: Cents,
    /// Dividends received, less what short positions paid.
    pub dividends: Cents,
}

/// One row of the leaderboard ([`scoring`](super::scoring)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// Within its group (students, or bots), by the board's ranking; equal scores share.
    pub rank: u32,
    pub name: String,
    pub role: Role,
    pub net_worth: Cents,
    pub cash: Cents,
    /// What it was given: its worth when it joined plus cash the admin added since.
    pub start_worth: Cents,
    /// Net worth against `start_worth`, in basis points (1 = 0.01%).
    pub return_bps: i64,
    /// Its return in each closed round it took part in: (round from 0, basis points).
    pub round_returns: Vec<(u16, i64)>,
    /// Its rank in its group in each of those rounds.
    pub round_ranks: Vec<(u16, u32)>,
    /// The average of its round ranks, in hundredths (150 = 1.50); none before a round
    /// it took part in has closed.
    pub round_rank_average: Option<u32>,
}

/// A headline, from the admin or the scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsItem {
    pub height: u64,
    pub timestamp_ms: u64,
    pub headline: String,
    /// The symbol it is about, if one.
    pub symbol: Option<Ticker>,
    /// The story below the headline (empty for a headline alone).
    pub text: String,
}

impl Exchange {
    pub fn symbols(&self) -> Vec<SymbolView> {
        self.symbols
            .iter()
            .zip(&self.books.books)
            .map(|(s, book)| SymbolView {
                ticker: s.spec.ticker,
                name: s.spec.name.clone(),
                tick_size: s.spec.tick_size,
                reference_price: s.spec.reference_price,
                session: s.session,
                last_price: s.last_price,
                volume: s.volume,
                best_bid: book.best(Side::Buy).map(|(p, _)| p),
                best_ask: book.best(Side::Sell).map(|(p, _)| p),
                value: s.value,
            })
            .collect()
    }

    pub fn symbol(&self, ticker: Ticker) -> Option<SymbolView> {
        let index = *self.symbol_index.get(&ticker)? as usize;
        self.symbols().into_iter().nth(index)
    }

    /// Up to `levels` aggregated levels per side.
    pub fn depth(&self, ticker: Ticker, levels: usize) -> Option<DepthView> {
        let index = *self.symbol_index.get(&ticker)? as usize;
        let book = &self.books.books[index];
        let level = |(price, level): (&Ticks, &super::book::Level)| DepthLevel {
            price: *price,
            quantity: level.total,
            orders: level.count,
        };
        Some(DepthView {
            symbol: ticker,
            bids: book.bids.iter().rev().take(levels).map(level).collect(),
            asks: book.asks.iter().take(levels).map(level).collect(),
        })
    }

    /// The most recent trades, newest first, optionally of one symbol.
    pub fn recent_trades(&self, symbol: Option<Ticker>, limit: usize) -> Vec<PublicTrade> {
        self.recent_trades
            .iter()
            .rev()
            .filter(|t| symbol.is_none_or(|s| t.symbol == s))
            .take(limit)
            .map(|t| t.public())
            .collect()
    }

    pub fn candles(&self, ticker: Ticker) -> Option<Vec<Candle>> {
        let index = *self.symbol_index.get(&ticker)? as usize;
        Some(self.symbols[index].candles.iter().copied().collect())
    }

    /// News, newest first.
    pub fn news(&self) -> Vec<NewsItem> {
        self.news.iter().rev().cloned().collect()
    }

    /// A participant's account, open orders (oldest first) and net worth.
    pub fn account(&self, key: &PublicKey) -> Option<AccountView> {
        let index = *self.account_index.get(key)?;
        let account = &self.accounts[index as usize];
        let positions: Vec<PositionView> = account
            .positions
            .iter()
            .enumerate()
            .filter(|(_, p)| p.shares != 0 || p.reserved != 0)
            .map(|(i, p)| {
                let symbol = &self.symbols[i];
                let mark = symbol.mark_price();
                PositionView {
                    symbol: symbol.spec.ticker,
                    shares: p.shares,
                    reserved: p.reserved,
                    mark_price: mark,
                    value: p.shares * mark as i64 * symbol.spec.tick_size,
                }
            })
            .collect();
        let open_orders = self
            .books
            .account_orders(index)
            .into_iter()
            .map(|slot| self.order_view(slot))
            .collect();
        Some(AccountView {
            key: account.key,
            name: account.name.clone(),
            role: account.role,
            suspended: account.suspended,
            cash: account.cash,
            cash_reserved: account.cash_reserved,
            last_nonce: account.last_nonce,
            net_worth: self.net_worth(index),
            commissions_paid: account.commissions_paid,
            start_worth: account.contributed,
            dividends: account.dividends,
            positions,
            open_orders,
        })
    }

    pub(super) fn net_worth(&self, index: u32) -> Cents {
        let account = &self.accounts[index as usize];
        let held: i128 = account
            .positions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = &self.symbols[i];
                p.shares as i128 * s.mark_price() as i128 * s.spec.tick_size as i128
            })
            .sum();
        (account.cash as i128 + held).clamp(i64::MIN as i128, i64::MAX as i128) as Cents
    }

    /// How many orders rest in all books.
    pub fn open_order_count(&self) -> usize {
        self.books.len()
    }
}

/// One resting order as the public book shows it: no owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedOrder {
    pub id: OrderId,
    pub price: Ticks,
    pub remaining: Shares,
}

impl Exchange {
    /// One side of a symbol's book order by order, in priority (best price, then oldest
    /// first): the exact sequence an incoming order would trade through.
    pub fn book_queue(&self, ticker: Ticker, side: Side) -> Option<Vec<QueuedOrder>> {
        let index = *self.symbol_index.get(&ticker)? as usize;
        let levels = self.books.books[index].side(side);
        let ordered: Box<dyn Iterator<Item = (&Ticks, &super::book::Level)>> = match side {
            Side::Buy => Box::new(levels.iter().rev()),
            Side::Sell => Box::new(levels.iter()),
        };
        Some(
            ordered
                .flat_map(|(_, level)| self.books.level_orders(level))
                .map(|slot| {
                    let o = self.books.get(slot);
                    QueuedOrder {
                        id: o.id,
                        price: o.price,
                        remaining: o.remaining,
                    }
                })
                .collect(),
        )
    }
}

impl Exchange {
    /// An open order by id, with its owner's key (the caller decides who may see it).
    pub fn open_order(&self, id: OrderId) -> Option<(PublicKey, OrderView)> {
        let slot = self.books.slot_of(id)?;
        let owner = self.accounts[self.books.get(slot).account as usize].key;
        Some((owner, self.order_view(slot)))
    }

    fn order_view(&self, slot: u32) -> OrderView {
        let o = self.books.get(slot);
        OrderView {
            id: o.id,
            symbol: self.symbols[o.symbol as usize].spec.ticker,
            side: o.side,
            price: o.price,
            remaining: o.remaining,
            original: o.original,
            placed_height: o.placed_height,
        }
    }
}
