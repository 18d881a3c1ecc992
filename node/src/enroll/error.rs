//! What goes wrong in enrollment: a mistyped code ([`CodeError`]), a failed exchange
//! ([`EnrollError`]), and the teacher's refusal as it travels ([`Refusal`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A join code that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a join code is a number and two words, like 42-tulip-maple; this has {parts} part(s)")]
    Shape { parts: usize },
    #[error("a join code starts with a number from 10 to 99, not {0:?}")]
    Number(String),
    #[error(
        "{0:?} is not one of the join code's words; check its spelling on the teacher's screen"
    )]
    Word(String),
}

/// Why the teacher refused an attempt, sent to the student in the clear (it says nothing
/// about the code beyond "wrong").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("joining this game is closed; ask the teacher to reopen it")]
    Closed,
    #[error("too many failed attempts; try again in {} s", retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("wrong join code")]
    WrongCode,
    #[error("this enrollment speaks protocol version {theirs}; the teacher speaks {ours}")]
    Version { ours: u16, theirs: u16 },
    #[error("the teacher could not read the request (garbled, out of order or too large)")]
    Garbled,
    #[error("the teacher refused: {0}")]
    Denied(String),
}

/// Why an enrollment attempt failed, on either side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnrollError {
    /// The teacher refused (received by the student, or decided by the teacher).
    #[error("{0}")]
    Refused(Refusal),
    /// The peer that claims to be the teacher does not know the code: a fake game, or a
    /// mistyped code. Nothing about the student was sent to it.
    #[error(
        "this game did not prove it knows the join code: a mistyped code, or not the teacher's game"
    )]
    TeacherUnproven,
    #[error("message of {len} bytes is over the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("garbled enrollment message: {0}")]
    Garbled(String),
    #[error("unexpected enrollment message: expected {expected}")]
    Unexpected { expected: &'static str },
    /// The sealed request or grant did not open: tampered with on the way.
    #[error("a sealed enrollment message failed its integrity check (tampered or corrupted)")]
    Tampered,
    #[error("invalid enrollment request: {0}")]
    InvalidRequest(String),
    /// A returning laptop was offered a new game without a handover signed by an admin
    /// of the game it holds: not its class's next game.
    #[error(
        "the new game's handover is not signed by the teacher of this laptop's game: not this \
         class's next game"
    )]
    HandoverUnproven,
}
