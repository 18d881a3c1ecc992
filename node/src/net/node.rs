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
use crate::io::runner::{Input, RunningNode};
use crate::replica::{Replica, ReplicaConfig, ReplicaError};

use super::follow::Follower;
use super::peer::{PeerTransport, serve_peer};
use super::serve::serve_client;
use super::tls::{
    Admitted, Allowlist, CLIENT_ALPN, PEER_ALPN, TlsError, TlsIdentity, identify, server_endpoint,
};

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
    node: Option<RunningNode>,
    accept: tokio::task::JoinHandle<()>,
    follow: tokio::task::JoinHandle<()>,
}

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
        } = options;
        let id = node_id(&genesis, &keypair.public(), id)?;
        let identity = TlsIdentity::from_keypair(&keypair)?;
        let allow = Allowlist::from_genesis(&genesis);
        let endpoint = server_endpoint(listen, &identity, allow.clone())?;

        let mut config = ReplicaConfig::new(id);
        tuning.apply(&mut config);
        let replica = Replica::open(config, &genesis, &data_dir)?;

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
        );
        let node = RunningNode::spawn(
            replica,
            std::sync::Arc::new(transport.clone()),
            submit_timeout,
        )
        .map_err(NetNodeError::Thread)?;
        transport.set_inbox(node.inbox());
        let handle = node.handle.clone();
        let follow = tokio::spawn(
            Follower {
                handle: handle.clone(),
                allow: allow.clone(),
                transport: transport.clone(),
                me: id,
                overrides: peers,
            }
            .run(),
        );
        let accept = tokio::spawn(accept_loop(
            endpoint.clone(),
            allow,
            node.inbox(),
            handle.clone(),
        ));
        tracing::info!(node = id, %listen, "node started");
        Ok(NetNode {
            id,
            handle,
            endpoint,
            node: Some(node),
            accept,
            follow,
        })
    }

    /// The address the endpoint actually listens on (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Stops accepting, closes every connection, and stops the node thread.
    pub async fn shutdown(mut self) {
        self.stop_now();
        self.endpoint.wait_idle().await;
    }

    fn stop_now(&mut self) {
        self.accept.abort();
        self.follow.abort();
        self.endpoint.close(0u32.into(), b"node shutting down");
        if let Some(node) = self.node.take()
            && let Err(err) = node.stop()
        {
            tracing::error!(%err, "the node stopped with an error");
        }
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

async fn accept_loop(
    endpoint: quinn::Endpoint,
    allow: Allowlist,
    inbox: std::sync::mpsc::Sender<Input>,
    handle: Handle,
) {
    while let Some(incoming) = endpoint.accept().await {
        let allow = allow.clone();
        let inbox = inbox.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            let connection = match incoming.await {
                Ok(connection) => connection,
                Err(err) => {
                    tracing::info!(%err, "refused a connection at the handshake");
                    return;
                }
            };
            let alpn = connection
                .handshake_data()
                .and_then(|d| d.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
                .and_then(|d| d.protocol);
            match identify(&connection, &allow) {
                Ok((_, Admitted::Node(id))) if alpn.as_deref() == Some(PEER_ALPN) => {
                    serve_peer(connection, id, inbox).await
                }
                Ok((key, _)) if alpn.as_deref() == Some(CLIENT_ALPN) => {
                    serve_client(connection, key, handle).await
                }
                // `identify` closes a participant that dialled the peer protocol.
                Ok(_) => {}
                Err(err) => {
                    tracing::info!(%err, "refused a connection");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};

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
