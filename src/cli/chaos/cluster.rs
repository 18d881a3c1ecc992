//! The chaos run's voters: real `qraft run --headless` processes on loopback, the faults
//! done to them from outside (kill -9, SIGSTOP, SIGCONT, restart), and a probe that asks
//! each node for its status and blocks as a client would.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qraft_client::query;
use qraft_keys::Keypair;
use qraft_node::api::Status;
use qraft_node::net::client::Client;
use qraft_node::net::proto::{BlockSummary, Request, Response};
use qraft_node::testkit::disk::GameDir;

/// How long one probe (connect, then one request) may take: a node on loopback answers
/// in milliseconds, and a stopped or dead one must not hold up the fault loop that
/// measures failover in tens of milliseconds.
const PROBE_TIMEOUT: Duration = Duration::from_millis(400);
/// How long a node may take to stop cleanly on SIGTERM before it is killed: a node
/// flushes its store on the way out, which takes well under a second on loopback.
const STOP_WAIT: Duration = Duration::from_secs(20);

/// One voter process (absent while killed).
struct NodeProcess {
    child: Option<Child>,
    paused: bool,
}

/// The voters of the game and a probe on each.
pub struct Cluster {
    exe: PathBuf,
    pub game: GameDir,
    nodes: BTreeMap<u64, NodeProcess>,
    probes: BTreeMap<u64, Option<Client>>,
    observer: Keypair,
}

impl Cluster {
    /// Starts every voter of `game` as a `qraft run --headless` process of `exe`.
    pub fn start(exe: &Path, game: GameDir) -> Result<Cluster> {
        let observer = game.game.admin.clone();
        let mut cluster = Cluster {
            exe: exe.to_path_buf(),
            nodes: BTreeMap::new(),
            probes: BTreeMap::new(),
            observer,
            game,
        };
        for id in cluster.game.node_ids() {
            cluster.probes.insert(id, None);
            cluster.spawn(id)?;
        }
        Ok(cluster)
    }

    pub fn ids(&self) -> Vec<u64> {
        self.nodes.keys().copied().collect()
    }

    pub fn log_path(&self, id: u64) -> PathBuf {
        self.game.dir.join(format!("node{id}.log"))
    }

    fn spawn(&mut self, id: u64) -> Result<()> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .context("cannot open a node's log file")?;
        let child = Command::new(&self.exe)
            .args(["run", "--headless", "--config"])
            .arg(self.game.config(id))
            .env(
                "RUST_LOG",
                std::env::var("QRAFT_CHAOS_NODE_LOG").unwrap_or_else(|_| "info".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("cannot start a node process")?;
        self.nodes.insert(
            id,
            NodeProcess {
                child: Some(child),
                paused: false,
            },
        );
        Ok(())
    }

    /// kill -9 of node `id`.
    pub fn kill(&mut self, id: u64) {
        if let Some(node) = self.nodes.get_mut(&id)
            && let Some(mut child) = node.child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
            node.paused = false;
        }
        self.forget_probe(id);
    }

    /// Starts node `id` again from its data directory.
    pub fn restart(&mut self, id: u64) -> Result<()> {
        self.kill(id);
        self.spawn(id)
    }

    /// SIGSTOP (`pause`) or SIGCONT of node `id`.
    pub fn signal_pause(&mut self, id: u64, pause: bool) -> Result<()> {
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let Some(child) = &node.child else {
            return Ok(());
        };
        let signal = if pause { "-STOP" } else { "-CONT" };
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .context("cannot run kill")?;
        anyhow::ensure!(status.success(), "kill {signal} {} failed", child.id());
        node.paused = pause;
        if pause {
            self.forget_probe(id);
        }
        Ok(())
    }

    /// Whether node `id` runs and is not stopped.
    pub fn is_up(&self, id: u64) -> bool {
        self.nodes
            .get(&id)
            .is_some_and(|n| n.child.is_some() && !n.paused)
    }

    /// Stops every node cleanly (SIGTERM); the ids of those that had to be killed.
    pub fn stop_all(&mut self) -> Vec<u64> {
        let mut killed = Vec::new();
        let ids = self.ids();
        for &id in &ids {
            let _ = self.signal_pause(id, false);
            if let Some(child) = self.nodes.get(&id).and_then(|n| n.child.as_ref()) {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
            }
        }
        let deadline = Instant::now() + STOP_WAIT;
        for id in ids {
            let Some(mut child) = self.nodes.get_mut(&id).and_then(|n| n.child.take()) else {
                continue;
            };
            loop {
                match child.try_wait() {
                    Ok(Some(status)) if status.success() => break,
                    Ok(Some(_)) | Err(_) => {
                        killed.push(id);
                        break;
                    }
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        killed.push(id);
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
        killed
    }

    fn forget_probe(&mut self, id: u64) {
        if let Some(Some(client)) = self.probes.insert(id, None) {
            client.abandon("the chaos run faulted this node");
        }
    }

    /// One request to node `id` within [`PROBE_TIMEOUT`], connecting first if needed;
    /// `None` if it does not answer (its probe connection is then dropped).
    async fn ask(&mut self, id: u64, request: &Request) -> Option<Response> {
        if !self.is_up(id) {
            return None;
        }
        let address = self.game.address(id);
        let genesis = &self.game.game.genesis;
        let observer = self.observer.clone();
        let slot = self.probes.entry(id).or_insert(None);
        let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
            if slot.is_none() {
                *slot = Some(Client::connect(genesis, observer, &[address]).await.ok()?);
            }
            slot.as_ref()?.request(request).await.ok()
        })
        .await
        .ok()
        .flatten();
        if answer.is_none()
            && let Some(client) = slot.take()
        {
            client.abandon("no answer");
        }
        answer
    }

    /// Node `id`'s status, if it answers.
    pub async fn status(&mut self, id: u64) -> Option<Status> {
        let query = query::status();
        query.read(self.ask(id, query.request()).await?).ok()
    }

    /// The statuses of every node that answers.
    pub async fn statuses(&mut self) -> BTreeMap<u64, Status> {
        let mut all = BTreeMap::new();
        for id in self.ids() {
            if let Some(status) = self.status(id).await {
                all.insert(id, status);
            }
        }
        all
    }

    /// Block headers `from..=to` from node `id`, if it answers.
    pub async fn blocks(&mut self, id: u64, from: u64, to: u64) -> Option<Vec<BlockSummary>> {
        let query = query::blocks(from, to);
        query.read(self.ask(id, query.request()).await?).ok()
    }

    /// Closes the probes' connections.
    pub async fn close_probes(&mut self) {
        for slot in self.probes.values_mut() {
            if let Some(client) = slot.take() {
                client.close().await;
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.values_mut() {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The leader the answering nodes agree on: the one that says it leads in the highest
/// term, if every other answering node names it too.
pub fn agreed_leader(statuses: &BTreeMap<u64, Status>) -> Option<u64> {
    let leader = statuses
        .values()
        .filter(|s| s.role == qraft_node::api::Role::Leader)
        .max_by_key(|s| s.term)?
        .id;
    statuses
        .values()
        .all(|s| s.leader == Some(leader))
        .then_some(leader)
}
