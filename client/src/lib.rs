//! qraft-client: what a participant's program does, written once for the CLI, the
//! dashboard and bots.
//!
//! Dependencies point one way: the binary and the dashboard use this crate, and it uses
//! the node's protocol and core types (`qraft-node`) and keys (`qraft-keys`).
//!
//! Module map:
//! - [`session`]: the one client of a game, [`session::Session`]: one key, one
//!   connection to a node over a [`session::Transport`] (QUIC, [`session::Quic`], or the
//!   in-process [`qraft_node::api::Handle`]); it signs, submits on the ordered pipeline
//!   in a [`session::Turn`], retries, keeps what it has in flight for a successor on
//!   another node ([`session::Session::reconnect`]) and settles a transaction in doubt
//!   ([`session::settle`]); [`session::Link`] keeps a long-lived program's session up.
//!   [`session::Session::submit`] is [`session::Session::write`] (now) then
//!   [`session::Session::finish`] (later). [`session::Follow`] is the one subscription
//!   that survives a lost node: on a link's session, moved to the next one when its node
//!   is lost ([`session::Followed::Moved`]). The CLI's client commands and
//!   `session --jsonl` (and `blocks --follow`), the dashboard's feed and the bots use it.
//! - [`query`]: the typed queries, once: one function per query ([`query::status`],
//!   [`query::depth`], [`query::account`], ...) makes a [`query::Query`], the request
//!   with the one reading of its answer, asked of a QUIC client
//!   ([`query::Query::ask_within`]) or sent a program's own way and read
//!   ([`query::Query::read`]); one typed error, [`query::QueryError`]. The CLI's
//!   queries and admin, the bots', the dashboard's cluster panel and the session's own
//!   use them.
//! - [`signer`]: the one signer, [`signer::Signer`]: a key, the chain id, and the nonce
//!   policy.
//! - [`nonce`]: the one nonce policy: above the last nonce used or seen, and at least the
//!   wall clock in microseconds.
//! - [`failover`]: what a long-lived client does when its node is lost: when to call it
//!   lost, which node next, and the one rule that settles a transaction in doubt.
//! - [`retry`]: the one retry policy for transactions a node did not take (passing
//!   refusals resent with growing pauses, a stale nonce learnt again once).
//! - [`format`](mod@format): money, prices, quantities and times as people read them, and parsing a
//!   price typed by a person (pure).
//! - [`describe`]: what a transaction did, in words: receipts, cancels, administration
//!   (pure).
//! - [`protocol`]: the JSON of `qraft session --jsonl` and of the commands' `--json`
//!   output, as serde types: commands, results, reports, events.
//! - [`class`]: the classroom: the teacher's enrollment service and roster, and a
//!   student's joining.
//! - [`bot`]: the API for trading bots ([`bot::Bot`], [`bot::Pending`]), on a
//!   [`session::Session`] over QUIC kept up by a [`session::Link`]: each transaction is
//!   written now and finished when its handle is awaited, and one in doubt is settled by
//!   [`session::settle`]; its looks are [`query`]'s and its event stream a
//!   [`session::Follow`]; and the example bots' strategies (market maker, momentum,
//!   random trader).

pub mod bot;
pub mod class;
pub mod describe;
pub mod failover;
pub mod format;
pub mod nonce;
pub mod protocol;
pub mod query;
pub mod retry;
pub mod session;
pub mod signer;
