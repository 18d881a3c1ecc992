//! Bots across a node failure, against an in-process three-voter game over real QUIC:
//! every order in flight when the bot's node fails is settled (its receipt, or a definite
//! "not applied"), the chain agrees with what the bot was told, and the bot trades on
//! through another node.
//!
//! Two failures: the leader the bot is connected to stops (its connections close), and
//! the bot's node goes silent (a UDP relay between them drops everything from one moment
//! on, as a killed laptop or a dead Wi-Fi link would: no close, no reset, nothing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_client::bot::{Bot, BotError, Event, PendingOrder, Side, Topics};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::tx::TxHash;
use qraft_node::core::types::{Ticker, Ticks};
use qraft_node::net::client::Client;
use qraft_node::net::node::NetNode;
use qraft_node::net::proto::{CommittedView, Request, Response};
use qraft_node::testkit::quic::{loopback_game, start_voters};
use tokio::net::UdpSocket;

const WAIT: Duration = Duration::from_secs(20);
/// A bound on settling everything in flight: a failover, a reconnection and a block,
/// with room for a slow CI machine.
const SETTLE_BOUND: Duration = Duration::from_secs(60);

fn game() -> SampleGame {
    loopback_game(&SampleOptions::default()).unwrap()
}

async fn bot_on(game: &SampleGame, trader: usize, node: &str) -> Bot {
    let nodes = Some(vec![node.to_string()]);
    Bot::with_keypair(game.genesis.clone(), game.traders[trader].clone(), nodes)
        .await
        .unwrap()
}

/// The index (in the genesis and in `nodes`) of the leader.
async fn leader_index(game: &SampleGame, nodes: &[NetNode]) -> usize {
    let watcher = Bot::with_keypair(game.genesis.clone(), game.traders[3].clone(), None)
        .await
        .unwrap();
    assert!(watcher.wait_for_leader(WAIT).await.unwrap(), "no leader");
    let leader = watcher.client().leader().await.unwrap().expect("a leader");
    watcher.close().await;
    nodes.iter().position(|n| n.id == leader).unwrap()
}

/// Buy orders for one share each, a few ticks under the reference price: they rest in
/// the book, so every one is accepted once applied.
async fn place(bot: &mut Bot, symbol: Ticker, count: u64, reference: Ticks) -> Vec<PendingOrder> {
    let mut pending = Vec::new();
    for i in 0..count {
        let price = reference - 1 - (i % 5);
        pending.push(bot.place_limit(symbol, Side::Buy, 1, price).await.unwrap());
    }
    pending
}

/// What became of each order in flight: applied (its receipt) or not applied (its hash).
/// Anything else (above all `Unanswered`) fails the test.
async fn settle_all(pending: Vec<PendingOrder>) -> (Vec<CommittedView>, Vec<TxHash>) {
    let waits = pending
        .into_iter()
        .map(|p| tokio::spawn(p.wait_committed()));
    let joined = tokio::time::timeout(SETTLE_BOUND, futures_join(waits.collect()))
        .await
        .expect("every order in flight settles within the bound");
    let (mut applied, mut not_applied) = (Vec::new(), Vec::new());
    for result in joined {
        match result {
            Ok(committed) => applied.push(committed),
            Err(BotError::NotApplied(hash)) => not_applied.push(hash),
            Err(other) => panic!("an order in flight did not settle: {other}"),
        }
    }
    (applied, not_applied)
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// Checks on a node that is up that the chain holds exactly what the bot was told: each
/// applied order's receipt, in the block it was told, and no receipt for an order it was
/// told was not applied.
async fn check_chain(game: &SampleGame, node: &str, applied: &[CommittedView], not: &[TxHash]) {
    let client = Client::connect(&game.genesis, game.traders[2].clone(), &[node.to_string()])
        .await
        .unwrap();
    for committed in applied {
        let hash = committed.receipt.tx;
        let found = match client.request(&Request::Receipt { hash }).await.unwrap() {
            Response::Receipt(found) => found.expect("an applied order has its receipt"),
            other => panic!("unexpected answer {other:?}"),
        };
        assert_eq!(found.height, committed.height, "{hash}: another block");
        assert_eq!(found.receipt, committed.receipt, "{hash}: another receipt");
    }
    for &hash in not {
        match client.request(&Request::Receipt { hash }).await.unwrap() {
            Response::Receipt(None) => {}
            other => panic!("{hash} was said not to be applied, but: {other:?}"),
        }
    }
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_in_flight_when_the_leader_stops_settle_and_the_bot_trades_on() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = start_voters(&game, dir.path(), Tuning::default())
        .await
        .unwrap();
    let leader = leader_index(&game, &nodes).await;
    let leader_address = game.genesis.voters[leader].address.clone();
    let mut bot = bot_on(&game, 0, &leader_address).await;
    let symbol = game.genesis.symbols[0].ticker;
    let reference = bot.symbol(symbol).await.unwrap().reference_price;
    let blocks = Topics {
        blocks: true,
        ..Topics::default()
    };
    let mut events = bot.events(blocks).await.unwrap();

    let pending = place(&mut bot, symbol, 40, reference).await;
    nodes.remove(leader).shutdown().await;
    let (applied, not_applied) = settle_all(pending).await;
    eprintln!(
        "{} applied, {} not applied",
        applied.len(),
        not_applied.len()
    );
    assert_eq!(applied.len() + not_applied.len(), 40);

    // The bot trades on, through another node.
    let result = tokio::time::timeout(WAIT, bot.buy_limit(symbol, 1, reference - 1))
        .await
        .expect("the bot trades on")
        .unwrap();
    assert_eq!(result.resting, 1, "a resting order: {result:?}");
    assert_ne!(bot.client().address(), leader_address);
    // Its event stream goes on from there, after a gap it is told of.
    tokio::time::timeout(WAIT, async {
        loop {
            match events.next().await.unwrap() {
                Some(Event::Lagged { missed: 0 }) => return,
                Some(_) => {}
                None => panic!("the event stream ended"),
            }
        }
    })
    .await
    .expect("the event stream tells of the failover");
    let placed = bot.buy_limit(symbol, 1, reference - 2).await.unwrap();
    let seen = tokio::time::timeout(WAIT, async {
        loop {
            match events.next().await.unwrap() {
                Some(Event::Block(block)) => return block,
                Some(_) => {}
                None => panic!("the event stream ended"),
            }
        }
    })
    .await
    .expect("events go on after the failover");
    assert!(seen.header.height > 0, "{placed:?}");

    let survivor = game.genesis.voters[(leader + 1) % 3].address.clone();
    check_chain(&game, &survivor, &applied, &not_applied).await;
    bot.close().await;
    for node in nodes {
        node.shutdown().await;
    }
}

/// A UDP relay between one client and one node, which drops every datagram both ways
/// once it goes dark: what a client sees of a node killed outright or cut off.
struct Relay {
    address: SocketAddr,
    dark: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(node: SocketAddr) -> Relay {
        let front = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let back = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        back.connect(node).await.unwrap();
        let address = front.local_addr().unwrap();
        let dark = Arc::new(AtomicBool::new(false));
        let is_dark = dark.clone();
        let task = tokio::spawn(async move {
            let mut client: Option<SocketAddr> = None;
            let (mut up, mut down) = (vec![0u8; 65_536], vec![0u8; 65_536]);
            loop {
                tokio::select! {
                    received = front.recv_from(&mut up) => {
                        let Ok((len, from)) = received else { return };
                        client = Some(from);
                        if !is_dark.load(Ordering::SeqCst) {
                            let _ = back.send(&up[..len]).await;
                        }
                    }
                    received = back.recv(&mut down) => {
                        let Ok(len) = received else { continue };
                        if let Some(client) = client.filter(|_| !is_dark.load(Ordering::SeqCst)) {
                            let _ = front.send_to(&down[..len], client).await;
                        }
                    }
                }
            }
        });
        Relay {
            address,
            dark,
            task,
        }
    }

    fn go_dark(&self) {
        self.dark.store(true, Ordering::SeqCst);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_node_is_left_and_its_orders_in_flight_settle() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_voters(&game, dir.path(), Tuning::default())
        .await
        .unwrap();
    let leader = leader_index(&game, &nodes).await;
    let follower = (leader + 1) % 3;
    let relay = Relay::start(game.genesis.voters[follower].address.parse().unwrap()).await;
    let mut bot = bot_on(&game, 0, &relay.address.to_string()).await;
    let symbol = game.genesis.symbols[0].ticker;
    let reference = bot.symbol(symbol).await.unwrap().reference_price;
    // The pipeline is open and works through the relay.
    bot.buy_limit(symbol, 1, reference - 1).await.unwrap();

    // Some orders reach the node before its answers stop coming, and some never do: all
    // of them are in doubt once the relay goes dark.
    let mut pending = place(&mut bot, symbol, 20, reference).await;
    relay.go_dark();
    pending.extend(place(&mut bot, symbol, 20, reference).await);
    let (applied, not_applied) = settle_all(pending).await;
    eprintln!(
        "{} applied, {} not applied",
        applied.len(),
        not_applied.len()
    );
    assert_eq!(applied.len() + not_applied.len(), 40);
    // Those that never left the bot were sent again on the new connection, in order,
    // and applied there.
    assert!(
        applied.len() >= 20,
        "{} applied of 40: those black-holed were not sent again",
        applied.len()
    );
    assert_ne!(bot.client().address(), relay.address.to_string());

    let result = tokio::time::timeout(WAIT, bot.buy_limit(symbol, 1, reference - 1))
        .await
        .expect("the bot trades on")
        .unwrap();
    assert_eq!(result.resting, 1, "a resting order: {result:?}");
    let any = game.genesis.voters[leader].address.clone();
    check_chain(&game, &any, &applied, &not_applied).await;
    bot.close().await;
    for node in nodes {
        node.shutdown().await;
    }
}
