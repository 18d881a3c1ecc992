//! What a session prints without being asked: `ready` once connected, subscription
//! events (`block`, `trade`, `fill`, `book`, `lagged`, `closed`) and the connection's
//! own (`reconnected`, `disconnected`). `qraft blocks --follow --json` prints `block`
//! and `reconnected` events too.

use qraft_node::core::types::{OrderId, Shares, Side, Ticker, Ticks};
use serde::{Deserialize, Serialize};

use super::report::{BlockHeader, Trade};

/// An event line, tagged by `"event"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The session is connected and reads commands.
    Ready {
        /// The node's address.
        node: String,
        /// The session's key.
        key: String,
        game: String,
        chain_id: String,
    },
    /// A new block.
    Block(BlockHeader),
    /// A trade, anonymous.
    Trade(Trade),
    /// Your side of a trade.
    Fill(Fill),
    /// These symbols' books changed (`all`: every book did): query `book` again.
    Book { symbols: Vec<Ticker>, all: bool },
    /// The session fell behind and missed events: re-query what you show.
    Lagged { missed: u64 },
    /// The subscription ended and could not be opened again: `subscribe` again.
    Closed { error: String },
    /// The node was lost; the session (or `blocks --follow`) moved to another.
    Reconnected {
        /// The new node's address.
        node: String,
        /// The lost node's address.
        lost: String,
        /// Why the old connection was given up.
        error: String,
    },
    /// No node answered within `--timeout`: the session ends.
    Disconnected { error: String },
}

/// Your side of a trade (`fill` event).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fill {
    pub height: u64,
    /// The block's time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub symbol: Ticker,
    pub side: Side,
    pub price: String,
    pub price_ticks: Ticks,
    pub quantity: Shares,
    /// Your order's id.
    pub order: OrderId,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_are_tagged_and_read_back() {
        let event = Event::Lagged { missed: 4 };
        let value = serde_json::to_value(&event).ok();
        assert_eq!(value, Some(json!({"event": "lagged", "missed": 4})));
        let back: Option<Event> = value.and_then(|v| serde_json::from_value(v).ok());
        assert_eq!(back, Some(event));
        let book = Event::Book {
            symbols: vec![Ticker::new("ACME").expect("a ticker")],
            all: false,
        };
        assert_eq!(
            serde_json::to_value(&book).ok(),
            Some(json!({"event": "book", "symbols": ["ACME"], "all": false}))
        );
    }
}
