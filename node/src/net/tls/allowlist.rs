//! The allowlist: which keys may connect, and as what (a node with its id, or a
//! participant), with the revocations that refuse them again (suspensions, removals).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use qraft_keys::PublicKey;

use super::alpn::Alpn;
use crate::core::genesis::Genesis;
use crate::core::types::NodeId;

/// What an allowlisted key is admitted as on one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admitted {
    /// A node (voter or learner) with this Raft id.
    Node(NodeId),
    /// A participant of the game.
    Participant,
}

/// Which keys may connect, and as what.
///
/// Cloning shares it: every endpoint and verifier made from a clone sees changes
/// ([`Allowlist::allow_node`], [`Allowlist::allow_participant`], and their revocations
/// [`Allowlist::revoke_node`], [`Allowlist::revoke_participant`]) on its next handshake.
/// Revoking refuses new handshakes only; closing the key's live connections is
/// [`Connections::close_key`](crate::net::connections::Connections::close_key)'s job.
#[derive(Clone, Default)]
pub struct Allowlist {
    inner: Arc<RwLock<Entries>>,
}

#[derive(Default)]
struct Entries {
    /// Node key to node id, and back: one key per node, one node per key.
    nodes: HashMap<PublicKey, NodeId>,
    node_keys: HashMap<NodeId, PublicKey>,
    participants: HashSet<PublicKey>,
    /// Participants revoked (suspended), so a refusal can say so. Bounded by the ledger's
    /// participants.
    suspended: HashSet<PublicKey>,
    /// The keys of nodes revoked (removed), with the id they had. Bounded by the ledger's
    /// nodes.
    removed_nodes: HashMap<PublicKey, NodeId>,
}

impl Allowlist {
    /// An empty allowlist: nobody may connect.
    pub fn new() -> Allowlist {
        Allowlist::default()
    }

    /// Voters and learners as nodes, participants as participants.
    pub fn from_genesis(genesis: &Genesis) -> Allowlist {
        let allow = Allowlist::new();
        for node in genesis.nodes() {
            allow.allow_node(node.id, node.key);
        }
        for participant in &genesis.participants {
            allow.allow_participant(participant.key);
        }
        allow
    }

    /// Admits `key` as node `id`. A node has one key: if `id` had another, that key is no
    /// longer node `id`'s; if `key` was another node's, it is now `id`'s alone.
    pub fn allow_node(&self, id: NodeId, key: PublicKey) {
        let mut entries = self.write();
        entries.removed_nodes.remove(&key);
        if let Some(old_key) = entries.node_keys.insert(id, key)
            && old_key != key
        {
            entries.nodes.remove(&old_key);
        }
        if let Some(old_id) = entries.nodes.insert(key, id)
            && old_id != id
        {
            entries.node_keys.remove(&old_id);
        }
    }

    /// Admits `key` as a participant (again, if it was revoked).
    pub fn allow_participant(&self, key: PublicKey) {
        let mut entries = self.write();
        entries.suspended.remove(&key);
        entries.participants.insert(key);
    }

    /// Stops admitting `key` as a participant (a suspension). Returns whether it was one.
    pub fn revoke_participant(&self, key: &PublicKey) -> bool {
        let mut entries = self.write();
        entries.suspended.insert(*key);
        entries.participants.remove(key)
    }

    /// Stops admitting node `id` (a removal). Returns the key it had, if it had one.
    pub fn revoke_node(&self, id: NodeId) -> Option<PublicKey> {
        let mut entries = self.write();
        let key = entries.node_keys.remove(&id)?;
        entries.nodes.remove(&key);
        entries.removed_nodes.insert(key, id);
        Some(key)
    }

    /// Why `key` may not connect at all: suspended, removed, or unknown.
    pub fn refusal(&self, key: &PublicKey) -> String {
        let entries = self.read();
        if entries.suspended.contains(key) {
            format!(
                "key {key} is suspended from this game: it is not allowed to connect until the admin reinstates it"
            )
        } else if let Some(id) = entries.removed_nodes.get(key) {
            format!(
                "key {key} was node {id}'s, which was removed from this game: it is not allowed to connect any more"
            )
        } else {
            format!("key {key} is not allowed in this game")
        }
    }

    /// The node whose key this is.
    pub fn node_id(&self, key: &PublicKey) -> Option<NodeId> {
        self.read().nodes.get(key).copied()
    }

    /// Node `id`'s key.
    pub fn node_key(&self, id: NodeId) -> Option<PublicKey> {
        self.read().node_keys.get(&id).copied()
    }

    pub fn is_participant(&self, key: &PublicKey) -> bool {
        self.read().participants.contains(key)
    }

    /// Whether `key` may connect at all (before its ALPN is known).
    pub fn contains(&self, key: &PublicKey) -> bool {
        let entries = self.read();
        entries.nodes.contains_key(key) || entries.participants.contains(key)
    }

    /// What `key` is admitted as on `alpn`, or `None` if it may not use it.
    ///
    /// On [`Alpn::Peer`] only nodes are admitted. On [`Alpn::Client`] a participant key is a
    /// [`Admitted::Participant`] (also when it is a node's key too: as a client it acts as
    /// the participant), and a node's key that is no participant is an [`Admitted::Node`].
    pub fn admit(&self, key: &PublicKey, alpn: Alpn) -> Option<Admitted> {
        let entries = self.read();
        let node = entries.nodes.get(key).copied().map(Admitted::Node);
        match alpn {
            Alpn::Peer => node,
            Alpn::Client if entries.participants.contains(key) => Some(Admitted::Participant),
            Alpn::Client => node,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.read();
        f.debug_struct("Allowlist")
            .field("nodes", &entries.nodes.len())
            .field("participants", &entries.participants.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use qraft_keys::Keypair;
    use rustls::pki_types::UnixTime;
    use rustls::server::danger::ClientCertVerifier;

    use super::*;
    use crate::net::tls::test_identity as identity;
    use crate::net::tls::verify::{AllowlistVerifier, provider};

    #[test]
    fn allowlist_admits_by_alpn() {
        let node = Keypair::from_label("node 1").public();
        let both = Keypair::from_label("node 2, also a player").public();
        let player = Keypair::from_label("player").public();
        let stranger = Keypair::from_label("stranger").public();
        let allow = Allowlist::new();
        allow.allow_node(1, node);
        allow.allow_node(2, both);
        allow.allow_participant(both);
        allow.allow_participant(player);

        assert_eq!(allow.admit(&node, Alpn::Peer), Some(Admitted::Node(1)));
        assert_eq!(allow.admit(&node, Alpn::Client), Some(Admitted::Node(1)));
        assert_eq!(allow.admit(&both, Alpn::Peer), Some(Admitted::Node(2)));
        assert_eq!(
            allow.admit(&both, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert_eq!(allow.admit(&player, Alpn::Peer), None);
        assert_eq!(
            allow.admit(&player, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert_eq!(allow.admit(&stranger, Alpn::Client), None);
        assert!(!allow.contains(&stranger));
    }

    #[test]
    fn a_node_has_one_key() {
        let a = Keypair::from_label("a").public();
        let b = Keypair::from_label("b").public();
        let allow = Allowlist::new();
        allow.allow_node(1, a);
        allow.allow_node(1, b);
        assert_eq!(allow.node_id(&a), None);
        assert_eq!(allow.node_id(&b), Some(1));
        allow.allow_node(2, b);
        assert_eq!(allow.node_key(1), None);
        assert_eq!(allow.node_key(2), Some(b));
        // Clones share.
        let clone = allow.clone();
        clone.allow_participant(a);
        assert!(allow.is_participant(&a));
    }

    #[test]
    fn revoked_keys_are_refused_with_their_reason_until_allowed_again() {
        let node = Keypair::from_label("node 2").public();
        let player = Keypair::from_label("player").public();
        let stranger = Keypair::from_label("stranger").public();
        let allow = Allowlist::new();
        allow.allow_node(2, node);
        allow.allow_participant(player);

        assert!(allow.revoke_participant(&player));
        assert!(!allow.contains(&player));
        assert_eq!(allow.admit(&player, Alpn::Client), None);
        assert!(allow.refusal(&player).contains("is suspended"));
        assert!(!allow.revoke_participant(&player), "already revoked");
        allow.allow_participant(player);
        assert_eq!(
            allow.admit(&player, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert!(allow.refusal(&player).contains("not allowed in this game"));

        assert_eq!(allow.revoke_node(2), Some(node));
        assert_eq!(allow.revoke_node(2), None);
        assert!(!allow.contains(&node));
        assert_eq!(allow.node_id(&node), None);
        assert_eq!(allow.node_key(2), None);
        let reason = allow.refusal(&node);
        assert!(reason.contains("was node 2's"), "{reason}");
        assert!(reason.contains("removed"), "{reason}");
        allow.allow_node(2, node);
        assert_eq!(allow.admit(&node, Alpn::Peer), Some(Admitted::Node(2)));
        assert!(!allow.refusal(&node).contains("removed"));

        // The server's verifier tells a revoked key why.
        allow.revoke_participant(&player);
        let verifier = AllowlistVerifier {
            allow: allow.clone(),
            algorithms: provider().signature_verification_algorithms,
        };
        let cert = identity("player").cert.clone();
        let err = verifier
            .verify_client_cert(&cert, &[], UnixTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("is suspended"), "{err}");
        let cert = identity("stranger").cert.clone();
        let err = verifier
            .verify_client_cert(&cert, &[], UnixTime::now())
            .unwrap_err();
        assert!(
            err.to_string().contains("not allowed in this game"),
            "{err}"
        );
        assert!(!allow.contains(&stranger));
    }

    #[test]
    fn allowlist_from_genesis() {
        use crate::core::genesis::sample::{SampleOptions, sample_game};
        let genesis = sample_game(&SampleOptions::default()).genesis;
        assert!(!genesis.voters.is_empty() && !genesis.participants.is_empty());
        let allow = Allowlist::from_genesis(&genesis);
        for node in genesis.nodes() {
            assert_eq!(
                allow.admit(&node.key, Alpn::Peer),
                Some(Admitted::Node(node.id))
            );
        }
        for participant in &genesis.participants {
            assert_eq!(
                allow.admit(&participant.key, Alpn::Client),
                Some(Admitted::Participant)
            );
        }
    }
}
