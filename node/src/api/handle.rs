//! [`Handle`]: submit, subscribe, query. Cheap to clone; every clone talks to the same
//! node thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustc_hash::FxHashMap;
use tokio::sync::{broadcast, oneshot};

use crate::core::block::{Block, BlockHash};
use crate::core::exchange::receipt::{PublicTrade, Receipt};
use crate::core::exchange::views::{AccountView, DepthView, LeaderboardRow, SymbolView};
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;
use crate::core::types::Ticker;
use crate::io::runner::Input;
use crate::replica::{
    MembershipChange, Refusal, Replica, ReplicaError, ReplicaEvent, Status, StoredReceipt,
};
use qraft_keys::PublicKey;

use super::event::NodeEvent;

/// A transaction was ordered and applied on this node: where, and what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    pub height: u64,
    pub block_hash: BlockHash,
    /// The transaction's position in its block.
    pub index: u32,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Not taken, so never applied; `refusal.is_retryable()` says whether to retry.
    #[error("{0}")]
    Refused(Refusal),
    /// No answer in time. The transaction may still be applied: look up its receipt by
    /// hash before resubmitting (a resubmission with the same nonce is refused as stale
    /// once the first is applied, so it is never applied twice).
    #[error("no answer within {waited:?}: the outcome is unknown; look up the receipt of {hash}")]
    Timeout { hash: TxHash, waited: Duration },
    #[error("the node has stopped")]
    Stopped,
}

/// The node has stopped; queries cannot be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the node has stopped")]
pub struct NodeStopped;

type Waiter = oneshot::Sender<Result<Committed, SubmitError>>;

pub(crate) struct Shared {
    pub(crate) id: NodeId,
    pub(crate) inbox: Sender<Input>,
    waiters: Mutex<FxHashMap<TxHash, Vec<Waiter>>>,
    events: broadcast::Sender<NodeEvent>,
    submit_timeout: Duration,
    stopped: AtomicBool,
}

#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(id: NodeId, inbox: Sender<Input>, submit_timeout: Duration) -> Handle {
        Handle {
            shared: Arc::new(Shared {
                id,
                inbox,
                waiters: Mutex::new(FxHashMap::default()),
                events: broadcast::channel(4096).0,
                submit_timeout,
                stopped: AtomicBool::new(false),
            }),
        }
    }

    pub fn id(&self) -> NodeId {
        self.shared.id
    }

    /// Submits a signed transaction and waits for its receipt (applied on this node), a
    /// refusal, or the timeout.
    pub async fn submit(&self, tx: SignedTx) -> Result<Committed, SubmitError> {
        self.enqueue(tx).wait().await
    }

    /// Hands a transaction to the node now, without waiting: transactions enqueued one
    /// after another reach the node in that order (so a bot can pipeline its nonces).
    /// Await the receipt with [`PendingSubmit::wait`].
    pub fn enqueue(&self, tx: SignedTx) -> PendingSubmit {
        let hash = tx.hash();
        let (sender, receiver) = oneshot::channel();
        self.waiters().entry(hash).or_default().push(sender);
        let sent = !self.is_stopped() && self.shared.inbox.send(Input::Submit(tx)).is_ok();
        if !sent {
            self.forget_closed_waiters(&hash);
        }
        PendingSubmit {
            handle: self.clone(),
            hash,
            receiver: sent.then_some(receiver),
        }
    }

    /// Events from now on. A subscriber that falls more than 4096 events behind gets
    /// `RecvError::Lagged` and should re-query what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// Runs `f` on the node's thread, between two steps of its loop, and returns its
    /// result. Keep `f` short: the node waits for it.
    pub async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Replica) -> R + Send + 'static,
    ) -> Result<R, NodeStopped> {
        self.ask(f)?.await.map_err(|_| NodeStopped)
    }

    /// Queues `f` for the node's thread; its result arrives on the receiver.
    fn ask<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Replica) -> R + Send + 'static,
    ) -> Result<oneshot::Receiver<R>, NodeStopped> {
        let (sender, receiver) = oneshot::channel();
        let job = Box::new(move |replica: &Replica| {
            let _ = sender.send(f(replica));
        });
        self.shared
            .inbox
            .send(Input::Query(job))
            .map_err(|_| NodeStopped)?;
        Ok(receiver)
    }

    pub async fn status(&self) -> Result<Status, NodeStopped> {
        self.query(|replica| replica.status()).await
    }

    pub async fn block(&self, height: u64) -> Result<Option<Block>, NodeStopped> {
        self.query(move |replica| replica.block(height).ok().flatten())
            .await
    }

    pub async fn receipt(&self, hash: TxHash) -> Result<Option<StoredReceipt>, NodeStopped> {
        self.query(move |replica| replica.receipt(&hash).ok().flatten())
            .await
    }

    /// The order book of `symbol`, `levels` price levels a side (`None`: no such symbol).
    pub async fn depth(
        &self,
        symbol: Ticker,
        levels: usize,
    ) -> Result<Option<DepthView>, NodeStopped> {
        self.query(move |replica| replica.ledger().exchange().depth(symbol, levels))
            .await
    }

    /// Every symbol with its last price, change and volume.
    pub async fn symbols(&self) -> Result<Vec<SymbolView>, NodeStopped> {
        self.query(|replica| replica.ledger().exchange().symbols())
            .await
    }

    /// A participant's own account: cash, positions, open orders. (Who may see which
    /// account is the network server's business; in process, the caller is trusted.)
    pub async fn account(&self, key: PublicKey) -> Result<Option<AccountView>, NodeStopped> {
        self.query(move |replica| replica.ledger().exchange().account(&key))
            .await
    }

    /// The most recent trades, newest first, in one symbol or all.
    pub async fn recent_trades(
        &self,
        symbol: Option<Ticker>,
        limit: usize,
    ) -> Result<Vec<PublicTrade>, NodeStopped> {
        self.query(move |replica| replica.ledger().exchange().recent_trades(symbol, limit))
            .await
    }

    pub async fn leaderboard(&self) -> Result<Vec<LeaderboardRow>, NodeStopped> {
        self.query(|replica| replica.ledger().exchange().leaderboard())
            .await
    }

    /// Proposes a membership change; this node must lead. Applied asynchronously: watch
    /// for [`NodeEvent::MembershipChanged`].
    pub async fn change_membership(&self, change: MembershipChange) -> Result<(), ReplicaError> {
        let (sender, receiver) = oneshot::channel();
        self.shared
            .inbox
            .send(Input::Membership(change, sender))
            .map_err(|_| ReplicaError::Stopped)?;
        receiver.await.map_err(|_| ReplicaError::Stopped)?
    }

    /// Asks the node's thread to stop (it finishes the step it is in).
    pub fn shutdown(&self) {
        let _ = self.shared.inbox.send(Input::Shutdown);
    }

    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, FxHashMap<TxHash, Vec<Waiter>>> {
        self.shared
            .waiters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn forget_closed_waiters(&self, hash: &TxHash) {
        let mut waiters = self.waiters();
        if let Some(list) = waiters.get_mut(hash) {
            list.retain(|w| !w.is_closed());
            if list.is_empty() {
                waiters.remove(hash);
            }
        }
    }

    // --- Called by the node's thread -------------------------------------------------------

    /// Resolves waiters and publishes events for one replica event.
    pub(crate) fn dispatch(&self, event: ReplicaEvent) {
        match &event {
            ReplicaEvent::Applied(block) => {
                let height = block.block.header.height;
                let block_hash = block.block.header.hash();
                let mut waiters = self.waiters();
                if !waiters.is_empty() {
                    for (index, receipt) in block.receipts.iter().enumerate() {
                        if let Some(list) = waiters.remove(&receipt.tx) {
                            let committed = Committed {
                                height,
                                block_hash,
                                index: index as u32,
                                receipt: receipt.clone(),
                            };
                            for waiter in list {
                                let _ = waiter.send(Ok(committed.clone()));
                            }
                        }
                    }
                }
            }
            ReplicaEvent::Refused { hash, refusal } => {
                if let Some(list) = self.waiters().remove(hash) {
                    for waiter in list {
                        let _ = waiter.send(Err(SubmitError::Refused(refusal.clone())));
                    }
                }
            }
            _ => {}
        }
        if self.shared.events.receiver_count() > 0 {
            for public in NodeEvent::from_replica(&event) {
                let _ = self.shared.events.send(public);
            }
        }
    }

    /// The node's thread ended: fail every waiter.
    pub(crate) fn mark_stopped(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        for (_, list) in self.waiters().drain() {
            for waiter in list {
                let _ = waiter.send(Err(SubmitError::Stopped));
            }
        }
    }
}

/// A submitted transaction whose receipt has not been awaited yet.
pub struct PendingSubmit {
    handle: Handle,
    hash: TxHash,
    receiver: Option<oneshot::Receiver<Result<Committed, SubmitError>>>,
}

impl PendingSubmit {
    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// The receipt, a refusal, or a timeout (the handle's submit timeout).
    pub async fn wait(self) -> Result<Committed, SubmitError> {
        let Some(receiver) = self.receiver else {
            return Err(SubmitError::Stopped);
        };
        let waited = self.handle.shared.submit_timeout;
        match tokio::time::timeout(waited, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SubmitError::Stopped),
            Err(_) => {
                self.handle.forget_closed_waiters(&self.hash);
                Err(SubmitError::Timeout {
                    hash: self.hash,
                    waited,
                })
            }
        }
    }
}
