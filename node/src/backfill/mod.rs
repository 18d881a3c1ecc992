//! Every node holds every block: after installing a snapshot, a node fetches the blocks
//! before it, with their transactions and receipts, from its peers.
//!
//! - The replica knows what it lacks ([`Replica::missing_blocks`]: ranges below its head,
//!   each with the hash its highest block must have) and stores what it is given
//!   ([`Replica::handle_backfill`], on the node thread through
//!   [`Handle::store_backfill`](crate::api::Handle::store_backfill)), recording the ranges in
//!   its store so a restart resumes. See [`crate::replica::backfill`].
//! - [`fetch`] is the IO: a task of the networked node that asks its peers for
//!   [`FullBlock`]s over the client protocol
//!   ([`Request::FullBlocks`](crate::net::proto::Request::FullBlocks)), as the node's
//!   own key. The client protocol rather than the peer protocol: every node of the game
//!   is admitted there, the per-key read budget ([`crate::net::budget`]) already keeps
//!   one asker to a bounded share of the node it asks, and blocks are read off the node
//!   thread, as for any client; the peer links stay for Raft.
//! - [`check`] is what a block must pass before it is stored (pure): the hash chain back
//!   from the snapshot's head, the transaction and receipts roots, the signatures, and
//!   block 1's link to the chain id. Nothing unchecked is stored.
//! - [`receipts`]: where a block's receipts are stored, so a node can give them all.
//!
//! Blocks are fetched from the top of a range down, so each block is checked against
//! the one above it as it arrives, and the store always holds, per range, a checked
//! chain from the head down. Progress is logged (`backfilled blocks`, with how many are
//! still missing) and is in the node's status ([`Status::missing_blocks`]).
//!
//! [`Replica::missing_blocks`]: crate::replica::Replica::missing_blocks
//! [`Replica::handle_backfill`]: crate::replica::Replica::handle_backfill
//! [`Status::missing_blocks`]: crate::api::Status::missing_blocks

pub mod check;
pub mod fetch;
pub mod receipts;

pub use check::{Anchor, CheckError, CheckedSegment, FullBlock, check_segment};
pub use fetch::Backfill;
