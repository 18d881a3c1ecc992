//! A 3-node game in this process over QUIC on loopback (as in `tests/cli_client.rs`), and
//! the real `qraft` binary run against it as the client.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::genesis::{NodeSpec, to_toml};
use qraft_node::net::client::Client;
use qraft_node::net::connections::Lane;
use qraft_node::net::node::NetNode;
use qraft_node::testkit::disk::free_port;
use qraft_node::testkit::quic::{loopback_game, start_voters};

/// The longest any one `qraft` run may take before the test kills it and fails.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);
/// How long [`Cluster::settle_connections`] waits at most.
const SETTLE_LIMIT: Duration = Duration::from_secs(3);
/// The connections one key may hold to a node.
const PER_KEY: usize = 8;
/// How long the nodes may take to stop at the end.
const SHUTDOWN_LIMIT: Duration = Duration::from_millis(500);
/// How long the cluster may take to elect a leader.
const LEADER_LIMIT: Duration = Duration::from_secs(20);

/// Three voters in this process and a learner (node 4) named in the genesis but not
/// running; genesis.toml and keys/ for the traders t0, t1, t2, the admin and a stranger
/// in a temporary directory. The nodes stop when it is dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub game: SampleGame,
    runtime: Option<tokio::runtime::Runtime>,
    nodes: Vec<NetNode>,
}

impl Cluster {
    pub fn start() -> Cluster {
        let mut game = loopback_game(&SampleOptions {
            traders: 3,
            cash: 1_000_000, // $10,000.00
            shares: 100,
            ..SampleOptions::default()
        })
        .expect("ports for the voters");
        let learner = Keypair::from_label("cli-golden/learner");
        game.genesis.learners.push(NodeSpec {
            id: 4,
            name: "node4".into(),
            key: learner.public(),
            address: format!("127.0.0.1:{}", free_port().expect("a port for the learner")),
        });
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::create_dir_all(dir.path().join("keys")).expect("keys/");
        fs::write(dir.path().join("genesis.toml"), to_toml(&game.genesis)).expect("genesis");
        let stranger = Keypair::from_label("cli-golden/stranger");
        let mut keys: Vec<(String, &Keypair)> = game
            .traders
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("t{i}"), k))
            .collect();
        keys.push(("admin".into(), &game.admin));
        keys.push(("stranger".into(), &stranger));
        for (name, key) in keys {
            let path = dir.path().join(format!("keys/{name}.key"));
            write_key_file(path, key, None, IfExists::Refuse).expect("a key file");
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let nodes = runtime.block_on(async {
            let nodes = start_voters(&game, &dir.path().join("data"), Tuning::default())
                .await
                .expect("the voters start");
            let voters: Vec<String> = game
                .genesis
                .voters
                .iter()
                .map(|v| v.address.clone())
                .collect();
            let client = Client::connect(&game.genesis, game.admin.clone(), &voters)
                .await
                .expect("a connection to the game");
            let deadline = Instant::now() + LEADER_LIMIT;
            while client.leader().await.expect("the leader").is_none() {
                assert!(Instant::now() < deadline, "no leader");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            client.close().await;
            nodes
        });
        Cluster {
            dir,
            game,
            runtime: Some(runtime),
            nodes,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The addresses of the nodes named in the genesis (voters, then the learner), in
    /// order of their ids.
    pub fn addresses(&self) -> Vec<(u64, String)> {
        let genesis = &self.game.genesis;
        genesis
            .voters
            .iter()
            .chain(&genesis.learners)
            .map(|n| (n.id, n.address.clone()))
            .collect()
    }

    /// Waits (up to [`SETTLE_LIMIT`]) until every running node has room for `needed`
    /// more connections of `key`'s (a name under keys/) within the 8 a key may hold: the
    /// one-shot transactions before have exited, but a node counts their connections
    /// for a few seconds longer.
    pub fn settle_connections(&self, key: &str, needed: usize) {
        let deadline = Instant::now() + SETTLE_LIMIT;
        while self
            .client_connections(key)
            .is_some_and(|held| held + needed > PER_KEY)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The most client connections of `key`'s (a name under keys/) any running node
    /// counts now; `None` for a name that is not the admin or a trader.
    pub fn client_connections(&self, key: &str) -> Option<usize> {
        let public = match key {
            "admin" => self.game.admin.public(),
            trader => match trader
                .strip_prefix('t')
                .and_then(|i| i.parse::<usize>().ok())
            {
                Some(i) if i < self.game.traders.len() => self.game.traders[i].public(),
                _ => return None,
            },
        };
        self.nodes
            .iter()
            .map(|n| n.connections().count_of(&public, Lane::Client))
            .max()
    }

    /// Stops the voter listening on `address` (its clients lose it), if it runs.
    pub fn stop(&mut self, address: &str) {
        let Some(runtime) = &self.runtime else { return };
        let Some(at) = self.nodes.iter().position(|n| {
            n.local_addr()
                .is_ok_and(|local| local.to_string() == address)
        }) else {
            return;
        };
        let node = self.nodes.remove(at);
        runtime.block_on(async {
            let _ = tokio::time::timeout(SHUTDOWN_LIMIT, node.shutdown()).await;
        });
    }

    /// `qraft ARGS... --key keys/KEY.key`, the genesis from QRAFT_GENESIS.
    pub fn command(&self, key: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qraft"));
        command
            .args(args)
            .arg("--key")
            .arg(self.path(&format!("keys/{key}.key")))
            .env("QRAFT_GENESIS", self.path("genesis.toml"))
            .env_remove("QRAFT_KEY")
            .env_remove("QRAFT_PASSPHRASE");
        command
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let nodes = std::mem::take(&mut self.nodes);
        runtime.block_on(async {
            // All at once, and not for long: the test has its output already.
            let mut stopping = tokio::task::JoinSet::new();
            for node in nodes {
                stopping.spawn(node.shutdown());
            }
            let all = async { while stopping.join_next().await.is_some() {} };
            let _ = tokio::time::timeout(SHUTDOWN_LIMIT, all).await;
        });
        runtime.shutdown_timeout(SHUTDOWN_LIMIT);
    }
}

/// A finished run of `qraft`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `command` without stdin, killing it if it outlives [`RUN_LIMIT`].
pub fn run(mut command: Command) -> Run {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("qraft starts");
    let stdout = drain(&mut child, true);
    let stderr = drain(&mut child, false);
    let status = wait_bounded(&mut child, RUN_LIMIT);
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8(stdout.join().expect("stdout reader")).expect("UTF-8"),
        stderr: String::from_utf8(stderr.join().expect("stderr reader")).expect("UTF-8"),
    }
}

/// Reads the child's stdout (or stderr) to the end on a thread.
fn drain(child: &mut Child, stdout: bool) -> std::thread::JoinHandle<Vec<u8>> {
    let pipe: Option<Box<dyn Read + Send>> = if stdout {
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>)
    } else {
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>)
    };
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}

/// Waits for `child` to exit; kills it and fails the test after `limit`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for qraft") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qraft ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
