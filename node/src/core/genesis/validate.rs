//! The rules a genesis must satisfy, whether it was read from a file or built in code.
//!
//! [`Genesis::validate`] checks a whole value. The same checks run while
//! [`parse_genesis`](super::parse_genesis) reads a file, item by item through a
//! `Checker`, so that one pass reports every problem: a check that compares items (unique
//! names, keys, ids) runs on whatever items could be read, and a check that needs a whole
//! list (at least one admin, holdings naming listed symbols) runs only once that list was
//! read without errors, so a typo in one entry never causes a false report about another.
//! A scenario is checked round by round and event by event, then whole (how many rounds
//! and events, when events happen, the rules each rule change leads to); the same checks
//! run on a standalone scenario file, against the genesis's symbols and rules.
//!
//! Problems name fields by their path in the genesis file's vocabulary
//! (`participants[2].cash`, `rules.price_band`; indices count from 0), which the parser
//! turns into a line and column.

use std::collections::BTreeMap;
use std::fmt;

use qraft_keys::PublicKey;

use super::{DIALS_OUT, Genesis, NodeSpec, Rules};
use crate::core::exchange::{
    MAX_ACCOUNTS, MAX_CASH, MAX_COMMISSION, MAX_HOLDING_SHARES, MAX_ORDER_SHARES,
    MAX_ORDERS_PER_MINUTE, MAX_PRICE_TICKS, MAX_RULE_CHANGES, MAX_TICK_SIZE,
};
use crate::core::scenario::duration::format_duration;
use crate::core::scenario::{
    Event, MAX_DESCRIPTION_BYTES, MAX_DIVIDEND, MAX_EVENTS, MAX_NEWS_TEXT_BYTES, MAX_ROUNDS,
    MAX_SCENARIO_MS, MIN_ROUND_MS, Round, Scenario,
};
use crate::core::tx::{MAX_NAME_BYTES, MAX_NEWS_BYTES, ParticipantSpec, Scope, SymbolSpec};
use crate::core::types::{Cents, NodeId, Role, Ticker, format_cents};

/// The most voters a game may have. Raft needs a majority of voters for every commit, so
/// more voters make every commit slower and buy nothing in a classroom.
pub const MAX_VOTERS: usize = 7;
/// The longest game name, in bytes.
pub const MAX_GAME_NAME_BYTES: usize = 64;
/// The longest symbol name (`"Acme Corporation"`), in bytes.
pub const MAX_SYMBOL_NAME_BYTES: usize = 64;
/// The narrowest price band: 0.01%.
pub const MIN_PRICE_BAND_BPS: u32 = 1;
/// The widest price band: 100%.
pub const MAX_PRICE_BAND_BPS: u32 = 10_000;
/// The longest scenario name, in bytes.
pub const MAX_SCENARIO_NAME_BYTES: usize = 64;
/// The longest round name (`"Round 1: the merger"`), in bytes.
pub const MAX_ROUND_NAME_BYTES: usize = 64;

/// One rule a genesis breaks: the field, as a path in the genesis file
/// (`participants[2].cash`), and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl Genesis {
    /// Checks every rule of a genesis (see the [module docs](self)) and returns every
    /// violation, in file order.
    ///
    /// [`parse_genesis`](super::parse_genesis) only returns genesis values that pass;
    /// code that builds a [`Genesis`] itself (tests, `qraft init`) should call this before
    /// using or writing it.
    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut checker = Checker::new();
        checker.game(&self.game);
        checker.rules(&self.rules);
        checker.symbol_count(self.symbols.len());
        for (i, symbol) in self.symbols.iter().enumerate() {
            checker.symbol(&format!("symbols[{i}]"), symbol);
        }
        checker.symbols_complete();
        for (i, participant) in self.participants.iter().enumerate() {
            checker.participant(&format!("participants[{i}]"), participant);
        }
        checker.participants_complete(self.participants.len());
        checker.voter_count(self.voters.len());
        for (i, node) in self.voters.iter().enumerate() {
            checker.node(&format!("voters[{i}]"), node);
        }
        for (i, node) in self.learners.iter().enumerate() {
            checker.node(&format!("learners[{i}]"), node);
        }
        if let Some(scenario) = &self.scenario {
            checker.whole_scenario("scenario.", scenario);
        }
        let violations = checker.finish();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// What is wrong with `rules` (`max_order_shares: must be at least 1`), checked as a
/// genesis's are: for the admin's `SetRules`.
pub fn rules_problems(rules: &Rules) -> Vec<String> {
    let mut checker = Checker::new();
    checker.rules(rules);
    checker
        .finish()
        .into_iter()
        .map(|v| {
            let path = v.path.strip_prefix("rules.").unwrap_or(&v.path);
            format!("{path}: {}", v.message)
        })
        .collect()
}

/// Runs the checks item by item, remembering what it has seen for the checks that compare
/// items. Items must be given in file order: game, rules, symbols, participants, voters,
/// learners, scenario.
#[derive(Debug, Default)]
pub(super) struct Checker {
    violations: Vec<Violation>,
    /// Listed tickers, and the path of the symbol that lists each.
    tickers: BTreeMap<Ticker, String>,
    /// Set once every symbol was read: holdings can then be checked against the list.
    symbols_complete: bool,
    /// Each listed ticker's tick size, in cents.
    tick_sizes: BTreeMap<Ticker, Cents>,
    /// The genesis's rules, once read and found valid: a scenario's rule changes apply to
    /// them.
    rules: Option<Rules>,
    /// Participant names, lower-cased, and the path of the participant with each.
    participant_names: BTreeMap<String, String>,
    /// Participant keys and the path of the participant with each.
    participant_keys: BTreeMap<PublicKey, String>,
    admins: usize,
    node_ids: BTreeMap<NodeId, String>,
    node_names: BTreeMap<String, String>,
    node_keys: BTreeMap<PublicKey, String>,
    node_addresses: BTreeMap<String, String>,
}

impl Checker {
    pub(super) fn new() -> Checker {
        Checker::default()
    }

    /// A checker for a scenario of a game with these symbols and rules, which are taken
    /// as they are (a standalone scenario file is checked against a genesis already read).
    pub(super) fn for_game(symbols: &[SymbolSpec], rules: &Rules) -> Checker {
        let mut checker = Checker::new();
        for symbol in symbols {
            checker
                .tickers
                .entry(symbol.ticker)
                .or_insert_with(|| symbol.ticker.to_string());
            checker
                .tick_sizes
                .entry(symbol.ticker)
                .or_insert(symbol.tick_size);
        }
        checker.symbols_complete = true;
        checker.rules = Some(rules.clone());
        checker
    }

    /// The tick size of `ticker`, if it is listed.
    pub(super) fn tick_size(&self, ticker: Ticker) -> Option<Cents> {
        self.tick_sizes.get(&ticker).copied()
    }

    /// Whether `ticker` may be named: it is listed, or the list is not known yet (its own
    /// problems are reported). Reports it at `path` if not.
    pub(super) fn listed(&mut self, path: &str, ticker: Ticker) -> bool {
        if !self.symbols_complete || self.tickers.contains_key(&ticker) {
            return true;
        }
        let listed = self
            .tickers
            .keys()
            .map(Ticker::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        self.violation(
            path,
            format!("{ticker} is not a listed symbol (listed: {listed})"),
        );
        false
    }

    fn violation(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(super) fn game(&mut self, game: &str) {
        if let Err(message) = check_text("the game's name", game, MAX_GAME_NAME_BYTES) {
            self.violation("game", message);
        }
    }

    pub(super) fn rules(&mut self, rules: &Rules) {
        let before = self.violations.len();
        self.rule_checks(rules);
        if self.violations.len() == before {
            self.rules = Some(rules.clone());
        }
    }

    fn rule_checks(&mut self, rules: &Rules) {
        if rules.max_order_shares == 0 {
            self.violation(
                "rules.max_order_shares",
                "must be at least 1, or no order could be placed",
            );
        }
        if rules.max_order_shares > MAX_ORDER_SHARES {
            self.violation(
                "rules.max_order_shares",
                format!(
                    "is {}; it may be at most {MAX_ORDER_SHARES}",
                    rules.max_order_shares
                ),
            );
        }
        if !(MIN_PRICE_BAND_BPS..=MAX_PRICE_BAND_BPS).contains(&rules.price_band_bps) {
            self.violation(
                "rules.price_band",
                format!(
                    "is {}; it must be between {} and {}",
                    format_bps(rules.price_band_bps),
                    format_bps(MIN_PRICE_BAND_BPS),
                    format_bps(MAX_PRICE_BAND_BPS)
                ),
            );
        }
        if rules.candle_ms == 0 {
            self.violation("rules.candle_seconds", "must be at least 1");
        } else if !rules.candle_ms.is_multiple_of(1000) {
            self.violation(
                "rules.candle_seconds",
                format!(
                    "must be a whole number of seconds; it is {} ms",
                    rules.candle_ms
                ),
            );
        }
        if rules.max_position_shares > MAX_HOLDING_SHARES {
            self.violation(
                "rules.max_position_shares",
                format!("must be at most {MAX_HOLDING_SHARES} (0: no limit)"),
            );
        }
        for (field, amount) in [
            ("commission_per_order", rules.commission_per_order),
            ("commission_per_share", rules.commission_per_share),
        ] {
            if !(0..=MAX_COMMISSION).contains(&amount) {
                self.violation(
                    format!("rules.{field}"),
                    format!(
                        "must be from 0 to {}",
                        format_cents(i128::from(MAX_COMMISSION))
                    ),
                );
            }
        }
        if rules.max_orders_per_minute > MAX_ORDERS_PER_MINUTE {
            self.violation(
                "rules.max_orders_per_minute",
                format!("must be at most {MAX_ORDERS_PER_MINUTE} (0: no limit)"),
            );
        }
        match (rules.short_selling, rules.max_short_shares) {
            (false, n) if n > 0 => self.violation(
                "rules.max_short_shares",
                format!(
                    "is {n} but short_selling is false: set it to 0, or set short_selling = true"
                ),
            ),
            (true, 0) => self.violation(
                "rules.max_short_shares",
                "short_selling is true but max_short_shares is 0, so nobody could sell \
                 short: set the most shares of one symbol a participant may be short",
            ),
            _ => {}
        }
    }

    /// Whether there is any symbol at all; `count` is the length of the list in the file.
    pub(super) fn symbol_count(&mut self, count: usize) {
        if count == 0 {
            self.violation(
                "symbols",
                "no symbols: list at least one [[symbols]] entry to trade",
            );
        }
    }

    pub(super) fn symbol(&mut self, path: &str, symbol: &SymbolSpec) {
        if let Err(message) = check_text("a symbol's name", &symbol.name, MAX_SYMBOL_NAME_BYTES) {
            self.violation(format!("{path}.name"), message);
        }
        if let Err(message) = check_tick_size(symbol.tick_size) {
            self.violation(format!("{path}.tick_size"), message);
        } else if symbol.reference_price == 0 {
            self.violation(format!("{path}.reference_price"), "must be more than 0.00");
        } else if i64::try_from(symbol.reference_price)
            .ok()
            .and_then(|ticks| ticks.checked_mul(symbol.tick_size))
            .is_none()
        {
            self.violation(
                format!("{path}.reference_price"),
                format!(
                    "{} ticks of {} is more money than can be counted",
                    symbol.reference_price,
                    format_cents(symbol.tick_size.into())
                ),
            );
        }
        match self.tickers.get(&symbol.ticker) {
            Some(first) => {
                let message = format!("{} is listed twice (also at {first})", symbol.ticker);
                self.violation(format!("{path}.ticker"), message);
            }
            None => {
                self.tickers.insert(symbol.ticker, path.to_string());
                self.tick_sizes.insert(symbol.ticker, symbol.tick_size);
            }
        }
    }

    /// Every symbol in the file was read: from now on holdings are checked against them.
    pub(super) fn symbols_complete(&mut self) {
        self.symbols_complete = true;
    }

    pub(super) fn participant(&mut self, path: &str, participant: &ParticipantSpec) {
        if let Err(message) = check_text("a participant's name", &participant.name, MAX_NAME_BYTES)
        {
            self.violation(format!("{path}.name"), message);
        }
        let folded = participant.name.to_lowercase();
        match self.participant_names.get(&folded) {
            Some(first) => {
                let message = format!(
                    "{:?} is taken (by {first}; names differing only in case count as the same)",
                    participant.name
                );
                self.violation(format!("{path}.name"), message);
            }
            None => {
                self.participant_names.insert(folded, path.to_string());
            }
        }
        self.key(&format!("{path}.key"), &participant.key);
        match self.participant_keys.get(&participant.key) {
            Some(first) => {
                let message =
                    format!("this key is already {first}'s: every participant needs its own key");
                self.violation(format!("{path}.key"), message);
            }
            None => {
                self.participant_keys
                    .insert(participant.key, path.to_string());
            }
        }
        if participant.role == Role::Admin {
            self.admins += 1;
        }
        if participant.cash < 0 {
            self.violation(
                format!("{path}.cash"),
                format!(
                    "is {}; starting cash must not be negative",
                    format_cents(participant.cash.into())
                ),
            );
        }
        if participant.cash > MAX_CASH {
            self.violation(
                format!("{path}.cash"),
                format!(
                    "is {}; starting cash may be at most {}",
                    format_cents(participant.cash.into()),
                    format_cents(MAX_CASH.into())
                ),
            );
        }
        for (ticker, shares) in &participant.holdings {
            if *shares > MAX_HOLDING_SHARES {
                self.violation(
                    format!("{path}.holdings.{ticker}"),
                    format!(
                        "is {shares}; a starting holding may be at most {MAX_HOLDING_SHARES} shares"
                    ),
                );
            }
        }
        for pair in participant.holdings.windows(2) {
            let (before, after) = (pair[0].0, pair[1].0);
            if before == after {
                self.violation(
                    format!("{path}.holdings.{after}"),
                    format!("{after} is listed twice"),
                );
            } else if before > after {
                self.violation(
                    format!("{path}.holdings.{after}"),
                    format!("holdings must be in ticker order: {after} comes before {before}"),
                );
            }
        }
        for (ticker, _) in &participant.holdings {
            self.listed(&format!("{path}.holdings.{ticker}"), *ticker);
        }
    }

    /// Every participant in the file was read (`count` of them).
    pub(super) fn participants_complete(&mut self, count: usize) {
        if count > MAX_ACCOUNTS {
            self.violation(
                "participants",
                format!("{count} participants; a game may have at most {MAX_ACCOUNTS}"),
            );
        }
        if self.admins == 0 {
            let message = if count == 0 {
                "no participants: list at least one, with role = \"admin\" to run the game"
            } else {
                "no participant has role = \"admin\": a game needs an admin to run it"
            };
            self.violation("participants", message);
        }
    }

    /// Whether the number of voters is allowed; `count` is the length of the list in the
    /// file.
    pub(super) fn voter_count(&mut self, count: usize) {
        if !(1..=MAX_VOTERS).contains(&count) {
            self.violation(
                "voters",
                format!(
                    "a game needs 1 to {MAX_VOTERS} voters (3 or 5 keep going when one \
                     fails); there are {count}"
                ),
            );
        }
    }

    pub(super) fn node(&mut self, path: &str, node: &NodeSpec) {
        if node.id == 0 {
            self.violation(
                format!("{path}.id"),
                "must be at least 1 (0 is not a Raft id)",
            );
        } else {
            match self.node_ids.get(&node.id) {
                Some(first) => {
                    let message = format!("id {} is already {first}'s", node.id);
                    self.violation(format!("{path}.id"), message);
                }
                None => {
                    self.node_ids.insert(node.id, path.to_string());
                }
            }
        }
        if let Err(message) = check_text("a node's name", &node.name, MAX_NAME_BYTES) {
            self.violation(format!("{path}.name"), message);
        }
        let folded = node.name.to_lowercase();
        match self.node_names.get(&folded) {
            Some(first) => {
                let message = format!("{:?} is already {first}'s name", node.name);
                self.violation(format!("{path}.name"), message);
            }
            None => {
                self.node_names.insert(folded, path.to_string());
            }
        }
        self.key(&format!("{path}.key"), &node.key);
        if let Some(participant) = self.participant_keys.get(&node.key) {
            let message =
                format!("this key is also {participant}'s key: a node needs a key of its own");
            self.violation(format!("{path}.key"), message);
        }
        match self.node_keys.get(&node.key) {
            Some(first) => {
                let message =
                    format!("this key is already {first}'s: every node needs its own key");
                self.violation(format!("{path}.key"), message);
            }
            None => {
                self.node_keys.insert(node.key, path.to_string());
            }
        }
        // The parser and `validate` name voters `voters[i]`.
        let voter = path.starts_with("voters[");
        match check_address(&node.address) {
            Err(message) => self.violation(format!("{path}.address"), message),
            Ok(()) if node.dials_out() && voter => {
                let message = format!(
                    "a voter cannot be {DIALS_OUT:?}: every other node must be able to dial a \
                     voter, so give its host:port (a learner may dial out)"
                );
                self.violation(format!("{path}.address"), message);
            }
            // Any number of nodes dial out: it names no place.
            Ok(()) if node.dials_out() => {}
            Ok(()) => {
                let folded = node.address.to_ascii_lowercase();
                match self.node_addresses.get(&folded) {
                    Some(first) => {
                        let message = format!("{} is already {first}'s address", node.address);
                        self.violation(format!("{path}.address"), message);
                    }
                    None => {
                        self.node_addresses.insert(folded, path.to_string());
                    }
                }
            }
        }
    }

    /// A key's bytes may come from code rather than from the checked text form.
    fn key(&mut self, path: &str, key: &PublicKey) {
        if let Err(error) = key.verifying_key() {
            self.violation(path, format!("{key} is refused: {error}"));
        }
    }

    /// Every violation, in the order the items were given.
    pub(super) fn finish(self) -> Vec<Violation> {
        self.violations
    }
}

// ----- Scenarios -----
//
// A scenario's paths start with `prefix`: `"scenario."` in a genesis, nothing in a
// scenario file. Its events are named by their place in the file, which need not be their
// place in time (the parser sorts them), so whole-scenario checks take a function naming
// the event at each index of `Scenario::events`.

impl Checker {
    /// Every check of a scenario built in code, whose events are named by their index.
    pub(super) fn whole_scenario(&mut self, prefix: &str, scenario: &Scenario) {
        self.scenario_name(prefix, &scenario.name);
        self.scenario_description(prefix, &scenario.description);
        for (i, round) in scenario.rounds.iter().enumerate() {
            self.round(&format!("{prefix}rounds[{i}]"), round);
        }
        for (i, event) in scenario.events.iter().enumerate() {
            self.event(&format!("{prefix}events[{i}]"), &event.event);
        }
        self.scenario(prefix, scenario, &|i| format!("{prefix}events[{i}]"));
    }

    pub(super) fn scenario_name(&mut self, prefix: &str, name: &str) {
        if let Err(message) = check_text("the scenario's name", name, MAX_SCENARIO_NAME_BYTES) {
            self.violation(format!("{prefix}name"), message);
        }
    }

    /// The briefing participants read before they trade.
    pub(super) fn scenario_description(&mut self, prefix: &str, description: &str) {
        if description.len() > MAX_DESCRIPTION_BYTES {
            self.violation(
                format!("{prefix}description"),
                format!(
                    "is {} bytes long; the limit is {MAX_DESCRIPTION_BYTES}",
                    description.len()
                ),
            );
        }
    }

    /// One round, on its own.
    pub(super) fn round(&mut self, path: &str, round: &Round) {
        if let Err(message) = check_text("a round's name", &round.name, MAX_ROUND_NAME_BYTES) {
            self.violation(format!("{path}.name"), message);
        }
        if round.length_ms < MIN_ROUND_MS {
            self.violation(
                format!("{path}.length"),
                format!(
                    "is {}; a round lasts at least {}, to place an order and see it trade",
                    format_duration(round.length_ms),
                    format_duration(MIN_ROUND_MS)
                ),
            );
        }
        for (field, ms) in [("length", round.length_ms), ("break", round.break_ms)] {
            self.whole_seconds(&format!("{path}.{field}"), ms);
        }
    }

    fn whole_seconds(&mut self, path: &str, ms: u64) {
        if !ms.is_multiple_of(1000) {
            self.violation(
                path,
                format!("must be a whole number of seconds; it is {ms} ms"),
            );
        }
    }

    /// What one event does, on its own (not when).
    pub(super) fn event(&mut self, path: &str, event: &Event) {
        match event {
            Event::News {
                symbol,
                headline,
                text,
            } => {
                if let Err(message) = check_text("the headline", headline, MAX_NEWS_BYTES) {
                    self.violation(format!("{path}.news"), message);
                }
                if text.len() > MAX_NEWS_TEXT_BYTES {
                    self.violation(
                        format!("{path}.text"),
                        format!(
                            "is {} bytes long; the limit is {MAX_NEWS_TEXT_BYTES}",
                            text.len()
                        ),
                    );
                }
                if let Some(ticker) = symbol {
                    self.listed(&format!("{path}.symbol"), *ticker);
                }
            }
            Event::Value { symbol, value } => {
                self.listed(&format!("{path}.symbol"), *symbol);
                if !(1..=MAX_PRICE_TICKS).contains(value) {
                    self.violation(
                        format!("{path}.value"),
                        format!("is {value} ticks; a value is 1 to {MAX_PRICE_TICKS} ticks"),
                    );
                }
            }
            Event::Dividend { symbol, per_share } => {
                self.listed(&format!("{path}.symbol"), *symbol);
                if !(1..=MAX_DIVIDEND).contains(per_share) {
                    self.violation(
                        format!("{path}.dividend"),
                        format!(
                            "is {}; a dividend is more than 0.00 and at most {} a share",
                            format_cents(i128::from(*per_share)),
                            format_cents(i128::from(MAX_DIVIDEND))
                        ),
                    );
                }
            }
            Event::Halt(scope) | Event::Resume(scope) => {
                let field = if matches!(event, Event::Halt(_)) {
                    "halt"
                } else {
                    "resume"
                };
                if let Scope::Symbol(ticker) = scope {
                    self.listed(&format!("{path}.{field}"), *ticker);
                }
            }
            Event::Rules(patch) => {
                if patch.is_empty() {
                    self.violation(
                        format!("{path}.rules"),
                        "changes no rule: name at least one, like { short_selling = true }",
                    );
                }
            }
        }
    }

    /// What needs the whole scenario: how many rounds and events, when events happen, and
    /// the rules each rule change leads to. `event_path(i)` names `scenario.events[i]`.
    pub(super) fn scenario(
        &mut self,
        prefix: &str,
        scenario: &Scenario,
        event_path: &dyn Fn(usize) -> String,
    ) {
        if scenario.rounds.len() > MAX_ROUNDS {
            self.violation(
                format!("{prefix}rounds"),
                format!(
                    "{} rounds; a scenario may have at most {MAX_ROUNDS}",
                    scenario.rounds.len()
                ),
            );
        }
        if scenario.events.len() > MAX_EVENTS {
            self.violation(
                format!("{prefix}events"),
                format!(
                    "{} events; a scenario may have at most {MAX_EVENTS}",
                    scenario.events.len()
                ),
            );
        }
        let rounds_end = scenario.rounds_end_ms();
        if let Some(end) = rounds_end.filter(|&end| end > MAX_SCENARIO_MS) {
            self.violation(
                format!("{prefix}rounds"),
                format!(
                    "the rounds last {}; a scenario may last at most {}",
                    format_duration(end),
                    format_duration(MAX_SCENARIO_MS)
                ),
            );
        }
        let game_end = rounds_end.filter(|_| scenario.end_after_last_round);
        let mut rules = self.rules.clone();
        let mut rule_changes = 0usize;
        for (i, scheduled) in scenario.events.iter().enumerate() {
            let path = event_path(i);
            let at = scheduled.at_ms;
            self.whole_seconds(&format!("{path}.at"), at);
            let previous = i.checked_sub(1).map(|p| scenario.events[p].at_ms);
            if let Some(previous) = previous.filter(|&previous| at < previous) {
                self.violation(
                    format!("{path}.at"),
                    format!(
                        "is at {}, before the event listed before it ({}): events are listed \
                         in the order they happen",
                        format_duration(at),
                        format_duration(previous)
                    ),
                );
            }
            if let Some(end) = game_end.filter(|&end| at >= end) {
                self.violation(
                    format!("{path}.at"),
                    format!(
                        "is at {}; the game ends at {}, when its last round closes",
                        format_duration(at),
                        format_duration(end)
                    ),
                );
            } else if at > MAX_SCENARIO_MS {
                self.violation(
                    format!("{path}.at"),
                    format!(
                        "is at {}; a scenario may last at most {}",
                        format_duration(at),
                        format_duration(MAX_SCENARIO_MS)
                    ),
                );
            }
            let Event::Rules(patch) = &scheduled.event else {
                continue;
            };
            if patch.is_empty() {
                continue;
            }
            rule_changes += 1;
            // The genesis's rules are the first of the game's rule changes.
            if rule_changes == MAX_RULE_CHANGES {
                self.violation(
                    format!("{path}.rules"),
                    format!(
                        "a game may change its rules at most {} times",
                        MAX_RULE_CHANGES - 1
                    ),
                );
            }
            // Without valid genesis rules (their own problems are reported) there is
            // nothing to apply the change to.
            let Some(current) = &rules else {
                continue;
            };
            let next = patch.applied_to(current);
            let mut check = Checker::new();
            check.rule_checks(&next);
            let problems = check.finish();
            if !problems.is_empty() {
                // As the exchange does: the change is not applied, the rules stay.
                for problem in problems {
                    self.violation(
                        format!("{path}.{}", problem.path),
                        format!(
                            "{} (once this change applies to the rules in force then)",
                            problem.message
                        ),
                    );
                }
            } else if next == *current {
                self.violation(
                    format!("{path}.rules"),
                    "changes nothing: the rules in force then already say this",
                );
            } else {
                rules = Some(next);
            }
        }
    }
}

/// A tick size must be a positive amount of cents.
pub(super) fn check_tick_size(tick_size: Cents) -> Result<(), String> {
    if tick_size > MAX_TICK_SIZE {
        Err(format!(
            "is {}; it may be at most {}",
            format_cents(tick_size.into()),
            format_cents(MAX_TICK_SIZE.into())
        ))
    } else if tick_size > 0 {
        Ok(())
    } else {
        Err(format!(
            "is {}; it must be at least 0.01",
            format_cents(tick_size.into())
        ))
    }
}

/// A name people read: not blank, no spaces around it, no control characters, not too long.
pub(crate) fn check_text(what: &str, text: &str, max_bytes: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        Err(format!("{what} is empty"))
    } else if text.trim() != text {
        Err(format!("{what} {text:?} has spaces at the start or end"))
    } else if text.chars().any(char::is_control) {
        Err(format!("{what} {text:?} contains a control character"))
    } else if text.len() > max_bytes {
        Err(format!(
            "{what} is {} bytes long; the limit is {max_bytes}",
            text.len()
        ))
    } else {
        Ok(())
    }
}

/// `host:port`: a DNS name or IPv4 address, or an IPv6 address in brackets, and a port
/// from 1 to 65535; or exactly [`DIALS_OUT`]. Checked as text: the core does no name
/// resolution.
pub(crate) fn check_address(address: &str) -> Result<(), String> {
    const EXAMPLE: &str = "write it as host:port, like \"192.168.1.20:7801\"";
    if address == DIALS_OUT {
        return Ok(());
    }
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("{address:?} has no port: {EXAMPLE}"));
    };
    let port_ok = !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if !port_ok {
        return Err(format!(
            "{address:?}: the port {port:?} must be a number from 1 to 65535"
        ));
    }
    if let Some(inner) = host.strip_prefix('[') {
        return match inner.strip_suffix(']') {
            Some(ip) if ip.parse::<core::net::Ipv6Addr>().is_ok() => Ok(()),
            _ => Err(format!("{address:?}: {host:?} is not an IPv6 address")),
        };
    }
    if host.contains(':') {
        return Err(format!(
            "{address:?}: an IPv6 address goes in brackets, like \"[::1]:7801\""
        ));
    }
    if is_host_name(host) {
        Ok(())
    } else {
        Err(format!(
            "{address:?}: {host:?} is neither a host name nor an IP address; {EXAMPLE}"
        ))
    }
}

/// A DNS name (letters, digits and `-` in dot-separated labels) or a dotted IPv4 address.
fn is_host_name(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    });
    let numeric = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    labels_ok && (!numeric || host.parse::<core::net::Ipv4Addr>().is_ok())
}

/// Basis points as a percentage: `1000` -> `10%`, `250` -> `2.5%`, `1` -> `0.01%`.
pub fn format_bps(bps: u32) -> String {
    let (whole, hundredths) = (bps / 100, bps % 100);
    match hundredths {
        0 => format!("{whole}%"),
        h if h % 10 == 0 => format!("{whole}.{}%", h / 10),
        h => format!("{whole}.{h:02}%"),
    }
}

#[cfg(test)]
mod tests {
    use qraft_keys::Keypair;

    use super::*;
    use crate::core::genesis::Rules;

    fn genesis() -> Genesis {
        let acme = Ticker::new("ACME").unwrap();
        Genesis {
            game: "Test".to_string(),
            rules: Rules::default(),
            symbols: vec![SymbolSpec {
                ticker: acme,
                name: "Acme".to_string(),
                tick_size: 1,
                reference_price: 1250,
            }],
            participants: vec![ParticipantSpec {
                name: "admin".to_string(),
                key: Keypair::from_label("admin").public(),
                role: Role::Admin,
                cash: 0,
                holdings: vec![(acme, 5)],
            }],
            voters: vec![NodeSpec {
                id: 1,
                name: "node1".to_string(),
                key: Keypair::from_label("node1").public(),
                address: "127.0.0.1:7801".to_string(),
            }],
            learners: vec![],
            scenario: None,
            previous: None,
        }
    }

    fn paths(genesis: &Genesis) -> Vec<String> {
        match genesis.validate() {
            Ok(()) => vec![],
            Err(violations) => violations.into_iter().map(|v| v.path).collect(),
        }
    }

    #[test]
    fn a_minimal_game_is_valid() {
        assert_eq!(paths(&genesis()), Vec::<String>::new());
    }

    #[test]
    fn rules_only_code_can_break_are_caught() {
        let mut g = genesis();
        g.rules.candle_ms = 1500;
        assert_eq!(paths(&g), ["rules.candle_seconds"]);

        let mut g = genesis();
        let (acme, zeta) = (Ticker::new("ACME").unwrap(), Ticker::new("ZETA").unwrap());
        g.symbols.push(SymbolSpec {
            ticker: zeta,
            name: "Zeta".to_string(),
            tick_size: 1,
            reference_price: 1,
        });
        g.participants[0].holdings = vec![(zeta, 1), (acme, 1)];
        assert_eq!(paths(&g), ["participants[0].holdings.ACME"]);

        let mut g = genesis();
        g.symbols[0].tick_size = 100;
        g.symbols[0].reference_price = u64::MAX / 10;
        assert_eq!(paths(&g), ["symbols[0].reference_price"]);
    }

    #[test]
    fn weak_key_bytes_are_refused() {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut g = genesis();
        g.voters[0].key = PublicKey(identity);
        let err = g.validate().unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, "voters[0].key");
        assert!(err[0].message.contains("weak"), "{}", err[0]);
    }

    #[test]
    fn addresses() {
        for ok in [
            "127.0.0.1:7801",
            "localhost:1",
            "laptop-3.local:65535",
            "[::1]:7801",
            "[fe80::1]:80",
        ] {
            assert_eq!(check_address(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.0.0.1",
            "127.0.0.1:",
            "127.0.0.1:0",
            "127.0.0.1:65536",
            "127.0.0.1:+80",
            ":7801",
            "::1:7801",
            "[::1:7801",
            "[zz]:7801",
            "999.1.1.1:7801",
            "-bad.example:7801",
            "has space:7801",
            "a..b:7801",
        ] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_learners_may_dial_out() {
        assert_eq!(check_address(DIALS_OUT), Ok(()));
        assert!(check_address("Dials-Out").is_err());
        let laptop = |id: NodeId| NodeSpec {
            id,
            name: format!("laptop{id}"),
            key: Keypair::from_label(&format!("laptop{id}")).public(),
            address: DIALS_OUT.to_string(),
        };
        // Any number of learners dial out: their shared "address" is no clash.
        let mut g = genesis();
        g.learners = vec![laptop(2), laptop(3)];
        assert_eq!(paths(&g), Vec::<String>::new());
        // A voter must be reachable.
        let mut g = genesis();
        g.voters.push(laptop(2));
        let violations = g.validate().unwrap_err();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].path, "voters[1].address");
        assert!(
            violations[0]
                .message
                .contains("must be able to dial a voter"),
            "{}",
            violations[0].message
        );
        // Read from a file, the refusal names the file and the line.
        let text = crate::core::genesis::to_toml(&g);
        let err = crate::core::genesis::parse_genesis(&text, "game.toml").unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("game.toml:"), "{shown}");
        assert!(shown.contains("voters[1].address"), "{shown}");
        let line = err.diagnostics()[0].line;
        assert!(
            text.lines().nth(line - 1).unwrap().contains(DIALS_OUT),
            "line {line} of:\n{text}"
        );
    }

    #[test]
    fn bps_format() {
        assert_eq!(format_bps(1000), "10%");
        assert_eq!(format_bps(250), "2.5%");
        assert_eq!(format_bps(1), "0.01%");
        assert_eq!(format_bps(10_000), "100%");
        assert_eq!(format_bps(1234), "12.34%");
    }
}
