//! Every node of the game: its part in consensus and whether this dashboard reaches it.

use qraft_node::api::{Role, Status};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::NodeId;

/// Whether a node answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Not asked yet.
    Unknown,
    Up,
    /// Why not.
    Down(String),
}

/// One node's row of the cluster panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    pub id: NodeId,
    pub name: String,
    pub voter: bool,
    pub reach: Reach,
    /// Its last answer (kept while it is unreachable, shown dimmed).
    pub status: Option<Status>,
    /// When it was last heard from, ms since the epoch.
    pub heard_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterState {
    /// The node this dashboard runs in.
    pub local: NodeId,
    /// Voters first, then learners, in genesis order.
    pub nodes: Vec<NodeRow>,
    /// The local node has stopped: nothing more will come.
    pub stopped: bool,
}

impl ClusterState {
    pub fn from_genesis(genesis: &Genesis, local: NodeId) -> ClusterState {
        let nodes = genesis
            .voters
            .iter()
            .map(|n| (n, true))
            .chain(genesis.learners.iter().map(|n| (n, false)))
            .map(|(n, voter)| NodeRow {
                id: n.id,
                name: n.name.clone(),
                voter,
                reach: Reach::Unknown,
                status: None,
                heard_ms: None,
            })
            .collect();
        ClusterState {
            local,
            nodes,
            stopped: false,
        }
    }

    /// Adds a row for the local node when the genesis does not name it (a laptop
    /// registered later, as `qraft join` does), named `name`: its status is the one the
    /// header's leader and height come from.
    pub fn ensure_local(&mut self, name: &str) {
        if self.row(self.local).is_none() {
            self.nodes.push(NodeRow {
                id: self.local,
                name: name.to_owned(),
                voter: false,
                reach: Reach::Unknown,
                status: None,
                heard_ms: None,
            });
        }
    }

    pub fn row(&self, id: NodeId) -> Option<&NodeRow> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn local_status(&self) -> Option<&Status> {
        self.row(self.local).and_then(|r| r.status.as_ref())
    }

    /// The leader as the local node knows it.
    pub fn leader(&self) -> Option<NodeId> {
        self.local_status().and_then(|s| s.leader)
    }

    pub fn name_of(&self, id: NodeId) -> String {
        self.row(id)
            .map_or_else(|| format!("node {id}"), |r| r.name.clone())
    }

    /// The commit index to measure lag against: the leader's, else the highest known.
    pub fn reference_commit(&self) -> u64 {
        let reachable = || {
            self.nodes
                .iter()
                .filter(|n| n.reach == Reach::Up)
                .filter_map(|n| n.status.as_ref())
        };
        reachable()
            .find(|s| s.role == Role::Leader)
            .map(|s| s.commit_index)
            .or_else(|| reachable().map(|s| s.commit_index).max())
            .unwrap_or(0)
    }

    /// Nodes that do not answer.
    pub fn unreachable(&self) -> Vec<&NodeRow> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.reach, Reach::Down(_)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_node_the_genesis_does_not_name_gets_a_row() {
        let game = qraft_node::core::genesis::sample::sample_game(&Default::default());
        let mut cluster = ClusterState::from_genesis(&game.genesis, 40);
        assert!(cluster.row(40).is_none());
        cluster.ensure_local("ada-40");
        let row = cluster.row(40).expect("a row for the laptop");
        assert_eq!((row.name.as_str(), row.voter), ("ada-40", false));
        let rows = cluster.nodes.len();
        cluster.ensure_local("ada-40");
        assert_eq!(cluster.nodes.len(), rows, "once");
        // A genesis node keeps its own row.
        let mut voter = ClusterState::from_genesis(&game.genesis, 1);
        let before = voter.nodes.len();
        voter.ensure_local("x");
        assert_eq!(voter.nodes.len(), before);
    }
}
