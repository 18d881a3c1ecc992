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
//!   store, the leader's mempool and batch cutting, applying committed entries as blocks,
//!   snapshots and compaction. Time is passed in.
//! - [`io`]: the node's disk and its thread: the fjall [`io::store`], the node thread
//!   ([`io::runner`]) with its control and client inboxes ([`io::inbox`]). (The network
//!   tasks live in [`net`].)
//! - [`api`]: the [`api::Handle`] the TUI, CLI and network server use: submit and get the
//!   receipt, subscribe to events, query.
//! - [`net`]: QUIC between nodes and from clients: TLS identities pinned to the game's
//!   allowlist (seeded by the genesis, kept in step with the ledger), length-prefixed
//!   postcard frames, and the networked node `qraft run` starts ([`net::node`]).
//! - [`config`]: the node configuration file, with file:line:column errors.
//! - [`backfill`]: a node that installed a snapshot fetches the blocks before it (with
//!   their receipts) from its peers, checks them against the hash chain back from the
//!   snapshot's head, and stores them, so every node holds every block.
//! - [`audit`]: replays a stopped node's chain from its genesis and checks every link,
//!   signature, receipt and state digest (`qraft verify`).
//! - [`testkit`]: whole clusters in one process: the deterministic simulator, the
//!   threaded local cluster over the in-memory transport ([`testkit::memnet`]), and
//!   voters on loopback QUIC, used by tests and benchmarks.

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
pub mod io;
#[cfg(feature = "runtime")]
pub mod net;
#[cfg(feature = "runtime")]
pub mod raft;
#[cfg(feature = "runtime")]
pub mod replica;
#[cfg(feature = "runtime")]
pub mod testkit;
