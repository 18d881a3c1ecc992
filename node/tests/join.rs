//! A node the genesis does not name joins a running game: the admin registers it with an
//! `AddNode` transaction, every node admits its key and learns its address, the leader
//! adds it as a learner, and it catches up and follows the chain. Real QUIC on loopback.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::{MembershipChange, Role};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::NodeSpec;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::node::{NetNode, NetNodeOptions};
use qraft_node::net::proto::{ProtocolError, Request};
use qraft_node::testkit::disk::free_port;
use qraft_node::testkit::quic::{loopback_game, start_voters};

mod common;

use common::{eventually, signed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_registered_by_the_admin_joins_as_a_learner_and_follows_the_chain() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let game = loopback_game(&SampleOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tuning = Tuning {
        snapshot_every_blocks: Some(5),
        ..Tuning::default()
    };
    let voters = start_voters(&game, dir.path(), tuning.clone())
        .await
        .unwrap();
    let genesis = &game.genesis;
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
    let order = |price| {
        TxBody::Order(NewOrder {
            symbol: genesis.symbols[0].ticker,
            side: Side::Buy,
            quantity: 1,
            kind: OrderKind::Limit { price },
        })
    };
    for price in 900..910 {
        assert!(
            trader
                .submit(signed(&game.traders[0], genesis, order(price)))
                .await
                .unwrap()
                .receipt
                .is_accepted()
        );
    }

    // An unregistered node cannot be made a member.
    match admin
        .request(&Request::Membership(MembershipChange::AddLearner(4)))
        .await
    {
        Err(ClientError::Refused(ProtocolError::Invalid(message))) => {
            assert!(message.contains("no node 4 is registered"), "{message}")
        }
        // A follower answers that it is not the leader before looking: also a refusal.
        Err(ClientError::Refused(ProtocolError::NotLeader { .. })) => {}
        other => panic!("an unregistered node was accepted: {other:?}"),
    }

    // Register node 4, then start it: it knows only its id, key and the genesis.
    let key = Keypair::from_label("join-test/node-4");
    let port = free_port().unwrap();
    let spec = NodeSpec {
        id: 4,
        name: "lab-4".into(),
        key: key.public(),
        address: format!("127.0.0.1:{port}"),
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
    let joiner = NetNode::start(NetNodeOptions {
        genesis: genesis.clone(),
        keypair: key,
        data_dir: dir.path().join("lab-4"),
        listen: spec.address.parse().unwrap(),
        peers: Default::default(),
        tuning: Tuning {
            tick_ms: Some(20),
            ..tuning
        },
        submit_timeout: Duration::from_secs(10),
        id: Some(4),
        dial_out: false,
    })
    .await
    .unwrap();

    eventually("every voter lists node 4 as a learner", || async {
        let mut all = true;
        for voter in &voters {
            all &= voter.handle.status().await.unwrap().learners == vec![4];
        }
        all
    })
    .await;
    let head = voters[0].handle.status().await.unwrap().height;
    eventually("node 4 catches up", || async {
        let status = joiner.handle.status().await.unwrap();
        status.role == Role::Learner && status.height >= head
    })
    .await;

    // It follows new blocks, with the same chain as the voters.
    for price in 910..915 {
        assert!(
            trader
                .submit(signed(&game.traders[0], genesis, order(price)))
                .await
                .unwrap()
                .receipt
                .is_accepted()
        );
    }
    let head = voters[0].handle.status().await.unwrap();
    eventually("node 4 follows new blocks", || async {
        joiner.handle.status().await.unwrap().height >= head.height
    })
    .await;
    let theirs = voters[0].handle.block(head.height).await.unwrap().unwrap();
    let ours = joiner.handle.block(head.height).await.unwrap().unwrap();
    assert_eq!(ours.hash(), theirs.hash());
    assert_eq!(
        joiner.handle.node(4).await.unwrap(),
        Some(spec),
        "the new node knows its own registration"
    );
    admin.close().await;
    trader.close().await;
    joiner.shutdown().await;
    for voter in voters {
        voter.shutdown().await;
    }
}
