//! IO: storage, the node thread and its inboxes: the node's own disk and thread. (The
//! network is `net`'s; `api` and `backfill` use tokio tasks.) Nothing here knows the
//! node's clients: `api` builds on `io`, never the other way round.
//!
//! - [`store`]: durable Raft storage and the chain store, on fjall.
//! - [`runner`]: the node thread that drives a replica with real time, and reports what
//!   it tells the world to an [`EventSink`](runner::EventSink).
//! - [`inbox`]: the node thread's control and client inboxes, control first.

pub mod inbox;
pub mod runner;
pub mod store;
