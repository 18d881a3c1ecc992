//! What a transaction did, in words, as the dashboard shows it: the receipt sentences of
//! [`qraft_client::describe`] as notices, and my fills.

use qraft_node::core::exchange::receipt::Receipt;
use qraft_node::core::tx::{AdminAction, Scope, TxBody};
use qraft_node::core::types::{Cents, Side, Ticker};

use qraft_client::describe::Tone;
pub use qraft_client::describe::{admin_text, cancel_text, order_text};

use crate::action::MyFill;
use crate::format::{count, price_usd};
use crate::state::NoticeKind;

/// The outcome of `body` applied in block `height`: how the notice looks, and its sentence.
pub fn outcome(
    body: &TxBody,
    receipt: &Receipt,
    height: u64,
    tick_size: impl Fn(Ticker) -> Cents,
) -> (NoticeKind, String) {
    let (tone, text) = qraft_client::describe::outcome(body, receipt, height, tick_size);
    let kind = match tone {
        Tone::Success => NoticeKind::Success,
        Tone::Warning => NoticeKind::Warning,
        Tone::Error => NoticeKind::Error,
    };
    (kind, text)
}

/// My resting orders that traded: "Filled: sold 5 ACME at $12.60 (order #42)".
pub fn fills(fills: &[MyFill], tick_size: impl Fn(Ticker) -> Cents) -> Option<String> {
    let parts: Vec<String> = fills
        .iter()
        .map(|f| {
            let verb = match f.side {
                Side::Buy => "bought",
                Side::Sell => "sold",
            };
            format!(
                "{verb} {} {} at {} (order #{})",
                count(f.quantity as i128),
                f.symbol,
                price_usd(f.price, tick_size(f.symbol)),
                f.order
            )
        })
        .collect();
    (!parts.is_empty()).then(|| format!("Filled: {}", parts.join("; ")))
}

/// A short label for a transaction about to be sent: `buy 10 ACME @ $12.50`.
pub fn label(body: &TxBody, tick_size: impl Fn(Ticker) -> Cents) -> String {
    match body {
        TxBody::Order(order) => crate::state::ticket::describe(order, tick_size(order.symbol)),
        TxBody::Cancel { order } => format!("cancel #{order}"),
        TxBody::CancelAll { symbol: None } => "cancel all".into(),
        TxBody::CancelAll { symbol: Some(s) } => format!("cancel all {s}"),
        TxBody::Admin(action) => match action {
            AdminAction::Open(s) => scoped("open", s),
            AdminAction::Halt(s) => scoped("halt", s),
            AdminAction::Resume(s) => scoped("resume", s),
            AdminAction::Close(s) => scoped("close", s),
            AdminAction::News { .. } => "news".into(),
            AdminAction::AddParticipant(p) => format!("add {}", p.name),
            AdminAction::EndGame => "end game".into(),
            AdminAction::RemoveNode { id } => format!("remove node {id}"),
            AdminAction::SetNodeAddress { id, address } => format!("node {id} at {address}"),
            AdminAction::SetRules(_) => "set rules".into(),
            _ => "admin".into(),
        },
    }
}

fn scoped(verb: &str, scope: &Scope) -> String {
    match scope {
        Scope::All => format!("{verb} market"),
        Scope::Symbol(s) => format!("{verb} {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::exchange::receipt::{Effect, Outcome};
    use qraft_node::core::exchange::reject::Rejection;
    use qraft_node::core::hash::Hash32;
    use qraft_node::core::tx::{NewOrder, OrderKind};

    #[test]
    fn notices_take_the_outcome_s_tone() {
        let body = TxBody::Order(NewOrder {
            symbol: Ticker::new("ACME").unwrap(),
            side: Side::Buy,
            quantity: 1,
            kind: OrderKind::Market,
        });
        let rejected = Receipt {
            tx: Hash32::ZERO,
            outcome: Outcome::Rejected(Rejection::MarketHalted),
        };
        assert_eq!(outcome(&body, &rejected, 9, |_| 1).0, NoticeKind::Error);
        let admin = Receipt {
            tx: Hash32::ZERO,
            outcome: Outcome::Accepted(Effect::Admin),
        };
        assert_eq!(outcome(&body, &admin, 9, |_| 1).0, NoticeKind::Success);
    }

    #[test]
    fn fills_read_as_a_sentence() {
        let fill = MyFill {
            symbol: Ticker::new("ACME").unwrap(),
            side: Side::Sell,
            price: 1260,
            quantity: 5,
            order: 42,
        };
        assert_eq!(
            fills(&[fill], |_| 1).as_deref(),
            Some("Filled: sold 5 ACME at $12.60 (order #42)")
        );
        assert_eq!(fills(&[], |_| 1), None);
    }

    fn order(quantity: u64, kind: OrderKind) -> TxBody {
        TxBody::Order(NewOrder {
            symbol: Ticker::new("ACME").unwrap(),
            side: Side::Buy,
            quantity,
            kind,
        })
    }

    #[test]
    fn labels() {
        assert_eq!(
            label(
                &order(10, OrderKind::ImmediateOrCancel { price: 1250 }),
                |_| 1
            ),
            "buy 10 ACME @ $12.50 IOC"
        );
        assert_eq!(
            label(&order(5, OrderKind::Market), |_| 1),
            "buy 5 ACME at market"
        );
        assert_eq!(
            label(&TxBody::CancelAll { symbol: None }, |_| 1),
            "cancel all"
        );
    }
}
