//! The simulator's disk: a node's writes, what they cost in time, and what a crash keeps.
//!
//! A replica hands out its writes ([`Replica::poll_write`]) and is told when each is done
//! ([`Replica::handle_written`]); the simulator is its runner. Here a write becomes
//! visible in the node's store at once (real fjall, unsynced), but only a durable write's
//! fsync (a seeded 1 to 4 ms of simulated time, during which the node, like the node
//! thread, does nothing else) makes it, and every write before it, survive a crash.
//! A crashed node restarts from a fresh store holding exactly those writes, replayed in
//! order: whatever was written and not yet synced is lost, as kill -9 or a power cut
//! loses it.
//!
//! [`DiskModel::AcknowledgesBeforeDurable`] is the mutation the safety checks must catch:
//! it reports durable writes done before they are synced (as a runner that skipped the
//! fsync, or a disk that lies about it), and only a periodic write-back makes them
//! durable.

use std::path::{Path, PathBuf};

use raft::eraftpb::ConfState;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::io::store::{Store, StoreError, WriteSet};
use crate::replica::{Replica, ReplicaError, Write, WriteId};

/// How the simulated disk treats a durable write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiskModel {
    /// Reported done after its fsync: the production runner.
    #[default]
    Honest,
    /// Reported done at once; synced only by the next write-back. Must fail the checks.
    AcknowledgesBeforeDurable,
}

/// A durable write's fsync takes this long, at least (simulated ms).
pub const FSYNC_MIN_MS: u64 = 1;
/// ... and at most.
pub const FSYNC_MAX_MS: u64 = 4;
/// How often the lying disk writes back what it acknowledged (simulated ms): like an
/// operating system's write-back of dirty pages, long after the acknowledgement.
pub const WRITE_BACK_EVERY_MS: u64 = 1_000;

/// One node's disk.
#[derive(Default)]
pub struct SimDisk {
    /// Every write that is durable, in order: what a restarted node finds.
    durable: Vec<WriteSet>,
    /// Written (the node sees them) and not yet synced, in order.
    unsynced: Vec<WriteSet>,
    /// A durable write in its fsync (written, not yet durable), done at (simulated ms).
    syncing: Option<(u64, WriteId)>,
    /// When the lying disk last wrote back.
    last_write_back_ms: u64,
    /// Stores made for restarts so far (each restart gets a fresh directory).
    lives: u32,
}

/// What became of a write handed to the disk.
#[derive(Debug, PartialEq, Eq)]
pub enum Performed {
    /// Reported to the replica: it may go on.
    Done,
    /// In its fsync until the given time: the node waits.
    Syncing(u64),
}

impl SimDisk {
    /// Performs `write` for `replica` at `now_ms`.
    pub fn perform(
        &mut self,
        replica: &mut Replica,
        write: Write,
        model: DiskModel,
        now_ms: u64,
        rng: &mut ChaCha8Rng,
    ) -> Result<Performed, ReplicaError> {
        assert!(self.syncing.is_none(), "a write while another syncs");
        let durable = write.set.durable;
        self.write(replica, write.set)?;
        if durable && model == DiskModel::Honest {
            let done = now_ms + rng.random_range(FSYNC_MIN_MS..=FSYNC_MAX_MS);
            self.syncing = Some((done, write.id));
            return Ok(Performed::Syncing(done));
        }
        replica.handle_written(write.id)?;
        Ok(Performed::Done)
    }

    /// When the node's fsync ends, if one is under way.
    pub fn syncing_until(&self) -> Option<u64> {
        self.syncing.as_ref().map(|(at, _)| *at)
    }

    /// Ends the fsync under way if it is due at `now_ms`: the write and every one before
    /// it are durable, and the replica hears of it. `true` if one ended.
    pub fn finish_sync(
        &mut self,
        replica: &mut Replica,
        now_ms: u64,
    ) -> Result<bool, ReplicaError> {
        match self.syncing.take() {
            Some((at, id)) if at <= now_ms => {
                self.sync();
                replica.handle_written(id)?;
                Ok(true)
            }
            other => {
                self.syncing = other;
                Ok(false)
            }
        }
    }

    /// The lying disk's periodic write-back.
    pub fn write_back_if_due(&mut self, model: DiskModel, now_ms: u64) {
        if model == DiskModel::AcknowledgesBeforeDurable
            && now_ms >= self.last_write_back_ms + WRITE_BACK_EVERY_MS
        {
            self.sync();
            self.last_write_back_ms = now_ms;
        }
    }

    /// The node crashed: what was not synced is gone.
    pub fn crash(&mut self) {
        self.syncing = None;
        self.unsynced.clear();
    }

    /// A fresh data directory under `root` for node `id`'s next life, holding exactly its
    /// durable writes (on a store created with `initial`, as the replica creates one).
    pub fn restore(
        &mut self,
        root: &Path,
        id: u64,
        initial: ConfState,
    ) -> Result<PathBuf, StoreError> {
        self.lives += 1;
        let dir = root.join(format!("node{id}-life{}", self.lives));
        let mut store = Store::open(&dir, initial)?;
        for write in &self.durable {
            store.commit(unsynced_copy(write))?;
        }
        Ok(dir)
    }

    /// Writes durable and not, so far.
    pub fn counts(&self) -> (usize, usize) {
        (self.durable.len(), self.unsynced.len())
    }

    /// Writes `set` to the node's store (fjall, unsynced: the simulation keeps its own
    /// account of what is durable) and notes it unsynced.
    fn write(&mut self, replica: &mut Replica, set: WriteSet) -> Result<(), ReplicaError> {
        replica.store_mut().commit(unsynced_copy(&set))?;
        self.unsynced.push(set);
        Ok(())
    }

    fn sync(&mut self) {
        self.durable.append(&mut self.unsynced);
    }
}

/// `set`, to write without an fsync.
fn unsynced_copy(set: &WriteSet) -> WriteSet {
    WriteSet {
        durable: false,
        ..set.clone()
    }
}
