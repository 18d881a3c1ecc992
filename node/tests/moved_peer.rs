//! Nothing in the peer layer depends on a peer's address staying what the genesis says:
//! a node that knows only wrong addresses for its peers reaches them where their own
//! connections come from. In-process nodes over real QUIC on loopback.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use qraft_node::net::node::{NetNode, NetNodeOptions};
use qraft_node::testkit::disk::free_port;
use qraft_node::testkit::quic::loopback_game;
use rustc_hash::FxHashMap;

const WAIT: Duration = Duration::from_secs(30);
mod common;

use common::signed;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_stale_addresses_reaches_its_peers_where_they_are() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let game = loopback_game(&SampleOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let tuning = Tuning {
            tick_ms: Some(20),
            ..Tuning::default()
        };
        // Node 1 believes nodes 2 and 3 are at ports where nothing listens (they moved,
        // say); nodes 2 and 3 know where node 1 is.
        let mut nodes: Vec<Option<NetNode>> = Vec::new();
        for (i, (spec, key)) in game.genesis.voters.iter().zip(&game.nodes).enumerate() {
            let peers: FxHashMap<u64, String> = if i == 0 {
                game.genesis.voters[1..]
                    .iter()
                    .map(|other| (other.id, format!("127.0.0.1:{}", free_port().unwrap())))
                    .collect()
            } else {
                FxHashMap::default()
            };
            let node = NetNode::start(NetNodeOptions {
                genesis: game.genesis.clone(),
                keypair: key.clone(),
                data_dir: dir.path().join(&spec.name),
                listen: spec.address.parse().unwrap(),
                peers,
                tuning: tuning.clone(),
                submit_timeout: Duration::from_secs(10),
                id: None,
                dial_out: false,
            })
            .await
            .unwrap();
            nodes.push(Some(node));
        }
        let order = |price| {
            TxBody::Order(NewOrder {
                symbol: game.genesis.symbols[0].ticker,
                side: Side::Buy,
                quantity: 1,
                kind: OrderKind::Limit { price },
            })
        };
        let node3 = vec![game.genesis.voters[2].address.clone()];
        let client = Client::connect(&game.genesis, game.traders[0].clone(), &node3)
            .await
            .unwrap();
        submit_until_committed(&client, &game.traders[0], &game.genesis, || order(900)).await;

        // Without node 2, nothing commits unless node 1 and node 3 reach each other both
        // ways: node 1 must be dialling node 3 where node 3's connections come from.
        let node2 = nodes[1].take().unwrap();
        node2.shutdown().await;
        submit_until_committed(&client, &game.traders[0], &game.genesis, || order(901)).await;
        client.close().await;
        for node in nodes.into_iter().flatten() {
            node.shutdown().await;
        }
    })
    .await
    .expect("the test timed out");
}

async fn submit_until_committed(
    client: &Client,
    key: &Keypair,
    genesis: &Genesis,
    body: impl Fn() -> TxBody,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout(
            Duration::from_secs(2),
            client.submit(signed(key, genesis, body())),
        )
        .await
        {
            Ok(Ok(committed)) => {
                assert!(committed.receipt.is_accepted(), "{committed:?}");
                return;
            }
            other => assert!(
                tokio::time::Instant::now() < deadline,
                "nothing committed: {other:?}"
            ),
        }
    }
}
