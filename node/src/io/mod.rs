//! IO: storage, transports and the runner — the only code that touches disk, threads
//! and time.
//!
//! - [`store`]: durable Raft storage and the chain store, on fjall.
//! - [`runner`]: the node thread that drives a replica with real time.
//! - [`inbox`]: the node thread's control and client inboxes, control first.
//! - [`memnet`]: an in-memory transport with seeded faults, for tests and benchmarks.

pub mod inbox;
pub mod memnet;
pub mod runner;
pub mod store;
