//! What a bot writes to `qraft session --jsonl`: one [`Command`] a line, with an optional
//! `id` echoed in its result.

use qraft_node::core::types::{NodeId, OrderId, Role, Shares, Side, Ticker};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One command line, without its `id` (see [`Line`]). The tag is `"cmd"`; unknown fields
/// are refused, so a typo does not silently do something else.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Places an order: with `limit` a limit order (rests in the book), with `ioc` as
    /// well immediate-or-cancel, without `limit` a market order.
    Order {
        side: Side,
        symbol: Ticker,
        /// Whole shares (`quantity` is accepted too).
        #[serde(alias = "quantity")]
        qty: Shares,
        /// Dollars, as a string (`"12.50"`) or a number (`12.5`); see [`price_text`].
        #[serde(default)]
        limit: Option<Value>,
        /// Immediate-or-cancel (needs `limit`).
        #[serde(default)]
        ioc: bool,
    },
    /// Cancels one of your orders (`order`), or all of them (`all`, optionally in one
    /// `symbol`).
    Cancel {
        #[serde(default)]
        order: Option<OrderId>,
        #[serde(default)]
        all: bool,
        #[serde(default)]
        symbol: Option<Ticker>,
    },
    /// A symbol's order book, `levels` (1-100, default 10) price levels a side.
    Book {
        symbol: Ticker,
        #[serde(default)]
        levels: Option<u32>,
    },
    /// Your cash, positions, open orders and net worth.
    Portfolio {},
    /// Recent public trades, newest first (`limit`, default 20), in one `symbol` or all.
    Trades {
        #[serde(default)]
        symbol: Option<Ticker>,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Students, then bots, each ranked on its own `by` return since the start (the
    /// default), average round rank (`rounds`) or net worth (`worth`).
    Leaderboard {
        #[serde(default)]
        by: RankBy,
    },
    /// The rules in force, since which block, and every earlier set.
    Rules {},
    /// The latest `last` (default 10) block headers, oldest first.
    Blocks {
        #[serde(default)]
        last: Option<u64>,
    },
    /// The connected node's consensus state.
    Status {},
    /// A transaction's receipt, by its hash (64 hex digits).
    Receipt { tx: String },
    /// Starts events on these topics, replacing an earlier subscription.
    Subscribe {
        #[serde(default)]
        blocks: bool,
        #[serde(default)]
        trades: bool,
        #[serde(default)]
        fills: bool,
        #[serde(default)]
        book: bool,
    },
    /// Stops events.
    Unsubscribe {},
    /// Game administration (admin key only); which fields an action needs is listed on
    /// [`AdminName`].
    Admin {
        action: AdminName,
        #[serde(default)]
        symbol: Option<Ticker>,
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        key: Option<String>,
        /// Dollars, as a string or a number; see [`price_text`].
        #[serde(default)]
        cash: Option<Value>,
        #[serde(default)]
        role: Option<Role>,
        /// `SYMBOL=SHARES`, like `"ACME=100"`.
        #[serde(default)]
        holdings: Vec<String>,
        #[serde(default)]
        node: Option<NodeId>,
        #[serde(default)]
        address: Option<String>,
    },
}

/// An `admin` command's `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminName {
    /// Opens the market, or one `symbol`.
    Open,
    /// Halts trading, or in one `symbol`.
    Halt,
    /// Resumes trading, or in one `symbol`.
    Resume,
    /// Closes the market, or one `symbol`.
    Close,
    /// Publishes `text` as news.
    News,
    /// Adds a participant: `name`, `key`, `cash`, optional `role` and `holdings`.
    AddParticipant,
    /// Registers a node the genesis does not name: `node`, `name`, `key`, `address`.
    AddNode,
    /// Suspends a participant (`name` or `key`).
    Suspend,
    /// Reinstates a suspended participant (`name` or `key`).
    Reinstate,
    /// Makes `node` a learner.
    AddLearner,
    /// Makes learner `node` a voter.
    Promote,
    /// Removes `node` for good, through the ledger.
    Remove,
}

impl Command {
    /// Whether this command signs and submits a transaction (which keeps its order):
    /// orders, cancels and admin actions other than the membership changes.
    pub fn is_transaction(&self) -> bool {
        match self {
            Command::Order { .. } | Command::Cancel { .. } => true,
            Command::Admin { action, .. } => {
                !matches!(action, AdminName::AddLearner | AdminName::Promote)
            }
            _ => false,
        }
    }

    /// The `cmd` that names it.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Order { .. } => "order",
            Command::Cancel { .. } => "cancel",
            Command::Book { .. } => "book",
            Command::Portfolio {} => "portfolio",
            Command::Trades { .. } => "trades",
            Command::Leaderboard { .. } => "leaderboard",
            Command::Rules {} => "rules",
            Command::Blocks { .. } => "blocks",
            Command::Status {} => "status",
            Command::Receipt { .. } => "receipt",
            Command::Subscribe { .. } => "subscribe",
            Command::Unsubscribe {} => "unsubscribe",
            Command::Admin { .. } => "admin",
        }
    }
}

/// Why a line is not a command (a `usage` failure, code 2); the texts are the `error`s
/// the session answers with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("a command is a JSON object, like {{\"id\":1,\"cmd\":\"status\"}}")]
    NotAnObject,
    /// An object without a `"cmd"` string.
    #[error("no \"cmd\": say what to do, like \"order\", \"book\" or \"status\"")]
    NoCmd,
    /// An unknown `cmd`, a missing or unknown field, a value of the wrong type.
    #[error("malformed command: {0}")]
    Malformed(String),
}

/// A parsed line: its `id` (echoed in the result), its `cmd` as written, and the command
/// or why it is not one.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub id: Option<Value>,
    pub cmd: Option<String>,
    pub command: Result<Command, LineError>,
}

impl Line {
    /// Parses one input line. Never fails: a malformed line keeps what is known of it
    /// (its `id` and `cmd`) for the failure result.
    pub fn parse(text: &str) -> Line {
        let mut map: Map<String, Value> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Line::malformed(None, None, LineError::NotAnObject),
            Err(err) => return Line::malformed(None, None, LineError::NotJson(err.to_string())),
        };
        let id = map.remove("id");
        let cmd = map.get("cmd").and_then(Value::as_str).map(str::to_string);
        if cmd.is_none() {
            return Line::malformed(id, cmd, LineError::NoCmd);
        }
        let command = serde_json::from_value::<Command>(Value::Object(map))
            .map_err(|err| LineError::Malformed(err.to_string()));
        Line { id, cmd, command }
    }

    fn malformed(id: Option<Value>, cmd: Option<String>, error: LineError) -> Line {
        Line {
            id,
            cmd,
            command: Err(error),
        }
    }
}

/// A price (or an amount of cash) given as `"12.50"` or `12.5`, as text to parse.
pub fn price_text(value: &Value) -> Result<String, NotAPrice> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(NotAPrice(other.to_string())),
    }
}

/// A price that is neither a string nor a number (the JSON it was, as written).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a price is a string of dollars like \"12.50\", not {0}")]
pub struct NotAPrice(pub String);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_parse_into_commands_with_their_ids() {
        let line = Line::parse(
            r#"{"id":1,"cmd":"order","side":"buy","symbol":"acme","qty":10,"limit":"12.50"}"#,
        );
        assert_eq!(line.id, Some(json!(1)));
        assert_eq!(line.cmd.as_deref(), Some("order"));
        assert_eq!(
            line.command,
            Ok(Command::Order {
                side: Side::Buy,
                symbol: Ticker::new("ACME").expect("a ticker"),
                qty: 10,
                limit: Some(json!("12.50")),
                ioc: false,
            })
        );
        let line = Line::parse(r#"{"cmd":"book","symbol":"ACME"}"#);
        assert_eq!(line.id, None);
        assert!(matches!(
            line.command,
            Ok(Command::Book { levels: None, .. })
        ));
        let line = Line::parse(r#"{"id":"x","cmd":"subscribe","blocks":true,"fills":true}"#);
        assert_eq!(
            line.command,
            Ok(Command::Subscribe {
                blocks: true,
                trades: false,
                fills: true,
                book: false
            })
        );
        let line = Line::parse(
            r#"{"id":4,"cmd":"admin","action":"add_node","node":7,"name":"lab-7","key":"qk1x","address":"10.0.0.7:7801"}"#,
        );
        assert!(matches!(
            line.command,
            Ok(Command::Admin {
                action: AdminName::AddNode,
                node: Some(7),
                address: Some(ref a),
                ..
            }) if a == "10.0.0.7:7801"
        ));
    }

    #[test]
    fn malformed_lines_say_why_and_keep_what_is_known() {
        let line = Line::parse("not json");
        assert_eq!(line.id, None);
        assert!(matches!(line.command, Err(LineError::NotJson(_))));
        let line = Line::parse(
            r#"{"id":7,"cmd":"order","side":"buy","symbol":"ACME","quantity":1,"price":"1"}"#,
        );
        assert_eq!(line.id, Some(json!(7)));
        let err = line.command.expect_err("an unknown field");
        assert!(err.to_string().contains("price"), "{err}");
        let line = Line::parse(r#"{"id":8,"cmd":"dance"}"#);
        assert_eq!(line.cmd.as_deref(), Some("dance"));
        assert!(matches!(line.command, Err(LineError::Malformed(_))));
        assert_eq!(Line::parse(r#"{"id":9}"#).command, Err(LineError::NoCmd));
        assert_eq!(Line::parse("[1,2]").command, Err(LineError::NotAnObject));
    }

    #[test]
    fn prices_may_be_strings_or_numbers() {
        assert_eq!(price_text(&json!("12.50")), Ok("12.50".to_string()));
        assert_eq!(price_text(&json!(12.5)), Ok("12.5".to_string()));
        assert_eq!(price_text(&json!(12)), Ok("12".to_string()));
        assert_eq!(
            price_text(&json!(true)).map_err(|e| e.to_string()),
            Err("a price is a string of dollars like \"12.50\", not true".to_string())
        );
    }
}

/// What a leaderboard is ranked by, as commands and the CLI name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RankBy {
    /// Return since the start.
    #[default]
    Return,
    /// The average of each closed round's rank.
    Rounds,
    /// Net worth.
    Worth,
}

impl RankBy {
    /// The ledger's ranking this names.
    pub fn ranking(self) -> qraft_node::core::exchange::scoring::Ranking {
        use qraft_node::core::exchange::scoring::Ranking;
        match self {
            RankBy::Return => Ranking::Return,
            RankBy::Rounds => Ranking::RoundRanks,
            RankBy::Worth => Ranking::NetWorth,
        }
    }
}

impl std::str::FromStr for RankBy {
    type Err = String;

    fn from_str(text: &str) -> Result<RankBy, String> {
        match text {
            "return" => Ok(RankBy::Return),
            "rounds" => Ok(RankBy::Rounds),
            "worth" => Ok(RankBy::Worth),
            other => Err(format!(
                "{other:?} is not a ranking: use return, rounds or worth"
            )),
        }
    }
}
