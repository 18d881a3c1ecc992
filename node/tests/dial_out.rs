//! A laptop that no one can dial takes part in a game: the admin registers it with the
//! address `dials-out`, it dials the voters itself, and the voters send it the chain on
//! the connections it opened. Its own endpoint never admits a peer connection; it keeps
//! following the chain, and its transactions commit, after its address changes and after
//! its connections are lost and made again. Real QUIC on loopback.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::{Handle, MembershipChange, Role};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::genesis::{DIALS_OUT, Genesis, NodeSpec};
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::connections::Lane;
use qraft_node::net::node::{NetNode, NetNodeOptions};
use qraft_node::net::proto::{ProtocolError, Request};
use qraft_node::testkit::quic::{loopback_game, start_voters};

/// The longest the whole test may take.
const TEST_LIMIT: Duration = Duration::from_secs(150);
mod common;

use common::{WAIT, eventually, signed};

fn order(genesis: &Genesis, price: u64) -> TxBody {
    TxBody::Order(NewOrder {
        symbol: genesis.symbols[0].ticker,
        side: Side::Buy,
        quantity: 1,
        kind: OrderKind::Limit { price },
    })
}

/// Submits orders through `handle` until one commits, each attempt bounded.
async fn commit_through(handle: &Handle, key: &Keypair, genesis: &Genesis, price: u64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let tx = signed(key, genesis, order(genesis, price));
        match tokio::time::timeout(Duration::from_secs(5), handle.submit(tx)).await {
            Ok(Ok(committed)) => {
                assert!(committed.receipt.is_accepted(), "{committed:?}");
                return;
            }
            other => assert!(
                tokio::time::Instant::now() < deadline,
                "nothing committed through the laptop: {other:?}"
            ),
        }
    }
}

/// Commits a few orders through the voters, then waits for the laptop to hold the
/// voters' head block.
async fn laptop_follows(
    voters: &[NetNode],
    laptop: &NetNode,
    trader: &Client,
    key: &Keypair,
    genesis: &Genesis,
) {
    for price in 920..923 {
        let committed = trader
            .submit(signed(key, genesis, order(genesis, price)))
            .await
            .unwrap();
        assert!(committed.receipt.is_accepted(), "{committed:?}");
    }
    let head = voters[0].handle.status().await.unwrap().height;
    eventually("the laptop follows new blocks", || async {
        laptop.handle.status().await.unwrap().height >= head
    })
    .await;
    let theirs = voters[0].handle.block(head).await.unwrap().unwrap();
    let ours = laptop.handle.block(head).await.unwrap().unwrap();
    assert_eq!(ours.hash(), theirs.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_laptop_that_dials_out_follows_the_chain_and_survives_moving() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_LIMIT, scenario())
        .await
        .expect("the test timed out");
}

async fn scenario() {
    let game = loopback_game(&SampleOptions::default()).unwrap();
    let genesis = &game.genesis;
    let dir = tempfile::tempdir().unwrap();
    // Frequent snapshots on the voters: the laptop catches up by one, sent on its own
    // connection.
    let tuning = Tuning {
        snapshot_every_blocks: Some(5),
        ..Tuning::default()
    };
    let voters = start_voters(&game, dir.path(), tuning.clone())
        .await
        .unwrap();
    let addresses = Client::node_addresses(genesis);
    let admin = Client::connect(genesis, game.admin.clone(), &addresses)
        .await
        .unwrap();
    let trader = Client::connect(genesis, game.traders[0].clone(), &addresses)
        .await
        .unwrap();
    eventually("a leader", || async {
        admin.leader().await.unwrap().is_some()
    })
    .await;
    for price in 900..910 {
        let body = order(genesis, price);
        let committed = trader
            .submit(signed(&game.traders[0], genesis, body))
            .await
            .unwrap();
        assert!(committed.receipt.is_accepted(), "{committed:?}");
    }

    // The admin registers the laptop: it has no address anyone could dial.
    let key = Keypair::from_label("dial-out-test/laptop-4");
    let spec = NodeSpec {
        id: 4,
        name: "laptop-4".into(),
        key: key.public(),
        address: DIALS_OUT.into(),
    };
    let registered = admin
        .submit(signed(
            &game.admin,
            genesis,
            TxBody::Admin(AdminAction::AddNode(spec.clone())),
        ))
        .await
        .unwrap();
    assert!(registered.receipt.is_accepted(), "{registered:?}");
    let laptop = NetNode::start(NetNodeOptions {
        genesis: genesis.clone(),
        keypair: key.clone(),
        data_dir: dir.path().join("laptop-4"),
        // Whatever port it gets: no one is told.
        listen: "127.0.0.1:0".parse().unwrap(),
        peers: Default::default(),
        // Snapshots of its own only every 1,000 blocks: any it holds came from a voter.
        tuning: Tuning {
            tick_ms: Some(20),
            ..Tuning::default()
        },
        submit_timeout: Duration::from_secs(10),
        id: Some(4),
        dial_out: true,
    })
    .await
    .unwrap();

    eventually("every voter lists the laptop as a learner", || async {
        let mut all = true;
        for voter in &voters {
            all &= voter.handle.status().await.unwrap().learners == vec![4];
        }
        all
    })
    .await;
    let head = voters[0].handle.status().await.unwrap().height;
    eventually("the laptop catches up", || async {
        let status = laptop.handle.status().await.unwrap();
        status.role == Role::Learner && status.height >= head
    })
    .await;
    let bounds = laptop.handle.log_bounds().await.unwrap();
    assert!(
        bounds.snapshot_index.is_some(),
        "the laptop installed a voter's snapshot: {bounds:?}"
    );
    commit_through(&laptop.handle, &game.traders[1], genesis, 850).await;
    laptop_follows(&voters, &laptop, &trader, &game.traders[0], genesis).await;

    // A laptop that dials out cannot be made a voter: every node answers why.
    for voter in &voters {
        let address = vec![voter.local_addr().unwrap().to_string()];
        let to_voter = Client::connect(genesis, game.admin.clone(), &address)
            .await
            .unwrap();
        match to_voter
            .request(&Request::Membership(MembershipChange::Promote(4)))
            .await
        {
            Err(ClientError::Refused(ProtocolError::Invalid(message))) => {
                assert!(message.contains("dial a voter"), "{message}")
            }
            other => panic!("the laptop's promotion was not refused: {other:?}"),
        }
        to_voter.close().await;
    }

    // The laptop's address changes (a new DHCP lease): its connections move with it.
    let before = laptop.local_addr().unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    laptop.rebind(socket).unwrap();
    assert_ne!(laptop.local_addr().unwrap(), before);
    laptop_follows(&voters, &laptop, &trader, &game.traders[0], genesis).await;
    commit_through(&laptop.handle, &game.traders[1], genesis, 851).await;

    // Its connections are lost (the access point dropped them): it dials again, and the
    // voters answer on the new connections.
    for voter in &voters {
        voter
            .connections()
            .close_key(&key.public(), "test: the laptop's connections are lost");
    }
    laptop_follows(&voters, &laptop, &trader, &game.traders[0], genesis).await;
    commit_through(&laptop.handle, &game.traders[1], genesis, 852).await;

    // All along, no node ever dialled it.
    assert_eq!(laptop.connections().admitted(Lane::Peer), 0);

    trusted_laptop_becomes_a_voter(&game, &voters, &laptop, &admin).await;
    admin.close().await;
    trader.close().await;
    laptop.shutdown().await;
    for voter in voters {
        voter.shutdown().await;
    }
}

/// The teacher trusts the laptop: the voters saw where its connections come from, the
/// admin registers it there, and it is promoted; one original voter steps down to
/// learner. Then the leader among the original voters stops, and the laptop and the one
/// left elect a leader and commit: the laptop votes, and is dialled where it listens.
async fn trusted_laptop_becomes_a_voter(
    game: &qraft_node::core::genesis::sample::SampleGame,
    voters: &[NetNode],
    laptop: &NetNode,
    admin: &Client,
) {
    let genesis = &game.genesis;
    let seen = voters[0].locator().unwrap().seen_at(4);
    assert_eq!(
        seen,
        Some(laptop.local_addr().unwrap()),
        "seen where it listens"
    );
    let address = seen.unwrap().to_string();
    let moved = admin
        .submit(signed(
            &game.admin,
            genesis,
            TxBody::Admin(AdminAction::SetNodeAddress { id: 4, address }),
        ))
        .await
        .unwrap();
    assert!(moved.receipt.is_accepted(), "{moved:?}");
    let leader = voters[0].handle.status().await.unwrap().leader.unwrap();
    let on_leader = voters.iter().find(|v| v.id == leader).unwrap();
    eventually("the leader promotes the laptop", || async {
        on_leader
            .handle
            .change_membership(MembershipChange::Promote(4))
            .await
            .is_ok()
    })
    .await;
    eventually("the laptop is a voter", || async {
        laptop.handle.status().await.unwrap().voters == vec![1, 2, 3, 4]
    })
    .await;
    // A voter that does not lead steps down to learner: three voters again.
    let retired = voters
        .iter()
        .map(|v| v.id)
        .rfind(|id| *id != leader)
        .unwrap();
    eventually("the leader demotes one voter", || async {
        on_leader
            .handle
            .change_membership(MembershipChange::AddLearner(retired))
            .await
            .is_ok()
    })
    .await;
    let left: Vec<u64> = [1, 2, 3, 4]
        .into_iter()
        .filter(|id| *id != retired)
        .collect();
    eventually("three voters, the laptop among them", || async {
        laptop.handle.status().await.unwrap().voters == left
    })
    .await;
    assert!(
        laptop.connections().admitted(Lane::Peer) > 0,
        "the voters dial the laptop now"
    );
    // The leader stops: the laptop and the other voter carry on.
    on_leader.handle.shutdown();
    let survivor = voters
        .iter()
        .find(|v| v.id != leader && v.id != retired)
        .unwrap();
    eventually("a new leader among the laptop and the survivor", || async {
        let status = survivor.handle.status().await.unwrap();
        status.leader.is_some_and(|l| l != leader)
    })
    .await;
    commit_through(&laptop.handle, &game.traders[1], genesis, 853).await;
    commit_through(&survivor.handle, &game.traders[0], genesis, 854).await;
}
