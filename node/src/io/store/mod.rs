//! Durable Raft storage and the chain store, on fjall.
//!
//! One [`Store`] holds the Raft log, hard state, conf state and latest snapshot, and the
//! chain built from them: blocks by height, receipts by tx hash, and named meta records.
//! Everything a Raft `Ready` produces goes to disk in one [`WriteSet`], as one atomic fjall
//! batch across keyspaces, fsynced when durable; the key layout is in the `codec` module.
//!
//! raft-rs reads the log through [`raft::Storage`]: terms, hard and conf states and the
//! latest snapshot from memory (loaded at [`Store::open`], updated only after a write
//! reached the disk), entries from disk (see the `log` module: only their terms are kept
//! in memory). Its answers are `MemStorage`'s, with two deliberate differences (both
//! tested against it):
//! - The term of the entry just before the first index is kept after compaction, as the
//!   `Storage::term` contract asks (`MemStorage` answers `Compacted` there unless that
//!   index is its snapshot's), and compaction can empty the log without moving the first
//!   index back (`MemStorage` then falls back to its snapshot's index).
//! - What `MemStorage` panics on (a read past the last index, an append with a gap or
//!   into the compacted part, compaction past the last index) is an error here.
//!
//! fjall is synchronous: call this from the Raft thread or `spawn_blocking`, never from
//! an async task.
//!
//! Opening a store replays fjall's journal (every write not yet flushed to tables), so
//! the store bounds it: see [`MAX_JOURNAL_BYTES`] and [`MEMTABLE_BYTES`].

mod codec;
mod error;
mod log;
mod reader;
mod write;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_diff;

use std::collections::VecDeque;
use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use raft::prelude::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use codec::{
    BLOCKS, FORMAT, FORMAT_WITHOUT_TERMS, KEY_CONF_STATE, KEY_FORMAT, KEY_HARD_STATE,
    KEY_TRUNCATED, META, RAFT_LOG, RAFT_STATE, RAFT_TERMS, RECEIPTS, SNAPSHOTS, decode,
    decode_term, decode_truncated, encode, encode_term, encode_truncated, parse_u64_key, u64_key,
};
pub use error::StoreError;
use error::corrupt;
use log::{Log, read_entry};
pub use reader::Reader;

/// fjall's journals, in all, before it flushes the keyspaces that hold them back: the
/// least fjall accepts. The journal is what opening a store replays; fjall's default
/// (512 MiB) let the journal of a long game grow to hundreds of megabytes, all read again
/// at every start. Small keyspaces (the Raft state, the meta records) never fill a
/// memtable, so this limit is what makes them flush and their journals go.
pub const MAX_JOURNAL_BYTES: u64 = 64 << 20;

/// One keyspace's memtable before fjall flushes it to a table: a memtable lives in memory
/// and is rebuilt from the journal at every start, and the store has seven of them, so
/// fjall's default (64 MiB each) could hold hundreds of megabytes of blocks and log
/// entries in memory. 8 MiB still holds a dozen of the largest batches, so flushes stay
/// rare next to the writes. (fjall records the size when a keyspace is created: stores
/// made before this keep their 64 MiB.)
pub const MEMTABLE_BYTES: u64 = 8 << 20;

/// fjall's block cache: the blocks and receipts clients read most are recent, and recent
/// log entries are still in their memtable, so a small cache does; fjall's default is
/// 32 MiB.
pub const BLOCK_CACHE_BYTES: u64 = 16 << 20;

/// Durable Raft storage and chain store. See the [module docs](self).
pub struct Store {
    db: Database,
    raft_log: Keyspace,
    raft_terms: Keyspace,
    raft_state: Keyspace,
    blocks: Keyspace,
    receipts: Keyspace,
    snapshots: Keyspace,
    meta: Keyspace,
    log: Log,
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Option<Snapshot>,
}

/// Everything one Raft `Ready` (or `LightReady`, or a snapshot/compaction step) writes.
///
/// [`Store::commit`] applies the operations in the order of the fields, all or nothing.
#[derive(Clone, Default, Debug)]
pub struct WriteSet {
    /// A snapshot received from the leader: like `MemStorageCore::apply_snapshot` (log
    /// discarded up to its index, conf state and commit/term taken from it); also stored
    /// as the latest snapshot.
    pub install_snapshot: Option<Snapshot>,
    /// Entries to append, truncating any conflicting suffix (`MemStorageCore::append`
    /// semantics). They must be consecutive and start in `[first_index, last_index + 1]`.
    pub entries: Vec<Entry>,
    /// The new hard state.
    pub hard_state: Option<HardState>,
    /// Only the commit index changed (`LightReady`).
    pub commit: Option<u64>,
    /// The conf state after applying a conf change.
    pub conf_state: Option<ConfState>,
    /// Blocks (height, encoded bytes): opaque to the store.
    pub blocks: Vec<(u64, Vec<u8>)>,
    /// Receipts (tx hash, encoded bytes): opaque to the store.
    pub receipts: Vec<([u8; 32], Vec<u8>)>,
    /// A snapshot this node made of its own state at `metadata.index`: becomes the latest
    /// snapshot, replacing the previous one. Its index must be in the log (or just before
    /// it), not below the latest snapshot's, and its term must be the log's term there.
    pub own_snapshot: Option<Snapshot>,
    /// Drop log entries with index < `compact_to` (like `MemStorageCore::compact`); refused
    /// past the latest snapshot's index + 1, since the applied data would be unrecoverable.
    pub compact_to: Option<u64>,
    /// Named records (node bookkeeping, e.g. the applied index); later duplicates win.
    pub meta: Vec<(String, Vec<u8>)>,
    /// fsync (`PersistMode::SyncAll`) before [`Store::commit`] returns.
    pub durable: bool,
}

impl Store {
    /// Opens (creating if empty) the store in `dir`. A new store starts with `initial` as
    /// its conf state, a default hard state and an empty log whose first index is 1 (like
    /// `MemStorage::new_with_conf_state`). A reopened store ignores `initial` and recovers
    /// everything from disk.
    pub fn open(dir: &Path, initial: ConfState) -> Result<Store, StoreError> {
        let started = std::time::Instant::now();
        let db = Database::builder(dir)
            .max_journaling_size(MAX_JOURNAL_BYTES)
            .cache_size(BLOCK_CACHE_BYTES)
            .open()?;
        let keyspace = |name: &str| {
            db.keyspace(name, || {
                KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES)
            })
        };
        let mut store = Store {
            raft_log: keyspace(RAFT_LOG)?,
            raft_terms: keyspace(RAFT_TERMS)?,
            raft_state: keyspace(RAFT_STATE)?,
            blocks: keyspace(BLOCKS)?,
            receipts: keyspace(RECEIPTS)?,
            snapshots: keyspace(SNAPSHOTS)?,
            meta: keyspace(META)?,
            db,
            log: Log::new(1, 0, VecDeque::new()),
            hard_state: HardState::default(),
            conf_state: initial,
            snapshot: None,
        };
        match store.raft_state.get(KEY_FORMAT)? {
            None => store.initialize()?,
            Some(f) if &*f == FORMAT => store.recover()?,
            Some(f) if &*f == FORMAT_WITHOUT_TERMS => {
                store.write_terms()?;
                store.recover()?;
            }
            Some(f) => {
                return Err(corrupt(
                    RAFT_STATE,
                    KEY_FORMAT,
                    format!("unknown store format {:?}", String::from_utf8_lossy(&f)),
                ));
            }
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            first_index = store.log.first_index(),
            last_index = store.log.last_index(),
            "store opened"
        );
        Ok(store)
    }

    /// Writes the records of a new store, refusing a directory that holds Raft records
    /// without a format record.
    fn initialize(&mut self) -> Result<(), StoreError> {
        for (name, ks) in [
            (RAFT_STATE, &self.raft_state),
            (RAFT_LOG, &self.raft_log),
            (RAFT_TERMS, &self.raft_terms),
            (SNAPSHOTS, &self.snapshots),
        ] {
            if let Some(g) = ks.first_key_value() {
                let key = g.key()?;
                return Err(corrupt(name, &key, "a store without a format record"));
            }
        }
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        batch.insert(&self.raft_state, KEY_FORMAT, FORMAT);
        let hs = encode(RAFT_STATE, &self.hard_state)?;
        batch.insert(&self.raft_state, KEY_HARD_STATE, hs);
        let cs = encode(RAFT_STATE, &self.conf_state)?;
        batch.insert(&self.raft_state, KEY_CONF_STATE, cs);
        batch.insert(&self.raft_state, KEY_TRUNCATED, encode_truncated(0, 0));
        batch.commit()?;
        Ok(())
    }

    /// Loads the mirror from disk.
    fn recover(&mut self) -> Result<(), StoreError> {
        let required = |key: &[u8]| {
            self.raft_state
                .get(key)?
                .ok_or_else(|| corrupt(RAFT_STATE, key, "missing"))
        };
        self.hard_state = decode(RAFT_STATE, KEY_HARD_STATE, &required(KEY_HARD_STATE)?)?;
        self.conf_state = decode(RAFT_STATE, KEY_CONF_STATE, &required(KEY_CONF_STATE)?)?;
        let (trunc_index, trunc_term) = decode_truncated(&required(KEY_TRUNCATED)?)?;

        if let Some(g) = self.snapshots.last_key_value() {
            let (key, value) = g.into_inner()?;
            let index = parse_u64_key(SNAPSHOTS, &key)?;
            let snap: Snapshot = decode(SNAPSHOTS, &key, &value)?;
            if snap.get_metadata().index != index || index < trunc_index {
                return Err(corrupt(
                    SNAPSHOTS,
                    &key,
                    format!(
                        "snapshot at index {} (log truncated at {trunc_index})",
                        snap.get_metadata().index
                    ),
                ));
            }
            self.snapshot = Some(snap);
        } else if trunc_index > 0 {
            return Err(corrupt(
                SNAPSHOTS,
                &u64_key(trunc_index),
                "the log is compacted but there is no snapshot",
            ));
        }

        let first = trunc_index + 1;
        let mut terms = VecDeque::new();
        for g in self.raft_terms.range(u64_key(first)..) {
            let (key, value) = g.into_inner()?;
            let index = parse_u64_key(RAFT_TERMS, &key)?;
            let expected = first + terms.len() as u64;
            if index != expected {
                return Err(corrupt(
                    RAFT_TERMS,
                    &key,
                    format!("a hole in the log: expected index {expected}"),
                ));
            }
            terms.push_back(decode_term(&key, &value)?);
        }
        self.log = Log::new(first, trunc_term, terms);
        self.check_log_ends()
    }

    /// Checks that the entries on disk span the log the terms describe: the first and
    /// last are there and decode, nothing lies past the last. (An entry in between that
    /// does not decode is found when it is read.)
    fn check_log_ends(&self) -> Result<(), StoreError> {
        let (first, last) = (self.log.first_index(), self.log.last_index());
        if let Some(g) = self.raft_log.last_key_value() {
            let key = g.key()?;
            let index = parse_u64_key(RAFT_LOG, &key)?;
            if index > last {
                return Err(corrupt(
                    RAFT_LOG,
                    &key,
                    format!("an entry past the last index {last}"),
                ));
            }
        }
        if first > last {
            return Ok(());
        }
        for index in [first, last] {
            let g = self.raft_log.range(u64_key(index)..).next();
            let g = g.ok_or_else(|| corrupt(RAFT_LOG, &u64_key(index), "missing"))?;
            let entry = read_entry(g, index)?;
            if Some(entry.term) != self.log.entry_term(index) {
                return Err(corrupt(
                    RAFT_LOG,
                    &u64_key(index),
                    format!("term {} differs from `raft_terms`", entry.term),
                ));
            }
        }
        Ok(())
    }

    /// Writes `raft_terms` for a store of the layout before it, from its log entries,
    /// and the current format, in one durable batch.
    fn write_terms(&mut self) -> Result<(), StoreError> {
        let truncated = self
            .raft_state
            .get(KEY_TRUNCATED)?
            .ok_or_else(|| corrupt(RAFT_STATE, KEY_TRUNCATED, "missing"))?;
        let (trunc_index, _) = decode_truncated(&truncated)?;
        let mut batch = self.db.batch().durability(Some(PersistMode::SyncAll));
        for (index, g) in (trunc_index + 1..).zip(self.raft_log.range(u64_key(trunc_index + 1)..)) {
            let entry = read_entry(g, index)?;
            batch.insert(&self.raft_terms, u64_key(index), encode_term(entry.term));
        }
        batch.insert(&self.raft_state, KEY_FORMAT, FORMAT);
        batch.commit()?;
        tracing::info!("the store's log terms were written (store format 2)");
        Ok(())
    }

    /// The hard state as last written.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// The conf state as last written.
    pub fn conf_state(&self) -> &ConfState {
        &self.conf_state
    }

    /// The latest snapshot (received from a leader or made by this node), if any.
    pub fn latest_snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// A read-only view of the blocks and receipts, for use off the node thread; see
    /// [`Reader`].
    pub fn reader(&self) -> Reader {
        Reader {
            blocks: self.blocks.clone(),
            receipts: self.receipts.clone(),
        }
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.get(u64_key(height))?.map(|v| v.to_vec()))
    }

    /// Blocks with height in `[from, to]`, in order (for catch-up readers and audits).
    pub fn blocks(&self, from: u64, to: u64) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        if from > to {
            return Ok(Vec::new());
        }
        self.blocks
            .range(u64_key(from)..=u64_key(to))
            .map(|g| {
                let (key, value) = g.into_inner()?;
                Ok((parse_u64_key(BLOCKS, &key)?, value.to_vec()))
            })
            .collect()
    }

    /// The height of the highest stored block.
    pub fn last_block_height(&self) -> Result<Option<u64>, StoreError> {
        match self.blocks.last_key_value() {
            None => Ok(None),
            Some(g) => Ok(Some(parse_u64_key(BLOCKS, &g.key()?)?)),
        }
    }

    /// The receipt of the transaction with hash `tx_hash`.
    pub fn receipt(&self, tx_hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.receipts.get(tx_hash)?.map(|v| v.to_vec()))
    }

    /// The meta record `key`.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if key.is_empty() || key.len() > codec::MAX_KEY_LEN {
            return Ok(None);
        }
        Ok(self.meta.get(key)?.map(|v| v.to_vec()))
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("first_index", &self.log.first_index())
            .field("last_index", &self.log.last_index())
            .field("hard_state", &self.hard_state)
            .field("conf_state", &self.conf_state)
            .field(
                "snapshot_index",
                &self.snapshot.as_ref().map(|s| s.get_metadata().index),
            )
            .finish_non_exhaustive()
    }
}

/// Served from memory, entries from disk; see the [module docs](self) for how the
/// answers relate to `MemStorage`'s.
impl raft::Storage for Store {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(
            self.hard_state.clone(),
            self.conf_state.clone(),
        ))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        self.log.entries(&self.raft_log, low, high, max_size.into())
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.log.term(idx)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.log.first_index())
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.log.last_index())
    }

    /// The latest snapshot, data included. `SnapshotTemporarilyUnavailable` (on which
    /// raft-rs just skips sending) if there is none yet, or it is older than
    /// `request_index`: raft-rs treats any other error, or an index-0 snapshot, as fatal.
    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        match &self.snapshot {
            Some(s) if s.get_metadata().index >= request_index.max(1) => Ok(s.clone()),
            _ => Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            )),
        }
    }
}

const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<Store>();
};
