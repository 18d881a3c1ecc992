//! The voters of a sample game as networked nodes in one process, on real QUIC over
//! loopback: what the network, client-command and bot tests run against.

use std::io;
use std::path::Path;
use std::time::Duration;

use crate::config::Tuning;
use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use crate::net::node::{NetNode, NetNodeError, NetNodeOptions};

use super::disk::free_port;

/// A sample game whose voters listen on free loopback ports.
pub fn loopback_game(options: &SampleOptions) -> io::Result<SampleGame> {
    let mut game = sample_game(options);
    for voter in &mut game.genesis.voters {
        voter.address = format!("127.0.0.1:{}", free_port()?);
    }
    Ok(game)
}

/// Starts every voter of `game`, each with its data under `dir/<name>`; must be called in
/// a tokio runtime. Ticks are 20 ms unless `tuning` says otherwise, so elections are quick.
pub async fn start_voters(
    game: &SampleGame,
    dir: &Path,
    mut tuning: Tuning,
) -> Result<Vec<NetNode>, NetNodeError> {
    tuning.tick_ms = tuning.tick_ms.or(Some(20));
    let mut nodes = Vec::new();
    for (spec, key) in game.genesis.voters.iter().zip(&game.nodes) {
        let node = NetNode::start(NetNodeOptions {
            genesis: game.genesis.clone(),
            keypair: key.clone(),
            data_dir: dir.join(&spec.name),
            listen: spec
                .address
                .parse()
                .map_err(|_| NetNodeError::Address(spec.address.clone()))?,
            peers: Default::default(),
            tuning: tuning.clone(),
            submit_timeout: Duration::from_secs(10),
            id: None,
            dial_out: false,
        })
        .await?;
        nodes.push(node);
    }
    Ok(nodes)
}
