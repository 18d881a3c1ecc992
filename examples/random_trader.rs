//! A random trader: limit and immediate-or-cancel orders a few ticks either side of the
//! mid price, random sides and sizes, from a generator seeded by `--seed` (or by the key
//! file's public key), so a run can be repeated. It keeps at most a few orders resting
//! and cancels them on exit.
//!
//! ```text
//! cargo run --example random_trader -- --genesis /tmp/game/genesis.toml \
//!     --key /tmp/game/keys/alice.key --seed 7 --interval-ms 300 --max-orders 50
//! ```

mod common;

use anyhow::Result;
use clap::Parser;
use qraft_client::bot::market::Rng;
use qraft_client::bot::strategies::random::{self, Config, State};

/// Place random orders near the mid.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    bot: common::BotArgs,
    /// Seed for the random choices (from the bot's key if left out).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Orders are for 1 to this many shares.
    #[arg(long, value_name = "SHARES", default_value_t = 20)]
    max_quantity: u64,
    /// Prices are up to this many ticks either side of the mid.
    #[arg(long, value_name = "TICKS", default_value_t = 5)]
    spread: u64,
    /// The chance, in percent, that an order is immediate-or-cancel.
    #[arg(long, value_name = "PERCENT", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=100))]
    ioc_percent: u32,
    /// The most orders left resting.
    #[arg(long, value_name = "N", default_value_t = 4)]
    max_open: usize,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let (mut bot, symbol) = cli.bot.connect().await?;
    let config = Config {
        max_quantity: cli.max_quantity,
        spread: cli.spread,
        ioc_percent: cli.ioc_percent,
        max_open: cli.max_open,
        ..Config::new(symbol)
    };
    let mut state = match cli.seed {
        Some(seed) => State::new(seed),
        None => State {
            rng: Rng::from_text(&bot.key().to_string()),
            orders_placed: 0,
        },
    };
    let mut stop = common::Stop::on_ctrl_c();
    while !cli.bot.done(state.orders_placed) {
        let result = tokio::select! {
            _ = stop.wait() => break,
            result = random::step(&mut bot, &config, &mut state) => result,
        };
        if let Some(step) = common::check(result)?
            && let (Some(choice), Some(order)) = (step.choice, step.placed)
        {
            let cancelled = match order.cancel_reason {
                Some(reason) if order.cancelled > 0 => {
                    format!(", {} cancelled: {reason}", order.cancelled)
                }
                _ => String::new(),
            };
            println!(
                "{} {} {symbol} at {}{}: order #{} filled {}, resting {}{cancelled}",
                choice.side,
                choice.quantity,
                choice.price,
                if choice.ioc { " (IOC)" } else { "" },
                order.order,
                order.filled(),
                order.resting
            );
        }
        if !stop.sleep(cli.bot.interval()).await {
            break;
        }
    }
    let cancelled = bot.cancel_all(symbol).await?;
    println!(
        "placed {} orders; cancelled {} resting on exit",
        state.orders_placed,
        cancelled.len()
    );
    bot.close().await;
    Ok(())
}
