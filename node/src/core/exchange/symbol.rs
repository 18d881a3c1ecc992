//! A listed symbol's trading state and price history.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::core::tx::SymbolSpec;
use crate::core::types::{Session, Shares, Ticks};

/// How many candles each symbol keeps.
pub const MAX_CANDLES: usize = 720;

/// Open, high, low, close and volume over one interval of block time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candle {
    /// Start of the interval, ms since the Unix epoch.
    pub start_ms: u64,
    pub open: Ticks,
    pub high: Ticks,
    pub low: Ticks,
    pub close: Ticks,
    pub volume: Shares,
}

/// One symbol's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SymbolState {
    pub spec: SymbolSpec,
    pub session: Session,
    pub last_price: Option<Ticks>,
    /// Shares traded since listing.
    pub volume: Shares,
    /// Price history, oldest first.
    pub candles: VecDeque<Candle>,
    /// What one share is worth, in ticks, as the scenario last said (none before it says).
    pub value: Option<Ticks>,
    #[serde(skip)]
    pub dirty: bool,
    #[serde(skip)]
    pub committed: super::digest::Lanes,
}

impl SymbolState {
    pub fn new(spec: SymbolSpec) -> SymbolState {
        SymbolState {
            spec,
            session: Session::Open,
            last_price: None,
            volume: 0,
            candles: VecDeque::new(),
            value: None,
            dirty: true,
            committed: super::digest::Lanes::ZERO,
        }
    }

    /// The last traded price, or the reference price before the first trade.
    pub fn mark_price(&self) -> Ticks {
        self.last_price.unwrap_or(self.spec.reference_price)
    }

    /// The price a round settles at: the fundamental value, else the mark price.
    pub fn settlement_price(&self) -> Ticks {
        super::schedule::settlement_price(self.value, self.mark_price())
    }

    /// Records a trade in the price history.
    pub fn record_trade(
        &mut self,
        price: Ticks,
        quantity: Shares,
        timestamp_ms: u64,
        candle_ms: u64,
    ) {
        self.last_price = Some(price);
        self.volume += quantity;
        self.dirty = true;
        let start_ms = timestamp_ms - timestamp_ms % candle_ms.max(1);
        match self.candles.back_mut() {
            Some(candle) if candle.start_ms == start_ms => {
                candle.high = candle.high.max(price);
                candle.low = candle.low.min(price);
                candle.close = price;
                candle.volume += quantity;
            }
            _ => {
                if self.candles.len() == MAX_CANDLES {
                    self.candles.pop_front();
                }
                self.candles.push_back(Candle {
                    start_ms,
                    open: price,
                    high: price,
                    low: price,
                    close: price,
                    volume: quantity,
                });
            }
        }
    }
}
