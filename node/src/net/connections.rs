//! The registry of a node's live admitted connections, by the caller's key.
//!
//! Checked right after [`identify`](super::tls::identify): a participant's key may hold at
//! most [`MAX_CONNECTIONS_PER_KEY`] client connections, and the node serves at most
//! [`MAX_CONNECTIONS`] client connections in all. Peers (other nodes on the peer ALPN)
//! have a budget of their own ([`MAX_PEER_CONNECTIONS`], [`MAX_PEER_CONNECTIONS_PER_NODE`]),
//! so clients never crowd them out. A node's newest peer connection wins: past its
//! per-node budget, its oldest one is closed (a restarted node's stale connections would
//! otherwise lock it out until they time out). A client over budget is refused instead.
//!
//! Each admitted connection holds a [`Registration`]; dropping it (the connection ended)
//! takes the connection out. [`Connections::close_key`] closes every live connection of
//! a key, peer and client alike: what a suspension or a node's removal does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use qraft_keys::PublicKey;

use super::tls::CLOSE_REFUSED;

/// Client connections one key may hold on one node: a student's dashboard, a CLI or two
/// and a bot, with room for reconnects whose old connection has not timed out yet.
pub const MAX_CONNECTIONS_PER_KEY: usize = 8;

/// Client connections one node serves at once: a classroom of 30 students with a few
/// tools each is about 120; 512 leaves room for a larger class or many bots, while
/// bounding the memory a node commits to clients.
pub const MAX_CONNECTIONS: usize = 512;

/// Peer connections one node may hold to this one. A node keeps one connection to each
/// peer; the second is room for its reconnection while the old one is being torn down.
pub const MAX_PEER_CONNECTIONS_PER_NODE: usize = 2;

/// Peer connections in all: 5 voters and 60 learners with two each. Peer keys come from
/// the ledger, so this bounds a game registering far more nodes than a classroom has.
pub const MAX_PEER_CONNECTIONS: usize = 130;

/// Which budget a connection counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Another node on the peer ALPN.
    Peer,
    /// A client (participant, or a node's key used by its operator's tools).
    Client,
}

/// The limits a registry enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_key: usize,
    pub clients: usize,
    pub per_node: usize,
    pub peers: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_key: MAX_CONNECTIONS_PER_KEY,
            clients: MAX_CONNECTIONS,
            per_node: MAX_PEER_CONNECTIONS_PER_NODE,
            peers: MAX_PEER_CONNECTIONS,
        }
    }
}

/// Why a connection was not admitted. Its text is the close reason the caller reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionRefusal {
    #[error(
        "key {key} already has {limit} connections to this node, the most one key may hold; close one and try again"
    )]
    TooManyForKey { key: PublicKey, limit: usize },
    #[error("this node serves {limit} client connections already, its limit; try another node")]
    TooManyClients { limit: usize },
    #[error("this node holds {limit} peer connections already, its limit")]
    TooManyPeers { limit: usize },
}

/// What the registry can close: a QUIC connection, or a stand-in in tests.
pub trait Closable: Send + Sync + 'static {
    /// Closes the connection with [`CLOSE_REFUSED`] and `reason`, which the other side
    /// reads as its refusal.
    fn close_refused(&self, reason: &str);
}

impl Closable for quinn::Connection {
    fn close_refused(&self, reason: &str) {
        self.close(quinn::VarInt::from(CLOSE_REFUSED), reason.as_bytes());
    }
}

/// The live admitted connections. Cloning shares the registry.
pub struct Connections<C: Closable = quinn::Connection> {
    inner: Arc<Mutex<Registry<C>>>,
}

impl<C: Closable> Clone for Connections<C> {
    fn clone(&self) -> Self {
        Connections {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: Closable> Default for Connections<C> {
    fn default() -> Self {
        Connections::with_limits(Limits::default())
    }
}

impl<C: Closable> std::fmt::Debug for Connections<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let registry = self.lock();
        f.debug_struct("Connections")
            .field("clients", &registry.count[Lane::Client as usize])
            .field("peers", &registry.count[Lane::Peer as usize])
            .finish()
    }
}

struct Registry<C> {
    limits: Limits,
    /// Numbers registrations, so a registration removes exactly its own entry.
    next_id: u64,
    /// Each key's live connections, oldest first.
    by_key: HashMap<PublicKey, Vec<Entry<C>>>,
    /// Live connections per lane, indexed by `Lane as usize`.
    count: [usize; 2],
    /// Connections ever admitted per lane, indexed by `Lane as usize`.
    admitted: [u64; 2],
}

struct Entry<C> {
    id: u64,
    lane: Lane,
    connection: C,
}

impl<C: Closable> Connections<C> {
    /// An empty registry with the default limits.
    pub fn new() -> Self {
        Connections::default()
    }

    /// An empty registry with these limits.
    pub fn with_limits(limits: Limits) -> Self {
        Connections {
            inner: Arc::new(Mutex::new(Registry {
                limits,
                next_id: 0,
                by_key: HashMap::new(),
                count: [0, 0],
                admitted: [0, 0],
            })),
        }
    }

    /// Admits `connection` of `key` on `lane`, or says why not (the caller closes it
    /// with that reason). Keep the registration as long as the connection is served.
    pub fn admit(
        &self,
        key: PublicKey,
        lane: Lane,
        connection: C,
    ) -> Result<Registration<C>, ConnectionRefusal> {
        let mut registry = self.lock();
        let limits = registry.limits;
        let of_key = registry.by_key.get(&key).map_or(0, |entries| {
            entries.iter().filter(|e| e.lane == lane).count()
        });
        let evict = match lane {
            Lane::Client if of_key >= limits.per_key => {
                return Err(ConnectionRefusal::TooManyForKey {
                    key,
                    limit: limits.per_key,
                });
            }
            Lane::Client if registry.count[lane as usize] >= limits.clients => {
                return Err(ConnectionRefusal::TooManyClients {
                    limit: limits.clients,
                });
            }
            Lane::Client => false,
            // The node's newest connection wins over its oldest.
            Lane::Peer if of_key >= limits.per_node && of_key > 0 => true,
            Lane::Peer if registry.count[lane as usize] >= limits.peers => {
                return Err(ConnectionRefusal::TooManyPeers {
                    limit: limits.peers,
                });
            }
            Lane::Peer => false,
        };
        if evict {
            let entries = registry.by_key.get_mut(&key).expect("the key has entries");
            let oldest = entries
                .iter()
                .position(|e| e.lane == Lane::Peer)
                .expect("the key has a peer connection");
            let old = entries.remove(oldest);
            registry.count[Lane::Peer as usize] -= 1;
            old.connection
                .close_refused("replaced by a newer connection of the same node");
        }
        let id = registry.next_id;
        registry.next_id += 1;
        registry.count[lane as usize] += 1;
        registry.admitted[lane as usize] += 1;
        registry.by_key.entry(key).or_default().push(Entry {
            id,
            lane,
            connection,
        });
        Ok(Registration {
            registry: Arc::clone(&self.inner),
            key,
            id,
        })
    }

    /// Closes every live connection of `key` (peer and client) with [`CLOSE_REFUSED`] and
    /// `reason`, and takes them out of the registry. Returns how many there were.
    pub fn close_key(&self, key: &PublicKey, reason: &str) -> usize {
        let entries = {
            let mut registry = self.lock();
            let entries = registry.by_key.remove(key).unwrap_or_default();
            for entry in &entries {
                registry.count[entry.lane as usize] -= 1;
            }
            entries
        };
        for entry in &entries {
            entry.connection.close_refused(reason);
        }
        entries.len()
    }

    /// Live connections of `key` on `lane`.
    pub fn count_of(&self, key: &PublicKey, lane: Lane) -> usize {
        self.lock().by_key.get(key).map_or(0, |entries| {
            entries.iter().filter(|e| e.lane == lane).count()
        })
    }

    /// Connections admitted on `lane` since the registry was made, live or gone: a node
    /// that dials out admits no peer connection.
    pub fn admitted(&self, lane: Lane) -> u64 {
        self.lock().admitted[lane as usize]
    }

    /// Live connections on `lane`.
    pub fn count(&self, lane: Lane) -> usize {
        self.lock().count[lane as usize]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry<C>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One admitted connection's place in the registry; dropping it takes the connection out.
pub struct Registration<C: Closable = quinn::Connection> {
    registry: Arc<Mutex<Registry<C>>>,
    key: PublicKey,
    id: u64,
}

impl<C: Closable> std::fmt::Debug for Registration<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Registration({}, #{})", self.key, self.id)
    }
}

impl<C: Closable> Drop for Registration<C> {
    fn drop(&mut self) {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entries) = registry.by_key.get_mut(&self.key) else {
            return;
        };
        // Gone already if it was evicted or closed by `close_key`.
        let Some(index) = entries.iter().position(|e| e.id == self.id) else {
            return;
        };
        let entry = entries.remove(index);
        if entries.is_empty() {
            registry.by_key.remove(&self.key);
        }
        registry.count[entry.lane as usize] -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_keys::Keypair;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A connection that records whether, and why, it was closed.
    #[derive(Clone, Default)]
    struct Fake {
        closed: Arc<AtomicBool>,
        reason: Arc<Mutex<String>>,
    }

    impl Fake {
        fn is_closed(&self) -> bool {
            self.closed.load(Ordering::SeqCst)
        }

        fn reason(&self) -> String {
            self.reason.lock().unwrap().clone()
        }
    }

    impl Closable for Fake {
        fn close_refused(&self, reason: &str) {
            self.closed.store(true, Ordering::SeqCst);
            *self.reason.lock().unwrap() = reason.to_string();
        }
    }

    fn key(label: &str) -> PublicKey {
        Keypair::from_label(label).public()
    }

    fn small() -> Connections<Fake> {
        Connections::with_limits(Limits {
            per_key: 2,
            clients: 3,
            per_node: 2,
            peers: 3,
        })
    }

    #[test]
    fn one_key_holds_a_bounded_number_of_client_connections() {
        let registry = small();
        let alice = key("alice");
        let first = registry
            .admit(alice, Lane::Client, Fake::default())
            .unwrap();
        let _second = registry
            .admit(alice, Lane::Client, Fake::default())
            .unwrap();
        let err = registry
            .admit(alice, Lane::Client, Fake::default())
            .unwrap_err();
        assert_eq!(
            err,
            ConnectionRefusal::TooManyForKey {
                key: alice,
                limit: 2
            }
        );
        assert!(
            err.to_string().contains("the most one key may hold"),
            "{err}"
        );
        // Another key still gets in.
        let _bob = registry
            .admit(key("bob"), Lane::Client, Fake::default())
            .unwrap();
        // A connection that ends frees its place.
        drop(first);
        assert_eq!(registry.count_of(&alice, Lane::Client), 1);
        registry
            .admit(alice, Lane::Client, Fake::default())
            .unwrap();
    }

    #[test]
    fn the_node_serves_a_bounded_number_of_clients_and_peers_apart() {
        let registry = small();
        let held: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|k| {
                registry
                    .admit(key(k), Lane::Client, Fake::default())
                    .unwrap()
            })
            .collect();
        let err = registry
            .admit(key("d"), Lane::Client, Fake::default())
            .unwrap_err();
        assert_eq!(err, ConnectionRefusal::TooManyClients { limit: 3 });
        // Clients do not crowd out peers.
        let peers: Vec<_> = ["n1", "n2", "n3"]
            .iter()
            .map(|k| registry.admit(key(k), Lane::Peer, Fake::default()).unwrap())
            .collect();
        let err = registry
            .admit(key("n4"), Lane::Peer, Fake::default())
            .unwrap_err();
        assert_eq!(err, ConnectionRefusal::TooManyPeers { limit: 3 });
        assert_eq!(registry.count(Lane::Client), 3);
        assert_eq!(registry.count(Lane::Peer), 3);
        drop(held);
        drop(peers);
        assert_eq!(registry.count(Lane::Client), 0);
        assert_eq!(registry.count(Lane::Peer), 0);
    }

    #[test]
    fn a_nodes_newest_peer_connection_replaces_its_oldest() {
        let registry = small();
        let node = key("node 2");
        let oldest = Fake::default();
        let first = registry.admit(node, Lane::Peer, oldest.clone()).unwrap();
        let _second = registry.admit(node, Lane::Peer, Fake::default()).unwrap();
        let third = registry.admit(node, Lane::Peer, Fake::default()).unwrap();
        assert!(oldest.is_closed());
        assert!(oldest.reason().contains("replaced"), "{}", oldest.reason());
        assert_eq!(registry.count_of(&node, Lane::Peer), 2);
        assert_eq!(registry.count(Lane::Peer), 2);
        // The evicted one's registration dropping later changes nothing.
        drop(first);
        assert_eq!(registry.count(Lane::Peer), 2);
        drop(third);
        assert_eq!(registry.count(Lane::Peer), 1);
        // Every admission counts, the evicted and dropped ones too; clients apart.
        assert_eq!(registry.admitted(Lane::Peer), 3);
        assert_eq!(registry.admitted(Lane::Client), 0);
    }

    #[test]
    fn close_key_closes_every_live_connection_of_the_key() {
        let registry = small();
        let node = key("node 2, also a client");
        let other = key("someone else");
        let as_peer = Fake::default();
        let as_client = Fake::default();
        let bystander = Fake::default();
        let peer_registration = registry.admit(node, Lane::Peer, as_peer.clone()).unwrap();
        let client_registration = registry
            .admit(node, Lane::Client, as_client.clone())
            .unwrap();
        let _other = registry
            .admit(other, Lane::Client, bystander.clone())
            .unwrap();

        assert_eq!(registry.close_key(&node, "node 2 was removed"), 2);
        for closed in [&as_peer, &as_client] {
            assert!(closed.is_closed());
            assert_eq!(closed.reason(), "node 2 was removed");
        }
        assert!(!bystander.is_closed());
        assert_eq!(registry.count(Lane::Peer), 0);
        assert_eq!(registry.count(Lane::Client), 1);
        drop(peer_registration);
        drop(client_registration);
        assert_eq!(registry.count(Lane::Client), 1);
        assert_eq!(registry.close_key(&node, "again"), 0);
    }

    #[test]
    fn clones_share_the_registry() {
        let registry = small();
        let clone = registry.clone();
        let _held = clone
            .admit(key("alice"), Lane::Client, Fake::default())
            .unwrap();
        assert_eq!(registry.count(Lane::Client), 1);
    }
}
