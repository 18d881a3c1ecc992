//! The demo's bots: the example strategies (`qraft_client::bot::strategies`), each bot a
//! tokio task connected over QUIC to one of the nodes, trading every symbol until told
//! to stop. A bot that loses its connection connects again.
//!
//! - makers quote every symbol in turn, each a little wider than the maker before;
//! - random traders send random orders near the mid of a random symbol, at random pauses;
//! - momentum traders follow the trades and act on moving-average crossovers;
//! - value traders trade every symbol in turn toward its fundamental value from the
//!   game's scenario (without one they only quote quietly around the last price).

use std::time::Duration;

use qraft_client::bot::market::Rng;
use qraft_client::bot::strategies::{market_maker, momentum, random, value_trader};
use qraft_client::bot::{Bot, BotError, Event, Topics};
use qraft_keys::Keypair;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::SymbolSpec;
use qraft_node::core::types::{Shares, Ticks};
use qraft_node::net::client::ClientError;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::folder::DemoGame;
use super::lineup::BotKind;

/// How long bots get to finish what they are doing when stopped, before they are cut off.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The pause before connecting again after a failure.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

/// The running bots.
pub struct Bots {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// One bot's part: who it is, where to connect, its randomness.
struct Plan {
    name: String,
    kind: BotKind,
    /// Its number among the bots of its kind, from 0 (`maker2` is 1).
    rank: u64,
    key: Keypair,
    genesis: Genesis,
    /// The nodes to try, its own first.
    nodes: Vec<String>,
    seed: u64,
}

impl Bots {
    /// Starts the first `count` bots of `game`, spread over the nodes at `addresses`;
    /// their random choices follow from `seed`. Must be called inside a tokio runtime.
    pub fn start(game: &DemoGame, addresses: &[String], count: usize, seed: u64) -> Bots {
        let (stop, stopped) = watch::channel(false);
        let tasks = game
            .bots
            .iter()
            .take(count)
            .enumerate()
            .map(|(i, bot)| {
                let mut nodes = addresses.to_vec();
                nodes.rotate_left(i % addresses.len().max(1));
                let rank = bot
                    .name
                    .trim_start_matches(bot.kind.prefix())
                    .parse::<u64>()
                    .map_or(0, |n| n.saturating_sub(1));
                let plan = Plan {
                    name: bot.name.clone(),
                    kind: bot.kind,
                    rank,
                    key: bot.key.clone(),
                    genesis: game.genesis.clone(),
                    nodes,
                    seed: Rng::from_text(&format!("{seed}/{}", bot.name)).next_u64(),
                };
                tokio::spawn(run(plan, stopped.clone()))
            })
            .collect();
        Bots { stop, tasks }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Tells every bot to stop and waits for them (a few seconds at most).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// A bot's life: connect, trade until stopped or disconnected, and again.
async fn run(plan: Plan, mut stop: watch::Receiver<bool>) {
    let mut rng = Rng::new(plan.seed);
    while !*stop.borrow() {
        let connected = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            bot = connect(&plan) => bot,
        };
        let mut bot = match connected {
            Ok(bot) => bot,
            Err(err) => {
                tracing::debug!(bot = %plan.name, %err, "cannot connect yet");
                if !pause(&mut stop, RECONNECT_PAUSE).await {
                    return;
                }
                continue;
            }
        };
        tracing::info!(bot = %plan.name, "trading");
        let traded = match plan.kind {
            BotKind::Maker => make_markets(&mut bot, &plan, &mut rng, &mut stop).await,
            BotKind::Random => trade_randomly(&mut bot, &plan, &mut rng, &mut stop).await,
            BotKind::Momentum => follow_momentum(&mut bot, &plan, &mut rng, &mut stop).await,
            BotKind::Value => trade_toward_value(&mut bot, &plan, &mut rng, &mut stop).await,
        };
        if let Err(err) = &traded
            && game_over(err)
        {
            // Nothing more will be accepted: orders now would only fill blocks with
            // refusals. The bot waits, idle, to be stopped.
            tracing::info!(bot = %plan.name, "the game has ended: the bot stops trading");
            bot.close().await;
            let _ = stop.wait_for(|s| *s).await;
            return;
        }
        if let Err(err) = traded {
            tracing::info!(bot = %plan.name, %err, "lost the connection; connecting again");
        }
        bot.close().await;
        if !pause(&mut stop, RECONNECT_PAUSE).await {
            return;
        }
    }
}

async fn connect(plan: &Plan) -> Result<Bot, BotError> {
    let bot = Bot::with_keypair(
        plan.genesis.clone(),
        plan.key.clone(),
        Some(plan.nodes.clone()),
    )
    .await?;
    if !bot.wait_for_leader(Duration::from_secs(10)).await? {
        return Err(BotError::Unexpected("no leader yet".into()));
    }
    Ok(bot)
}

/// Sleeps for `duration`; false if told to stop meanwhile.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => false,
        _ = tokio::time::sleep(duration) => true,
    }
}

/// A pause of `low..=high` milliseconds.
fn jitter(rng: &mut Rng, low: u64, high: u64) -> Duration {
    Duration::from_millis(rng.between(low, high))
}

/// Runs one strategy step unless told to stop first: `None` when stopped. A step that
/// failed for want of funds, a rejection or a refusal is only logged; a lost
/// connection, and the end of the game, are returned.
async fn step<T>(
    name: &str,
    stop: &mut watch::Receiver<bool>,
    step: impl Future<Output = Result<T, BotError>>,
) -> Result<Option<Option<T>>, BotError> {
    let result = tokio::select! {
        _ = stop.wait_for(|s| *s) => return Ok(None),
        result = step => result,
    };
    match result {
        Ok(value) => Ok(Some(Some(value))),
        Err(err) if connection_lost(&err) || game_over(&err) => Err(err),
        Err(err) => {
            tracing::debug!(bot = name, %err, "step failed");
            Ok(Some(None))
        }
    }
}

/// Whether the game refused the bot's transaction because it has ended.
fn game_over(err: &BotError) -> bool {
    matches!(err, BotError::Rejected(Rejection::GameOver))
}

fn connection_lost(err: &BotError) -> bool {
    matches!(
        err,
        BotError::Unanswered(_)
            | BotError::Client(
                ClientError::Connection(_)
                    | ClientError::NoAnswer
                    | ClientError::Frame(_)
                    | ClientError::Unreachable(_)
                    | ClientError::Tls(_)
            )
    )
}

/// A few ticks, more for dearer symbols: `reference / per` ticks, at least `least`.
fn ticks_for(symbol: &SymbolSpec, per: Ticks, least: Ticks) -> Ticks {
    (symbol.reference_price / per).max(least)
}

async fn make_markets(
    bot: &mut Bot,
    plan: &Plan,
    rng: &mut Rng,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), BotError> {
    let width = plan.rank + 1;
    let mut books: Vec<(market_maker::Config, market_maker::State)> = plan
        .genesis
        .symbols
        .iter()
        .map(|symbol| {
            let config = market_maker::Config {
                half_spread: ticks_for(symbol, 1_000, 2) * width,
                size: 10 * width,
                requote_ticks: 1,
                ..market_maker::Config::new(symbol.ticker)
            };
            (config, market_maker::State::default())
        })
        .collect();
    loop {
        for (config, state) in &mut books {
            if step(&plan.name, stop, market_maker::step(bot, config, state))
                .await?
                .is_none()
            {
                return Ok(());
            }
        }
        if !pause(stop, jitter(rng, 200, 500)).await {
            return Ok(());
        }
    }
}

async fn trade_randomly(
    bot: &mut Bot,
    plan: &Plan,
    rng: &mut Rng,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), BotError> {
    let configs: Vec<random::Config> = plan
        .genesis
        .symbols
        .iter()
        .map(|symbol| random::Config {
            spread: ticks_for(symbol, 300, 4),
            ioc_percent: 40,
            max_open: 3,
            ..random::Config::new(symbol.ticker)
        })
        .collect();
    let mut state = random::State::new(rng.next_u64());
    loop {
        let Some(config) = pick(rng, &configs) else {
            return Ok(());
        };
        if step(&plan.name, stop, random::step(bot, config, &mut state))
            .await?
            .is_none()
        {
            return Ok(());
        }
        if !pause(stop, jitter(rng, 150, 700)).await {
            return Ok(());
        }
    }
}

/// Shares of each symbol `name` starts with (the genesis gives every symbol the same).
fn starting_shares(genesis: &Genesis, name: &str) -> Shares {
    genesis
        .participants
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.holdings.first())
        .map_or(0, |&(_, shares)| shares)
}

/// Value traders hold at most this many shares more than they started with.
const VALUE_EXTRA_SHARES: i64 = 500;

/// A value trader's settings for `symbol`: the game's price band, and room to buy
/// `VALUE_EXTRA_SHARES` beyond what it started with.
fn value_config(genesis: &Genesis, symbol: &SymbolSpec, shares: Shares) -> value_trader::Config {
    value_trader::Config {
        band_bps: genesis.rules.price_band_bps,
        max_position: i64::try_from(shares)
            .unwrap_or(i64::MAX)
            .saturating_add(VALUE_EXTRA_SHARES),
        ..value_trader::Config::new(symbol.ticker)
    }
}

async fn trade_toward_value(
    bot: &mut Bot,
    plan: &Plan,
    rng: &mut Rng,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), BotError> {
    let shares = starting_shares(&plan.genesis, &plan.name);
    let mut traded: Vec<(value_trader::Config, value_trader::State)> = plan
        .genesis
        .symbols
        .iter()
        .map(|symbol| {
            let config = value_config(&plan.genesis, symbol, shares);
            (config, value_trader::State::new(rng.next_u64()))
        })
        .collect();
    loop {
        for (config, state) in &mut traded {
            if step(&plan.name, stop, value_trader::step(bot, config, state))
                .await?
                .is_none()
            {
                return Ok(());
            }
        }
        if !pause(stop, jitter(rng, 150, 400)).await {
            return Ok(());
        }
    }
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> Option<&'a T> {
    let index = usize::try_from(rng.below(items.len() as u64)).ok()?;
    items.get(index)
}

async fn follow_momentum(
    bot: &mut Bot,
    plan: &Plan,
    rng: &mut Rng,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), BotError> {
    let shares = starting_shares(&plan.genesis, &plan.name);
    let mut followed = Vec::with_capacity(plan.genesis.symbols.len());
    for symbol in &plan.genesis.symbols {
        let config = momentum::Config {
            short: 3,
            long: 8,
            size: 10,
            max_position: i64::try_from(shares)
                .unwrap_or(i64::MAX)
                .saturating_add(200),
            slippage: ticks_for(symbol, 500, 2),
            ..momentum::Config::new(symbol.ticker)
        };
        let mut state = momentum::State::new(&config);
        momentum::warm_up(bot, &config, &mut state).await?;
        followed.push((config, state, symbol.tick_size));
    }
    let topics = Topics {
        trades: true,
        ..Topics::default()
    };
    let mut events = bot.events(topics).await?;
    loop {
        let event = tokio::select! {
            _ = stop.wait_for(|s| *s) => return Ok(()),
            event = events.next() => event?,
        };
        let trade = match event {
            Some(Event::Trade(trade)) => trade,
            Some(_) => continue,
            None => return Err(ClientError::NoAnswer.into()),
        };
        let Some((config, state, tick_size)) = followed
            .iter_mut()
            .find(|(c, _, _)| c.symbol == trade.symbol)
        else {
            continue;
        };
        let acted = step(
            &plan.name,
            stop,
            momentum::step(bot, config, state, trade.price, *tick_size),
        )
        .await?;
        match acted {
            None => return Ok(()),
            // It traded: a breath before the next signal.
            Some(Some(Some(_))) => {
                if !pause(stop, jitter(rng, 200, 600)).await {
                    return Ok(());
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::demo::lineup::{self, Players};
    use qraft_node::core::types::Ticker;

    /// A maker and a random trader trade until the admin ends the game, then stop: no
    /// more of their transactions reach the chain.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bots_stop_sending_when_the_game_ends() {
        use qraft_node::config::Tuning;
        use qraft_node::core::genesis::sample::SampleOptions;
        use qraft_node::core::tx::{AdminAction, Tx, TxBody};
        use qraft_node::testkit::quic::{loopback_game, start_voters};

        use crate::cli::demo::folder::DemoBot;

        let sample = loopback_game(&SampleOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let nodes = start_voters(&sample, dir.path(), Tuning::default())
            .await
            .unwrap();
        let handle = nodes[0].handle.clone();
        let game = DemoGame {
            dir: dir.path().to_path_buf(),
            genesis: sample.genesis.clone(),
            nodes: sample.nodes.clone(),
            you: sample.traders[2].clone(),
            bots: vec![
                DemoBot {
                    name: "maker1".into(),
                    kind: BotKind::Maker,
                    key: sample.traders[0].clone(),
                },
                DemoBot {
                    name: "random1".into(),
                    kind: BotKind::Random,
                    key: sample.traders[1].clone(),
                },
            ],
            continued: false,
        };
        let addresses: Vec<String> = sample
            .genesis
            .voters
            .iter()
            .map(|v| v.address.clone())
            .collect();
        let bots = Bots::start(&game, &addresses, 2, 7);
        let bot_keys = [sample.traders[0].public(), sample.traders[1].public()];
        let bot_txs = |block: &qraft_node::core::block::Block| {
            block
                .txs
                .iter()
                .filter(|tx| bot_keys.contains(&tx.tx.signer))
                .count()
        };

        // They trade.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut seen = 0;
        let mut height = 1;
        while seen < 10 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bots never traded"
            );
            if let Ok(Some(block)) = handle.block(height).await {
                seen += bot_txs(&block);
                height += 1;
            } else {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        // The admin ends the game.
        let nonce = handle
            .last_nonce(sample.admin.public())
            .await
            .unwrap()
            .unwrap_or(0)
            + 1;
        let end = Tx {
            signer: sample.admin.public(),
            nonce,
            body: TxBody::Admin(AdminAction::EndGame),
        }
        .sign(&sample.admin, &sample.genesis.chain_id());
        let ended = handle.submit(end).await.unwrap();

        // A few refusals may be in flight as it lands; then nothing more.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let quiet_from = handle.status().await.unwrap().height;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let to = handle.status().await.unwrap().height;
        let mut after = 0;
        for height in quiet_from + 1..=to {
            after += bot_txs(&handle.block(height).await.unwrap().unwrap());
        }
        assert_eq!(
            after, 0,
            "bot transactions after the end (block {})",
            ended.height
        );
        bots.stop().await;
        for node in nodes {
            node.shutdown().await;
        }
    }

    #[test]
    fn spreads_grow_with_the_price() {
        let spec = |price| SymbolSpec {
            ticker: Ticker::new("ACME").unwrap(),
            name: "Acme".into(),
            tick_size: 1,
            reference_price: price,
        };
        assert_eq!(ticks_for(&spec(725), 1_000, 2), 2);
        assert_eq!(ticks_for(&spec(10_340), 1_000, 2), 10);
        assert_eq!(ticks_for(&spec(1_250), 300, 4), 4);
    }

    #[test]
    fn picks_stay_in_range() {
        let mut rng = Rng::new(3);
        let items = [1, 2, 3];
        assert!((0..100).all(|_| pick(&mut rng, &items).is_some()));
        assert_eq!(pick::<u8>(&mut rng, &[]), None);
    }

    #[test]
    fn value_traders_keep_to_the_games_band_and_have_room_to_buy() {
        let key = |label: &str| Keypair::from_label(label).public();
        let players = Players {
            admin: key("admin"),
            you: key("you"),
            bots: &[],
        };
        let nodes = [(key("node1"), "127.0.0.1:7001".to_string())];
        let mut genesis = lineup::genesis(&players, &nodes).unwrap();
        genesis.rules.price_band_bps = 500;
        let symbol = &genesis.symbols[0];
        let config = value_config(&genesis, symbol, 1_000);
        assert_eq!(config.symbol, symbol.ticker);
        assert_eq!(config.band_bps, 500);
        assert_eq!(config.max_position, 1_500);
        assert_eq!(starting_shares(&genesis, "you"), 25);
        assert_eq!(starting_shares(&genesis, "nobody"), 0);
    }
}
