//! A value trader: trades toward the symbol's fundamental value, as the game's scenario
//! last said it, with a private estimate a little off it (seeded by `--seed`, or by the
//! key file's public key, so a run can be repeated). It takes asks well below its
//! estimate and bids well above it with immediate-or-cancel orders, and rests a bid and
//! an ask around its estimate. Before the scenario says a value (or in a game without a
//! scenario) it only quotes around the last price. On exit it cancels its quotes.
//!
//! ```text
//! cargo run --example value_trader -- --genesis /tmp/game/genesis.toml \
//!     --key /tmp/game/keys/bot2.key --symbol ACME --noise-bps 200 --seed 7
//! ```

mod common;

use anyhow::Result;
use clap::Parser;
use qraft_client::bot::market::Rng;
use qraft_client::bot::strategies::value_trader::{self, Config, State};

/// Trade toward the symbol's fundamental value.
#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    bot: common::BotArgs,
    /// Seed for the estimate's noise (from the bot's key if left out).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// How far its estimate may be from the value, in basis points (200 = 2%).
    #[arg(long, value_name = "BPS", default_value_t = 200)]
    noise_bps: u32,
    /// The edge, in basis points, a price must offer before it trades against it.
    #[arg(long, value_name = "BPS", default_value_t = 50)]
    threshold_bps: u32,
    /// Its quotes' distance from its estimate, in basis points.
    #[arg(long, value_name = "BPS", default_value_t = 100)]
    quote_bps: u32,
    /// Shares per order.
    #[arg(long, value_name = "SHARES", default_value_t = 10)]
    size: u64,
    /// The most shares it holds.
    #[arg(long, value_name = "SHARES", default_value_t = 2_000)]
    max_position: i64,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let (mut bot, symbol) = cli.bot.connect().await?;
    let config = Config {
        noise_bps: cli.noise_bps,
        threshold_bps: cli.threshold_bps,
        quote_bps: cli.quote_bps,
        size: cli.size,
        max_position: cli.max_position,
        band_bps: bot.genesis().rules.price_band_bps,
        ..Config::new(symbol)
    };
    let seed = cli
        .seed
        .unwrap_or_else(|| Rng::from_text(&bot.key().to_string()).next_u64());
    let mut state = State::new(seed);
    let mut stop = common::Stop::on_ctrl_c();
    while !cli.bot.done(state.orders_placed) {
        let result = tokio::select! {
            _ = stop.wait() => break,
            result = value_trader::step(&mut bot, &config, &mut state) => result,
        };
        if let Some(step) = common::check(result)?
            && let Some(estimate) = step.estimate
            && (step.taken.is_some() || !step.placed.is_empty())
        {
            let basis = estimate
                .value
                .map_or_else(|| "the last price".to_string(), |v| format!("value {v}"));
            let taken = step.taken.map_or_else(String::new, |r| {
                format!("; took #{} (filled {})", r.order, r.filled())
            });
            println!(
                "{symbol}: estimate {} ({basis}); cancelled {}, quoted {}{taken}",
                estimate.price,
                step.cancelled.len(),
                step.placed.len(),
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
