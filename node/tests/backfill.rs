//! A voter that was stopped while the others compacted their log past it comes back,
//! installs its leader's snapshot, backfills every block before it from its peers, and
//! then holds the whole chain: it serves every block and receipt, and the audit of its
//! data directory (`qraft verify`) passes. Real QUIC on loopback.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::Role;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody, TxHash};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use qraft_node::net::node::{NetNode, NetNodeOptions};
use qraft_node::net::proto::{Request, Response};
use qraft_node::testkit::quic::{loopback_game, start_voters};

mod common;

use common::{WAIT, eventually, signed};

/// Buys a share at `price` (never crossing: the book only grows) and returns the
/// transaction's hash once it is applied and accepted.
async fn order(trader: &Client, key: &Keypair, genesis: &Genesis, price: u64) -> TxHash {
    let body = TxBody::Order(NewOrder {
        symbol: genesis.symbols[0].ticker,
        side: Side::Buy,
        quantity: 1,
        kind: OrderKind::Limit { price },
    });
    let committed = trader.submit(signed(key, genesis, body)).await.unwrap();
    assert!(committed.receipt.is_accepted(), "{committed:?}");
    committed.receipt.tx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_installed_a_snapshot_backfills_every_block_and_passes_the_audit() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let game = loopback_game(&SampleOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Snapshots every 5 blocks, and a log of 2 entries behind them: a node stopped for a
    // few blocks can only catch up by snapshot.
    let tuning = Tuning {
        snapshot_every_blocks: Some(5),
        log_retention_entries: Some(2),
        ..Tuning::default()
    };
    let mut voters: Vec<Option<NetNode>> = start_voters(&game, dir.path(), tuning.clone())
        .await
        .unwrap()
        .into_iter()
        .map(Some)
        .collect();
    let genesis = &game.genesis;
    let addresses = Client::node_addresses(genesis);
    let watcher = Client::connect(genesis, game.admin.clone(), &addresses)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let leader = loop {
        if let Some(leader) = watcher.leader().await.unwrap() {
            break Some(leader);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: a leader"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let leader = leader.unwrap();
    let leader_at = (leader - 1) as usize;
    // Trade through the leader, so stopping a follower never cuts the trader off.
    let trader = Client::connect(
        genesis,
        game.traders[0].clone(),
        &[genesis.voters[leader_at].address.clone()],
    )
    .await
    .unwrap();
    let mut hashes: Vec<TxHash> = Vec::new();
    for price in 900..908 {
        hashes.push(order(&trader, &game.traders[0], genesis, price).await);
    }

    // Stop a follower; the others go on, snapshot and compact their log past it.
    let victim_at = (0..voters.len()).find(|&i| i != leader_at).unwrap();
    let victim_spec = genesis.voters[victim_at].clone();
    let victim = voters[victim_at].take().unwrap();
    eventually("the follower has every block so far", || async {
        victim.handle.status().await.unwrap().applied_index
            >= voters[leader_at]
                .as_ref()
                .unwrap()
                .handle
                .status()
                .await
                .unwrap()
                .applied_index
    })
    .await;
    let stopped_at = victim.handle.status().await.unwrap();
    victim.shutdown().await;
    for price in 908..940 {
        hashes.push(order(&trader, &game.traders[0], genesis, price).await);
    }
    let leader_node = voters[leader_at].as_ref().unwrap();
    let first_index = leader_node.handle.log_bounds().await.unwrap().first_index;
    assert!(
        first_index > stopped_at.last_index + 1,
        "the leader's log (from {first_index}) still holds what the stopped node lacks \
         (from {})",
        stopped_at.last_index + 1
    );

    // Restart it: it installs the leader's snapshot, then backfills.
    let restarted = NetNode::start(NetNodeOptions {
        genesis: genesis.clone(),
        keypair: game.nodes[victim_at].clone(),
        data_dir: dir.path().join(&victim_spec.name),
        listen: victim_spec.address.parse().unwrap(),
        peers: Default::default(),
        tuning: Tuning {
            tick_ms: Some(20),
            ..tuning.clone()
        },
        submit_timeout: Duration::from_secs(10),
        id: None,
        dial_out: false,
    })
    .await
    .unwrap();
    let head = leader_node.handle.status().await.unwrap();
    eventually(
        "the restarted node catches up and holds every block",
        || async {
            let status = restarted.handle.status().await.unwrap();
            status.role == Role::Follower
                && status.height >= head.height
                && status.missing_blocks == 0
        },
    )
    .await;
    let installed = restarted
        .handle
        .log_bounds()
        .await
        .unwrap()
        .snapshot_index
        .unwrap();
    assert!(
        installed >= first_index,
        "its snapshot (index {installed}) is the leader's, past the stopped node's log"
    );

    // Every block, the same as the leader's; every receipt, in process and over the
    // network.
    for height in 1..=head.height {
        let ours = restarted.handle.block(height).await.unwrap();
        let theirs = leader_node.handle.block(height).await.unwrap().unwrap();
        assert_eq!(
            ours.map(|b| b.hash()),
            Some(theirs.hash()),
            "block {height}"
        );
    }
    let asker = Client::connect(
        genesis,
        game.traders[1].clone(),
        std::slice::from_ref(&victim_spec.address),
    )
    .await
    .unwrap();
    for hash in &hashes {
        let theirs = leader_node.handle.receipt(*hash).await.unwrap().unwrap();
        let ours = restarted.handle.receipt(*hash).await.unwrap();
        assert_eq!(ours.as_ref(), Some(&theirs), "receipt of {hash}");
        match asker
            .request(&Request::Receipt { hash: *hash })
            .await
            .unwrap()
        {
            Response::Receipt(Some(view)) => assert_eq!(view.receipt, theirs.receipt),
            other => panic!("the receipt of {hash} over the network: {other:?}"),
        }
    }

    asker.close().await;
    trader.close().await;
    watcher.close().await;
    restarted.shutdown().await;
    for voter in voters.into_iter().flatten() {
        voter.shutdown().await;
    }
    let report = qraft_node::audit::audit(&dir.path().join(&victim_spec.name), |_, _| {})
        .unwrap_or_else(|err| panic!("the audit of the backfilled node failed: {err}"));
    assert!(report.blocks >= head.height, "{report:?}");
    assert!(report.snapshot_height.is_some(), "{report:?}");
}
