//! A cluster of real node threads in one process, over [`MemNet`], each node with its
//! own fjall store in a temp dir: what the crash tests and the benchmark drive through
//! [`Handle`]s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::Handle;
use crate::api::Role;
use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use crate::core::types::NodeId;
use crate::io::runner::RunningNode;
use crate::replica::{Replica, ReplicaConfig, ReplicaError};
use crate::testkit::memnet::MemNet;

use super::faults::{Faults, Partition};

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub game: SampleOptions,
    pub seed: u64,
    pub faults: Faults,
    /// Applied to every node's configuration (tick, batch size, snapshots...).
    pub tune: fn(&mut ReplicaConfig),
    pub submit_timeout: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            game: SampleOptions::default(),
            seed: 1,
            faults: Faults::none(),
            tune: |config| {
                // Fast elections for tests: 20 ms ticks, 200–400 ms election timeout.
                config.tick_ms = 20;
            },
            submit_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Replica(#[from] ReplicaError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub struct LocalCluster {
    pub game: SampleGame,
    root: tempfile::TempDir,
    net: Arc<MemNet>,
    nodes: BTreeMap<NodeId, Option<RunningNode>>,
    handles: BTreeMap<NodeId, Handle>,
    options: ClusterOptions,
}

impl LocalCluster {
    /// Starts every voter of a new sample game.
    pub fn start(options: ClusterOptions) -> Result<LocalCluster, ClusterError> {
        let game = sample_game(&options.game);
        let root = tempfile::tempdir()?;
        let net = MemNet::new(options.seed, options.faults.clone());
        let mut cluster = LocalCluster {
            game,
            root,
            net,
            nodes: BTreeMap::new(),
            handles: BTreeMap::new(),
            options,
        };
        let ids: Vec<NodeId> = cluster.game.genesis.voters.iter().map(|n| n.id).collect();
        for id in ids {
            cluster.start_node(id)?;
        }
        Ok(cluster)
    }

    pub fn data_dir(&self, id: NodeId) -> PathBuf {
        self.root.path().join(format!("node{id}"))
    }

    /// Starts (or restarts) node `id` from its data directory.
    pub fn start_node(&mut self, id: NodeId) -> Result<(), ClusterError> {
        if matches!(self.nodes.get(&id), Some(Some(_))) {
            return Ok(());
        }
        let mut config = ReplicaConfig::new(id);
        (self.options.tune)(&mut config);
        let replica = Replica::open(config, &self.game.genesis, &self.data_dir(id))?;
        let (handle, node) =
            crate::api::start(replica, self.net.clone(), self.options.submit_timeout)?;
        self.net.register(id, node.inbox());
        self.handles.insert(id, handle);
        self.nodes.insert(id, Some(node));
        Ok(())
    }

    /// Kills node `id` (nothing not yet durable survives); its data directory stays.
    pub fn kill(&mut self, id: NodeId) {
        self.net.unregister(id);
        if let Some(slot) = self.nodes.get_mut(&id)
            && let Some(node) = slot.take()
        {
            node.kill();
        }
    }

    pub fn is_up(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(&id), Some(Some(_)))
    }

    /// The handle of node `id` (the last one started; a killed node's handle answers
    /// `Stopped`).
    pub fn handle(&self, id: NodeId) -> Handle {
        self.handles[&id].clone()
    }

    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub fn net(&self) -> &MemNet {
        &self.net
    }

    /// Partitions node `id` from all the others (until `net().heal()`).
    pub fn cut_off(&self, id: NodeId) {
        let others = self
            .ids()
            .into_iter()
            .filter(|&other| other != id)
            .collect();
        self.net
            .set_partition(Partition::groups(vec![vec![id], others]));
    }

    /// Waits until a live node leads and every live node knows it.
    pub async fn wait_for_leader(&self, within: Duration) -> Option<NodeId> {
        let deadline = Instant::now() + within;
        loop {
            let mut leaders = Vec::new();
            let mut known = Vec::new();
            for (id, node) in &self.nodes {
                if node.is_none() {
                    continue;
                }
                if let Ok(status) = self.handles[id].status().await {
                    if status.role == Role::Leader {
                        leaders.push(*id);
                    }
                    known.push(status.leader);
                }
            }
            if let [leader] = leaders[..]
                && known.iter().all(|k| *k == Some(leader))
            {
                return Some(leader);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until every live node has applied at least `height`.
    pub async fn wait_for_height(&self, height: u64, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let mut all = true;
            for (id, node) in &self.nodes {
                if node.is_none() {
                    continue;
                }
                match self.handles[id].status().await {
                    Ok(status) if status.height >= height => {}
                    _ => all = false,
                }
            }
            if all {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for slot in self.nodes.values_mut() {
            if let Some(node) = slot.take() {
                let _ = node.stop();
            }
        }
    }
}
