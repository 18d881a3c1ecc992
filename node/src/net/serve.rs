//! The node's side of the client protocol: one task per request stream, answering
//! through the node's [`Handle`], with the caller's TLS key deciding what it may see and
//! do.

use qraft_keys::PublicKey;
use tokio::sync::broadcast::error::RecvError;

use crate::api::{Handle, NodeEvent};
use crate::core::types::Role as ParticipantRole;
use crate::replica::{MembershipChange, ReplicaError};

use super::frame::{FrameError, MAX_CLIENT_REQUEST, MAX_CLIENT_RESPONSE, read_frame, write_frame};
use super::proto::{
    BlockSummary, CommittedView, Event, MAX_BLOCKS_PER_REQUEST, OwnFill, PipelineFailure,
    ProtocolError, ReceiptView, Request, Response, SubmitFailure, SubmitOutcome, Topics,
};
use crate::core::tx::SignedTx;

/// Serves every request stream `caller` opens on `connection` until it closes.
pub async fn serve_client(connection: quinn::Connection, caller: PublicKey, handle: Handle) {
    loop {
        let (send, recv) = match connection.accept_bi().await {
            Ok(streams) => streams,
            Err(err) => {
                tracing::debug!(%err, "client connection closed");
                return;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            serve_stream(send, recv, caller, handle).await;
        });
    }
}

async fn serve_stream(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    caller: PublicKey,
    handle: Handle,
) {
    let request = match read_frame::<_, Request>(&mut recv, MAX_CLIENT_REQUEST).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(err) => {
            refuse_frame(&mut send, &mut recv, &err).await;
            return;
        }
    };
    if let Request::Subscribe(topics) = request {
        subscribe(send, caller, handle, topics).await;
        return;
    }
    if let Request::Pipeline = request {
        pipeline(send, recv, caller, handle).await;
        return;
    }
    let response = answer(request, &caller, &handle).await;
    if write_frame(&mut send, &response, MAX_CLIENT_RESPONSE)
        .await
        .is_ok()
    {
        let _ = send.finish();
    }
}

/// A bad request frame: say why, then close the stream.
async fn refuse_frame(
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
    err: &FrameError,
) {
    tracing::info!(reason = %err.reason(), "refusing a bad client frame");
    let response = Response::Error(ProtocolError::Invalid(err.reason()));
    let _ = write_frame(send, &response, MAX_CLIENT_RESPONSE).await;
    let _ = send.finish();
    let _ = recv.stop(err.code().into());
}

async fn answer(request: Request, caller: &PublicKey, handle: &Handle) -> Response {
    let stopped = |_| Response::Error(ProtocolError::Stopped);
    match request {
        Request::Submit(tx) => {
            if tx.tx.signer != *caller {
                return Response::Error(ProtocolError::NotYourTransaction);
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
            .depth(symbol, levels.min(100) as usize)
            .await
            .map_or_else(stopped, Response::Depth),
        Request::Trades { symbol, limit } => handle
            .recent_trades(symbol, limit.min(1_000) as usize)
            .await
            .map_or_else(stopped, Response::Trades),
        Request::Candles { symbol } => handle
            .query(move |r| r.ledger().exchange().candles(symbol))
            .await
            .map_or_else(stopped, Response::Candles),
        Request::Leaderboard => handle
            .leaderboard()
            .await
            .map_or_else(stopped, Response::Leaderboard),
        Request::News => handle
            .query(|r| r.ledger().exchange().news())
            .await
            .map_or_else(stopped, Response::News),
        Request::Account => handle
            .account(*caller)
            .await
            .map_or_else(stopped, Response::Account),
        Request::Blocks { from, to } => {
            let from = from.max(1);
            let to = to.min(from.saturating_add(MAX_BLOCKS_PER_REQUEST - 1));
            handle
                .query(move |r| {
                    let to = to.min(r.ledger().head().height);
                    (from..=to)
                        .filter_map(|h| r.block(h).ok().flatten())
                        .map(|b| BlockSummary::of(&b))
                        .collect::<Vec<_>>()
                })
                .await
                .map_or_else(stopped, Response::Blocks)
        }
        Request::Block { height } => handle
            .block(height)
            .await
            .map_or_else(stopped, Response::Block),
        Request::Receipt { hash } => handle.receipt(hash).await.map_or_else(stopped, |r| {
            Response::Receipt(r.map(|r| ReceiptView {
                height: r.height,
                index: r.index,
                receipt: r.receipt,
            }))
        }),
        Request::Nodes => handle
            .query(|r| r.ledger().exchange().nodes().to_vec())
            .await
            .map_or_else(stopped, Response::Nodes),
        Request::Subscribe(_) | Request::Pipeline => Response::Error(ProtocolError::Invalid(
            "subscriptions and pipelines are served on their own stream".into(),
        )),
        Request::Membership(change) => {
            let key = *caller;
            let role = handle
                .query(move |r| r.ledger().exchange().role_of(&key))
                .await;
            match role {
                Ok(Some(ParticipantRole::Admin)) => {}
                Ok(_) => return Response::Error(ProtocolError::NotAdmin),
                Err(_) => return Response::Error(ProtocolError::Stopped),
            }
            let (MembershipChange::AddLearner(id)
            | MembershipChange::Promote(id)
            | MembershipChange::Remove(id)) = change;
            match handle
                .query(move |r| r.ledger().exchange().node(id).is_some())
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    return Response::Error(ProtocolError::Invalid(format!(
                        "no node {id} is registered: the genesis names the nodes, and \
                         `qraft admin add-node` registers more"
                    )));
                }
                Err(_) => return Response::Error(ProtocolError::Stopped),
            }
            match handle.change_membership(change).await {
                Ok(()) => Response::MembershipProposed,
                Err(ReplicaError::NotLeader { leader }) => {
                    Response::Error(ProtocolError::NotLeader { leader })
                }
                Err(err) => Response::Error(ProtocolError::Invalid(err.to_string())),
            }
        }
    }
}

/// Reads transactions from `recv` in order, hands each to the node at once (so their
/// order is kept), and writes each one's outcome on `send` as it completes.
async fn pipeline(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    caller: PublicKey,
    handle: Handle,
) {
    if write_frame(&mut send, &Response::PipelineOpen, MAX_CLIENT_RESPONSE)
        .await
        .is_err()
    {
        return;
    }
    let (outcomes, mut pending) = tokio::sync::mpsc::unbounded_channel::<SubmitOutcome>();
    let writer = tokio::spawn(async move {
        while let Some(outcome) = pending.recv().await {
            if write_frame(&mut send, &outcome, MAX_CLIENT_RESPONSE)
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = send.finish();
    });
    loop {
        let tx = match read_frame::<_, SignedTx>(&mut recv, MAX_CLIENT_REQUEST).await {
            Ok(Some(tx)) => tx,
            Ok(None) => break,
            Err(err) => {
                tracing::info!(reason = %err.reason(), "closing a bad pipeline");
                let _ = recv.stop(err.code().into());
                break;
            }
        };
        let hash = tx.hash();
        if tx.tx.signer != caller {
            let _ = outcomes.send(SubmitOutcome {
                hash,
                result: Err(PipelineFailure::Protocol(ProtocolError::NotYourTransaction)),
            });
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
            let _ = outcomes.send(SubmitOutcome { hash, result });
        });
    }
    drop(outcomes);
    let _ = writer.await;
}

/// Streams events on `send` until the client goes away or the node stops.
async fn subscribe(mut send: quinn::SendStream, caller: PublicKey, handle: Handle, topics: Topics) {
    let mut events = handle.subscribe();
    if write_frame(&mut send, &Response::Subscribed, MAX_CLIENT_RESPONSE)
        .await
        .is_err()
    {
        return;
    }
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                if write_frame(&mut send, &Event::Lagged { missed }, MAX_CLIENT_RESPONSE)
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            }
            Err(RecvError::Closed) => {
                let _ = send.finish();
                return;
            }
        };
        for out in client_events(&event, &caller, topics) {
            if write_frame(&mut send, &out, MAX_CLIENT_RESPONSE)
                .await
                .is_err()
            {
                return;
            }
        }
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
