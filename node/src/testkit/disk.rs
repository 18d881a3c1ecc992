//! A local game on disk: genesis, key files and one node configuration per node, every
//! node on a free loopback port. What the process tests, `qraft bench` and `qraft demo`
//! run.

use std::fs;
use std::io;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};

use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};

use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use crate::core::genesis::{NodeSpec, to_toml};

/// A free UDP port on loopback (bound, then released for the node to take).
pub fn free_port() -> io::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A sample game written into `dir`: genesis.toml, keys/ (every node, the admin as
/// admin.key, trader i as t{i}.key), and node{id}.toml for `voters` voters and `learners`
/// learners, each on a free loopback port.
pub struct GameDir {
    pub dir: PathBuf,
    pub game: SampleGame,
    /// Keys of the learner nodes (ids after the voters').
    pub learner_keys: Vec<Keypair>,
}

/// Where a node of a [`GameDir`] is reached and what it listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeAddress {
    /// In the genesis: where the other nodes and clients reach it.
    pub advertised: String,
    /// In its configuration.
    pub listen: String,
}

impl NodeAddress {
    /// A free port on loopback, listened on where it is advertised.
    pub fn loopback() -> io::Result<NodeAddress> {
        let address = format!("127.0.0.1:{}", free_port()?);
        Ok(NodeAddress {
            advertised: address.clone(),
            listen: address,
        })
    }
}

impl GameDir {
    /// The game with every node on a free loopback port.
    pub fn create(
        dir: &Path,
        options: &SampleOptions,
        learners: usize,
        tuning: &str,
    ) -> io::Result<GameDir> {
        GameDir::create_with(dir, options, learners, tuning, &|_| NodeAddress::loopback())
    }

    /// The game with node `id` at `address(id)`.
    pub fn create_with(
        dir: &Path,
        options: &SampleOptions,
        learners: usize,
        tuning: &str,
        address: &dyn Fn(u64) -> io::Result<NodeAddress>,
    ) -> io::Result<GameDir> {
        let mut game = sample_game(options);
        let voters = game.genesis.voters.len();
        let mut listen = std::collections::BTreeMap::new();
        for voter in &mut game.genesis.voters {
            let at = address(voter.id)?;
            voter.address = at.advertised;
            listen.insert(voter.id, at.listen);
        }
        let learner_keys: Vec<Keypair> = (0..learners)
            .map(|i| Keypair::from_label(&format!("test/learner/{i}")))
            .collect();
        for (i, key) in learner_keys.iter().enumerate() {
            let id = (voters + i + 1) as u64;
            let at = address(id)?;
            listen.insert(id, at.listen);
            game.genesis.learners.push(NodeSpec {
                id,
                name: format!("node{id}"),
                key: key.public(),
                address: at.advertised,
            });
        }
        fs::create_dir_all(dir.join("keys"))?;
        fs::write(dir.join("genesis.toml"), to_toml(&game.genesis))?;
        let nodes: Vec<(NodeSpec, &Keypair)> = game
            .genesis
            .voters
            .iter()
            .cloned()
            .zip(game.nodes.iter())
            .chain(
                game.genesis
                    .learners
                    .iter()
                    .cloned()
                    .zip(learner_keys.iter()),
            )
            .collect();
        for (spec, key) in nodes {
            let key_file = format!("keys/{}.key", spec.name);
            write_key(&dir.join(&key_file), key)?;
            fs::write(
                dir.join(format!("{}.toml", spec.name)),
                format!(
                    "genesis = \"genesis.toml\"\nkey = \"{key_file}\"\ndata_dir = \"data/{}\"\nlisten = \"{}\"\n\n[tuning]\n{tuning}\n",
                    spec.name, listen[&spec.id]
                ),
            )?;
        }
        for (i, trader) in game.traders.iter().enumerate() {
            write_key(&dir.join(format!("keys/t{i}.key")), trader)?;
        }
        write_key(&dir.join("keys/admin.key"), &game.admin)?;
        Ok(GameDir {
            dir: dir.to_path_buf(),
            game,
            learner_keys,
        })
    }

    pub fn node_ids(&self) -> Vec<u64> {
        self.game.genesis.nodes().map(|n| n.id).collect()
    }

    pub fn address(&self, id: u64) -> String {
        self.game
            .genesis
            .node(id)
            .map(|n| n.address.clone())
            .unwrap_or_default()
    }

    pub fn data_dir(&self, id: u64) -> PathBuf {
        self.dir.join(format!("data/node{id}"))
    }

    pub fn config(&self, id: u64) -> PathBuf {
        self.dir.join(format!("node{id}.toml"))
    }
}

fn write_key(path: &Path, key: &Keypair) -> io::Result<()> {
    write_key_file(path, key, None, IfExists::Replace).map_err(|e| io::Error::other(e.to_string()))
}
