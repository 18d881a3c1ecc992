//! The network: QUIC (quinn + rustls, ring, TLS 1.3 only) between nodes and from clients.
//!
//! Every node and participant presents a self-signed certificate made from its own
//! ed25519 key; a connection is admitted only if that key is in the game's allowlist.
//!
//! - [`tls`]: identities, the allowlist, endpoints, connecting and identifying.
//! - [`frame`]: length-prefixed postcard frames (limits checked before allocating) and
//!   chunked snapshots.
//! - [`peer`]: Raft traffic between nodes: the QUIC [`Transport`](crate::io::runner::Transport).
//! - [`proto`]: the client protocol's requests, responses and events.
//! - [`serve`]: the node's side of the client protocol.
//! - [`client`]: the participant's side: what the CLI and bots use.
//! - [`follow`]: keeps the allowlist and peer addresses in step with the ledger.
//! - [`node`]: a networked node, assembled: what `qraft run` starts.

pub mod client;
mod follow;
pub mod frame;
pub mod node;
pub mod peer;
pub mod proto;
pub mod serve;
pub mod tls;
