//! Prices: dollars on the command line, integer ticks of each symbol's tick size on the
//! chain.

use std::collections::BTreeMap;

use qraft_node::core::exchange::views::SymbolView;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::{Cents, Ticker, Ticks, parse_cents};

use super::output::{dollars, usd};

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

    /// A price in ticks, in cents (a symbol this client does not know counts one cent a
    /// tick, which is what every symbol of a default game has).
    pub fn cents(&self, symbol: Ticker, ticks: Ticks) -> i128 {
        ticks as i128 * self.tick_size(symbol).unwrap_or(1) as i128
    }

    /// `"12.50"`.
    pub fn dollars(&self, symbol: Ticker, ticks: Ticks) -> String {
        dollars(self.cents(symbol, ticks))
    }

    /// `"$12.50"`.
    pub fn usd(&self, symbol: Ticker, ticks: Ticks) -> String {
        usd(self.cents(symbol, ticks))
    }
}

/// Parses a price in dollars (`12.50`, `$12.5`, `1,012`) into ticks of `tick_size` cents,
/// refusing one that is not a whole number of ticks.
pub fn parse_price(text: &str, symbol: Ticker, tick_size: Cents) -> Result<Ticks, String> {
    let cents = parse_cents(text).ok_or_else(|| {
        format!("{text:?} is not a price: write dollars and cents, like 12.50 or $12.50")
    })?;
    if cents <= 0 {
        return Err(format!("the price must be above zero (got {text})"));
    }
    let tick = tick_size.max(1);
    if cents % tick != 0 {
        let below = cents - cents % tick;
        let above = below + tick;
        let nearest = if below > 0 {
            format!("{} or {}", usd(below as i128), usd(above as i128))
        } else {
            usd(above as i128)
        };
        return Err(format!(
            "{} is not a whole number of {symbol}'s ticks ({} each): try {nearest}",
            usd(cents as i128),
            usd(tick as i128)
        ));
    }
    Ok((cents / tick) as Ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    #[test]
    fn prices_parse_into_ticks() {
        assert_eq!(parse_price("12.50", acme(), 1), Ok(1250));
        assert_eq!(parse_price("$12.5", acme(), 1), Ok(1250));
        assert_eq!(parse_price("12", acme(), 1), Ok(1200));
        assert_eq!(parse_price("1,012.05", acme(), 1), Ok(101_205));
        assert_eq!(parse_price("12.50", acme(), 5), Ok(250));
        assert_eq!(parse_price("$12.55", acme(), 5), Ok(251));
    }

    #[test]
    fn prices_off_the_tick_or_nonsense_are_refused_plainly() {
        let err = parse_price("12.53", acme(), 5).unwrap_err();
        assert_eq!(
            err,
            "$12.53 is not a whole number of ACME's ticks ($0.05 each): try $12.50 or $12.55"
        );
        let err = parse_price("0.03", acme(), 5).unwrap_err();
        assert!(err.ends_with("try $0.05"), "{err}");
        assert!(
            parse_price("0", acme(), 1)
                .unwrap_err()
                .contains("above zero")
        );
        assert!(
            parse_price("-1", acme(), 1)
                .unwrap_err()
                .contains("above zero")
        );
        assert!(
            parse_price("12.505", acme(), 1)
                .unwrap_err()
                .contains("not a price")
        );
        assert!(
            parse_price("abc", acme(), 1)
                .unwrap_err()
                .contains("not a price")
        );
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
