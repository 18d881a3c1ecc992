//! QUIC end to end, on 127.0.0.1: endpoints, connecting, refusals and identification.

use super::*;
use crate::net::tls::test_identity as identity;
use crate::net::tls::verify::refuse;

const TEST_LIMIT: Duration = Duration::from_secs(20);

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Node 1 serving, with `allow` as its allowlist.
fn node_one(allow: &Allowlist) -> (quinn::Endpoint, SocketAddr) {
    let endpoint = server_endpoint(localhost(), &identity("node 1"), allow.clone()).unwrap();
    let addr = endpoint.local_addr().unwrap();
    (endpoint, addr)
}

/// A game: nodes 1, 2 and 3, and one participant.
fn game() -> Allowlist {
    let allow = Allowlist::new();
    for id in 1..=3 {
        allow.allow_node(id, identity(&format!("node {id}")).public_key());
    }
    allow.allow_participant(identity("player").public_key());
    allow
}

/// The next connection the server accepts, or why its handshake failed; `None` if
/// nothing arrives within `wait`.
async fn accept_one(
    server: &quinn::Endpoint,
    wait: Duration,
) -> Option<Result<quinn::Connection, quinn::ConnectionError>> {
    let incoming = tokio::time::timeout(wait, server.accept()).await.ok()??;
    Some(
        tokio::time::timeout(wait, incoming)
            .await
            .expect("an accepted handshake ends"),
    )
}

fn alpn_bytes(connection: &quinn::Connection) -> Option<Vec<u8>> {
    connection
        .handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

#[tokio::test]
async fn participants_and_nodes_are_identified() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let (server, addr) = node_one(&allow);

        let player = identity("player");
        let client = client_endpoint(localhost(), &player, allow.clone()).unwrap();
        let (connection, accepted) = tokio::join!(
            connect(&client, addr, CLIENT_ALPN, Some(1)),
            accept_one(&server, TEST_LIMIT)
        );
        let client_connection = connection.unwrap();
        let client_accepted = accepted.unwrap().unwrap();
        assert_eq!(alpn_bytes(&client_connection).as_deref(), Some(CLIENT_ALPN));
        assert_eq!(alpn_bytes(&client_accepted).as_deref(), Some(CLIENT_ALPN));
        assert_eq!(alpn_of(&client_accepted), Some(Alpn::Client));
        assert_eq!(
            identify(&client_accepted, &allow).unwrap(),
            (player.public_key(), Admitted::Participant)
        );

        let node2 = identity("node 2");
        let peer = server_endpoint(localhost(), &node2, allow.clone()).unwrap();
        let (connection, accepted) = tokio::join!(
            connect(&peer, addr, PEER_ALPN, Some(1)),
            accept_one(&server, TEST_LIMIT)
        );
        let connection = connection.unwrap();
        let accepted = accepted.unwrap().unwrap();
        assert_eq!(alpn_bytes(&connection).as_deref(), Some(PEER_ALPN));
        assert_eq!(
            identify(&accepted, &allow).unwrap(),
            (node2.public_key(), Admitted::Node(2))
        );

        // No streams before the node grants them; then the ALPN's kind only.
        let waiting = Duration::from_millis(200);
        let early = tokio::time::timeout(waiting, connection.open_uni()).await;
        assert!(early.is_err(), "a stream opened before it was granted");
        grant_streams(&accepted, Alpn::Peer);
        let mut uni = connection.open_uni().await.unwrap();
        uni.write_all(b"raft").await.unwrap();
        uni.finish().unwrap();
        let mut got = accepted.accept_uni().await.unwrap();
        assert_eq!(got.read_to_end(64).await.unwrap(), b"raft");
        let bidi = tokio::time::timeout(waiting, connection.open_bi()).await;
        assert!(bidi.is_err(), "a peer got a bidirectional stream");

        // A client's stream works both ways once granted.
        let early = tokio::time::timeout(waiting, client_connection.open_bi()).await;
        assert!(early.is_err(), "a stream opened before it was granted");
        grant_streams(&client_accepted, Alpn::Client);
        let (mut send, mut recv) = client_connection.open_bi().await.unwrap();
        send.write_all(b"ping").await.unwrap();
        send.finish().unwrap();
        let (mut back, mut got) = client_accepted.accept_bi().await.unwrap();
        assert_eq!(got.read_to_end(64).await.unwrap(), b"ping");
        back.write_all(b"pong").await.unwrap();
        back.finish().unwrap();
        assert_eq!(recv.read_to_end(64).await.unwrap(), b"pong");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn an_unknown_key_is_refused_at_once() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let (server, addr) = node_one(&allow);
        // The stranger knows the game; the game does not know the stranger.
        let stranger = identity("stranger");
        let client = client_endpoint(localhost(), &stranger, allow.clone()).unwrap();
        let started = std::time::Instant::now();
        let (connection, accepted) = tokio::join!(
            connect(&client, addr, CLIENT_ALPN, None),
            accept_one(&server, TEST_LIMIT)
        );
        let err = connection.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        let TlsError::Refused { reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("CertificateUnknown"), "{reason}");
        assert!(reason.contains("not allowed in this game"), "{reason}");
        // The server's handshake failed: it accepted nothing.
        assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");
        assert!(
            accept_one(&server, Duration::from_millis(300))
                .await
                .is_none()
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_participant_may_not_be_a_peer() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let (server, addr) = node_one(&allow);
        // An endpoint that dials as a peer, with a participant's key.
        let player = identity("player");
        let mut client = quinn::Endpoint::client(localhost()).unwrap();
        client
            .set_default_client_config(client_config(&player, allow.clone(), Alpn::Peer).unwrap());
        let (connection, accepted) = tokio::join!(
            connect(&client, addr, PEER_ALPN, Some(1)),
            accept_one(&server, TEST_LIMIT)
        );
        // The handshake passes (the key is allowlisted); identify refuses the ALPN.
        let connection = connection.unwrap();
        let accepted = accepted.unwrap().unwrap();
        let err = identify(&accepted, &allow).unwrap_err();
        assert!(matches!(err, TlsError::Rejected { .. }), "{err:?}");
        let closed = connection_error(addr, connection.closed().await);
        let TlsError::Refused { reason, .. } = &closed else {
            panic!("{closed:?}");
        };
        assert!(reason.contains("is a participant, not a node"), "{reason}");
        assert!(
            closed.to_string().starts_with("refused by 127.0.0.1:"),
            "{closed}"
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_client_refuses_servers_that_are_not_the_node_it_wants() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let player = identity("player");
        let client = client_endpoint(localhost(), &player, allow.clone()).unwrap();

        // A server whose key is a participant's, not a node's.
        let fake = server_endpoint(localhost(), &player, allow.clone()).unwrap();
        let fake_addr = fake.local_addr().unwrap();
        let (connection, accepted) = tokio::join!(
            connect(&client, fake_addr, CLIENT_ALPN, None),
            accept_one(&fake, TEST_LIMIT)
        );
        let err = connection.unwrap_err();
        let TlsError::Rejected { reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("is not a node of this game"), "{reason}");
        assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

        // Node 3, dialed as node 2.
        let node3 = server_endpoint(localhost(), &identity("node 3"), allow.clone()).unwrap();
        let node3_addr = node3.local_addr().unwrap();
        let (connection, accepted) = tokio::join!(
            connect(&client, node3_addr, CLIENT_ALPN, Some(2)),
            accept_one(&node3, TEST_LIMIT)
        );
        let err = connection.unwrap_err();
        let TlsError::Rejected { reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("is node 3"), "{reason}");
        assert!(reason.contains("not node 2"), "{reason}");
        assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

        // Dialed as node 3, or as any node, it is fine.
        for expect in [Some(3), None] {
            let (connection, accepted) = tokio::join!(
                connect(&client, node3_addr, CLIENT_ALPN, expect),
                accept_one(&node3, TEST_LIMIT)
            );
            connection.unwrap();
            accepted.unwrap().unwrap();
        }
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn an_endpoint_dials_only_its_own_alpn() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let (server, addr) = node_one(&allow);
        let client = client_endpoint(localhost(), &identity("player"), allow.clone()).unwrap();
        let (connection, accepted) = tokio::join!(
            connect(&client, addr, PEER_ALPN, None),
            accept_one(&server, TEST_LIMIT)
        );
        let err = connection.unwrap_err();
        let TlsError::Rejected { reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("connects as client, not peer"), "{reason}");
        assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");
        let err = connect(&client, addr, b"http/1.1", None).await.unwrap_err();
        assert!(err.to_string().contains("unknown ALPN"), "{err}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_node_allowed_at_runtime_can_connect() {
    tokio::time::timeout(TEST_LIMIT, async {
        let allow = game();
        let (server, addr) = node_one(&allow);
        let node4 = identity("node 4");
        // Node 4 knows the game (and itself); node 1 does not know node 4 yet.
        let its_allow = game();
        its_allow.allow_node(4, node4.public_key());
        let peer = server_endpoint(localhost(), &node4, its_allow).unwrap();

        let (connection, accepted) = tokio::join!(
            connect(&peer, addr, PEER_ALPN, Some(1)),
            accept_one(&server, TEST_LIMIT)
        );
        assert!(
            matches!(connection, Err(TlsError::Refused { .. })),
            "{connection:?}"
        );
        assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

        allow.allow_node(4, node4.public_key());
        let (connection, accepted) = tokio::join!(
            connect(&peer, addr, PEER_ALPN, Some(1)),
            accept_one(&server, TEST_LIMIT)
        );
        connection.unwrap();
        let accepted = accepted.unwrap().unwrap();
        assert_eq!(
            identify(&accepted, &allow).unwrap(),
            (node4.public_key(), Admitted::Node(4))
        );
    })
    .await
    .expect("test timed out");
}

#[tokio::test]
async fn a_silent_address_times_out() {
    tokio::time::timeout(TEST_LIMIT, async {
        // A UDP socket that never answers.
        let silent = std::net::UdpSocket::bind(localhost()).unwrap();
        let addr = silent.local_addr().unwrap();
        let allow = game();
        let client = client_endpoint(localhost(), &identity("player"), allow).unwrap();
        let limit = Duration::from_millis(300);
        let err = connect_within(&client, addr, CLIENT_ALPN, None, limit)
            .await
            .unwrap_err();
        assert!(
            matches!(err, TlsError::Timeout { after, .. } if after == limit),
            "{err:?}"
        );
    })
    .await
    .expect("test timed out");
}

#[test]
fn reasons_are_tidied() {
    let err = refuse("key qk1 is not allowed".to_string());
    assert_eq!(tidy_reason(&err.to_string()), "key qk1 is not allowed");
    assert_eq!(tidy_reason("something else"), "something else");
}
