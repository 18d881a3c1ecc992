//! A momentum trader: follows the symbol's trades; buys when the short moving average of
//! trade prices crosses above the long one, sells when it crosses below, with
//! immediate-or-cancel orders a few ticks through the last price and a position limit.
//!
//! ```text
//! cargo run --example momentum -- --genesis /tmp/game/genesis.toml \
//!     --key /tmp/game/keys/bot2.key --short 5 --long 20 --max-position 200
//! ```
//!
//! `--interval-ms` is the pause after each order it sends.

mod common;

use anyhow::{Result, bail};
use clap::Parser;
use qraft_client::bot::strategies::momentum::{self, Config, State};
use qraft_client::bot::{Event, Topics};

/// Trade moving-average crossovers of trade prices.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    bot: common::BotArgs,
    /// Trades in the short moving average.
    #[arg(long, value_name = "N", default_value_t = 5)]
    short: usize,
    /// Trades in the long moving average.
    #[arg(long, value_name = "N", default_value_t = 20)]
    long: usize,
    /// Shares per order.
    #[arg(long, value_name = "SHARES", default_value_t = 10)]
    size: u64,
    /// The most shares to hold (and to be short, where the game allows it).
    #[arg(long, value_name = "SHARES", default_value_t = 200)]
    max_position: i64,
    /// How many ticks through the last price an order may trade.
    #[arg(long, value_name = "TICKS", default_value_t = 2)]
    slippage: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.short >= cli.long {
        bail!(
            "--short ({}) must be less than --long ({})",
            cli.short,
            cli.long
        );
    }
    let (mut bot, symbol) = cli.bot.connect().await?;
    let config = Config {
        short: cli.short,
        long: cli.long,
        size: cli.size,
        max_position: cli.max_position,
        slippage: cli.slippage,
        ..Config::new(symbol)
    };
    let tick_size = bot.symbol(symbol).await?.tick_size;
    let mut state = State::new(&config);
    momentum::warm_up(&bot, &config, &mut state).await?;
    let topics = Topics {
        trades: true,
        ..Topics::default()
    };
    let mut events = bot.events(topics).await?;
    let mut stop = common::Stop::on_ctrl_c();
    while !cli.bot.done(state.orders_placed) {
        let event = tokio::select! {
            _ = stop.wait() => break,
            event = events.next() => event?,
        };
        let trade = match event {
            Some(Event::Trade(trade)) if trade.symbol == symbol => trade,
            Some(Event::Lagged { missed }) => {
                eprintln!("missed {missed} events: the averages skip them");
                continue;
            }
            Some(_) => continue,
            None => bail!("the node closed the event stream"),
        };
        let step = momentum::step(&mut bot, &config, &mut state, trade.price, tick_size);
        let result = tokio::select! {
            _ = stop.wait() => break,
            result = step => result,
        };
        if let Some(Some(order)) = common::check(result)? {
            println!(
                "crossover at {}: order #{} filled {} shares",
                trade.price,
                order.order,
                order.filled()
            );
            if !stop.sleep(cli.bot.interval()).await {
                break;
            }
        }
    }
    println!("placed {} orders", state.orders_placed);
    bot.close().await;
    Ok(())
}
