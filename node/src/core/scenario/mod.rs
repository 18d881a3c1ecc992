//! Scenarios: the story a game tells, written by the teacher and applied by the ledger.
//!
//! A scenario is part of the [`Genesis`](super::genesis::Genesis) (so its hash is in the
//! chain id): rounds that open, close and settle by themselves, and events at set game
//! times: news, a change in a symbol's fundamental value, a dividend, a halt or resume, a
//! rule change. Game time counts from the scenario's start: the first block, or the block
//! with the admin's [`AdminAction::StartScenario`](super::tx::AdminAction::StartScenario).
//! The exchange applies everything due at the start of each block, from the block's
//! timestamp, so every node applies the same steps at the same height, `qraft verify`
//! replays them, and no admin key has to be online. (The leader proposes an empty block
//! when a step falls due and nobody trades, so steps are never late by more than a tick.)
//!
//! Everything here is public: every laptop holds the genesis. What only the teacher may
//! know until the end is the scenario's secret: the genesis holds its
//! [`SecretCommitment`], and the report reveals the text, which anyone can check against it.
//!
//! - [`timeline`]: the scenario as one ordered list of [`Step`]s at game times.
//! - [`secret`]: the commitment to the secret and its check.
//! - [`duration`]: game times as people write them (`"2m30s"`).

pub mod duration;
pub mod secret;
pub mod timeline;

use serde::{Deserialize, Serialize};

use super::tx::Scope;
use super::types::{Cents, Shares, Ticker, Ticks};

pub use secret::{ScenarioSecret, SecretCommitment};
pub use timeline::{Step, Timeline};

/// The most rounds a scenario may have: a lesson has a handful; each round's result is
/// kept for every participant, so this bounds that record.
pub const MAX_ROUNDS: usize = 50;
/// The most scheduled events a scenario may have: a ten-minute case has a dozen; this
/// bounds the genesis and the work a block can be given.
pub const MAX_EVENTS: usize = 500;
/// The longest news text, in bytes: a paragraph a student reads in half a minute.
pub const MAX_NEWS_TEXT_BYTES: usize = 1_000;
/// The longest scenario description (the briefing shown before the game), in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 4_000;
/// The longest a scenario may last, from its start to the end of its last round or its
/// last event: a school week.
pub const MAX_SCENARIO_MS: u64 = 7 * 24 * 3_600_000;
/// The shortest round: long enough to place an order and see it trade.
pub const MIN_ROUND_MS: u64 = 10_000;
/// The largest dividend, per share, in cents ($1,000.00), far from any overflow.
pub const MAX_DIVIDEND: Cents = 100_000;

/// When game time starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScenarioStart {
    /// At the game's first block (a demo, a bot league).
    #[default]
    FirstBlock,
    /// At the block holding the admin's `StartScenario` (a class waits for its students).
    ByAdmin,
}

/// One round: trading opens when it starts and closes when it ends, when every
/// participant's result for the round is recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    pub name: String,
    /// How long trading is open, in ms of block time.
    pub length_ms: u64,
    /// The pause after it, market closed, before the next round opens.
    pub break_ms: u64,
}

/// What a scheduled event does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    /// A news item every participant sees, about one symbol or the whole market.
    News {
        symbol: Option<Ticker>,
        headline: String,
        text: String,
    },
    /// What one share of `symbol` is worth from now on, in ticks: what house value
    /// traders trade toward, and the price a round settles at.
    Value { symbol: Ticker, value: Ticks },
    /// Cash per share paid to every holder of `symbol`; a short position pays it.
    Dividend { symbol: Ticker, per_share: Cents },
    /// Trading stops (cancels still work).
    Halt(Scope),
    /// Trading goes on after a halt.
    Resume(Scope),
    /// Changes the rules named, from this block on, as an admin's `SetRules` would.
    Rules(RulesPatch),
}

/// A change to some of the rules; `None` leaves a rule as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesPatch {
    pub short_selling: Option<bool>,
    pub max_short_shares: Option<Shares>,
    pub max_order_shares: Option<Shares>,
    pub price_band_bps: Option<u32>,
    pub max_position_shares: Option<Shares>,
    pub max_orders_per_minute: Option<u32>,
    pub commission_per_order: Option<Cents>,
    pub commission_per_share: Option<Cents>,
    pub leaderboard_hidden: Option<bool>,
}

impl RulesPatch {
    /// `rules` with this patch's changes.
    pub fn applied_to(&self, rules: &super::genesis::Rules) -> super::genesis::Rules {
        let mut out = rules.clone();
        if let Some(v) = self.short_selling {
            out.short_selling = v;
        }
        if let Some(v) = self.max_short_shares {
            out.max_short_shares = v;
        }
        if let Some(v) = self.max_order_shares {
            out.max_order_shares = v;
        }
        if let Some(v) = self.price_band_bps {
            out.price_band_bps = v;
        }
        if let Some(v) = self.max_position_shares {
            out.max_position_shares = v;
        }
        if let Some(v) = self.max_orders_per_minute {
            out.max_orders_per_minute = v;
        }
        if let Some(v) = self.commission_per_order {
            out.commission_per_order = v;
        }
        if let Some(v) = self.commission_per_share {
            out.commission_per_share = v;
        }
        if let Some(v) = self.leaderboard_hidden {
            out.leaderboard_hidden = v;
        }
        out
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == RulesPatch::default()
    }
}

/// An event at a game time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledEvent {
    /// Game time, ms from the scenario's start.
    pub at_ms: u64,
    pub event: Event,
}

/// A whole scenario, as the genesis holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    /// The briefing participants read before they trade.
    pub description: String,
    pub start: ScenarioStart,
    /// In order; none for a game without rounds (the market follows the admin).
    pub rounds: Vec<Round>,
    /// In the order they happen (stable: events at the same time keep the file's order).
    pub events: Vec<ScheduledEvent>,
    /// Whether the game ends when the last round closes.
    pub end_after_last_round: bool,
    /// The commitment to what only the scenario's author sees until the report.
    pub secret: Option<SecretCommitment>,
}

impl Scenario {
    /// When round `index` opens and closes, in game time.
    pub fn round_window(&self, index: usize) -> Option<(u64, u64)> {
        let mut open = 0u64;
        for (i, round) in self.rounds.iter().enumerate() {
            let close = open.saturating_add(round.length_ms);
            if i == index {
                return Some((open, close));
            }
            open = close.saturating_add(round.break_ms);
        }
        None
    }

    /// When the last round closes, in game time (none without rounds).
    pub fn rounds_end_ms(&self) -> Option<u64> {
        self.rounds
            .len()
            .checked_sub(1)
            .and_then(|last| self.round_window(last))
            .map(|(_, close)| close)
    }
}
