//! The classroom: a teacher's laptop enrolling students by join code (`qraft class`), and a
//! student's laptop joining (`qraft join`).
//!
//! - [`view`]: what the teacher's Class panel shows ([`view::ClassView`]) and asks
//!   ([`view::ClassCommand`]).
//! - [`roster`]: the seats in arrival order, and the teacher's list of expected names
//!   (a CSV file) approved on arrival (pure).
//! - [`grant`]: what an approved laptop receives: the genesis, its node id, the voters'
//!   addresses; checked against the game the code was confirmed for.
//! - [`admit`]: registering an approved student on the chain (participant and node) with
//!   the teacher's admin key.
//! - [`service`]: the teacher's enrollment service: the endpoint, the exchanges, the
//!   roster and the decisions.
//! - [`promote`]: making a joined machine the teacher trusts a voter, and one of the
//!   teacher laptop's voters a learner in its place.
//! - [`join`]: the student's side: one enrollment attempt, from dial to grant.
//! - [`returning`]: a laptop of an earlier game of the class moving to the current one
//!   (`qraft class --next`) without a code.

pub mod admit;
pub mod grant;
pub mod join;
pub mod promote;
pub mod returning;
pub mod roster;
pub mod service;
pub mod view;

pub use view::{
    ClassCommand, ClassView, PromotionState, PromotionView, RosterEntry, SeatState, VoterView,
};
