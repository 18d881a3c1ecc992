//! The test kit: whole clusters in one process, for tests and benchmarks (`qraft bench`
//! uses it too). Nothing here runs in a real game.
//!
//! - [`sim`]: a deterministic simulator. N [`Replica`](crate::replica::Replica)s on real
//!   fjall stores in temp dirs, a virtual clock, a network that drops, delays,
//!   duplicates, reorders and partitions messages as a seeded RNG decides, and a disk
//!   ([`sim_disk`]) whose crashes lose every write not yet durable; crash and restart any
//!   node, or all at once. The same seed replays the same run.
//! - [`local`]: real node threads ([`RunningNode`](crate::io::runner::RunningNode)) and
//!   [`Handle`](crate::api::Handle)s over the in-memory transport
//!   ([`memnet`]: [`MemNet`](memnet::MemNet)), with the same seeded faults: what the
//!   crash tests and the benchmark use.
//! - [`faults`]: the fault model both share; [`workload`]: signed random orders;
//!   [`disk`]: a local game written to a directory, for real processes; [`quic`]: the
//!   voters as networked nodes in one process, on loopback QUIC.

pub mod disk;
pub mod faults;
pub mod local;
pub mod memnet;
pub mod quic;
pub mod sim;
pub mod sim_disk;
pub mod workload;
