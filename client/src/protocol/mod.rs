//! The JSON a client prints and reads, as types: the `qraft session --jsonl` protocol
//! for bots and the `--json` output of the one-shot commands (docs/session.md).
//!
//! - [`command`]: what a bot writes, one [`Command`] a line ([`Line::parse`]).
//! - [`result`]: what a command answers: a [`ResultLine`] holding a success (a
//!   transaction's [`TxAccepted`], a membership change, ...) or a [`FailureLine`].
//! - [`report`]: what the queries answer: [`report::Book`], [`report::Portfolio`], ...
//! - [`event`]: what comes unasked: `ready`, subscription events, `reconnected`, ...
//!
//! Every type serializes and deserializes, so a Rust bot can read the lines the session
//! writes with the same types. A line is written by [`to_line`]: the keys of an object
//! come in alphabetical order (serde_json's map), whatever order the fields are
//! declared in here.

pub mod command;
pub mod event;
pub mod report;
pub mod result;

use serde::Serialize;
use serde_json::{Map, Value};

pub use command::{AdminName, Command, Line, LineError};
pub use event::Event;
pub use result::{FailureDetails, FailureLine, ResultLine, Success, TxAccepted};

/// `value` as a JSON object (its keys sorted), or `None` if it is not one.
pub fn to_object(value: &impl Serialize) -> Option<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `value` as one line of JSON (no newline), its object keys in alphabetical order.
pub fn to_line(value: &impl Serialize) -> String {
    // Through a Value, whose map keeps its keys sorted: the same bytes as the objects
    // the client built by hand before these types.
    match serde_json::to_value(value) {
        Ok(value) => value.to_string(),
        Err(err) => format!(
            "{{\"ok\":false,\"code\":1,\"status\":\"error\",\"error\":{}}}",
            Value::String(format!("cannot write JSON: {err}"))
        ),
    }
}
