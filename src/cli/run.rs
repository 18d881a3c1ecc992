//! `qraft run`: a node of the game, from its configuration file: alone (`--headless`),
//! or with the dashboard in front of it, trading as the participant whose key is `--key`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use qraft_keys::Keypair;
use qraft_node::api::NodeEvent;
use qraft_node::config::NodeConfig;
use qraft_node::core::genesis::Genesis;
use qraft_node::net::node::{NetNode, NetNodeOptions};

use super::client::connect::KEY_ENV;
use super::game::load_genesis;
use super::keys::open_key;
use super::{logs, signal};

#[derive(Args)]
pub struct RunArgs {
    /// The node's configuration file (as `qraft init` writes: node1.toml, ...).
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// Run without the dashboard: logs to stderr, a line per block; stops cleanly on
    /// Ctrl-C or SIGTERM.
    #[arg(long)]
    pub headless: bool,
    /// Your own participant key file: the dashboard shows your account and signs your
    /// orders with it (required without --headless) [env: QRAFT_KEY]. An encrypted one
    /// takes its passphrase from QRAFT_PASSPHRASE, or asks. The node's key is the one in
    /// its configuration.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> Result<()> {
    if args.headless {
        run_headless(&args.config)
    } else {
        run_dashboard(&args)
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Starts the node of `config`. Must be called inside a tokio runtime.
async fn start_node(config: &NodeConfig, genesis: Genesis, keypair: Keypair) -> Result<NetNode> {
    NetNode::start(NetNodeOptions {
        genesis,
        keypair,
        data_dir: config.data_dir.clone(),
        listen: config.listen,
        peers: config.peers.clone().into_iter().collect(),
        tuning: config.tuning.clone(),
        submit_timeout: Duration::from_secs(10),
        id: config.id,
        dial_out: config.dial_out,
    })
    .await
    .with_context(|| format!("cannot start the node of {}", config.file.display()))
}

/// `qraft run --headless`: the node alone, logging to stderr.
fn run_headless(config_path: &Path) -> Result<()> {
    logs::to_stderr("info");
    let config = NodeConfig::load(config_path)?;
    let genesis = load_genesis(&config.genesis)?;
    let keypair = open_key(&config.key)?;
    runtime()?.block_on(async move {
        let node = start_node(&config, genesis, keypair).await?;
        tracing::info!(
            node = node.id,
            listen = %node.local_addr()?,
            data_dir = %config.data_dir.display(),
            "running; Ctrl-C to stop"
        );
        let mut events = node.handle.subscribe();
        let shutdown = signal::stop_requested(false);
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

/// `qraft run`: the node, and the dashboard in front of it as the participant whose key
/// is `--key`; logs go to a file beside the node's data directory.
fn run_dashboard(args: &RunArgs) -> Result<()> {
    let key_path = args
        .key
        .clone()
        .or_else(|| std::env::var_os(KEY_ENV).map(PathBuf::from))
        .ok_or_else(|| {
            anyhow!(
                "the dashboard trades as you: give your participant key file with --key FILE \
                 (or set {KEY_ENV}); to run the node without the dashboard, add --headless"
            )
        })?;
    if !std::io::stdout().is_terminal() {
        bail!(
            "the dashboard needs a terminal; to run the node alone, use `qraft run --headless --config {}`",
            args.config.display()
        );
    }
    let config = NodeConfig::load(&args.config)?;
    let genesis = load_genesis(&config.genesis)?;
    let node_key = open_key(&config.key)?;
    let you = open_key(&key_path)
        .with_context(|| format!("cannot open your key (--key {})", key_path.display()))?;
    if you.public() == node_key.public() {
        bail!(
            "--key {} is the node's own key; the dashboard needs your participant key",
            key_path.display()
        );
    }
    let log = log_file(&config.data_dir);
    logs::to_file(&log, "info")?;
    println!(
        "starting the node of {}; its log: {}",
        config.file.display(),
        log.display()
    );
    let outcome = runtime()?.block_on(async {
        let node = start_node(&config, genesis.clone(), node_key).await?;
        let title = genesis
            .node(node.id)
            .map_or_else(|| format!("node {}", node.id), |n| n.name.clone());
        tracing::info!(node = node.id, listen = %config.listen, "running with the dashboard");
        let addresses = genesis
            .nodes()
            .map(|n| {
                let address = config.peers.get(&n.id).unwrap_or(&n.address);
                (n.id, address.clone())
            })
            .collect();
        let dashboard = qraft_tui::run_until(
            qraft_tui::Dashboard {
                handle: node.handle.clone(),
                keypair: you,
                genesis,
                title,
                addresses,
                class: None,
                greeting: None,
            },
            // A signal ends the dashboard, which puts the terminal back.
            signal::stop_requested(true),
        );
        let shown = dashboard.await.context("the dashboard failed");
        let failed = node.handle.is_stopped();
        tracing::info!("stopping");
        node.shutdown().await;
        tracing::info!("stopped");
        shown?;
        if failed {
            bail!(
                "the node stopped on a fatal error (see {}); restart it to recover from {}",
                log.display(),
                config.data_dir.display()
            );
        }
        Ok(())
    });
    println!("stopped the node; its log: {}", log.display());
    outcome
}

/// The log of a node run with the dashboard: beside its data directory, `data/node1.log`
/// for `data/node1`.
fn log_file(data_dir: &Path) -> PathBuf {
    let mut name = data_dir
        .file_name()
        .map_or_else(|| "node".into(), |n| n.to_os_string());
    name.push(".log");
    data_dir.with_file_name(name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboards_log_is_beside_the_data_directory() {
        assert_eq!(
            log_file(Path::new("game/data/node1")),
            PathBuf::from("game/data/node1.log")
        );
        assert_eq!(
            log_file(Path::new("data/node1/")),
            PathBuf::from("data/node1.log")
        );
    }
}
