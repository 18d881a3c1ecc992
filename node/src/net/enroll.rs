//! The enrollment channel: the QUIC endpoint a teacher's laptop opens for students who
//! know the join code, and the student's dial to it. It carries the [`crate::enroll`]
//! exchange, one message per frame, on one bidirectional stream, and nothing else.
//!
//! It is a separate endpoint on a separate port ([`crate::net::discovery`] advertises
//! it), made with [`tls::enroll_server_tls_config`](super::tls::enroll_server_tls_config):
//! no client certificate, so a key the game does not know can reach it (on
//! [`ENROLL_ALPN`](super::tls::ENROLL_ALPN)), and only this
//! channel. Its bounds: [`MAX_ENROLL_CONNECTIONS`] at once, one stream each,
//! [`ENROLL_RECEIVE_WINDOW`] bytes unread, each student message within
//! [`ENROLL_STEP_DEADLINE`] and [`MAX_HANDSHAKE_MESSAGE`] bytes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::enroll::wire::{MAX_GRANT_MESSAGE, MAX_HANDSHAKE_MESSAGE};

use super::frame::{FrameError, read_frame_within, write_frame};
use super::tls::{TlsError, TlsIdentity, enroll_client_tls_config, enroll_server_tls_config};

/// Enrollment connections served at once; more are refused at the door. A class is 30
/// laptops and each holds one connection while it waits for the teacher; 256 leaves room
/// for a whole school's worth of retries while bounding what strangers can hold.
pub const MAX_ENROLL_CONNECTIONS: usize = 256;
/// How long the teacher waits for each of a student's messages (hello, proof, request):
/// they follow at once on a LAN, so a peer silent for ten seconds is gone or stalling.
pub const ENROLL_STEP_DEADLINE: Duration = Duration::from_secs(10);
/// Bytes a student may send that the teacher has not read: its messages are at most
/// [`MAX_HANDSHAKE_MESSAGE`] (1 KiB) and come one at a time.
pub const ENROLL_RECEIVE_WINDOW: u32 = 8 << 10;
/// Both sides ping a quiet enrollment connection this often: a student may wait minutes
/// for the teacher's approval with nothing to say.
pub const ENROLL_KEEP_ALIVE: Duration = Duration::from_secs(2);
/// An enrollment connection that hears nothing for this long is gone (a student who shut
/// the lid, a teacher's laptop that left): five missed pings.
pub const ENROLL_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a student's dial may take before it is reported unreachable. A LAN handshake
/// takes milliseconds; QUIC resends a lost first packet after a second, so five allow
/// for loss without leaving a student staring at nothing.
pub const ENROLL_DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Framing overhead of one message (postcard's length before its bytes).
const FRAME_OVERHEAD: usize = 8;

/// What went wrong on the channel.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("no answer from {addr} within {seconds} s")]
    DialTimeout { addr: SocketAddr, seconds: u64 },
    #[error("cannot reach {addr}: {reason}")]
    Unreachable { addr: SocketAddr, reason: String },
    #[error("the connection ended: {0}")]
    Lost(String),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("the other side closed the exchange early")]
    Ended,
    #[error("the other side said nothing for {seconds} s")]
    Silent { seconds: u64 },
}

fn transport(incoming_streams: u32) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    let idle = u32::try_from(ENROLL_IDLE_TIMEOUT.as_millis()).expect("the idle timeout fits");
    transport
        .keep_alive_interval(Some(ENROLL_KEEP_ALIVE))
        .max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            idle,
        ))))
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(incoming_streams))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0))
        .receive_window(quinn::VarInt::from_u32(ENROLL_RECEIVE_WINDOW))
        .stream_receive_window(quinn::VarInt::from_u32(ENROLL_RECEIVE_WINDOW));
    Arc::new(transport)
}

/// The teacher's enrollment endpoint on `listen`: accepts anyone on
/// [`ENROLL_ALPN`](super::tls::ENROLL_ALPN), one bidirectional stream per connection,
/// [`MAX_ENROLL_CONNECTIONS`] queued at most.
pub fn enroll_server_endpoint(
    listen: SocketAddr,
    identity: &TlsIdentity,
) -> Result<quinn::Endpoint, TlsError> {
    let tls = enroll_server_tls_config(identity)?;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server
        .transport_config(transport(1))
        .max_incoming(MAX_ENROLL_CONNECTIONS);
    quinn::Endpoint::server(server, listen).map_err(|source| TlsError::Bind {
        addr: listen,
        source,
    })
}

/// A student's endpoint for dialling enrollment endpoints (any address, any port).
pub fn enroll_client_endpoint() -> Result<quinn::Endpoint, TlsError> {
    let tls = enroll_client_tls_config()?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport(0));
    let bind: SocketAddr = (std::net::Ipv4Addr::UNSPECIFIED, 0).into();
    let mut endpoint =
        quinn::Endpoint::client(bind).map_err(|source| TlsError::Bind { addr: bind, source })?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// One enrollment exchange's stream, either side.
pub struct EnrollStream {
    pub connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
}

impl EnrollStream {
    /// The student's side: dials `addr` and opens the exchange's stream.
    pub async fn dial(
        endpoint: &quinn::Endpoint,
        addr: SocketAddr,
    ) -> Result<EnrollStream, ChannelError> {
        let connecting = endpoint
            .connect(addr, "enroll.qraft")
            .map_err(|source| TlsError::Connect { addr, source })?;
        let connection = match tokio::time::timeout(ENROLL_DIAL_TIMEOUT, connecting).await {
            Err(_) => {
                return Err(ChannelError::DialTimeout {
                    addr,
                    seconds: ENROLL_DIAL_TIMEOUT.as_secs(),
                });
            }
            Ok(Err(err)) => {
                return Err(ChannelError::Unreachable {
                    addr,
                    reason: err.to_string(),
                });
            }
            Ok(Ok(connection)) => connection,
        };
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| ChannelError::Lost(e.to_string()))?;
        Ok(EnrollStream {
            connection,
            send,
            recv,
        })
    }

    /// The teacher's side: the first stream the student opens, within
    /// [`ENROLL_STEP_DEADLINE`].
    pub async fn accept(connection: quinn::Connection) -> Result<EnrollStream, ChannelError> {
        let accepted = tokio::time::timeout(ENROLL_STEP_DEADLINE, connection.accept_bi()).await;
        let (send, recv) = match accepted {
            Err(_) => return Err(ChannelError::Ended),
            Ok(Err(e)) => return Err(ChannelError::Lost(e.to_string())),
            Ok(Ok(streams)) => streams,
        };
        Ok(EnrollStream {
            connection,
            send,
            recv,
        })
    }

    /// The key of the other side's TLS certificate (the teacher's endpoint, seen by the
    /// student; the teacher asks none of the student).
    pub fn peer_key(&self) -> Option<qraft_keys::PublicKey> {
        let certs = self
            .connection
            .peer_identity()?
            .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
            .ok()?;
        match certs.as_slice() {
            [cert] => super::tls::certificate_key(cert).ok(),
            _ => None,
        }
    }

    /// Sends one message.
    pub async fn send(&mut self, message: &[u8]) -> Result<(), ChannelError> {
        write_frame(&mut self.send, message, MAX_GRANT_MESSAGE + FRAME_OVERHEAD).await?;
        Ok(())
    }

    /// The teacher reads one of the student's messages (at most
    /// [`MAX_HANDSHAKE_MESSAGE`]), within [`ENROLL_STEP_DEADLINE`].
    pub async fn recv_from_student(&mut self) -> Result<Vec<u8>, ChannelError> {
        self.recv_within(MAX_HANDSHAKE_MESSAGE, ENROLL_STEP_DEADLINE)
            .await
    }

    /// The student reads one of the teacher's messages (up to a grant's size), within
    /// `deadline`: the teacher's approval may take minutes.
    pub async fn recv_from_teacher(&mut self, deadline: Duration) -> Result<Vec<u8>, ChannelError> {
        self.recv_within(MAX_GRANT_MESSAGE, deadline).await
    }

    /// One whole message within `deadline`, the wait for its first byte included: a
    /// peer that says nothing is given up on, never waited for.
    async fn recv_within(
        &mut self,
        limit: usize,
        deadline: Duration,
    ) -> Result<Vec<u8>, ChannelError> {
        let read =
            read_frame_within::<_, Vec<u8>>(&mut self.recv, limit + FRAME_OVERHEAD, deadline);
        match tokio::time::timeout(deadline, read).await {
            Err(_) => Err(ChannelError::Silent {
                seconds: deadline.as_secs(),
            }),
            Ok(read) => read?.ok_or(ChannelError::Ended),
        }
    }

    /// Ends the exchange: finishes the send side and waits (briefly) for the other side
    /// to have read it, so a last message (a grant, a refusal) is not cut off.
    pub async fn finish(mut self) {
        let _ = self.send.finish();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.send.stopped()).await;
        self.connection.close(0u32.into(), b"done");
    }
}
