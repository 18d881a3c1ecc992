//! The dashboard's state: plain data, no IO handles. [`crate::update::update`] changes
//! it; the views only read it.
//!
//! - [`panel`]: the panels, their Tab order and the pages a small terminal shows.
//! - [`market`]: symbols, the selected symbol's book and candles, trades, news, leaders.
//! - [`admin`]: the teacher panel's actions.
//! - [`class`]: the Class panel's view of the class (`qraft class`) and its selection.
//! - [`rule_history`]: every set of rules the game has had, and when each came into force.
//! - [`account`]: my account (cash, positions, open orders) and my P&L.
//! - [`ticket`]: the order entry form and its validation.
//! - [`prompt`]: the `:` command line being typed, with history.
//! - [`chain`]: the block feed and my submit-to-commit times.
//! - [`cluster`]: every node's consensus state and reachability.
//! - [`notice`]: messages for the status line and the connection banner.
//! - [`scenario`]: the scenario's rounds as a clock (round, time left, break, game over).

pub mod account;
pub mod admin;
pub mod chain;
pub mod class;
pub mod cluster;
pub mod market;
pub mod notice;
pub mod panel;
pub mod prompt;
pub mod rule_history;
pub mod scenario;
pub mod ticket;

#[cfg(test)]
pub mod sample;
#[cfg(test)]
pub mod sample_class;
#[cfg(test)]
pub mod sample_rules;
#[cfg(test)]
pub mod sample_scenario;

use std::collections::BTreeMap;

use qraft_client::class::ClassCommand;
use qraft_keys::PublicKey;
use qraft_node::core::exchange::schedule::ScenarioView;
use qraft_node::core::genesis::{Genesis, Rules};
use qraft_node::core::tx::TxBody;
use qraft_node::core::types::{NodeId, Role};

pub use account::AccountState;
pub use admin::AdminItem;
pub use chain::{BlockLine, ChainState};
pub use class::ClassState;
pub use cluster::{ClusterState, NodeRow, Reach};
pub use market::MarketState;
pub use notice::{Notice, NoticeKind};
pub use panel::{Panel, Scrolls};
pub use prompt::Prompt;
pub use rule_history::RuleHistory;
pub use scenario::RoundClock;
pub use ticket::{Field, Ticket};

/// What keys currently drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Navigation between and within panels.
    Normal,
    /// Typing a `:` command.
    Command,
    /// Filling in the order ticket.
    Ticket,
    /// The help overlay.
    Help,
    /// A yes/no question (see [`State::confirm`]).
    Confirm,
}

/// Who is trading from this dashboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    pub key: PublicKey,
    pub name: String,
    pub role: Role,
}

/// Something waiting for a yes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirm {
    pub question: String,
    pub on_yes: OnYes,
}

/// What a yes does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnYes {
    /// Submit the transaction.
    Submit(TxBody),
    /// Send the command to the class service.
    Class(ClassCommand),
}

/// A transaction sent and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub body: TxBody,
    /// What it is, for messages: `buy 10 ACME @ $12.50`.
    pub label: String,
    /// Whether it came from the order ticket (its answer shows there too).
    pub from_ticket: bool,
}

/// Everything the dashboard shows.
#[derive(Clone, Debug)]
pub struct State {
    pub title: String,
    pub game: String,
    pub me: Me,
    /// The rules in force: the genesis's until the node's history says otherwise.
    pub rules: Rules,
    /// Every set of rules the game has had, for the Rules box.
    pub rule_history: RuleHistory,
    /// Milliseconds since the Unix epoch, from the last tick.
    pub now_ms: u64,
    /// The local time zone's offset from UTC, for clocks.
    pub utc_offset_ms: i64,
    pub mode: Mode,
    pub focus: Panel,
    pub scrolls: Scrolls,
    pub market: MarketState,
    pub account: AccountState,
    pub ticket: Ticket,
    pub prompt: Prompt,
    pub chain: ChainState,
    pub cluster: ClusterState,
    /// The latest message for the status line.
    pub message: Option<Notice>,
    pub confirm: Option<Confirm>,
    pub next_request: u64,
    pub pending: BTreeMap<u64, Pending>,
    /// The admin panel's selected action.
    pub admin_cursor: usize,
    /// The class, when the dashboard is the teacher's under `qraft class`.
    pub class: Option<ClassState>,
    /// The game's scenario (rounds and scheduled news), if it has one.
    pub scenario: Option<ScenarioView>,
    /// Whether the projector page (the big leaderboard for a classroom) has the screen.
    pub projector: bool,
    pub quitting: bool,
}

impl State {
    /// The state before anything was heard from the node: the genesis's symbols and my
    /// participant entry.
    pub fn new(genesis: &Genesis, me: PublicKey, node_id: NodeId, title: String) -> State {
        let mut cluster = ClusterState::from_genesis(genesis, node_id);
        cluster.ensure_local(&title);
        let spec = genesis.participants.iter().find(|p| p.key == me);
        let me = Me {
            key: me,
            name: spec.map_or_else(|| "me".to_string(), |p| p.name.clone()),
            role: spec.map_or(Role::Trader, |p| p.role),
        };
        State {
            title,
            game: genesis.game.clone(),
            me,
            rules: genesis.rules.clone(),
            rule_history: RuleHistory::default(),
            now_ms: 0,
            utc_offset_ms: 0,
            mode: Mode::Normal,
            focus: Panel::Watch,
            scrolls: Scrolls::default(),
            market: MarketState::from_genesis(genesis),
            account: AccountState::default(),
            ticket: Ticket::default(),
            prompt: Prompt::default(),
            chain: ChainState::default(),
            cluster,
            message: None,
            confirm: None,
            next_request: 1,
            pending: BTreeMap::new(),
            admin_cursor: 0,
            class: None,
            scenario: None,
            projector: false,
            quitting: false,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.account.view.as_ref().map_or(self.me.role, |a| a.role) == Role::Admin
    }

    /// The panels Tab visits, in order (the admin panel only for the admin, the Class
    /// panel only with a class).
    pub fn panels(&self) -> Vec<Panel> {
        Panel::ORDER
            .iter()
            .copied()
            .filter(|p| match p {
                Panel::Admin => self.is_admin(),
                Panel::Class => self.class.is_some(),
                _ => true,
            })
            .collect()
    }

    /// The number of pages: four, five with a class.
    pub fn pages(&self) -> usize {
        if self.class.is_some() {
            panel::CLASS_PAGE
        } else {
            panel::CLASS_PAGE - 1
        }
    }

    /// Where the game is in its rounds now, if its scenario has rounds.
    pub fn round_clock(&self) -> Option<RoundClock> {
        let view = self.scenario.as_ref()?;
        scenario::round_clock(view, self.now_ms, self.market.game_over)
    }

    /// Sets a message for the status line.
    pub fn say(&mut self, kind: NoticeKind, text: impl Into<String>) {
        self.message = Some(Notice::new(kind, text, self.now_ms));
    }
}
