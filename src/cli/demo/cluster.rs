//! The demo's three voter nodes, in this process, on loopback QUIC.
//!
//! A new game's genesis names free ports. A continued game listens at its genesis's
//! addresses if they are free, else on new free ports, which every node (and the bots)
//! are told about: the genesis itself cannot change without changing the game.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use qraft_keys::Keypair;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::{Genesis, NodeSpec};
use qraft_node::core::types::NodeId;
use qraft_node::net::node::{NetNode, NetNodeError, NetNodeOptions};
use qraft_node::testkit::disk::free_port;

use super::folder::DemoGame;

/// Quick elections (50 ms ticks) and a block at most every 200 ms: a lively but readable
/// chain on one machine.
fn tuning() -> Tuning {
    Tuning {
        tick_ms: Some(50),
        election_ticks: Some(10),
        heartbeat_ticks: Some(2),
        max_batch_delay_ms: Some(200),
        ..Tuning::default()
    }
}

/// The running nodes.
pub struct Cluster {
    pub nodes: Vec<NetNode>,
    /// Where each node listens, `127.0.0.1:PORT`, in node order.
    pub addresses: Vec<String>,
    /// Whether those are not the genesis's addresses (clients need `--node` then).
    pub moved: bool,
}

impl Cluster {
    /// Starts the game's voters. Must be called inside a tokio runtime.
    pub async fn start(game: &DemoGame) -> Result<Cluster> {
        let genesis_addresses: Vec<String> = game
            .genesis
            .voters
            .iter()
            .map(|v| v.address.clone())
            .collect();
        let free = genesis_addresses.iter().all(|a| is_free(a));
        let addresses = if free {
            genesis_addresses.clone()
        } else {
            (0..genesis_addresses.len())
                .map(|_| free_port().map(|port| format!("127.0.0.1:{port}")))
                .collect::<std::io::Result<Vec<_>>>()
                .context("cannot find a free port on 127.0.0.1")?
        };
        let overrides: Vec<(NodeId, String)> = if free {
            Vec::new()
        } else {
            game.genesis
                .voters
                .iter()
                .map(|v| v.id)
                .zip(addresses.iter().cloned())
                .collect()
        };
        let listens = addresses
            .iter()
            .map(|address| {
                address
                    .parse()
                    .with_context(|| format!("{address:?} is not an address to listen on"))
            })
            .collect::<Result<Vec<SocketAddr>>>()?;
        let nodes = start_voters(
            &game.genesis,
            &game.nodes,
            &listens,
            &overrides,
            |name| game.data_dir(name),
            tuning(),
        )
        .await
        .map_err(|(spec, err)| {
            anyhow::Error::new(err).context(format!("cannot start {}", spec.name))
        })?;
        Ok(Cluster {
            nodes,
            addresses,
            moved: !free,
        })
    }

    /// Stops every node: closes its connections and its store.
    pub async fn stop(self) {
        stop(self.nodes).await;
    }
}

/// Starts `genesis`'s voters in this process: the i-th with `keys[i]`, listening on
/// `listens[i]`, its data in `data_dir(its name)`, reaching the other voters at `peers`
/// (by id) instead of their genesis addresses. When one cannot start, those started are
/// stopped and its error comes back with the voter it was.
pub async fn start_voters(
    genesis: &Genesis,
    keys: &[Keypair],
    listens: &[SocketAddr],
    peers: &[(NodeId, String)],
    data_dir: impl Fn(&str) -> PathBuf,
    tuning: Tuning,
) -> Result<Vec<NetNode>, (NodeSpec, NetNodeError)> {
    let mut nodes = Vec::with_capacity(listens.len());
    for ((spec, key), listen) in genesis.voters.iter().zip(keys).zip(listens) {
        let started = NetNode::start(NetNodeOptions {
            genesis: genesis.clone(),
            keypair: key.clone(),
            data_dir: data_dir(&spec.name),
            listen: *listen,
            peers: peers
                .iter()
                .filter(|(id, _)| *id != spec.id)
                .cloned()
                .collect(),
            tuning: tuning.clone(),
            submit_timeout: Duration::from_secs(10),
            id: None,
            dial_out: false,
        })
        .await;
        match started {
            Ok(node) => nodes.push(node),
            Err(err) => {
                stop(nodes).await;
                return Err((spec.clone(), err));
            }
        }
    }
    Ok(nodes)
}

/// Stops `nodes`, each within five seconds.
pub async fn stop(nodes: Vec<NetNode>) {
    for node in nodes {
        let id = node.id;
        if tokio::time::timeout(Duration::from_secs(5), node.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(node = id, "a node took over 5 s to close its connections");
        }
    }
}

/// Whether nothing listens on the UDP address `address` now.
fn is_free(address: &str) -> bool {
    UdpSocket::bind(address).is_ok()
}
