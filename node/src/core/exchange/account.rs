//! Participant accounts: cash, positions and what open orders hold.

use qraft_keys::PublicKey;

use super::digest::Lanes;
use crate::core::types::{Cents, Role, Shares};

/// Shares of one symbol.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Negative when short.
    pub shares: i64,
    /// Shares held for open sell orders.
    pub reserved: Shares,
    /// Digest bookkeeping: the leaf folded into the digest (none while the position is
    /// empty), and whether it is stale.
    pub committed: Option<Lanes>,
    pub dirty: bool,
}

impl Position {
    pub fn is_empty(&self) -> bool {
        self.shares == 0 && self.reserved == 0
    }
}

/// One participant's account.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub key: PublicKey,
    pub name: String,
    pub role: Role,
    pub suspended: bool,
    pub cash: Cents,
    /// Cash held for open buy orders (never more than `cash`).
    pub cash_reserved: Cents,
    /// Indexed by symbol index; shorter than the symbol list means zero beyond.
    pub positions: Vec<Position>,
    /// The last nonce used; a new transaction must have a greater one.
    pub last_nonce: u64,
    /// The block times of the orders placed in the last minute, oldest first, while the
    /// rules limit orders per minute (at most that many).
    pub recent_orders: std::collections::VecDeque<u64>,
    /// Every commission it paid, in cents.
    pub commissions_paid: Cents,
    /// What it was given: its worth when it joined (cash and holdings at the prices
    /// then) plus every cash adjustment since. Its return is measured against this.
    pub contributed: Cents,
    /// Dividends received, less what short positions paid, in cents.
    pub dividends: Cents,
    /// Its worth at settlement prices when the current round opened.
    pub round_start_worth: Cents,
    /// Its return in each round that closed while it was in the game: (round, basis
    /// points), at most [`MAX_ROUNDS`](crate::core::scenario::MAX_ROUNDS).
    pub round_returns: Vec<(u16, i64)>,
    /// Digest bookkeeping: the core leaf folded into the digest, whether it is stale, and
    /// whether the (unchanging) identity leaf has been folded in.
    pub committed: Lanes,
    pub dirty: bool,
    pub identity_committed: bool,
}

impl Account {
    pub fn new(key: PublicKey, name: String, role: Role, cash: Cents) -> Account {
        Account {
            key,
            name,
            role,
            suspended: false,
            cash,
            cash_reserved: 0,
            positions: Vec::new(),
            last_nonce: 0,
            recent_orders: std::collections::VecDeque::new(),
            commissions_paid: 0,
            contributed: cash,
            dividends: 0,
            round_start_worth: cash,
            round_returns: Vec::new(),
            committed: Lanes::ZERO,
            dirty: true,
            identity_committed: false,
        }
    }

    pub fn position(&self, symbol: usize) -> Position {
        self.positions.get(symbol).copied().unwrap_or_default()
    }

    /// A position to change; marks it for the digest. The caller also touches the account.
    pub fn position_mut(&mut self, symbol: usize) -> &mut Position {
        if self.positions.len() <= symbol {
            self.positions.resize(symbol + 1, Position::default());
        }
        let position = &mut self.positions[symbol];
        position.dirty = true;
        position
    }

    pub fn free_cash(&self) -> Cents {
        self.cash - self.cash_reserved
    }
}
