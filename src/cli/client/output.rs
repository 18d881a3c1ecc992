//! What a client command prints: a line or a few for people, or exactly one JSON object
//! (`--json`); failures with the exit code a script can rely on.

use std::fmt;
use std::io::Write;

use qraft_client::protocol::{self, FailureDetails, FailureLine, Success};
use serde::Serialize;
use serde_json::{Map, Value};

/// Exit codes of the client commands.
pub mod exit {
    /// It was done.
    #[allow(
        dead_code,
        reason = "main returns ExitCode::SUCCESS; listed for completeness"
    )]
    pub const OK: u8 = 0;
    /// It could not be done: cannot connect, the node failed, bad input.
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// The transaction was refused or rejected: nothing happened.
    pub const REFUSED: u8 = 3;
    /// The outcome is unknown (no answer in time): look up the receipt.
    pub const UNKNOWN: u8 = 4;
}

/// The exit codes, for the commands' `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done
  1  could not do it: cannot connect, node error, bad input
  2  usage error (wrong options)
  3  the transaction was refused or rejected: nothing happened
  4  outcome unknown (no answer in time): look up its receipt with `qraft receipt TX`

With --json, stdout holds exactly one JSON object, also on failure:
{\"ok\":false,\"code\":N,\"status\":\"error|refused|rejected|unknown\",\"error\":\"...\"}.
Field names are documented in docs/session.md.";

/// How a command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Could not do it (exit 1).
    Error,
    /// A malformed request (exit 2).
    Usage,
    /// The node would not take the transaction (exit 3).
    Refused,
    /// The exchange applied the transaction as a rejection (exit 3).
    Rejected,
    /// Nobody knows yet whether it happened (exit 4).
    Unknown,
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Error => exit::FAILED,
            Status::Usage => exit::USAGE,
            Status::Refused | Status::Rejected => exit::REFUSED,
            Status::Unknown => exit::UNKNOWN,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Error => "error",
            Status::Usage => "usage",
            Status::Refused => "refused",
            Status::Rejected => "rejected",
            Status::Unknown => "unknown",
        }
    }
}

/// A failed command: what to tell a person, and the details a program wants.
#[derive(Clone, Debug)]
pub struct Failure {
    pub status: Status,
    pub message: String,
    pub details: Map<String, Value>,
}

impl Failure {
    pub fn new(status: Status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn error(message: impl Into<String>) -> Failure {
        Failure::new(Status::Error, message)
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Status::Usage, message)
    }

    pub fn refused(message: impl Into<String>) -> Failure {
        Failure::new(Status::Refused, message)
    }

    pub fn rejected(message: impl Into<String>) -> Failure {
        Failure::new(Status::Rejected, message)
    }

    pub fn unknown(message: impl Into<String>) -> Failure {
        Failure::new(Status::Unknown, message)
    }

    /// Adds a detail to the JSON form.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Failure {
        self.details.insert(key.to_string(), to_value(value));
        self
    }

    pub fn code(&self) -> u8 {
        self.status.code()
    }

    /// `{"ok":false,"code":3,"status":"rejected","error":"...", ...details}`.
    pub fn to_line(&self) -> FailureLine {
        FailureLine {
            ok: false,
            code: self.code(),
            status: self.status.name().into(),
            error: self.message.clone(),
            details: FailureDetails::from_map(self.details.clone()),
        }
    }

    /// [`Failure::to_line`] as a JSON object.
    pub fn to_json(&self) -> Map<String, Value> {
        protocol::to_object(&self.to_line()).unwrap_or_default()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Status::Rejected => write!(f, "rejected: {}", self.message),
            Status::Refused => write!(f, "refused: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Failure {}

/// A command's successful result: text for people and the JSON object for programs,
/// made together from the same data.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub json: Map<String, Value>,
    pub human: String,
}

impl Report {
    /// `fields` (a type of [`qraft_client::protocol`]) must serialize as an object;
    /// `"ok": true` is added.
    pub fn new(fields: impl Serialize, human: impl Into<String>) -> Report {
        let success = Success { ok: true, fields };
        let json = protocol::to_object(&success).unwrap_or_else(|| {
            let mut map = Map::new();
            map.insert("ok".into(), Value::Bool(true));
            map
        });
        Report {
            json,
            human: human.into(),
        }
    }

    /// Nothing left to print (the command printed as it went).
    pub fn done() -> Report {
        Report {
            json: Map::new(),
            human: String::new(),
        }
    }

    fn is_done(&self) -> bool {
        self.json.is_empty() && self.human.is_empty()
    }
}

/// One JSON object on one line (its keys in alphabetical order).
pub fn json_line(value: &impl Serialize) -> String {
    protocol::to_line(value)
}

/// Prints a command's result (text, or one JSON object with `json`) and turns a failure
/// into the error `main` maps to its exit code.
pub fn emit(result: Result<Report, Failure>, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match result {
        Ok(report) => {
            if report.is_done() {
                return Ok(());
            }
            let text = if json {
                json_line(&report.json)
            } else {
                report.human.trim_end().to_string()
            };
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
            Ok(())
        }
        Err(failure) => {
            if json {
                let _ = writeln!(out, "{}", json_line(&failure.to_line()));
                let _ = out.flush();
            }
            Err(anyhow::Error::new(failure))
        }
    }
}

/// The exit code for an error a command returned: a [`Failure`]'s own, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Failure>()
        .map_or(exit::FAILED, Failure::code)
}

pub fn to_value(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Dollars for people (`$1,234.50`, `-$0.07`) and whole numbers with separators (`1,010`),
/// as the dashboard writes them.
pub use qraft_client::format::{count, date_time, dollars, usd};

/// The name of an enum value's variant in snake_case (`InsufficientCash` ->
/// `insufficient_cash`), as a stable machine-readable reason.
pub fn variant_name(value: impl Serialize) -> String {
    let name = match to_value(value) {
        Value::String(s) => s,
        Value::Object(map) => map.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    snake_case(&name)
}

fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `HH:MM:SS` (UTC) of a time in milliseconds since the Unix epoch.
pub fn clock(ms: u64) -> String {
    qraft_client::format::clock(ms, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::api::Refusal;
    use qraft_node::core::exchange::reject::Rejection;
    use serde_json::json;

    #[test]
    fn reasons_are_snake_case_variant_names() {
        assert_eq!(variant_name(Rejection::MarketClosed), "market_closed");
        assert_eq!(
            variant_name(Rejection::InsufficientCash {
                needed: 1,
                available: 0,
                reserved: 0
            }),
            "insufficient_cash"
        );
        assert_eq!(variant_name(Refusal::Busy { capacity: 3 }), "busy");
        assert_eq!(variant_name(Refusal::NoLeader), "no_leader");
    }

    #[test]
    fn failures_carry_their_exit_code_and_json() {
        let failure = Failure::rejected("not enough cash").with("reason", "insufficient_cash");
        assert_eq!(failure.code(), 3);
        assert_eq!(failure.to_string(), "rejected: not enough cash");
        let json = Value::Object(failure.to_json());
        assert_eq!(
            json,
            json!({"ok": false, "code": 3, "status": "rejected",
                   "error": "not enough cash", "reason": "insufficient_cash"})
        );
        assert_eq!(Failure::unknown("x").code(), 4);
        assert_eq!(Failure::refused("busy").code(), 3);
        assert_eq!(Failure::error("x").code(), 1);
        assert_eq!(Failure::usage("x").code(), 2);
        let err = anyhow::Error::new(Failure::unknown("no answer"));
        assert_eq!(exit_code(&err), 4);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), 1);
    }

    #[test]
    fn reports_are_objects_marked_ok() {
        let report = Report::new(json!({"height": 3}), "Block 3");
        assert_eq!(Value::Object(report.json), json!({"ok": true, "height": 3}));
    }
}
