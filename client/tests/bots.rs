//! Bots against an in-process three-node cluster over real QUIC: many orders in flight
//! at once, retries after refusals and nonce trouble, and the example bots' strategies
//! (the random trader crosses the market maker's quotes, a momentum trader follows the
//! trades, and no order is refused for a bad nonce).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_client::bot::strategies::{market_maker, momentum, random};
use qraft_client::bot::{Bot, BotError, Event, Pending, PendingOrder, Side, Topics};
use qraft_node::config::Tuning;
use qraft_node::core::exchange::receipt::{Effect, OrderResult, Outcome};
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::tx::{NewOrder, OrderKind, Tx, TxBody};
use qraft_node::core::types::{OrderId, Ticker, Ticks};
use qraft_node::net::client::Client;
use qraft_node::net::node::NetNode;
use qraft_node::net::proto::CommittedView;
use qraft_node::testkit::quic::{loopback_game, start_voters};

const WAIT: Duration = Duration::from_secs(20);
/// Orders the random trader places; the maker requotes until it is done.
const RANDOM_ORDERS: u64 = 30;
/// A bound on the maker's orders, in case the random trader stalls.
const MAKER_ORDERS: u64 = 80;

fn game() -> SampleGame {
    loopback_game(&SampleOptions::default()).unwrap()
}

async fn start(game: &SampleGame, dir: &std::path::Path) -> Vec<NetNode> {
    start_voters(game, dir, Tuning::default()).await.unwrap()
}

async fn shutdown(nodes: Vec<NetNode>) {
    for node in nodes {
        node.shutdown().await;
    }
}

async fn bot(game: &SampleGame, trader: usize) -> Bot {
    Bot::with_keypair(game.genesis.clone(), game.traders[trader].clone(), None)
        .await
        .unwrap()
}

fn report(who: &str, errors: &[BotError]) {
    for err in errors {
        eprintln!("{who}: {err}");
    }
    assert!(
        !errors.iter().any(BotError::is_nonce_error),
        "{who} had an order refused for its nonce"
    );
}

struct MakerRun {
    bot: Bot,
    orders: Vec<OrderId>,
    placed: u64,
    errors: Vec<BotError>,
}

async fn run_maker(mut bot: Bot, symbol: Ticker, done: Arc<AtomicBool>) -> MakerRun {
    let config = market_maker::Config::new(symbol);
    let mut state = market_maker::State::default();
    let mut orders = Vec::new();
    let mut errors = Vec::new();
    while !done.load(Ordering::SeqCst) && state.orders_placed < MAKER_ORDERS {
        match market_maker::step(&mut bot, &config, &mut state).await {
            Ok(step) => orders.extend(step.placed.iter().map(|r| r.order)),
            Err(err) => errors.push(err),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    MakerRun {
        bot,
        orders,
        placed: state.orders_placed,
        errors,
    }
}

struct RandomRun {
    bot: Bot,
    /// The resting orders its fills traded against.
    counterparties: Vec<OrderId>,
    placed: u64,
    errors: Vec<BotError>,
}

async fn run_random(mut bot: Bot, symbol: Ticker, done: Arc<AtomicBool>) -> RandomRun {
    let config = random::Config::new(symbol);
    let mut state = random::State::new(42);
    let mut counterparties = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..RANDOM_ORDERS * 3 {
        if state.orders_placed >= RANDOM_ORDERS {
            break;
        }
        match random::step(&mut bot, &config, &mut state).await {
            Ok(step) => {
                let fills = step.placed.iter().flat_map(|r| &r.fills);
                counterparties.extend(fills.map(|f| f.resting_order));
            }
            Err(err) => errors.push(err),
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    done.store(true, Ordering::SeqCst);
    RandomRun {
        bot,
        counterparties,
        placed: state.orders_placed,
        errors,
    }
}

/// Follows trades and trades on crossovers until `done`; (orders placed, errors).
async fn run_momentum(
    mut bot: Bot,
    symbol: Ticker,
    done: Arc<AtomicBool>,
) -> (Bot, u64, Vec<BotError>) {
    let mut config = momentum::Config::new(symbol);
    (config.short, config.long) = (1, 3);
    // The sample game starts everyone with 1,000 shares.
    config.max_position = 1_100;
    let mut state = momentum::State::new(&config);
    let tick_size = bot.symbol(symbol).await.unwrap().tick_size;
    momentum::warm_up(&bot, &config, &mut state).await.unwrap();
    let mut events = bot
        .events(Topics {
            trades: true,
            ..Topics::default()
        })
        .await
        .unwrap();
    let mut errors = Vec::new();
    let mut trades = 0;
    while !done.load(Ordering::SeqCst) {
        let event = match tokio::time::timeout(Duration::from_millis(100), events.next()).await {
            Err(_) => continue,
            Ok(event) => event.unwrap(),
        };
        match event {
            Some(Event::Trade(trade)) if trade.symbol == symbol => {
                trades += 1;
                if let Err(err) =
                    momentum::step(&mut bot, &config, &mut state, trade.price, tick_size).await
                {
                    errors.push(err);
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    assert!(trades > 0, "the momentum trader saw no trades");
    (bot, state.orders_placed, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_random_trader_crosses_the_market_makers_quotes() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(&game, dir.path()).await;
    let symbol = game.genesis.symbols[0].ticker;
    let maker = bot(&game, 0).await;
    let trader = bot(&game, 1).await;
    let follower = bot(&game, 2).await;
    assert!(maker.wait_for_leader(WAIT).await.unwrap(), "no leader");
    let mut maker_fills = maker
        .events(Topics {
            fills: true,
            ..Topics::default()
        })
        .await
        .unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let maker_run = tokio::spawn(run_maker(maker, symbol, done.clone()));
    let random_run = tokio::spawn(run_random(trader, symbol, done.clone()));
    let momentum_run = tokio::spawn(run_momentum(follower, symbol, done.clone()));
    let (maker_run, random_run, momentum_run) =
        tokio::time::timeout(Duration::from_secs(120), async {
            (
                maker_run.await.unwrap(),
                random_run.await.unwrap(),
                momentum_run.await.unwrap(),
            )
        })
        .await
        .expect("the bots finish");
    let MakerRun {
        bot: mut maker,
        orders: maker_orders,
        placed: maker_placed,
        errors: maker_errors,
    } = maker_run;
    let RandomRun {
        bot: mut trader,
        counterparties,
        placed: random_placed,
        errors: random_errors,
    } = random_run;
    let (follower, momentum_placed, momentum_errors) = momentum_run;
    eprintln!(
        "maker placed {maker_placed}, random placed {random_placed} with {} fills, momentum placed {momentum_placed}",
        counterparties.len()
    );

    report("maker", &maker_errors);
    report("random", &random_errors);
    report("momentum", &momentum_errors);
    // Every failure the strategies do not absorb themselves is a bug here.
    assert!(maker_errors.is_empty() && random_errors.is_empty() && momentum_errors.is_empty());
    assert_eq!(random_placed, RANDOM_ORDERS);
    assert!(maker_placed >= 2, "the maker quoted");

    // The random trader took the maker's quotes, and the maker heard of its fills.
    let crossed = counterparties
        .iter()
        .filter(|id| maker_orders.contains(id))
        .count();
    assert!(
        crossed > 0,
        "no trade between the random trader and the maker"
    );
    let fill = tokio::time::timeout(WAIT, async {
        loop {
            match maker_fills.next().await.unwrap() {
                Some(Event::Fill(fill)) => return fill,
                Some(_) => {}
                None => panic!("the fills stream closed"),
            }
        }
    })
    .await
    .expect("a fill event for the maker");
    assert_eq!(fill.symbol, symbol);
    assert!(maker_orders.contains(&fill.order));

    // Trading moves cash and shares between the bots, and creates none.
    maker.cancel_all(symbol).await.unwrap();
    trader.cancel_all(symbol).await.unwrap();
    let accounts = [
        maker.account().await.unwrap(),
        trader.account().await.unwrap(),
        follower.account().await.unwrap(),
    ];
    let shares: i64 = accounts
        .iter()
        .map(|a| qraft_client::bot::market::position(a, symbol))
        .sum();
    let cash: i64 = accounts.iter().map(|a| a.cash).sum();
    assert_eq!(shares, 3 * 1_000);
    assert_eq!(cash, 3 * 100_000_000);
    assert!(
        accounts[0].cash != 100_000_000
            || qraft_client::bot::market::position(&accounts[0], symbol) != 1_000,
        "the maker traded"
    );
    for account in &accounts {
        assert!(account.open_orders.is_empty(), "{account:?}");
        assert_eq!(account.cash_reserved, 0);
    }

    maker.close().await;
    trader.close().await;
    follower.close().await;
    shutdown(nodes).await;
}

/// Orders the pipelining test puts in flight before awaiting any.
const IN_FLIGHT: usize = 200;

/// Order `i` of a run of one-share limit orders that never cross: bids below `reference`,
/// asks above it, alternating.
fn resting_order(i: usize, reference: Ticks) -> (Side, Ticks) {
    let step = 1 + (i % 10) as Ticks;
    if i.is_multiple_of(2) {
        (Side::Buy, reference - 10 * step)
    } else {
        (Side::Sell, reference + 10 * step)
    }
}

/// Sends `count` resting one-share orders without awaiting any: their handles.
async fn send_resting(bot: &mut Bot, symbol: Ticker, count: usize) -> Vec<PendingOrder> {
    let reference = bot.symbol(symbol).await.unwrap().reference_price;
    let mut pending = Vec::with_capacity(count);
    for i in 0..count {
        let (side, price) = resting_order(i, reference);
        pending.push(bot.place_limit(symbol, side, 1, price).await.unwrap());
    }
    pending
}

/// A pending order's receipt, with whether it had to be signed again (its applied
/// transaction is not the one first sent).
struct Landed {
    committed: CommittedView,
    resent: bool,
}

impl Landed {
    fn order(&self) -> &OrderResult {
        match &self.committed.receipt.outcome {
            Outcome::Accepted(Effect::Order(result)) => result,
            other => panic!("an order was not accepted: {other:?}"),
        }
    }

    fn position(&self) -> (u64, u32) {
        (self.committed.height, self.committed.index)
    }
}

/// Awaits every handle, in the order sent.
async fn land(pending: Vec<PendingOrder>) -> Vec<Landed> {
    let mut landed = Vec::with_capacity(pending.len());
    for order in pending {
        let first = order.hash();
        let committed = order.wait_committed().await.unwrap();
        let resent = committed.receipt.tx != first;
        landed.push(Landed { committed, resent });
    }
    landed
}

/// Every order rests whole, in a distinct order, and the account shows them all open.
async fn assert_all_rest(bot: &Bot, landed: &[Landed]) {
    let mut ids: Vec<OrderId> = landed.iter().map(|l| l.order().order).collect();
    for l in landed {
        assert_eq!(l.order().resting, 1, "{:?}", l.order());
        assert!(l.order().fills.is_empty());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), landed.len(), "distinct orders");
    assert_eq!(bot.account().await.unwrap().open_orders.len(), landed.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_orders_in_flight_apply_in_the_order_sent_in_few_blocks() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(&game, dir.path()).await;
    let symbol = game.genesis.symbols[0].ticker;
    let mut bot = bot(&game, 0).await;
    assert!(bot.wait_for_leader(WAIT).await.unwrap(), "no leader");

    let landed = tokio::time::timeout(Duration::from_secs(60), async {
        // All in flight before any is awaited, with rising nonces.
        let pending = send_resting(&mut bot, symbol, IN_FLIGHT).await;
        let nonces: Vec<u64> = pending.iter().map(Pending::nonce).collect();
        assert!(nonces.windows(2).all(|w| w[0] < w[1]), "nonces rise");
        land(pending).await
    })
    .await
    .expect("every order is applied");

    assert_all_rest(&bot, &landed).await;
    // Applied in the order sent (nonce order): positions in the chain and order ids rise.
    // A transaction resent after a refusal goes behind the rest, as documented; none
    // should be in a healthy cluster, and the others keep their order regardless.
    let in_order: Vec<&Landed> = landed.iter().filter(|l| !l.resent).collect();
    assert!(
        in_order
            .windows(2)
            .all(|w| w[0].position() < w[1].position() && w[0].order().order < w[1].order().order),
        "applied in the order sent"
    );
    let resent = landed.len() - in_order.len();
    let mut heights: Vec<u64> = landed.iter().map(|l| l.committed.height).collect();
    heights.dedup();
    let first = landed.iter().map(|l| l.committed.height).min().unwrap();
    let last = landed.iter().map(|l| l.committed.height).max().unwrap();
    eprintln!(
        "{IN_FLIGHT} orders in {} blocks (heights {first}..={last}), {resent} resent",
        heights.len()
    );
    assert!(resent <= IN_FLIGHT / 20, "{resent} orders had to be resent");
    // One at a time, each order would take a block of its own.
    assert!(
        (last - first + 1) as usize * 4 <= IN_FLIGHT,
        "{IN_FLIGHT} orders took {} blocks",
        last - first + 1
    );

    bot.close().await;
    shutdown(nodes).await;
}

/// Orders sent in a burst at a leader whose mempool holds only a few.
const BURST: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_a_full_mempool_refused_are_signed_again_and_applied() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    // A mempool of four, cut into a block only after 100 ms: most of a burst is refused
    // as busy.
    let tuning = Tuning {
        mempool_capacity: Some(4),
        max_batch_delay_ms: Some(100),
        ..Tuning::default()
    };
    let nodes = start_voters(&game, dir.path(), tuning).await.unwrap();
    let symbol = game.genesis.symbols[0].ticker;
    let mut bot = bot(&game, 0).await;
    bot.set_retries(30);
    assert!(bot.wait_for_leader(WAIT).await.unwrap(), "no leader");

    let landed = tokio::time::timeout(Duration::from_secs(60), async {
        let pending = send_resting(&mut bot, symbol, BURST).await;
        land(pending).await
    })
    .await
    .expect("every order is applied");

    assert_all_rest(&bot, &landed).await;
    let resent = landed.iter().filter(|l| l.resent).count();
    eprintln!("{resent} of {BURST} orders were refused and sent again");
    assert!(resent > 0, "the full mempool refused none");
    // Those that went through first kept their order among themselves.
    let first_time: Vec<&Landed> = landed.iter().filter(|l| !l.resent).collect();
    assert!(
        first_time
            .windows(2)
            .all(|w| w[0].position() < w[1].position())
    );

    bot.close().await;
    shutdown(nodes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_used_by_another_program_is_learnt_and_the_order_sent_again() {
    let game = game();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start(&game, dir.path()).await;
    let symbol = game.genesis.symbols[0].ticker;
    let key = game.traders[0].clone();
    let mut bot = bot(&game, 0).await;
    assert!(bot.wait_for_leader(WAIT).await.unwrap(), "no leader");

    tokio::time::timeout(Duration::from_secs(60), async {
        // Another program with the same key uses a nonce far ahead of the bot's.
        let nodes = Client::node_addresses(&game.genesis);
        let other = Client::connect(&game.genesis, key.clone(), &nodes)
            .await
            .unwrap();
        let ahead = u64::MAX / 2;
        let order = NewOrder {
            symbol,
            side: Side::Buy,
            quantity: 1,
            kind: OrderKind::Limit { price: 900 },
        };
        let tx = Tx {
            signer: key.public(),
            nonce: ahead,
            body: TxBody::Order(order),
        }
        .sign(&key, &game.genesis.chain_id());
        let committed = other.submit(tx).await.unwrap();
        assert!(committed.receipt.is_accepted());
        other.close().await;

        // The bot's next nonce is stale: it learns the last one and sends again.
        let pending = bot.place_limit(symbol, Side::Sell, 1, 1_100).await.unwrap();
        assert!(pending.nonce() < ahead);
        let first = pending.hash();
        let committed = pending.wait_committed().await.unwrap();
        assert_ne!(committed.receipt.tx, first, "sent again, signed anew");
        assert!(committed.receipt.is_accepted(), "{committed:?}");
        // And the nonces after it follow on.
        let next = bot.buy_limit(symbol, 1, 901).await.unwrap();
        assert_eq!(next.resting, 1);
    })
    .await
    .expect("the bot recovers");

    assert_eq!(bot.account().await.unwrap().open_orders.len(), 3);
    bot.close().await;
    shutdown(nodes).await;
}
