//! The Raft layer: consensus on the order of transactions, built on raft-rs.
//!
//! - [`driver`]: a sans-IO driver around raft-rs's `RawNode` (`handle_*` in, `poll_ready`
//!   out, the Ready loop's order spelled out in [`driver::ReadyWork`]).
//! - [`wire`]: Raft messages in our own postcard form, so no protobuf parser ever reads
//!   bytes from the network.
//! - [`guard`]: refuses the well-formed peer messages raft-rs would panic on, before the
//!   driver steps them.
//! - [`authority`]: only voters lead: which messages a non-voter may send.
//! - `logger`: raft-rs's slog records, handed to `tracing`.

pub mod authority;
pub mod driver;
pub mod guard;
mod logger;
pub mod wire;
