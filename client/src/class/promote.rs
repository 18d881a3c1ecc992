//! Making a joined machine a voter: a laptop (or a lab machine that ran `qraft join`)
//! the teacher trusts holds the game's record and votes on it, so the game goes on when
//! the teacher's laptop sleeps or leaves.
//!
//! The machine joined as a learner that dials out: no one dials it. To vote it must be
//! reachable by every node, so the steps are:
//! 1. find where its connections come from, as this laptop's voters see them (the
//!    machine's node listens on the socket it dials from);
//! 2. register it there (`SetNodeAddress`, signed by the teacher's key);
//! 3. wait until it holds the chain up to the leader's commit;
//! 4. promote it (a Raft membership change, proposed on the leader);
//! 5. while more than one voter runs on this laptop, make one of them (never the leader,
//!    never the one the class registers through) a learner in its place, so that after
//!    two promotions the voters elsewhere are a majority.

use std::net::SocketAddr;
use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::{Handle, MembershipChange, Status};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::NodeId;
use qraft_node::net::client::Client;
use qraft_node::net::peer::PeerLocator;

use super::admit::{AdmitError, Admitter};
use super::view::VoterView;
use crate::query;

/// The most voters a class keeps: five tolerate two machines lost; more only slow every
/// commit down.
pub const MAX_VOTERS: usize = 5;

/// How long the machine may take to catch up before it is promoted: a snapshot and a few
/// thousand blocks on a LAN take seconds; school Wi-Fi may take a minute.
const CATCH_UP_WAIT: Duration = Duration::from_secs(90);

/// How long a membership change may take to be applied: a LAN commit takes milliseconds;
/// a leader election a second or two.
const MEMBERSHIP_WAIT: Duration = Duration::from_secs(20);

/// How often progress is checked while waiting.
const POLL: Duration = Duration::from_millis(200);

/// Blocks the machine may be behind the leader's commit and still be promoted: it is
/// replicating, and Raft sends it the rest as a voter.
const CATCH_UP_SLACK: u64 = 16;

/// A voter running in this process (on the teacher's laptop).
#[derive(Clone)]
pub struct LocalVoter {
    pub handle: Handle,
    /// Where its peers' connections come from.
    pub locator: PeerLocator,
}

/// Promotes joined machines.
pub struct Promoter {
    /// This laptop's voters; the first is the one the class registers through.
    local: Vec<LocalVoter>,
    admin: Keypair,
    genesis: Genesis,
}

/// A machine that is a voter now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Promoted {
    pub address: String,
    /// The voter on this laptop that became a learner in its place.
    pub retired: Option<NodeId>,
}

/// Why a machine could not be made a voter (the teacher reads it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromoteError {
    #[error("it is a voter already")]
    AlreadyVoter,
    #[error(
        "the game has {MAX_VOTERS} voters, the most it keeps (they tolerate two machines lost)"
    )]
    TooManyVoters,
    #[error(
        "its laptop is not connected now: start `qraft join` on it again, wait for its \
         blocks, and try again"
    )]
    NotConnected,
    #[error("node {0} is not registered in this game")]
    Unknown(NodeId),
    #[error("registering its address failed: {0}")]
    Register(AdmitError),
    #[error(
        "it did not catch up with the chain within {}s (is its laptop asleep, or its \
         Wi-Fi weak?); it is registered at its address and stays a learner",
        CATCH_UP_WAIT.as_secs()
    )]
    Behind,
    #[error("the voters have no leader now; try again in a few seconds")]
    NoLeader,
    #[error("the leader refused the change: {0}")]
    Refused(String),
    #[error("the change was not applied within {}s: {why}", MEMBERSHIP_WAIT.as_secs())]
    NotApplied { why: String },
    #[error("this laptop's node stopped: {0}")]
    Node(String),
}

fn node_error(err: impl std::fmt::Display) -> PromoteError {
    PromoteError::Node(err.to_string())
}

impl Promoter {
    /// `local` must not be empty: the class runs at least one voter here.
    pub fn new(local: Vec<LocalVoter>, admin: Keypair, genesis: Genesis) -> Promoter {
        assert!(
            !local.is_empty(),
            "a class runs its voters in its own process"
        );
        Promoter {
            local,
            admin,
            genesis,
        }
    }

    fn first(&self) -> &Handle {
        &self.local[0].handle
    }

    fn is_here(&self, id: NodeId) -> bool {
        self.local.iter().any(|v| v.handle.id() == id)
    }

    /// The game's voters, as the Class panel lists them.
    pub async fn voters(&self) -> Result<Vec<VoterView>, PromoteError> {
        let status = self.first().status().await.map_err(node_error)?;
        let nodes = self.first().nodes().await.map_err(node_error)?;
        Ok(status
            .voters
            .iter()
            .map(|&id| {
                let spec = nodes.iter().find(|n| n.id == id);
                VoterView {
                    node: id,
                    name: spec.map_or_else(|| format!("node{id}"), |s| s.name.clone()),
                    here: self.is_here(id),
                    address: spec.map_or_else(String::new, |s| s.address.clone()),
                }
            })
            .collect())
    }

    /// Makes node `id` a voter, telling each step to `step`.
    pub async fn promote(
        &self,
        admitter: &Admitter,
        id: NodeId,
        step: &(dyn Fn(String) + Send + Sync),
    ) -> Result<Promoted, PromoteError> {
        let status = self.first().status().await.map_err(node_error)?;
        if status.voters.contains(&id) {
            return Err(PromoteError::AlreadyVoter);
        }
        let here: Vec<NodeId> = status
            .voters
            .iter()
            .copied()
            .filter(|v| self.is_here(*v))
            .collect();
        let retire = here.len() > 1;
        if !retire && status.voters.len() >= MAX_VOTERS {
            return Err(PromoteError::TooManyVoters);
        }
        let spec = self
            .first()
            .node(id)
            .await
            .map_err(node_error)?
            .ok_or(PromoteError::Unknown(id))?;
        let address = if spec.dials_out() {
            let seen = self.seen_at(id).ok_or(PromoteError::NotConnected)?;
            let address = seen.to_string();
            step(format!("registering its address {address}"));
            admitter
                .set_node_address(id, &address)
                .await
                .map_err(PromoteError::Register)?;
            address
        } else {
            spec.address.clone()
        };
        step("waiting for it to catch up".to_owned());
        self.caught_up(id).await?;
        step("making it a voter".to_owned());
        self.change(MembershipChange::Promote(id)).await?;
        self.applied(|s| s.voters.contains(&id)).await?;
        let retired = if retire {
            let status = self.first().status().await.map_err(node_error)?;
            let first = self.first().id();
            // Never the leader (a leader stepping down to learner is a case Raft leaves
            // untested), and the one registrations go through last.
            let mut candidates: Vec<NodeId> = here
                .iter()
                .copied()
                .filter(|v| Some(*v) != status.leader && status.voters.contains(v))
                .collect();
            candidates.sort_by_key(|v| (*v == first, std::cmp::Reverse(*v)));
            match candidates.first().copied() {
                Some(retiree) => {
                    step(format!(
                        "node {retiree} on this laptop steps down to learner"
                    ));
                    self.change(MembershipChange::AddLearner(retiree)).await?;
                    self.applied(|s| !s.voters.contains(&retiree)).await?;
                    Some(retiree)
                }
                None => None,
            }
        } else {
            None
        };
        Ok(Promoted { address, retired })
    }

    /// Where node `id`'s connections come from, as this laptop's voters see them.
    fn seen_at(&self, id: NodeId) -> Option<SocketAddr> {
        self.local.iter().find_map(|v| v.locator.seen_at(id))
    }

    /// Waits until node `id` matches the leader's commit (within [`CATCH_UP_SLACK`]),
    /// as the leader's progress shows; when the leader is elsewhere, until it is
    /// replicating at all.
    async fn caught_up(&self, id: NodeId) -> Result<(), PromoteError> {
        let deadline = tokio::time::Instant::now() + CATCH_UP_WAIT;
        loop {
            if let Some(leader) = self.local_leader().await? {
                let status = leader.status().await.map_err(node_error)?;
                let matched = status.peers.iter().find(|p| p.id == id);
                if matched.is_some_and(|p| p.matched + CATCH_UP_SLACK >= status.commit_index) {
                    return Ok(());
                }
            } else if self.seen_at(id).is_some() {
                // The leader is on another machine: its progress cannot be read here.
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PromoteError::Behind);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The leader's handle, if it runs here.
    async fn local_leader(&self) -> Result<Option<&Handle>, PromoteError> {
        let status = self.first().status().await.map_err(node_error)?;
        Ok(status
            .leader
            .and_then(|leader| self.local.iter().find(|v| v.handle.id() == leader))
            .map(|v| &v.handle))
    }

    /// Proposes `change` on the leader: through its handle when it runs here, else over
    /// QUIC as the game's admin. A leader being elected is waited for.
    async fn change(&self, change: MembershipChange) -> Result<(), PromoteError> {
        let deadline = tokio::time::Instant::now() + MEMBERSHIP_WAIT;
        loop {
            let status = self.first().status().await.map_err(node_error)?;
            let outcome = match status.leader {
                None => Err(PromoteError::NoLeader),
                Some(leader) => match self.local.iter().find(|v| v.handle.id() == leader) {
                    Some(here) => here
                        .handle
                        .change_membership(change)
                        .await
                        .map_err(|err| PromoteError::Refused(err.to_string())),
                    None => self.change_remotely(leader, change).await,
                },
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(err) if tokio::time::Instant::now() >= deadline => return Err(err),
                Err(err) => {
                    tracing::debug!(%err, ?change, "the membership change waits for a leader");
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    }

    async fn change_remotely(
        &self,
        leader: NodeId,
        change: MembershipChange,
    ) -> Result<(), PromoteError> {
        let registry = self.first().nodes().await.map_err(node_error)?;
        let spec = registry
            .iter()
            .find(|n| n.id == leader)
            .ok_or(PromoteError::Unknown(leader))?;
        let address = vec![spec.address.clone()];
        // The leader may be a machine promoted earlier: trusted as the chain registered it.
        let client =
            Client::connect_trusting(&self.genesis, &registry, self.admin.clone(), &address)
                .await
                .map_err(|err| PromoteError::Refused(err.to_string()))?;
        let proposal = query::membership(change);
        let answer = tokio::time::timeout(MEMBERSHIP_WAIT, client.request(proposal.request()))
            .await
            .map_err(|_| PromoteError::NotApplied {
                why: "the leader did not answer".into(),
            });
        client.close().await;
        let response = answer?.map_err(|err| PromoteError::Refused(err.to_string()))?;
        proposal
            .read(response)
            .map_err(|err| PromoteError::Refused(err.to_string()))
    }

    /// Waits until this laptop's first voter sees a membership for which `done` holds.
    async fn applied(&self, done: impl Fn(&Status) -> bool) -> Result<(), PromoteError> {
        let deadline = tokio::time::Instant::now() + MEMBERSHIP_WAIT;
        loop {
            let status = self.first().status().await.map_err(node_error)?;
            if done(&status) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PromoteError::NotApplied {
                    why: format!("the voters are {:?}", status.voters),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
