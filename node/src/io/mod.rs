//! IO: storage, the node thread and its inboxes, and the in-memory transport: the node's
//! own disk and thread. (The network is `net`'s; `api` and `backfill` use tokio tasks.)
//!
//! - [`store`]: durable Raft storage and the chain store, on fjall.
//! - [`runner`]: the node thread that drives a replica with real time.
//! - [`inbox`]: the node thread's control and client inboxes, control first.

pub mod inbox;
pub mod runner;
pub mod store;
