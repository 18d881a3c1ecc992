//! Keeps a networked node's allowlist, live connections and peer addresses in step with
//! the ledger.
//!
//! The genesis seeds the allowlist and addresses; the admin's transactions change them: a
//! participant added by `AddParticipant` may connect as a client; one suspended by
//! `SuspendParticipant` is refused from then on and its live connections on this node
//! are closed; `ReinstateParticipant` lets it in again; a node registered by `AddNode`
//! may connect as a peer and is dialled at its registered address (unless this node's
//! configuration overrides that address), `SetNodeAddress` moves that address (a laptop
//! that dialled out becomes reachable before it is made a voter), and a node removed is refused, disconnected
//! and no longer dialled ([`Follower::revoke_node`]). All of this holds for blocks applied
//! now, before a restart, or inside a snapshot installed from the leader: at start-up and
//! after a snapshot or missed events the whole membership is read again
//! ([`Members::of`]).

use qraft_keys::PublicKey;
use rustc_hash::FxHashMap;

use crate::api::{Handle, NodeEvent, QueryError};
use crate::core::exchange::Exchange;
use crate::core::genesis::NodeSpec;
use crate::core::tx::{AdminAction, TxBody};
use crate::core::types::NodeId;

use super::connections::Connections;
use super::peer::{PeerTransport, Voters};
use super::tls::Allowlist;

/// How soon to ask a busy node again for the ledger's members.
const SYNC_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

/// Who the ledger says may connect: every participant (and whether suspended) and every
/// registered node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Members {
    /// Every participant's key, in join order, with whether it is suspended.
    pub participants: Vec<(PublicKey, bool)>,
    /// Every registered node that was not removed.
    pub nodes: Vec<NodeSpec>,
    /// The registered nodes the admin removed.
    pub removed: Vec<NodeId>,
}

impl Members {
    /// The membership in `exchange`'s state.
    pub fn of(exchange: &Exchange) -> Members {
        let suspended: std::collections::HashSet<&PublicKey> = exchange.suspended_keys().collect();
        Members {
            participants: exchange
                .participant_keys()
                .map(|key| (*key, suspended.contains(key)))
                .collect(),
            nodes: exchange
                .nodes()
                .iter()
                .filter(|n| !exchange.is_node_removed(n.id))
                .cloned()
                .collect(),
            removed: exchange.removed_nodes().collect(),
        }
    }

    /// Brings `allow` in step: active participants and every node allowed, suspended
    /// participants and removed nodes revoked. Returns the suspended keys.
    pub fn apply(&self, allow: &Allowlist) -> Vec<PublicKey> {
        for &id in &self.removed {
            allow.revoke_node(id);
        }
        let mut suspended = Vec::new();
        for &(key, is_suspended) in &self.participants {
            if is_suspended {
                allow.revoke_participant(&key);
                suspended.push(key);
            } else {
                allow.allow_participant(key);
            }
        }
        for node in &self.nodes {
            allow.allow_node(node.id, node.key);
        }
        suspended
    }
}

/// What the follower updates.
pub(super) struct Follower {
    pub allow: Allowlist,
    pub connections: Connections,
    pub transport: PeerTransport,
    /// This node's own id (it does not dial itself).
    pub me: NodeId,
    /// Addresses from the node's configuration, which win over registered ones.
    pub overrides: FxHashMap<NodeId, String>,
    /// The current voters, for the peer streams (who may send snapshots).
    pub voters: Voters,
    /// This node dials out: it holds a link to every current voter (see
    /// [`PeerTransport::hold`]).
    pub dial_out: bool,
}

impl Follower {
    /// Runs until the node stops.
    pub async fn run(self, handle: Handle) {
        let mut events = handle.subscribe();
        self.sync_with_the_ledger(&handle).await;
        loop {
            match events.recv().await {
                Ok(NodeEvent::Block(block)) => {
                    for (tx, receipt) in block.block.txs.iter().zip(&block.receipts) {
                        if !receipt.is_accepted() {
                            continue;
                        }
                        match &tx.tx.body {
                            TxBody::Admin(AdminAction::AddParticipant(spec)) => {
                                self.allow.allow_participant(spec.key);
                                tracing::info!(participant = %spec.name, "may connect from now on");
                            }
                            TxBody::Admin(AdminAction::SuspendParticipant { key }) => {
                                self.suspend(key);
                            }
                            TxBody::Admin(AdminAction::ReinstateParticipant { key }) => {
                                self.allow.allow_participant(*key);
                                tracing::info!(participant = %key, "reinstated: may connect again");
                            }
                            TxBody::Admin(AdminAction::RemoveNode { id }) => {
                                self.revoke_node(*id);
                            }
                            TxBody::Admin(AdminAction::SetNodeAddress { id, address }) => {
                                if *id != self.me && !self.overrides.contains_key(id) {
                                    self.transport.readdress(*id, address.clone());
                                }
                                tracing::info!(node = id, %address, "a node's address changed");
                            }
                            TxBody::Admin(AdminAction::AddNode(spec)) => {
                                self.admit_node(spec);
                                tracing::info!(node = spec.id, name = %spec.name, address = %spec.address, "registered node may connect from now on");
                            }
                            _ => {}
                        }
                    }
                }
                Ok(NodeEvent::MembershipChanged { voters, .. }) => self.set_voters(voters),
                // A snapshot replaced the state wholesale; missed events may hide changes.
                Ok(NodeEvent::SnapshotInstalled { .. })
                | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    self.sync_with_the_ledger(&handle).await;
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// The voters changed (or were read again): who may send snapshots, and, for a node
    /// that dials out, whom it keeps connections to.
    fn set_voters(&self, voters: Vec<NodeId>) {
        if self.dial_out {
            self.transport.hold(&voters);
        }
        self.voters.set(voters);
    }

    /// A suspended participant: refused from now on, and its live connections closed.
    pub fn suspend(&self, key: &PublicKey) {
        self.allow.revoke_participant(key);
        let closed = self
            .connections
            .close_key(key, &format!("key {key} was suspended by the game's admin"));
        tracing::info!(participant = %key, closed, "suspended: refused from now on");
    }

    /// A removed node: refused from now on, its live connections closed (peer and
    /// client alike), and no longer dialled.
    pub fn revoke_node(&self, id: NodeId) {
        let key = self.allow.revoke_node(id);
        let closed = key.map_or(0, |key| {
            self.connections
                .close_key(&key, &format!("node {id} was removed from this game"))
        });
        let dialled = self.transport.forget(id);
        tracing::info!(
            node = id,
            closed,
            dialled,
            "removed node: refused and no longer dialled"
        );
    }

    fn admit_node(&self, spec: &NodeSpec) {
        self.allow.allow_node(spec.id, spec.key);
        if spec.id != self.me && !self.overrides.contains_key(&spec.id) {
            self.transport.readdress(spec.id, spec.address.clone());
        }
    }

    /// Brings everything in step with `members`.
    fn sync(&self, members: &Members) {
        for key in members.apply(&self.allow) {
            self.connections.close_key(
                &key,
                &format!("key {key} was suspended by the game's admin"),
            );
        }
        for node in &members.nodes {
            self.admit_node(node);
        }
        for &id in &members.removed {
            if self.allow.node_key(id).is_some() {
                self.revoke_node(id);
            }
        }
    }

    /// Reads the membership in the ledger and brings everything in step with it.
    /// A node too busy to answer is asked again shortly: the allowlist must not stay
    /// out of step with the ledger.
    async fn sync_with_the_ledger(&self, handle: &Handle) {
        loop {
            match handle
                .query(|r| (Members::of(r.ledger().exchange()), r.status().voters))
                .await
            {
                Ok((members, voters)) => {
                    // The members first: a new voter's address comes with them.
                    self.sync(&members);
                    return self.set_voters(voters);
                }
                Err(QueryError::Busy) => tokio::time::sleep(SYNC_RETRY).await,
                Err(err) => {
                    tracing::debug!(%err, "cannot read the ledger's members");
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::connections::Lane;
    use crate::net::tls::{Admitted, Alpn};
    use qraft_keys::Keypair;

    fn key(label: &str) -> PublicKey {
        Keypair::from_label(label).public()
    }

    fn node_spec(id: NodeId) -> NodeSpec {
        NodeSpec {
            id,
            name: format!("node{id}"),
            key: key(&format!("node {id}")),
            address: format!("127.0.0.1:{}", 9000 + id),
        }
    }

    /// A follower for node 1 over a real (loopback) endpoint that never dials.
    fn follower() -> Follower {
        let allow = Allowlist::new();
        let identity = crate::net::tls::TlsIdentity::from_keypair(&Keypair::from_label("node 1"))
            .expect("identity");
        let endpoint = crate::net::tls::server_endpoint(
            "127.0.0.1:0".parse().expect("address"),
            &identity,
            allow.clone(),
        )
        .expect("endpoint");
        let transport = PeerTransport::new(
            1,
            endpoint,
            tokio::runtime::Handle::current(),
            FxHashMap::default(),
            Voters::default(),
        );
        Follower {
            allow,
            connections: Connections::new(),
            transport,
            me: 1,
            overrides: FxHashMap::default(),
            voters: Voters::default(),
            dial_out: false,
        }
    }

    #[tokio::test]
    async fn a_node_that_dials_out_holds_a_link_to_every_voter() {
        let mut follower = follower();
        for id in [2, 3, 5] {
            follower.admit_node(&node_spec(id));
        }
        // Not dialling out: links come only with traffic.
        follower.set_voters(vec![1, 2, 3]);
        assert!(!follower.transport.has_link(2));
        follower.dial_out = true;
        follower.set_voters(vec![1, 2, 3]);
        assert!(follower.voters.contains(3));
        assert!(follower.transport.has_link(2) && follower.transport.has_link(3));
        assert!(!follower.transport.has_link(1), "not to itself");
        assert!(!follower.transport.has_link(5), "not to a learner");
        // A new voter: held too.
        follower.set_voters(vec![1, 2, 3, 5]);
        assert!(follower.transport.has_link(5));
    }

    #[tokio::test]
    async fn a_removed_node_is_refused_and_forgotten() {
        let follower = follower();
        let two = node_spec(2);
        follower.admit_node(&two);
        assert_eq!(
            follower.allow.admit(&two.key, Alpn::Peer),
            Some(Admitted::Node(2))
        );

        follower.revoke_node(2);
        assert_eq!(follower.allow.admit(&two.key, Alpn::Peer), None);
        assert!(!follower.allow.contains(&two.key));
        assert!(
            follower.allow.refusal(&two.key).contains("removed"),
            "{}",
            follower.allow.refusal(&two.key)
        );
        // Its address went with it: there was one, there is none now.
        assert!(!follower.transport.forget(2));
        // Registering it again (a new AddNode) lets it back in.
        follower.admit_node(&two);
        assert_eq!(
            follower.allow.admit(&two.key, Alpn::Peer),
            Some(Admitted::Node(2))
        );
        assert!(follower.transport.forget(2));
    }

    #[tokio::test]
    async fn suspension_and_reinstatement_follow_the_ledger() {
        let follower = follower();
        let (alice, bob) = (key("alice"), key("bob"));
        // Node 3 was allowed (the genesis names it), then removed in the ledger.
        follower.allow.allow_node(3, node_spec(3).key);
        let members = Members {
            participants: vec![(alice, false), (bob, true)],
            nodes: vec![node_spec(1), node_spec(2)],
            removed: vec![3],
        };
        follower.sync(&members);
        assert_eq!(follower.allow.admit(&node_spec(3).key, Alpn::Peer), None);
        assert!(
            follower
                .allow
                .refusal(&node_spec(3).key)
                .contains("removed")
        );
        assert_eq!(
            follower.allow.admit(&alice, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert_eq!(follower.allow.admit(&bob, Alpn::Client), None);
        assert!(follower.allow.refusal(&bob).contains("suspended"));
        assert_eq!(
            follower.allow.admit(&node_spec(2).key, Alpn::Peer),
            Some(Admitted::Node(2))
        );
        // Node 1 is this node: not dialled; node 2 is.
        assert!(!follower.transport.forget(1));
        assert!(follower.transport.forget(2));

        follower.suspend(&alice);
        assert_eq!(follower.allow.admit(&alice, Alpn::Client), None);
        // Reinstated in the ledger, then a snapshot: the sync lets both back in.
        follower.sync(&Members {
            participants: vec![(alice, false), (bob, false)],
            nodes: vec![],
            removed: vec![],
        });
        for key in [alice, bob] {
            assert_eq!(
                follower.allow.admit(&key, Alpn::Client),
                Some(Admitted::Participant)
            );
        }
        assert_eq!(follower.connections.count(Lane::Client), 0);
    }
}
