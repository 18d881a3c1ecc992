//! The QRaft node.
//!
//! Module map:
//! - [`core`]: the pure, deterministic heart: transactions, blocks, genesis, the exchange
//!   engine and the ledger that turns ordered transactions into hash-chained blocks. No IO,
//!   no clock, no randomness, no floats; same blocks in, same state digest out.
//!
//! The rest needs the `runtime` feature (on by default):
//! - [`raft`]: a sans-IO driver around raft-rs's `RawNode`, and Raft messages in our own
//!   postcard wire form.
//! - [`replica`]: one node's whole state machine, sans IO: the Raft driver, the fjall
//!   store it reads, the leader's mempool and batch cutting, applying committed entries as
//!   blocks, snapshots and compaction. Time is passed in; its writes are handed out
//!   ([`replica::write`]) for the runner to perform and fsync.
//! - [`io`]: the node's disk and its thread: the fjall [`io::store`], the node thread
//!   ([`io::runner`], which reports to an [`io::runner::EventSink`]) with its control and
//!   client inboxes ([`io::inbox`], with the control [`io::inbox::Input`]). (The network
//!   tasks live in [`net`].)
//! - [`api`]: the node's face. The [`api::Handle`] the TUI, CLI, network server and test
//!   kit use: submit and get the receipt, subscribe to events, typed queries; every type a
//!   client sees in its answers ([`api::types`]: [`api::Status`], [`api::Refusal`],
//!   [`api::StoredReceipt`], ...), and the one [`api::NodeStopped`]. [`api::start()`] starts
//!   a replica on its node thread and hands back its `Handle`. `api` uses `io`, never the
//!   other way round.
//! - [`net`]: QUIC between nodes and from clients: TLS identities pinned to the game's
//!   allowlist (seeded by the genesis, kept in step with the ledger), length-prefixed
//!   postcard frames, and the networked node `qraft run` starts ([`net::node`]).
//! - [`config`]: the node configuration file, with file:line:column errors.
//! - [`backfill`]: a node that installed a snapshot fetches the blocks before it (with
//!   their receipts) from its peers, checks them against the hash chain back from the
//!   snapshot's head, and stores them, so every node holds every block.
//! - [`enroll`]: enrollment by join code, sans IO: the [`enroll::JoinCode`], SPAKE2 with
//!   key confirmation both ways, the student's sealed request and the teacher's sealed
//!   grant, and the rate limit on failed attempts. Not wired to the network or CLI yet.
//! - [`audit`]: replays a stopped node's chain from its genesis and checks every link,
//!   signature, receipt and state digest (`qraft verify`).
//!
//! Behind the `testkit` feature (the `qraft` binary and this workspace's tests turn it
//! on):
//! - `testkit`: whole clusters in one process: the deterministic simulator, the threaded
//!   local cluster over the in-memory transport (`testkit::memnet`), voters on loopback
//!   QUIC, and games on disk, used by tests, benchmarks and `qraft bench`, `demo` and
//!   `chaos`.

pub mod core;

#[cfg(feature = "runtime")]
pub mod api;
#[cfg(feature = "runtime")]
pub mod audit;
#[cfg(feature = "runtime")]
pub mod backfill;
#[cfg(feature = "runtime")]
pub mod config;
#[cfg(feature = "runtime")]
pub mod enroll;
#[cfg(feature = "runtime")]
pub mod io;
#[cfg(feature = "runtime")]
pub mod net;
#[cfg(feature = "runtime")]
pub mod raft;
#[cfg(feature = "runtime")]
pub mod replica;
#[cfg(all(feature = "runtime", any(test, feature = "testkit")))]
pub mod testkit;
