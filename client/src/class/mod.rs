//! The classroom: a teacher's laptop enrolling students by join code (`qraft class`), and a
//! student's laptop joining (`qraft join`).
//!
//! - [`view`]: what the teacher's Class panel shows ([`view::ClassView`]) and asks
//!   ([`view::ClassCommand`]).

pub mod view;

pub use view::{ClassCommand, ClassView, RosterEntry, SeatState};
