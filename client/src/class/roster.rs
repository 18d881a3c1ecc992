//! The roster: the seats of students who proved the code, in arrival order (pure), and
//! the teacher's list of expected names, read from a file, whose names are approved on
//! arrival.
//!
//! The list is a CSV file with one column of names (a header `name` is skipped, and so
//! are blank lines and `#` comments); a second column, if any, is ignored, so a
//! spreadsheet export of "name, email" works as it is. Names match ignoring case and
//! spaces at either end.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use super::view::{ClassView, RosterEntry, SeatState};

/// The most names a list may hold: several classes' worth, and a bound on what a mistyped
/// file (a whole spreadsheet) can make the teacher's laptop hold.
pub const MAX_LIST_NAMES: usize = 1_000;
/// The most seats a roster keeps: every seat stays listed for the session (refused and
/// left ones too), and a class is 30. Past this, new attempts are refused as busy.
pub const MAX_SEATS: usize = 512;

/// A roster list file that cannot be used, naming the file and line.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot read the roster {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: name: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: more than {MAX_LIST_NAMES} names; split the list")]
    TooLong { file: String },
}

/// The names the teacher expects: approved on arrival.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedNames {
    folded: BTreeSet<String>,
}

fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

impl ExpectedNames {
    pub fn len(&self) -> usize {
        self.folded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }

    /// Whether `name` is on the list.
    pub fn contains(&self, name: &str) -> bool {
        self.folded.contains(&fold(name))
    }

    /// Reads a list file.
    pub fn read(path: &Path) -> Result<ExpectedNames, ListError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ListError::Read {
            file: file.clone(),
            source,
        })?;
        ExpectedNames::parse(&text, &file)
    }

    /// Reads a list's text (`file` names it in errors).
    pub fn parse(text: &str, file: &str) -> Result<ExpectedNames, ListError> {
        let mut folded = BTreeSet::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let name = first_column(raw);
            if name.is_empty() || name.starts_with('#') {
                continue;
            }
            if line == 1 && name.eq_ignore_ascii_case("name") {
                continue;
            }
            let problem = |message: &str| ListError::Line {
                file: file.to_owned(),
                line,
                message: message.to_owned(),
            };
            if name.len() > qraft_node::enroll::MAX_NAME_BYTES {
                return Err(problem(&format!(
                    "{name:?} is longer than {} bytes",
                    qraft_node::enroll::MAX_NAME_BYTES
                )));
            }
            if name.chars().any(char::is_control) {
                return Err(problem("the name holds control characters"));
            }
            folded.insert(fold(&name));
            if folded.len() > MAX_LIST_NAMES {
                return Err(ListError::TooLong {
                    file: file.to_owned(),
                });
            }
        }
        Ok(ExpectedNames { folded })
    }
}

/// The first CSV column of a line, unquoted and trimmed.
fn first_column(line: &str) -> String {
    let line = line.trim().trim_start_matches('\u{feff}');
    if let Some(rest) = line.strip_prefix('"') {
        // A quoted field: up to the closing quote, with "" for a quote.
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    out.push('"');
                    chars.next();
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        return out.trim().to_owned();
    }
    line.split([',', ';', '\t'])
        .next()
        .unwrap_or("")
        .trim()
        .to_owned()
}

/// The seats, in arrival order.
#[derive(Clone, Debug, Default)]
pub struct Roster {
    seats: Vec<RosterEntry>,
}

impl Roster {
    /// A seat for a student who proved the code; `None` when the roster is full.
    pub fn arrive(&mut self, name: &str, from: Option<IpAddr>, state: SeatState) -> Option<u32> {
        if self.seats.len() >= MAX_SEATS {
            return None;
        }
        let seat = u32::try_from(self.seats.len() + 1).ok()?;
        self.seats.push(RosterEntry {
            seat,
            name: name.to_owned(),
            from,
            state,
        });
        Some(seat)
    }

    pub fn get(&self, seat: u32) -> Option<&RosterEntry> {
        self.seats.iter().find(|e| e.seat == seat)
    }

    /// Moves `seat` to `state`. Returns the state it was in.
    pub fn set(&mut self, seat: u32, state: SeatState) -> Option<SeatState> {
        let entry = self.seats.iter_mut().find(|e| e.seat == seat)?;
        Some(std::mem::replace(&mut entry.state, state))
    }

    /// The seats waiting for the teacher, in arrival order.
    pub fn waiting(&self) -> Vec<u32> {
        self.seats
            .iter()
            .filter(|e| e.state == SeatState::Waiting)
            .map(|e| e.seat)
            .collect()
    }

    /// Whether a seat other than `except` holds `name` (ignoring case) and is joined,
    /// admitting or waiting: a second student with the same name must pick another.
    pub fn name_in_use(&self, name: &str, except: u32) -> bool {
        let folded = fold(name);
        self.seats.iter().any(|e| {
            e.seat != except
                && fold(&e.name) == folded
                && matches!(
                    e.state,
                    SeatState::Waiting | SeatState::Admitting | SeatState::Joined { .. }
                )
        })
    }

    pub fn entries(&self) -> &[RosterEntry] {
        &self.seats
    }

    /// The view's roster part, with the rest of `view` kept.
    pub fn fill(&self, view: &mut ClassView) {
        view.roster = self.seats.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_reads_one_column_skipping_headers_comments_and_blanks() {
        let text = "\u{feff}Name,Email\n# period 3\nAda Lovelace, ada@example.org\n\n\"Hopper, Grace\",g@x\n  alan turing  \n";
        let names = ExpectedNames::parse(text, "class.csv").unwrap();
        assert_eq!(names.len(), 3);
        assert!(names.contains("ada lovelace"));
        assert!(names.contains(" ADA LOVELACE "));
        assert!(names.contains("Hopper, Grace"));
        assert!(names.contains("Alan Turing"));
        assert!(!names.contains("Ada"));
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_line() {
        let long = "x".repeat(65);
        let err = ExpectedNames::parse(&format!("name\nAda\n{long}\n"), "class.csv").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("class.csv:3: name: {long:?} is longer than 64 bytes")
        );
        let err = ExpectedNames::parse("Ada\u{7}\n", "c.csv").unwrap_err();
        assert!(err.to_string().starts_with("c.csv:1: name:"), "{err}");
    }

    #[test]
    fn seats_keep_arrival_order_and_a_waiting_name_is_in_use() {
        let mut roster = Roster::default();
        let ada = roster.arrive("Ada", None, SeatState::Waiting).unwrap();
        let bob = roster.arrive("Bob", None, SeatState::Waiting).unwrap();
        assert_eq!((ada, bob), (1, 2));
        assert_eq!(roster.waiting(), vec![1, 2]);
        assert!(roster.name_in_use("ada", bob));
        assert!(!roster.name_in_use("ada", ada));
        roster.set(
            ada,
            SeatState::Refused {
                reason: "no".into(),
            },
        );
        assert!(
            !roster.name_in_use("ADA", bob),
            "a refused seat frees its name"
        );
        assert_eq!(roster.waiting(), vec![2]);
        assert_eq!(roster.set(9, SeatState::Left), None);
    }
}
