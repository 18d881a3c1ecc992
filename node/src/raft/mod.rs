//! The Raft layer: consensus on the order of transactions, built on raft-rs.
//!
//! - [`wire`]: Raft messages in our own postcard form, so no protobuf parser ever reads
//!   bytes from the network.

pub mod wire;
