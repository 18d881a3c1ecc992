//! A sans-IO driver around raft-rs's `RawNode`.
//!
//! Inputs are `handle_*` calls (a tick, a peer's message, a proposal, a membership
//! change); outputs come out of [`Driver::poll_ready`] as a [`ReadyWork`] that says, in
//! raft-rs's required order, what to send now, what to install, what to apply, what to
//! persist and what to send only after persisting. The caller does the IO, then calls
//! [`Driver::handle_persisted`] and [`Driver::handle_applied`]. The driver never reads a
//! clock: time arrives as ticks.
//!
//! The storage lives inside the `RawNode` (raft-rs reads its log through it); the caller
//! writes to it through [`Driver::store_mut`] while handling a `ReadyWork`.

use raft::eraftpb::{ConfChangeV2, ConfState, Entry, HardState, Message, MessageType, Snapshot};
use raft::{RawNode, Ready, StateRole, Storage};

use super::guard::{self, GuardError};
use super::logger::tracing_logger;

/// Raft settings for one node.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    pub id: u64,
    /// Ticks without a leader's heartbeat before a follower campaigns.
    pub election_ticks: usize,
    pub heartbeat_ticks: usize,
    /// When set, the election timeout is exactly this many ticks (no randomness): the
    /// deterministic simulator staggers it per node.
    pub fixed_election_ticks: Option<usize>,
    /// The index the state machine has applied (the snapshot it restored from).
    pub applied: u64,
    pub max_size_per_msg: u64,
    pub max_inflight_msgs: usize,
}

/// Everything one `Ready` asks of the caller, in the order it must be done.
#[derive(Debug, Default)]
pub struct ReadyWork {
    /// 1. Send these now (the leader's appends and heartbeats: they need no persistence).
    pub messages: Vec<Message>,
    /// The role or leader changed.
    pub soft_state: Option<(StateRole, u64)>,
    /// 2. Install this snapshot (state machine and storage).
    pub snapshot: Option<Snapshot>,
    /// 3. Apply these committed entries, in order.
    pub committed: Vec<Entry>,
    /// 4. Append these entries and this hard state, durably when `must_sync`.
    pub entries: Vec<Entry>,
    pub hard_state: Option<HardState>,
    pub must_sync: bool,
    /// 5. Send these only after step 4 is durable (votes, append responses).
    pub persisted_messages: Vec<Message>,
}

/// What remains after [`Driver::handle_persisted`].
#[derive(Debug, Default)]
pub struct LightWork {
    pub commit: Option<u64>,
    pub messages: Vec<Message>,
    pub committed: Vec<Entry>,
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    #[error("poll_ready was called while the previous Ready is still being handled")]
    ReadyInProgress,
    #[error("handle_persisted was called without a Ready from poll_ready")]
    NoReady,
    #[error("a peer's message arrived while a Ready is being handled")]
    StepDuringReady,
    /// The message would make raft-rs panic; see [`guard`].
    #[error("refused a raft message that would crash raft-rs: {0}")]
    Refused(#[from] GuardError),
}

pub struct Driver<S: Storage> {
    node: RawNode<S>,
    ready: Option<Ready>,
}

/// Bytes of committed entries one `Ready` hands over, at most (raft-rs always hands over
/// at least one): a node restarting behind its commit index would otherwise read all it
/// applies again (up to a thousand batches of up to 1 MiB) into memory at once. Eight
/// batches at a time keep its memory flat and cost nothing in throughput.
pub const MAX_COMMITTED_BYTES_PER_READY: u64 = 8 << 20;

impl<S: Storage> Driver<S> {
    pub fn new(config: &DriverConfig, store: S) -> Result<Driver<S>, DriverError> {
        let (min, max) = match config.fixed_election_ticks {
            Some(ticks) => (ticks, ticks + 1),
            None => (config.election_ticks, 2 * config.election_ticks),
        };
        let raft_config = raft::Config {
            id: config.id,
            election_tick: config.election_ticks,
            heartbeat_tick: config.heartbeat_ticks,
            min_election_tick: min,
            max_election_tick: max,
            applied: config.applied,
            max_size_per_msg: config.max_size_per_msg,
            max_inflight_msgs: config.max_inflight_msgs,
            check_quorum: true,
            pre_vote: true,
            max_committed_size_per_ready: MAX_COMMITTED_BYTES_PER_READY,
            ..Default::default()
        };
        raft_config.validate()?;
        let node = RawNode::new(&raft_config, store, &tracing_logger())?;
        Ok(Driver { node, ready: None })
    }

    // --- Inputs ---------------------------------------------------------------------------

    /// One tick of the logical clock.
    pub fn handle_tick(&mut self) {
        self.node.tick();
    }

    /// A message from a peer. Local-only message types (a peer cannot make us campaign
    /// or propose) are refused, and so is, between [`Driver::poll_ready`] and
    /// [`Driver::handle_persisted`], everything (raft-rs must not step then). So is a
    /// message raft-rs would panic on, which no honest peer sends ([`guard`]): it is
    /// logged here, at warn.
    ///
    /// `step` is not wrapped in `catch_unwind` as well: raft-rs mutates its state in place
    /// before it checks (`maybe_append` appends, then `commit_to` panics; `become_leader`
    /// resets the progress, then asserts), so after an unwound step the log, the commit
    /// index and the progress tracker no longer agree, and stepping on could persist or
    /// acknowledge a log that breaks Raft's safety. A panic that gets past the guard is a
    /// bug to fix there; it stops this node (the runner turns it into an error), which then
    /// restarts from its durable state.
    pub fn handle_message(&mut self, message: Message) -> Result<(), DriverError> {
        if raft::raw_node::is_local_msg(message.get_msg_type())
            || message.get_msg_type() == MessageType::MsgPropose
        {
            return Err(DriverError::Raft(raft::Error::StepLocalMsg));
        }
        if self.ready.is_some() {
            return Err(DriverError::StepDuringReady);
        }
        if let Err(refused) = guard::check_remote(&message, &self.node.raft) {
            tracing::warn!(
                peer = message.from,
                msg_type = ?message.get_msg_type(),
                term = message.term,
                %refused,
                "dropping a raft message that would crash raft-rs"
            );
            return Err(refused.into());
        }
        self.node.step(message)?;
        Ok(())
    }

    /// Steps `message` with neither the checks of [`Driver::handle_message`] nor the
    /// guard: tests show what the guard prevents.
    #[cfg(test)]
    pub(crate) fn step_unguarded(&mut self, message: Message) -> Result<(), DriverError> {
        self.node.step(message)?;
        Ok(())
    }

    /// The raft-rs state the guard reads.
    #[cfg(test)]
    pub(crate) fn raft(&self) -> &raft::Raft<S> {
        &self.node.raft
    }

    /// Proposes an entry; `context` travels with it (our proposal id).
    pub fn handle_propose(&mut self, context: Vec<u8>, data: Vec<u8>) -> Result<(), DriverError> {
        self.node.propose(context, data)?;
        Ok(())
    }

    pub fn handle_conf_change(
        &mut self,
        context: Vec<u8>,
        change: ConfChangeV2,
    ) -> Result<(), DriverError> {
        self.node.propose_conf_change(context, change)?;
        Ok(())
    }

    /// Makes a committed membership change take effect; returns the new configuration.
    pub fn apply_conf_change(&mut self, change: &ConfChangeV2) -> Result<ConfState, DriverError> {
        Ok(self.node.apply_conf_change(change)?)
    }

    pub fn report_unreachable(&mut self, peer: u64) {
        self.node.report_unreachable(peer);
    }

    pub fn report_snapshot(&mut self, peer: u64, failed: bool) {
        let status = if failed {
            raft::SnapshotStatus::Failure
        } else {
            raft::SnapshotStatus::Finish
        };
        self.node.report_snapshot(peer, status);
    }

    pub fn campaign(&mut self) -> Result<(), DriverError> {
        Ok(self.node.campaign()?)
    }

    // --- Outputs --------------------------------------------------------------------------

    pub fn has_ready(&self) -> bool {
        self.ready.is_none() && self.node.has_ready()
    }

    /// Takes the next `Ready`, if any, as work for the caller.
    pub fn poll_ready(&mut self) -> Result<Option<ReadyWork>, DriverError> {
        if self.ready.is_some() {
            return Err(DriverError::ReadyInProgress);
        }
        if !self.node.has_ready() {
            return Ok(None);
        }
        let mut ready = self.node.ready();
        let snapshot = ready.snapshot();
        let snapshot = (!snapshot.is_empty()).then(|| snapshot.clone());
        let work = ReadyWork {
            messages: ready.take_messages(),
            soft_state: ready.ss().map(|ss| (ss.raft_state, ss.leader_id)),
            snapshot,
            committed: ready.take_committed_entries(),
            entries: ready.take_entries(),
            hard_state: ready.hs().cloned(),
            must_sync: ready.must_sync(),
            persisted_messages: ready.take_persisted_messages(),
        };
        self.ready = Some(ready);
        Ok(Some(work))
    }

    /// The caller made the last `ReadyWork`'s entries and hard state durable (and sent its
    /// persisted messages): advance, and take what that released.
    pub fn handle_persisted(&mut self) -> Result<LightWork, DriverError> {
        let ready = self.ready.take().ok_or(DriverError::NoReady)?;
        let mut light = self.node.advance(ready);
        Ok(LightWork {
            commit: light.commit_index(),
            messages: light.take_messages(),
            committed: light.take_committed_entries(),
        })
    }

    /// The state machine has applied everything up to `index`.
    pub fn handle_applied(&mut self, index: u64) {
        self.node.advance_apply_to(index);
    }

    // --- Views ----------------------------------------------------------------------------

    pub fn id(&self) -> u64 {
        self.node.raft.id
    }

    pub fn role(&self) -> StateRole {
        self.node.raft.state
    }

    pub fn leader_id(&self) -> Option<u64> {
        match self.node.raft.leader_id {
            raft::INVALID_ID => None,
            id => Some(id),
        }
    }

    pub fn term(&self) -> u64 {
        self.node.raft.term
    }

    pub fn commit_index(&self) -> u64 {
        self.node.raft.raft_log.committed
    }

    pub fn last_index(&self) -> u64 {
        self.node.raft.raft_log.last_index()
    }

    pub fn conf_state(&self) -> ConfState {
        self.node.raft.prs().conf().to_conf_state()
    }

    /// Whether a membership change is proposed and not yet applied (raft-rs turns a
    /// second one into a no-op until then).
    pub fn has_pending_conf(&self) -> bool {
        self.node.raft.has_pending_conf()
    }

    /// Whether `id` is a voter of the current configuration (either side of a joint
    /// one), without copying the configuration.
    pub fn is_voter(&self, id: u64) -> bool {
        self.node.raft.prs().conf().voters().contains(id)
    }

    pub fn is_learner(&self) -> bool {
        let id = self.node.raft.id;
        self.node.raft.prs().conf().learners().contains(&id)
    }

    /// Each peer's replication progress, when this node leads: (id, matched index, next
    /// index, recently active).
    pub fn progress(&self) -> Vec<(u64, u64, u64, bool)> {
        let status = self.node.status();
        let mut peers: Vec<(u64, u64, u64, bool)> = status
            .progress
            .map(|tracker| {
                tracker
                    .iter()
                    .map(|(id, p)| (*id, p.matched, p.next_idx, p.recent_active))
                    .collect()
            })
            .unwrap_or_default();
        peers.sort_unstable();
        peers
    }

    pub fn store(&self) -> &S {
        self.node.store()
    }

    pub fn store_mut(&mut self) -> &mut S {
        self.node.mut_store()
    }
}
