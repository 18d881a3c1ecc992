//! The client commands: what people, scripts and bots use to trade and watch the game
//! over the network.
//!
//! - [`connect`]: the options every client command shares, and connecting.
//! - [`order`]: `order`, `cancel`.
//! - [`query`]: `book`, `portfolio`, `trades`, `leaderboard`, `blocks`, `status`,
//!   `receipt`.
//! - [`admin`]: `admin open|halt|resume|close|news|add-participant|add-node|add-learner|
//!   promote|remove|suspend|reinstate|rules`.
//! - [`rules`]: `rules` (the rules in force and their history) and `admin rules`.
//! - [`session`]: `session --jsonl`, the protocol for bots (docs/session.md).
//! - [`submit`]: submitting a transaction through the participant's
//!   [`qraft_client::session::Session`] and what each ending means; [`settle`]: a
//!   one-shot command's transaction in doubt settled and reported.
//! - [`render`]: one rendering of everything, as text and as JSON, for all of the above.
//! - [`output`]: printing, failures and exit codes; [`market`]: prices in ticks.

pub mod admin;
pub mod connect;
pub mod market;
pub mod order;
pub mod output;
pub mod query;
pub mod render;
pub mod rules;
pub mod session;
pub mod settle;
pub mod submit;

pub use output::{EXIT_CODES_HELP, exit_code};
