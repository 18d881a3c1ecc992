//! What every example bot shares: its command line, connecting, and the run loop.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_client::bot::{Bot, BotError};
use qraft_node::core::types::{Ticker, format_cents};
use qraft_node::net::client::ClientError;
use tokio::sync::watch;

/// The options every example bot takes.
#[derive(Debug, Args)]
pub struct BotArgs {
    /// The game's genesis file.
    #[arg(long, value_name = "FILE")]
    pub genesis: PathBuf,
    /// This bot's key file (its passphrase, if encrypted, from $QRAFT_PASSPHRASE).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// A node to connect to, host:port (repeatable; every node of the genesis if left out).
    #[arg(long = "node", value_name = "ADDR")]
    pub nodes: Vec<String>,
    /// The symbol to trade (the game's first symbol if left out).
    #[arg(long, value_name = "TICKER")]
    pub symbol: Option<String>,
    /// Pause between steps, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub interval_ms: u64,
    /// Stop after placing this many orders (otherwise run until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub max_orders: Option<u64>,
}

impl BotArgs {
    /// Connects, waits for a leader, and checks the symbol: the bot and its symbol.
    pub async fn connect(&self) -> Result<(Bot, Ticker)> {
        let nodes = Some(self.nodes.clone());
        let bot = Bot::connect(&self.genesis, &self.key, nodes)
            .await
            .context("cannot connect to the game")?;
        let symbol = match &self.symbol {
            Some(text) => Ticker::new(text)?,
            None => match bot.genesis().symbols.first() {
                Some(spec) => spec.ticker,
                None => bail!("the game lists no symbols"),
            },
        };
        let view = bot.symbol(symbol).await?;
        if !bot.wait_for_leader(Duration::from_secs(30)).await? {
            bail!("the game's nodes have no leader");
        }
        let account = bot.account().await?;
        eprintln!(
            "{} connected to {} as {} (cash ${}); trading {} (last {}, reference {}, {})",
            env!("CARGO_CRATE_NAME"),
            bot.genesis().game,
            account.name,
            format_cents(account.cash.into()),
            symbol,
            view.last_price
                .map_or_else(|| "none".to_string(), |p| p.to_string()),
            view.reference_price,
            view.session,
        );
        Ok((bot, symbol))
    }

    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// Whether `placed` orders are enough.
    pub fn done(&self, placed: u64) -> bool {
        self.max_orders.is_some_and(|max| placed >= max)
    }
}

/// Ctrl-C, as something a loop can check, wait for, or sleep against.
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn on_ctrl_c() -> Stop {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("stopping (Ctrl-C)");
                let _ = tx.send(true);
            }
            // Keep the sender, so waiting never ends for want of one.
            std::future::pending::<()>().await
        });
        Stop(rx)
    }

    /// Resolves once Ctrl-C is pressed.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    /// Sleeps for `duration`; false if Ctrl-C came first.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        tokio::select! {
            _ = self.wait() => false,
            _ = tokio::time::sleep(duration) => true,
        }
    }
}

/// A step's outcome for a loop that goes on: `Some` on success, `None` (reported) on a
/// failure the next step may not have, an error when the connection is lost.
pub fn check<T>(result: Result<T, BotError>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(BotError::Client(
            err @ (ClientError::Connection(_)
            | ClientError::NoAnswer
            | ClientError::Frame(_)
            | ClientError::Unreachable(_)
            | ClientError::Tls(_)),
        )) => Err(err).context("lost the connection to the game"),
        Err(err) => {
            eprintln!("step failed: {err}");
            Ok(None)
        }
    }
}
