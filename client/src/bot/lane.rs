//! The bot's sending lane: one signing key, one nonce counter, the connection in use and
//! its ordered submission [`Pipeline`], shared by the [`Bot`](super::Bot), its event
//! streams and every [`Pending`](super::Pending) handle it gave out.
//!
//! Signing and writing happen under one lock, so nonces reach the node in the order they
//! were given out: the pipeline keeps that order all the way to the leader.
//!
//! **Following the game across a node failure.** A task watches the connection in use
//! ([`Client::lost`]): a node killed outright sends nothing, and QUIC alone would notice
//! only after its idle timeout. Once the connection is lost, the next use of the lane
//! (a send, a request, a handle settling its transaction, an event stream) connects to
//! another node of the game ([`reconnect_order`]: the others first), and before anything
//! new is written there, sends again every transaction still in flight, identical and in
//! nonce order. A transaction is applied at most once (its nonce makes a second copy
//! stale), so a copy already in the chain costs nothing, and one the dead node took with
//! it is applied instead of left in doubt.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::Duration;

use qraft_keys::Keypair;
use tokio::sync::Mutex;

use crate::signer::Signer;

use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::{SignedTx, TxBody, TxHash};
use qraft_node::net::client::{Client, ClientError, PendingReceipt, Pipeline};

use crate::failover::{
    RECONNECT_PAUSE, WATCH_EVERY, WATCH_QUIET, next_reconnect_pause, reconnect_order,
    reconnect_spread,
};
use qraft_node::net::proto::{Request, Response};
use qraft_node::net::tls::TlsError;

use super::BotError;

/// How long a bot tries to reach another node of the game after losing its own, before
/// the call that needed it fails: long enough for a leader election and a restarted
/// laptop (a few seconds each), short enough that a bot with no game left says so.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(20);

/// What the bot and its pending handles share.
pub(crate) struct Lane {
    /// The key and its nonces (signing happens under `state`'s lock).
    signer: Signer,
    genesis: Genesis,
    /// The nodes this bot may use, in the order asked for (every node of the genesis if
    /// none were named).
    nodes: Vec<String>,
    /// The connection in use and the task watching it.
    link: StdMutex<Link>,
    /// Transactions written and not answered yet.
    flight: Arc<StdMutex<Flight>>,
    state: Mutex<LaneState>,
}

/// A connection and the task that closes it once its node is lost.
struct Link {
    client: Arc<Client>,
    watch: tokio::task::JoinHandle<()>,
}

impl Link {
    fn watching(client: Arc<Client>) -> Link {
        let watched = client.clone();
        let watch = tokio::spawn(async move {
            let why = watched.lost(WATCH_EVERY, WATCH_QUIET).await;
            tracing::info!(node = watched.address(), %why, "lost the connection to the node");
        });
        Link { client, watch }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.watch.abort();
    }
}

/// What changes as transactions are sent.
struct LaneState {
    /// The open pipeline, on the connection in use; `None` before the first send and
    /// after it broke (the next send opens a new one).
    pipeline: Option<Arc<Pipeline>>,
}

/// Transactions in flight: what a new connection sends again.
#[derive(Default)]
struct Flight {
    /// Every transaction written whose handle has not settled it, by nonce (the order
    /// they are sent again in). Bounded by the [`Pending`](super::Pending) handles alive:
    /// each holds one, and takes it out when it settles or is dropped.
    by_nonce: BTreeMap<u64, SignedTx>,
    /// The receipts to come for those sent again on a new connection, by hash, until
    /// their handle takes them. Bounded like `by_nonce`.
    resent: HashMap<TxHash, PendingReceipt>,
}

fn lock<T>(mutex: &StdMutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// One transaction written on the pipeline (its receipt to come, handed out beside it).
pub(crate) struct Sent {
    pub tx: SignedTx,
    pub hash: TxHash,
    pub nonce: u64,
    /// The pipeline it went on, so a broken one can be told apart from its successor.
    pub pipeline: Arc<Pipeline>,
    /// The connection it went on, so a lost one can be told apart from its successor.
    pub client: Arc<Client>,
    /// Keeps it in flight (sent again on a new connection) until dropped.
    _flying: Flying,
}

/// A transaction's place among those in flight, given up when dropped.
struct Flying {
    flight: Arc<StdMutex<Flight>>,
    nonce: u64,
    hash: TxHash,
}

impl Drop for Flying {
    fn drop(&mut self) {
        let mut flight = lock(&self.flight);
        if flight
            .by_nonce
            .get(&self.nonce)
            .is_some_and(|tx| tx.hash() == self.hash)
        {
            flight.by_nonce.remove(&self.nonce);
        }
        flight.resent.remove(&self.hash);
    }
}

impl Lane {
    /// A lane on `client`, connected to one of `nodes` (the ones to come back to after a
    /// failure).
    pub fn new(client: Client, keypair: Keypair, genesis: Genesis, nodes: Vec<String>) -> Lane {
        Lane {
            signer: Signer::new(keypair, genesis.chain_id()),
            genesis,
            nodes,
            link: StdMutex::new(Link::watching(Arc::new(client))),
            flight: Arc::default(),
            state: Mutex::new(LaneState { pipeline: None }),
        }
    }

    /// The connection in use (it may have been lost: see [`Lane::serving`]).
    pub fn client(&self) -> Arc<Client> {
        lock(&self.link).client.clone()
    }

    pub fn keypair(&self) -> &Keypair {
        self.signer.keypair()
    }

    /// A connection that serves: the one in use, or a new one if it was lost.
    pub async fn serving(&self) -> Result<Arc<Client>, BotError> {
        let client = self.client();
        if client.is_closed() {
            self.reconnect(&client).await
        } else {
            Ok(client)
        }
    }

    /// One request on a connection that serves; if that connection is lost while it is
    /// asked, the request is asked again once on the next one.
    pub async fn request(&self, request: &Request) -> Result<Response, BotError> {
        let client = self.serving().await?;
        match client.request(request).await {
            Err(_) if client.is_closed() => {
                let client = self.reconnect(&client).await?;
                Ok(client.request(request).await?)
            }
            answer => Ok(answer?),
        }
    }

    /// The connection that replaces `lost`: the one in use if another caller already
    /// replaced it, else a new one (see [`Lane::reconnect_locked`]).
    pub async fn reconnect(&self, lost: &Arc<Client>) -> Result<Arc<Client>, BotError> {
        let mut state = self.state.lock().await;
        self.reconnect_locked(&mut state, lost).await
    }

    /// Connects to another node of the game (the others first, `lost` last), round after
    /// round with a growing pause for at most [`RECONNECT_WAIT`], then sends again every
    /// transaction in flight, in nonce order, before anything new.
    async fn reconnect_locked(
        &self,
        state: &mut LaneState,
        lost: &Arc<Client>,
    ) -> Result<Arc<Client>, BotError> {
        let current = self.client();
        if !Arc::ptr_eq(&current, lost) && !current.is_closed() {
            return Ok(current);
        }
        current.abandon("lost");
        let genesis_nodes = Client::node_addresses(&self.genesis);
        let spread = reconnect_spread(&self.signer.key());
        let order = reconnect_order(&self.nodes, &genesis_nodes, current.address(), spread);
        let deadline = tokio::time::Instant::now() + RECONNECT_WAIT;
        let mut pause = RECONNECT_PAUSE;
        let client = loop {
            let attempt = Client::connect(&self.genesis, self.keypair().clone(), &order);
            let failure = match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(client)) => break client,
                Ok(Err(err @ ClientError::Tls(TlsError::Refused { .. }))) => {
                    return Err(err.into());
                }
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no node answered in time".to_string(),
            };
            if tokio::time::Instant::now() + pause >= deadline {
                return Err(BotError::Lost {
                    node: current.address().to_string(),
                    waited: RECONNECT_WAIT,
                    why: failure,
                });
            }
            tokio::time::sleep(pause).await;
            pause = next_reconnect_pause(pause);
        };
        let client = Arc::new(client);
        tracing::info!(
            lost = current.address(),
            now = client.address(),
            "reconnected to another node of the game"
        );
        *lock(&self.link) = Link::watching(client.clone());
        state.pipeline = None;
        if let Ok(last) = client.last_nonce().await {
            self.signer.saw(last);
        }
        self.resend_in_flight(state, &client).await;
        Ok(client)
    }

    /// Sends again, on `client`'s pipeline, every transaction in flight, in nonce order.
    /// Best effort: a handle whose copy could not be sent settles by lookup.
    async fn resend_in_flight(&self, state: &mut LaneState, client: &Arc<Client>) {
        let txs: Vec<SignedTx> = lock(&self.flight).by_nonce.values().cloned().collect();
        if txs.is_empty() {
            return;
        }
        let Ok(pipeline) = self.open(state, client).await else {
            return;
        };
        tracing::info!(
            count = txs.len(),
            "sending the transactions in flight again"
        );
        for tx in txs {
            match pipeline.submit(&tx).await {
                Ok(receipt) => {
                    lock(&self.flight).resent.insert(tx.hash(), receipt);
                }
                Err(_) => {
                    state.pipeline = None;
                    return;
                }
            }
        }
    }

    /// The receipt to come for transaction `hash`, if a new connection sent it again.
    pub fn take_resent(&self, hash: &TxHash) -> Option<PendingReceipt> {
        lock(&self.flight).resent.remove(hash)
    }

    /// Signs `body` with the next nonce and writes it on the pipeline behind everything
    /// sent before it; returns once it is written, not once it is applied.
    ///
    /// The pipeline is opened on first use, on a new connection if the one in use was
    /// lost. If writing fails (the stream broke), it is opened again and the same signed
    /// transaction written once more: a frame that failed to write never reached the
    /// node whole, so it cannot be applied twice.
    pub async fn send(&self, body: &TxBody) -> Result<(Sent, PendingReceipt), BotError> {
        let mut state = self.state.lock().await;
        // Signed under the lock: nonces are written in the order they are given out.
        let tx = self.signer.sign(body.clone());
        let nonce = tx.tx.nonce;
        let hash = tx.hash();
        let mut reopened = false;
        loop {
            let mut client = self.client();
            if client.is_closed() {
                client = self.reconnect_locked(&mut state, &client).await?;
            }
            let written = match self.open(&mut state, &client).await {
                Ok(pipeline) => pipeline
                    .submit(&tx)
                    .await
                    .map(|receipt| (pipeline, receipt)),
                Err(err) => Err(err),
            };
            match written {
                Ok((pipeline, receipt)) => {
                    lock(&self.flight).by_nonce.insert(nonce, tx.clone());
                    let flying = Flying {
                        flight: self.flight.clone(),
                        nonce,
                        hash,
                    };
                    let sent = Sent {
                        tx,
                        hash,
                        nonce,
                        pipeline,
                        client,
                        _flying: flying,
                    };
                    return Ok((sent, receipt));
                }
                Err(err) => {
                    state.pipeline = None;
                    if reopened {
                        return Err(err.into());
                    }
                    tracing::info!(%err, "the submission pipeline broke; opening another");
                    reopened = true;
                }
            }
        }
    }

    /// The open pipeline, opening one on `client` if there is none.
    async fn open(
        &self,
        state: &mut LaneState,
        client: &Client,
    ) -> Result<Arc<Pipeline>, ClientError> {
        if let Some(pipeline) = &state.pipeline {
            return Ok(pipeline.clone());
        }
        let pipeline = Arc::new(client.pipeline().await?);
        state.pipeline = Some(pipeline.clone());
        Ok(pipeline)
    }

    /// Forgets `broken` (if it is still the open pipeline), so the next send opens a new
    /// one.
    pub async fn forget_pipeline(&self, broken: &Arc<Pipeline>) {
        let mut state = self.state.lock().await;
        if state
            .pipeline
            .as_ref()
            .is_some_and(|open| Arc::ptr_eq(open, broken))
        {
            tracing::info!("the submission pipeline closed; the next send opens another");
            state.pipeline = None;
        }
    }

    /// Learns the last nonce the game has applied from this key, so the next one is
    /// above it (another program may have used the key).
    pub async fn sync_nonce(&self) -> Result<(), BotError> {
        let last = match self.request(&Request::Account).await? {
            Response::Account(Some(account)) => account.last_nonce,
            Response::Account(None) => {
                return Err(BotError::Unexpected(
                    "this key is not a participant in this game".into(),
                ));
            }
            other => return Err(super::unexpected(&other)),
        };
        self.signer.saw(last);
        Ok(())
    }
}
