//! The network: QUIC (quinn + rustls, ring, TLS 1.3 only) between nodes and from clients.
//!
//! Every node and participant presents a self-signed certificate made from its own
//! ed25519 key; a connection is admitted only if that key is in the game's allowlist.
//!
//! - [`tls`]: identities, the allowlist, endpoints, connecting and identifying.
//! - [`tls_key`]: this side's ed25519 key as rustls and rcgen sign with it (no plain
//!   copy of the secret).
//! - [`reset_key`]: the key a node's stateless resets are made with, the same across its
//!   restarts, so a restarted node closes its peers' stale connections at once.
//! - [`gate`]: how many handshakes run at once, and when callers must validate their
//!   address first (QUIC Retry).
//! - [`connections`]: the live admitted connections by key, with per-key and total
//!   budgets; closing a key's connections.
//! - [`accept`]: from a connection attempt to an admitted connection (gate, handshake
//!   deadline, identification, budgets, stream grants).
//! - [`ratelog`]: rate-limited logging of what the network can cause at will.
//! - [`frame`]: length-prefixed postcard frames (limits checked before allocating) and
//!   chunked snapshots.
//! - [`peer`]: Raft traffic between nodes: the QUIC [`Transport`](crate::io::runner::Transport).
//! - [`proto`]: the client protocol's requests, responses and events.
//! - [`serve`]: the node's side of the client protocol.
//! - [`budget`]: each participant's share of the requests that cost real work (blocks,
//!   receipts), across all its connections.
//! - [`client`]: the participant's side: what the CLI and bots use.
//! - `follow`: keeps the allowlist, live connections and peer addresses in step with
//!   the ledger (additions, suspensions, removals).
//! - [`node`]: a networked node, assembled: what `qraft run` starts.
//! - [`enroll`]: the enrollment channel: the teacher's endpoint that admits unknown keys
//!   for the join-code exchange only, and the student's dial to it.
//! - [`discovery`]: a game advertised on the LAN by DNS-SD/mDNS, and the browse that
//!   lists the games heard (`qraft class` advertises, `qraft join` browses).

pub mod accept;
pub mod budget;
pub mod client;
pub mod connections;
pub mod discovery;
pub mod enroll;
mod follow;
pub mod frame;
pub mod gate;
pub mod node;
pub mod peer;
pub mod proto;
pub mod ratelog;
pub mod reset_key;
pub mod serve;
pub mod tls;
pub mod tls_key;
