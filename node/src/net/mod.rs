//! The network: QUIC (quinn + rustls, ring, TLS 1.3 only) between nodes and from clients.
//!
//! Every node and participant presents a self-signed certificate made from its own
//! ed25519 key; a connection is admitted only if that key is in the game's allowlist.
pub mod frame;
pub mod tls;
