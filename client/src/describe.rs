//! What a transaction did, in words: receipts, cancels, administration (pure). The CLI and
//! the dashboard say what an order and a cancel did with [`order_text`] and
//! [`cancel_text`] (the dashboard through [`outcome`]); the CLI's administration
//! sentences are longer (keys, action names) than the status line's [`admin_text`].

use qraft_node::core::exchange::receipt::{Effect, Fill, OrderResult, Outcome, Receipt};
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, Scope, TxBody};
use qraft_node::core::types::{Cents, OrderId, Shares, Side, Ticker, Ticks};

use crate::format::{count, price_usd, usd};

/// How an outcome should look: good news, a warning (accepted, but nothing happened), or
/// an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Success,
    Warning,
    Error,
}

/// The outcome of `body` applied in block `height`: how it looks, and the sentence.
pub fn outcome(
    body: &TxBody,
    receipt: &Receipt,
    height: u64,
    tick_size: impl Fn(Ticker) -> Cents,
) -> (Tone, String) {
    match (&receipt.outcome, body) {
        (Outcome::Rejected(rejection), _) => (
            Tone::Error,
            format!("Rejected in block {height}: {rejection}"),
        ),
        (Outcome::Accepted(Effect::Order(result)), TxBody::Order(order)) => {
            let tick = tick_size(order.symbol);
            let kind = if result.filled() > 0 || result.resting > 0 {
                Tone::Success
            } else {
                Tone::Warning
            };
            (kind, order_text(order, result, height, tick))
        }
        (Outcome::Accepted(Effect::Cancelled(cancelled)), _) => {
            (Tone::Success, cancel_text(cancelled, height))
        }
        (Outcome::Accepted(Effect::Admin), TxBody::Admin(action)) => (
            Tone::Success,
            format!("{} (block {height})", admin_text(action)),
        ),
        (Outcome::Accepted(_), _) => (Tone::Success, format!("Accepted in block {height}")),
    }
}

fn limit_of(kind: OrderKind) -> Option<Ticks> {
    match kind {
        OrderKind::Limit { price } | OrderKind::ImmediateOrCancel { price } => Some(price),
        OrderKind::Market => None,
    }
}

/// "10 ACME at $12.50", or "10 ACME for $124.70: 4 at $12.45, 6 at $12.50".
fn fills_text(symbol: Ticker, fills: &[Fill], tick: Cents) -> String {
    let shares: Shares = fills.iter().map(|f| f.quantity).sum();
    let mut by_price: Vec<(Ticks, Shares)> = Vec::new();
    for fill in fills {
        match by_price.iter_mut().find(|(p, _)| *p == fill.price) {
            Some((_, q)) => *q += fill.quantity,
            None => by_price.push((fill.price, fill.quantity)),
        }
    }
    if let [(price, _)] = by_price.as_slice() {
        return format!(
            "{} {symbol} at {}",
            count(shares as i128),
            price_usd(*price, tick)
        );
    }
    let value: i128 = fills
        .iter()
        .map(|f| f.price as i128 * tick as i128 * f.quantity as i128)
        .sum();
    let parts: Vec<String> = by_price
        .iter()
        .map(|(p, q)| format!("{} at {}", count(*q as i128), price_usd(*p, tick)))
        .collect();
    format!(
        "{} {symbol} for {}: {}",
        count(shares as i128),
        usd(value),
        parts.join(", ")
    )
}

/// What an accepted order did, in a sentence.
pub fn order_text(order: &NewOrder, result: &OrderResult, height: u64, tick: Cents) -> String {
    let symbol = order.symbol;
    let id = result.order;
    let filled = result.filled();
    let verb = match order.side {
        Side::Buy => "Bought",
        Side::Sell => "Sold",
    };
    let limit = limit_of(order.kind);
    let at = || limit.map_or_else(|| "?".into(), |p| price_usd(p, tick));
    let traded =
        (filled > 0).then(|| format!("{verb} {}", fills_text(symbol, &result.fills, tick)));
    let reason = result
        .cancel_reason
        .map_or_else(|| "nothing to trade with".to_string(), |r| r.to_string());
    match traded {
        Some(traded) if filled >= order.quantity => {
            format!("{traded} (order #{id} filled in block {height})")
        }
        Some(traded) if result.resting > 0 => format!(
            "{traded}; order #{id} rests: {} {} more at {} (block {height})",
            order.side,
            count(result.resting as i128),
            at(),
        ),
        Some(traded) => format!(
            "{traded}; the other {} were cancelled: {reason} (order #{id}, block {height})",
            count(result.cancelled as i128)
        ),
        None if result.resting > 0 => format!(
            "Order #{id} rests: {} {} {symbol} at {} (block {height})",
            order.side,
            count(result.resting as i128),
            at(),
        ),
        None => format!(
            "Nothing traded: {reason}; order #{id} to {} {} {symbol} was cancelled (block {height})",
            order.side,
            count(order.quantity as i128)
        ),
    }
}

/// What a cancel did, in a sentence.
pub fn cancel_text(cancelled: &[(OrderId, Shares)], height: u64) -> String {
    match cancelled {
        [] => format!("Nothing was cancelled (block {height})"),
        [(order, shares)] => format!(
            "Cancelled order #{order} ({} shares were open) in block {height}",
            count(*shares as i128)
        ),
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|(o, s)| format!("#{o} ({})", count(*s as i128)))
                .collect();
            format!(
                "Cancelled {} orders in block {height}: {}",
                many.len(),
                list.join(", ")
            )
        }
    }
}

/// What an administration transaction did.
pub fn admin_text(action: &AdminAction) -> String {
    let on = |scope: &Scope, all: &str, one: &str| match scope {
        Scope::All => all.to_string(),
        Scope::Symbol(s) => one.replace("{}", s.as_str()),
    };
    match action {
        AdminAction::Open(s) => on(s, "The market is open", "{} is open"),
        AdminAction::Halt(s) => on(s, "Trading is halted", "Trading in {} is halted"),
        AdminAction::Resume(s) => on(s, "Trading resumed", "Trading in {} resumed"),
        AdminAction::Close(s) => on(s, "The market is closed", "{} is closed"),
        AdminAction::AddParticipant(p) => format!(
            "Added {} ({}) with {} cash",
            p.name,
            p.role,
            usd(p.cash as i128)
        ),
        AdminAction::News { headline } => format!("Published: {headline}"),
        AdminAction::EndGame => "The game has ended; the leaderboard is final".into(),
        AdminAction::SuspendParticipant { key } => format!("Suspended {key}"),
        AdminAction::ReinstateParticipant { key } => format!("Reinstated {key}"),
        AdminAction::RemoveNode { id } => format!(
            "Node {id} is removed from the game: every node cuts it off, and the leader takes it out of the cluster"
        ),
        AdminAction::SetNodeAddress { id, address } => {
            format!("Node {id} is reached at {address} from now on")
        }
        AdminAction::SetRules(rules) => format!("New rules in force: {}", rules_text(rules)),
        _ => "Done".into(),
    }
}

/// The rules in a line: `orders up to 500 shares, positions up to 2,000, 30 orders a
/// minute, no short selling, price band 10%`.
pub fn rules_text(rules: &qraft_node::core::genesis::Rules) -> String {
    let mut parts = vec![format!("orders up to {} shares", rules.max_order_shares)];
    parts.push(match rules.max_position_shares {
        0 => "no position limit".to_owned(),
        n => format!("positions up to {n} shares"),
    });
    parts.push(match rules.max_orders_per_minute {
        0 => "no limit on orders a minute".to_owned(),
        n => format!("{n} orders a minute"),
    });
    parts.push(match rules.short_selling {
        true => format!("short selling up to {} shares", rules.max_short_shares),
        false => "no short selling".to_owned(),
    });
    parts.push(format!(
        "price band {}.{:02}%",
        rules.price_band_bps / 100,
        rules.price_band_bps % 100
    ));
    if rules.commission_per_order > 0 || rules.commission_per_share > 0 {
        parts.push(format!(
            "commission {} an order and {} a share",
            usd(rules.commission_per_order as i128),
            usd(rules.commission_per_share as i128)
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::exchange::receipt::CancelReason;
    use qraft_node::core::exchange::reject::Rejection;
    use qraft_node::core::hash::Hash32;

    fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    fn buy(quantity: u64, kind: OrderKind) -> TxBody {
        TxBody::Order(NewOrder {
            symbol: acme(),
            side: Side::Buy,
            quantity,
            kind,
        })
    }

    fn receipt(outcome: Outcome) -> Receipt {
        Receipt {
            tx: Hash32::ZERO,
            outcome,
        }
    }

    fn result(fills: &[(u64, u64)], resting: u64, cancelled: u64) -> Outcome {
        Outcome::Accepted(Effect::Order(OrderResult {
            order: 42,
            fills: fills
                .iter()
                .map(|(price, quantity)| Fill {
                    resting_order: 7,
                    price: *price,
                    quantity: *quantity,
                    commission: 0,
                })
                .collect(),
            resting,
            cancelled,
            cancel_reason: (cancelled > 0).then_some(CancelReason::NoMoreLiquidity),
        }))
    }

    #[test]
    fn receipts_read_like_the_cli() {
        let one = |body: &TxBody, outcome| outcome_text(body, outcome);
        let limit = buy(10, OrderKind::Limit { price: 1250 });
        assert_eq!(
            one(&limit, result(&[(1250, 10)], 0, 0)),
            "Bought 10 ACME at $12.50 (order #42 filled in block 9)"
        );
        assert_eq!(
            one(&limit, result(&[(1249, 4), (1250, 2)], 4, 0)),
            "Bought 6 ACME for $74.96: 4 at $12.49, 2 at $12.50; order #42 rests: buy 4 more at $12.50 (block 9)"
        );
        assert_eq!(
            one(&limit, result(&[], 10, 0)),
            "Order #42 rests: buy 10 ACME at $12.50 (block 9)"
        );
        let ioc = buy(10, OrderKind::ImmediateOrCancel { price: 1250 });
        assert_eq!(
            one(&ioc, result(&[], 0, 10)),
            "Nothing traded: no more orders to trade with at an acceptable price; order #42 to buy 10 ACME was cancelled (block 9)"
        );
        assert_eq!(
            one(&limit, Outcome::Rejected(Rejection::MarketHalted)),
            "Rejected in block 9: trading is halted by the game's admin; you can still cancel orders"
        );
        assert_eq!(
            one(
                &TxBody::Cancel { order: 42 },
                Outcome::Accepted(Effect::Cancelled(vec![(42, 10)]))
            ),
            "Cancelled order #42 (10 shares were open) in block 9"
        );
        assert_eq!(
            one(
                &TxBody::Admin(AdminAction::Halt(Scope::All)),
                Outcome::Accepted(Effect::Admin)
            ),
            "Trading is halted (block 9)"
        );
    }

    fn outcome_text(body: &TxBody, o: Outcome) -> String {
        outcome(body, &receipt(o), 9, |_| 1).1
    }
}
