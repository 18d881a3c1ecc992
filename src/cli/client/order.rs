//! `qraft order` and `qraft cancel`: trading.

use clap::{Args, ValueEnum};
use qraft_client::session::Turn;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::{OrderId, Shares, Side, Ticker};

use super::connect::{CommonArgs, Ctx};
use super::output::{Failure, Report};
use super::settle::run_transaction_cli;
use super::submit::transact;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    Buy,
    Sell,
}

impl From<SideArg> for Side {
    fn from(side: SideArg) -> Side {
        match side {
            SideArg::Buy => Side::Buy,
            SideArg::Sell => Side::Sell,
        }
    }
}

#[derive(Debug, Args)]
pub struct OrderArgs {
    /// buy or sell.
    #[arg(value_enum)]
    pub side: SideArg,
    /// The symbol, like ACME.
    pub symbol: Ticker,
    /// How many shares (whole shares).
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub quantity: u64,
    /// Limit price in dollars ("12.50" or "$12.50"), a whole number of the symbol's
    /// ticks: trade at this price or better, and rest in the book for the rest. Without
    /// it, a market order: trade now at the best prices within the price band.
    #[arg(long, value_name = "PRICE")]
    pub limit: Option<String>,
    /// Immediate-or-cancel: trade what you can now at --limit or better, cancel the rest.
    #[arg(long, requires = "limit")]
    pub ioc: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// An order as the CLI and sessions describe it: price in dollars, not yet in ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderSpec {
    pub side: Side,
    pub symbol: Ticker,
    pub quantity: Shares,
    pub limit: Option<String>,
    pub ioc: bool,
}

pub fn run_order(args: OrderArgs) -> anyhow::Result<()> {
    let spec = OrderSpec {
        side: args.side.into(),
        symbol: args.symbol,
        quantity: args.quantity,
        limit: args.limit,
        ioc: args.ioc,
    };
    run_transaction_cli(args.common, |ctx| async move {
        place(&ctx, spec, &mut None).await
    })
}

/// Places an order and reports what it did.
/// A session's order goes in `turn` (see [`Turn`]).
pub async fn place(ctx: &Ctx, spec: OrderSpec, turn: &mut Option<Turn>) -> Result<Report, Failure> {
    if spec.quantity == 0 {
        return Err(Failure::error("the quantity must be at least 1 share"));
    }
    ctx.check_symbol(spec.symbol).await?;
    let kind = match (&spec.limit, spec.ioc) {
        (None, false) => OrderKind::Market,
        (None, true) => {
            return Err(Failure::error(
                "an immediate-or-cancel order needs a limit price",
            ));
        }
        (Some(text), ioc) => {
            let price = ctx.parse_price(spec.symbol, text).await?;
            if ioc {
                OrderKind::ImmediateOrCancel { price }
            } else {
                OrderKind::Limit { price }
            }
        }
    };
    let body = TxBody::Order(NewOrder {
        symbol: spec.symbol,
        side: spec.side,
        quantity: spec.quantity,
        kind,
    });
    transact(ctx, body, turn).await
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The order to cancel: its number as `qraft portfolio` shows it (42 or #42).
    #[arg(value_parser = parse_order_id, required_unless_present = "all", conflicts_with = "all")]
    pub order: Option<OrderId>,
    /// Cancel all your open orders (only those in --symbol, if given).
    #[arg(long)]
    pub all: bool,
    /// With --all: only your orders in this symbol.
    #[arg(long, requires = "all", value_name = "SYMBOL")]
    pub symbol: Option<Ticker>,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What to cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelTarget {
    One(OrderId),
    All(Option<Ticker>),
}

fn parse_order_id(text: &str) -> Result<OrderId, String> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| format!("{text:?} is not an order number (like 42)"))
}

pub fn run_cancel(args: CancelArgs) -> anyhow::Result<()> {
    let target = match args.order {
        Some(order) => CancelTarget::One(order),
        None => CancelTarget::All(args.symbol),
    };
    run_transaction_cli(args.common, |ctx| async move {
        cancel(&ctx, target, &mut None).await
    })
}

/// Cancels one order or all of them, and reports which were cancelled.
pub async fn cancel(
    ctx: &Ctx,
    target: CancelTarget,
    turn: &mut Option<Turn>,
) -> Result<Report, Failure> {
    let body = match target {
        CancelTarget::One(order) => TxBody::Cancel { order },
        CancelTarget::All(symbol) => {
            if let Some(symbol) = symbol {
                ctx.check_symbol(symbol).await?;
            }
            TxBody::CancelAll { symbol }
        }
    };
    transact(ctx, body, turn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_may_have_a_hash() {
        assert_eq!(parse_order_id("42"), Ok(42));
        assert_eq!(parse_order_id("#42"), Ok(42));
        assert!(parse_order_id("x").is_err());
    }
}
