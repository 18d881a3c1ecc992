//! `qraft run`: a node of the game, from its configuration file.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_node::api::NodeEvent;
use qraft_node::config::NodeConfig;
use qraft_node::net::node::{NetNode, NetNodeOptions};

use super::game::load_genesis;
use super::keys::open_key;

#[derive(Args)]
pub struct RunArgs {
    /// The node's configuration file (as `qraft init` writes: node1.toml, ...).
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// Run without the dashboard: logs to stderr, a line per block; stops cleanly on
    /// Ctrl-C or SIGTERM.
    #[arg(long)]
    pub headless: bool,
}

pub fn run(args: RunArgs) -> Result<()> {
    if !args.headless {
        bail!(
            "the dashboard is not part of this build yet: run the node with `qraft run --headless --config {}`",
            args.config.display()
        );
    }
    init_logging();
    let config = NodeConfig::load(&args.config)?;
    let genesis = load_genesis(&config.genesis)?;
    let keypair = open_key(&config.key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let node = NetNode::start(NetNodeOptions {
            genesis,
            keypair,
            data_dir: config.data_dir.clone(),
            listen: config.listen,
            peers: config.peers.clone().into_iter().collect(),
            tuning: config.tuning.clone(),
            submit_timeout: Duration::from_secs(10),
            id: config.id,
        })
        .await
        .with_context(|| format!("cannot start the node of {}", config.file.display()))?;
        tracing::info!(
            node = node.id,
            listen = %node.local_addr()?,
            data_dir = %config.data_dir.display(),
            "running; Ctrl-C to stop"
        );
        let mut events = node.handle.subscribe();
        let shutdown = shutdown_signal();
        tokio::pin!(shutdown);
        let mut watchdog = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = watchdog.tick() => {
                    if node.handle.is_stopped() {
                        node.shutdown().await;
                        anyhow::bail!(
                            "the node stopped on a fatal error (see the log above); restart it to recover from {}",
                            config.data_dir.display()
                        );
                    }
                }
                event = events.recv() => match event {
                    Ok(event) => log_event(&event),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "the log fell behind the node's events");
                    }
                    Err(_) => {
                        tracing::error!("the node stopped");
                        break;
                    }
                },
            }
        }
        tracing::info!("stopping");
        node.shutdown().await;
        tracing::info!("stopped");
        Ok(())
    })
}

fn log_event(event: &NodeEvent) {
    match event {
        NodeEvent::Block(block) => {
            let header = &block.block.header;
            let accepted = block.receipts.iter().filter(|r| r.is_accepted()).count();
            tracing::info!(
                height = header.height,
                txs = header.tx_count,
                accepted,
                trades = block.trades.len(),
                hash = %block.block.hash().to_hex().get(..12).unwrap_or(""),
                "block"
            );
        }
        NodeEvent::RoleChanged { role, leader, term } => {
            tracing::info!(%role, ?leader, term, "role changed");
        }
        NodeEvent::SnapshotInstalled { height } => {
            tracing::info!(height, "caught up from a snapshot");
        }
        NodeEvent::MembershipChanged { voters, learners } => {
            tracing::info!(?voters, ?learners, "membership changed");
        }
        NodeEvent::Trades(_) | NodeEvent::BookChanged { .. } => {}
    }
}

/// Logs to stderr; `RUST_LOG` overrides the default (`info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
