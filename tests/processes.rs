//! Real `qraft run --headless` processes on loopback: three voters and two learners.
//! Orders commit on every node; kill -9 of the leader under load loses nothing
//! acknowledged; the old leader restarts and catches up; every node stops cleanly on
//! SIGTERM; `qraft verify` passes on every node's data and fails on a tampered copy.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::processes::{GameDir, NodeProcess};
use qraft_client::signer::Signer;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody, TxHash};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use qraft_node::net::proto::{CommittedView, Request, Response};

const WAIT: Duration = Duration::from_secs(30);

/// A client of trader `t` connected to the nodes at `addresses`, in order, retrying while
/// they start.
async fn client(game: &GameDir, t: usize, addresses: &[String]) -> Client {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match Client::connect(&game.game.genesis, game.game.traders[t].clone(), addresses).await {
            Ok(client) => return client,
            Err(err) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "cannot connect: {err}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn status_of(client: &Client) -> Option<qraft_node::api::Status> {
    match client.request(&Request::Status).await {
        Ok(Response::Status(status)) => Some(status),
        _ => None,
    }
}

fn order(game: &GameDir, i: usize) -> TxBody {
    let symbol = &game.game.genesis.symbols[i % game.game.genesis.symbols.len()];
    TxBody::Order(NewOrder {
        symbol: symbol.ticker,
        side: if i.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        quantity: 1 + (i % 3) as u64,
        kind: OrderKind::Limit {
            price: symbol.reference_price + (i % 5) as u64 - 2,
        },
    })
}

/// Submits `count` orders from each of traders `traders`, through clients connected to
/// `addresses`; returns what was acknowledged.
async fn load(
    game: &GameDir,
    traders: std::ops::Range<usize>,
    count: usize,
    addresses: &[String],
) -> BTreeMap<TxHash, CommittedView> {
    let mut acked = BTreeMap::new();
    for t in traders {
        let c = client(game, t, addresses).await;
        let signer = Signer::new(game.game.traders[t].clone(), game.game.genesis.chain_id());
        signer.saw(c.last_nonce().await.unwrap());
        for i in 0..count {
            let tx = signer.sign(order(game, t * 31 + i));
            let hash = tx.hash();
            if let Ok(committed) = c.submit(tx).await {
                acked.insert(hash, committed);
            }
        }
        c.close().await;
    }
    acked
}

/// Waits until node `id` has applied at least `height`.
async fn wait_for_height(game: &GameDir, id: u64, height: u64) {
    let c = client(game, 0, &[game.address(id)]).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = status_of(&c).await
            && status.height >= height
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node {id} did not reach height {height}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every acknowledged receipt is on node `id`, at the same height.
async fn assert_has_all(game: &GameDir, id: u64, acked: &BTreeMap<TxHash, CommittedView>) {
    let c = client(game, 0, &[game.address(id)]).await;
    for (hash, committed) in acked {
        match c.request(&Request::Receipt { hash: *hash }).await.unwrap() {
            Response::Receipt(Some(r)) => {
                assert_eq!(r.height, committed.height, "node {id}");
                assert_eq!(r.receipt, committed.receipt, "node {id}");
            }
            other => panic!("node {id} lacks acknowledged {}: {other:?}", hash.to_hex()),
        }
    }
    let top = acked.values().map(|c| c.height).max().unwrap_or(0);
    if let Response::Block(Some(block)) = c.request(&Request::Block { height: top }).await.unwrap()
    {
        let expected = acked.values().find(|c| c.height == top).unwrap().block_hash;
        assert_eq!(
            block.hash(),
            expected,
            "node {id} has another block at {top}"
        );
    } else {
        panic!("node {id} lacks block {top}");
    }
}

fn verify(data_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qraft"))
        .arg("verify")
        .arg(data_dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_voters_two_learners_survive_a_leader_kill_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let options = qraft_node::core::genesis::sample::SampleOptions {
        traders: 8,
        ..Default::default()
    };
    let game = GameDir::create(tmp.path(), &options, 2, "tick_ms = 50").unwrap();
    let mut nodes: BTreeMap<u64, NodeProcess> = game
        .node_ids()
        .into_iter()
        .map(|id| (id, NodeProcess::start(&game, id)))
        .collect();
    let voters: Vec<String> = (1..=3).map(|id| game.address(id)).collect();

    // Orders through the voters commit on every node, learners included.
    let mut acked = load(&game, 0..2, 10, &voters).await;
    assert_eq!(
        acked.len(),
        20,
        "every order before the kill is acknowledged"
    );
    let top = acked.values().map(|c| c.height).max().unwrap();
    for id in game.node_ids() {
        wait_for_height(&game, id, top).await;
        assert_has_all(&game, id, &acked).await;
    }

    // kill -9 the leader, keep trading through the others.
    let probe = client(&game, 0, &voters).await;
    let leader = status_of(&probe).await.unwrap().leader.expect("a leader");
    probe.close().await;
    nodes.get_mut(&leader).unwrap().kill();
    let survivors: Vec<String> = (1..=3)
        .filter(|&id| id != leader)
        .map(|id| game.address(id))
        .collect();
    let more = load(&game, 2..4, 10, &survivors).await;
    assert!(
        more.len() >= 15,
        "only {} of 20 acknowledged after the kill",
        more.len()
    );
    acked.extend(more);

    // The old leader restarts from its data directory and catches up.
    nodes.insert(leader, NodeProcess::start(&game, leader));
    let top = acked.values().map(|c| c.height).max().unwrap();
    for id in game.node_ids() {
        wait_for_height(&game, id, top).await;
        assert_has_all(&game, id, &acked).await;
    }

    // Every node stops cleanly on SIGTERM.
    for (id, node) in &mut nodes {
        assert!(
            node.terminate(Duration::from_secs(10)),
            "node {id} did not exit cleanly:\n{}",
            node.log_text()
        );
    }

    // The audit passes on every node's data, and fails on a tampered copy.
    for id in game.node_ids() {
        let output = verify(&game.data_dir(id));
        assert!(
            output.status.success(),
            "verify node {id}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let copy_dir = tmp.path().join("tampered");
    copy_tree(&game.data_dir(1), &copy_dir);
    tamper_block(&copy_dir, 2);
    let output = verify(&copy_dir);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("block 2"), "{stderr}");
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Changes one order's quantity inside stored block `height`.
fn tamper_block(dir: &std::path::Path, height: u64) {
    use qraft_node::core::block::Block;
    use qraft_node::io::store::{Store, WriteSet};
    let mut store = Store::open(dir, Default::default()).unwrap();
    let bytes = store.block(height).unwrap().expect("the block is stored");
    let mut block: Block = postcard::from_bytes(&bytes).unwrap();
    if let TxBody::Order(order) = &mut block.txs[0].tx.body {
        order.quantity += 1;
    } else {
        block.txs[0].tx.nonce += 1;
    }
    store
        .commit(WriteSet {
            blocks: vec![(height, postcard::to_stdvec(&block).unwrap())],
            durable: true,
            ..Default::default()
        })
        .unwrap();
}
