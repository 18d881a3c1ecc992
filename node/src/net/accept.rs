//! Admitting incoming connections: from a QUIC connection attempt to an identified,
//! registered connection with its streams granted, or nothing.
//!
//! 1. [`Gatekeeper::screen`]: the [`HandshakeGate`] decides whether the handshake goes
//!    ahead, the caller must validate its address first (a QUIC Retry), or it is refused.
//! 2. [`Gatekeeper::admit`]: the handshake runs within the deadline (the TLS verifier
//!    refuses keys the [`Allowlist`] does not admit); [`identify`] says who it is; the
//!    [`Connections`] registry checks its budget; and only then may it open streams
//!    ([`grant_streams`]).
//!
//! Every refusal here can be caused at will from the network, so each is logged through
//! the rate-limited [`NET_LOG`].

use std::net::SocketAddr;
use std::time::Duration;

use qraft_keys::PublicKey;

use super::connections::{Connections, Lane, Registration};
use super::gate::{GateDecision, HANDSHAKE_DEADLINE, HandshakeGate, HandshakePermit};
use super::ratelog::NET_LOG;
use super::tls::{Admitted, Allowlist, Alpn, alpn_of, grant_streams, identify};

/// Screens and admits a node's incoming connections. Cloning shares its state.
#[derive(Clone, Debug)]
pub struct Gatekeeper {
    pub allow: Allowlist,
    pub connections: Connections,
    pub gate: HandshakeGate,
    /// How long a handshake may take ([`HANDSHAKE_DEADLINE`] unless a test says otherwise).
    pub deadline: Duration,
}

/// An admitted connection, ready to be served.
#[derive(Debug)]
pub struct Admission {
    pub connection: quinn::Connection,
    pub key: PublicKey,
    pub admitted: Admitted,
    pub alpn: Alpn,
    /// The connection's place in the registry: keep it while serving the connection.
    pub registration: Registration,
}

impl Gatekeeper {
    /// A gatekeeper with the default gate and deadline.
    pub fn new(allow: Allowlist, connections: Connections) -> Gatekeeper {
        Gatekeeper {
            allow,
            connections,
            gate: HandshakeGate::default(),
            deadline: HANDSHAKE_DEADLINE,
        }
    }

    /// The first look at a connection attempt, before any crypto: its handshake may go
    /// ahead (with the permit to hold until it ends), or it is answered here with a Retry
    /// or a refusal and `None` is returned.
    pub fn screen(&self, incoming: quinn::Incoming) -> Option<(quinn::Incoming, HandshakePermit)> {
        match self.gate.decide(incoming.remote_address_validated()) {
            GateDecision::Admit(permit) => Some((incoming, permit)),
            GateDecision::Retry => {
                // Always possible for an unvalidated address; refuse if quinn says not.
                if let Err(err) = incoming.retry() {
                    err.into_incoming().refuse();
                }
                None
            }
            GateDecision::Refuse => {
                if NET_LOG.allow("too many handshakes") {
                    tracing::warn!(
                        remote = %incoming.remote_address(),
                        in_progress = self.gate.pending(),
                        "refused a connection attempt: too many handshakes in progress"
                    );
                }
                incoming.refuse();
                None
            }
        }
    }

    /// Runs the handshake of a screened attempt and admits the connection, or refuses it
    /// (the other side reads why) and returns `None`.
    pub async fn admit(
        &self,
        incoming: quinn::Incoming,
        permit: HandshakePermit,
    ) -> Option<Admission> {
        let remote = incoming.remote_address();
        let connection = self.handshake(incoming, remote).await;
        // The handshake is over either way: its slot is free.
        drop(permit);
        let connection = connection?;
        let (key, admitted) = match identify(&connection, &self.allow) {
            Ok(identified) => identified,
            Err(err) => {
                if NET_LOG.allow("refused connection") {
                    tracing::info!(%remote, %err, "refused a connection");
                }
                return None;
            }
        };
        // `identify` refuses connections without a known ALPN.
        let alpn = alpn_of(&connection)?;
        let lane = match alpn {
            Alpn::Peer => Lane::Peer,
            Alpn::Client => Lane::Client,
        };
        let registration = match self.connections.admit(key, lane, connection.clone()) {
            Ok(registration) => registration,
            Err(refusal) => {
                let reason = refusal.to_string();
                connection.close(
                    quinn::VarInt::from(super::tls::CLOSE_REFUSED),
                    reason.as_bytes(),
                );
                if NET_LOG.allow("connection over budget") {
                    tracing::info!(%remote, %key, %reason, "refused a connection");
                }
                return None;
            }
        };
        // A revocation between the handshake and the registration: `close_key` ran before
        // this connection was registered, so close it here.
        if self.allow.admit(&key, alpn).is_none() {
            let reason = self.allow.refusal(&key);
            connection.close(
                quinn::VarInt::from(super::tls::CLOSE_REFUSED),
                reason.as_bytes(),
            );
            return None;
        }
        grant_streams(&connection, alpn);
        Some(Admission {
            connection,
            key,
            admitted,
            alpn,
            registration,
        })
    }

    /// The handshake, within the deadline.
    async fn handshake(
        &self,
        incoming: quinn::Incoming,
        remote: SocketAddr,
    ) -> Option<quinn::Connection> {
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(err) => {
                if NET_LOG.allow("refused handshake") {
                    tracing::info!(%remote, %err, "refused a connection at the handshake");
                }
                return None;
            }
        };
        // Dropping an unfinished `Connecting` closes the attempt.
        match tokio::time::timeout(self.deadline, connecting).await {
            Ok(Ok(connection)) => Some(connection),
            Ok(Err(err)) => {
                if NET_LOG.allow("refused handshake") {
                    tracing::info!(%remote, %err, "refused a connection at the handshake");
                }
                None
            }
            Err(_) => {
                if NET_LOG.allow("handshake deadline") {
                    tracing::info!(%remote, deadline = ?self.deadline, "dropped a handshake that did not finish in time");
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::connections::Limits;
    use crate::net::tls::{
        CLIENT_ALPN, TlsError, TlsIdentity, client_endpoint, connect, connection_error,
        server_endpoint,
    };
    use qraft_keys::Keypair;

    const TEST_LIMIT: Duration = Duration::from_secs(20);

    fn localhost() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    fn identity(label: &str) -> TlsIdentity {
        TlsIdentity::from_keypair(&Keypair::from_label(label)).unwrap()
    }

    /// Node 1 and two players.
    fn game() -> Allowlist {
        let allow = Allowlist::new();
        allow.allow_node(1, identity("node 1").public_key());
        allow.allow_participant(identity("alice").public_key());
        allow.allow_participant(identity("bob").public_key());
        allow
    }

    /// Node 1's endpoint, admitting every attempt through `keeper` until the test ends;
    /// admissions are sent on the channel (and their connections kept open there).
    fn serve(
        keeper: Gatekeeper,
    ) -> (
        quinn::Endpoint,
        SocketAddr,
        tokio::sync::mpsc::UnboundedReceiver<Admission>,
    ) {
        let endpoint = server_endpoint(localhost(), &identity("node 1"), keeper.allow.clone())
            .expect("endpoint");
        let addr = endpoint.local_addr().unwrap();
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let accepting = endpoint.clone();
        tokio::spawn(async move {
            while let Some(incoming) = accepting.accept().await {
                let Some((incoming, permit)) = keeper.screen(incoming) else {
                    continue;
                };
                let keeper = keeper.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Some(admission) = keeper.admit(incoming, permit).await {
                        let _ = sender.send(admission);
                    }
                });
            }
        });
        (endpoint, addr, receiver)
    }

    fn client(label: &str, allow: &Allowlist) -> quinn::Endpoint {
        client_endpoint(localhost(), &identity(label), allow.clone()).unwrap()
    }

    /// A client connection that the node either refuses at once or closes right after
    /// the handshake: the reason it gives.
    async fn refusal(endpoint: &quinn::Endpoint, addr: SocketAddr) -> String {
        let err = match connect(endpoint, addr, CLIENT_ALPN, Some(1)).await {
            Ok(connection) => connection_error(addr, connection.closed().await),
            Err(err) => err,
        };
        match err {
            TlsError::Refused { reason, .. } => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn admitted_clients_get_streams_and_a_keys_ninth_is_refused() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let keeper = Gatekeeper::new(allow.clone(), Connections::new());
            let connections = keeper.connections.clone();
            let (_server, addr, mut admitted) = serve(keeper);
            let alice = client("alice", &allow);
            let mut held = Vec::new();
            for _ in 0..crate::net::connections::MAX_CONNECTIONS_PER_KEY {
                let connection = connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
                let admission = admitted.recv().await.unwrap();
                assert_eq!(admission.admitted, Admitted::Participant);
                assert_eq!(admission.alpn, Alpn::Client);
                held.push((connection, admission));
            }
            let reason = refusal(&alice, addr).await;
            assert!(reason.contains("the most one key may hold"), "{reason}");
            // Another key still connects, and its streams work.
            let bob = client("bob", &allow);
            let connection = connect(&bob, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            let admission = admitted.recv().await.unwrap();
            let (mut send, _recv) = connection.open_bi().await.unwrap();
            send.write_all(b"hello").await.unwrap();
            send.finish().unwrap();
            let (_back, mut got) = admission.connection.accept_bi().await.unwrap();
            assert_eq!(got.read_to_end(16).await.unwrap(), b"hello");
            // One of alice's ends: she may connect again.
            let (first, registration) = held.remove(0);
            first.close(0u32.into(), b"done");
            drop(registration);
            assert_eq!(
                connections.count_of(&identity("alice").public_key(), Lane::Client),
                crate::net::connections::MAX_CONNECTIONS_PER_KEY - 1
            );
            connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            admitted.recv().await.unwrap();
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_full_node_refuses_clients_with_a_reason() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let connections = Connections::with_limits(Limits {
                clients: 1,
                ..Limits::default()
            });
            let (_server, addr, mut admitted) = serve(Gatekeeper::new(allow.clone(), connections));
            let _alice = connect(&client("alice", &allow), addr, CLIENT_ALPN, Some(1))
                .await
                .unwrap();
            let _held = admitted.recv().await.unwrap();
            let reason = refusal(&client("bob", &allow), addr).await;
            assert!(reason.contains("client connections already"), "{reason}");
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn past_the_threshold_callers_validate_their_address_and_still_get_in() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let mut keeper = Gatekeeper::new(allow.clone(), Connections::new());
            // Every unvalidated attempt gets a Retry.
            keeper.gate = HandshakeGate::new(4, 0);
            let gate = keeper.gate.clone();
            let (_server, addr, mut admitted) = serve(keeper);
            let alice = client("alice", &allow);
            let connection = connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            assert_eq!(
                connection.stats().frame_rx.handshake_done,
                1,
                "the handshake finished"
            );
            admitted.recv().await.unwrap();
            assert_eq!(gate.pending(), 0, "the handshake's slot is free again");
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn at_the_cap_attempts_are_refused_at_once() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let mut keeper = Gatekeeper::new(allow.clone(), Connections::new());
            keeper.gate = HandshakeGate::new(0, 0);
            let (_server, addr, _admitted) = serve(keeper);
            let started = std::time::Instant::now();
            let err = connect(&client("alice", &allow), addr, CLIENT_ALPN, Some(1))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    TlsError::Connection {
                        source: quinn::ConnectionError::ConnectionClosed(_),
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_stalled_handshake_is_dropped_at_the_deadline() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let mut keeper = Gatekeeper::new(allow.clone(), Connections::new());
            keeper.deadline = Duration::from_millis(300);
            let gate = keeper.gate.clone();
            let (_server, addr, mut admitted) = serve(keeper);
            // A caller that sends its first packet and then goes silent: a relay passes
            // the client's first datagram to the node and nothing after it.
            let relay = tokio::net::UdpSocket::bind(localhost()).await.unwrap();
            let relay_addr = relay.local_addr().unwrap();
            let alice = client("alice", &allow);
            let dial =
                tokio::spawn(
                    async move { connect(&alice, relay_addr, CLIENT_ALPN, Some(1)).await },
                );
            let mut first = vec![0u8; 2048];
            let (len, _) = relay.recv_from(&mut first).await.unwrap();
            relay.send_to(&first[..len], addr).await.unwrap();
            // The node is now setting up the handshake...
            let deadline = tokio::time::Instant::now() + TEST_LIMIT;
            while gate.pending() == 0 {
                assert!(tokio::time::Instant::now() < deadline, "no handshake began");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // ...and gives up on it at the deadline, freeing its slot.
            let started = std::time::Instant::now();
            while gate.pending() > 0 {
                assert!(started.elapsed() < Duration::from_secs(5), "never dropped");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(started.elapsed() >= Duration::from_millis(200));
            assert!(admitted.try_recv().is_err(), "nothing was admitted");
            dial.abort();
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_revoked_key_is_closed_and_refused_until_allowed_again() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let keeper = Gatekeeper::new(allow.clone(), Connections::new());
            let connections = keeper.connections.clone();
            let (_server, addr, mut admitted) = serve(keeper);
            let alice_key = identity("alice").public_key();
            let alice = client("alice", &allow);
            let open = connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            let _admission = admitted.recv().await.unwrap();

            assert!(allow.revoke_participant(&alice_key));
            assert_eq!(
                connections.close_key(&alice_key, "suspended by the admin"),
                1
            );
            let closed = connection_error(addr, open.closed().await);
            let TlsError::Refused { reason, .. } = &closed else {
                panic!("{closed:?}");
            };
            assert_eq!(reason, "suspended by the admin");
            let reason = refusal(&alice, addr).await;
            assert!(reason.contains("is suspended"), "{reason}");

            allow.allow_participant(alice_key);
            connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            admitted.recv().await.unwrap();
        })
        .await
        .expect("test timed out");
    }
}
