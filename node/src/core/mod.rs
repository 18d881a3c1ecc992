//! The deterministic core: everything every node must compute identically.
//!
//! - [`types`]: tickers, sides, ids and the integer units (ticks, shares, cents).
//! - [`tx`]: the signed transaction envelope and every transaction body.
//! - [`block`]: block headers, blocks, Merkle roots and hashes.
//! - [`genesis`]: the game's genesis file (TOML) and the chain id.
//! - [`exchange`]: accounts, order books, matching, administration, market data, the
//!   incremental state digest and snapshots.
//! - [`ledger`]: applies ordered batches of signed transactions to the exchange and
//!   produces blocks with receipts.
//! - [`scenario`]: the teacher's story: rounds and events at game times, applied by the
//!   exchange from block timestamps.
//! - [`hash`]: the 32-byte hash type and domain-separated hashing helpers.
//!
//! Rules for this module tree (checked in CI by `.ci/core-purity`): no `std::time`,
//! `std::fs`, `std::net`, `std::env`, no randomness, no `f32`/`f64`, and no iteration over
//! a `HashMap` that can reach an output.
//!
//! The lints below hold what the compiler can check of these rules: no float arithmetic,
//! and no printing (output is IO).

#![deny(clippy::float_arithmetic)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod block;
pub mod exchange;
pub mod genesis;
pub mod hash;
pub mod ledger;
pub mod scenario;
pub mod tx;
pub mod types;
