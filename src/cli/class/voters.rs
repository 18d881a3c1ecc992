//! The class's three voters, in this process. They listen on every interface at their
//! ports (students' laptops dial them there) and reach each other on loopback, so a new
//! DHCP lease on the teacher's laptop never splits them.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result};
use qraft_node::config::Tuning;
use qraft_node::net::node::{NetNode, NetNodeOptions};

use super::folder::ClassGame;
use crate::cli::demo::cluster::stop;

/// Blocks at most every 100 ms: quick feedback on a class's orders, few enough blocks for
/// thirty laptops to follow on Wi-Fi.
fn tuning() -> Tuning {
    Tuning {
        max_batch_delay_ms: Some(100),
        ..Tuning::default()
    }
}

/// The running voters.
pub struct Voters {
    pub nodes: Vec<NetNode>,
    /// Where each listens on this laptop, `127.0.0.1:PORT`, in node order (for the bots
    /// and the teacher's own tools).
    pub loopback: Vec<String>,
}

impl Voters {
    /// Starts the class's voters. Must be called inside a tokio runtime.
    pub async fn start(game: &ClassGame) -> Result<Voters> {
        let ports = game.voter_ports()?;
        let loopback: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut nodes = Vec::with_capacity(ports.len());
        for ((spec, key), port) in game.genesis.voters.iter().zip(&game.nodes).zip(&ports) {
            let peers = game
                .genesis
                .voters
                .iter()
                .zip(&loopback)
                .filter(|(other, _)| other.id != spec.id)
                .map(|(other, address)| (other.id, address.clone()))
                .collect();
            let started = NetNode::start(NetNodeOptions {
                genesis: game.genesis.clone(),
                keypair: key.clone(),
                data_dir: game.data_dir(&spec.name),
                listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port)),
                peers,
                tuning: tuning(),
                submit_timeout: Duration::from_secs(10),
                id: None,
                dial_out: false,
            })
            .await;
            match started {
                Ok(node) => nodes.push(node),
                Err(err) => {
                    stop(nodes).await;
                    return Err(err).with_context(|| {
                        format!(
                            "cannot start {} on UDP port {port}: another program may use it \
                             (another `qraft class`?); choose other ports with --port",
                            spec.name
                        )
                    });
                }
            }
        }
        Ok(Voters { nodes, loopback })
    }

    pub async fn stop(self) {
        stop(self.nodes).await;
    }
}
