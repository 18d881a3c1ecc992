//! Value traders against an in-process three-node cluster over real QUIC: a market
//! maker quotes around the last price, and when the game's scenario changes the
//! symbol's fundamental value, a few value traders (different seeds) trade the last
//! price toward it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use qraft_client::bot::strategies::{market_maker, value_trader};
use qraft_client::bot::{Bot, BotError};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::scenario::{Event, Scenario, ScenarioStart, ScheduledEvent};
use qraft_node::core::types::{Ticker, Ticks};
use qraft_node::testkit::quic::{loopback_game, start_voters};
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);
/// How long the price has to get near the new value: a bound on the test, not a timed
/// assertion (it usually takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(120);
/// The symbol's value before the news is the reference price; after it, this.
const NEW_VALUE: Ticks = 1_100;
/// Game time of the news, in ms.
const NEWS_AT_MS: u64 = 2_000;
/// How near the value, in percent, the last price has to come.
const NEAR_PERCENT: u64 = 3;
/// Value traders (traders 1.. of the sample game; trader 0 is the maker).
const VALUE_TRADERS: usize = 3;
/// Steps between looks at the price.
const STEP_PAUSE: Duration = Duration::from_millis(50);

/// The sample game with one symbol and a scenario that sets its value at 2 s.
fn game() -> SampleGame {
    let options = SampleOptions {
        symbols: 1,
        traders: 1 + VALUE_TRADERS,
        ..SampleOptions::default()
    };
    let mut game = loopback_game(&options).unwrap();
    let symbol = game.genesis.symbols[0].ticker;
    game.genesis.scenario = Some(Scenario {
        name: "news".into(),
        description: "Acme's value jumps by a tenth.".into(),
        start: ScenarioStart::FirstBlock,
        rounds: vec![],
        events: vec![ScheduledEvent {
            at_ms: NEWS_AT_MS,
            event: Event::Value {
                symbol,
                value: NEW_VALUE,
            },
        }],
        end_after_last_round: true,
        secret: None,
    });
    game
}

async fn bot(game: &SampleGame, trader: usize) -> Bot {
    Bot::with_keypair(game.genesis.clone(), game.traders[trader].clone(), None)
        .await
        .unwrap()
}

/// A bot once it stopped, with the errors its steps returned.
type Run = (Bot, Vec<BotError>);

/// Quotes until `done`.
async fn run_maker(mut bot: Bot, symbol: Ticker, done: Arc<AtomicBool>) -> Run {
    let config = market_maker::Config::new(symbol);
    let mut state = market_maker::State::default();
    let mut errors = Vec::new();
    while !done.load(Ordering::SeqCst) {
        if let Err(err) = market_maker::step(&mut bot, &config, &mut state).await {
            errors.push(err);
        }
        tokio::time::sleep(STEP_PAUSE).await;
    }
    (bot, errors)
}

/// Trades toward the value until `done`.
async fn run_value_trader(mut bot: Bot, symbol: Ticker, seed: u64, done: Arc<AtomicBool>) -> Run {
    let config = value_trader::Config {
        max_position: 1_500,
        ..value_trader::Config::new(symbol)
    };
    let mut state = value_trader::State::new(seed);
    let mut errors = Vec::new();
    while !done.load(Ordering::SeqCst) {
        if let Err(err) = value_trader::step(&mut bot, &config, &mut state).await {
            errors.push(err);
        }
        tokio::time::sleep(STEP_PAUSE).await;
    }
    (bot, errors)
}

/// Whether `price` is within `NEAR_PERCENT` of `value`.
fn near(price: Ticks, value: Ticks) -> bool {
    price.abs_diff(value) * 100 <= value * NEAR_PERCENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_traders_move_the_price_toward_a_new_value() {
    let game = game();
    let symbol = game.genesis.symbols[0].ticker;
    let reference = game.genesis.symbols[0].reference_price;
    assert!(
        !near(reference, NEW_VALUE),
        "the news has to move the price"
    );
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_voters(&game, dir.path(), Tuning::default())
        .await
        .unwrap();
    let watcher = bot(&game, 0).await;
    assert!(watcher.wait_for_leader(WAIT).await.unwrap(), "no leader");

    let done = Arc::new(AtomicBool::new(false));
    let mut runs: Vec<(String, JoinHandle<Run>)> = vec![(
        "maker".into(),
        tokio::spawn(run_maker(bot(&game, 0).await, symbol, done.clone())),
    )];
    for trader in 1..=VALUE_TRADERS {
        let bot = bot(&game, trader).await;
        let run = run_value_trader(bot, symbol, trader as u64, done.clone());
        runs.push((format!("value{trader}"), tokio::spawn(run)));
    }

    // Watch the price until it is near the new value, or the deadline passes.
    let mut path = Vec::new();
    let reached = tokio::time::timeout(DEADLINE, async {
        loop {
            let view = watcher.symbol(symbol).await.unwrap();
            path.push((view.value, view.last_price));
            if view.value == Some(NEW_VALUE) && view.last_price.is_some_and(|p| near(p, NEW_VALUE))
            {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    done.store(true, Ordering::SeqCst);

    let mut bots = vec![watcher];
    for (name, run) in runs {
        let (bot, errors) = tokio::time::timeout(WAIT, run)
            .await
            .expect("the bot stops")
            .unwrap();
        for err in &errors {
            eprintln!("{name}: {err}");
        }
        assert!(
            !errors.iter().any(BotError::is_nonce_error),
            "{name} had an order refused for its nonce"
        );
        bots.push(bot);
    }
    let seen = path.len();
    let reached = reached.unwrap_or_else(|_| {
        panic!("the price never came near {NEW_VALUE}; (value, last) seen: {path:?}")
    });
    eprintln!(
        "last price {:?} after {seen} looks; volume {}; (value, last) seen: {path:?}",
        reached.last_price, reached.volume
    );
    // It got there by trading up from the reference price, not by jumping.
    assert!(reached.volume > 0);
    let first_after_news = path
        .iter()
        .find(|(value, _)| *value == Some(NEW_VALUE))
        .and_then(|(_, last)| *last);
    assert!(
        first_after_news.is_none_or(|p| p < NEW_VALUE),
        "{first_after_news:?}"
    );

    for bot in bots {
        bot.close().await;
    }
    for node in nodes {
        node.shutdown().await;
    }
}
