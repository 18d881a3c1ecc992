//! The scenario, applied: rounds and events at their game times, from block timestamps.
//!
//! [`Exchange::begin_block`](super::Exchange::begin_block) takes every step of the
//! scenario's [`Timeline`] whose time has come by the block's timestamp, before the
//! block's transactions, in timeline order. Nothing here reads a clock: game time is the
//! block time minus the block time the scenario started at, so every node takes the same
//! steps at the same height.
//!
//! Each step is also told to participants as a news item (a dividend, a halt, a round
//! opening), so the ticker shows the whole story.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::Exchange;
use super::MAX_NEWS;
use super::reject::Rejection;
use super::views::NewsItem;
use crate::core::hash::Hash32;
use crate::core::scenario::duration::format_duration;
use crate::core::scenario::{
    Event, MAX_ROUNDS, Scenario, ScenarioStart, SecretCommitment, Step, Timeline,
};
use crate::core::tx::Scope;
use crate::core::types::{Cents, Session, Ticks, format_cents};

/// Where the game is in its rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoundPhase {
    /// Before the first round opens (or a scenario without rounds).
    Before,
    /// Round `n` (from 0) is open.
    Open(usize),
    /// Round `n` has closed and settled; the next has not opened.
    Closed(usize),
}

/// A scenario in progress: the scenario, its timeline, and how far the game is.
#[derive(Clone, Debug)]
pub(crate) struct ScenarioRun {
    pub scenario: Arc<Scenario>,
    pub timeline: Arc<Timeline>,
    /// The block the scenario started at: (height, timestamp ms).
    pub started: Option<(u64, u64)>,
    /// How many timeline steps have been taken.
    pub next_step: usize,
    pub phase: RoundPhase,
    /// A running hash over every round's recorded results, for the state digest.
    pub results_hash: Hash32,
}

/// What a snapshot keeps of a scenario in progress (the timeline is rebuilt from it).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ScenarioRunSnapshot {
    pub scenario: Scenario,
    pub started: Option<(u64, u64)>,
    pub next_step: usize,
    pub phase: RoundPhase,
    pub results_hash: Hash32,
}

impl ScenarioRun {
    pub fn new(scenario: &Scenario) -> ScenarioRun {
        ScenarioRun {
            timeline: Arc::new(Timeline::new(scenario)),
            scenario: Arc::new(scenario.clone()),
            started: None,
            next_step: 0,
            phase: RoundPhase::Before,
            results_hash: Hash32::ZERO,
        }
    }

    pub fn to_snapshot(&self) -> ScenarioRunSnapshot {
        ScenarioRunSnapshot {
            scenario: (*self.scenario).clone(),
            started: self.started,
            next_step: self.next_step,
            phase: self.phase,
            results_hash: self.results_hash,
        }
    }

    pub fn from_snapshot(s: ScenarioRunSnapshot) -> Result<ScenarioRun, String> {
        let mut run = ScenarioRun::new(&s.scenario);
        if s.next_step > run.timeline.len() {
            return Err(format!(
                "the scenario has {} steps; the snapshot says {} were taken",
                run.timeline.len(),
                s.next_step
            ));
        }
        if s.started.is_none() && s.next_step > 0 {
            return Err("the scenario took steps before it started".into());
        }
        run.started = s.started;
        run.next_step = s.next_step;
        run.phase = s.phase;
        run.results_hash = s.results_hash;
        Ok(run)
    }

    /// What the state digest commits to.
    pub fn digest(&self) -> Hash32 {
        let bytes = postcard::to_stdvec(&(
            self.started,
            self.next_step as u64,
            self.phase,
            self.results_hash,
        ))
        .expect("encoding into a Vec cannot fail");
        Hash32::of("qraft/scenario-run", &bytes)
    }

    /// The block time step `index` falls due at, once started.
    fn due_ms(&self, index: usize) -> Option<u64> {
        let (_, start) = self.started?;
        let (at, _) = self.timeline.get(index)?;
        Some(start.saturating_add(at))
    }
}

/// A scenario's state, for clients: what it is, when it started, where it is now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioView {
    pub name: String,
    pub description: String,
    pub start: ScenarioStart,
    /// The block the scenario started at, and its time (ms since the Unix epoch).
    pub started_height: Option<u64>,
    pub started_ms: Option<u64>,
    pub rounds: Vec<RoundView>,
    pub phase: RoundPhase,
    /// When the next step falls due (block time, ms since the Unix epoch), once started.
    pub next_step_ms: Option<u64>,
    pub events_total: usize,
    /// How many of the scenario's events have happened.
    pub events_done: usize,
    pub end_after_last_round: bool,
    pub secret: Option<SecretCommitment>,
}

/// One round, with its times once the scenario has started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundView {
    pub name: String,
    /// Game time it opens and closes at, ms from the start.
    pub opens_at_ms: u64,
    pub closes_at_ms: u64,
}

impl Exchange {
    /// The scenario's state, if the game has one.
    pub fn scenario(&self) -> Option<ScenarioView> {
        let run = self.scenario.as_ref()?;
        let scenario = &run.scenario;
        let rounds = (0..scenario.rounds.len())
            .map(|i| {
                let (open, close) = scenario.round_window(i).expect("i is a round");
                RoundView {
                    name: scenario.rounds[i].name.clone(),
                    opens_at_ms: open,
                    closes_at_ms: close,
                }
            })
            .collect();
        let events_done = (0..run.next_step)
            .filter(|&i| matches!(run.timeline.get(i), Some((_, Step::Event(_)))))
            .count();
        Some(ScenarioView {
            name: scenario.name.clone(),
            description: scenario.description.clone(),
            start: scenario.start,
            started_height: run.started.map(|(h, _)| h),
            started_ms: run.started.map(|(_, t)| t),
            rounds,
            phase: run.phase,
            next_step_ms: run.due_ms(run.next_step),
            events_total: scenario.events.len(),
            events_done,
            end_after_last_round: scenario.end_after_last_round,
            secret: scenario.secret,
        })
    }

    /// The block time at which the scenario next needs a block: its next step's time, or
    /// 0 (at once) when it starts at the first block and no block has been made. `None`
    /// when nothing is scheduled. The leader proposes an empty block once its clock
    /// reaches this, so a step is never late because nobody traded.
    pub fn next_scheduled_ms(&self) -> Option<u64> {
        let run = self.scenario.as_ref()?;
        if self.game_over {
            return None;
        }
        match run.started {
            None if run.scenario.start == ScenarioStart::FirstBlock => Some(0),
            None => None,
            Some(_) => run.due_ms(run.next_step),
        }
    }

    /// Starts a scenario that waits for the admin ([`ScenarioStart::ByAdmin`]).
    pub(super) fn start_scenario(&mut self) -> Result<(), Rejection> {
        let Some(run) = self.scenario.as_mut() else {
            return Err(Rejection::InvalidSpec("this game has no scenario".into()));
        };
        if run.started.is_some() {
            return Err(Rejection::AlreadyInState {
                what: "the scenario".into(),
                state: "started".into(),
            });
        }
        if run.scenario.start == ScenarioStart::FirstBlock {
            return Err(Rejection::InvalidSpec(
                "this scenario starts by itself at the first block".into(),
            ));
        }
        run.started = Some((self.height, self.timestamp_ms));
        self.run_schedule();
        Ok(())
    }

    /// Takes every step due by this block's timestamp (called at the start of a block).
    pub(super) fn run_schedule(&mut self) {
        let Some(run) = self.scenario.as_mut() else {
            return;
        };
        if run.started.is_none() && run.scenario.start == ScenarioStart::FirstBlock {
            run.started = Some((self.height, self.timestamp_ms));
        }
        loop {
            if self.game_over {
                return;
            }
            let run = self.scenario.as_mut().expect("checked above");
            let Some(due) = run.due_ms(run.next_step) else {
                return;
            };
            if due > self.timestamp_ms {
                return;
            }
            let (_, step) = run.timeline.get(run.next_step).expect("due implies a step");
            run.next_step += 1;
            let scenario = Arc::clone(&run.scenario);
            self.take_step(&scenario, step);
        }
    }

    fn take_step(&mut self, scenario: &Scenario, step: Step) {
        self.block_steps += 1;
        match step {
            Step::OpenRound(index) => self.open_round(scenario, index),
            Step::CloseRound(index) => self.close_round(scenario, index),
            Step::Event(index) => self.take_event(&scenario.events[index].event),
        }
    }

    fn open_round(&mut self, scenario: &Scenario, index: usize) {
        self.session = Session::Open;
        for symbol in &mut self.symbols {
            if symbol.session != Session::Open {
                symbol.session = Session::Open;
                symbol.dirty = true;
            }
        }
        for account in 0..self.accounts.len() as u32 {
            let worth = self.settlement_worth(account);
            self.accounts[account as usize].round_start_worth = worth;
            self.touch_account(account);
        }
        if let Some(run) = self.scenario.as_mut() {
            run.phase = RoundPhase::Open(index);
        }
        let round = &scenario.rounds[index];
        self.publish(
            None,
            format!(
                "{} opens: trading for {}",
                round.name,
                format_duration(round.length_ms)
            ),
            String::new(),
        );
    }

    /// Closes round `index`: cancels every resting order, closes the market, and records
    /// each participant's return for the round, valued at the settlement prices (a
    /// symbol's fundamental value where the scenario set one, else its last price).
    fn close_round(&mut self, scenario: &Scenario, index: usize) {
        self.cancel_every_order();
        self.session = Session::Closed;
        let mut results = Vec::with_capacity(self.accounts.len() * 16);
        results.extend_from_slice(&(index as u64).to_le_bytes());
        for account in 0..self.accounts.len() as u32 {
            let worth = self.settlement_worth(account);
            let acct = &mut self.accounts[account as usize];
            let start = acct.round_start_worth;
            let return_bps = return_bps(start, worth);
            if acct.round_returns.len() < MAX_ROUNDS {
                acct.round_returns.push((index as u16, return_bps));
            }
            results.extend_from_slice(&(account as u64).to_le_bytes());
            results.extend_from_slice(&return_bps.to_le_bytes());
            self.touch_account(account);
        }
        let last = index + 1 == scenario.rounds.len();
        if let Some(run) = self.scenario.as_mut() {
            run.phase = RoundPhase::Closed(index);
            let mut chained = run.results_hash.0.to_vec();
            chained.extend_from_slice(&results);
            run.results_hash = Hash32::of("qraft/round-results", &chained);
        }
        let round = &scenario.rounds[index];
        let next = match scenario.rounds.get(index + 1) {
            Some(next) => format!(
                "; {} opens in {}",
                next.name,
                format_duration(round.break_ms)
            ),
            None if scenario.end_after_last_round => "; the game is over".to_string(),
            None => String::new(),
        };
        self.publish(
            None,
            format!("{} closes: results recorded{next}", round.name),
            String::new(),
        );
        if last && scenario.end_after_last_round {
            self.game_over = true;
        }
    }

    fn take_event(&mut self, event: &Event) {
        match event {
            Event::News {
                symbol,
                headline,
                text,
            } => self.publish(*symbol, headline.clone(), text.clone()),
            Event::Value { symbol, value } => {
                if let Ok(index) = self.symbol_of(*symbol) {
                    let state = &mut self.symbols[index as usize];
                    state.value = Some(*value);
                    state.dirty = true;
                }
            }
            Event::Dividend { symbol, per_share } => self.pay_dividend(*symbol, *per_share),
            Event::Halt(scope) => {
                if self
                    .transition(*scope, super::admin::Transition::Halt)
                    .is_ok()
                {
                    self.publish(
                        scope_ticker(scope),
                        halt_headline(scope, true),
                        String::new(),
                    );
                }
            }
            Event::Resume(scope) => {
                if self
                    .transition(*scope, super::admin::Transition::Resume)
                    .is_ok()
                {
                    self.publish(
                        scope_ticker(scope),
                        halt_headline(scope, false),
                        String::new(),
                    );
                }
            }
            Event::Rules(patch) => {
                let rules = patch.applied_to(&self.rules);
                match self.set_rules(&rules) {
                    Ok(()) => self.publish(None, "New rules are in force".into(), String::new()),
                    Err(why) => self.publish(
                        None,
                        "A scheduled rule change was not applied".into(),
                        why.to_string(),
                    ),
                }
            }
        }
    }

    /// Pays `per_share` cents for each share of `symbol` held; a short position pays it,
    /// from the cash its orders do not hold (what it cannot pay is not taken).
    fn pay_dividend(&mut self, ticker: crate::core::types::Ticker, per_share: Cents) {
        let Ok(symbol) = self.symbol_of(ticker) else {
            return;
        };
        let symbol = symbol as usize;
        for account in 0..self.accounts.len() as u32 {
            let acct = &mut self.accounts[account as usize];
            let shares = acct.position(symbol).shares;
            if shares == 0 {
                continue;
            }
            let owed = (shares as i128 * per_share as i128)
                .clamp(-(super::MAX_CASH as i128), super::MAX_CASH as i128)
                as Cents;
            let paid = if owed >= 0 {
                owed
            } else {
                -(-owed).min(acct.free_cash().max(0))
            };
            acct.cash += paid;
            acct.dividends += paid;
            self.issued.add_cash(paid);
            self.touch_account(account);
        }
        self.publish(
            Some(ticker),
            format!(
                "{ticker} pays a dividend of ${} a share",
                format_cents(per_share as i128)
            ),
            String::new(),
        );
    }

    pub(super) fn cancel_every_order(&mut self) {
        let slots: Vec<u32> = (0..self.accounts.len() as u32)
            .flat_map(|account| self.books.account_orders(account))
            .collect();
        for slot in slots {
            self.cancel_slot(slot);
        }
    }

    /// An account's worth at settlement prices: cash plus each position at its symbol's
    /// fundamental value, or its last price where the scenario set none.
    pub(super) fn settlement_worth(&self, account: u32) -> Cents {
        let acct = &self.accounts[account as usize];
        let held: i128 = acct
            .positions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let s = &self.symbols[i];
                p.shares as i128 * s.settlement_price() as i128 * s.spec.tick_size as i128
            })
            .sum();
        (acct.cash as i128 + held).clamp(i64::MIN as i128, i64::MAX as i128) as Cents
    }

    /// Adds a news item, dropping the oldest past [`MAX_NEWS`].
    pub(super) fn publish(
        &mut self,
        symbol: Option<crate::core::types::Ticker>,
        headline: String,
        text: String,
    ) {
        if self.news.len() == MAX_NEWS {
            self.news.pop_front();
        }
        self.news.push_back(NewsItem {
            height: self.height,
            timestamp_ms: self.timestamp_ms,
            headline,
            symbol,
            text,
        });
    }
}

/// The return from `start` to `end` in basis points (1 = 0.01%); 0 from a start of zero or
/// less, where a return means nothing.
pub fn return_bps(start: Cents, end: Cents) -> i64 {
    if start <= 0 {
        return 0;
    }
    let bps = (end as i128 - start as i128) * 10_000 / start as i128;
    bps.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

fn scope_ticker(scope: &Scope) -> Option<crate::core::types::Ticker> {
    match scope {
        Scope::All => None,
        Scope::Symbol(ticker) => Some(*ticker),
    }
}

fn halt_headline(scope: &Scope, halt: bool) -> String {
    let what = match scope {
        Scope::All => "the market".to_string(),
        Scope::Symbol(ticker) => ticker.to_string(),
    };
    if halt {
        format!("Trading in {what} is halted")
    } else {
        format!("Trading in {what} resumes")
    }
}

/// Ticks, for settlement: the value the scenario gave, else the last price.
pub(super) fn settlement_price(value: Option<Ticks>, mark: Ticks) -> Ticks {
    value.unwrap_or(mark)
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
