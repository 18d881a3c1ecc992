//! A market maker: keeps a bid and an ask a few ticks around the last trade price (the
//! symbol's reference price before the first trade), and requotes when the price moves
//! or a quote is filled: the cancels and both new quotes go out together and are awaited
//! together, one block round trip per requote. It never bids more cash than it has free
//! nor offers more shares than it holds. On exit (Ctrl-C or --max-orders) it cancels its
//! quotes.
//!
//! ```text
//! qraft init /tmp/game
//! qraft run --headless --config /tmp/game/node1.toml   # and node2, node3
//! cargo run --example market_maker -- --genesis /tmp/game/genesis.toml \
//!     --key /tmp/game/keys/bot1.key --symbol ACME --spread 3 --size 5
//! ```

mod common;

use anyhow::Result;
use clap::Parser;
use qraft_client::bot::strategies::market_maker::{self, Config, State};

/// Quote a bid and an ask around the last price.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    bot: common::BotArgs,
    /// Ticks between the last price and each quote.
    #[arg(long, value_name = "TICKS", default_value_t = 2)]
    spread: u64,
    /// Shares per quote.
    #[arg(long, value_name = "SHARES", default_value_t = 10)]
    size: u64,
    /// Requote when the price moves at least this many ticks.
    #[arg(long, value_name = "TICKS", default_value_t = 1)]
    requote: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let (mut bot, symbol) = cli.bot.connect().await?;
    let config = Config {
        half_spread: cli.spread,
        size: cli.size,
        requote_ticks: cli.requote,
        ..Config::new(symbol)
    };
    let mut state = State::default();
    let mut stop = common::Stop::on_ctrl_c();
    while !cli.bot.done(state.orders_placed) {
        let result = tokio::select! {
            _ = stop.wait() => break,
            result = market_maker::step(&mut bot, &config, &mut state) => result,
        };
        if let Some(step) = common::check(result)?
            && let Some(quote) = state.quote.filter(|_| !step.placed.is_empty())
        {
            let sides: Vec<String> = step
                .placed
                .iter()
                .map(|r| {
                    format!(
                        "#{} (filled {}, resting {})",
                        r.order,
                        r.filled(),
                        r.resting
                    )
                })
                .collect();
            println!(
                "quoted {symbol} around {} (cancelled {}): {}",
                quote.center,
                step.cancelled.len(),
                sides.join(", ")
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
