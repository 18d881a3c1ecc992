//! Networked nodes in one process, over real QUIC on 127.0.0.1 (and ::1): ordering
//! through the client protocol, privacy, refusals at the handshake.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::node::NetNode;
use qraft_node::net::proto::{Event, ProtocolError, Request, Response, Topics};
use qraft_node::net::tls::TlsError;
use qraft_node::testkit::quic::{loopback_game, start_voters};

const WAIT: Duration = Duration::from_secs(20);
mod common;

use common::signed;

fn game() -> SampleGame {
    loopback_game(&SampleOptions::default()).unwrap()
}

async fn start(game: &SampleGame, dir: &std::path::Path) -> Vec<NetNode> {
    start_voters(game, dir, Tuning::default()).await.unwrap()
}

fn addresses(genesis: &Genesis) -> Vec<String> {
    Client::node_addresses(genesis)
}

/// Waits until some node reports a leader.
async fn wait_for_leader(client: &Client) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while client.leader().await.unwrap().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn buy(game: &SampleGame, price: u64) -> TxBody {
    TxBody::Order(NewOrder {
        symbol: game.genesis.symbols[0].ticker,
        side: Side::Buy,
        quantity: 3,
        kind: OrderKind::Limit { price },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_over_quic_commit_on_every_node_and_accounts_stay_private() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(&game, dir.path()).await;
    let genesis = &game.genesis;
    let alice = Client::connect(genesis, game.traders[0].clone(), &addresses(genesis))
        .await
        .unwrap();
    wait_for_leader(&alice).await;
    let mut events = alice
        .subscribe(Topics {
            blocks: true,
            ..Topics::default()
        })
        .await
        .unwrap();
    let committed = alice
        .submit(signed(&game.traders[0], genesis, buy(&game, 900)))
        .await
        .unwrap();
    assert!(committed.receipt.is_accepted(), "{committed:?}");

    // The block arrives on the subscription.
    let block = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Event::Block(block)) = events.next().await.unwrap()
                && block.header.height >= committed.height
            {
                return block;
            }
        }
    })
    .await
    .expect("a block event");
    assert_eq!(block.header.height, committed.height);

    // Every node has the block (asked through each node in turn).
    for spec in &genesis.voters {
        let bob = Client::connect(
            genesis,
            game.traders[1].clone(),
            std::slice::from_ref(&spec.address),
        )
        .await
        .unwrap();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let response = bob
                .request(&Request::Block {
                    height: committed.height,
                })
                .await
                .unwrap();
            if let Response::Block(Some(b)) = response {
                assert_eq!(b.hash(), committed.block_hash);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {} lacks the block",
                spec.id
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Bob's account is Bob's: no open orders, while Alice has one.
        match bob.request(&Request::Account).await.unwrap() {
            Response::Account(Some(account)) => {
                assert_eq!(account.key, game.traders[1].public());
                assert!(account.open_orders.is_empty());
            }
            other => panic!("{other:?}"),
        }
        // Bob cannot submit a transaction signed by Alice.
        let forged = signed(&game.traders[0], genesis, buy(&game, 901));
        assert!(matches!(
            bob.submit(forged).await,
            Err(ClientError::Refused(ProtocolError::NotYourTransaction))
        ));
        bob.close().await;
    }
    match alice.request(&Request::Account).await.unwrap() {
        Response::Account(Some(account)) => assert_eq!(account.open_orders.len(), 1),
        other => panic!("{other:?}"),
    }
    // A trader may not change the membership.
    assert!(matches!(
        alice
            .request(&Request::Membership(
                qraft_node::api::MembershipChange::AddLearner(9)
            ))
            .await,
        Err(ClientError::Refused(ProtocolError::NotAdmin))
    ));
    drop(nodes);
}

/// A sample game whose voters listen on the IPv6 loopback, or `None` when this machine
/// cannot bind `::1` (the caller skips its test, saying so).
fn ipv6_loopback_game() -> Option<SampleGame> {
    let mut game = game();
    // Hold every port until all are chosen, so no two voters get the same one.
    let mut sockets = Vec::new();
    for voter in &mut game.genesis.voters {
        let bound = std::net::UdpSocket::bind("[::1]:0").and_then(|s| Ok((s.local_addr()?, s)));
        let (addr, socket) = match bound {
            Ok(bound) => bound,
            Err(err) => {
                eprintln!("skipped: this machine cannot bind the IPv6 loopback [::1] ({err})");
                return None;
            }
        };
        voter.address = format!("[::1]:{}", addr.port());
        sockets.push(socket);
    }
    Some(game)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reaches_nodes_that_listen_on_ipv6() {
    let Some(game) = ipv6_loopback_game() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let _nodes = start(&game, dir.path()).await;
    let genesis = &game.genesis;
    let alice = Client::connect(genesis, game.traders[0].clone(), &addresses(genesis))
        .await
        .unwrap();
    assert!(alice.node().is_ipv6(), "{}", alice.node());
    assert_eq!(alice.address(), genesis.voters[0].address);
    wait_for_leader(&alice).await;
    let committed = alice
        .submit(signed(&game.traders[0], genesis, buy(&game, 900)))
        .await
        .unwrap();
    assert!(committed.receipt.is_accepted(), "{committed:?}");
    alice.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_not_in_the_game_is_refused_at_the_handshake() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let _nodes = start(&game, dir.path()).await;
    let stranger = Keypair::from_label("stranger");
    let started = tokio::time::Instant::now();
    let result = Client::connect(&game.genesis, stranger, &addresses(&game.genesis)).await;
    match result {
        Err(ClientError::Tls(TlsError::Refused { reason, .. })) => {
            assert!(reason.contains("not allowed"), "{reason}");
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a stranger got in"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refusal took too long"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_replayed_input_is_refused_and_the_node_carries_on() {
    use qraft_node::net::tls::{Allowlist, CLIENT_ALPN, TlsIdentity, client_endpoint, connect};

    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let _nodes = start(&game, dir.path()).await;
    let genesis = &game.genesis;
    let alice = Client::connect(genesis, game.traders[0].clone(), &addresses(genesis))
        .await
        .unwrap();
    wait_for_leader(&alice).await;

    // Raw streams on a participant's connection.
    let identity = TlsIdentity::from_keypair(&game.traders[2]).unwrap();
    let endpoint = client_endpoint(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        Allowlist::from_genesis(genesis),
    )
    .unwrap();
    let addr = genesis.voters[0].address.parse().unwrap();
    let raw = connect(&endpoint, addr, CLIENT_ALPN, None).await.unwrap();
    for bytes in [
        // A length prefix of 4 GiB: refused before any allocation.
        vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],
        // A well-sized frame of garbage.
        vec![0, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef, 0x99],
    ] {
        let (mut send, mut recv) = raw.open_bi().await.unwrap();
        send.write_all(&bytes).await.unwrap();
        let _ = send.finish();
        let answer = tokio::time::timeout(WAIT, recv.read_to_end(1 << 20))
            .await
            .expect("the node answers instead of hanging")
            .unwrap_or_default();
        // The answer is a frame holding Response::Error with the reason.
        assert!(answer.len() > 4, "no reason given for {bytes:?}");
        let response: Response = postcard::from_bytes(&answer[4..]).unwrap();
        assert!(
            matches!(response, Response::Error(ProtocolError::Invalid(_))),
            "{response:?}"
        );
    }

    // A replayed transaction is refused; the original's receipt stands.
    let tx = signed(&game.traders[0], genesis, buy(&game, 905));
    let first = alice.submit(tx.clone()).await.unwrap();
    assert!(first.receipt.is_accepted());
    let replay = alice.submit(tx).await;
    assert!(
        matches!(
            replay,
            Err(ClientError::Submit(
                qraft_node::net::proto::SubmitFailure::Refused(
                    qraft_node::api::Refusal::StaleNonce { .. }
                )
            ))
        ),
        "{replay:?}"
    );

    // A trader's admin transaction is rejected by the exchange.
    let news = TxBody::Admin(qraft_node::core::tx::AdminAction::News {
        headline: "free money".into(),
    });
    let admin = alice
        .submit(signed(&game.traders[0], genesis, news))
        .await
        .unwrap();
    assert!(!admin.receipt.is_accepted(), "{admin:?}");

    // And the node still serves everyone.
    let status = alice.request(&Request::Status).await.unwrap();
    assert!(matches!(status, Response::Status(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_the_admin_adds_may_connect_at_once() {
    use qraft_node::core::tx::{AdminAction, ParticipantSpec};
    use qraft_node::core::types::Role;

    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let _nodes = start(&game, dir.path()).await;
    let genesis = &game.genesis;
    let newcomer = Keypair::from_label("late student");
    // Not in the game yet: refused.
    assert!(
        Client::connect(genesis, newcomer.clone(), &addresses(genesis))
            .await
            .is_err()
    );
    let admin = Client::connect(genesis, game.admin.clone(), &addresses(genesis))
        .await
        .unwrap();
    wait_for_leader(&admin).await;
    let add = TxBody::Admin(AdminAction::AddParticipant(ParticipantSpec {
        name: "late".into(),
        key: newcomer.public(),
        role: Role::Trader,
        cash: 500_000,
        holdings: vec![],
    }));
    let added = admin
        .submit(signed(&game.admin, genesis, add))
        .await
        .unwrap();
    assert!(added.receipt.is_accepted(), "{added:?}");
    // Every node lets them in once it has applied the block.
    for spec in &genesis.voters {
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            match Client::connect(
                genesis,
                newcomer.clone(),
                std::slice::from_ref(&spec.address),
            )
            .await
            {
                Ok(client) => break client,
                Err(err) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "node {}: {err}",
                        spec.id
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        match client.request(&Request::Account).await.unwrap() {
            Response::Account(Some(account)) => assert_eq!(account.cash, 500_000),
            other => panic!("{other:?}"),
        }
    }
}
