//! The order ticket, and the checks every order passes before it is signed (from the
//! ticket or the command line).

use qraft_node::core::genesis::Rules;
use qraft_node::core::tx::{NewOrder, OrderKind};
use qraft_node::core::types::{Cents, Session, Side, Ticker};

use super::account::AccountState;
use super::market::MarketState;
use super::notice::Notice;
use crate::format::{count, parse_price, usd};

/// A field of the ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Side,
    Symbol,
    Quantity,
    Price,
    Ioc,
}

impl Field {
    const ALL: [Field; 5] = [
        Field::Side,
        Field::Symbol,
        Field::Quantity,
        Field::Price,
        Field::Ioc,
    ];

    pub fn next(self) -> Field {
        let i = Field::ALL.iter().position(|f| *f == self).unwrap_or(0);
        Field::ALL[(i + 1) % Field::ALL.len()]
    }

    pub fn prev(self) -> Field {
        let i = Field::ALL.iter().position(|f| *f == self).unwrap_or(0);
        Field::ALL[(i + Field::ALL.len() - 1) % Field::ALL.len()]
    }
}

/// The order ticket: what is typed, and the answer to the last order sent from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub side: Side,
    pub symbol: String,
    pub quantity: String,
    /// Empty for a market order.
    pub price: String,
    pub ioc: bool,
    pub field: Field,
    /// The request sent from the ticket and not answered yet.
    pub pending: Option<u64>,
    /// The answer to the last order sent from the ticket.
    pub result: Option<Notice>,
}

impl Default for Ticket {
    fn default() -> Self {
        Ticket {
            side: Side::Buy,
            symbol: String::new(),
            quantity: String::new(),
            price: String::new(),
            ioc: false,
            field: Field::Quantity,
            pending: None,
            result: None,
        }
    }
}

impl Ticket {
    pub fn input(&self) -> OrderInput<'_> {
        OrderInput {
            side: self.side,
            symbol: &self.symbol,
            quantity: &self.quantity,
            price: &self.price,
            ioc: self.ioc,
        }
    }

    /// The text of the field being edited, if it holds text.
    pub fn text_mut(&mut self) -> Option<&mut String> {
        match self.field {
            Field::Symbol => Some(&mut self.symbol),
            Field::Quantity => Some(&mut self.quantity),
            Field::Price => Some(&mut self.price),
            Field::Side | Field::Ioc => None,
        }
    }
}

/// An order as typed, before its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderInput<'a> {
    pub side: Side,
    pub symbol: &'a str,
    pub quantity: &'a str,
    /// Dollars; empty for a market order.
    pub price: &'a str,
    pub ioc: bool,
}

/// What the checks say about an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The order to sign, or why it cannot be sent.
    pub order: Result<NewOrder, String>,
    /// Sent anyway, but likely to be rejected (or worth knowing).
    pub warnings: Vec<String>,
    /// Roughly what the order trades for, in cents.
    pub estimate: Option<Cents>,
}

/// Checks an order against the game's rules and what is known of the market and my
/// account. Errors stop it; warnings (not enough free cash or shares, market closed)
/// do not, since the node's view may be newer than ours.
pub fn check(
    input: OrderInput<'_>,
    market: &MarketState,
    account: &AccountState,
    rules: &Rules,
) -> Checked {
    let mut warnings = Vec::new();
    let order = build(input, market, rules);
    let mut estimate = None;
    if let Ok(order) = &order {
        let symbol = order.symbol;
        let tick = market.tick_size(symbol);
        let view = market.symbol(symbol);
        let price = match order.kind {
            OrderKind::Limit { price } | OrderKind::ImmediateOrCancel { price } => Some(price),
            OrderKind::Market => {
                let touch = view.and_then(|v| match order.side {
                    Side::Buy => v.best_ask,
                    Side::Sell => v.best_bid,
                });
                if touch.is_none() {
                    let book = match order.side {
                        Side::Buy => "asks",
                        Side::Sell => "bids",
                    };
                    warnings.push(format!(
                        "{symbol} has no {book}: a market order would not trade"
                    ));
                }
                touch.or_else(|| view.map(|v| v.last_price.unwrap_or(v.reference_price)))
            }
        };
        if let Some(price) = price {
            let value = order.quantity as i128 * price as i128 * tick as i128;
            estimate = Some(value.clamp(0, i64::MAX as i128) as Cents);
        }
        match order.side {
            Side::Buy => {
                if let (Some(free), Some(needed)) = (account.free_cash(), estimate)
                    && needed > free
                {
                    warnings.push(format!(
                        "not enough cash: this order needs {} but you have {} free",
                        usd(needed as i128),
                        usd(free as i128)
                    ));
                }
            }
            Side::Sell => {
                let free = account.free_shares(symbol);
                let after = free - order.quantity as i64;
                if account.view.is_some() && after < 0 {
                    if !rules.short_selling {
                        warnings.push(format!(
                            "not enough shares: you want to sell {} {symbol} but have {} free to sell",
                            count(order.quantity as i128),
                            count(free.max(0) as i128)
                        ));
                    } else if after.unsigned_abs() > rules.max_short_shares {
                        warnings.push(format!(
                            "short selling limit: you may be short at most {} {symbol}; this order could take you to {} short",
                            count(rules.max_short_shares as i128),
                            count(after.unsigned_abs() as i128)
                        ));
                    }
                }
            }
        }
        if market.game_over {
            warnings.push("the game has ended: no more orders are accepted".into());
        } else {
            match market.session_of(symbol) {
                Session::Open => {}
                Session::Closed => warnings.push(format!("{symbol} is closed for trading")),
                Session::Halted => warnings.push(format!("trading in {symbol} is halted")),
            }
        }
    }
    Checked {
        order,
        warnings,
        estimate,
    }
}

fn build(input: OrderInput<'_>, market: &MarketState, rules: &Rules) -> Result<NewOrder, String> {
    let text = input.symbol.trim();
    if text.is_empty() {
        return Err("which symbol? type one, like ACME".into());
    }
    let symbol = Ticker::new(text).map_err(|e| e.to_string())?;
    let Some(view) = market.symbol(symbol) else {
        let known: Vec<&str> = market.symbols.iter().map(|s| s.ticker.as_str()).collect();
        return Err(format!(
            "there is no symbol {symbol} in this game (there are {})",
            known.join(", ")
        ));
    };
    let quantity_text = input.quantity.trim().replace([',', '_'], "");
    if quantity_text.is_empty() {
        return Err("how many shares? type a quantity".into());
    }
    let quantity: u64 = quantity_text.parse().map_err(|_| {
        format!(
            "{:?} is not a quantity: type a whole number of shares",
            input.quantity.trim()
        )
    })?;
    if quantity == 0 {
        return Err("the quantity must be at least 1 share".into());
    }
    if quantity > rules.max_order_shares {
        return Err(format!(
            "orders are limited to {} shares; this one is for {}",
            count(rules.max_order_shares as i128),
            count(quantity as i128)
        ));
    }
    let price_text = input.price.trim();
    let kind = if price_text.is_empty() {
        if input.ioc {
            return Err("an immediate-or-cancel order needs a limit price".into());
        }
        OrderKind::Market
    } else {
        let price = parse_price(price_text, symbol, view.tick_size)?;
        if input.ioc {
            OrderKind::ImmediateOrCancel { price }
        } else {
            OrderKind::Limit { price }
        }
    };
    Ok(NewOrder {
        symbol,
        side: input.side,
        quantity,
        kind,
    })
}

/// `buy 10 ACME @ $12.50 IOC`, `sell 5 ACME at market`.
pub fn describe(order: &NewOrder, tick_size: Cents) -> String {
    let what = format!(
        "{} {} {}",
        order.side,
        count(order.quantity as i128),
        order.symbol
    );
    match order.kind {
        OrderKind::Limit { price } => {
            format!("{what} @ {}", crate::format::price_usd(price, tick_size))
        }
        OrderKind::ImmediateOrCancel { price } => format!(
            "{what} @ {} IOC",
            crate::format::price_usd(price, tick_size)
        ),
        OrderKind::Market => format!("{what} at market"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;

    fn input<'a>(side: Side, symbol: &'a str, quantity: &'a str, price: &'a str) -> OrderInput<'a> {
        OrderInput {
            side,
            symbol,
            quantity,
            price,
            ioc: false,
        }
    }

    fn run(i: OrderInput<'_>) -> Checked {
        let s = sample::state();
        check(i, &s.market, &s.account, &s.rules)
    }

    #[test]
    fn a_good_limit_order_passes_with_its_cost() {
        let c = run(input(Side::Buy, "acme", "10", "12.50"));
        let order = c.order.unwrap();
        assert_eq!(order.symbol.as_str(), "ACME");
        assert_eq!(order.kind, OrderKind::Limit { price: 1250 });
        assert_eq!(c.estimate, Some(12_500));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn bad_orders_say_why() {
        let err = |i| run(i).order.unwrap_err();
        assert!(err(input(Side::Buy, "ZZZ", "1", "")).starts_with("there is no symbol ZZZ"));
        assert_eq!(
            err(input(Side::Buy, "ACME", "0", "")),
            "the quantity must be at least 1 share"
        );
        assert_eq!(
            err(input(Side::Buy, "ACME", "20000", "")),
            "orders are limited to 10,000 shares; this one is for 20,000"
        );
        assert!(err(input(Side::Buy, "ACME", "ten", "")).contains("not a quantity"));
        assert!(err(input(Side::Buy, "ACME", "1", "12.505")).contains("not a price"));
        assert!(err(input(Side::Buy, "", "1", "")).starts_with("which symbol"));
        let ioc = OrderInput {
            ioc: true,
            ..input(Side::Buy, "ACME", "1", "")
        };
        assert_eq!(err(ioc), "an immediate-or-cancel order needs a limit price");
    }

    #[test]
    fn prices_must_be_whole_ticks() {
        // BOLT trades in 5-cent ticks in the sample state.
        let c = run(input(Side::Sell, "BOLT", "1", "15.02"));
        assert_eq!(
            c.order.unwrap_err(),
            "$15.02 is not a whole number of BOLT's ticks ($0.05 each): try $15.00 or $15.05"
        );
    }

    #[test]
    fn not_enough_cash_or_shares_is_a_warning() {
        let c = run(input(Side::Buy, "ACME", "10000", "12.50"));
        assert!(c.order.is_ok());
        assert!(c.warnings[0].starts_with("not enough cash: this order needs $125,000.00"));
        let c = run(input(Side::Sell, "CHIP", "500", "20"));
        assert!(c.order.is_ok());
        assert_eq!(
            c.warnings,
            ["not enough shares: you want to sell 500 CHIP but have 100 free to sell"]
        );
    }

    #[test]
    fn a_halted_symbol_is_a_warning() {
        let c = run(input(Side::Buy, "DYNA", "1", "30"));
        assert_eq!(c.warnings, ["trading in DYNA is halted"]);
    }

    #[test]
    fn market_orders_estimate_at_the_touch() {
        let c = run(input(Side::Buy, "ACME", "10", ""));
        assert_eq!(c.order.unwrap().kind, OrderKind::Market);
        assert_eq!(c.estimate, Some(12_510));
    }
}
