//! [`Action`]: everything that can change the state. User intents come from
//! [`crate::input`]; data and answers come from [`crate::feed`]; ticks and resizes from
//! the app shell.

use qraft_client::class::{ClassCommand, ClassView};
use qraft_node::api::Status;
use qraft_node::core::exchange::Candle;
use qraft_node::core::exchange::receipt::{PublicTrade, Receipt};
use qraft_node::core::exchange::rules::RuleChange;
use qraft_node::core::exchange::schedule::ScenarioView;
use qraft_node::core::exchange::views::{
    AccountView, DepthView, LeaderboardRow, NewsItem, SymbolView,
};
use qraft_node::core::types::{NodeId, OrderId, Session, Shares, Side, Ticker, Ticks};

use crate::state::{BlockLine, Panel};

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    // --- User intents -------------------------------------------------------------------
    Quit,
    FocusNext,
    FocusPrev,
    Focus(Panel),
    /// Shows page 1 to 4 (on a small terminal; focuses its first panel everywhere).
    Page(usize),
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    /// Enter in normal mode: act on the selected row.
    Select,
    /// Esc: close what is open, back to normal mode.
    Back,
    OpenCommandLine,
    ToggleHelp,
    /// Opens the order ticket for the selected symbol, on this side (or the last side).
    OpenTicket(Option<Side>),
    /// Cancels the selected open order.
    CancelSelected,
    /// Cancels all my open orders (asks first).
    CancelAll,
    /// Typing in the command line or the ticket.
    Char(char),
    Backspace,
    Delete,
    /// Enter in the command line or the ticket.
    Submit,
    NextField,
    PrevField,
    Paste(String),
    /// The answer to a yes/no question.
    Confirm(bool),
    /// The Class panel: approve the selected seat.
    ApproveSelected,
    /// The Class panel: refuse the selected seat.
    RefuseSelected,
    /// The Class panel: approve every waiting seat.
    ApproveAllWaiting,
    /// The Class panel: close joining (asks first).
    CloseJoining,
    /// The Class panel: open joining again, with a new code.
    ReopenJoining,
    /// The Class panel: make the selected seat's machine a voter (asks first).
    PromoteSelected,
    /// `P`: shows the projector page, or leaves it.
    ToggleProjector,
    /// Time passes: `now` in ms since the Unix epoch.
    Tick(u64),

    // --- From the feed ----------------------------------------------------------------
    Market {
        symbols: Vec<SymbolView>,
        session: Session,
        game_over: bool,
    },
    Depth(DepthView),
    Candles(Ticker, Vec<Candle>),
    /// Every symbol's candles (for the projector page's charts).
    AllCandles(Vec<(Ticker, Vec<Candle>)>),
    /// The game's scenario, if it has one.
    Scenario(Option<Box<ScenarioView>>),
    Account(Option<AccountView>),
    Leaderboard(Vec<LeaderboardRow>),
    /// The latest trades, newest first (replaces the tape).
    TradesSnapshot(Vec<PublicTrade>),
    /// Trades of a new block, oldest first.
    NewTrades(Vec<PublicTrade>),
    /// My side of trades of a new block.
    MyFills(Vec<MyFill>),
    News(Vec<NewsItem>),
    /// Every set of rules the game has had, the genesis's first; the last is in force.
    Rules(Vec<RuleChange>),
    Block(BlockLine),
    /// Recent blocks, newest first (replaces the feed).
    Blocks(Vec<BlockLine>),
    /// A node's status, or why it could not be had.
    NodeStatus {
        id: NodeId,
        result: Result<Status, String>,
        at_ms: u64,
    },
    /// The local node has stopped.
    NodeStopped,
    /// Request `request` was applied in block `height`.
    Committed {
        request: u64,
        height: u64,
        receipt: Receipt,
        latency_ms: u64,
    },
    /// Request `request` was not applied, and will not be: why.
    SubmitFailed {
        request: u64,
        reason: String,
    },
    /// Request `request` had no answer in time; its receipt is being looked for.
    LookingForReceipt {
        request: u64,
    },
    /// Request `request` had no answer, and no receipt turned up: it may still be
    /// applied, or never. `tx` names the transaction (a hash prefix).
    OutcomeUnknown {
        request: u64,
        tx: String,
    },
    /// Request `request` is being sent again: why.
    Retrying {
        request: u64,
        reason: String,
    },

    // --- From the class service (`qraft class`) ----------------------------------------
    /// The class as it is now.
    Class(ClassView),
    /// The class service did not take `command`: why (busy, or gone).
    ClassUnsent {
        command: ClassCommand,
        reason: String,
    },
}

/// One of my fills, as the feed sees it in a block's trades.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MyFill {
    pub symbol: Ticker,
    pub side: Side,
    pub price: Ticks,
    pub quantity: Shares,
    pub order: OrderId,
}
