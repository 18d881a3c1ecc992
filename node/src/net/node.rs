//! A networked node: the replica on its thread, a QUIC endpoint that accepts peers and
//! clients, and the peer transport. What `qraft run` starts.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use qraft_keys::Keypair;
use rustc_hash::FxHashMap;

use crate::api::{Handle, NodeEvent};
use crate::config::Tuning;
use crate::core::genesis::Genesis;
use crate::core::tx::{AdminAction, TxBody};
use crate::core::types::NodeId;
use crate::io::runner::{Input, RunningNode};
use crate::replica::{Replica, ReplicaConfig, ReplicaError};

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
}

#[derive(Debug, thiserror::Error)]
pub enum NetNodeError {
    #[error(
        "this key ({0}) is not a node of the game: its genesis names the voters and learners that may run"
    )]
    NotANode(qraft_keys::PublicKey),
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
        } = options;
        let me = keypair.public();
        let id = genesis
            .nodes()
            .find(|n| n.key == me)
            .map(|n| n.id)
            .ok_or(NetNodeError::NotANode(me))?;
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
        addresses.extend(peers);
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
        let follow = tokio::spawn(follow_participants(handle.clone(), allow.clone()));
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

/// Keeps the allowlist in step with the ledger: a participant the admin adds (now, or
/// in blocks applied before a restart) may connect as a client.
async fn follow_participants(handle: Handle, allow: Allowlist) {
    let mut events = handle.subscribe();
    allow_all_participants(&handle, &allow).await;
    loop {
        match events.recv().await {
            Ok(NodeEvent::Block(block)) => {
                for (tx, receipt) in block.block.txs.iter().zip(&block.receipts) {
                    if let TxBody::Admin(AdminAction::AddParticipant(spec)) = &tx.tx.body
                        && receipt.is_accepted()
                    {
                        allow.allow_participant(spec.key);
                        tracing::info!(participant = %spec.name, "may connect from now on");
                    }
                }
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Missed blocks: catch up from the ledger itself.
                allow_all_participants(&handle, &allow).await;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Admits every participant the ledger knows.
async fn allow_all_participants(handle: &Handle, allow: &Allowlist) {
    let keys = handle
        .query(|r| {
            r.ledger()
                .exchange()
                .participant_keys()
                .copied()
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
    for key in keys {
        allow.allow_participant(key);
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
