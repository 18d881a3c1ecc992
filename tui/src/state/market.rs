//! Market data as last heard from the node.

use std::collections::{BTreeMap, VecDeque};

use qraft_node::core::exchange::Candle;
use qraft_node::core::exchange::receipt::PublicTrade;
use qraft_node::core::exchange::views::{DepthView, LeaderboardRow, NewsItem, SymbolView};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::{Cents, Session, Ticker, Ticks};

/// How many trades the tape keeps.
pub const TAPE_LEN: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketState {
    pub symbols: Vec<SymbolView>,
    /// Index into `symbols` of the selected symbol.
    pub selected: usize,
    /// The whole exchange's session.
    pub session: Session,
    pub game_over: bool,
    /// The selected symbol's book (may lag a selection change by one answer).
    pub depth: Option<DepthView>,
    /// The selected symbol's candles, oldest first.
    pub candles: Vec<Candle>,
    pub candles_of: Option<Ticker>,
    /// Every symbol's candles, oldest first, for the projector page's charts.
    pub all_candles: BTreeMap<Ticker, Vec<Candle>>,
    /// Every symbol's trades, newest first.
    pub tape: VecDeque<PublicTrade>,
    /// Headlines, newest first.
    pub news: Vec<NewsItem>,
    pub leaderboard: Vec<LeaderboardRow>,
    /// The book panel's cursor: a row of the ladder (asks then bids).
    pub book_cursor: usize,
    /// Whether anything was heard from the node yet.
    pub loaded: bool,
}

impl MarketState {
    /// The genesis symbols, before the node has answered.
    pub fn from_genesis(genesis: &Genesis) -> MarketState {
        let symbols = genesis
            .symbols
            .iter()
            .map(|s| SymbolView {
                ticker: s.ticker,
                name: s.name.clone(),
                tick_size: s.tick_size,
                reference_price: s.reference_price,
                session: Session::Open,
                last_price: None,
                volume: 0,
                best_bid: None,
                best_ask: None,
                value: None,
            })
            .collect();
        MarketState {
            symbols,
            selected: 0,
            session: if genesis.rules.open_at_start {
                Session::Open
            } else {
                Session::Closed
            },
            game_over: false,
            depth: None,
            candles: Vec::new(),
            candles_of: None,
            all_candles: BTreeMap::new(),
            tape: VecDeque::new(),
            news: Vec::new(),
            leaderboard: Vec::new(),
            book_cursor: 0,
            loaded: false,
        }
    }

    pub fn selected(&self) -> Option<&SymbolView> {
        self.symbols.get(self.selected)
    }

    pub fn selected_ticker(&self) -> Option<Ticker> {
        self.selected().map(|s| s.ticker)
    }

    pub fn symbol(&self, ticker: Ticker) -> Option<&SymbolView> {
        self.symbols.iter().find(|s| s.ticker == ticker)
    }

    /// Cents per tick of `ticker` (one cent for a symbol not known yet).
    pub fn tick_size(&self, ticker: Ticker) -> Cents {
        self.symbol(ticker).map_or(1, |s| s.tick_size.max(1))
    }

    /// The depth of the selected symbol, if the answer is about it.
    pub fn selected_depth(&self) -> Option<&DepthView> {
        let ticker = self.selected_ticker()?;
        self.depth.as_ref().filter(|d| d.symbol == ticker)
    }

    /// The selected symbol's candles, if the answer is about it.
    pub fn selected_candles(&self) -> &[Candle] {
        match (self.candles_of, self.selected_ticker()) {
            (Some(a), Some(b)) if a == b => &self.candles,
            _ => &[],
        }
    }

    /// The candles of `ticker`: the selected symbol's if it is the one, else the last
    /// load of every symbol's.
    pub fn candles_of(&self, ticker: Ticker) -> &[Candle] {
        if self.candles_of == Some(ticker) && self.selected_ticker() == Some(ticker) {
            return &self.candles;
        }
        self.all_candles.get(&ticker).map_or(&[], Vec::as_slice)
    }

    /// Whether `ticker` takes orders now: the exchange and the symbol both open.
    pub fn session_of(&self, ticker: Ticker) -> Session {
        if self.session != Session::Open {
            return self.session;
        }
        self.symbol(ticker).map_or(Session::Open, |s| s.session)
    }

    /// Rows of the book ladder: asks (highest first) then bids (highest first), as
    /// (is_ask, price, quantity, orders).
    pub fn ladder(&self) -> Vec<(bool, Ticks, u64, u32)> {
        let Some(depth) = self.selected_depth() else {
            return Vec::new();
        };
        let mut rows: Vec<(bool, Ticks, u64, u32)> = depth
            .asks
            .iter()
            .rev()
            .map(|l| (true, l.price, l.quantity, l.orders))
            .collect();
        rows.extend(
            depth
                .bids
                .iter()
                .map(|l| (false, l.price, l.quantity, l.orders)),
        );
        rows
    }

    /// Adds new trades (newest last in `trades`) to the front of the tape.
    pub fn push_trades(&mut self, trades: &[PublicTrade]) {
        for trade in trades {
            if self.tape.front().is_some_and(|t| t.seq >= trade.seq) {
                continue;
            }
            self.tape.push_front(trade.clone());
        }
        self.tape.truncate(TAPE_LEN);
    }
}
