//! Suspension through the ledger, over real QUIC on 127.0.0.1: the admin's
//! `SuspendParticipant` closes the participant's connections on every node and refuses
//! its handshakes, also after a restart; `ReinstateParticipant` lets it in again.

use std::net::SocketAddr;
use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::tx::{AdminAction, TxBody};
use qraft_node::net::client::Client;
use qraft_node::net::tls::{
    Allowlist, CLIENT_ALPN, TlsError, TlsIdentity, client_endpoint, connect, connection_error,
};
use qraft_node::testkit::quic::{loopback_game, start_voters};

const WAIT: Duration = Duration::from_secs(20);
mod common;

use common::signed;

fn endpoint_of(keypair: &Keypair, game: &SampleGame) -> quinn::Endpoint {
    client_endpoint(
        "127.0.0.1:0".parse().unwrap(),
        &TlsIdentity::from_keypair(keypair).unwrap(),
        Allowlist::from_genesis(&game.genesis),
    )
    .unwrap()
}

fn voter_addresses(game: &SampleGame) -> Vec<SocketAddr> {
    game.genesis
        .voters
        .iter()
        .map(|v| v.address.parse().unwrap())
        .collect()
}

/// The admin's transaction, committed and accepted.
async fn admin_does(game: &SampleGame, action: AdminAction) {
    let addresses = Client::node_addresses(&game.genesis);
    let admin = Client::connect(&game.genesis, game.admin.clone(), &addresses)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while admin.leader().await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let committed = admin
        .submit(signed(&game.admin, &game.genesis, TxBody::Admin(action)))
        .await
        .unwrap();
    assert!(committed.receipt.is_accepted(), "{committed:?}");
    admin.close().await;
}

/// Waits until `addr` refuses a new connection of `endpoint`'s key; returns the reason.
async fn refused_at(endpoint: &quinn::Endpoint, addr: SocketAddr) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match connect(endpoint, addr, CLIENT_ALPN, None).await {
            Err(TlsError::Refused { reason, .. }) => return reason,
            Ok(connection) => connection.close(0u32.into(), b"retrying"),
            Err(err) => panic!("{addr}: {err}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{addr} still admits"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `addr` admits a new connection of `endpoint`'s key.
async fn admitted_at(endpoint: &quinn::Endpoint, addr: SocketAddr) -> quinn::Connection {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match connect(endpoint, addr, CLIENT_ALPN, None).await {
            Ok(connection) => return connection,
            Err(err) => assert!(tokio::time::Instant::now() < deadline, "{addr}: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_participant_is_disconnected_and_refused_everywhere_until_reinstated() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let game = loopback_game(&SampleOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let nodes = start_voters(&game, dir.path(), Tuning::default())
            .await
            .unwrap();
        let alice = &game.traders[0];
        let endpoint = endpoint_of(alice, &game);
        let mut open = Vec::new();
        for addr in voter_addresses(&game) {
            open.push((addr, admitted_at(&endpoint, addr).await));
        }

        admin_does(
            &game,
            AdminAction::SuspendParticipant {
                key: alice.public(),
            },
        )
        .await;
        // Every node closes her connection when it applies the block, saying why...
        for (addr, connection) in &open {
            let closed = tokio::time::timeout(WAIT, connection.closed())
                .await
                .expect("the suspension closes the connection");
            let TlsError::Refused { reason, .. } = connection_error(*addr, closed) else {
                panic!("{addr}: not a refusal");
            };
            assert!(reason.contains("suspended"), "{addr}: {reason}");
        }
        // ...and refuses her handshakes.
        for addr in voter_addresses(&game) {
            let reason = refused_at(&endpoint, addr).await;
            assert!(reason.contains("is suspended"), "{addr}: {reason}");
        }

        // A transaction of hers that still reaches a node (relayed by another node's
        // client, say) is refused at the door on every node, and stored nowhere.
        let order = qraft_node::core::tx::Tx {
            signer: alice.public(),
            nonce: 99,
            body: TxBody::CancelAll { symbol: None },
        }
        .sign(alice, &game.genesis.chain_id());
        for node in &nodes {
            let answer = node.handle.submit(order.clone()).await;
            assert_eq!(
                answer,
                Err(qraft_node::api::SubmitError::Refused(
                    qraft_node::api::Refusal::Suspended
                )),
                "node {}",
                node.id
            );
        }
        for node in &nodes {
            assert_eq!(node.handle.receipt(order.hash()).await.unwrap(), None);
        }

        // After a restart, the nodes read the suspension from their ledgers before their
        // first handshake.
        for node in nodes {
            node.shutdown().await;
        }
        let nodes = start_voters(&game, dir.path(), Tuning::default())
            .await
            .unwrap();
        for addr in voter_addresses(&game) {
            match connect(&endpoint, addr, CLIENT_ALPN, None).await {
                Err(TlsError::Refused { reason, .. }) => {
                    assert!(reason.contains("is suspended"), "{addr}: {reason}")
                }
                other => panic!("{addr}: {other:?}"),
            }
        }

        admin_does(
            &game,
            AdminAction::ReinstateParticipant {
                key: alice.public(),
            },
        )
        .await;
        for addr in voter_addresses(&game) {
            admitted_at(&endpoint, addr).await;
        }
        for node in nodes {
            node.shutdown().await;
        }
    })
    .await
    .expect("test timed out");
}
