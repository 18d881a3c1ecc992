//! The client protocol: what a participant's client (CLI, TUI over the network, bot) asks
//! a node, and what it answers.
//!
//! Each request travels on its own bidirectional QUIC stream: one request frame, then one
//! response frame (or, for [`Request::Subscribe`], a stream of [`Event`] frames until
//! either side closes it). The caller's identity is its TLS key.
//!
//! What a caller may read: the chain is transparent to the game's members (every laptop
//! holds every block), so `Block`, `Blocks` and `Receipt` answer with any participant's
//! transactions and their signers. The "own" views (`Account`, the `fills` topic) are
//! about the caller's key only, as a convenience, not as secrecy. Someone without a key
//! of the game reads nothing: their handshake is refused.

use serde::{Deserialize, Serialize};

use crate::api::{
    Committed, MembershipChange, NodeStopped, QueryError, Refusal, Status, SubmitError,
};
pub use crate::backfill::check::FullBlock;
use crate::core::block::{Block, BlockHash, BlockHeader};
use crate::core::exchange::Candle;
use crate::core::exchange::receipt::{PublicTrade, Receipt, Trade};
use crate::core::exchange::rules::RuleChange;
use crate::core::exchange::schedule::ScenarioView;
use crate::core::exchange::views::{AccountView, DepthView, LeaderboardRow, NewsItem, SymbolView};
use crate::core::genesis::NodeSpec;
use crate::core::hash::Hash32;
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::{NodeId, Side, Ticker};

/// The most blocks one [`Request::Blocks`] returns.
pub const MAX_BLOCKS_PER_REQUEST: u64 = 100;

/// The most blocks one [`Request::FullBlocks`] returns: 50 full blocks cost a key
/// 1,000 reads of its budget ([`FULL_BLOCK_READS`](super::budget::FULL_BLOCK_READS)
/// each), a second of its sustained share, so a backfill paces itself to its share.
pub const MAX_FULL_BLOCKS_PER_REQUEST: u64 = 50;

/// Bytes of blocks and receipts one [`Request::FullBlocks`] answer holds, at most (one
/// block alone may pass it): half of
/// [`MAX_CLIENT_RESPONSE`](super::frame::MAX_CLIENT_RESPONSE), so a block of the largest
/// batch (1 MiB of transactions) with its receipts never pushes an answer over the frame.
pub const MAX_FULL_BLOCKS_BYTES: usize = 4 << 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Order, cancel or admin action, signed by the caller's own key.
    Submit(SignedTx),
    Status,
    Symbols,
    Depth {
        symbol: Ticker,
        levels: u32,
    },
    Trades {
        symbol: Option<Ticker>,
        limit: u32,
    },
    Candles {
        symbol: Ticker,
    },
    Leaderboard,
    News,
    /// The caller's own account: cash, positions, open orders, last nonce.
    Account,
    /// Block headers with their transaction counts, `from..=to` (at most
    /// [`MAX_BLOCKS_PER_REQUEST`]); `to` is capped at the head.
    Blocks {
        from: u64,
        to: u64,
    },
    /// One whole block with its transactions.
    Block {
        height: u64,
    },
    Receipt {
        hash: TxHash,
    },
    /// Events from now on, on this stream.
    Subscribe(Topics),
    /// Admin only, on the leader: change the cluster's membership.
    Membership(MembershipChange),
    /// Opens a submission pipeline on this stream: after [`Response::PipelineOpen`], the
    /// client writes [`SignedTx`] frames and the node answers each with a
    /// [`SubmitOutcome`] frame as it completes. Transactions reach the node in the order
    /// they were written, so a bot can keep many in flight with increasing nonces.
    Pipeline,
    /// The node registry: every node that may join (genesis's and those the admin added).
    Nodes,
    /// Whole blocks with every receipt, from `to` down to `from`, highest first (at most
    /// [`MAX_FULL_BLOCKS_PER_REQUEST`] and [`MAX_FULL_BLOCKS_BYTES`]): what a node that
    /// installed a snapshot fetches to backfill the blocks before it. The answer stops
    /// early at a block this node does not hold whole; empty if it holds none of them.
    FullBlocks {
        from: u64,
        to: u64,
    },
    /// The rules in force, and every earlier set with the height it came into force.
    Rules,
    /// The game's scenario and how far it has run (none for a free market).
    Scenario,
    /// The end-of-game report's hash the admin recorded, if any, at the node's head:
    /// what `qraft report --check` compares a report with.
    ReportHash,
}

/// The answer to one transaction of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    pub hash: TxHash,
    pub result: Result<CommittedView, PipelineFailure>,
}

/// Why a pipelined transaction has no receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PipelineFailure {
    #[error("{0}")]
    Submit(SubmitFailure),
    #[error("{0}")]
    Protocol(ProtocolError),
}

/// What a subscription carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topics {
    pub blocks: bool,
    pub trades: bool,
    pub book: bool,
    /// The caller's own fills.
    pub fills: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Committed(CommittedView),
    SubmitFailed(SubmitFailure),
    Status(Status),
    Symbols(Vec<SymbolView>),
    Depth(Option<DepthView>),
    Trades(Vec<PublicTrade>),
    Candles(Option<Vec<Candle>>),
    Leaderboard(Vec<LeaderboardRow>),
    News(Vec<NewsItem>),
    Account(Option<AccountView>),
    Blocks(Vec<BlockSummary>),
    Block(Option<Block>),
    Receipt(Option<ReceiptView>),
    /// The subscription is open; events follow.
    Subscribed,
    MembershipProposed,
    /// The submission pipeline is open.
    PipelineOpen,
    /// The request was refused: why, for a person to read.
    Error(ProtocolError),
    Nodes(Vec<NodeSpec>),
    FullBlocks(Vec<FullBlock>),
    /// Every set of rules the game has had, the genesis's first (at most
    /// [`MAX_RULE_CHANGES`](crate::core::exchange::MAX_RULE_CHANGES)).
    Rules(Vec<RuleChange>),
    Scenario(Option<Box<ScenarioView>>),
    ReportHash(RecordedReport),
}

/// The report hash a game holds ([`Request::ReportHash`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedReport {
    /// The hash the admin recorded (`AdminAction::RecordReport`), if one was.
    pub hash: Option<Hash32>,
    /// The node's head when it answered.
    pub height: u64,
}

/// A transaction's receipt once applied, as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedView {
    pub height: u64,
    pub block_hash: BlockHash,
    pub index: u32,
    pub receipt: Receipt,
}

impl From<Committed> for CommittedView {
    fn from(c: Committed) -> Self {
        CommittedView {
            height: c.height,
            block_hash: c.block_hash,
            index: c.index,
            receipt: c.receipt,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum SubmitFailure {
    #[error("{0}")]
    Refused(Refusal),
    #[error(
        "no answer in time: the outcome of {0} is unknown; look up its receipt before resubmitting"
    )]
    Timeout(TxHash),
    /// [`NodeStopped`] on the wire (a unit variant: its place is its wire tag).
    #[error("{}", NodeStopped)]
    Stopped,
}

impl From<NodeStopped> for SubmitFailure {
    fn from(NodeStopped: NodeStopped) -> Self {
        SubmitFailure::Stopped
    }
}

impl From<SubmitError> for SubmitFailure {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::Refused(r) => SubmitFailure::Refused(r),
            SubmitError::Timeout { hash, .. } => SubmitFailure::Timeout(hash),
            SubmitError::Stopped(stopped) => SubmitFailure::from(stopped),
        }
    }
}

/// A stored receipt with where its transaction landed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub height: u64,
    pub index: u32,
    pub receipt: Receipt,
}

/// A block header with its hash: what `qraft blocks` lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockSummary {
    pub hash: BlockHash,
    pub header: BlockHeader,
}

impl BlockSummary {
    pub fn of(block: &Block) -> BlockSummary {
        BlockSummary {
            hash: block.hash(),
            header: block.header.clone(),
        }
    }
}

/// One of the caller's own fills.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnFill {
    pub height: u64,
    pub timestamp_ms: u64,
    pub symbol: Ticker,
    pub side: Side,
    pub price: crate::core::types::Ticks,
    pub quantity: crate::core::types::Shares,
    pub order: crate::core::types::OrderId,
}

impl OwnFill {
    /// The caller's side of `trade`, if it took part.
    pub fn of(trade: &Trade, me: &qraft_keys::PublicKey) -> Option<OwnFill> {
        let (side, order) = if trade.buyer == *me {
            (Side::Buy, trade.buy_order)
        } else if trade.seller == *me {
            (Side::Sell, trade.sell_order)
        } else {
            return None;
        };
        Some(OwnFill {
            height: trade.height,
            timestamp_ms: trade.timestamp_ms,
            symbol: trade.symbol,
            side,
            price: trade.price,
            quantity: trade.quantity,
            order,
        })
    }
}

/// What a subscription stream carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Block(BlockSummary),
    Trade(PublicTrade),
    BookChanged {
        symbols: Vec<Ticker>,
        all: bool,
    },
    Fill(OwnFill),
    /// The subscriber fell behind and missed events: re-query what it shows. The node
    /// ends the subscription after it ([`Event::Closed`]): subscribe again.
    Lagged {
        missed: u64,
    },
    /// The node ends this subscription (the last event on the stream): why, for a person
    /// to read. Subscribe again to go on.
    Closed {
        reason: String,
    },
}

/// Why a request was refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ProtocolError {
    #[error("this transaction is signed by another key than the one you connected with")]
    NotYourTransaction,
    #[error("only the game's admin can do that")]
    NotAdmin,
    #[error("this node is not the leader; the leader is node {leader:?}")]
    NotLeader { leader: Option<NodeId> },
    #[error("{0}")]
    Invalid(String),
    /// [`NodeStopped`] on the wire (a unit variant: its place is its wire tag).
    #[error("{}", NodeStopped)]
    Stopped,
    /// The node has more requests than it takes at once: ask again shortly.
    #[error("the node is busy; try again shortly")]
    Busy,
    /// The caller asked for blocks or receipts faster than its share of this node
    /// allows (`net::budget`): ask again in a moment.
    #[error(
        "you are asking for blocks and receipts faster than your share of this node; ask again in a moment"
    )]
    OverBudget,
    /// A transaction, or an answer, over its size limit.
    #[error("{len} bytes is over the limit of {max} bytes")]
    TooLarge { len: u64, max: u64 },
}

impl From<NodeStopped> for ProtocolError {
    fn from(NodeStopped: NodeStopped) -> Self {
        ProtocolError::Stopped
    }
}

impl From<QueryError> for ProtocolError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Busy => ProtocolError::Busy,
            QueryError::Stopped(stopped) => ProtocolError::from(stopped),
        }
    }
}

/// A block's hash (re-exported for clients that only need the type).
pub type Digest = Hash32;
