//! A networked node: the replica on its thread, a QUIC endpoint that accepts peers and
//! clients, and the peer transport. What `qraft run` starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use qraft_keys::Keypair;
use rustc_hash::FxHashMap;

use crate::api::Handle;
use crate::config::Tuning;
use crate::core::genesis::Genesis;
use crate::core::types::NodeId;
use crate::io::inbox::Input;
use crate::io::runner::RunningNode;
use crate::replica::{Replica, ReplicaConfig, ReplicaError};

use super::accept::{Admission, Gatekeeper};
use super::budget::RequestBudget;
use super::connections::Connections;
use super::follow::{Follower, Members};
use super::peer::{PeerTransport, Voters, serve_peer};
use super::serve::serve_client;
use super::tls::{Admitted, Allowlist, Alpn, TlsError, TlsIdentity, server_endpoint};

/// How to start a networked node.
pub struct NetNodeOptions {
    pub genesis: Genesis,
    pub keypair: Keypair,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Addresses overriding the genesis ones, by node id.
    pub peers: FxHashMap<NodeId, String>,
    pub tuning: Tuning,
    pub submit_timeout: Duration,
    /// This node's id. Needed only for a node the genesis does not name (one the admin
    /// registered with `qraft admin add-node`); a genesis node is found by its key.
    pub id: Option<NodeId>,
    /// This node dials every voter and keeps a connection to each even with nothing to
    /// send, so the voters reach it on its own connections: for enrolled laptops, whose
    /// registered address is [`DIALS_OUT`](crate::core::genesis::DIALS_OUT) and which no
    /// one can dial.
    pub dial_out: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum NetNodeError {
    #[error(
        "this key ({0}) is not a node of the game: its genesis names the voters and learners that may run; a node the admin registered with `qraft admin add-node` needs its id in the node configuration (`id = N`)"
    )]
    NotANode(qraft_keys::PublicKey),
    #[error(
        "the genesis names this key as node {genesis}, but the configuration says id {configured}"
    )]
    IdMismatch { genesis: NodeId, configured: NodeId },
    #[error("node id {0} is the genesis's node {1}, whose key is not this one")]
    IdTaken(NodeId, String),
    #[error("{0}")]
    Replica(#[from] ReplicaError),
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("{0:?} is not an address to listen on")]
    Address(String),
    #[error("cannot start the node thread: {0}")]
    Thread(std::io::Error),
}

/// A running networked node. Dropping it stops everything it started.
pub struct NetNode {
    pub id: NodeId,
    pub handle: Handle,
    endpoint: quinn::Endpoint,
    allow: Allowlist,
    connections: Connections,
    node: Option<RunningNode>,
    /// Taken when the node stops: it holds the endpoint, whose socket must be free again
    /// once [`NetNode::shutdown`] returns.
    transport: Option<PeerTransport>,
    accept: tokio::task::JoinHandle<()>,
    follow: tokio::task::JoinHandle<()>,
    backfill: tokio::task::JoinHandle<()>,
}

/// How long a stopping node waits for its connections to drain: a clean close reaches
/// a live peer in a few round trips; a peer that is gone must not hold a teacher's `q`
/// (or a test) forever.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(3);

impl NetNode {
    /// Starts the node. Must be called inside a tokio runtime.
    pub async fn start(options: NetNodeOptions) -> Result<NetNode, NetNodeError> {
        let NetNodeOptions {
            genesis,
            keypair,
            data_dir,
            listen,
            peers,
            tuning,
            submit_timeout,
            id,
            dial_out,
        } = options;
        let id = node_id(&genesis, &keypair.public(), id)?;
        let identity = TlsIdentity::from_keypair(&keypair)?;
        let mut config = ReplicaConfig::new(id);
        tuning.apply(&mut config);
        let replica = Replica::open(config, &genesis, &data_dir)?;
        // A node registered as dialling out dials out, whether or not it was asked to
        // (once its registration is in its chain, or in the genesis).
        let dial_out = dial_out
            || replica
                .ledger()
                .exchange()
                .node(id)
                .is_some_and(crate::core::genesis::NodeSpec::dials_out);

        // Who may connect is what the ledger says from the first handshake on: a
        // participant suspended before a restart stays out.
        let allow = Allowlist::from_genesis(&genesis);
        Members::of(replica.ledger().exchange()).apply(&allow);
        let voters = Voters::new(replica.status().voters);
        let connections = Connections::new();
        let endpoint = server_endpoint(listen, &identity, allow.clone())?;

        let mut addresses: FxHashMap<NodeId, String> = genesis
            .nodes()
            .filter(|n| n.id != id)
            .map(|n| (n.id, n.address.clone()))
            .collect();
        addresses.extend(peers.clone());
        let transport = PeerTransport::new(
            id,
            endpoint.clone(),
            tokio::runtime::Handle::current(),
            addresses,
            voters.clone(),
        );
        let (handle, node) = crate::api::start(
            replica,
            std::sync::Arc::new(transport.clone()),
            submit_timeout,
        )
        .map_err(NetNodeError::Thread)?;
        transport.set_inbox(node.inbox());
        let backfill = tokio::spawn(
            crate::backfill::Backfill {
                handle: handle.clone(),
                genesis: genesis.clone(),
                keypair,
                overrides: peers.clone(),
            }
            .run(),
        );
        let follow = tokio::spawn(
            Follower {
                allow: allow.clone(),
                connections: connections.clone(),
                transport: transport.clone(),
                me: id,
                overrides: peers,
                voters: voters.clone(),
                dial_out,
            }
            .run(handle.clone()),
        );
        let accept = tokio::spawn(accept_loop(
            endpoint.clone(),
            Gatekeeper::new(allow.clone(), connections.clone()),
            node.inbox(),
            handle.clone(),
            voters,
            transport.clone(),
        ));
        tracing::info!(node = id, %listen, "node started");
        Ok(NetNode {
            id,
            handle,
            endpoint,
            allow,
            connections,
            node: Some(node),
            transport: Some(transport),
            accept,
            follow,
            backfill,
        })
    }

    /// The address the endpoint actually listens on (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Who may connect to this node. Kept in step with the ledger; changing it here
    /// affects new handshakes only (see [`NetNode::connections`] for live ones).
    pub fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    /// This node's live admitted connections (to close a key's with
    /// [`Connections::close_key`]).
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Moves the node's endpoint to `socket`, as when a laptop's address changes: its
    /// connections follow it (QUIC migrates them) and new ones start from there.
    pub fn rebind(&self, socket: std::net::UdpSocket) -> std::io::Result<()> {
        self.endpoint.rebind(socket)
    }

    /// Whether this node holds a live connection to peer `id` now (a laptop that dials
    /// out: to that voter).
    pub fn is_connected_to(&self, id: NodeId) -> bool {
        self.transport.as_ref().is_some_and(|t| t.is_connected(id))
    }

    /// Where this node's peers were seen connecting from (a laptop that dials out: the
    /// address its connections come from, which is where its node listens). Valid while
    /// the node runs.
    pub fn locator(&self) -> Option<super::peer::PeerLocator> {
        self.transport.as_ref().map(PeerTransport::locator)
    }

    /// Reach peer `id` at `address` (`host:port`) from now on, dialling it there now: a
    /// laptop whose teacher's laptop moved and was found again on the network.
    pub fn reach_peer_at(&self, id: NodeId, address: String) {
        if let Some(transport) = &self.transport {
            transport.move_to(id, address);
        }
    }

    /// Stops accepting, closes every connection, and stops the node thread; then gives
    /// its peers up to [`SHUTDOWN_DRAIN`] to hear that the connections closed.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if tokio::time::timeout(SHUTDOWN_DRAIN, self.endpoint.wait_idle())
            .await
            .is_err()
        {
            tracing::warn!(
                node = self.id,
                "connections still draining after {SHUTDOWN_DRAIN:?}; stopping anyway"
            );
        }
    }

    fn stop_now(&mut self) {
        self.accept.abort();
        self.follow.abort();
        self.backfill.abort();
        self.endpoint.close(0u32.into(), b"node shutting down");
        if let Some(node) = self.node.take()
            && let Err(err) = node.stop()
        {
            tracing::error!(%err, "the node stopped with an error");
        }
        self.transport = None;
    }
}

impl Drop for NetNode {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// This node's id: the genesis's for its key, or the configured one for a node the
/// admin registered later (whose key the leader's snapshot will vouch for).
fn node_id(
    genesis: &Genesis,
    key: &qraft_keys::PublicKey,
    configured: Option<NodeId>,
) -> Result<NodeId, NetNodeError> {
    let named = genesis.nodes().find(|n| n.key == *key).map(|n| n.id);
    match (named, configured) {
        (Some(genesis), Some(configured)) if genesis != configured => {
            Err(NetNodeError::IdMismatch {
                genesis,
                configured,
            })
        }
        (Some(id), _) => Ok(id),
        (None, Some(id)) => match genesis.node(id) {
            Some(other) => Err(NetNodeError::IdTaken(id, other.name.clone())),
            None => Ok(id),
        },
        (None, None) => Err(NetNodeError::NotANode(*key)),
    }
}

/// Accepts connections until the endpoint closes: each attempt is screened at once, and
/// its handshake, admission and serving run on a task of their own.
async fn accept_loop(
    endpoint: quinn::Endpoint,
    keeper: Gatekeeper,
    inbox: std::sync::mpsc::Sender<Input>,
    handle: Handle,
    voters: Voters,
    transport: PeerTransport,
) {
    // Every client's share of heavy requests, across all its connections to this node.
    let budget = RequestBudget::new();
    while let Some(incoming) = endpoint.accept().await {
        let Some((incoming, permit)) = keeper.screen(incoming) else {
            continue;
        };
        let keeper = keeper.clone();
        let inbox = inbox.clone();
        let handle = handle.clone();
        let budget = budget.clone();
        let voters = voters.clone();
        let transport = transport.clone();
        tokio::spawn(async move {
            let Some(admission) = keeper.admit(incoming, permit).await else {
                return;
            };
            let Admission {
                connection,
                key,
                admitted,
                alpn,
                registration,
            } = admission;
            match (alpn, admitted) {
                (Alpn::Peer, Admitted::Node(id)) => {
                    serve_peer(connection, id, inbox, voters, transport).await
                }
                (Alpn::Client, _) => serve_client(connection, key, handle, budget).await,
                // `identify` admits only nodes on the peer protocol.
                (Alpn::Peer, Admitted::Participant) => {}
            }
            drop(registration);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::net::connections::MAX_CONNECTIONS_PER_KEY;
    use crate::net::frame::{MAX_CLIENT_REQUEST, MAX_CLIENT_RESPONSE, read_frame, write_frame};
    use crate::net::proto::{Request, Response};
    use crate::net::tls::{CLIENT_ALPN, client_endpoint, connect, connection_error};

    const TEST_LIMIT: Duration = Duration::from_secs(30);

    /// Node 1 of a three-voter game, alone: it has no leader, but serves connections.
    async fn lone_node(
        dir: &std::path::Path,
    ) -> (NetNode, crate::core::genesis::sample::SampleGame) {
        let game = crate::testkit::quic::loopback_game(&SampleOptions::default()).unwrap();
        let spec = &game.genesis.voters[0];
        let node = NetNode::start(NetNodeOptions {
            genesis: game.genesis.clone(),
            keypair: game.nodes[0].clone(),
            data_dir: dir.join(&spec.name),
            listen: spec.address.parse().unwrap(),
            peers: FxHashMap::default(),
            tuning: Tuning::default(),
            submit_timeout: Duration::from_secs(10),
            id: None,
            dial_out: false,
        })
        .await
        .unwrap();
        (node, game)
    }

    fn endpoint_of(keypair: &Keypair, genesis: &Genesis) -> quinn::Endpoint {
        let identity = TlsIdentity::from_keypair(keypair).unwrap();
        client_endpoint(
            "127.0.0.1:0".parse().unwrap(),
            &identity,
            Allowlist::from_genesis(genesis),
        )
        .unwrap()
    }

    /// One status request on its own stream: the connection is served.
    async fn status(connection: &quinn::Connection) {
        let (mut send, mut recv) = connection.open_bi().await.unwrap();
        write_frame(&mut send, &Request::Status, MAX_CLIENT_REQUEST)
            .await
            .unwrap();
        send.finish().unwrap();
        let answer = read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE)
            .await
            .unwrap();
        assert!(matches!(answer, Some(Response::Status(_))), "{answer:?}");
    }

    /// The reason the node gives for refusing a new client connection, whether it refuses
    /// the handshake or closes the connection right after it.
    async fn refusal(endpoint: &quinn::Endpoint, addr: SocketAddr) -> String {
        let err = match connect(endpoint, addr, CLIENT_ALPN, Some(1)).await {
            Ok(connection) => connection_error(addr, connection.closed().await),
            Err(err) => err,
        };
        match err {
            TlsError::Refused { reason, .. } => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_is_held_to_its_connections_and_a_suspension_takes_effect() {
        tokio::time::timeout(TEST_LIMIT, async {
            let dir = tempfile::tempdir().unwrap();
            let (node, game) = lone_node(dir.path()).await;
            let addr = node.local_addr().unwrap();
            let alice = endpoint_of(&game.traders[0], &game.genesis);
            let alice_key = game.traders[0].public();

            // (a) Eight connections of one key are served; the ninth is refused, saying why.
            let mut open = Vec::new();
            for _ in 0..MAX_CONNECTIONS_PER_KEY {
                let connection = connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
                status(&connection).await;
                open.push(connection);
            }
            let reason = refusal(&alice, addr).await;
            assert!(reason.contains(&alice_key.to_string()), "{reason}");
            assert!(reason.contains("the most one key may hold"), "{reason}");
            // Another key still connects.
            let bob = endpoint_of(&game.traders[1], &game.genesis);
            let bobs = connect(&bob, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            status(&bobs).await;

            // (b) Suspended: every open connection of the key is closed with the reason,
            // and a new handshake is refused.
            assert!(node.allowlist().revoke_participant(&alice_key));
            let closed = node
                .connections()
                .close_key(&alice_key, "suspended by the game's admin");
            assert_eq!(closed, MAX_CONNECTIONS_PER_KEY);
            for connection in &open {
                let err = connection_error(addr, connection.closed().await);
                let TlsError::Refused { reason, .. } = &err else {
                    panic!("{err:?}");
                };
                assert_eq!(reason, "suspended by the game's admin");
            }
            let reason = refusal(&alice, addr).await;
            assert!(reason.contains("is suspended"), "{reason}");
            // Bob was not touched.
            status(&bobs).await;

            // Reinstated: she connects again.
            node.allowlist().allow_participant(alice_key);
            let again = connect(&alice, addr, CLIENT_ALPN, Some(1)).await.unwrap();
            status(&again).await;
            node.shutdown().await;
        })
        .await
        .expect("test timed out");
    }

    #[test]
    fn a_node_is_found_by_its_key_or_by_its_configured_id() {
        let game = sample_game(&SampleOptions::default());
        let second = &game.genesis.voters[1];
        assert_eq!(
            node_id(&game.genesis, &second.key, None).unwrap(),
            second.id
        );
        assert_eq!(
            node_id(&game.genesis, &second.key, Some(second.id)).unwrap(),
            second.id
        );
        assert!(matches!(
            node_id(&game.genesis, &second.key, Some(9)),
            Err(NetNodeError::IdMismatch {
                genesis,
                configured: 9
            }) if genesis == second.id
        ));
        let stranger = Keypair::from_label("node-id-test/stranger").public();
        assert!(matches!(
            node_id(&game.genesis, &stranger, None),
            Err(NetNodeError::NotANode(_))
        ));
        assert!(matches!(
            node_id(&game.genesis, &stranger, Some(second.id)),
            Err(NetNodeError::IdTaken(..))
        ));
        assert_eq!(node_id(&game.genesis, &stranger, Some(40)).unwrap(), 40);
    }
}
