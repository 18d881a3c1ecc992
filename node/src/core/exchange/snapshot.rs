//! Snapshot and restore.
//!
//! A snapshot is the postcard encoding of the exchange's state in a canonical shape:
//! symbols and accounts in index order, resting orders in id order (which is their time
//! priority), bounded market history. Restoring rebuilds the books and indexes and
//! recomputes the digest from scratch, so a restored exchange proves it holds the same
//! state by producing the same digest.

use std::collections::{BTreeMap, VecDeque};

use qraft_keys::PublicKey;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::account::Account;
use super::book::{NewResting, OrderBooks};
use super::digest::Lanes;
use super::receipt::Trade;
use super::rules::RuleChange;
use super::schedule::{ScenarioRun, ScenarioRunSnapshot};
use super::symbol::SymbolState;
use super::views::NewsItem;
use super::{Exchange, ExchangeError};
use crate::core::genesis::NodeSpec;
use crate::core::hash::Hash32;
use crate::core::types::{Cents, NodeId, Role, Session, Shares};

const SNAPSHOT_VERSION: u32 = 5;

#[derive(Serialize, Deserialize)]
struct SnapshotV2 {
    version: u32,
    /// Every set of rules in force so far, the genesis's first; the last is in force.
    rule_changes: Vec<RuleChange>,
    session: Session,
    game_over: bool,
    next_order_id: u64,
    next_trade_seq: u64,
    height: u64,
    timestamp_ms: u64,
    symbols: Vec<SymbolState>,
    accounts: Vec<AccountSnapshot>,
    orders: Vec<NewResting>,
    recent_trades: Vec<Trade>,
    news: Vec<NewsItem>,
    nodes: Vec<NodeSpec>,
    removed_nodes: Vec<NodeId>,
    scenario: Option<ScenarioRunSnapshot>,
    report: Option<Hash32>,
    digest: Hash32,
}

#[derive(Serialize, Deserialize)]
struct AccountSnapshot {
    key: PublicKey,
    name: String,
    role: Role,
    suspended: bool,
    cash: Cents,
    cash_reserved: Cents,
    last_nonce: u64,
    /// The block times of its orders in the last minute, while orders are rate-limited.
    recent_orders: Vec<u64>,
    commissions_paid: Cents,
    contributed: Cents,
    dividends: Cents,
    round_start_worth: Cents,
    round_returns: Vec<(u16, i64)>,
    /// (symbol index, shares, reserved), non-zero only.
    positions: Vec<(u16, i64, Shares)>,
}

impl Exchange {
    /// The state as bytes. Take it between blocks (after `end_block`).
    pub fn snapshot(&self) -> Vec<u8> {
        let accounts = self
            .accounts
            .iter()
            .map(|a| AccountSnapshot {
                key: a.key,
                name: a.name.clone(),
                role: a.role,
                suspended: a.suspended,
                cash: a.cash,
                cash_reserved: a.cash_reserved,
                last_nonce: a.last_nonce,
                recent_orders: a.recent_orders.iter().copied().collect(),
                commissions_paid: a.commissions_paid,
                contributed: a.contributed,
                dividends: a.dividends,
                round_start_worth: a.round_start_worth,
                round_returns: a.round_returns.clone(),
                positions: a
                    .positions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.shares != 0 || p.reserved != 0)
                    .map(|(i, p)| (i as u16, p.shares, p.reserved))
                    .collect(),
            })
            .collect();
        let orders = self
            .books
            .all_slots_by_id()
            .into_iter()
            .map(|slot| {
                let o = self.books.get(slot);
                NewResting {
                    id: o.id,
                    account: o.account,
                    symbol: o.symbol,
                    side: o.side,
                    price: o.price,
                    remaining: o.remaining,
                    original: o.original,
                    placed_height: o.placed_height,
                    fee_per_share: o.fee_per_share,
                    fee_due: o.fee_due,
                }
            })
            .collect();
        let snapshot = SnapshotV2 {
            version: SNAPSHOT_VERSION,
            rule_changes: self.rule_changes.clone(),
            session: self.session,
            game_over: self.game_over,
            next_order_id: self.next_order_id,
            next_trade_seq: self.next_trade_seq,
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            symbols: self.symbols.clone(),
            accounts,
            orders,
            recent_trades: self.recent_trades.iter().cloned().collect(),
            news: self.news.iter().cloned().collect(),
            nodes: self.nodes.clone(),
            removed_nodes: self.removed_nodes.iter().copied().collect(),
            scenario: self.scenario.as_ref().map(ScenarioRun::to_snapshot),
            report: self.report,
            digest: self.digest,
        };
        postcard::to_stdvec(&snapshot).expect("encoding into a Vec cannot fail")
    }

    /// Rebuilds an exchange from [`Exchange::snapshot`] bytes, checking that the state is
    /// consistent and that its recomputed digest matches the one recorded.
    pub fn restore(bytes: &[u8]) -> Result<Exchange, ExchangeError> {
        let bad = |m: String| ExchangeError::BadSnapshot(m);
        let s: SnapshotV2 = postcard::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
        if s.version != SNAPSHOT_VERSION {
            return Err(bad(format!("version {} is not supported", s.version)));
        }
        let mut symbol_index = BTreeMap::new();
        let mut books = OrderBooks::default();
        for (i, symbol) in s.symbols.iter().enumerate() {
            if symbol_index.insert(symbol.spec.ticker, i as u16).is_some() {
                return Err(bad(format!("symbol {} appears twice", symbol.spec.ticker)));
            }
            books.add_symbol();
        }
        let mut account_index = FxHashMap::default();
        let mut accounts = Vec::with_capacity(s.accounts.len());
        for (i, a) in s.accounts.into_iter().enumerate() {
            if account_index.insert(a.key, i as u32).is_some() {
                return Err(bad(format!("participant {} appears twice", a.name)));
            }
            let mut account = Account::new(a.key, a.name, a.role, a.cash);
            account.suspended = a.suspended;
            account.cash_reserved = a.cash_reserved;
            account.last_nonce = a.last_nonce;
            account.recent_orders = VecDeque::from(a.recent_orders);
            account.commissions_paid = a.commissions_paid;
            account.contributed = a.contributed;
            account.dividends = a.dividends;
            account.round_start_worth = a.round_start_worth;
            if a.round_returns.len() > crate::core::scenario::MAX_ROUNDS {
                return Err(bad(format!("participant {i} has too many round results")));
            }
            account.round_returns = a.round_returns;
            for (symbol, shares, reserved) in a.positions {
                if symbol as usize >= s.symbols.len() {
                    return Err(bad(format!("position in unknown symbol {symbol}")));
                }
                let position = account.position_mut(symbol as usize);
                position.shares = shares;
                position.reserved = reserved;
            }
            books.ensure_account(i as u32);
            accounts.push(account);
        }
        let mut node_ids = std::collections::BTreeSet::new();
        for node in &s.nodes {
            if node.id == 0 || !node_ids.insert(node.id) {
                return Err(bad(format!("node id {} is zero or appears twice", node.id)));
            }
        }
        let mut last_id = 0;
        for o in s.orders {
            if o.id <= last_id || o.id >= s.next_order_id {
                return Err(bad(format!("order #{} is out of sequence", o.id)));
            }
            if o.account as usize >= accounts.len() || o.symbol as usize >= s.symbols.len() {
                return Err(bad(format!(
                    "order #{} names an unknown account or symbol",
                    o.id
                )));
            }
            if o.remaining == 0 || o.price == 0 {
                return Err(bad(format!("order #{} is empty", o.id)));
            }
            last_id = o.id;
            books.insert(o);
        }
        let Some(rules) = s.rule_changes.last().map(|c| c.rules.clone()) else {
            return Err(bad("no rules are in force".into()));
        };
        if s.rule_changes.len() > super::MAX_RULE_CHANGES {
            return Err(bad(format!("{} sets of rules", s.rule_changes.len())));
        }
        let scenario = match s.scenario {
            Some(run) => Some(ScenarioRun::from_snapshot(run).map_err(bad)?),
            None => None,
        };
        let mut exchange = Exchange {
            rules,
            rule_changes: s.rule_changes,
            session: s.session,
            game_over: s.game_over,
            symbols: s.symbols,
            symbol_index,
            accounts,
            account_index,
            books,
            next_order_id: s.next_order_id,
            next_trade_seq: s.next_trade_seq,
            recent_trades: VecDeque::from(s.recent_trades),
            news: VecDeque::from(s.news),
            removed_nodes: s.removed_nodes.into_iter().collect(),
            nodes: s.nodes,
            scenario,
            report: s.report,
            height: s.height,
            timestamp_ms: s.timestamp_ms,
            block_trades: Vec::new(),
            block_steps: 0,
            dirty_accounts: Vec::new(),
            accumulator: Lanes::ZERO,
            digest: Hash32::ZERO,
            issued: Default::default(),
        };
        exchange.issued = exchange.issued_from_state();
        exchange.reset_digest();
        if exchange.digest != s.digest {
            return Err(bad(format!(
                "recomputed state digest {} differs from the recorded {}",
                exchange.digest.short(16),
                s.digest.short(16)
            )));
        }
        Ok(exchange)
    }
}
