//! The QRaft node.
//!
//! Module map:
//! - [`core`]: the pure, deterministic heart: transactions, blocks, genesis, the exchange
//!   engine and the ledger that turns ordered transactions into hash-chained blocks. No IO,
//!   no clock, no randomness, no floats; same blocks in, same state digest out.
//!
//! Consensus (raft), storage (fjall) and networking (quinn) build on these types in the
//! modules that follow; they are the only places that do IO.

pub mod core;
