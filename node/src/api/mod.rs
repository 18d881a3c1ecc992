//! The node's face: a cloneable [`Handle`] to submit transactions, subscribe to events
//! and ask typed queries, and every type a client sees in its answers. The TUI, the CLI,
//! the network server and the client crates all go through it.
//!
//! - [`types`]: what the node answers ([`Status`], [`Committed`], [`StoredReceipt`],
//!   [`MarketView`], [`SettleFacts`]) and why a submission is refused ([`Refusal`]).
//! - [`error`]: why there is no answer, with the one [`NodeStopped`].
//! - [`handle`]: the [`Handle`]; [`event`]: the [`NodeEvent`]s it publishes.
//! - [`start()`]: starts a replica on its node thread ([`crate::io::runner`]) and gives
//!   back its [`Handle`].
//!
//! `api` uses `io` (the node thread's inboxes and runner), never the other way round:
//! the runner reports to its [`EventSink`](crate::io::runner::EventSink), which the
//! [`Handle`] implements.

pub mod error;
pub mod event;
pub mod handle;
mod start;
pub mod types;

pub use error::{MembershipError, NodeStopped, QueryError, SubmitError};
pub use event::NodeEvent;
pub use handle::{EVENT_BUFFER, Handle, MAX_HEAVY_QUERIES, PendingSubmit};
pub use start::start;
pub use types::{
    Committed, LogBounds, MarketView, MembershipChange, PeerProgress, Refusal, Registration, Role,
    SettleFacts, Status, StoredReceipt,
};
