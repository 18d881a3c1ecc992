//! The QUIC endpoints and connections built on the TLS configurations: a node's endpoint
//! and a client's, the transport's timing and stream grants, connecting (and telling
//! why a connection failed), and identifying who an accepted connection is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use qraft_keys::PublicKey;
use rustls::pki_types::CertificateDer;

use super::TlsError;
use super::allowlist::{Admitted, Allowlist};
use super::alpn::{Alpn, CLIENT_ALPN, PEER_ALPN, alpn_of, server_name};
use super::identity::{TlsIdentity, certificate_key};
use super::verify::{client_tls_config, server_tls_config};
use crate::core::types::NodeId;

/// How often a node pings a peer connection that has nothing else to send: often enough
/// that a missed ping or two on Wi-Fi does not come near [`PEER_IDLE_TIMEOUT`], and a
/// restarted peer's stateless reset (see [`crate::net::reset_key`]) comes back within a
/// second even on a link with no Raft traffic.
pub const PEER_KEEP_ALIVE: Duration = Duration::from_secs(1);
/// A peer connection that hears nothing for this long is dead and is replaced. Five
/// missed keep-alives: a LAN or Wi-Fi stall (roaming, power save) lasts a second or two,
/// while a link to a laptop that vanished (lid closed, cable pulled) is given up within
/// five seconds. A restarted peer does not wait for it: its reset closes the old link at
/// once, and its new connection replaces the old one (see [`crate::net::peer`]).
pub const PEER_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a client pings its connection when it has nothing else to send (the node
/// pings every [`PEER_KEEP_ALIVE`]): keeps NAT bindings and the idle timer awake, and
/// brings a restarted node's reset back quickly.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);
/// A client connection that hears nothing for this long is dead: the session or
/// dashboard then reconnects (to another node if it must). Longer than a peer's, since a
/// student's laptop on school Wi-Fi stalls more often than a teacher's voter, and a
/// reconnect costs the student a "reconnected" line; short enough that a node that
/// vanished is left within ten seconds. (A node's incoming connections are offered at
/// most this; a peer dials asking for [`PEER_IDLE_TIMEOUT`], and the lower one holds.)
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest [`connect`] waits for a handshake to finish.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bidirectional streams a client may have open at once on one connection, once admitted:
/// a dashboard holds a few subscriptions and a submission pipeline, and each query takes
/// a stream for one round trip; 32 serves that with room, and a client that wants more
/// waits for a stream to finish (quinn's `open_bi` waits) instead of costing the node.
pub const MAX_CLIENT_STREAMS: u32 = 32;
/// Bytes a client may have sent on a connection that the node has not read yet, across
/// all its streams. QUIC buffers what arrives up to this window whether or not the node
/// reads it, so without it a client could park a stream window's worth (1.25 MB by
/// default) on each of its streams. 256 KiB holds a full pipeline (256 transactions of
/// about 300 bytes) several times over; a node's 512 clients can hold at most 128 MiB.
pub const CLIENT_RECEIVE_WINDOW: u32 = 256 << 10;
/// Unidirectional streams a peer may have open at once on one connection, once admitted:
/// one for its Raft messages and one per snapshot in flight (one at a time per
/// follower in practice); 8 leaves room for a stream being replaced.
pub const MAX_PEER_STREAMS: u32 = 8;
/// The application close code of a connection refused after its handshake (by
/// [`identify`]); the close reason says why.
pub const CLOSE_REFUSED: u32 = 2;
/// Connection attempts quinn holds for the accept loop before it refuses new ones itself.
/// The loop screens each at once (see [`crate::net::gate`]), so the queue stays short;
/// 1024 bounds it (about 1.5 MB of first packets) if the loop is ever starved.
pub const MAX_QUEUED_ATTEMPTS: usize = 1024;
/// Bytes quinn buffers for one queued attempt beyond its first packet: there is no 0-RTT
/// data to keep (it is disabled), only a retransmitted Initial or two.
pub const QUEUED_ATTEMPT_BYTES: u64 = 16 * 1024;
/// Bytes quinn buffers for all queued attempts together beyond their first packets.
pub const QUEUED_ATTEMPTS_BYTES: u64 = 4 * 1024 * 1024;

/// The transport parameters of every connection, with its keep-alive and idle timeout.
/// Each side grants the other no streams at first: a node grants an incoming connection
/// its streams once it is admitted ([`grant_streams`]), and a node's peer link grants the
/// node it dialled the same, since a voter answers a node that dials out on that node's
/// own connection ([`crate::net::peer`]). Clients never grant the node any: it opens no
/// stream towards a client.
fn transport_config(keep_alive: Duration, idle_timeout: Duration) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(keep_alive))
        .max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            u32::try_from(idle_timeout.as_millis()).expect("the idle timeout fits"),
        ))))
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(0))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    Arc::new(transport)
}

/// The keep-alive and idle timeout of connections dialled on `alpn`.
fn timing(alpn: Alpn) -> (Duration, Duration) {
    match alpn {
        Alpn::Peer => (PEER_KEEP_ALIVE, PEER_IDLE_TIMEOUT),
        Alpn::Client => (KEEP_ALIVE, IDLE_TIMEOUT),
    }
}

/// Lets an admitted incoming connection open the streams its ALPN uses: unidirectional
/// ones for a peer ([`MAX_PEER_STREAMS`]), bidirectional ones for a client
/// ([`MAX_CLIENT_STREAMS`]). Until then it may open none. A peer link grants the node it
/// dialled the same peer streams.
pub fn grant_streams(connection: &quinn::Connection, alpn: Alpn) {
    match alpn {
        Alpn::Peer => {
            connection.set_max_concurrent_uni_streams(quinn::VarInt::from_u32(MAX_PEER_STREAMS))
        }
        Alpn::Client => {
            connection.set_receive_window(quinn::VarInt::from_u32(CLIENT_RECEIVE_WINDOW));
            connection.set_max_concurrent_bi_streams(quinn::VarInt::from_u32(MAX_CLIENT_STREAMS))
        }
    }
}

/// The quinn configuration for dialing nodes on `alpn` (see [`client_tls_config`]).
pub fn client_config(
    identity: &TlsIdentity,
    allow: Allowlist,
    alpn: Alpn,
) -> Result<quinn::ClientConfig, TlsError> {
    let tls = client_tls_config(identity, allow, alpn)?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let (keep_alive, idle_timeout) = timing(alpn);
    config.transport_config(transport_config(keep_alive, idle_timeout));
    Ok(config)
}

/// A node's QUIC endpoint on `listen`: accepts peers and clients whose keys are in `allow`
/// (mutual TLS; see [`identify`] for what each may do), and dials other nodes on
/// [`PEER_ALPN`] with [`connect`]. Its stateless resets and connection ids are made with
/// the identity's [`StatelessResetKey`](crate::net::reset_key::StatelessResetKey), so
/// they still close peers' connections after a restart.
pub fn server_endpoint(
    listen: SocketAddr,
    identity: &TlsIdentity,
    allow: Allowlist,
) -> Result<quinn::Endpoint, TlsError> {
    let tls = server_tls_config(identity, allow.clone())?;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    // Offered to every incoming connection; a peer asks for less, and gets it.
    server
        .transport_config(transport_config(PEER_KEEP_ALIVE, IDLE_TIMEOUT))
        .max_incoming(MAX_QUEUED_ATTEMPTS)
        .incoming_buffer_size(QUEUED_ATTEMPT_BYTES)
        .incoming_buffer_size_total(QUEUED_ATTEMPTS_BYTES);
    let client = client_config(identity, allow, Alpn::Peer)?;
    let bind = |source| TlsError::Bind {
        addr: listen,
        source,
    };
    let socket = std::net::UdpSocket::bind(listen).map_err(bind)?;
    let reset_key: Arc<dyn quinn::crypto::HmacKey> = identity.reset_key.clone();
    let mut endpoint_config = quinn::EndpointConfig::new(reset_key);
    endpoint_config.cid_generator(identity.reset_key.connection_id_generator());
    let mut endpoint = quinn::Endpoint::new(
        endpoint_config,
        Some(server),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(bind)?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

/// A client-only endpoint (CLI, TUI, bots) bound to `bind`: dials nodes on [`CLIENT_ALPN`]
/// with [`connect`], accepts nothing.
pub fn client_endpoint(
    bind: SocketAddr,
    identity: &TlsIdentity,
    allow: Allowlist,
) -> Result<quinn::Endpoint, TlsError> {
    let client = client_config(identity, allow, Alpn::Client)?;
    let mut endpoint =
        quinn::Endpoint::client(bind).map_err(|source| TlsError::Bind { addr: bind, source })?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

/// Connects to `addr` on `alpn`, expecting the server to be node `expect` (or any node of
/// the allowlist when `None`), within [`HANDSHAKE_TIMEOUT`].
///
/// The endpoint dials with the identity, allowlist and ALPN it was made with:
/// [`server_endpoint`] on [`PEER_ALPN`], [`client_endpoint`] on [`CLIENT_ALPN`]. Asking
/// another ALPN fails with [`TlsError::Rejected`] before anything is sent.
///
/// Returns once the server has confirmed the handshake, so a server that refuses this
/// side's key is reported here as [`TlsError::Refused`], never as a connection that dies
/// at once. A server that is not the right node is [`TlsError::Rejected`].
pub async fn connect(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    alpn: &[u8],
    expect: Option<NodeId>,
) -> Result<quinn::Connection, TlsError> {
    connect_within(endpoint, addr, alpn, expect, HANDSHAKE_TIMEOUT).await
}

/// [`connect`] with another time limit.
pub async fn connect_within(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    alpn: &[u8],
    expect: Option<NodeId>,
    limit: Duration,
) -> Result<quinn::Connection, TlsError> {
    let Some(alpn) = Alpn::from_bytes(alpn) else {
        return Err(TlsError::Rejected {
            addr,
            reason: format!(
                "unknown ALPN {:?}: expected {:?} or {:?}",
                String::from_utf8_lossy(alpn),
                String::from_utf8_lossy(PEER_ALPN),
                String::from_utf8_lossy(CLIENT_ALPN),
            ),
        });
    };
    let connecting = endpoint
        .connect(addr, &server_name(alpn, expect))
        .map_err(|source| TlsError::Connect { addr, source })?;
    let handshake = async {
        let connection = connecting.await.map_err(|e| connection_error(addr, e))?;
        confirmed(&connection)
            .await
            .map_err(|e| connection_error(addr, e))?;
        Ok(connection)
    };
    match tokio::time::timeout(limit, handshake).await {
        Ok(result) => result,
        Err(_) => Err(TlsError::Timeout { addr, after: limit }),
    }
}

/// Waits until the server confirms the handshake (its HANDSHAKE_DONE frame), or the
/// connection closes. A QUIC client's handshake completes before the server has checked
/// the client's certificate; only the confirmation says the server accepted it.
async fn confirmed(connection: &quinn::Connection) -> Result<(), quinn::ConnectionError> {
    let done = async {
        while connection.stats().frame_rx.handshake_done == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        biased;
        err = connection.closed() => Err(err),
        () = done => Ok(()),
    }
}

/// A connection's failure, told plainly: refusals by the other side (TLS alerts, a
/// [`CLOSE_REFUSED`] close) are [`TlsError::Refused`], this side's certificate refusals
/// [`TlsError::Rejected`], the rest [`TlsError::Connection`].
pub fn connection_error(addr: SocketAddr, err: quinn::ConnectionError) -> TlsError {
    use quinn::ConnectionError as E;
    match &err {
        E::TransportError(local) if tls_alert(local.code).is_some() => TlsError::Rejected {
            addr,
            reason: tidy_reason(&local.reason),
        },
        E::ConnectionClosed(close) => match tls_alert(close.error_code) {
            Some(alert) => {
                let reason = tidy_reason(&String::from_utf8_lossy(&close.reason));
                TlsError::Refused {
                    addr,
                    reason: if reason.is_empty() {
                        format!("TLS alert {alert:?}")
                    } else {
                        format!("TLS alert {alert:?}: {reason}")
                    },
                }
            }
            None => TlsError::Connection { addr, source: err },
        },
        E::ApplicationClosed(close) if close.error_code == quinn::VarInt::from(CLOSE_REFUSED) => {
            TlsError::Refused {
                addr,
                reason: String::from_utf8_lossy(&close.reason).into_owned(),
            }
        }
        _ => TlsError::Connection { addr, source: err },
    }
}

/// The TLS alert a QUIC transport error code carries (CRYPTO_ERROR, 0x100 + alert).
fn tls_alert(code: quinn::TransportErrorCode) -> Option<rustls::AlertDescription> {
    let code = u64::from(code);
    (0x100..0x200)
        .contains(&code)
        .then(|| rustls::AlertDescription::from((code - 0x100) as u8))
}

/// A rustls error text without its wrapping around a verifier's own reason:
/// `invalid peer certificate: Other(OtherError(REASON))` becomes `REASON`.
fn tidy_reason(reason: &str) -> String {
    const WRAP: &str = "invalid peer certificate: Other(OtherError(";
    match reason.strip_prefix(WRAP).and_then(|r| r.strip_suffix("))")) {
        Some(inner) => inner.to_string(),
        None => reason.to_string(),
    }
}

/// Who an accepted connection is: its ed25519 key (from its certificate) and what it is
/// admitted as on its ALPN ([`Allowlist::admit`]): on [`PEER_ALPN`] always
/// [`Admitted::Node`]; on [`CLIENT_ALPN`] a participant, or a node's key used as a client.
///
/// A connection that may not use its ALPN (a participant key on [`PEER_ALPN`]), or whose
/// key is no longer known, is closed with [`CLOSE_REFUSED`] and a reason the other side
/// reads as [`TlsError::Refused`]; this side gets [`TlsError::Rejected`].
pub fn identify(
    connection: &quinn::Connection,
    allow: &Allowlist,
) -> Result<(PublicKey, Admitted), TlsError> {
    let addr = connection.remote_address();
    let refuse = |reason: String| {
        connection.close(quinn::VarInt::from(CLOSE_REFUSED), reason.as_bytes());
        TlsError::Rejected { addr, reason }
    };
    let Some(alpn) = alpn_of(connection) else {
        return Err(refuse("no known application protocol".to_string()));
    };
    let key = connection
        .peer_identity()
        .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or_else(|| "no client certificate".to_string())
        .and_then(|chain| match chain.as_slice() {
            [cert] => certificate_key(cert).map_err(|e| e.to_string()),
            _ => Err("expected exactly one client certificate".to_string()),
        });
    let key = key.map_err(&refuse)?;
    match allow.admit(&key, alpn) {
        Some(admitted) => Ok((key, admitted)),
        None if allow.is_participant(&key) => Err(refuse(format!(
            "key {key} is a participant, not a node: it may connect only as a client ({})",
            String::from_utf8_lossy(CLIENT_ALPN)
        ))),
        None => Err(refuse(allow.refusal(&key))),
    }
}

#[cfg(test)]
mod tests;
