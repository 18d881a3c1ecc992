//! Every line the client printed, read back with the types of `qraft_client::protocol`
//! and written again: the same bytes, so the types describe the output exactly (a Rust
//! bot can read it with them).

use qraft_client::protocol::report::{Blocks, Book, Leaderboard, NodeStatus, Portfolio, Trades};
use qraft_client::protocol::result::{MembershipReport, NodeRegistered, Subscribed, Unsubscribed};
use qraft_client::protocol::{self, Event, FailureLine, ResultLine, Success, TxAccepted};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Checks an event line.
pub fn event(line: &str) {
    round_trip::<Event>(line, line);
}

/// Checks a result line of command `cmd` (a session's, with its `id` and `cmd`, or a
/// one-shot command's `--json` output).
pub fn result(cmd: &str, line: &str) {
    let parsed: ResultLine =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a result line ({e}): {line}"));
    assert_eq!(
        protocol::to_line(&parsed),
        line,
        "ResultLine changes {line}"
    );
    let body = protocol::to_line(&parsed.body);
    let map = &parsed.body;
    if map.get("ok") == Some(&Value::Bool(false)) {
        return round_trip::<FailureLine>(&body, line);
    }
    match cmd {
        "order" | "cancel" | "receipt" => round_trip::<Success<TxAccepted>>(&body, line),
        "admin" if map.contains_key("change") => {
            round_trip::<Success<MembershipReport>>(&body, line)
        }
        "admin" if map.contains_key("registered") => {
            round_trip::<Success<NodeRegistered>>(&body, line)
        }
        "admin" => round_trip::<Success<TxAccepted>>(&body, line),
        "book" => round_trip::<Success<Book>>(&body, line),
        "portfolio" => round_trip::<Success<Portfolio>>(&body, line),
        "trades" => round_trip::<Success<Trades>>(&body, line),
        "leaderboard" => round_trip::<Success<Leaderboard>>(&body, line),
        "blocks" => round_trip::<Success<Blocks>>(&body, line),
        "status" => round_trip::<Success<NodeStatus>>(&body, line),
        "subscribe" => round_trip::<Success<Subscribed>>(&body, line),
        "unsubscribe" => round_trip::<Success<Unsubscribed>>(&body, line),
        other => panic!("no type for {other}'s result: {line}"),
    }
}

/// `text` read as a `T` and written again is `text`.
fn round_trip<T: DeserializeOwned + Serialize>(text: &str, line: &str) {
    let value: T = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{} does not read ({e}): {line}", std::any::type_name::<T>()));
    assert_eq!(
        protocol::to_line(&value),
        text,
        "{} changes {line}",
        std::any::type_name::<T>()
    );
}
