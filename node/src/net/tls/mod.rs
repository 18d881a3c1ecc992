//! TLS identities, admission, and the QUIC endpoints built on them.
//!
//! Every node and participant presents a self-signed X.509 certificate made from its own
//! ed25519 key ([`TlsIdentity`]). Nothing in a certificate is trusted but its public key:
//! names, dates, issuer, extensions and the certificate's own signature are ignored,
//! because the key itself is pinned by the game's [`Allowlist`]. The TLS 1.3 handshake
//! signature is still verified against that key, so a peer proves it holds the private
//! key; a copied certificate is worthless.
//!
//! - A server (a node, [`server_endpoint`]) accepts a client certificate whose key is any
//!   allowlisted key (a node or a participant); what the connection may do is then
//!   decided by its ALPN in [`identify`]: [`PEER_ALPN`] for nodes only, [`CLIENT_ALPN`]
//!   for participants (and node keys used by a node's own tools).
//! - A client ([`connect`]) accepts a server certificate only if its key is a node's key,
//!   and, when it dials a particular node, that node's key.
//!
//! Only TLS 1.3 (QUIC needs nothing else, and the `rustls` build has no TLS 1.2), only
//! ed25519 signatures, a single certificate (no chain) and no session resumption: a
//! resumed session would skip the certificate check.
//!
//! quinn hands a client-side verifier nothing per connection but the server name, so
//! [`connect`] encodes what it asks for (the ALPN, and the node it expects) in the name
//! it sends (`node-2.peer.qraft`, `any.client.qraft`); the endpoint's verifier reads it
//! back. The ALPN itself is fixed per endpoint: [`server_endpoint`] dials as a peer,
//! [`client_endpoint`] as a client ([`client_config`] makes others).
//!
//! One job a file, all used through this module's paths (`net::tls::connect`, ...):
//!
//! - `identity`: this side's certificate ([`TlsIdentity`]), and the key read from a
//!   peer's ([`certificate_key`]).
//! - `allowlist`: which keys may connect, and as what ([`Allowlist`], [`Admitted`]),
//!   and their revocation.
//! - `alpn`: the two application protocols ([`Alpn`]) and the server name a dial asks
//!   for one with.
//! - `verify`: the rustls verifiers, and the configurations they are installed in
//!   ([`server_tls_config`], [`client_tls_config`]).
//! - `endpoint`: the QUIC endpoints, their timing and stream grants, [`connect`], and
//!   [`identify`].

use std::net::SocketAddr;
use std::time::Duration;

mod allowlist;
mod alpn;
mod endpoint;
mod enroll;
mod identity;
mod verify;

pub use allowlist::{Admitted, Allowlist};
pub use alpn::{Alpn, CLIENT_ALPN, PEER_ALPN, alpn_of};
pub use endpoint::{
    CLIENT_RECEIVE_WINDOW, CLOSE_REFUSED, HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, KEEP_ALIVE,
    MAX_CLIENT_STREAMS, MAX_PEER_STREAMS, MAX_QUEUED_ATTEMPTS, PEER_IDLE_TIMEOUT, PEER_KEEP_ALIVE,
    QUEUED_ATTEMPT_BYTES, QUEUED_ATTEMPTS_BYTES, client_config, client_endpoint, connect,
    connect_within, connection_error, grant_streams, identify, server_endpoint,
};
pub use enroll::{ENROLL_ALPN, enroll_client_tls_config, enroll_server_tls_config};
pub(super) use identity::ed25519_spki;
pub use identity::{TlsIdentity, certificate_key};
pub use verify::{client_tls_config, server_tls_config};

/// Everything that can go wrong making identities and endpoints, connecting, and admitting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Making this side's certificate failed.
    #[error("cannot make a TLS certificate from the key: {0}")]
    Certificate(String),
    /// A certificate that is not one self-signed ed25519 certificate in DER.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// Building the rustls or quinn configuration failed.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// quinn refused to start the connection (bad address, endpoint stopping, ...).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectError,
    },
    /// The other side refused this one: its TLS alert, or its application close reason.
    #[error("refused by {addr}: {reason}")]
    Refused { addr: SocketAddr, reason: String },
    /// This side refused the other one: its key is not allowed, or not allowed for this.
    #[error("rejected {addr}: {reason}")]
    Rejected { addr: SocketAddr, reason: String },
    /// The handshake did not finish in time.
    #[error("no handshake with {addr} within {after:?}")]
    Timeout { addr: SocketAddr, after: Duration },
    /// The connection failed for another reason (lost, reset, closed).
    #[error("connection with {addr}: {source}")]
    Connection {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectionError,
    },
}

/// The identity of `Keypair::from_label(label)`, for the tests of every file here.
#[cfg(test)]
fn test_identity(label: &str) -> TlsIdentity {
    TlsIdentity::from_keypair(&qraft_keys::Keypair::from_label(label)).unwrap()
}
