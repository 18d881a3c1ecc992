//! Prices: dollars on the command line, integer ticks of each symbol's tick size on the
//! chain. Parsing them is the dashboard's `qraft_client::format::parse_price`.

use std::collections::BTreeMap;

use qraft_client::format::price_usd;
use qraft_node::core::exchange::views::SymbolView;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::{Cents, Ticker, Ticks};

use super::output::dollars;

/// The tick size of every symbol this client knows: the genesis ones, and those an admin
/// listed later once the node has told us.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prices {
    tick_sizes: BTreeMap<Ticker, Cents>,
}

impl Prices {
    pub fn from_genesis(genesis: &Genesis) -> Prices {
        Prices {
            tick_sizes: genesis
                .symbols
                .iter()
                .map(|s| (s.ticker, s.tick_size))
                .collect(),
        }
    }

    /// Learns the symbols a node listed.
    pub fn learn(&mut self, symbols: &[SymbolView]) {
        for s in symbols {
            self.tick_sizes.insert(s.ticker, s.tick_size);
        }
    }

    pub fn knows(&self, symbol: Ticker) -> bool {
        self.tick_sizes.contains_key(&symbol)
    }

    pub fn tick_size(&self, symbol: Ticker) -> Option<Cents> {
        self.tick_sizes.get(&symbol).copied()
    }

    /// The tick size to count `symbol`'s prices in: a symbol this client does not know
    /// counts one cent a tick, which is what every symbol of a default game has.
    pub fn tick(&self, symbol: Ticker) -> Cents {
        self.tick_size(symbol).unwrap_or(1)
    }

    /// A price in ticks, in cents.
    pub fn cents(&self, symbol: Ticker, ticks: Ticks) -> i128 {
        qraft_client::format::cents(ticks, self.tick(symbol))
    }

    /// `"12.50"`.
    pub fn dollars(&self, symbol: Ticker, ticks: Ticks) -> String {
        dollars(self.cents(symbol, ticks))
    }

    /// `"$12.50"`.
    pub fn usd(&self, symbol: Ticker, ticks: Ticks) -> String {
        price_usd(ticks, self.tick(symbol))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    #[test]
    fn ticks_render_in_dollars() {
        let mut prices = Prices::default();
        assert_eq!(prices.dollars(acme(), 1250), "12.50");
        prices.tick_sizes.insert(acme(), 5);
        assert_eq!(prices.dollars(acme(), 250), "12.50");
        assert_eq!(prices.usd(acme(), 200_000), "$10,000.00");
    }
}
