//! The exchange: a pure, deterministic matching engine with accounts.
//!
//! Module map:
//! - `account`: cash, positions, reservations.
//! - `book`: resting orders in per-symbol books (price-time priority) and per-account
//!   lists, O(1) to add, fill and cancel.
//! - `symbol`: a symbol's session, last price and candles.
//! - `orders`: placing, matching and cancelling orders.
//! - `admin`: game administration transactions.
//! - [`scoring`]: the leaderboard: return since the start, round ranks, students and
//!   bots apart.
//! - [`schedule`]: the scenario applied: rounds and events at their game times.
//! - [`rules`]: the rules in force, their history, and the limits they set on orders.
//! - `nodes`: the registry of nodes that may join the network.
//! - [`views`]: read-only market data and account views (depth, trades, candles,
//!   leaderboard, portfolio).
//! - [`digest`]: the incremental state digest.
//! - [`invariants`]: what must hold after every block (conservation, reservations, book
//!   structure), checked in debug builds.
//! - [`snapshot`]: snapshot and restore (postcard).
//! - [`receipt`] and [`reject`]: what applying a transaction did, and why it was refused.
//!
//! Use: [`Exchange::begin_block`], then [`Exchange::apply`] for each transaction (whose
//! signature the caller has checked), then [`Exchange::end_block`] for the state digest.
//! Nothing here reads a clock, does IO, draws randomness or touches a float, and no hash
//! map's iteration order reaches an output: the same transactions give the same receipts
//! and the same digest on every node.

mod account;
mod admin;
mod book;
pub mod digest;
pub mod invariants;
mod nodes;
mod orders;
pub mod receipt;
pub mod reject;
pub mod rules;
pub mod schedule;
pub mod scoring;
pub mod snapshot;
mod symbol;
pub mod views;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use qraft_keys::PublicKey;
use rustc_hash::FxHashMap;

use self::account::Account;
use self::book::OrderBooks;
use self::digest::{Globals, Lanes};
use self::invariants::Issued;
use self::receipt::{Outcome, Trade};
use self::reject::Rejection;
use self::symbol::SymbolState;
use super::genesis::{Genesis, NodeSpec, Rules};
use super::hash::Hash32;
use super::tx::{ParticipantSpec, SymbolSpec, Tx, TxBody};
use super::types::{Cents, NodeId, Role, Session, Ticker};

pub use self::receipt::{CancelReason, Effect, Fill, OrderResult, PublicTrade, Receipt};
pub use self::symbol::Candle;
pub use self::views::{
    AccountView, DepthLevel, DepthView, LeaderboardRow, NewsItem, OrderView, PositionView,
    QueuedOrder, SymbolView,
};

/// How many recent trades the exchange keeps for market data.
pub const MAX_RECENT_TRADES: usize = 1_000;
/// How many news items the exchange keeps.
pub const MAX_NEWS: usize = 100;
/// The highest price, in ticks, an order may have.
pub const MAX_PRICE_TICKS: u64 = 1_000_000_000;
/// The largest `max_order_shares` a game may set.
pub const MAX_ORDER_SHARES: u64 = 1_000_000_000;
/// The largest tick size, in cents ($1,000,000.00).
pub const MAX_TICK_SIZE: i64 = 100_000_000;
/// The most cash an account may be given, by genesis or an adjustment, in cents
/// ($1,000,000,000,000.00). With [`MAX_ACCOUNTS`] this keeps every sum of cash far from
/// overflow: trading only moves cash between accounts.
pub const MAX_CASH: i64 = 100_000_000_000_000;
/// The most shares of one symbol an account may start with.
pub const MAX_HOLDING_SHARES: u64 = 1_000_000_000_000;
/// The highest `max_orders_per_minute` a game may set: ten orders a second from every
/// participant is more than a classroom's bots need, and it bounds the block times each
/// account remembers for the limit.
pub const MAX_ORDERS_PER_MINUTE: u32 = 600;
/// The highest commission a game may charge an order, and a share ($1,000.00): far
/// above any lesson's, and it keeps every fee far from overflow.
pub const MAX_COMMISSION: Cents = 100_000;
/// The most rule changes a game records: a teacher changes rules a few times a lesson;
/// each change keeps the rules it set, for everyone to see when what was in force.
pub const MAX_RULE_CHANGES: usize = 256;
/// The most participants a game may have.
pub const MAX_ACCOUNTS: usize = 50_000;

/// Why an exchange could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    #[error("genesis is inconsistent: {0}")]
    BadGenesis(String),
    #[error("snapshot cannot be read: {0}")]
    BadSnapshot(String),
}

/// The whole exchange state.
#[derive(Clone, Debug)]
pub struct Exchange {
    rules: Rules,
    /// Every set of rules in force so far, the genesis's first (never empty once built).
    rule_changes: Vec<rules::RuleChange>,
    session: Session,
    game_over: bool,
    symbols: Vec<SymbolState>,
    symbol_index: BTreeMap<Ticker, u16>,
    accounts: Vec<Account>,
    account_index: FxHashMap<PublicKey, u32>,
    books: OrderBooks,
    next_order_id: u64,
    next_trade_seq: u64,
    recent_trades: VecDeque<Trade>,
    news: VecDeque<NewsItem>,
    nodes: Vec<NodeSpec>,
    /// Registered nodes the admin removed.
    removed_nodes: BTreeSet<NodeId>,
    /// The game's scenario and how far it has run; none for a free market.
    scenario: Option<schedule::ScenarioRun>,
    /// The hash of the end-of-game report, once the admin recorded it.
    report: Option<Hash32>,
    // Block context.
    height: u64,
    timestamp_ms: u64,
    block_trades: Vec<Trade>,
    /// How many scenario steps this block took.
    block_steps: u32,
    // Digest.
    dirty_accounts: Vec<u32>,
    accumulator: Lanes,
    digest: Hash32,
    /// The cash and shares given out, for the conservation invariants.
    issued: Issued,
}

impl Exchange {
    /// The exchange at the start of a game.
    pub fn from_genesis(genesis: &Genesis) -> Result<Exchange, ExchangeError> {
        if genesis.rules.max_order_shares > MAX_ORDER_SHARES {
            return Err(ExchangeError::BadGenesis(format!(
                "max_order_shares may be at most {MAX_ORDER_SHARES}"
            )));
        }
        let mut exchange = Exchange {
            rules: genesis.rules.clone(),
            rule_changes: vec![rules::RuleChange {
                height: 0,
                rules: genesis.rules.clone(),
            }],
            session: if genesis.rules.open_at_start {
                Session::Open
            } else {
                Session::Closed
            },
            game_over: false,
            symbols: Vec::new(),
            symbol_index: BTreeMap::new(),
            accounts: Vec::new(),
            account_index: FxHashMap::default(),
            books: OrderBooks::default(),
            next_order_id: 1,
            next_trade_seq: 1,
            recent_trades: VecDeque::new(),
            news: VecDeque::new(),
            nodes: Vec::new(),
            removed_nodes: BTreeSet::new(),
            scenario: genesis.scenario.as_ref().map(schedule::ScenarioRun::new),
            report: None,
            height: 0,
            timestamp_ms: 0,
            block_trades: Vec::new(),
            block_steps: 0,
            dirty_accounts: Vec::new(),
            accumulator: Lanes::ZERO,
            digest: Hash32::ZERO,
            issued: Issued::default(),
        };
        for spec in &genesis.symbols {
            exchange
                .list_symbol(spec.clone())
                .map_err(|r| ExchangeError::BadGenesis(format!("symbol {}: {r}", spec.ticker)))?;
        }
        for spec in &genesis.participants {
            exchange.add_participant(spec).map_err(|r| {
                ExchangeError::BadGenesis(format!("participant {}: {r}", spec.name))
            })?;
        }
        for node in genesis.voters.iter().chain(&genesis.learners) {
            exchange
                .add_node(node)
                .map_err(|r| ExchangeError::BadGenesis(format!("node {}: {r}", node.name)))?;
        }
        exchange.fold_digest();
        exchange.debug_check_invariants();
        Ok(exchange)
    }

    /// Starts a block: trades and candles use this height and time, and the scenario takes
    /// every step due by `timestamp_ms` ([`schedule`]).
    pub fn begin_block(&mut self, height: u64, timestamp_ms: u64) {
        self.height = height;
        self.timestamp_ms = timestamp_ms;
        self.block_trades.clear();
        self.block_steps = 0;
        self.run_schedule();
    }

    /// Applies one transaction whose signature has been checked. Returns what happened;
    /// a rejected transaction changes nothing but its signer's nonce.
    pub fn apply(&mut self, tx: &Tx) -> Outcome {
        match self.apply_inner(tx) {
            Ok(effect) => Outcome::Accepted(effect),
            Err(rejection) => Outcome::Rejected(rejection),
        }
    }

    fn apply_inner(&mut self, tx: &Tx) -> Result<Effect, Rejection> {
        let account = *self
            .account_index
            .get(&tx.signer)
            .ok_or(Rejection::UnknownSigner)?;
        {
            let acct = &self.accounts[account as usize];
            if tx.nonce <= acct.last_nonce {
                return Err(Rejection::StaleNonce {
                    nonce: tx.nonce,
                    last: acct.last_nonce,
                });
            }
        }
        // From here on the nonce is used, whatever the outcome.
        self.accounts[account as usize].last_nonce = tx.nonce;
        self.touch_account(account);
        let acct = &self.accounts[account as usize];
        let records_report = matches!(
            tx.body,
            TxBody::Admin(super::tx::AdminAction::RecordReport { .. })
        );
        if self.game_over && !records_report {
            return Err(Rejection::GameOver);
        }
        if acct.suspended {
            return Err(Rejection::Suspended);
        }
        let is_admin = acct.role == Role::Admin;
        match &tx.body {
            TxBody::Order(order) => self.place_order(account, order).map(Effect::Order),
            TxBody::Cancel { order } => self.cancel_one(account, *order),
            TxBody::CancelAll { symbol } => self.cancel_all(account, *symbol),
            TxBody::Admin(action) => {
                if !is_admin {
                    return Err(Rejection::NotAdmin);
                }
                self.apply_admin(action).map(|()| Effect::Admin)
            }
        }
    }

    /// Ends a block: folds every change into the state digest and returns it. In debug
    /// builds, first checks every invariant ([`invariants`]) and panics on a broken one.
    pub fn end_block(&mut self) -> Hash32 {
        self.debug_check_invariants();
        self.fold_digest();
        self.digest
    }

    /// The digest as of the last [`Exchange::end_block`].
    pub fn digest(&self) -> Hash32 {
        self.digest
    }

    /// How many scenario steps the current block took (at its start, or with the admin's
    /// start).
    pub fn block_scenario_steps(&self) -> u32 {
        self.block_steps
    }

    /// Trades made since [`Exchange::begin_block`].
    pub fn block_trades(&self) -> &[Trade] {
        &self.block_trades
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn session(&self) -> Session {
        self.session
    }

    pub fn is_game_over(&self) -> bool {
        self.game_over
    }

    /// The hash of the end-of-game report the admin recorded, if any.
    pub fn report_hash(&self) -> Option<Hash32> {
        self.report
    }

    /// The role of a participant, if the key is one.
    pub fn role_of(&self, key: &PublicKey) -> Option<Role> {
        let index = *self.account_index.get(key)?;
        Some(self.accounts[index as usize].role)
    }

    /// The last nonce a participant used (0 before the first transaction).
    pub fn last_nonce(&self, key: &PublicKey) -> Option<u64> {
        let index = *self.account_index.get(key)?;
        Some(self.accounts[index as usize].last_nonce)
    }

    /// Whether a participant is suspended (false for a key that is none).
    pub fn is_suspended(&self, key: &PublicKey) -> bool {
        self.account_index
            .get(key)
            .is_some_and(|&index| self.accounts[index as usize].suspended)
    }

    /// Every participant's key, in the order they joined.
    pub fn participant_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.accounts.iter().map(|a| &a.key)
    }

    /// Every participant's key, name, role and whether suspended, in the order they
    /// joined: the class a next game carries over (`qraft class --next`).
    pub fn members(&self) -> impl Iterator<Item = (&PublicKey, &str, Role, bool)> {
        self.accounts
            .iter()
            .map(|a| (&a.key, a.name.as_str(), a.role, a.suspended))
    }

    /// The keys of suspended participants, in the order they joined.
    pub fn suspended_keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.accounts.iter().filter(|a| a.suspended).map(|a| &a.key)
    }

    // --- Shared helpers -------------------------------------------------------------------

    fn touch_account(&mut self, account: u32) {
        let acct = &mut self.accounts[account as usize];
        if !acct.dirty {
            acct.dirty = true;
            self.dirty_accounts.push(account);
        }
    }

    fn symbol_of(&self, ticker: Ticker) -> Result<u16, Rejection> {
        self.symbol_index
            .get(&ticker)
            .copied()
            .ok_or(Rejection::UnknownSymbol(ticker))
    }

    fn list_symbol(&mut self, spec: SymbolSpec) -> Result<(), Rejection> {
        if self.symbol_index.contains_key(&spec.ticker) {
            return Err(Rejection::DuplicateSymbol(spec.ticker));
        }
        if spec.tick_size <= 0 {
            return Err(Rejection::InvalidSpec(
                "the tick size must be above zero".into(),
            ));
        }
        if spec.reference_price == 0 || spec.reference_price > MAX_PRICE_TICKS {
            return Err(Rejection::InvalidSpec(format!(
                "the reference price must be between 1 and {MAX_PRICE_TICKS} ticks"
            )));
        }
        if spec.name.len() > super::tx::MAX_NAME_BYTES * 2 {
            return Err(Rejection::InvalidSpec(
                "the symbol's name is too long".into(),
            ));
        }
        if self.symbols.len() >= u16::MAX as usize {
            return Err(Rejection::InvalidSpec("too many symbols".into()));
        }
        let index = self.symbols.len() as u16;
        self.symbol_index.insert(spec.ticker, index);
        self.symbols.push(SymbolState::new(spec));
        self.books.add_symbol();
        self.issued.add_symbol();
        Ok(())
    }

    fn add_participant(&mut self, spec: &ParticipantSpec) -> Result<(), Rejection> {
        let name = spec.name.trim();
        if name.is_empty() || name.len() > super::tx::MAX_NAME_BYTES {
            return Err(Rejection::InvalidSpec(format!(
                "a participant's name must be 1 to {} bytes",
                super::tx::MAX_NAME_BYTES
            )));
        }
        if spec.key.verifying_key().is_err() {
            return Err(Rejection::InvalidSpec(
                "the participant's key is not a valid (strong) ed25519 public key".into(),
            ));
        }
        if self.account_index.contains_key(&spec.key) {
            return Err(Rejection::DuplicateKey);
        }
        if let Some(owner) = self.key_owner(&spec.key) {
            return Err(Rejection::KeyInUse(owner));
        }
        if self.accounts.iter().any(|a| a.name == name) {
            return Err(Rejection::DuplicateName(name.to_string()));
        }
        if spec.cash < 0 {
            return Err(Rejection::InvalidSpec(
                "starting cash cannot be negative".into(),
            ));
        }
        let mut account = Account::new(spec.key, name.to_string(), spec.role, spec.cash);
        for (ticker, shares) in &spec.holdings {
            let symbol = self.symbol_of(*ticker)?;
            if *shares > MAX_HOLDING_SHARES {
                return Err(Rejection::InvalidSpec(format!(
                    "a starting holding may have at most {MAX_HOLDING_SHARES} shares"
                )));
            }
            let shares = *shares as i64;
            account.position_mut(symbol as usize).shares += shares;
        }
        self.issued.add_cash(account.cash);
        let mut worth = account.cash as i128;
        for (symbol, position) in account.positions.iter().enumerate() {
            self.issued.add_shares(symbol, position.shares);
            let s = &self.symbols[symbol];
            worth += position.shares as i128 * s.mark_price() as i128 * s.spec.tick_size as i128;
        }
        account.contributed = worth.clamp(0, i64::MAX as i128) as Cents;
        account.round_start_worth = account.contributed;
        let index = self.accounts.len() as u32;
        self.account_index.insert(spec.key, index);
        self.accounts.push(account);
        self.dirty_accounts.push(index);
        self.books.ensure_account(index);
        Ok(())
    }

    fn globals(&self) -> Globals {
        Globals {
            session: self.session,
            game_over: self.game_over,
            next_order_id: self.next_order_id,
            next_trade_seq: self.next_trade_seq,
            accounts: self.accounts.len() as u64,
            symbols: self.symbols.len() as u64,
            nodes: self.nodes.len() as u64,
            rules: Hash32::of(
                "qraft/rules",
                &postcard::to_stdvec(&(&self.rules, self.rule_changes.len() as u64))
                    .expect("encoding into a Vec cannot fail"),
            ),
            scenario: self
                .scenario
                .as_ref()
                .map_or(Hash32::ZERO, schedule::ScenarioRun::digest),
            report: self.report.unwrap_or(Hash32::ZERO),
        }
    }

    fn fold_digest(&mut self) {
        let mut accumulator = self.accumulator;
        for index in std::mem::take(&mut self.dirty_accounts) {
            let account = &mut self.accounts[index as usize];
            if !account.dirty {
                continue;
            }
            account.dirty = false;
            if !account.identity_committed {
                account.identity_committed = true;
                accumulator.add(&digest::account_identity_leaf(index, account));
            }
            let leaf = digest::account_core_leaf(index, account);
            accumulator.sub(&account.committed);
            accumulator.add(&leaf);
            account.committed = leaf;
            for (symbol, position) in account.positions.iter_mut().enumerate() {
                if !position.dirty {
                    continue;
                }
                position.dirty = false;
                if let Some(old) = position.committed.take() {
                    accumulator.sub(&old);
                }
                if !position.is_empty() {
                    let leaf = digest::position_leaf(index, symbol, position);
                    accumulator.add(&leaf);
                    position.committed = Some(leaf);
                }
            }
        }
        for (index, symbol) in self.symbols.iter_mut().enumerate() {
            if symbol.dirty {
                symbol.dirty = false;
                let leaf = digest::symbol_leaf(index, symbol);
                accumulator.sub(&symbol.committed);
                accumulator.add(&leaf);
                symbol.committed = leaf;
            }
        }
        let (added, removed) = self.books.fold_digest(digest::order_leaf);
        accumulator.add(&added);
        accumulator.sub(&removed);
        self.accumulator = accumulator;
        self.digest = digest::finish(&self.accumulator, &self.globals());
    }

    /// Every leaf of one account, for full recomputes.
    fn account_leaves(index: u32, account: &Account) -> Lanes {
        let mut sum = digest::account_identity_leaf(index, account);
        sum.add(&digest::account_core_leaf(index, account));
        for (symbol, position) in account.positions.iter().enumerate() {
            if !position.is_empty() {
                sum.add(&digest::position_leaf(index, symbol, position));
            }
        }
        sum
    }

    /// Recomputes the digest from the whole state, ignoring incremental bookkeeping. Equal
    /// to [`Exchange::digest`] after `end_block`; used by tests and the audit tool.
    pub fn recompute_digest(&self) -> Hash32 {
        let mut accumulator = Lanes::ZERO;
        for (index, account) in self.accounts.iter().enumerate() {
            accumulator.add(&Self::account_leaves(index as u32, account));
        }
        for (index, symbol) in self.symbols.iter().enumerate() {
            accumulator.add(&digest::symbol_leaf(index, symbol));
        }
        for slot in self.books.all_slots_by_id() {
            accumulator.add(&digest::order_leaf(self.books.get(slot)));
        }
        for (index, node) in self.nodes.iter().enumerate() {
            accumulator.add(&digest::node_leaf(index, node));
        }
        for id in &self.removed_nodes {
            accumulator.add(&digest::removed_node_leaf(*id));
        }
        digest::finish(&accumulator, &self.globals())
    }

    /// Marks all state as changed and folds it: the digest from scratch (after a restore).
    fn reset_digest(&mut self) {
        self.accumulator = Lanes::ZERO;
        self.dirty_accounts.clear();
        for (index, account) in self.accounts.iter_mut().enumerate() {
            account.dirty = true;
            account.identity_committed = false;
            account.committed = Lanes::ZERO;
            for position in account.positions.iter_mut() {
                position.dirty = true;
                position.committed = None;
            }
            self.dirty_accounts.push(index as u32);
        }
        for symbol in self.symbols.iter_mut() {
            symbol.dirty = true;
            symbol.committed = Lanes::ZERO;
        }
        let mut orders = Lanes::ZERO;
        self.books.set_all_committed(|node| {
            let leaf = digest::order_leaf(node);
            orders.add(&leaf);
            leaf
        });
        self.accumulator.add(&orders);
        for (index, node) in self.nodes.iter().enumerate() {
            self.accumulator.add(&digest::node_leaf(index, node));
        }
        for id in &self.removed_nodes {
            self.accumulator.add(&digest::removed_node_leaf(*id));
        }
        self.fold_digest();
    }
}
