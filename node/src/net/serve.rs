//! The node's side of the client protocol: one task per request stream, answering
//! through the node's [`Handle`], with the caller's TLS key deciding what it may see and
//! do.
//!
//! Every client is untrusted, so every resource a stream can hold is bounded:
//! - a stream's first request must arrive within [`REQUEST_DEADLINE`], and any frame
//!   within [`FRAME_DEADLINE`] of its first byte; a request is at most
//!   [`MAX_CLIENT_REQUEST`] bytes, and a submitted transaction at most [`MAX_TX_BYTES`]
//!   encoded ([`ProtocolError::TooLarge`] otherwise, before it reaches the node);
//! - queries go to the node thread's bounded client inbox or, for blocks and receipts, to
//!   the store off the node thread, both answering [`ProtocolError::Busy`] when full;
//!   what a query may ask for is capped ([`MAX_DEPTH_LEVELS`], [`MAX_TRADES_PER_REQUEST`],
//!   [`MAX_BLOCKS_PER_REQUEST`] and [`MAX_CLIENT_RESPONSE`] bytes of blocks read), and
//!   the rest are bounded by the exchange itself: candles by
//!   `MAX_CANDLES` (720) a symbol, news by
//!   [`MAX_NEWS`](crate::core::exchange::MAX_NEWS), the leaderboard and symbols by
//!   [`MAX_ACCOUNTS`](crate::core::exchange::MAX_ACCOUNTS) and the listed symbols; the
//!   node thread also spends at most
//!   [`MAX_CLIENT_WORK_PER_TURN`](crate::io::inbox::MAX_CLIENT_WORK_PER_TURN) a turn on
//!   client inputs;
//! - a pipeline keeps at most [`MAX_PIPELINE_INFLIGHT`] transactions between reading them
//!   and writing their outcomes: when full it stops reading (QUIC flow control then stops
//!   the client), so a client that never reads its replies stalls only its own pipeline;
//! - a subscriber that lags the node's event buffer, or cannot take an event within
//!   [`EVENT_WRITE_DEADLINE`], is dropped ([`Event::Lagged`] and [`Event::Closed`] when
//!   they can still be written).
//!
//! Bad input is logged through the `log_*` functions at the end, one per kind, so they
//! can be rate-limited in one place.

use std::sync::Arc;
use std::time::Duration;

use qraft_keys::PublicKey;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::api::{
    Handle, MembershipChange, MembershipError, NodeEvent, NodeStopped, QueryError, Registration,
};
use crate::core::genesis::promotion_refusal;
use crate::core::tx::{MAX_TX_BYTES, SignedTx};
use crate::core::types::Role as ParticipantRole;

use super::budget::{FULL_BLOCK_READS, OVER_BUDGET_PAUSE, RequestBudget};
use super::frame::{
    FRAME_DEADLINE, FrameError, MAX_CLIENT_REQUEST, MAX_CLIENT_RESPONSE, code, encode_frame,
    read_frame_within, write_frame,
};
use super::proto::{
    BlockSummary, CommittedView, Event, MAX_BLOCKS_PER_REQUEST, MAX_FULL_BLOCKS_BYTES,
    MAX_FULL_BLOCKS_PER_REQUEST, OwnFill, PipelineFailure, ProtocolError, ReceiptView,
    RecordedReport, Request, Response, SubmitFailure, SubmitOutcome, Topics,
};
use super::ratelog::NET_LOG;

/// How long a new stream may take to deliver its first request. A client opens a stream
/// to send a request at once; 10 s covers a slow Wi-Fi's retransmissions many times over,
/// and bounds how long an idle stream holds a task.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// Transactions of one pipeline read but whose outcome is not yet written, at most. A bot
/// pipelines to hide the round trip to the leader and a block's delay; 256 in flight is
/// more than a block cut every few milliseconds needs, while bounding what one stream
/// holds (outcomes and waiters) to a few hundred KB.
pub const MAX_PIPELINE_INFLIGHT: usize = 256;

/// How long writing one event to a subscriber may take. Events are small and the node's
/// buffer holds tens of seconds of them; a subscriber whose stream takes 10 s to accept
/// one is not reading, and is dropped rather than left holding the buffer back.
pub const EVENT_WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// Price levels a side one `Depth` request returns, at most: more than any screen shows,
/// and bounded work on the node thread.
pub const MAX_DEPTH_LEVELS: u32 = 100;

/// Trades one `Trades` request returns, at most: the exchange keeps only
/// [`MAX_RECENT_TRADES`](crate::core::exchange::MAX_RECENT_TRADES) anyway.
pub const MAX_TRADES_PER_REQUEST: u32 = crate::core::exchange::MAX_RECENT_TRADES as u32;

/// Serves every request stream `caller` opens on `connection` until it closes.
pub async fn serve_client(
    connection: quinn::Connection,
    caller: PublicKey,
    handle: Handle,
    budget: RequestBudget,
) {
    loop {
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(err) => {
                tracing::debug!(%err, "client connection closed");
                return;
            }
        };
        let handle = handle.clone();
        let budget = budget.clone();
        tokio::spawn(async move {
            serve_stream(send, recv, caller, handle, budget).await;
        });
    }
}

async fn serve_stream(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    caller: PublicKey,
    handle: Handle,
    budget: RequestBudget,
) {
    let first = tokio::time::timeout(
        REQUEST_DEADLINE,
        read_frame_within::<_, Request>(&mut recv, MAX_CLIENT_REQUEST, FRAME_DEADLINE),
    )
    .await;
    let request = match first {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) => return,
        Ok(Err(err)) => {
            refuse_frame(&mut send, &mut recv, &err).await;
            return;
        }
        Err(_) => {
            log_slow_request();
            let _ = recv.stop(code::DEADLINE.into());
            let _ = send.reset(code::DEADLINE.into());
            return;
        }
    };
    match request {
        Request::Subscribe(topics) => {
            let events = handle.subscribe();
            let end = subscribe(&mut send, &caller, events, topics).await;
            if end == SubscriptionEnd::Stalled {
                log_dropped_subscriber(end);
                // Discard what the client did not take, rather than keep it queued.
                let _ = send.reset(code::DEADLINE.into());
            } else {
                if end == SubscriptionEnd::Lagged {
                    log_dropped_subscriber(end);
                }
                let _ = send.finish();
            }
        }
        Request::Pipeline => {
            let key_inflight = budget.inflight(&caller);
            if let Err(err) = pipeline(send, &mut recv, caller, &handle, key_inflight).await {
                log_bad_pipeline(&err);
                let _ = recv.stop(err.code().into());
            }
        }
        request => {
            let reads = match &request {
                Request::Blocks { from, to } => Some(
                    to.saturating_sub(*from)
                        .saturating_add(1)
                        .min(MAX_BLOCKS_PER_REQUEST),
                ),
                Request::Block { .. } | Request::Receipt { .. } => Some(1),
                Request::FullBlocks { from, to } => Some(
                    to.saturating_sub(*from)
                        .saturating_add(1)
                        .min(MAX_FULL_BLOCKS_PER_REQUEST)
                        * FULL_BLOCK_READS,
                ),
                _ => None,
            };
            let response = if let Some(reads) = reads
                && !budget.try_take(&caller, reads)
            {
                // Held for a moment, with its stream: a loop past the budget over every
                // stream a key may open is slowed to what refusing it costs.
                tokio::time::sleep(OVER_BUDGET_PAUSE).await;
                Response::Error(ProtocolError::OverBudget)
            } else {
                answer(request, &caller, &handle).await
            };
            if write_response(&mut send, &response).await.is_ok() {
                let _ = send.finish();
            }
        }
    }
}

/// Writes one response frame; an answer over [`MAX_CLIENT_RESPONSE`] becomes
/// [`ProtocolError::TooLarge`].
async fn write_response<W>(send: &mut W, response: &Response) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    let frame = match encode_frame(response, MAX_CLIENT_RESPONSE) {
        Ok(frame) => frame,
        Err(FrameError::TooLarge { len, max }) => {
            let refusal = Response::Error(ProtocolError::TooLarge {
                len,
                max: max as u64,
            });
            encode_frame(&refusal, MAX_CLIENT_RESPONSE)?
        }
        Err(err) => return Err(err),
    };
    send.write_all(&frame).await?;
    Ok(())
}

/// A bad request frame: say why, then close the stream.
async fn refuse_frame(
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    err: &FrameError,
) {
    log_bad_frame(err);
    let response = Response::Error(ProtocolError::Invalid(err.reason()));
    let _ = write_frame(send, &response, MAX_CLIENT_RESPONSE).await;
    let _ = send.finish();
    let _ = recv.stop(err.code().into());
}

/// Why a submitted transaction is refused before it reaches the node, if it is.
fn check_submission(tx: &SignedTx, caller: &PublicKey) -> Result<(), ProtocolError> {
    if tx.tx.signer != *caller {
        return Err(ProtocolError::NotYourTransaction);
    }
    let len = tx.encode().len();
    if len > MAX_TX_BYTES {
        return Err(ProtocolError::TooLarge {
            len: len as u64,
            max: MAX_TX_BYTES as u64,
        });
    }
    Ok(())
}

/// The answer to a query that failed.
fn query_failed(err: QueryError) -> Response {
    Response::Error(ProtocolError::from(err))
}

async fn answer(request: Request, caller: &PublicKey, handle: &Handle) -> Response {
    let stopped = query_failed;
    match request {
        Request::Submit(tx) => {
            if let Err(refusal) = check_submission(&tx, caller) {
                return Response::Error(refusal);
            }
            match handle.submit(tx).await {
                Ok(committed) => Response::Committed(CommittedView::from(committed)),
                Err(err) => Response::SubmitFailed(SubmitFailure::from(err)),
            }
        }
        Request::Status => handle.status().await.map_or_else(stopped, Response::Status),
        Request::Symbols => handle
            .symbols()
            .await
            .map_or_else(stopped, Response::Symbols),
        Request::Depth { symbol, levels } => handle
            .depth(symbol, levels.min(MAX_DEPTH_LEVELS) as usize)
            .await
            .map_or_else(stopped, Response::Depth),
        Request::Trades { symbol, limit } => handle
            .recent_trades(symbol, limit.min(MAX_TRADES_PER_REQUEST) as usize)
            .await
            .map_or_else(stopped, Response::Trades),
        Request::Candles { symbol } => handle
            .candles(symbol)
            .await
            .map_or_else(stopped, Response::Candles),
        Request::Leaderboard => handle
            .leaderboard()
            .await
            .map_or_else(stopped, Response::Leaderboard),
        Request::News => handle.news().await.map_or_else(stopped, Response::News),
        Request::Account => handle
            .account(*caller)
            .await
            .map_or_else(stopped, Response::Account),
        Request::Blocks { from, to } => {
            let from = from.max(1);
            let to = to.min(from.saturating_add(MAX_BLOCKS_PER_REQUEST - 1));
            // Read off the node thread, by count and by bytes read.
            handle
                .block_headers(from, to, MAX_CLIENT_RESPONSE)
                .await
                .map_or_else(stopped, |headers| {
                    Response::Blocks(
                        headers
                            .into_iter()
                            .map(|header| BlockSummary {
                                hash: header.hash(),
                                header,
                            })
                            .collect(),
                    )
                })
        }
        Request::Block { height } => handle
            .block(height)
            .await
            .map_or_else(stopped, Response::Block),
        Request::FullBlocks { from, to } => {
            let from = from
                .max(1)
                .max(to.saturating_sub(MAX_FULL_BLOCKS_PER_REQUEST - 1));
            // Read off the node thread, by count and by bytes.
            handle
                .full_blocks(from, to, MAX_FULL_BLOCKS_BYTES)
                .await
                .map_or_else(stopped, Response::FullBlocks)
        }
        Request::Receipt { hash } => handle.receipt(hash).await.map_or_else(stopped, |r| {
            Response::Receipt(r.map(|r| ReceiptView {
                height: r.height,
                index: r.index,
                receipt: r.receipt,
            }))
        }),
        Request::Nodes => handle.nodes().await.map_or_else(stopped, Response::Nodes),
        Request::Rules => handle.rules().await.map_or_else(stopped, Response::Rules),
        Request::Scenario => handle
            .scenario()
            .await
            .map_or_else(stopped, |view| Response::Scenario(view.map(Box::new))),
        Request::ReportHash => handle
            .report_hash()
            .await
            .map_or_else(stopped, |(hash, height)| {
                Response::ReportHash(RecordedReport { hash, height })
            }),
        Request::Subscribe(_) | Request::Pipeline => Response::Error(ProtocolError::Invalid(
            "subscriptions and pipelines are served on their own stream".into(),
        )),
        Request::Membership(change) => {
            let role = handle.role_of(*caller).await;
            match role {
                Ok(Some(ParticipantRole::Admin)) => {}
                Ok(_) => return Response::Error(ProtocolError::NotAdmin),
                Err(err) => return query_failed(err),
            }
            let id = match change {
                MembershipChange::AddLearner(id) | MembershipChange::Promote(id) => id,
                // The ledger must know, so every node cuts the removed node off.
                MembershipChange::Remove(id) => {
                    return Response::Error(ProtocolError::Invalid(format!(
                        "a node is removed through the ledger, so that every node cuts it \
                         off: sign a RemoveNode transaction (`qraft admin remove {id}`)"
                    )));
                }
            };
            let known = handle.node_registration(id).await;
            match known {
                Ok(Registration::Registered) => {}
                Ok(Registration::Removed) => {
                    return Response::Error(ProtocolError::Invalid(format!(
                        "node {id} was removed from this game; its id is not used again"
                    )));
                }
                Ok(Registration::Unregistered) => {
                    return Response::Error(ProtocolError::Invalid(format!(
                        "no node {id} is registered: the genesis names the nodes, and \
                         `qraft admin add-node` registers more"
                    )));
                }
                Err(err) => return query_failed(err),
            }
            if let MembershipChange::Promote(id) = change {
                match handle.node(id).await {
                    Ok(Some(spec)) => {
                        if let Some(why) = promotion_refusal(&spec) {
                            return Response::Error(ProtocolError::Invalid(why));
                        }
                    }
                    Ok(None) => {}
                    Err(err) => return query_failed(err),
                }
            }
            match handle.change_membership(change).await {
                Ok(()) => Response::MembershipProposed,
                Err(MembershipError::NotLeader { leader }) => {
                    Response::Error(ProtocolError::NotLeader { leader })
                }
                Err(MembershipError::Stopped(stopped)) => {
                    Response::Error(ProtocolError::from(stopped))
                }
                Err(err @ MembershipError::Refused(_)) => {
                    Response::Error(ProtocolError::Invalid(err.to_string()))
                }
            }
        }
    }
}

/// Reads transactions from `recv` in order, hands each to the node at once (so their
/// order is kept), and writes each one's outcome on `send` as it completes. At most
/// [`MAX_PIPELINE_INFLIGHT`] transactions are between being read and having their outcome
/// written: when that many are, it stops reading. Ends when the client finishes its side
/// (after writing every outcome) or a frame is bad (the error, to stop `recv` with).
async fn pipeline<W, R>(
    mut send: W,
    recv: &mut R,
    caller: PublicKey,
    handle: &Handle,
    key_inflight: Arc<Semaphore>,
) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin + Send + 'static,
    R: AsyncRead + Unpin + ?Sized,
{
    write_frame(&mut send, &Response::PipelineOpen, MAX_CLIENT_RESPONSE).await?;
    let inflight = Arc::new(Semaphore::new(MAX_PIPELINE_INFLIGHT));
    // Every message carries a permit, so the channel never holds more than the bound.
    let (outcomes, mut pending) = mpsc::channel::<(SubmitOutcome, Permits)>(MAX_PIPELINE_INFLIGHT);
    let writer = tokio::spawn(async move {
        while let Some((outcome, permit)) = pending.recv().await {
            if write_frame(&mut send, &outcome, MAX_CLIENT_RESPONSE)
                .await
                .is_err()
            {
                return;
            }
            drop(permit);
        }
        let _ = send.shutdown().await;
    });
    let result = loop {
        // The semaphore is never closed; should it be, the pipeline just ends.
        // This pipeline's slot, then one of the key's across all its pipelines.
        let Ok(pipeline_slot) = inflight.clone().acquire_owned().await else {
            break Ok(());
        };
        let Ok(key_slot) = key_inflight.clone().acquire_owned().await else {
            break Ok(());
        };
        let permit = (pipeline_slot, key_slot);
        if outcomes.is_closed() {
            // The writer failed: the client is gone.
            break Ok(());
        }
        let tx = match read_frame_within::<_, SignedTx>(recv, MAX_CLIENT_REQUEST, FRAME_DEADLINE)
            .await
        {
            Ok(Some(tx)) => tx,
            Ok(None) => break Ok(()),
            Err(err) => break Err(err),
        };
        let hash = tx.hash();
        if let Err(refusal) = check_submission(&tx, &caller) {
            let outcome = SubmitOutcome {
                hash,
                result: Err(PipelineFailure::Protocol(refusal)),
            };
            let _ = outcomes.send((outcome, permit)).await;
            continue;
        }
        let waiting = handle.enqueue(tx);
        let outcomes = outcomes.clone();
        tokio::spawn(async move {
            let result = waiting
                .wait()
                .await
                .map(CommittedView::from)
                .map_err(|e| PipelineFailure::Submit(SubmitFailure::from(e)));
            let _ = outcomes
                .send((SubmitOutcome { hash, result }, permit))
                .await;
        });
    };
    drop(outcomes);
    let _ = writer.await;
    result
}

/// A pipelined transaction's two slots: its pipeline's and its key's.
type Permits = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// How a subscription ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SubscriptionEnd {
    /// The client closed its side, or its stream failed.
    ClientGone,
    /// The node stopped publishing events.
    NodeStopped(NodeStopped),
    /// The subscriber fell behind the node's event buffer.
    Lagged,
    /// Writing an event took longer than [`EVENT_WRITE_DEADLINE`].
    Stalled,
}

/// Streams `events` on `send` until the client goes away, the node stops, or the
/// subscriber falls behind (it gets [`Event::Lagged`] then [`Event::Closed`]) or stops
/// taking events in time.
async fn subscribe<W>(
    send: &mut W,
    caller: &PublicKey,
    mut events: broadcast::Receiver<NodeEvent>,
    topics: Topics,
) -> SubscriptionEnd
where
    W: AsyncWrite + Unpin + ?Sized,
{
    if let Err(end) = write_event(send, &Response::Subscribed).await {
        return end;
    }
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                let closed = Event::Closed {
                    reason: format!(
                        "missed {missed} events: this subscriber fell behind; subscribe again"
                    ),
                };
                if let Err(end) = write_event(send, &Event::Lagged { missed }).await {
                    return end;
                }
                if let Err(end) = write_event(send, &closed).await {
                    return end;
                }
                return SubscriptionEnd::Lagged;
            }
            Err(RecvError::Closed) => {
                let closed = Event::Closed {
                    reason: NodeStopped.to_string(),
                };
                return match write_event(send, &closed).await {
                    Ok(()) => SubscriptionEnd::NodeStopped(NodeStopped),
                    Err(end) => end,
                };
            }
        };
        for out in client_events(&event, caller, topics) {
            if let Err(end) = write_event(send, &out).await {
                return end;
            }
        }
    }
}

/// Writes one frame of a subscription within [`EVENT_WRITE_DEADLINE`].
async fn write_event<W, T>(send: &mut W, value: &T) -> Result<(), SubscriptionEnd>
where
    W: AsyncWrite + Unpin + ?Sized,
    T: serde::Serialize,
{
    match tokio::time::timeout(
        EVENT_WRITE_DEADLINE,
        write_frame(send, value, MAX_CLIENT_RESPONSE),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(SubscriptionEnd::ClientGone),
        Err(_) => Err(SubscriptionEnd::Stalled),
    }
}

/// What a subscriber with `topics` sees of a node event: trades anonymous, fills only
/// its own.
fn client_events(event: &NodeEvent, caller: &PublicKey, topics: Topics) -> Vec<Event> {
    match event {
        NodeEvent::Block(block) if topics.blocks => {
            vec![Event::Block(BlockSummary::of(&block.block))]
        }
        NodeEvent::Trades(trades) => {
            let mut out = Vec::new();
            for trade in trades.iter() {
                if topics.trades {
                    out.push(Event::Trade(trade.public()));
                }
                if topics.fills
                    && let Some(fill) = OwnFill::of(trade, caller)
                {
                    out.push(Event::Fill(fill));
                }
            }
            out
        }
        NodeEvent::BookChanged { symbols, all } if topics.book => vec![Event::BookChanged {
            symbols: symbols.clone(),
            all: *all,
        }],
        _ => Vec::new(),
    }
}

// --- Logs of bad client input, one function per kind, to rate-limit in one place -------

// What a client gets wrong is logged at most `NET_LOG`'s rate per kind: a flood of bad
// frames must not fill the disk with logs.

fn log_bad_frame(err: &FrameError) {
    if NET_LOG.allow("bad client frame") {
        tracing::info!(reason = %err.reason(), "refusing a bad client frame");
    }
}

fn log_bad_pipeline(err: &FrameError) {
    if NET_LOG.allow("bad client pipeline") {
        tracing::info!(reason = %err.reason(), "closing a bad pipeline");
    }
}

fn log_slow_request() {
    if NET_LOG.allow("slow client request") {
        tracing::info!(
            deadline = ?REQUEST_DEADLINE,
            "closing a client stream whose request did not arrive in time"
        );
    }
}

fn log_dropped_subscriber(end: SubscriptionEnd) {
    if NET_LOG.allow("dropped subscriber") {
        tracing::info!(?end, "dropping a subscriber that cannot keep up");
    }
}

#[cfg(test)]
mod tests {
    use qraft_keys::{ChainId, Keypair};
    use tokio::time::Instant;

    use super::*;
    use crate::api::Refusal;
    use crate::api::handle::detached::{Detached, detached};
    use crate::core::tx::{AdminAction, Tx, TxBody, TxHash};
    use crate::io::inbox::{CLIENT_QUEUE, ClientInput};
    use crate::net::frame::read_frame;
    use crate::replica::ReplicaEvent;

    fn signed(key: &Keypair, nonce: u64, body: TxBody) -> SignedTx {
        Tx {
            signer: key.public(),
            nonce,
            body,
        }
        .sign(key, &ChainId([3; 32]))
    }

    fn cancel_all(key: &Keypair, nonce: u64) -> SignedTx {
        signed(key, nonce, TxBody::CancelAll { symbol: None })
    }

    /// Plays the node thread for one turn: every submission waiting is refused
    /// `NoLeader`. Returns how many there were.
    fn refuse_waiting(node: &mut Detached) -> usize {
        let mut hashes: Vec<TxHash> = Vec::new();
        node.inboxes.take_clients(Duration::MAX, |input| {
            if let ClientInput::Submit(tx) = input {
                hashes.push(tx.hash());
            }
        });
        for &hash in &hashes {
            node.handle.dispatch(ReplicaEvent::Refused {
                hash,
                refusal: Refusal::NoLeader,
            });
        }
        hashes.len()
    }

    fn refused() -> Result<CommittedView, PipelineFailure> {
        Err(PipelineFailure::Submit(SubmitFailure::Refused(
            Refusal::NoLeader,
        )))
    }

    #[tokio::test(start_paused = true)]
    async fn a_pipeline_whose_client_reads_nothing_stops_reading_at_its_bound() {
        let key = Keypair::from_label("serve-test/bot");
        let mut node = detached(CLIENT_QUEUE, Duration::from_secs(3600));
        // The replies cross a 1-byte pipe: a client that reads nothing takes nothing.
        let (mut replies, reply_writer) = tokio::io::simplex(1);
        let (mut request_reader, mut requests) = tokio::io::simplex(1 << 20);
        let handle = node.handle.clone();
        let caller = key.public();
        let served = tokio::spawn(async move {
            pipeline(
                reply_writer,
                &mut request_reader,
                caller,
                &handle,
                Arc::new(Semaphore::new(crate::net::budget::MAX_KEY_INFLIGHT)),
            )
            .await
        });
        let open = read_frame::<_, Response>(&mut replies, MAX_CLIENT_RESPONSE).await;
        assert_eq!(open.unwrap(), Some(Response::PipelineOpen));

        let total = MAX_PIPELINE_INFLIGHT + 44;
        let txs: Vec<SignedTx> = (1..=total as u64).map(|n| cancel_all(&key, n)).collect();
        for tx in &txs {
            write_frame(&mut requests, tx, MAX_CLIENT_REQUEST)
                .await
                .unwrap();
        }
        let mut reached = 0;
        for _ in 0..50 {
            reached += refuse_waiting(&mut node);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            reached, MAX_PIPELINE_INFLIGHT,
            "reading stopped at the bound"
        );

        // The client reads its replies: the rest goes through.
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..total {
                let outcome = read_frame::<_, SubmitOutcome>(&mut replies, MAX_CLIENT_RESPONSE);
                got.push(outcome.await.unwrap().unwrap());
            }
            got
        });
        for _ in 0..10_000 {
            if reader.is_finished() {
                break;
            }
            reached += refuse_waiting(&mut node);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let got = reader.await.unwrap();
        assert_eq!(reached, total);
        let mut hashes: Vec<TxHash> = got.iter().map(|o| o.hash).collect();
        let mut sent: Vec<TxHash> = txs.iter().map(SignedTx::hash).collect();
        hashes.sort_unstable();
        sent.sort_unstable();
        assert_eq!(hashes, sent);
        assert!(got.iter().all(|o| o.result == refused()));
        // Dropping one half of a split simplex does not end it; shutting it down does.
        requests.shutdown().await.unwrap();
        assert!(served.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn oversized_and_foreign_transactions_never_reach_the_node() {
        let key = Keypair::from_label("serve-test/bot");
        let other = Keypair::from_label("serve-test/other");
        let mut node = detached(CLIENT_QUEUE, Duration::from_secs(3600));
        let (mut replies, reply_writer) = tokio::io::simplex(1 << 16);
        let (mut request_reader, mut requests) = tokio::io::simplex(1 << 16);
        let handle = node.handle.clone();
        let caller = key.public();
        let served = tokio::spawn(async move {
            pipeline(
                reply_writer,
                &mut request_reader,
                caller,
                &handle,
                Arc::new(Semaphore::new(crate::net::budget::MAX_KEY_INFLIGHT)),
            )
            .await
        });
        let good = cancel_all(&key, 1);
        let headline = "x".repeat(MAX_TX_BYTES);
        let oversized = signed(&key, 2, TxBody::Admin(AdminAction::News { headline }));
        let oversized_len = oversized.encode().len() as u64;
        assert!(
            oversized_len as usize <= MAX_CLIENT_REQUEST,
            "fits a request frame"
        );
        let foreign = cancel_all(&other, 3);
        for tx in [&good, &oversized, &foreign] {
            write_frame(&mut requests, tx, MAX_CLIENT_REQUEST)
                .await
                .unwrap();
        }
        // Dropping one half of a split simplex does not end it; shutting it down does.
        requests.shutdown().await.unwrap();
        let open = read_frame::<_, Response>(&mut replies, MAX_CLIENT_RESPONSE).await;
        assert_eq!(open.unwrap(), Some(Response::PipelineOpen));
        let mut got = Vec::new();
        for _ in 0..2 {
            let outcome = read_frame::<_, SubmitOutcome>(&mut replies, MAX_CLIENT_RESPONSE);
            got.push(outcome.await.unwrap().unwrap());
        }
        // Only the good one reached the node; answer it.
        let mut reached = 0;
        for _ in 0..1_000 {
            reached += refuse_waiting(&mut node);
            if reached > 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(reached, 1);
        let outcome = read_frame::<_, SubmitOutcome>(&mut replies, MAX_CLIENT_RESPONSE);
        got.push(outcome.await.unwrap().unwrap());
        let result_of = |hash: TxHash| got.iter().find(|o| o.hash == hash).unwrap().result.clone();
        assert_eq!(result_of(good.hash()), refused());
        assert_eq!(
            result_of(oversized.hash()),
            Err(PipelineFailure::Protocol(ProtocolError::TooLarge {
                len: oversized_len,
                max: MAX_TX_BYTES as u64
            }))
        );
        assert_eq!(
            result_of(foreign.hash()),
            Err(PipelineFailure::Protocol(ProtocolError::NotYourTransaction))
        );
        assert!(served.await.unwrap().is_ok());
        assert_eq!(
            check_submission(&oversized, &key.public()),
            Err(ProtocolError::TooLarge {
                len: oversized_len,
                max: MAX_TX_BYTES as u64
            })
        );
    }

    fn book_event() -> NodeEvent {
        NodeEvent::BookChanged {
            symbols: Vec::new(),
            all: true,
        }
    }

    const BOOK: Topics = Topics {
        blocks: false,
        trades: false,
        book: true,
        fills: false,
    };

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_that_takes_no_events_is_dropped() {
        let caller = Keypair::from_label("serve-test/watcher").public();
        let (events, receiver) = broadcast::channel(64);
        // The client keeps its end open and reads nothing.
        let (client, mut send) = tokio::io::simplex(64);
        let started = Instant::now();
        let task = tokio::spawn(async move { subscribe(&mut send, &caller, receiver, BOOK).await });
        for _ in 0..32 {
            events.send(book_event()).unwrap();
        }
        assert_eq!(task.await.unwrap(), SubscriptionEnd::Stalled);
        assert!(started.elapsed() >= EVENT_WRITE_DEADLINE);
        drop(client);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_told_and_closed_and_a_stopped_node_says_so() {
        let caller = Keypair::from_label("serve-test/watcher").public();
        let (events, receiver) = broadcast::channel(4);
        for _ in 0..10 {
            events.send(book_event()).unwrap();
        }
        let (mut client, mut send) = tokio::io::simplex(1 << 16);
        let end = subscribe(&mut send, &caller, receiver, BOOK).await;
        assert_eq!(end, SubscriptionEnd::Lagged);
        send.shutdown().await.unwrap();
        let subscribed = read_frame::<_, Response>(&mut client, MAX_CLIENT_RESPONSE).await;
        assert_eq!(subscribed.unwrap(), Some(Response::Subscribed));
        let lagged = read_frame::<_, Event>(&mut client, MAX_CLIENT_RESPONSE).await;
        assert_eq!(lagged.unwrap(), Some(Event::Lagged { missed: 6 }));
        let closed = read_frame::<_, Event>(&mut client, MAX_CLIENT_RESPONSE).await;
        assert!(matches!(closed.unwrap(), Some(Event::Closed { .. })));
        let after = read_frame::<_, Event>(&mut client, MAX_CLIENT_RESPONSE).await;
        assert!(after.unwrap().is_none(), "nothing after Closed");

        let receiver = events.subscribe();
        drop(events);
        let (mut client, mut send) = tokio::io::simplex(1 << 16);
        let end = subscribe(&mut send, &caller, receiver, BOOK).await;
        assert_eq!(end, SubscriptionEnd::NodeStopped(NodeStopped));
        send.shutdown().await.unwrap();
        let _ = read_frame::<_, Response>(&mut client, MAX_CLIENT_RESPONSE).await;
        let closed = read_frame::<_, Event>(&mut client, MAX_CLIENT_RESPONSE).await;
        assert!(matches!(closed.unwrap(), Some(Event::Closed { .. })));
    }

    #[tokio::test]
    async fn an_answer_over_the_response_limit_is_refused_as_too_large() {
        let huge = Response::Error(ProtocolError::Invalid("x".repeat(MAX_CLIENT_RESPONSE)));
        let mut bytes = Vec::new();
        write_response(&mut bytes, &huge).await.unwrap();
        let got = read_frame::<_, Response>(&mut bytes.as_slice(), MAX_CLIENT_RESPONSE).await;
        assert!(matches!(
            got.unwrap(),
            Some(Response::Error(ProtocolError::TooLarge { max, .. }))
                if max == MAX_CLIENT_RESPONSE as u64
        ),);
    }
}
