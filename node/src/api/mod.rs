//! The node's in-process API: a cloneable [`Handle`] to submit transactions, subscribe
//! to events and query state. The TUI, the CLI and the network server all go through it.

pub mod event;
pub mod handle;

pub use event::NodeEvent;
pub use handle::{
    Committed, EVENT_BUFFER, Handle, MAX_HEAVY_QUERIES, MarketView, PendingSubmit, QueryError,
    SettleFacts, SubmitError,
};
