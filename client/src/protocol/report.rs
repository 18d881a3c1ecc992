//! What the queries answer: `book`, `portfolio`, `trades`, `leaderboard`, `blocks`,
//! `status`. Money is dollars as a string with two decimals (`"10000.50"`) beside the
//! same amount as an integer: prices in `*_ticks` of the symbol's tick size, cash and
//! values in `*_cents`.

use qraft_node::core::types::{Cents, NodeId, OrderId, Role, Session, Shares, Side, Ticker, Ticks};
use serde::{Deserialize, Serialize};

/// A symbol's order book: bids best (highest) first, asks best (lowest) first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Book {
    pub symbol: Ticker,
    /// The company's name (null if the node did not list the symbol).
    pub name: Option<String>,
    /// `open`, `halted` or `closed`.
    pub session: Option<Session>,
    /// Null if the symbol is not known.
    pub tick_size_cents: Option<Cents>,
    /// The last trade's price (null before the first trade).
    pub last: Option<String>,
    pub last_ticks: Option<Ticks>,
    /// Shares traded today.
    pub volume: Option<Shares>,
    pub bids: Vec<Level>,
    pub asks: Vec<Level>,
}

/// One price level of a book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Level {
    pub price: String,
    pub price_ticks: Ticks,
    pub quantity: Shares,
    /// How many orders are at this price.
    pub orders: u32,
}

/// Your account: cash, positions, open orders and net worth.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    pub name: String,
    pub key: String,
    pub role: Role,
    pub suspended: bool,
    pub cash: String,
    pub cash_cents: Cents,
    /// Cash held for open buy orders.
    pub cash_reserved: String,
    pub cash_reserved_cents: Cents,
    pub net_worth: String,
    pub net_worth_cents: Cents,
    /// The highest nonce the game has seen from your key.
    pub last_nonce: u64,
    pub positions: Vec<Position>,
    pub open_orders: Vec<OpenOrder>,
}

/// Shares of one symbol you hold, at the mark price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub symbol: Ticker,
    /// Negative when short.
    pub shares: i64,
    /// Shares held for open sell orders.
    pub reserved: Shares,
    pub mark_price: String,
    pub mark_price_ticks: Ticks,
    pub value: String,
    pub value_cents: Cents,
}

/// One of your orders resting in a book.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenOrder {
    pub id: OrderId,
    pub symbol: Ticker,
    pub side: Side,
    pub price: String,
    pub price_ticks: Ticks,
    pub remaining: Shares,
    pub original: Shares,
    /// The block it was placed in.
    pub placed_height: u64,
}

/// Recent trades, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trades {
    pub trades: Vec<Trade>,
}

/// A public trade (anonymous): also the `trade` event's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// The trade's number in the game, from 1.
    pub seq: u64,
    pub height: u64,
    /// The block's time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub symbol: Ticker,
    pub price: String,
    pub price_ticks: Ticks,
    pub quantity: Shares,
    /// The side of the order that made the trade.
    pub aggressor: Side,
}

/// The rules in force and every set the game has had (`qraft rules`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RulesReport {
    pub in_force: qraft_node::core::genesis::Rules,
    /// The block from which they are in force (0: the genesis's).
    pub since_height: u64,
    /// Every set of rules, the genesis's first, with the block each came into force.
    pub history: Vec<qraft_node::core::exchange::rules::RuleChange>,
}

/// Students, then bots, each group ranked on its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// What the rows are ranked by: `return`, `rounds` or `worth`.
    pub ranked_by: String,
    /// Whether the game's rules hide the leaderboard until the end (then `rows` is
    /// empty).
    pub hidden: bool,
    pub rows: Vec<Ranked>,
}

/// One row of the leaderboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Within its group: students (traders) and bots are ranked apart.
    pub rank: u32,
    pub name: String,
    pub role: Role,
    pub net_worth: String,
    pub net_worth_cents: Cents,
    pub cash: String,
    pub cash_cents: Cents,
    /// What it was given: its worth when it joined plus cash the admin added.
    pub start_worth: String,
    pub start_worth_cents: Cents,
    /// Return since the start, as a percentage with two decimals (`"+12.50"`), and in
    /// basis points.
    pub return_pct: String,
    pub return_bps: i64,
    /// The average of its round ranks (`"1.50"`), once a round it took part in closed.
    pub round_rank_average: Option<String>,
    /// Its rank in each closed round it took part in, rounds counted from 1.
    pub round_ranks: Vec<RoundRank>,
}

/// A participant's rank and return in one round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundRank {
    pub round: u32,
    pub rank: u32,
    pub return_pct: String,
}

/// The latest block headers, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Blocks {
    pub blocks: Vec<BlockHeader>,
}

/// A block's header: also the `block` event's fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockHeader {
    pub height: u64,
    /// How many transactions it holds.
    pub txs: u32,
    pub hash: String,
    pub prev_hash: String,
    /// Its time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The node that proposed it.
    pub proposer: NodeId,
    /// The digest of the game's state after it.
    pub state_digest: String,
}

/// The connected node's consensus state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Its address.
    pub node: String,
    pub node_id: NodeId,
    /// `leader`, `follower`, `candidate`, `pre-candidate` or `learner`.
    pub role: String,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub commit_index: u64,
    pub applied_index: u64,
    pub last_index: u64,
    /// The chain's height and head.
    pub height: u64,
    pub head_hash: String,
    pub state_digest: String,
    pub voters: Vec<NodeId>,
    pub learners: Vec<NodeId>,
    /// Transactions waiting for a block.
    pub mempool: u64,
    pub inflight_batches: u64,
    /// How far the other nodes have the log (as the leader knows it).
    pub peers: Vec<Peer>,
    pub game: String,
    pub chain_id: String,
}

/// How far one other node has the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peer {
    pub id: NodeId,
    pub matched: u64,
    pub next: u64,
    pub active: bool,
}
