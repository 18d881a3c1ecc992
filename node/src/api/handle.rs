//! [`Handle`]: submit, subscribe, query. Cheap to clone; every clone talks to the same
//! node thread.
//!
//! Submissions and queries go through the node thread's bounded client inbox
//! ([`crate::io::inbox`]): when it is full, a submission is refused
//! [`Refusal::Busy`] and a query answered [`QueryError::Busy`] at once. Reads of the
//! chain store (blocks, receipts) do not touch the node thread at all: they run on tokio's
//! blocking pool through a store [`Reader`], at most [`MAX_HEAVY_QUERIES`] at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustc_hash::FxHashMap;
use tokio::sync::{Semaphore, broadcast, oneshot};

use crate::backfill::check::{CheckedSegment, FullBlock};
use crate::core::block::{Block, BlockHeader};
use crate::core::exchange::Candle;
use crate::core::exchange::receipt::PublicTrade;
use crate::core::exchange::rules::RuleChange;
use crate::core::exchange::schedule::ScenarioView;
use crate::core::exchange::views::{AccountView, DepthView, LeaderboardRow, NewsItem, SymbolView};
use crate::core::genesis::NodeSpec;
use crate::core::hash::Hash32;
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;
use crate::core::types::{Role as ParticipantRole, Ticker};
use crate::io::inbox::{CallReply, ClientInput, ClientSender, ControlCall, EnqueueError, Input};
use crate::io::store::Reader;
use crate::replica::{BackfillProgress, BackfillRefusal, Replica, ReplicaError, ReplicaEvent};
use qraft_keys::PublicKey;

use super::error::{MembershipError, NodeStopped, QueryError, SubmitError};
use super::event::NodeEvent;
use super::types::{
    Committed, LogBounds, MarketView, MembershipChange, Refusal, Registration, SettleFacts, Status,
    StoredReceipt,
};

impl From<EnqueueError> for QueryError {
    fn from(e: EnqueueError) -> Self {
        match e {
            EnqueueError::Busy { .. } => QueryError::Busy,
            EnqueueError::Closed => QueryError::Stopped(NodeStopped),
        }
    }
}

/// Store reads (blocks, receipts) running at once per node, at most; more are answered
/// [`QueryError::Busy`]. The machine has 2 cores and the node thread needs one: four
/// reads keep the disk busy without taking the other core from the async tasks, and the
/// blocking pool's threads (one per read) stay few.
pub const MAX_HEAVY_QUERIES: usize = 4;

/// Events buffered for subscribers. A subscriber that falls further behind gets
/// `RecvError::Lagged` (the network server then drops it). A block makes about three
/// events (block, trades, books), so this is some 300 blocks, tens of seconds of a busy
/// game, for a subscriber to catch up; a stalled subscriber pins at most this many events
/// (each block is shared with the others, a few hundred KB at worst).
pub const EVENT_BUFFER: usize = 1024;

type Waiter = oneshot::Sender<Result<Committed, SubmitError>>;

pub(crate) struct Shared {
    pub(crate) id: NodeId,
    pub(crate) inbox: Sender<Input>,
    clients: ClientSender,
    /// Taken out when the node stops, so the store's files are closed with it.
    reader: Mutex<Option<Reader>>,
    heavy_queries: Arc<Semaphore>,
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
    pub(crate) fn new(
        id: NodeId,
        inbox: Sender<Input>,
        clients: ClientSender,
        reader: Reader,
        submit_timeout: Duration,
    ) -> Handle {
        Handle {
            shared: Arc::new(Shared {
                id,
                inbox,
                clients,
                reader: Mutex::new(Some(reader)),
                heavy_queries: Arc::new(Semaphore::new(MAX_HEAVY_QUERIES)),
                waiters: Mutex::new(FxHashMap::default()),
                events: broadcast::channel(EVENT_BUFFER).0,
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
    /// Await the receipt with [`PendingSubmit::wait`]; if the node's client inbox is full,
    /// it resolves at once to [`Refusal::Busy`].
    pub fn enqueue(&self, tx: SignedTx) -> PendingSubmit {
        let hash = tx.hash();
        let (sender, receiver) = oneshot::channel();
        self.waiters().entry(hash).or_default().push(sender);
        let sent = if self.is_stopped() {
            Err(EnqueueError::Closed)
        } else {
            self.shared.clients.try_send(ClientInput::Submit(tx))
        };
        let answer = match sent {
            Ok(()) => Answer::Waiting(receiver),
            Err(err) => {
                // Our waiter is closed once its receiver is gone: forget it.
                drop(receiver);
                self.forget_closed_waiters(&hash);
                Answer::Ready(match err {
                    EnqueueError::Busy { capacity } => {
                        SubmitError::Refused(Refusal::Busy { capacity })
                    }
                    EnqueueError::Closed => SubmitError::Stopped(NodeStopped),
                })
            }
        };
        PendingSubmit {
            handle: self.clone(),
            hash,
            answer,
        }
    }

    /// Events from now on. A subscriber that falls more than [`EVENT_BUFFER`] events
    /// behind gets `RecvError::Lagged` and should re-query what it shows.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// Runs `f` on the node's thread, between two steps of its loop, and returns its
    /// result. Keep `f` short and bounded: the node, and every peer waiting on it, waits
    /// for it. [`QueryError::Busy`] at once if the node's client inbox is full.
    ///
    /// Crate-private: what the replica shows the world is the typed queries below.
    pub(crate) async fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Replica) -> R + Send + 'static,
    ) -> Result<R, QueryError> {
        Ok(self.ask(f)?.await.map_err(|_| NodeStopped)?)
    }

    /// Queues `f` for the node's thread; its result arrives on the receiver.
    fn ask<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Replica) -> R + Send + 'static,
    ) -> Result<oneshot::Receiver<R>, QueryError> {
        let (sender, receiver) = oneshot::channel();
        let job = Box::new(move |replica: &Replica| {
            let _ = sender.send(f(replica));
        });
        self.shared.clients.try_send(ClientInput::Query(job))?;
        Ok(receiver)
    }

    /// Runs `read` on the chain store off the node thread, on tokio's blocking pool (fjall
    /// is synchronous), with at most [`MAX_HEAVY_QUERIES`] running at once: over that,
    /// [`QueryError::Busy`] at once. A read whose caller gave up still runs to its end,
    /// holding its place in the bound.
    async fn read_store<R: Send + 'static>(
        &self,
        read: impl FnOnce(&Reader) -> R + Send + 'static,
    ) -> Result<R, QueryError> {
        let permit = self
            .shared
            .heavy_queries
            .clone()
            .try_acquire_owned()
            .map_err(|_| QueryError::Busy)?;
        let reader = self
            .shared
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(NodeStopped)?;
        tokio::task::spawn_blocking(move || {
            let answer = read(&reader);
            drop(permit);
            answer
        })
        .await
        .map_err(|_| QueryError::Stopped(NodeStopped))
    }

    pub async fn status(&self) -> Result<Status, QueryError> {
        self.query(|replica| replica.status()).await
    }

    /// A stored block by height (absent below a snapshot this node installed). Read off
    /// the node thread; see [`MAX_HEAVY_QUERIES`].
    pub async fn block(&self, height: u64) -> Result<Option<Block>, QueryError> {
        self.read_store(move |reader| {
            let bytes = reader.block(height).ok().flatten()?;
            postcard::from_bytes(&bytes).ok()
        })
        .await
    }

    /// The headers of the stored blocks with height in `[from, to]`, in order, stopping
    /// once the blocks read add up to `max_bytes` (at least one block if there is one).
    /// Read off the node thread; see [`MAX_HEAVY_QUERIES`].
    pub async fn block_headers(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<BlockHeader>, QueryError> {
        self.read_store(move |reader| {
            let blocks = reader.blocks(from, to, max_bytes).unwrap_or_default();
            blocks
                .iter()
                // A block's encoding starts with its header's.
                .filter_map(|(_, bytes)| postcard::take_from_bytes::<BlockHeader>(bytes).ok())
                .map(|(header, _)| header)
                .collect()
        })
        .await
    }

    /// A stored receipt by transaction hash. Read off the node thread; see
    /// [`MAX_HEAVY_QUERIES`].
    pub async fn receipt(&self, hash: TxHash) -> Result<Option<StoredReceipt>, QueryError> {
        self.read_store(move |reader| {
            let bytes = reader.receipt(&hash.0).ok().flatten()?;
            postcard::from_bytes(&bytes).ok()
        })
        .await
    }

    /// Stored blocks with every receipt, from `to` down to `from` (highest first), for a
    /// node backfilling them: stops before a block this node lacks (or whose receipts it
    /// cannot give whole, see [`crate::backfill::receipts`]), and once the encoded blocks
    /// add up to `max_bytes` (at least one block if there is one). Read off the node
    /// thread; see [`MAX_HEAVY_QUERIES`].
    pub async fn full_blocks(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<FullBlock>, QueryError> {
        self.read_store(move |reader| {
            let mut out = Vec::new();
            let mut bytes = 0usize;
            for height in (from.max(1)..=to).rev() {
                let Some(block) = reader
                    .block(height)
                    .ok()
                    .flatten()
                    .and_then(|b| postcard::from_bytes::<Block>(&b).ok())
                else {
                    break;
                };
                let Some(receipts) = crate::backfill::receipts::block_receipts(&block, |key| {
                    let bytes = reader.receipt(key).ok().flatten()?;
                    postcard::from_bytes(&bytes).ok()
                }) else {
                    break;
                };
                let full = FullBlock { block, receipts };
                let size = postcard::experimental::serialized_size(&full).unwrap_or(usize::MAX);
                if !out.is_empty() && bytes.saturating_add(size) > max_bytes {
                    break;
                }
                bytes = bytes.saturating_add(size);
                out.push(full);
            }
            out
        })
        .await
    }

    /// Hands blocks the backfill fetched and checked to the node thread to store; see
    /// [`Replica::handle_backfill`].
    pub async fn store_backfill(
        &self,
        segment: CheckedSegment,
    ) -> Result<Result<BackfillProgress, BackfillRefusal>, NodeStopped> {
        self.call(move |replica| replica.handle_backfill(segment))
            .await
    }

    /// Runs `f` with the replica on the node's thread, on its control inbox (so ahead of
    /// client inputs), and returns its answer. An error from `f` is fatal to the node.
    async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Replica) -> Result<R, ReplicaError> + Send + 'static,
    ) -> Result<R, NodeStopped> {
        let (sender, receiver) = oneshot::channel();
        let call = ControlCall(Box::new(move |replica: &mut Replica| {
            let answer = f(replica)?;
            let reply: CallReply = Box::new(move || {
                let _ = sender.send(answer);
            });
            Ok(reply)
        }));
        self.shared
            .inbox
            .send(Input::Call(call))
            .map_err(|_| NodeStopped)?;
        receiver.await.map_err(|_| NodeStopped)
    }

    /// The order book of `symbol`, `levels` price levels a side (`None`: no such symbol).
    pub async fn depth(
        &self,
        symbol: Ticker,
        levels: usize,
    ) -> Result<Option<DepthView>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().depth(symbol, levels))
            .await
    }

    /// Every symbol with its last price, change and volume.
    pub async fn symbols(&self) -> Result<Vec<SymbolView>, QueryError> {
        self.query(|replica| replica.ledger().exchange().symbols())
            .await
    }

    /// A participant's own account: cash, positions, open orders. (Who may see which
    /// account is the network server's business; in process, the caller is trusted.)
    pub async fn account(&self, key: PublicKey) -> Result<Option<AccountView>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().account(&key))
            .await
    }

    /// The most recent trades, newest first, in one symbol or all.
    pub async fn recent_trades(
        &self,
        symbol: Option<Ticker>,
        limit: usize,
    ) -> Result<Vec<PublicTrade>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().recent_trades(symbol, limit))
            .await
    }

    pub async fn leaderboard(&self) -> Result<Vec<LeaderboardRow>, QueryError> {
        self.query(|replica| replica.ledger().exchange().leaderboard())
            .await
    }

    /// The market as a whole: every symbol, the trading session, and whether the game
    /// is over, read at one moment.
    pub async fn market(&self) -> Result<MarketView, QueryError> {
        self.query(|replica| {
            let exchange = replica.ledger().exchange();
            MarketView {
                symbols: exchange.symbols(),
                session: exchange.session(),
                game_over: exchange.is_game_over(),
            }
        })
        .await
    }

    /// The recent candles of `symbol` (`None`: no such symbol).
    pub async fn candles(&self, symbol: Ticker) -> Result<Option<Vec<Candle>>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().candles(symbol))
            .await
    }

    /// The game's news, as published.
    pub async fn news(&self) -> Result<Vec<NewsItem>, QueryError> {
        self.query(|replica| replica.ledger().exchange().news())
            .await
    }

    /// The node registry: every node that may join (genesis's and those the admin
    /// added), removed ones included.
    pub async fn nodes(&self) -> Result<Vec<NodeSpec>, QueryError> {
        self.query(|replica| replica.ledger().exchange().nodes().to_vec())
            .await
    }

    /// Every set of rules the game has had, the genesis's first; the last is in force.
    pub async fn rules(&self) -> Result<Vec<RuleChange>, QueryError> {
        self.query(|replica| replica.ledger().exchange().rule_changes().to_vec())
            .await
    }

    /// The game's scenario and how far it has run; none for a free market.
    pub async fn scenario(&self) -> Result<Option<ScenarioView>, QueryError> {
        self.query(|replica| replica.ledger().exchange().scenario())
            .await
    }

    /// The end-of-game report's hash the admin recorded, if any, and the head's height.
    pub async fn report_hash(&self) -> Result<(Option<Hash32>, u64), QueryError> {
        self.query(|replica| {
            let ledger = replica.ledger();
            (ledger.exchange().report_hash(), ledger.head().height)
        })
        .await
    }

    /// The registered node `id` (`None`: no such node registered).
    pub async fn node(&self, id: NodeId) -> Result<Option<NodeSpec>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().node(id).cloned())
            .await
    }

    /// Where node `id` stands in the node registry: unregistered, registered, or removed
    /// by the admin.
    pub async fn node_registration(&self, id: NodeId) -> Result<Registration, QueryError> {
        self.query(move |replica| {
            let exchange = replica.ledger().exchange();
            if exchange.node(id).is_none() {
                Registration::Unregistered
            } else if exchange.is_node_removed(id) {
                Registration::Removed
            } else {
                Registration::Registered
            }
        })
        .await
    }

    /// Where this node's Raft log starts, and the index of the snapshot it holds.
    pub async fn log_bounds(&self) -> Result<LogBounds, QueryError> {
        self.query(|replica| {
            let store = replica.store();
            LogBounds {
                first_index: raft::Storage::first_index(store).unwrap_or(0),
                snapshot_index: store.latest_snapshot().map(|s| s.get_metadata().index),
            }
        })
        .await
    }

    /// Peer messages this node refused before Raft saw them (a non-voter's leadership, a
    /// snapshot that does not restore) since it started.
    pub async fn refused_peer_messages(&self) -> Result<u64, QueryError> {
        self.query(|replica| replica.refused_peer_messages()).await
    }

    /// The role of `key` in the game (`None`: not in it).
    pub async fn role_of(&self, key: PublicKey) -> Result<Option<ParticipantRole>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().role_of(&key))
            .await
    }

    /// The last nonce the game has applied from `key` (`None`: none yet, or not in it).
    pub async fn last_nonce(&self, key: PublicKey) -> Result<Option<u64>, QueryError> {
        self.query(move |replica| replica.ledger().exchange().last_nonce(&key))
            .await
    }

    /// What settling transaction `hash` of `key`'s needs, in the order the settle rule
    /// asks: whether this node holds every block and `key`'s last nonce, then the
    /// receipt if held.
    pub async fn settle_facts(
        &self,
        hash: TxHash,
        key: PublicKey,
    ) -> Result<SettleFacts, QueryError> {
        // The nonce on the node thread first, then the receipt off it (a store read): a
        // block's receipts are stored by the step that applies it, so a nonce passed
        // before the look means any receipt is there by then.
        let (whole_chain, last_nonce) = self
            .query(move |replica| {
                let last = replica.ledger().exchange().last_nonce(&key).unwrap_or(0);
                (replica.missing_blocks().is_empty(), last)
            })
            .await?;
        Ok(SettleFacts {
            whole_chain,
            last_nonce,
            receipt: self.receipt(hash).await?,
        })
    }

    /// Proposes a membership change; this node must lead. Applied asynchronously: watch
    /// for [`NodeEvent::MembershipChanged`].
    pub async fn change_membership(&self, change: MembershipChange) -> Result<(), MembershipError> {
        // Raft's refusal is the caller's answer, not fatal to the node.
        let proposed = self
            .call(move |replica| Ok(replica.handle_membership(change)))
            .await?;
        proposed.map_err(|err| match err {
            ReplicaError::NotLeader { leader } => MembershipError::NotLeader { leader },
            err => MembershipError::Refused(err.to_string()),
        })
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

    /// The node's thread ended: fail every waiter, and let go of the store.
    pub(crate) fn mark_stopped(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared
            .reader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        for (_, list) in self.waiters().drain() {
            for waiter in list {
                let _ = waiter.send(Err(SubmitError::Stopped(NodeStopped)));
            }
        }
    }
}

/// A submitted transaction whose receipt has not been awaited yet.
pub struct PendingSubmit {
    handle: Handle,
    hash: TxHash,
    answer: Answer,
}

enum Answer {
    Waiting(oneshot::Receiver<Result<Committed, SubmitError>>),
    /// Answered without reaching the node (busy, or stopped).
    Ready(SubmitError),
}

impl PendingSubmit {
    pub fn hash(&self) -> TxHash {
        self.hash
    }

    /// The receipt, a refusal, or a timeout (the handle's submit timeout).
    pub async fn wait(self) -> Result<Committed, SubmitError> {
        let receiver = match self.answer {
            Answer::Waiting(receiver) => receiver,
            Answer::Ready(err) => return Err(err),
        };
        let waited = self.handle.shared.submit_timeout;
        match tokio::time::timeout(waited, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SubmitError::Stopped(NodeStopped)),
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

/// A [`Handle`] with no node thread behind it, for tests that play the node themselves.
#[cfg(test)]
pub(crate) mod detached {
    use std::sync::mpsc::Sender;
    use std::time::Duration;

    use raft::prelude::ConfState;

    use super::Handle;
    use crate::io::inbox::{Inboxes, Input, inboxes};
    use crate::io::store::Store;

    pub(crate) struct Detached {
        pub(crate) handle: Handle,
        /// What the node thread would read: the test takes turns from it.
        pub(crate) inboxes: Inboxes,
        pub(crate) _control: Sender<Input>,
        pub(crate) store: Store,
        _dir: tempfile::TempDir,
    }

    /// A handle whose client inbox holds `capacity`, over an empty store.
    pub(crate) fn detached(capacity: usize, submit_timeout: Duration) -> Detached {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store =
            Store::open(dir.path(), ConfState::from((vec![1], vec![]))).expect("a new store");
        let (control, clients, inboxes) = inboxes(capacity);
        let handle = Handle::new(1, control.clone(), clients, store.reader(), submit_timeout);
        Detached {
            handle,
            inboxes,
            _control: control,
            store,
            _dir: dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use qraft_keys::{ChainId, Keypair};

    use super::detached::detached;
    use super::*;
    use crate::core::hash::Hash32;
    use crate::core::tx::{Tx, TxBody};
    use crate::io::inbox::ClientInput;
    use crate::io::store::WriteSet;

    fn tx(nonce: u64) -> SignedTx {
        let key = Keypair::from_label("handle-test/trader");
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::CancelAll { symbol: None },
        }
        .sign(&key, &ChainId([3; 32]))
    }

    #[tokio::test]
    async fn a_full_client_inbox_answers_busy_at_once() {
        let node = detached(2, Duration::from_secs(3600));
        let first = node.handle.enqueue(tx(1));
        let _second = node.handle.enqueue(tx(2));
        // Both queued; the third and a query find the inbox full.
        let third = node.handle.enqueue(tx(3));
        assert_eq!(
            third.wait().await,
            Err(SubmitError::Refused(Refusal::Busy { capacity: 2 }))
        );
        assert_eq!(node.handle.status().await, Err(QueryError::Busy));
        // The refused submission left no waiter behind; the queued one still waits.
        assert_eq!(node.handle.waiters().len(), 2);
        node.handle.dispatch(ReplicaEvent::Refused {
            hash: first.hash(),
            refusal: Refusal::NoLeader,
        });
        assert_eq!(
            first.wait().await,
            Err(SubmitError::Refused(Refusal::NoLeader))
        );
    }

    #[tokio::test]
    async fn a_stopped_node_answers_stopped() {
        let node = detached(2, Duration::from_secs(3600));
        let handle = node.handle.clone();
        handle.mark_stopped();
        drop(node);
        assert_eq!(
            handle.enqueue(tx(1)).wait().await,
            Err(SubmitError::Stopped(NodeStopped))
        );
        assert_eq!(handle.status().await, Err(QueryError::Stopped(NodeStopped)));
        assert_eq!(handle.block(1).await, Err(QueryError::Stopped(NodeStopped)));
    }

    #[tokio::test]
    async fn queries_reach_the_node_thread_through_the_client_inbox() {
        let mut node = detached(8, Duration::from_secs(3600));
        let asked = node.handle.ask(|_| 42).unwrap();
        let mut taken = Vec::new();
        node.inboxes
            .take_clients(Duration::MAX, |input| taken.push(input));
        assert_eq!(taken.len(), 1);
        assert!(matches!(taken[0], ClientInput::Query(_)));
        // Dropping the job unanswered: the caller hears the node stopped, not a hang.
        drop(taken);
        assert!(asked.await.is_err());
    }

    #[tokio::test]
    async fn store_reads_run_off_the_node_thread_within_their_bound() {
        let mut node = detached(8, Duration::from_secs(3600));
        let block = Block {
            header: BlockHeader {
                height: 1,
                prev_hash: Hash32([1; 32]),
                timestamp_ms: 5,
                proposer: 1,
                tx_count: 1,
                tx_root: Hash32([2; 32]),
                receipts_root: Hash32([3; 32]),
                state_digest: Hash32([4; 32]),
            },
            txs: vec![tx(1)],
        };
        node.store
            .commit(WriteSet {
                blocks: vec![(1, postcard::to_stdvec(&block).unwrap())],
                ..WriteSet::default()
            })
            .unwrap();
        // No turn is taken: the node thread is not involved.
        assert_eq!(node.handle.block(1).await, Ok(Some(block.clone())));
        assert_eq!(node.handle.block(2).await, Ok(None));
        assert_eq!(
            node.handle.block_headers(1, 9, usize::MAX).await,
            Ok(vec![block.header.clone()])
        );
        assert_eq!(node.handle.receipt(Hash32([9; 32])).await, Ok(None));
        assert_eq!(node.inboxes.take_clients(Duration::MAX, drop), 0);

        // MAX_HEAVY_QUERIES reads held open: one more is busy at once.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = Arc::new(Mutex::new(held));
        let (started, mut running) = tokio::sync::mpsc::unbounded_channel();
        let mut reads = Vec::new();
        for _ in 0..MAX_HEAVY_QUERIES {
            let handle = node.handle.clone();
            let held = held.clone();
            let started = started.clone();
            reads.push(tokio::spawn(async move {
                handle
                    .read_store(move |_| {
                        let _ = started.send(());
                        let _ = held.lock().unwrap().recv();
                    })
                    .await
            }));
        }
        for _ in 0..MAX_HEAVY_QUERIES {
            running.recv().await.unwrap();
        }
        assert_eq!(node.handle.block(1).await, Err(QueryError::Busy));
        for _ in 0..MAX_HEAVY_QUERIES {
            release.send(()).unwrap();
        }
        for read in reads {
            assert_eq!(read.await.unwrap(), Ok(()));
        }
        assert_eq!(node.handle.block(1).await, Ok(Some(block)));
    }
}
