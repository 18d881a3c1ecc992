//! The class's three voters, in this process. They listen on every interface at their
//! ports (students' laptops dial them there) and reach each other on loopback, so a new
//! DHCP lease on the teacher's laptop never splits them.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Result;
use qraft_node::config::Tuning;
use qraft_node::core::types::NodeId;
use qraft_node::net::node::NetNode;

use super::folder::ClassGame;
use crate::cli::demo::cluster::{start_voters, stop};

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
        let listens: Vec<SocketAddr> = ports
            .iter()
            .map(|port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, *port)))
            .collect();
        let peers: Vec<(NodeId, String)> = game
            .genesis
            .voters
            .iter()
            .map(|v| v.id)
            .zip(loopback.iter().cloned())
            .collect();
        let nodes = start_voters(
            &game.genesis,
            &game.nodes,
            &listens,
            &peers,
            |name| game.data_dir(name),
            tuning(),
        )
        .await
        .map_err(|(spec, err)| {
            let port = spec
                .address
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_owned();
            anyhow::Error::new(err).context(format!(
                "cannot start {} on UDP port {port}: another program may use it \
                 (another `qraft class`?); choose other ports with --port",
                spec.name
            ))
        })?;
        Ok(Voters { nodes, loopback })
    }

    pub async fn stop(self) {
        stop(self.nodes).await;
    }
}
