//! Reading a scenario: the `[scenario]` table of a genesis, or a scenario file of its own
//! (the format is in the [parent module's docs](super)).
//!
//! Both are read by the same [`Reader`] methods, with paths prefixed `scenario.` in a
//! genesis and bare in a scenario file, and checked by the same `Checker` calls as a
//! scenario built in code: each round and event on its own as it is read, then the whole
//! (counts, times, the rules each rule change leads to) once every part was read.

use toml::de::{DeTable, DeValue};

use super::{GenesisError, List, RULES_FIELDS, Reader, Table, Value};
use crate::core::exchange::MAX_ORDERS_PER_MINUTE;
use crate::core::genesis::Rules;
use crate::core::genesis::validate::Checker;
use crate::core::scenario::duration::parse_duration;
use crate::core::scenario::secret::MAX_SECRET_BYTES;
use crate::core::scenario::{
    Event, Round, RulesPatch, Scenario, ScenarioStart, ScheduledEvent, SecretCommitment,
};
use crate::core::tx::{Scope, SymbolSpec};
use crate::core::types::Ticker;

/// The fields of a scenario: the top level of a scenario file, or `[scenario]` in a
/// genesis.
pub const SCENARIO_FIELDS: &[&str] = &[
    "name",
    "description",
    "start",
    "end_after_last_round",
    "rounds",
    "events",
    "secret",
];
/// The fields of a `[[rounds]]` entry.
pub const ROUND_FIELDS: &[&str] = &["name", "length", "break"];
/// The fields of an `[[events]]` entry.
pub const EVENT_FIELDS: &[&str] = &[
    "at", "round", "news", "text", "symbol", "value", "dividend", "halt", "resume", "rules",
];
/// The fields that say what an event does: an event has exactly one.
pub const EVENT_KINDS: &[&str] = &["news", "value", "dividend", "halt", "resume", "rules"];
/// The fields of a scenario file's `[secret]`.
pub const SECRET_FIELDS: &[&str] = &["text"];

const ONE_THING: &str =
    "an event does exactly one thing: news, value, dividend, halt, resume or rules";

/// A scenario file, read: the scenario (without a secret commitment) and the secret's
/// text, which only the author sees until the report (the CLI commits to it in the
/// genesis).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioFile {
    pub scenario: Scenario,
    pub secret_text: Option<String>,
}

/// Reads and checks a scenario file for a game with these symbols and (genesis) rules.
/// `file` is the name problems are reported against; nothing is read from it.
pub fn parse_scenario(
    text: &str,
    file: &str,
    symbols: &[SymbolSpec],
    rules: &Rules,
) -> Result<ScenarioFile, GenesisError> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    let mut reader = Reader::new(Checker::for_game(symbols, rules));
    if syntax_errors.is_empty() {
        let root = Table {
            entries: root.get_ref(),
            span: 0..0,
            path: String::new(),
        };
        reader.refuse_unknown_fields(&root, SCENARIO_FIELDS);
        let scenario = reader.scenario(&root, Place::File);
        reader.finish(text, file, scenario)
    } else {
        reader.syntax_errors(syntax_errors);
        reader.finish(text, file, None)
    }
}

/// Where a scenario is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `[scenario]` in a genesis: the secret is its commitment.
    Genesis,
    /// A file of its own: the secret is its text.
    File,
}

/// An event as written: `at` is from `round`'s opening, if it names one.
struct WrittenEvent {
    at_ms: u64,
    round: Option<u64>,
    event: Event,
}

impl Reader {
    /// The `scenario` field of a genesis.
    pub(super) fn genesis_scenario(&mut self, value: &Value<'_>, path: &str) -> Option<Scenario> {
        let table = self.table(value, path, SCENARIO_FIELDS)?;
        self.scenario(&table, Place::Genesis)
            .map(|file| file.scenario)
    }

    fn scenario(&mut self, table: &Table<'_, '_>, place: Place) -> Option<ScenarioFile> {
        let prefix = match place {
            Place::Genesis => "scenario.",
            Place::File => "",
        };
        let name = self.required(table, "name", Self::string);
        if let Some(name) = &name {
            self.checker.scenario_name(prefix, name);
        }
        let description = self.optional(table, "description", String::new(), Self::string);
        if let Some(description) = &description {
            self.checker.scenario_description(prefix, description);
        }
        let start = self.optional(table, "start", ScenarioStart::FirstBlock, Self::start);
        let end_after_last_round =
            self.optional(table, "end_after_last_round", true, Self::boolean);
        let secret = match self.field(table, "secret") {
            None => Some((None, None)),
            Some((value, path)) => match place {
                Place::Genesis => self
                    .secret_commitment(value, &path)
                    .map(|commitment| (Some(commitment), None)),
                Place::File => self
                    .secret_text(value, &path)
                    .map(|text| (None, Some(text))),
            },
        };

        let rounds = match self.list(table, "rounds", false) {
            List::Items(items) => self.rounds(items, prefix),
            List::Missing => Some(Vec::new()),
            List::Invalid => None,
        };
        let written = match self.list(table, "events", false) {
            List::Items(items) => self.entries(items, &format!("{prefix}events"), Self::event),
            List::Missing => Some(Vec::new()),
            List::Invalid => None,
        };
        // Round-relative times need the rounds.
        let timed = match (written, &rounds) {
            (Some(written), Some(rounds)) => self.timed_events(prefix, written, rounds),
            _ => None,
        };

        let (secret, secret_text) = secret?;
        let (events, order) = timed?;
        let scenario = Scenario {
            name: name?,
            description: description?,
            start: start?,
            rounds: rounds?,
            events,
            end_after_last_round: end_after_last_round?,
            secret,
        };
        self.checker.scenario(prefix, &scenario, &|i| {
            format!("{prefix}events[{}]", order[i])
        });
        Some(ScenarioFile {
            scenario,
            secret_text,
        })
    }

    fn rounds(&mut self, items: &[Value<'_>], prefix: &str) -> Option<Vec<Round>> {
        let mut rounds = Vec::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{prefix}rounds[{i}]");
            self.spans.insert(path.clone(), item.span());
            match self.round(item, &path, i) {
                Some(round) => rounds.push(round),
                None => complete = false,
            }
        }
        complete.then_some(rounds)
    }

    fn round(&mut self, value: &Value<'_>, path: &str, index: usize) -> Option<Round> {
        let table = self.table(value, path, ROUND_FIELDS)?;
        let name = self.optional(&table, "name", format!("Round {}", index + 1), Self::string);
        let length_ms = self.required(&table, "length", Self::duration);
        let break_ms = self.optional(&table, "break", 0, Self::duration);
        let round = Round {
            name: name?,
            length_ms: length_ms?,
            break_ms: break_ms?,
        };
        self.checker.round(path, &round);
        Some(round)
    }

    fn event(&mut self, value: &Value<'_>, path: &str) -> Option<WrittenEvent> {
        let table = self.table(value, path, EVENT_FIELDS)?;
        let at_ms = self.required(&table, "at", Self::duration);
        let round = self.optional(&table, "round", None, |r, v, p| r.count(v, p).map(Some));
        let kinds: Vec<&str> = EVENT_KINDS
            .iter()
            .copied()
            .filter(|kind| table.entries.get(*kind).is_some())
            .collect();
        let event = match kinds.as_slice() {
            [kind] => self.event_kind(&table, path, kind),
            [] => {
                self.problem(
                    table.span.clone(),
                    path.to_string(),
                    format!("{ONE_THING}: give it one of them"),
                );
                None
            }
            [first, second, ..] => {
                if let Some((value, second_path)) = self.field(&table, second) {
                    self.problem(
                        value.span(),
                        second_path,
                        format!(
                            "{ONE_THING}; this one has both {first} and {second}: make it two \
                             events"
                        ),
                    );
                }
                None
            }
        };
        if let Some(event) = &event {
            self.checker.event(path, event);
        }
        Some(WrittenEvent {
            at_ms: at_ms?,
            round: round?,
            event: event?,
        })
    }

    /// What an event with the one field `kind` of [`EVENT_KINDS`] does.
    fn event_kind(&mut self, table: &Table<'_, '_>, path: &str, kind: &str) -> Option<Event> {
        if kind != "news"
            && let Some((value, text_path)) = self.field(table, "text")
        {
            self.problem(
                value.span(),
                text_path,
                "`text` goes only with `news`: it is the story under the headline".to_string(),
            );
        }
        let symbol = match kind {
            "news" | "value" | "dividend" => {
                self.optional(table, "symbol", None, |r, v, p| r.ticker(v, p).map(Some))
            }
            _ => {
                if let Some((value, symbol_path)) = self.field(table, "symbol") {
                    self.problem(
                        value.span(),
                        symbol_path,
                        format!(
                            "`symbol` goes only with news, value and dividend; {}",
                            match kind {
                                "rules" => "rules apply to every symbol",
                                _ => "say which symbol here, like halt = \"ACME\", or \"all\"",
                            }
                        ),
                    );
                }
                Some(None)
            }
        };
        let event = match kind {
            "news" => {
                let headline = self.required(table, "news", Self::string);
                let text = self.optional(table, "text", String::new(), Self::string);
                Event::News {
                    symbol: symbol?,
                    headline: headline?,
                    text: text?,
                }
            }
            "value" => {
                let symbol = self.event_symbol(table, path, symbol?, "whose value this is");
                let cents = self.required(table, "value", Self::money);
                let ticker = symbol?;
                // An unlisted symbol has no tick size: report it here, not as a value.
                if !self.checker.listed(&format!("{path}.symbol"), ticker) {
                    return None;
                }
                let tick_size = self.checker.tick_size(ticker)?;
                let value = self.reference_ticks(format!("{path}.value"), cents?, tick_size)?;
                Event::Value {
                    symbol: ticker,
                    value,
                }
            }
            "dividend" => {
                let symbol = self.event_symbol(table, path, symbol?, "whose holders are paid");
                let per_share = self.required(table, "dividend", Self::money);
                Event::Dividend {
                    symbol: symbol?,
                    per_share: per_share?,
                }
            }
            "halt" => Event::Halt(self.required(table, "halt", Self::scope)?),
            "resume" => Event::Resume(self.required(table, "resume", Self::scope)?),
            _ => Event::Rules(self.required(table, "rules", Self::rules_patch)?),
        };
        // The text, or the symbol, where it does not belong.
        let misplaced = |name: &str| {
            let goes_with = match name {
                "text" => kind == "news",
                _ => matches!(kind, "news" | "value" | "dividend"),
            };
            !goes_with && table.entries.get(name).is_some()
        };
        if misplaced("text") || misplaced("symbol") {
            return None;
        }
        symbol?;
        Some(event)
    }

    /// The `symbol` an event needs.
    fn event_symbol(
        &mut self,
        table: &Table<'_, '_>,
        path: &str,
        symbol: Option<Ticker>,
        what: &str,
    ) -> Option<Ticker> {
        if symbol.is_none() {
            self.problem(
                table.span.clone(),
                format!("{path}.symbol"),
                format!("missing: add `symbol = ...`, the symbol {what}"),
            );
        }
        symbol
    }

    /// Rounds from their place in the file, events at absolute game times and in the order
    /// they happen, with each event's place in the file.
    fn timed_events(
        &mut self,
        prefix: &str,
        written: Vec<WrittenEvent>,
        rounds: &[Round],
    ) -> Option<(Vec<ScheduledEvent>, Vec<usize>)> {
        let mut timed = Vec::with_capacity(written.len());
        let mut complete = true;
        for (i, event) in written.into_iter().enumerate() {
            let at_ms = match event.round {
                None => event.at_ms,
                Some(n) => {
                    let Some(index) = usize::try_from(n)
                        .ok()
                        .and_then(|n| n.checked_sub(1))
                        .filter(|&index| index < rounds.len())
                    else {
                        let message = if rounds.is_empty() {
                            format!(
                                "there is no round {n}: the scenario has no [[rounds]]; leave \
                                 `round` out to count from the start"
                            )
                        } else {
                            format!(
                                "there is no round {n}: the rounds are 1 to {}",
                                rounds.len()
                            )
                        };
                        self.problem_at(format!("{prefix}events[{i}].round"), message);
                        complete = false;
                        continue;
                    };
                    // When round `index` opens, as `Scenario::round_window` has it.
                    let open = rounds[..index].iter().fold(0u64, |open, round| {
                        open.saturating_add(round.length_ms)
                            .saturating_add(round.break_ms)
                    });
                    open.saturating_add(event.at_ms)
                }
            };
            timed.push((
                i,
                ScheduledEvent {
                    at_ms,
                    event: event.event,
                },
            ));
        }
        if !complete {
            return None;
        }
        // Stable: events at the same time keep the file's order.
        timed.sort_by_key(|(_, event)| event.at_ms);
        Some(timed.into_iter().map(|(i, event)| (event, i)).unzip())
    }

    // ----- Values -----

    /// A game time: `"1m30s"`, as milliseconds.
    fn duration(&mut self, value: &Value<'_>, path: &str) -> Option<u64> {
        let DeValue::String(text) = value.get_ref() else {
            self.wrong_type(value, path, "a time in quotes, like \"1m30s\"");
            return None;
        };
        match parse_duration(text) {
            Ok(ms) => Some(ms),
            Err(message) => {
                self.problem(value.span(), path.to_string(), message);
                None
            }
        }
    }

    fn start(&mut self, value: &Value<'_>, path: &str) -> Option<ScenarioStart> {
        let text = self.string(value, path)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "first-block" => Some(ScenarioStart::FirstBlock),
            "admin" => Some(ScenarioStart::ByAdmin),
            _ => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!(
                        "{text:?} is not a start: use \"first-block\" (game time starts with \
                         the first block) or \"admin\" (when an admin starts the scenario)"
                    ),
                );
                None
            }
        }
    }

    /// What a halt or resume applies to: a ticker, or `"all"`.
    fn scope(&mut self, value: &Value<'_>, path: &str) -> Option<Scope> {
        let text = self.string(value, path)?;
        if text.trim() == "all" {
            return Some(Scope::All);
        }
        match Ticker::new(&text) {
            Ok(ticker) => Some(Scope::Symbol(ticker)),
            Err(error) => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!("{error}; or \"all\" for every symbol"),
                );
                None
            }
        }
    }

    /// `{ short_selling = true, price_band = "5%" }`: the fields of `[rules]` a game may
    /// change.
    fn rules_patch(&mut self, value: &Value<'_>, path: &str) -> Option<RulesPatch> {
        let table = self.table(value, path, RULES_FIELDS)?;
        let mut refused = false;
        for (field, why) in [
            (
                "open_at_start",
                "it is the genesis's: rounds open and close the market, and halt and resume \
                 stop and restart it",
            ),
            (
                "candle_seconds",
                "the candle length is the genesis's for good: charts would mix candles of two \
                 lengths",
            ),
        ] {
            if let Some((value, field_path)) = self.field(&table, field) {
                self.problem(
                    value.span(),
                    field_path,
                    format!("a scenario cannot change {field}: {why}"),
                );
                refused = true;
            }
        }
        let short_selling = self.optional(&table, "short_selling", None, |r, v, p| {
            r.boolean(v, p).map(Some)
        });
        let max_short_shares = self.optional(&table, "max_short_shares", None, |r, v, p| {
            r.count(v, p).map(Some)
        });
        let max_order_shares = self.optional(&table, "max_order_shares", None, |r, v, p| {
            r.count(v, p).map(Some)
        });
        let price_band_bps = self.optional(&table, "price_band", None, |r, v, p| {
            r.percentage(v, p).map(Some)
        });
        let max_position_shares = self.optional(&table, "max_position_shares", None, |r, v, p| {
            r.count(v, p).map(Some)
        });
        let max_orders_per_minute =
            self.optional(&table, "max_orders_per_minute", None, |r, v, p| {
                let n = r.count(v, p)?;
                match u32::try_from(n) {
                    Ok(n) => Some(Some(n)),
                    Err(_) => {
                        r.problem(
                            v.span(),
                            p.to_string(),
                            format!("must be at most {MAX_ORDERS_PER_MINUTE} (0: no limit)"),
                        );
                        None
                    }
                }
            });
        let commission_per_order =
            self.optional(&table, "commission_per_order", None, |r, v, p| {
                r.money(v, p).map(Some)
            });
        let commission_per_share =
            self.optional(&table, "commission_per_share", None, |r, v, p| {
                r.money(v, p).map(Some)
            });
        let leaderboard_hidden = self.optional(&table, "hide_leaderboard", None, |r, v, p| {
            r.boolean(v, p).map(Some)
        });
        let patch = RulesPatch {
            short_selling: short_selling?,
            max_short_shares: max_short_shares?,
            max_order_shares: max_order_shares?,
            price_band_bps: price_band_bps?,
            max_position_shares: max_position_shares?,
            max_orders_per_minute: max_orders_per_minute?,
            commission_per_order: commission_per_order?,
            commission_per_share: commission_per_share?,
            leaderboard_hidden: leaderboard_hidden?,
        };
        (!refused).then_some(patch)
    }

    /// A genesis's `secret`: the commitment, as 64 hex digits.
    fn secret_commitment(&mut self, value: &Value<'_>, path: &str) -> Option<SecretCommitment> {
        if let DeValue::Table(_) = value.get_ref() {
            self.problem(
                value.span(),
                path.to_string(),
                "a genesis holds only the secret's commitment, never its text, which every \
                 laptop could read: keep [secret] in the scenario file, and the CLI writes its \
                 commitment here as secret = \"<64 hex digits>\""
                    .to_string(),
            );
            return None;
        }
        self.hash_of(
            value,
            path,
            "a secret's commitment: expected the 64 hex digits the CLI writes",
        )
        .map(SecretCommitment)
    }

    /// A scenario file's `[secret]`: its text.
    fn secret_text(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        if let DeValue::String(_) = value.get_ref() {
            self.problem(
                value.span(),
                path.to_string(),
                "a scenario file holds the secret's text, as [secret] with text = \"...\"; its \
                 commitment (64 hex digits) belongs in the genesis, where the CLI writes it"
                    .to_string(),
            );
            return None;
        }
        let table = self.table(value, path, SECRET_FIELDS)?;
        let text = self.required(&table, "text", Self::string)?;
        if text.len() > MAX_SECRET_BYTES {
            self.problem_at(
                format!("{path}.text"),
                format!(
                    "is {} bytes long; the limit is {MAX_SECRET_BYTES}",
                    text.len()
                ),
            );
            return None;
        }
        Some(text)
    }
}

#[cfg(test)]
mod tests;
