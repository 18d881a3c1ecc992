//! A voter killed (kill -9) and restarted at once does not stop the game: real
//! `qraft run --headless` processes on loopback, with the product's own timing.
//!
//! Before stateless resets survived a restart and a peer's new connection replaced the
//! old link, the survivors kept sending the restarted node's votes and appends into dead
//! QUIC connections until their idle timeout, and the game had no leader for half a
//! minute. The bounds here are generous (not a benchmark: `qraft chaos` measures), but
//! below what waiting for an idle timeout takes.

mod common;

use std::time::{Duration, Instant};

use common::processes::{GameDir, NodeProcess};
use qraft_client::signer::Signer;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use qraft_node::net::proto::{Request, Response};
use qraft_node::net::tls::PEER_IDLE_TIMEOUT;

/// The longest the test waits for anything (a start, a connection).
const WAIT: Duration = Duration::from_secs(30);

fn order(game: &GameDir, i: usize) -> TxBody {
    let symbol = &game.game.genesis.symbols[i % game.game.genesis.symbols.len()];
    TxBody::Order(NewOrder {
        symbol: symbol.ticker,
        side: if i.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        quantity: 1,
        kind: OrderKind::Limit {
            price: symbol.reference_price,
        },
    })
}

async fn connect(game: &GameDir, addresses: &[String]) -> Client {
    let deadline = Instant::now() + WAIT;
    loop {
        match Client::connect(&game.game.genesis, game.game.traders[0].clone(), addresses).await {
            Ok(client) => return client,
            Err(err) => {
                assert!(Instant::now() < deadline, "cannot connect: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Submits orders through `client` until one commits; its height, and when.
async fn next_commit(game: &GameDir, client: &Client, within: Duration) -> (u64, Instant) {
    let deadline = Instant::now() + within;
    let signer = Signer::new(game.game.traders[0].clone(), game.game.genesis.chain_id());
    let mut i = 0;
    loop {
        i += 1;
        let tx = signer.sign(order(game, i));
        let attempt = tokio::time::timeout(Duration::from_secs(1), client.submit(tx)).await;
        if let Ok(Ok(committed)) = attempt {
            return (committed.height, Instant::now());
        }
        assert!(
            Instant::now() < deadline,
            "no block committed within {within:?}"
        );
    }
}

/// Waits until node `id` has applied `height`; when it did.
async fn caught_up(game: &GameDir, id: u64, height: u64) -> Instant {
    let client = connect(game, &[game.address(id)]).await;
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Response::Status(status)) = client.request(&Request::Status).await
            && status.height >= height
        {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "node {id} did not reach {height}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_and_restarted_at_once_is_replaced_well_before_the_idle_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let game = GameDir::create(tmp.path(), &Default::default(), 0, "").unwrap();
    let mut nodes: Vec<NodeProcess> = game
        .node_ids()
        .into_iter()
        .map(|id| NodeProcess::start(&game, id))
        .collect();
    let voters: Vec<String> = game.node_ids().iter().map(|&id| game.address(id)).collect();
    let mut client = connect(&game, &voters).await;
    next_commit(&game, &client, WAIT).await;

    for round in 0..2 {
        let Ok(Response::Status(status)) = client.request(&Request::Status).await else {
            panic!("no status");
        };
        let leader = status.leader.expect("a leader after a commit");
        let survivors: Vec<String> = game
            .node_ids()
            .into_iter()
            .filter(|&id| id != leader)
            .map(|id| game.address(id))
            .collect();
        let survivor = connect(&game, &survivors).await;

        let index = usize::try_from(leader - 1).unwrap();
        nodes[index].kill();
        let killed = Instant::now();
        nodes[index] = NodeProcess::start(&game, leader);

        let (height, committed) = next_commit(&game, &survivor, WAIT).await;
        let restarted_has_it = caught_up(&game, leader, height).await;
        let failover = committed - killed;
        let rejoined = restarted_has_it - killed;
        eprintln!(
            "round {round}: node {leader} killed and restarted; next block {height} after {failover:?}, on the restarted node after {rejoined:?}"
        );
        // Waiting for stale links to time out takes the idle timeout and more.
        let bound = PEER_IDLE_TIMEOUT;
        assert!(
            failover < bound,
            "round {round}: the next block took {failover:?}:\n{}",
            nodes[index].log_text()
        );
        assert!(
            rejoined < bound,
            "round {round}: the restarted node had the block after {rejoined:?}:\n{}",
            nodes[index].log_text()
        );
        survivor.close().await;
        client.close().await;
        client = connect(&game, &voters).await;
    }
    client.close().await;
}
