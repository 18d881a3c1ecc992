//! The backfill task: asks the node which blocks it lacks, fetches them from its peers
//! over the client protocol, checks them, and hands them to the node thread to store.
//!
//! One request at a time, top of the highest missing range first
//! ([`BLOCKS_PER_REQUEST`] blocks, at most [`MAX_BYTES_IN_FLIGHT`] bytes in flight). The
//! peers are tried voters first, then the other nodes of the genesis; a peer that fails,
//! refuses, answers nothing or answers blocks that fail a check is left for the next,
//! and the one that answered well is asked first next time. When every peer failed, the
//! task waits [`RETRY_PAUSE`] and starts over. It sleeps while nothing is missing, and
//! wakes when the node installs a snapshot.

use std::time::Duration;

use qraft_keys::Keypair;
use rustc_hash::FxHashMap;
use tokio::sync::broadcast::error::RecvError;

use crate::api::{Handle, NodeEvent};
use crate::core::genesis::Genesis;
use crate::core::types::NodeId;
use crate::net::client::{Client, ClientError};
use crate::net::proto::{MAX_FULL_BLOCKS_PER_REQUEST, Request, Response};
use crate::replica::{BackfillRefusal, MissingRange};

use super::check::{Anchor, check_segment};

/// Blocks asked for in one request: the most a node answers (each costs the asker
/// [`FULL_BLOCK_READS`](crate::net::budget::FULL_BLOCK_READS) of its read budget there).
pub const BLOCKS_PER_REQUEST: u64 = MAX_FULL_BLOCKS_PER_REQUEST;

/// Bytes of fetched blocks held at once, at most: one answer (requests go one at a time,
/// and an answer is checked and stored before the next is asked for), which is at most
/// a client frame.
pub const MAX_BYTES_IN_FLIGHT: usize = crate::net::frame::MAX_CLIENT_RESPONSE;

const _: () = assert!(
    BLOCKS_PER_REQUEST <= MAX_FULL_BLOCKS_PER_REQUEST
        && crate::net::proto::MAX_FULL_BLOCKS_BYTES <= MAX_BYTES_IN_FLIGHT
);

/// How long the task waits after every peer failed before it tries them all again: long
/// enough not to hammer nodes that are restarting, short enough that a backfill resumes
/// within moments of a peer coming back.
pub const RETRY_PAUSE: Duration = Duration::from_secs(2);

/// How long one request (connection included) may take before the peer counts as failed:
/// an answer of a few megabytes over a LAN takes well under a second.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the task sleeps between checks while nothing is missing, besides waking on a
/// snapshot install: a safety net for an event it missed.
pub const IDLE_CHECK: Duration = Duration::from_secs(30);

/// What the backfill task needs.
pub struct Backfill {
    pub handle: Handle,
    pub genesis: Genesis,
    /// The node's own key: it asks its peers as a member of the game.
    pub keypair: Keypair,
    /// Addresses overriding the genesis ones, by node id.
    pub overrides: FxHashMap<NodeId, String>,
}

/// Why one peer did not give good blocks.
#[derive(Debug, thiserror::Error)]
enum PeerFailure {
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("no answer within {REQUEST_TIMEOUT:?}")]
    Timeout,
    #[error("it holds none of them")]
    Nothing,
    #[error("unexpected answer")]
    Unexpected,
    #[error("its blocks failed a check: {0}")]
    Check(#[from] super::check::CheckError),
}

impl Backfill {
    /// Runs until the node stops.
    pub async fn run(self) {
        let me = self.handle.id();
        let mut events = self.handle.subscribe();
        let mut clients: FxHashMap<NodeId, Client> = FxHashMap::default();
        let mut preferred: Option<NodeId> = None;
        let mut was_missing = false;
        loop {
            let wanted = self
                .handle
                .query(|r| (r.missing_blocks().first().copied(), r.status().voters))
                .await;
            let (range, voters) = match wanted {
                Ok(wanted) => wanted,
                Err(crate::api::QueryError::Busy) => {
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
                Err(crate::api::QueryError::Stopped(_)) => return,
            };
            let Some(range) = range else {
                if was_missing {
                    tracing::info!(node = me, "backfill done: this node holds every block");
                    was_missing = false;
                }
                // Done: let go of the connections, and sleep until a snapshot comes.
                close_all(&mut clients).await;
                if !self.wait_for_snapshot(&mut events).await {
                    return;
                }
                continue;
            };
            was_missing = true;
            let peers = self.peers(me, &voters, preferred);
            let mut stored = false;
            for (peer, address) in peers {
                match self.fetch_from(&mut clients, peer, &address, range).await {
                    Ok(segment) => match self.handle.store_backfill(segment).await {
                        Ok(Ok(progress)) => {
                            tracing::info!(
                                node = me,
                                peer,
                                stored = progress.stored,
                                missing = progress.missing,
                                "backfilled blocks"
                            );
                            preferred = Some(peer);
                            stored = true;
                        }
                        Ok(Err(refusal @ BackfillRefusal::NotWanted { .. })) => {
                            // The node moved on meanwhile: ask again what it lacks.
                            tracing::debug!(node = me, %refusal, "backfill not stored");
                            stored = true;
                        }
                        Ok(Err(refusal)) => {
                            tracing::warn!(node = me, peer, %refusal, "backfill refused");
                            continue;
                        }
                        Err(_) => return,
                    },
                    Err(failure) => {
                        tracing::warn!(
                            node = me,
                            peer,
                            from = range.low,
                            to = range.high,
                            %failure,
                            "backfill: trying another node"
                        );
                        if let Some(client) = clients.remove(&peer) {
                            client.abandon("backfill failed");
                        }
                        continue;
                    }
                }
                break;
            }
            if !stored {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }

    /// Waits for a snapshot install (or [`IDLE_CHECK`]); false when the node stopped.
    async fn wait_for_snapshot(
        &self,
        events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    ) -> bool {
        let deadline = tokio::time::sleep(IDLE_CHECK);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return !self.handle.is_stopped(),
                event = events.recv() => match event {
                    Ok(NodeEvent::SnapshotInstalled { .. }) | Err(RecvError::Lagged(_)) => {
                        return true;
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => return false,
                },
            }
        }
    }

    /// The peers to ask, in order: the one that last answered well, then the voters, then
    /// the other nodes of the genesis; never this node.
    fn peers(
        &self,
        me: NodeId,
        voters: &[NodeId],
        preferred: Option<NodeId>,
    ) -> Vec<(NodeId, String)> {
        let mut addresses: Vec<(NodeId, String, bool)> = self
            .genesis
            .nodes()
            .filter(|n| n.id != me)
            // A node that dials out cannot be dialled (unless configured otherwise).
            .filter(|n| !n.dials_out() || self.overrides.contains_key(&n.id))
            .map(|n| {
                let address = self
                    .overrides
                    .get(&n.id)
                    .cloned()
                    .unwrap_or_else(|| n.address.clone());
                (n.id, address, voters.contains(&n.id))
            })
            .collect();
        // Stable: genesis order within each group.
        addresses.sort_by_key(|(id, _, voter)| (Some(*id) != preferred, !voter));
        addresses
            .into_iter()
            .map(|(id, address, _)| (id, address))
            .collect()
    }

    /// Asks `peer` for the top of `range` and checks what it gives.
    async fn fetch_from(
        &self,
        clients: &mut FxHashMap<NodeId, Client>,
        peer: NodeId,
        address: &str,
        range: MissingRange,
    ) -> Result<super::check::CheckedSegment, PeerFailure> {
        let to = range.high;
        let from = range.low.max(to.saturating_sub(BLOCKS_PER_REQUEST - 1));
        let request = Request::FullBlocks { from, to };
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            if clients.get(&peer).is_none_or(Client::is_closed) {
                let client =
                    Client::connect(&self.genesis, self.keypair.clone(), &[address.to_string()])
                        .await?;
                clients.insert(peer, client);
            }
            let client = clients.get(&peer).expect("just connected");
            client.request(&request).await
        })
        .await
        .map_err(|_| PeerFailure::Timeout)??;
        let Response::FullBlocks(blocks) = answer else {
            return Err(PeerFailure::Unexpected);
        };
        if blocks.is_empty() {
            return Err(PeerFailure::Nothing);
        }
        let chain = self.genesis.chain_id();
        let anchor: Anchor = range.anchor();
        // Hashing and signature checks take milliseconds a block: off the async threads.
        let checked = tokio::task::spawn_blocking(move || check_segment(&chain, anchor, blocks))
            .await
            .map_err(|_| PeerFailure::Unexpected)??;
        Ok(checked)
    }
}

async fn close_all(clients: &mut FxHashMap<NodeId, Client>) {
    for (_, client) in clients.drain() {
        client.close().await;
    }
}
