//! My account as last heard from the node.

use qraft_node::core::exchange::views::{AccountView, OrderView};
use qraft_node::core::types::{Cents, Side, Ticker, Ticks};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    pub view: Option<AccountView>,
    /// The open orders panel's cursor.
    pub cursor: usize,
}

impl AccountState {
    pub fn orders(&self) -> &[OrderView] {
        self.view.as_ref().map_or(&[], |a| &a.open_orders)
    }

    pub fn selected_order(&self) -> Option<&OrderView> {
        self.orders().get(self.cursor)
    }

    /// Cash not held for open buy orders.
    pub fn free_cash(&self) -> Option<Cents> {
        self.view.as_ref().map(|a| a.cash - a.cash_reserved)
    }

    /// Shares of `ticker` held and not in open sell orders (negative when short).
    pub fn free_shares(&self, ticker: Ticker) -> i64 {
        self.view
            .as_ref()
            .and_then(|a| a.positions.iter().find(|p| p.symbol == ticker))
            .map_or(0, |p| p.shares - p.reserved as i64)
    }

    pub fn shares(&self, ticker: Ticker) -> i64 {
        self.view
            .as_ref()
            .and_then(|a| a.positions.iter().find(|p| p.symbol == ticker))
            .map_or(0, |p| p.shares)
    }

    /// Whether one of my open orders rests at this price on this side.
    pub fn has_order_at(&self, ticker: Ticker, side: Side, price: Ticks) -> bool {
        self.orders()
            .iter()
            .any(|o| o.symbol == ticker && o.side == side && o.price == price)
    }

    /// Keeps the cursor on a row that exists.
    pub fn clamp_cursor(&mut self) {
        let len = self.orders().len();
        self.cursor = self.cursor.min(len.saturating_sub(1));
    }
}
