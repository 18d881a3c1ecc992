//! Reading a genesis file: TOML text to a validated [`Genesis`]; and a scenario file, on
//! its own ([`parse_scenario`]).
//!
//! The file is written for people to edit. [`to_toml`](super::to_toml) writes one with a
//! comment above every field; in short:
//!
//! ```toml
//! game = "Period 3 market"
//!
//! [rules]                       # optional, and so is each field in it
//! short_selling = false
//! max_short_shares = 0
//! max_order_shares = 10000
//! price_band = "10%"            # "0.01%" to "100%"
//! open_at_start = true
//! candle_seconds = 60
//!
//! [[symbols]]
//! ticker = "ACME"
//! name = "Acme Corporation"
//! tick_size = "0.01"            # optional, "0.01" if left out
//! reference_price = "12.50"     # a whole number of ticks
//!
//! [[participants]]
//! name = "alice"
//! key = "qk1..."
//! role = "trader"               # admin, trader or bot; trader if left out
//! cash = "10000.00"
//! holdings = { ACME = 100 }     # optional
//!
//! [[voters]]                    # 1 to 7
//! id = 1
//! name = "node1"
//! key = "qk1..."
//! address = "127.0.0.1:7801"
//!
//! [[learners]]                  # optional, any number, same fields as voters
//!
//! [scenario]                    # optional: rounds and events (see below)
//! name = "Acme's quarter"
//! secret = "<64 hex digits>"    # optional: the commitment to the author's secret
//!
//! [previous]                    # optional: the game this one follows (a class's next game)
//! chain = "<64 hex digits>"     # the earlier game's chain id
//! height = 812                  # its final block
//! block = "<64 hex digits>"     # that block's hash
//! ```
//!
//! ## Scenarios
//!
//! The teacher writes a scenario in a file of its own, read by [`parse_scenario`] against
//! the game's symbols and rules; in a genesis, the same fields go under `[scenario]`
//! (`[[scenario.rounds]]`, `[[scenario.events]]`). Times are game times, from the
//! scenario's start: `"90s"`, `"2m"`, `"1m30s"`, `"1h15m"`.
//!
//! ```toml
//! name = "Acme's quarter"       # 1 to 64 bytes
//! description = """..."""       # optional: the briefing read before trading
//! start = "first-block"         # or "admin": when an admin starts it; first-block if left out
//! end_after_last_round = true   # the default
//!
//! [[rounds]]                    # optional, at most 50, in order
//! name = "Round 1"              # optional, "Round N" if left out
//! length = "3m"                 # at least 10s
//! break = "30s"                 # optional, "0s": the pause after it, market closed
//!
//! [[events]]                    # optional, at most 500; each does exactly one of:
//! at = "1m30s"                  # from the start, or from round `round`'s opening
//! round = 2                     # optional, from 1
//! news = "Acme wins a contract" # a headline; text = "..." and symbol = "ACME" optional
//!
//! [[events]]
//! at = "2m"
//! symbol = "ACME"
//! value = "14.00"               # what a share is worth now: a whole number of ticks
//! # or: dividend = "0.50"       # cash per share, with symbol
//! # or: halt = "ACME"           # a ticker, or "all"; likewise resume = "all"
//! # or: rules = { short_selling = true, max_short_shares = 100 }
//! #                             # any [rules] field but open_at_start and candle_seconds
//!
//! [secret]                      # scenario file only: what only the author sees
//! text = """ACME is really worth $16."""
//! ```
//!
//! Events are kept at absolute game times, in the order they happen (events at the same
//! time in the file's order). The whole game must fit in a week; with rounds and
//! `end_after_last_round`, every event comes before the last round closes. A rule change
//! applies to the rules in force then (the genesis's, changed by earlier changes) and must
//! leave rules a genesis could have.
//!
//! Money is dollars and cents: a string (`"12.50"`, `"$12.50"`) or a plain number
//! (`12.5`, `10000`), read as decimal text and never through floating point.
//!
//! Every problem is reported, each with the line and column it is at and the field it is
//! about ([`Diagnostic`]). Reading goes in up to two passes: if the file is not TOML at all,
//! only its syntax errors are reported; otherwise every structural problem (unknown or
//! missing fields, wrong types, unreadable money, keys, tickers) is reported together with
//! every rule the readable parts break (see [`validate`](super::validate)).
//!
//! Problems in a scenario file are reported the same way, with paths like
//! `events[1].value` (`scenario.events[1].value` in a genesis; indices count entries in
//! the file, whatever their times).
//!
//! This module does no IO: it reads a `&str`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use qraft_keys::{ChainId, KeyError, PublicKey};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::validate::{Checker, check_tick_size};
use super::{Genesis, NodeSpec, PreviousGame, Rules};
use crate::core::exchange::MAX_ORDERS_PER_MINUTE;
use crate::core::hash::Hash32;
use crate::core::tx::{ParticipantSpec, SymbolSpec};
use crate::core::types::{Cents, Role, Shares, Ticker, Ticks, format_cents, parse_cents};

/// The fields of the top level of a genesis file.
pub const GAME_FIELDS: &[&str] = &[
    "game",
    "rules",
    "symbols",
    "participants",
    "voters",
    "learners",
    "scenario",
    "previous",
];
/// The fields of `[previous]`.
pub const PREVIOUS_FIELDS: &[&str] = &["chain", "height", "block"];
/// The fields of `[rules]`.
pub const RULES_FIELDS: &[&str] = &[
    "short_selling",
    "max_short_shares",
    "max_order_shares",
    "price_band",
    "open_at_start",
    "candle_seconds",
    "max_position_shares",
    "max_orders_per_minute",
    "commission_per_order",
    "commission_per_share",
    "hide_leaderboard",
];
/// The fields of a `[[symbols]]` entry.
pub const SYMBOL_FIELDS: &[&str] = &["ticker", "name", "tick_size", "reference_price"];
/// The fields of a `[[participants]]` entry.
pub const PARTICIPANT_FIELDS: &[&str] = &["name", "key", "role", "cash", "holdings"];
/// The fields of a `[[voters]]` or `[[learners]]` entry.
pub const NODE_FIELDS: &[&str] = &["id", "name", "key", "address"];

/// The tick size of a symbol that does not give one: one cent.
pub const DEFAULT_TICK_SIZE: Cents = 1;

/// One problem in a genesis file, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The field the problem is about, as a path (`participants[2].key`; indices count
    /// from 0); empty for a TOML syntax error.
    pub path: String,
    pub message: String,
    /// The byte range of the text the problem points at.
    pub span: Range<usize>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a genesis file was refused: every problem found, in file order.
///
/// Displayed one problem per line, each as `FILE:LINE:COLUMN: PATH: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenesisError {
    file: String,
    diagnostics: Vec<Diagnostic>,
}

impl GenesisError {
    /// The file name the problems were reported against.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Every problem, in file order; never empty.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for GenesisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{diagnostic}", self.file)?;
        }
        Ok(())
    }
}

impl std::error::Error for GenesisError {}

/// Reads and validates a genesis file. `file` is the name problems are reported against
/// (`demo/genesis.toml`); nothing is read from it.
pub fn parse_genesis(text: &str, file: &str) -> Result<Genesis, GenesisError> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    let mut reader = Reader::new(Checker::new());
    if syntax_errors.is_empty() {
        let genesis = reader.game(root.get_ref());
        reader.finish(text, file, genesis)
    } else {
        reader.syntax_errors(syntax_errors);
        reader.finish(text, file, None)
    }
}

/// A problem before it has a line and column.
#[derive(Debug)]
struct Problem {
    span: Range<usize>,
    path: String,
    message: String,
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A TOML table being read.
struct Table<'r, 'i> {
    entries: &'r DeTable<'i>,
    /// The table's header (`[[participants]]`), or its inline `{ ... }`.
    span: Range<usize>,
    path: String,
}

/// What a list field holds.
enum List<'r, 'i> {
    Missing,
    /// Not a list; the problem is recorded.
    Invalid,
    Items(&'r [Value<'i>]),
}

/// Reads a parsed TOML document into a [`Genesis`], recording every problem.
struct Reader {
    problems: Vec<Problem>,
    /// Where each field that was read is, by path, so that rule violations (which name a
    /// path) can be placed.
    spans: BTreeMap<String, Range<usize>>,
    checker: Checker,
}

impl Reader {
    fn new(checker: Checker) -> Reader {
        Reader {
            problems: Vec::new(),
            spans: BTreeMap::new(),
            checker,
        }
    }

    /// Records the errors of a file that is not TOML.
    fn syntax_errors(&mut self, errors: Vec<toml::de::Error>) {
        for error in errors {
            self.problem(
                error.span().unwrap_or(0..0),
                String::new(),
                error.message().to_string(),
            );
        }
    }

    fn problem(&mut self, span: Range<usize>, path: String, message: String) {
        self.problems.push(Problem {
            span,
            path,
            message,
        });
    }

    /// A problem with a field that was read (or with its closest enclosing field).
    fn problem_at(&mut self, path: String, message: String) {
        let span = self.span_of(&path);
        self.problem(span, path, message);
    }

    /// Where the field at `path` is, or the closest enclosing field that was read.
    fn span_of(&self, path: &str) -> Range<usize> {
        let mut path = path;
        loop {
            if let Some(span) = self.spans.get(path) {
                return span.clone();
            }
            match path.rfind(['.', '[']) {
                Some(end) => path = &path[..end],
                None => return 0..0,
            }
        }
    }

    fn wrong_type(&mut self, value: &Value<'_>, path: &str, expected: &str) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        self.problem(
            value.span(),
            path.to_string(),
            format!("expected {expected}, found {article} {found}"),
        );
    }

    /// What was read, or every problem found.
    fn finish<T>(mut self, text: &str, file: &str, read: Option<T>) -> Result<T, GenesisError> {
        for violation in std::mem::take(&mut self.checker).finish() {
            self.problem_at(violation.path, violation.message);
        }
        match read {
            Some(read) if self.problems.is_empty() => Ok(read),
            _ => {
                debug_assert!(
                    !self.problems.is_empty(),
                    "a file that could not be read must have a recorded problem"
                );
                // Stable: problems at the same place keep the order they were found in.
                self.problems.sort_by_key(|p| p.span.start);
                let diagnostics = self
                    .problems
                    .into_iter()
                    .map(|p| {
                        let (line, column) = line_and_column(text, p.span.start);
                        Diagnostic {
                            line,
                            column,
                            path: p.path,
                            message: p.message,
                            span: p.span,
                        }
                    })
                    .collect();
                Err(GenesisError {
                    file: file.to_string(),
                    diagnostics,
                })
            }
        }
    }

    // ----- Tables and fields -----

    fn table<'r, 'i>(
        &mut self,
        value: &'r Value<'i>,
        path: &str,
        fields: &[&str],
    ) -> Option<Table<'r, 'i>> {
        let DeValue::Table(entries) = value.get_ref() else {
            self.wrong_type(value, path, "a table");
            return None;
        };
        let table = Table {
            entries,
            span: value.span(),
            path: path.to_string(),
        };
        self.refuse_unknown_fields(&table, fields);
        Some(table)
    }

    fn refuse_unknown_fields(&mut self, table: &Table<'_, '_>, fields: &[&str]) {
        for key in table.entries.keys() {
            let name: &str = key.get_ref();
            if fields.contains(&name) {
                continue;
            }
            let hint = match closest(name, fields) {
                Some(known) => format!("did you mean `{known}`? "),
                None => String::new(),
            };
            self.problem(
                key.span(),
                join(&table.path, name),
                format!(
                    "unknown field; {hint}(the fields here are {})",
                    fields.join(", ")
                ),
            );
        }
    }

    /// The field `name` of `table`, if present, and its path.
    fn field<'r, 'i>(
        &mut self,
        table: &Table<'r, 'i>,
        name: &str,
    ) -> Option<(&'r Value<'i>, String)> {
        let value = table.entries.get(name)?;
        let path = join(&table.path, name);
        self.spans.insert(path.clone(), value.span());
        Some((value, path))
    }

    fn required<'r, 'i, T>(
        &mut self,
        table: &Table<'r, 'i>,
        name: &str,
        read: impl FnOnce(&mut Self, &'r Value<'i>, &str) -> Option<T>,
    ) -> Option<T> {
        match self.field(table, name) {
            Some((value, path)) => read(self, value, &path),
            None => {
                self.problem(
                    table.span.clone(),
                    join(&table.path, name),
                    format!("missing: add `{name} = ...`"),
                );
                None
            }
        }
    }

    fn optional<'r, 'i, T>(
        &mut self,
        table: &Table<'r, 'i>,
        name: &str,
        default: T,
        read: impl FnOnce(&mut Self, &'r Value<'i>, &str) -> Option<T>,
    ) -> Option<T> {
        match self.field(table, name) {
            Some((value, path)) => read(self, value, &path),
            None => Some(default),
        }
    }

    fn list<'r, 'i>(&mut self, table: &Table<'r, 'i>, name: &str, required: bool) -> List<'r, 'i> {
        let Some((value, path)) = self.field(table, name) else {
            if required {
                self.problem(
                    table.span.clone(),
                    name.to_string(),
                    format!("missing: add at least one [[{name}]] entry"),
                );
            }
            return List::Missing;
        };
        match value.get_ref() {
            DeValue::Array(items) => List::Items(items),
            DeValue::Table(_) => {
                self.problem(
                    value.span(),
                    path,
                    format!(
                        "expected a list of [[{name}]] entries, found a single table: \
                         write [[{name}]] with double brackets"
                    ),
                );
                List::Invalid
            }
            _ => {
                self.wrong_type(value, &path, &format!("a list of [[{name}]] entries"));
                List::Invalid
            }
        }
    }

    /// Reads every entry of a list; `None` if any entry could not be read.
    fn entries<'r, 'i, T>(
        &mut self,
        items: &'r [Value<'i>],
        name: &str,
        read: impl Fn(&mut Self, &'r Value<'i>, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let mut entries = Vec::with_capacity(items.len());
        let mut complete = true;
        for (i, item) in items.iter().enumerate() {
            let path = format!("{name}[{i}]");
            self.spans.insert(path.clone(), item.span());
            match read(self, item, &path) {
                Some(entry) => entries.push(entry),
                None => complete = false,
            }
        }
        complete.then_some(entries)
    }

    // ----- The genesis, section by section -----

    fn game(&mut self, root: &DeTable<'_>) -> Option<Genesis> {
        let root = Table {
            entries: root,
            span: 0..0,
            path: String::new(),
        };
        self.refuse_unknown_fields(&root, GAME_FIELDS);

        let game = self.required(&root, "game", Self::string);
        if let Some(game) = &game {
            self.checker.game(game);
        }

        let rules = match self.field(&root, "rules") {
            Some((value, path)) => self.rules(value, &path),
            None => Some(Rules::default()),
        };
        if let Some(rules) = &rules {
            self.checker.rules(rules);
        }

        let symbols = match self.list(&root, "symbols", true) {
            List::Items(items) => {
                self.checker.symbol_count(items.len());
                self.entries(items, "symbols", Self::symbol)
            }
            List::Missing | List::Invalid => None,
        };
        if symbols.is_some() {
            self.checker.symbols_complete();
        }

        let participants = match self.list(&root, "participants", true) {
            List::Items(items) => {
                let participants = self.entries(items, "participants", Self::participant);
                if let Some(participants) = &participants {
                    self.checker.participants_complete(participants.len());
                }
                participants
            }
            List::Missing | List::Invalid => None,
        };

        let voters = match self.list(&root, "voters", true) {
            List::Items(items) => {
                self.checker.voter_count(items.len());
                self.entries(items, "voters", Self::node)
            }
            List::Missing | List::Invalid => None,
        };

        let learners = match self.list(&root, "learners", false) {
            List::Items(items) => self.entries(items, "learners", Self::node),
            List::Missing => Some(Vec::new()),
            List::Invalid => None,
        };

        // After the symbols and rules, which the scenario is checked against.
        let scenario = match self.field(&root, "scenario") {
            Some((value, path)) => self.genesis_scenario(value, &path).map(Some),
            None => Some(None),
        };

        let previous = match self.field(&root, "previous") {
            Some((value, path)) => self.previous(value, &path).map(Some),
            None => Some(None),
        };

        Some(Genesis {
            game: game?,
            rules: rules?,
            symbols: symbols?,
            participants: participants?,
            voters: voters?,
            learners: learners?,
            scenario: scenario?,
            previous: previous?,
        })
    }

    fn previous(&mut self, value: &Value<'_>, path: &str) -> Option<PreviousGame> {
        let table = self.table(value, path, PREVIOUS_FIELDS)?;
        let chain = self.required(&table, "chain", Self::hash);
        let height = self.required(&table, "height", Self::count);
        let block = self.required(&table, "block", Self::hash);
        Some(PreviousGame {
            chain: ChainId(chain?.0),
            height: height?,
            block: block?,
        })
    }

    fn rules(&mut self, value: &Value<'_>, path: &str) -> Option<Rules> {
        let table = self.table(value, path, RULES_FIELDS)?;
        let default = Rules::default();
        let short_selling = self.optional(
            &table,
            "short_selling",
            default.short_selling,
            Self::boolean,
        );
        let max_short_shares = self.optional(
            &table,
            "max_short_shares",
            default.max_short_shares,
            Self::count,
        );
        let max_order_shares = self.optional(
            &table,
            "max_order_shares",
            default.max_order_shares,
            Self::count,
        );
        let price_band_bps = self.optional(
            &table,
            "price_band",
            default.price_band_bps,
            Self::percentage,
        );
        let open_at_start = self.optional(
            &table,
            "open_at_start",
            default.open_at_start,
            Self::boolean,
        );
        let candle_ms = self.optional(&table, "candle_seconds", default.candle_ms, Self::seconds);
        let max_position_shares = self.optional(
            &table,
            "max_position_shares",
            default.max_position_shares,
            Self::count,
        );
        let max_orders_per_minute = self.optional(
            &table,
            "max_orders_per_minute",
            u64::from(default.max_orders_per_minute),
            Self::count,
        );
        let commission_per_order = self.optional(
            &table,
            "commission_per_order",
            default.commission_per_order,
            Self::money,
        );
        let commission_per_share = self.optional(
            &table,
            "commission_per_share",
            default.commission_per_share,
            Self::money,
        );
        let leaderboard_hidden = self.optional(
            &table,
            "hide_leaderboard",
            default.leaderboard_hidden,
            Self::boolean,
        );
        let max_orders_per_minute = match max_orders_per_minute.map(u32::try_from) {
            Some(Ok(n)) => Some(n),
            Some(Err(_)) => {
                self.problem_at(
                    format!("{path}.max_orders_per_minute"),
                    format!("must be at most {MAX_ORDERS_PER_MINUTE} (0: no limit)"),
                );
                None
            }
            None => None,
        };
        Some(Rules {
            short_selling: short_selling?,
            max_short_shares: max_short_shares?,
            max_order_shares: max_order_shares?,
            price_band_bps: price_band_bps?,
            open_at_start: open_at_start?,
            candle_ms: candle_ms?,
            max_position_shares: max_position_shares?,
            max_orders_per_minute: max_orders_per_minute?,
            commission_per_order: commission_per_order?,
            commission_per_share: commission_per_share?,
            leaderboard_hidden: leaderboard_hidden?,
        })
    }

    fn symbol(&mut self, value: &Value<'_>, path: &str) -> Option<SymbolSpec> {
        let table = self.table(value, path, SYMBOL_FIELDS)?;
        let ticker = self.required(&table, "ticker", Self::ticker);
        let name = self.required(&table, "name", Self::string);
        let tick_size = self.optional(&table, "tick_size", DEFAULT_TICK_SIZE, Self::money);
        let reference = self.required(&table, "reference_price", Self::money);

        let tick_size = tick_size.filter(|&tick_size| match check_tick_size(tick_size) {
            Ok(()) => true,
            Err(message) => {
                self.problem_at(format!("{path}.tick_size"), message);
                false
            }
        });
        let reference_price = match (tick_size, reference) {
            (Some(tick_size), Some(cents)) => {
                self.reference_ticks(format!("{path}.reference_price"), cents, tick_size)
            }
            _ => None,
        };
        let symbol = SymbolSpec {
            ticker: ticker?,
            name: name?,
            tick_size: tick_size?,
            reference_price: reference_price?,
        };
        self.checker.symbol(path, &symbol);
        Some(symbol)
    }

    /// A reference price in cents as a number of ticks of `tick_size` cents.
    fn reference_ticks(&mut self, path: String, cents: Cents, tick_size: Cents) -> Option<Ticks> {
        if cents < 0 {
            let message = format!(
                "is {}; it must be more than 0.00",
                format_cents(cents.into())
            );
            self.problem_at(path, message);
            return None;
        }
        if cents % tick_size != 0 {
            let below = cents - cents % tick_size;
            let message = format!(
                "{} is not a whole number of ticks of {}: the nearest prices are {} and {}",
                format_cents(cents.into()),
                format_cents(tick_size.into()),
                format_cents(below.into()),
                format_cents(i128::from(below) + i128::from(tick_size)),
            );
            self.problem_at(path, message);
            return None;
        }
        // Both are positive, so the quotient is.
        Ticks::try_from(cents / tick_size).ok()
    }

    fn participant(&mut self, value: &Value<'_>, path: &str) -> Option<ParticipantSpec> {
        let table = self.table(value, path, PARTICIPANT_FIELDS)?;
        let name = self.required(&table, "name", Self::string);
        let key = self.required(&table, "key", Self::key);
        let role = self.optional(&table, "role", Role::Trader, Self::role);
        let cash = self.required(&table, "cash", Self::money);
        let holdings = self.optional(&table, "holdings", Vec::new(), Self::holdings);
        let participant = ParticipantSpec {
            name: name?,
            key: key?,
            role: role?,
            cash: cash?,
            holdings: holdings?,
        };
        self.checker.participant(path, &participant);
        Some(participant)
    }

    fn node(&mut self, value: &Value<'_>, path: &str) -> Option<NodeSpec> {
        let table = self.table(value, path, NODE_FIELDS)?;
        let id = self.required(&table, "id", Self::count);
        let name = self.required(&table, "name", Self::string);
        let key = self.required(&table, "key", Self::key);
        let address = self.required(&table, "address", Self::string);
        let node = NodeSpec {
            id: id?,
            name: name?,
            key: key?,
            address: address?,
        };
        self.checker.node(path, &node);
        Some(node)
    }

    // ----- Values -----

    fn string(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(text) => Some(text.to_string()),
            _ => {
                self.wrong_type(value, path, "a string in quotes");
                None
            }
        }
    }

    fn boolean(&mut self, value: &Value<'_>, path: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(value, path, "true or false");
                None
            }
        }
    }

    /// A whole number that is not negative: shares, ids.
    fn count(&mut self, value: &Value<'_>, path: &str) -> Option<u64> {
        let integer = match value.get_ref() {
            DeValue::Integer(integer) => integer,
            DeValue::String(text) if text.trim().parse::<u64>().is_ok() => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!(
                        "expected a whole number, found a string: write {} without quotes",
                        text.trim()
                    ),
                );
                return None;
            }
            _ => {
                self.wrong_type(value, path, "a whole number");
                return None;
            }
        };
        match i64::from_str_radix(integer.as_str(), integer.radix()) {
            Ok(n) if n < 0 => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!("is {n}; it must not be negative"),
                );
                None
            }
            Ok(n) => u64::try_from(n).ok(),
            Err(_) => {
                self.problem(value.span(), path.to_string(), "is too large".to_string());
                None
            }
        }
    }

    /// Seconds, as milliseconds.
    fn seconds(&mut self, value: &Value<'_>, path: &str) -> Option<u64> {
        let seconds = self.count(value, path)?;
        let ms = seconds.checked_mul(1000);
        if ms.is_none() {
            self.problem(value.span(), path.to_string(), "is too large".to_string());
        }
        ms
    }

    /// Dollars and cents, as cents.
    fn money(&mut self, value: &Value<'_>, path: &str) -> Option<Cents> {
        let text: Cow<'_, str> = match value.get_ref() {
            DeValue::String(text) => Cow::Borrowed(text.as_ref()),
            DeValue::Integer(integer) if integer.radix() == 10 => Cow::Borrowed(integer.as_str()),
            DeValue::Float(float) => Cow::Borrowed(float.as_str()),
            _ => {
                self.wrong_type(value, path, "an amount of money, like \"12.50\"");
                return None;
            }
        };
        let cents = parse_cents(&text);
        if cents.is_none() {
            self.problem(
                value.span(),
                path.to_string(),
                format!(
                    "{text:?} is not an amount of money: write dollars and at most two \
                     decimals of cents, like \"12.50\""
                ),
            );
        }
        cents
    }

    /// A percentage, as basis points.
    fn percentage(&mut self, value: &Value<'_>, path: &str) -> Option<u32> {
        let DeValue::String(text) = value.get_ref() else {
            self.wrong_type(value, path, "a percentage in quotes, like \"10%\"");
            return None;
        };
        match parse_percentage(text) {
            Ok(bps) => Some(bps),
            Err(reason) => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!("{text:?} is not a percentage like \"10%\" or \"2.5%\": {reason}"),
                );
                None
            }
        }
    }

    fn key(&mut self, value: &Value<'_>, path: &str) -> Option<PublicKey> {
        let text = self.string(value, path)?;
        match text.parse::<PublicKey>() {
            Ok(key) => Some(key),
            Err(error) => {
                let message = match error {
                    KeyError::BadKeyText { .. } => error.to_string(),
                    _ => format!("{text:?} is refused: {error}"),
                };
                self.problem(value.span(), path.to_string(), message);
                None
            }
        }
    }

    fn hash(&mut self, value: &Value<'_>, path: &str) -> Option<Hash32> {
        self.hash_of(value, path, "a hash: 64 hexadecimal digits")
    }

    /// A hash as 64 hex digits; anything else is refused as not `what`.
    fn hash_of(&mut self, value: &Value<'_>, path: &str, what: &str) -> Option<Hash32> {
        let text = self.string(value, path)?;
        let hash = Hash32::from_hex(&text);
        if hash.is_none() {
            self.problem(
                value.span(),
                path.to_string(),
                format!("{text:?} is not {what}"),
            );
        }
        hash
    }

    fn ticker(&mut self, value: &Value<'_>, path: &str) -> Option<Ticker> {
        let text = self.string(value, path)?;
        match Ticker::new(&text) {
            Ok(ticker) => Some(ticker),
            Err(error) => {
                self.problem(value.span(), path.to_string(), error.to_string());
                None
            }
        }
    }

    fn role(&mut self, value: &Value<'_>, path: &str) -> Option<Role> {
        let text = self.string(value, path)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "admin" => Some(Role::Admin),
            "trader" => Some(Role::Trader),
            "bot" => Some(Role::Bot),
            _ => {
                self.problem(
                    value.span(),
                    path.to_string(),
                    format!("{text:?} is not a role: use \"admin\", \"trader\" or \"bot\""),
                );
                None
            }
        }
    }

    /// `{ ACME = 100, "BRK.B" = 5 }`, sorted by ticker.
    fn holdings(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<(Ticker, Shares)>> {
        let DeValue::Table(entries) = value.get_ref() else {
            self.wrong_type(value, path, "shares per ticker, like { ACME = 100 }");
            return None;
        };
        let mut holdings = Vec::with_capacity(entries.len());
        let mut complete = true;
        for (key, shares) in entries.iter() {
            let raw_path = join(path, key.get_ref());
            let ticker = match Ticker::new(key.get_ref()) {
                Ok(ticker) => ticker,
                Err(error) => {
                    self.problem(key.span(), raw_path, error.to_string());
                    complete = false;
                    continue;
                }
            };
            let item_path = format!("{path}.{ticker}");
            self.spans.insert(item_path.clone(), shares.span());
            if let DeValue::Table(_) = shares.get_ref() {
                self.problem(
                    shares.span(),
                    raw_path,
                    "expected a number of shares, found a table: a ticker with a '.' goes in \
                     quotes, like \"BRK.B\" = 100"
                        .to_string(),
                );
                complete = false;
                continue;
            }
            match self.count(shares, &item_path) {
                Some(count) => holdings.push((ticker, count)),
                None => complete = false,
            }
        }
        holdings.sort_by_key(|&(ticker, _)| ticker);
        complete.then_some(holdings)
    }
}

/// `"10%"`, `"2.5%"`, `"0.01%"` as basis points (1000, 250, 1).
pub fn parse_percentage(text: &str) -> Result<u32, &'static str> {
    let number = text
        .trim()
        .strip_suffix('%')
        .ok_or("it must end with %")?
        .trim_end();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err("there is no number");
    }
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err("only digits and one '.' may come before the %");
    }
    if fraction.len() > 2 {
        return Err("at most two decimals (0.01% is the finest step)");
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "it is far too large")?
    };
    let hundredths: u32 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<u32>().map_err(|_| "bad decimals")? * 10,
        _ => fraction.parse().map_err(|_| "bad decimals")?,
    };
    whole
        .checked_mul(100)
        .and_then(|bps| bps.checked_add(hundredths))
        .ok_or("it is far too large")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The known field closest to a misspelt one, if it is close enough to be the likely
/// intent.
fn closest<'f>(name: &str, fields: &[&'f str]) -> Option<&'f str> {
    let name = name.to_ascii_lowercase();
    fields
        .iter()
        .map(|&field| (edit_distance(&name, field), field))
        .filter(|&(distance, field)| distance <= (field.len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, field)| field)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

mod scenario;

pub use scenario::{
    EVENT_FIELDS, EVENT_KINDS, ROUND_FIELDS, SCENARIO_FIELDS, SECRET_FIELDS, ScenarioFile,
    parse_scenario,
};

#[cfg(test)]
mod tests;
