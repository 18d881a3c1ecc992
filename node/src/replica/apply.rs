//! The Ready loop, in raft-rs's required order, and applying committed entries: each
//! entry's batch becomes the next block of the chain, stored with its receipts in the
//! same atomic write as the Raft state of that Ready.

use std::sync::Arc;

use protobuf::Message as _;
use raft::eraftpb::{ConfChangeV2, Entry, EntryType, Message, MessageType, Snapshot};

use crate::backfill::receipts;
use crate::core::exchange::receipt::Outcome;
use crate::core::exchange::reject::Rejection;
use crate::core::ledger::{Batch, Ledger};
use crate::core::tx::TxHash;
use crate::io::store::WriteSet;
use crate::raft::wire::WireMessage;

use super::write::Then;
use super::{
    PeerMessage, ProposalTag, Refusal, Replica, ReplicaError, ReplicaEvent, StoredReceipt,
};
use crate::api::Role;

impl Replica {
    /// Runs Readys until raft-rs has none (`true`) or one waits for its write (`false`):
    /// the runner performs it and reports it, and [`Replica::handle_written`] goes on.
    ///
    /// The committed entries a Ready hands over are not applied here but queued, and
    /// applied by the next `process` ([`Replica::apply_committed`]), after the runner has
    /// sent what the Ready let go: so applying a batch never holds back the leader's
    /// appends or a follower's acknowledgement.
    pub(super) fn run_ready_loop(&mut self) -> Result<bool, ReplicaError> {
        while !self.writes.raft_waits() {
            let Some(work) = self.driver.poll_ready()? else {
                return Ok(true);
            };
            // 1. Messages that need no persistence go out first: the leader's appends
            //    reach the followers while it fsyncs.
            self.send_raft(work.messages);
            if let Some((role, leader)) = work.soft_state {
                self.set_role(role, leader);
            }
            let mut write = WriteSet::default();
            // 2. A snapshot from the leader replaces our state (entries still queued to
            //    apply below it are then skipped: the snapshot holds their effect).
            if let Some(snapshot) = work.snapshot {
                self.install_snapshot(&snapshot, &mut write)?;
                write.install_snapshot = Some(snapshot);
            }
            // 3. Committed entries, to apply next.
            self.to_apply.extend(work.committed);
            // 4. New entries and hard state, durable before anything that depends on them.
            write.durable = work.must_sync || !work.entries.is_empty() || work.hard_state.is_some();
            write.entries = work.entries;
            write.hard_state = work.hard_state;
            // 5. Votes and append acknowledgements, once they are true on disk.
            self.hand_out(write, Then::Persisted(work.persisted_messages))?;
        }
        Ok(false)
    }

    /// A Ready's write is done: its votes and acknowledgements go out and Raft advances;
    /// what that commits is queued to apply.
    pub(super) fn finish_persisted(&mut self, messages: Vec<Message>) -> Result<(), ReplicaError> {
        self.send_raft(messages);
        let light = self.driver.handle_persisted()?;
        self.send_raft(light.messages);
        if light.commit.is_some() {
            self.commit_to_store = light.commit;
        }
        self.to_apply.extend(light.committed);
        Ok(())
    }

    /// Applies the committed entries queued, if any, and hands out their blocks and
    /// receipts (with the commit index raft-rs moved, a snapshot if one is due) as one
    /// write; `false` if Raft now waits for it. Blocks and receipts need not be synced:
    /// they are rebuilt from the Raft log (durable) if lost.
    pub(super) fn apply_committed(&mut self) -> Result<bool, ReplicaError> {
        if self.to_apply.is_empty() && self.commit_to_store.is_none() {
            return Ok(true);
        }
        let mut write = WriteSet {
            commit: self.commit_to_store.take(),
            ..Default::default()
        };
        while let Some(entry) = self.to_apply.pop_front() {
            self.apply_entry(entry, &mut write)?;
        }
        self.maybe_snapshot(&mut write);
        self.hand_out(write, Then::Applied)?;
        Ok(false)
    }

    fn send_raft(&mut self, messages: Vec<Message>) {
        for message in messages {
            let to = message.to;
            if message.get_msg_type() == MessageType::MsgSnapshot {
                self.snapshots_in_flight.insert(to, self.now_ms);
            }
            self.outbox
                .push_back((to, PeerMessage::Raft(Box::new(WireMessage::from(message)))));
        }
    }

    /// Whether a peer's `MsgSnapshot` carries a state this node can restore: checked
    /// before raft-rs sees it, since raft-rs takes the snapshot into its log first and
    /// a restore failing afterwards would stop the node. A snapshot that does not restore
    /// is refused (and logged); the leader sends another once its report times out.
    pub(super) fn check_snapshot(&mut self, message: &Message) -> bool {
        let snapshot = message.get_snapshot();
        let meta = snapshot.get_metadata();
        match Ledger::restore(&snapshot.data, self.ledger.chain_id()) {
            Ok(ledger) => {
                self.checked_snapshot = Some((meta.index, meta.term, ledger));
                true
            }
            Err(err) => {
                tracing::warn!(
                    peer = message.from,
                    index = meta.index,
                    %err,
                    "refusing a snapshot that does not restore"
                );
                false
            }
        }
    }

    /// Replaces the ledger with the snapshot's; the blocks between the old head and the
    /// snapshot's are recorded missing in `write`, for the backfill.
    fn install_snapshot(
        &mut self,
        snapshot: &Snapshot,
        write: &mut WriteSet,
    ) -> Result<(), ReplicaError> {
        let meta = snapshot.get_metadata();
        let ledger = match self.checked_snapshot.take() {
            Some((index, term, ledger)) if index == meta.index && term == meta.term => ledger,
            _ => Ledger::restore(&snapshot.data, self.ledger.chain_id())?,
        };
        let old_head = self.ledger.head().clone();
        self.note_snapshot_gap(&old_head, ledger.head(), write);
        self.ledger = ledger;
        self.log_sizes.clear();
        self.applied_index = meta.index;
        self.applied_term = meta.term;
        self.blocks_since_snapshot = 0;
        self.txs_since_snapshot = 0;
        self.verified.clear();
        self.events.push_back(ReplicaEvent::SnapshotInstalled {
            height: self.ledger.head().height,
            index: meta.index,
        });
        tracing::info!(
            index = meta.index,
            height = self.ledger.head().height,
            "installed a snapshot from the leader"
        );
        Ok(())
    }

    fn apply_entry(&mut self, entry: Entry, write: &mut WriteSet) -> Result<(), ReplicaError> {
        if entry.index <= self.applied_index {
            // Already in the snapshot we restored from.
            return Ok(());
        }
        self.applied_index = entry.index;
        self.applied_term = entry.term;
        self.log_sizes
            .record(entry.index, (entry.data.len() + entry.context.len()) as u64);
        self.settle_inflight(&entry);
        match entry.get_entry_type() {
            EntryType::EntryNormal if entry.data.is_empty() => {
                // A new leader's empty entry: no block.
            }
            EntryType::EntryNormal => self.apply_batch(&entry, write),
            EntryType::EntryConfChangeV2 => {
                let mut change = ConfChangeV2::default();
                if let Err(err) = change.merge_from_bytes(&entry.data) {
                    tracing::error!(index = entry.index, %err, "skipping an undecodable membership change");
                    return Ok(());
                }
                let conf = self.driver.apply_conf_change(&change)?;
                let (mut voters, mut learners) = (conf.voters.clone(), conf.learners.clone());
                voters.sort_unstable();
                learners.sort_unstable();
                self.events
                    .push_back(ReplicaEvent::MembershipChanged { voters, learners });
                write.conf_state = Some(conf);
                // Becoming a learner, or a learner promoted to voter, is a role change
                // that Raft's soft state does not report.
                let learner = self.driver.is_learner();
                if (learner && self.role == Role::Follower)
                    || (!learner && self.role == Role::Learner)
                {
                    let leader = self.leader.unwrap_or(raft::INVALID_ID);
                    self.set_role(raft::StateRole::Follower, leader);
                }
                // Snapshot right away: a node being added can only install a snapshot
                // whose membership includes it.
                self.snapshot_due = true;
            }
            EntryType::EntryConfChange => {
                tracing::error!(
                    index = entry.index,
                    "skipping a v1 membership change: only v2 is proposed"
                );
            }
        }
        Ok(())
    }

    fn apply_batch(&mut self, entry: &Entry, write: &mut WriteSet) {
        let batch: Batch = match postcard::from_bytes(&entry.data) {
            Ok(batch) => batch,
            Err(err) => {
                // Every node sees the same bytes, so every node skips the same way.
                tracing::error!(index = entry.index, %err, "skipping an undecodable batch");
                return;
            }
        };
        let preverified: Vec<bool> = batch
            .txs
            .iter()
            .map(|tx| {
                let hash = tx.hash();
                self.verified.remove(&hash) == Some(tx.signature)
            })
            .collect();
        let applied = self.ledger.apply_batch_preverified(batch, &preverified);
        let height = applied.block.header.height;
        self.mempool.forget(applied.receipts.iter().map(|r| &r.tx));
        for receipt in &applied.receipts {
            self.forwarded.settled(&receipt.tx);
        }
        write.blocks.push((
            height,
            postcard::to_stdvec(&applied.block).expect("encoding into a Vec cannot fail"),
        ));
        for (index, receipt) in applied.receipts.iter().enumerate() {
            let stored = StoredReceipt {
                height,
                index: index as u32,
                receipt: receipt.clone(),
            };
            let bytes = postcard::to_stdvec(&stored).expect("encoding into a Vec cannot fail");
            if receipts::kept_by_position(&receipt.outcome) {
                // Another copy of this transaction may hold (or take) its hash's key: keep
                // this one where a backfilling node can find it.
                write
                    .receipts
                    .push((receipts::position_key(height, index as u32), bytes.clone()));
            }
            if matches!(
                receipt.outcome,
                Outcome::Rejected(Rejection::StaleNonce { .. })
            ) && self.has_receipt(&receipt.tx, write)
            {
                // A second copy of an applied transaction (resubmitted through another
                // leader): keep the first copy's receipt, which is the one that counts.
                continue;
            }
            write.receipts.push((receipt.tx.0, bytes));
        }
        self.blocks_since_snapshot += 1;
        self.txs_since_snapshot += applied.receipts.len() as u64;
        self.note_registered_nodes(&applied);
        self.events
            .push_back(ReplicaEvent::Applied(Arc::new(applied)));
    }

    /// If this node proposed a batch at `entry`'s index, it either committed (the entry
    /// is ours) or was replaced in a leader change: then its transactions were never
    /// applied, and their submitters are told so.
    fn settle_inflight(&mut self, entry: &Entry) {
        let Some(inflight) = self.inflight.remove(&entry.index) else {
            return;
        };
        let ours = postcard::from_bytes::<ProposalTag>(&entry.context)
            .is_ok_and(|tag| tag.node == self.config.id && tag.seq == inflight.seq);
        if !ours {
            self.mempool
                .forget(inflight.txs.iter().map(|(hash, _)| hash));
            for (hash, origin) in inflight.txs {
                self.refuse(hash, origin, Refusal::LeaderChanged);
            }
        }
    }

    fn has_receipt(&self, hash: &TxHash, write: &WriteSet) -> bool {
        write.receipts.iter().any(|(h, _)| *h == hash.0)
            || matches!(self.store().receipt(&hash.0), Ok(Some(_)))
    }

    /// Every `snapshot_every_blocks` blocks or `snapshot_every_txs` transactions, whichever
    /// comes first: snapshot the ledger at the applied index and compact the log behind it,
    /// keeping the retention the config names (so a node away for a few minutes catches up
    /// from the log: see [`super::retention`]). What a restart applies again is what came
    /// after the last snapshot, so the transactions bound its time.
    fn maybe_snapshot(&mut self, write: &mut WriteSet) {
        if self.blocks_since_snapshot < self.config.snapshot_every_blocks
            && self.txs_since_snapshot < self.config.snapshot_every_txs
            && !self.snapshot_due
        {
            return;
        }
        self.blocks_since_snapshot = 0;
        self.txs_since_snapshot = 0;
        self.snapshot_due = false;
        let mut snapshot = Snapshot::default();
        snapshot.data = self.ledger.snapshot().into();
        let meta = snapshot.mut_metadata();
        meta.index = self.applied_index;
        meta.term = self.applied_term;
        meta.set_conf_state(self.driver.conf_state());
        write.own_snapshot = Some(snapshot);
        let compact_to = self.log_sizes.compact_to(
            self.applied_index,
            self.config.log_retention_entries,
            self.config.log_retention_bytes,
        );
        write.compact_to = Some(compact_to);
        tracing::debug!(
            index = self.applied_index,
            height = self.ledger.head().height,
            compact_to,
            "snapshot taken"
        );
    }
}
