//! The [`Transport`] over QUIC: the node's client ([`Client`]) and its ordered
//! submission [`Pipeline`], opened on first use.

use std::sync::Arc;

use qraft_keys::{Keypair, PublicKey};
use qraft_node::core::genesis::{Genesis, NodeSpec};
use qraft_node::core::tx::{SignedTx, TxHash};
use qraft_node::net::client::{Client, ClientError, Pipeline};
use qraft_node::net::proto::{CommittedView, SubmitFailure};
use qraft_node::net::tls::TlsError;

use super::transport::{BoxFuture, Dial, DialError, PendingAnswer, Transport, Unanswered};
use crate::failover::{Settlement, WATCH_EVERY, WATCH_QUIET, look_up};
use crate::query;

/// A participant's QUIC connection to one node, with its submission pipeline.
pub struct Quic {
    client: Arc<Client>,
    /// The open pipeline: `None` before the first send, and after the node closed it
    /// (the next send opens another).
    pipeline: tokio::sync::Mutex<Option<Arc<Pipeline>>>,
}

impl Quic {
    pub fn new(client: Client) -> Quic {
        Quic {
            client: Arc::new(client),
            pipeline: tokio::sync::Mutex::new(None),
        }
    }

    /// The connection, for requests the session does not make itself (queries,
    /// subscriptions).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The connection, to hold on to (a bot hands it out).
    pub fn shared_client(&self) -> Arc<Client> {
        self.client.clone()
    }

    /// The connection's ordered submission pipeline, opened on first use.
    pub async fn pipeline(&self) -> Result<Arc<Pipeline>, ClientError> {
        let mut open = self.pipeline.lock().await;
        if let Some(pipeline) = &*open {
            return Ok(pipeline.clone());
        }
        let pipeline = Arc::new(self.client.pipeline().await?);
        *open = Some(pipeline.clone());
        Ok(pipeline)
    }

    /// Forgets `closed` if it is still the open pipeline: the next send opens another.
    async fn forget(&self, closed: &Arc<Pipeline>) {
        let mut open = self.pipeline.lock().await;
        if open.as_ref().is_some_and(|p| Arc::ptr_eq(p, closed)) {
            tracing::info!("the submission pipeline closed; opening another");
            *open = None;
        }
    }
}

/// How a submission answered over QUIC ended without a receipt.
pub fn unanswered(err: ClientError) -> Unanswered<ClientError> {
    match err {
        ClientError::Submit(SubmitFailure::Refused(refusal)) => Unanswered::Refused(refusal),
        ClientError::Submit(SubmitFailure::Timeout(hash)) => Unanswered::NodeTimedOut(hash),
        ClientError::Submit(SubmitFailure::Stopped) => Unanswered::Stopped,
        // The transaction may have reached the node before the stream failed.
        err @ (ClientError::Frame(_) | ClientError::NoAnswer) => Unanswered::InDoubt(err),
        err => Unanswered::NotSent(err),
    }
}

impl Transport for Quic {
    type Error = ClientError;

    fn address(&self) -> String {
        self.client.address().to_string()
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn lost(&self) -> String {
        self.client.lost(WATCH_EVERY, WATCH_QUIET).await.to_string()
    }

    fn abandon(&self, why: &str) {
        self.client.abandon(why);
    }

    async fn send(
        &self,
        tx: &SignedTx,
    ) -> Result<PendingAnswer<ClientError>, Unanswered<ClientError>> {
        let mut reopened = false;
        loop {
            let pipeline = self.pipeline().await.map_err(Unanswered::NotSent)?;
            match pipeline.submit(tx).await.map_err(unanswered) {
                Ok(pending) => {
                    return Ok(Box::pin(
                        async move { pending.wait().await.map_err(unanswered) },
                    ));
                }
                // The node closed the pipeline (the connection still serves): the
                // transaction was not written; once more on a new one.
                Err(Unanswered::NotSent(_)) if !reopened && !self.client.is_closed() => {
                    self.forget(&pipeline).await;
                    reopened = true;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn last_nonce(&self, _key: PublicKey) -> Result<Option<u64>, ClientError> {
        let account = query::account().ask(&self.client).await?;
        Ok(account.map(|a| a.last_nonce))
    }

    async fn committed(&self, hash: TxHash) -> Result<Option<CommittedView>, ClientError> {
        self.client.committed(hash).await
    }

    async fn look_up(
        &self,
        hash: TxHash,
        _key: PublicKey,
        nonce: u64,
    ) -> Result<Settlement<CommittedView>, ClientError> {
        look_up(&self.client, hash, nonce).await
    }
}

/// Dials the nodes of one game over QUIC as one participant.
#[derive(Clone)]
pub struct QuicDial {
    pub genesis: Genesis,
    /// Nodes registered after the genesis that are trusted as the game's too (as a node
    /// of the caller's own knows them: `qraft join` writes them beside the genesis).
    pub registered: Vec<NodeSpec>,
    pub keypair: Keypair,
}

impl Dial<Quic> for QuicDial {
    fn dial(&self, nodes: Vec<String>) -> BoxFuture<Result<Quic, DialError>> {
        let (genesis, keypair) = (self.genesis.clone(), self.keypair.clone());
        let registered = self.registered.clone();
        Box::pin(async move {
            match Client::connect_trusting(&genesis, &registered, keypair, &nodes).await {
                Ok(client) => Ok(Quic::new(client)),
                Err(ClientError::Tls(err @ TlsError::Refused { .. })) => {
                    Err(DialError::Refused(err.to_string()))
                }
                Err(err) => Err(DialError::Unreachable(err.to_string())),
            }
        })
    }
}
