//! The example bots' strategies against an in-process three-node cluster over real QUIC:
//! the random trader crosses the market maker's quotes, a momentum trader follows the
//! trades, and no order is refused for a bad nonce.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_node::bot::strategies::{market_maker, momentum, random};
use qraft_node::bot::{Bot, BotError, Event, Topics};
use qraft_node::cluster::quic::{loopback_game, start_voters};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::types::{OrderId, Ticker};
use qraft_node::net::node::NetNode;

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
        .map(|a| qraft_node::bot::market::position(a, symbol))
        .sum();
    let cash: i64 = accounts.iter().map(|a| a.cash).sum();
    assert_eq!(shares, 3 * 1_000);
    assert_eq!(cash, 3 * 100_000_000);
    assert!(
        accounts[0].cash != 100_000_000
            || qraft_node::bot::market::position(&accounts[0], symbol) != 1_000,
        "the maker traded"
    );
    for account in &accounts {
        assert!(account.open_orders.is_empty(), "{account:?}");
        assert_eq!(account.cash_reserved, 0);
    }

    maker.close().await;
    trader.close().await;
    follower.close().await;
    for node in nodes {
        node.shutdown().await;
    }
}
