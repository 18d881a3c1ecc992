//! A replica: one node's whole consensus-and-ledger state machine, sans IO.
//!
//! It composes the Raft [`Driver`], the durable [`Store`], the leader's [`Mempool`] and
//! the [`Ledger`]. The caller feeds it inputs (`handle_*`), calls [`Replica::process`]
//! with the current time, and drains outputs (`poll_transmit`, `poll_event`), sleeping
//! until [`Replica::poll_timeout`]. It never reads a clock, opens a socket or spawns a
//! thread, so the same code runs under the threaded runner and under the deterministic
//! simulator in the tests. It reads the store it owns (raft-rs reads its log through it)
//! but never writes to it or syncs it: every write is handed out with
//! [`Replica::poll_write`], after the messages that may leave before it, and the runner
//! reports it done with [`Replica::handle_written`] (see [`mod@write`]). So the simulator runs
//! the production order of sends, writes and answers, and can lose what was not reported
//! durable when it crashes a node.
//!
//! Work is batched by design: `handle_submit` only queues, and `process` checks all the
//! queued signatures in one batch verification, so a busy node verifies more cheaply.

mod admit;
mod apply;
pub mod backfill;
pub mod config;
pub mod event;
mod forwarded;
mod join;
pub mod mempool;
pub mod message;
mod retention;
pub mod write;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use qraft_keys::Signature;
use raft::StateRole;
use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2, ConfState};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::api::{MembershipChange, PeerProgress, Refusal, Role, Status, StoredReceipt};
use crate::core::exchange::ExchangeError;
use crate::core::genesis::Genesis;
use crate::core::ledger::Ledger;
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;
use crate::io::store::{Store, StoreError};
use crate::raft::authority;
use crate::raft::driver::{Driver, DriverConfig, DriverError};

pub use backfill::{BackfillProgress, BackfillRefusal, MissingRange};
pub use config::ReplicaConfig;
pub use event::ReplicaEvent;
pub use mempool::Origin;
pub use message::{MAX_FORWARD_BYTES, MAX_REFUSALS_PER_MESSAGE, PeerMessage};
pub use write::{MAX_WRITES_AWAITED, Write, WriteId};

use forwarded::ForwardLog;
use mempool::{Mempool, MempoolLimits};
use retention::LogSizes;
use write::{Then, Writes};

/// The store's meta record holding the genesis (its canonical postcard encoding).
pub const GENESIS_META_KEY: &str = "genesis";

/// The time, passed in: a monotonic clock for deadlines and the wall clock the leader
/// stamps on the batches it cuts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono_ms: u64,
    pub unix_ms: u64,
}

/// Travels in each proposed entry's context: who proposed it, and which of its proposals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ProposalTag {
    node: NodeId,
    seq: u64,
}

/// A batch this node proposed and has not yet seen applied.
struct Inflight {
    seq: u64,
    txs: Vec<(TxHash, Origin)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("raft: {0}")]
    Driver(#[from] DriverError),
    #[error("the ledger: {0}")]
    Ledger(#[from] ExchangeError),
    #[error("this data directory belongs to another game (chain {found}, expected {expected})")]
    OtherChain { found: String, expected: String },
    #[error("invalid node configuration: {0}")]
    Config(String),
    #[error("the node's thread panicked: {0}")]
    Panicked(String),
    #[error("only the leader can do that; the leader is {leader:?}")]
    NotLeader { leader: Option<NodeId> },
    /// The runner reported a write that is not the oldest one it owes.
    #[error("write {reported} was reported done, but write {owed:?} is owed first")]
    WriteOutOfOrder { reported: u64, owed: Option<u64> },
    /// The runner owes [`MAX_WRITES_AWAITED`] writes and reports none.
    #[error("the runner owes {MAX_WRITES_AWAITED} writes and reports none")]
    WritesNotReported,
    /// Raft waits for a write the runner has not reported yet: ask again after it.
    #[error("a write is in progress; try again once it is done")]
    WriteInProgress,
}

pub struct Replica {
    config: ReplicaConfig,
    driver: Driver<Store>,
    ledger: Ledger,
    mempool: Mempool,
    /// Submissions waiting for `process` to check their signatures.
    incoming: Vec<(SignedTx, Origin)>,
    /// Checked submissions waiting for a leader to be known, since when (mono ms).
    parked: VecDeque<(SignedTx, Origin, u64)>,
    /// My clients' transactions forwarded to a leader and not yet answered.
    forwarded: ForwardLog,
    /// Signatures this node checked at admission, so applying the block does not check
    /// them again. Sound because a signature's verdict depends on it alone (qraft-keys'
    /// cofactored rule), never on the batch it was checked in.
    verified: FxHashMap<TxHash, Signature>,
    /// This node's proposals not yet applied, by the log index they were appended at.
    /// When that index is applied with someone else's entry, the proposal was lost in a
    /// leader change: its transactions were certainly not applied, and are refused.
    inflight: BTreeMap<u64, Inflight>,
    next_proposal: u64,
    applied_index: u64,
    applied_term: u64,
    blocks_since_snapshot: u64,
    /// Transactions applied since the last snapshot (made or installed), or since start.
    txs_since_snapshot: u64,
    /// A snapshot is wanted at the next opportunity (the membership changed).
    snapshot_due: bool,
    role: Role,
    leader: Option<NodeId>,
    last_tick_ms: Option<u64>,
    /// The time of the current `process` call.
    now_ms: u64,
    /// Snapshots sent and not yet reported delivered, by peer: since when (mono ms).
    snapshots_in_flight: BTreeMap<NodeId, u64>,
    /// Nodes registered by `AddNode` and not yet seen in the membership, oldest first.
    joining: VecDeque<NodeId>,
    /// When this node (as leader) last proposed the front of `joining` (mono ms).
    last_join_proposal_ms: Option<u64>,
    outbox: VecDeque<(NodeId, PeerMessage)>,
    /// The ledger a snapshot from a peer restores to, checked when it arrived and kept
    /// for when raft-rs hands the snapshot over to install: (index, term, ledger).
    checked_snapshot: Option<(u64, u64, Ledger)>,
    /// Peer messages refused before raft-rs saw them (a non-voter's leadership, a
    /// snapshot that does not restore), for the status and the tests.
    refused_peer_messages: u64,
    /// Writes handed to the runner and not yet reported done.
    writes: Writes,
    /// Committed entries raft-rs handed over, to apply at the next `process`, in order.
    /// Bounded by what one Ready and the advance after it hand over (each at most
    /// `MAX_COMMITTED_BYTES_PER_READY`, 8 MiB): `process` applies them before it asks
    /// raft-rs for the next Ready.
    to_apply: VecDeque<raft::eraftpb::Entry>,
    /// The commit index raft-rs moved to after a Ready, to store with the next applied
    /// entries.
    commit_to_store: Option<u64>,
    /// A reported write let Raft go on: `process` has work even without new input.
    resume: bool,
    events: VecDeque<ReplicaEvent>,
    /// Block ranges below the head not stored here (a snapshot was installed), highest
    /// first; see [`backfill`].
    missing: Vec<MissingRange>,
    /// Sizes of the applied entries still in the log, for its retention.
    log_sizes: LogSizes,
}

impl Replica {
    /// Opens (or creates) the replica whose data lives in `dir`. A new store's first
    /// records are its first writes: the runner performs them (see
    /// [`Replica::poll_write`]) before anything else.
    pub fn open(
        config: ReplicaConfig,
        genesis: &Genesis,
        dir: &Path,
    ) -> Result<Replica, ReplicaError> {
        config.validate().map_err(ReplicaError::Config)?;
        let store = Store::open(dir, Replica::initial_conf_state(genesis))?;
        let mut writes = Writes::default();
        let chain = genesis.chain_id();
        match store.meta("chain")? {
            Some(found) if found != chain.0 => {
                return Err(ReplicaError::OtherChain {
                    found: hex::encode(found),
                    expected: chain.to_string(),
                });
            }
            Some(_) => {}
            // A new store keeps the genesis it was made for, so an audit needs nothing
            // but the data directory.
            None => {
                writes.hand_out(
                    crate::io::store::WriteSet {
                        meta: vec![
                            ("chain".to_string(), chain.0.to_vec()),
                            (GENESIS_META_KEY.to_string(), genesis.encode()),
                            backfill::missing_meta(&[]),
                        ],
                        durable: true,
                        ..Default::default()
                    },
                    Then::Stored,
                );
            }
        }
        let (ledger, applied_index, applied_term) = match store.latest_snapshot() {
            Some(snapshot) => {
                let meta = snapshot.get_metadata();
                (
                    Ledger::restore(&snapshot.data, chain)?,
                    meta.index,
                    meta.term,
                )
            }
            None => (Ledger::new(genesis)?, 0, 0),
        };
        let (missing, record_missing) = backfill::load_missing(&store, ledger.head())?;
        if record_missing {
            writes.hand_out(
                crate::io::store::WriteSet {
                    meta: vec![backfill::missing_meta(&missing)],
                    durable: true,
                    ..Default::default()
                },
                Then::Stored,
            );
        }
        if !missing.is_empty() {
            tracing::info!(
                ranges = missing.len(),
                blocks = missing.iter().map(MissingRange::count).sum::<u64>(),
                "blocks below the head are missing: backfilling them from peers"
            );
        }
        let driver = Driver::new(
            &DriverConfig {
                id: config.id,
                election_ticks: config.election_ticks,
                heartbeat_ticks: config.heartbeat_ticks,
                fixed_election_ticks: config.fixed_election_ticks,
                applied: applied_index,
                max_size_per_msg: config.max_size_per_msg,
                max_inflight_msgs: 256,
            },
            store,
        )?;
        let role = if driver.is_learner() {
            Role::Learner
        } else {
            Role::Follower
        };
        let forwarded = ForwardLog::new(config.max_parked);
        Ok(Replica {
            mempool: Mempool::new(MempoolLimits::with_fair_share(
                config.mempool_capacity,
                config.mempool_bytes,
            )),
            config,
            driver,
            ledger,
            incoming: Vec::new(),
            parked: VecDeque::new(),
            forwarded,
            verified: FxHashMap::default(),
            inflight: BTreeMap::new(),
            next_proposal: 0,
            applied_index,
            applied_term,
            blocks_since_snapshot: 0,
            txs_since_snapshot: 0,
            snapshot_due: false,
            role,
            leader: None,
            last_tick_ms: None,
            now_ms: 0,
            snapshots_in_flight: BTreeMap::new(),
            joining: VecDeque::new(),
            last_join_proposal_ms: None,
            outbox: VecDeque::new(),
            checked_snapshot: None,
            refused_peer_messages: 0,
            writes,
            to_apply: VecDeque::new(),
            commit_to_store: None,
            resume: false,
            events: VecDeque::new(),
            missing,
            log_sizes: LogSizes::default(),
        })
    }

    /// The membership a new store starts from. Every node starts from genesis's
    /// membership at index 0, the one the log builds on, whether genesis names it or not:
    /// a node the admin adds later replays the same membership changes (its own addition
    /// among them) from the log, or installs a snapshot. Not being a voter, it never
    /// campaigns.
    pub fn initial_conf_state(genesis: &Genesis) -> ConfState {
        ConfState {
            voters: genesis.voters.iter().map(|n| n.id).collect(),
            learners: genesis.learners.iter().map(|n| n.id).collect(),
            ..ConfState::default()
        }
    }

    // --- Inputs ---------------------------------------------------------------------------

    /// A client of this node submits a transaction. Its fate arrives as a
    /// [`ReplicaEvent::Applied`] block holding its receipt, or a [`ReplicaEvent::Refused`].
    pub fn handle_submit(&mut self, tx: SignedTx) {
        self.incoming.push((tx, Origin::Local));
    }

    /// A message from peer `from` (the transport vouches for who sent it).
    pub fn handle_peer(&mut self, from: NodeId, message: PeerMessage) {
        match message {
            PeerMessage::Raft(wire) => {
                let message = match raft::eraftpb::Message::try_from(*wire) {
                    Ok(message) => message,
                    Err(err) => {
                        tracing::warn!(peer = from, %err, "dropping a malformed raft message");
                        return;
                    }
                };
                if message.from != from || message.to != self.config.id {
                    tracing::warn!(
                        peer = from,
                        claimed = message.from,
                        to = message.to,
                        "dropping a raft message not from its sender or not for us"
                    );
                    return;
                }
                let kind = message.get_msg_type();
                let from_voter = self.driver.is_voter(from);
                if !authority::may_send(kind, from_voter) {
                    self.refused_peer_messages += 1;
                    tracing::warn!(
                        peer = from,
                        ?kind,
                        term = message.term,
                        "refusing a leadership message from a node that is not a voter"
                    );
                    return;
                }
                if kind == raft::eraftpb::MessageType::MsgSnapshot && !self.check_snapshot(&message)
                {
                    self.refused_peer_messages += 1;
                    return;
                }
                if let Err(err) = self.driver.handle_message(message) {
                    tracing::debug!(peer = from, %err, "raft refused a message");
                }
            }
            PeerMessage::Forward(txs) => {
                self.incoming
                    .extend(txs.into_iter().map(|tx| (tx, Origin::Peer(from))));
            }
            PeerMessage::Refused(refusals) => {
                for (hash, refusal) in refusals {
                    if self.forwarded.passes_from_peer(&hash, from, &refusal) {
                        self.events
                            .push_back(ReplicaEvent::Refused { hash, refusal });
                    }
                }
            }
        }
    }

    /// The transport delivered (or failed to deliver) the snapshot this node sent to
    /// `peer`. Raft holds that peer's replication until it hears which.
    /// (Reported while Raft waits for a write, it is kept in flight: its report then
    /// times out and Raft sends another.)
    pub fn handle_snapshot_report(&mut self, peer: NodeId, delivered: bool) {
        if self.writes.raft_waits() {
            return;
        }
        if self.snapshots_in_flight.remove(&peer).is_some() {
            self.driver.report_snapshot(peer, !delivered);
        }
    }

    /// The transport could not reach `peer`.
    /// (Ignored while Raft waits for a write: the transport says so again.)
    pub fn handle_unreachable(&mut self, peer: NodeId) {
        if self.writes.raft_waits() {
            return;
        }
        self.driver.report_unreachable(peer);
    }

    /// Proposes a membership change (leader only); it takes effect when applied, with a
    /// [`ReplicaEvent::MembershipChanged`].
    pub fn handle_membership(&mut self, change: MembershipChange) -> Result<(), ReplicaError> {
        if self.writes.raft_waits() {
            return Err(ReplicaError::WriteInProgress);
        }
        if self.role != Role::Leader {
            return Err(ReplicaError::NotLeader {
                leader: self.leader,
            });
        }
        let (change_type, node) = match change {
            MembershipChange::AddLearner(node) => (ConfChangeType::AddLearnerNode, node),
            MembershipChange::Promote(node) => (ConfChangeType::AddNode, node),
            MembershipChange::Remove(node) => (ConfChangeType::RemoveNode, node),
        };
        let mut single = ConfChangeSingle::default();
        single.set_change_type(change_type);
        single.node_id = node;
        let mut cc = ConfChangeV2::default();
        cc.set_changes(vec![single].into());
        self.driver.handle_conf_change(Vec::new(), cc)?;
        Ok(())
    }

    /// Makes this node campaign now (tests and leadership hand-over).
    pub fn campaign(&mut self) -> Result<(), ReplicaError> {
        if self.writes.raft_waits() {
            return Err(ReplicaError::WriteInProgress);
        }
        Ok(self.driver.campaign()?)
    }

    /// Does all pending work at time `now`: ticks, applying the committed entries queued,
    /// admission, batching, and the Raft Ready loop, up to the first write Raft must wait
    /// for (see [`mod@write`]): the runner
    /// performs it, reports it with [`Replica::handle_written`], and calls `process`
    /// again. While Raft waits, `process` does nothing. An error is fatal for this replica
    /// (its store or state can no longer be trusted): drop it and reopen from disk.
    pub fn process(&mut self, now: Now) -> Result<(), ReplicaError> {
        self.now_ms = now.mono_ms;
        if self.writes.raft_waits() {
            return Ok(());
        }
        self.resume = false;
        self.forwarded.expire(now.mono_ms);
        self.tick_if_due(now);
        self.expire_snapshot_reports(now);
        if !self.apply_committed()? {
            return Ok(());
        }
        self.admit(now);
        self.propose_batches(now)?;
        if !self.run_ready_loop()? {
            return Ok(());
        }
        // Applying may have made room in the pipeline, changed the leader, or registered
        // a node to add.
        self.admit(now);
        self.propose_batches(now)?;
        self.propose_joins()?;
        if !self.run_ready_loop()? {
            return Ok(());
        }
        // A checked snapshot raft-rs did not hand over (a stale one) is not kept.
        self.checked_snapshot = None;
        Ok(())
    }

    /// A snapshot whose delivery was never reported (a lost report, a transport that
    /// does not report) counts as failed after a while, so Raft sends another.
    fn expire_snapshot_reports(&mut self, now: Now) {
        let timeout = self.config.snapshot_report_timeout_ms;
        let expired: Vec<NodeId> = self
            .snapshots_in_flight
            .iter()
            .filter(|(_, since)| **since + timeout <= now.mono_ms)
            .map(|(peer, _)| *peer)
            .collect();
        for peer in expired {
            tracing::debug!(
                peer,
                "no report of the snapshot sent to it: sending another"
            );
            self.handle_snapshot_report(peer, false);
        }
    }

    fn tick_if_due(&mut self, now: Now) {
        let tick = self.config.tick_ms;
        match self.last_tick_ms {
            None => self.last_tick_ms = Some(now.mono_ms),
            Some(last) if now.mono_ms >= last + tick => {
                self.driver.handle_tick();
                // After a stall, tick once rather than in a burst: a starved node should
                // not start an election the moment it wakes up.
                let next = if now.mono_ms >= last + 2 * tick {
                    now.mono_ms
                } else {
                    last + tick
                };
                self.last_tick_ms = Some(next);
            }
            Some(_) => {}
        }
    }

    // --- Outputs --------------------------------------------------------------------------

    pub fn poll_transmit(&mut self) -> Option<(NodeId, PeerMessage)> {
        self.outbox.pop_front()
    }

    /// The next write the runner must perform, in order: after sending what
    /// [`Replica::poll_transmit`] holds (that may leave first), it writes `set` to the
    /// store, fsyncing it when `set.durable`, and reports it with
    /// [`Replica::handle_written`].
    pub fn poll_write(&mut self) -> Option<Write> {
        self.writes.poll()
    }

    /// Write `id` is done (durable, if it was to be): what waited on it goes on. Writes
    /// are reported in the order they were handed out. An error is fatal, as in
    /// [`Replica::process`].
    pub fn handle_written(&mut self, id: WriteId) -> Result<(), ReplicaError> {
        let owed = self.writes.oldest_awaited();
        let then = self
            .writes
            .reported(id)
            .ok_or(ReplicaError::WriteOutOfOrder {
                reported: id.0,
                owed: owed.map(|owed| owed.0),
            })?;
        match then {
            Then::Persisted(messages) => {
                self.finish_persisted(messages)?;
                self.resume = true;
            }
            Then::Applied => {
                self.driver.handle_applied(self.applied_index);
                self.resume = true;
            }
            Then::Stored => {}
        }
        Ok(())
    }

    /// The store, for the runner to perform the writes it is handed.
    pub fn store_mut(&mut self) -> &mut Store {
        self.driver.store_mut()
    }

    /// Hands `set` to the runner, `then` to follow once it is reported.
    fn hand_out(
        &mut self,
        set: crate::io::store::WriteSet,
        then: Then,
    ) -> Result<(), ReplicaError> {
        if self.writes.hand_out(set, then) {
            Ok(())
        } else {
            Err(ReplicaError::WritesNotReported)
        }
    }

    /// What happened is held back while a write is owed: a receipt goes out only once the
    /// block that holds it is stored.
    pub fn poll_event(&mut self) -> Option<ReplicaEvent> {
        if self.writes.any_awaited() {
            return None;
        }
        self.events.pop_front()
    }

    /// When `process` must run next (mono ms) even if no input arrives.
    pub fn poll_timeout(&self) -> u64 {
        let mut at = self.last_tick_ms.unwrap_or(0) + self.config.tick_ms;
        if self.role == Role::Leader
            && let Some(oldest) = self.mempool.oldest_arrival_ms()
            && self.inflight.len() < self.config.max_inflight_batches
        {
            at = at.min(oldest + self.config.max_batch_delay_ms);
        }
        if let Some((_, _, since)) = self.parked.front() {
            at = at.min(since + self.config.no_leader_grace_ms);
        }
        at
    }

    /// Whether `process` has queued work to do right away.
    /// (None while Raft waits for a write: the runner owes it first.)
    pub fn has_work(&self) -> bool {
        if self.writes.raft_waits() {
            return false;
        }
        self.resume
            || !self.incoming.is_empty()
            || !self.to_apply.is_empty()
            || self.commit_to_store.is_some()
            || self.driver.has_ready()
    }

    // --- Views ----------------------------------------------------------------------------

    pub fn id(&self) -> NodeId {
        self.config.id
    }

    pub fn config(&self) -> &ReplicaConfig {
        &self.config
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Peer messages refused before raft-rs saw them: leadership from a node that is not
    /// a voter, snapshots that do not restore.
    pub fn refused_peer_messages(&self) -> u64 {
        self.refused_peer_messages
    }

    pub fn term(&self) -> u64 {
        self.driver.term()
    }

    pub fn store(&self) -> &Store {
        self.driver.store()
    }

    pub fn status(&self) -> Status {
        let conf = self.driver.conf_state();
        let mut voters = conf.voters.clone();
        let mut learners = conf.learners.clone();
        voters.sort_unstable();
        learners.sort_unstable();
        let head = self.ledger.head();
        Status {
            id: self.config.id,
            role: self.role,
            term: self.driver.term(),
            leader: self.leader,
            commit_index: self.driver.commit_index(),
            applied_index: self.applied_index,
            last_index: self.driver.last_index(),
            height: head.height,
            head_hash: head.hash,
            state_digest: head.state_digest,
            voters,
            learners,
            mempool: self.mempool.len(),
            inflight_batches: self.inflight.len(),
            missing_blocks: self.missing_block_count(),
            peers: self
                .driver
                .progress()
                .into_iter()
                .map(|(id, matched, next, active)| PeerProgress {
                    id,
                    matched,
                    next,
                    active,
                })
                .collect(),
        }
    }

    /// A stored block by height (absent below a snapshot this node installed).
    pub fn block(&self, height: u64) -> Result<Option<crate::core::block::Block>, ReplicaError> {
        Ok(self
            .store()
            .block(height)?
            .and_then(|bytes| postcard::from_bytes(&bytes).ok()))
    }

    /// A stored receipt by transaction hash.
    pub fn receipt(&self, hash: &TxHash) -> Result<Option<StoredReceipt>, ReplicaError> {
        Ok(self
            .store()
            .receipt(&hash.0)?
            .and_then(|bytes| postcard::from_bytes(&bytes).ok()))
    }

    pub(super) fn set_role(&mut self, raft_role: StateRole, leader: u64) {
        let was_leader = self.role == Role::Leader;
        self.role = match raft_role {
            StateRole::Leader => Role::Leader,
            StateRole::Candidate => Role::Candidate,
            StateRole::PreCandidate => Role::PreCandidate,
            StateRole::Follower if self.driver.is_learner() => Role::Learner,
            StateRole::Follower => Role::Follower,
        };
        let previous_leader = self.leader;
        self.leader = (leader != raft::INVALID_ID).then_some(leader);
        if was_leader && self.role != Role::Leader {
            // Waiting transactions were never proposed: hand them back. Proposed ones
            // may still commit under the next leader: `inflight` settles them when their
            // log index is applied.
            for pending in self.mempool.drain() {
                self.refuse(pending.hash, pending.origin, Refusal::LeaderChanged);
            }
        }
        if let Some(new_leader) = self.leader
            && previous_leader != self.leader
        {
            self.forward_again(new_leader);
        }
        self.events.push_back(ReplicaEvent::RoleChanged {
            role: self.role,
            leader: self.leader,
            term: self.driver.term(),
        });
    }

    /// A new leader is known: my clients' unanswered forwarded transactions go to it
    /// (into my own mempool if I lead).
    fn forward_again(&mut self, leader: NodeId) {
        let again = self.forwarded.redirect(leader);
        if again.is_empty() {
            return;
        }
        tracing::debug!(
            leader,
            count = again.len(),
            "sending unanswered transactions to the new leader"
        );
        if leader == self.config.id {
            self.incoming
                .extend(again.into_iter().map(|tx| (tx, Origin::Local)));
        } else {
            for message in message::forward_messages(again, MAX_FORWARD_BYTES) {
                self.outbox.push_back((leader, message));
            }
        }
    }

    fn refuse(&mut self, hash: TxHash, origin: Origin, refusal: Refusal) {
        self.verified.remove(&hash);
        match origin {
            Origin::Local => {
                if self.forwarded.passes_own(&hash, self.config.id, &refusal) {
                    self.events
                        .push_back(ReplicaEvent::Refused { hash, refusal });
                }
            }
            Origin::Peer(peer) => {
                // Coalesce with a refusal already queued for the same peer, up to a
                // message's worth.
                if let Some((_, PeerMessage::Refused(list))) =
                    self.outbox.iter_mut().rev().find(|(to, m)| {
                        *to == peer
                            && matches!(m, PeerMessage::Refused(list)
                                if list.len() < MAX_REFUSALS_PER_MESSAGE)
                    })
                {
                    list.push((hash, refusal));
                } else {
                    self.outbox
                        .push_back((peer, PeerMessage::Refused(vec![(hash, refusal)])));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
