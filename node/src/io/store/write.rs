//! [`Store::commit`]: check a [`WriteSet`] against the log, write it as one fjall batch,
//! then update the in-memory state.

use fjall::{OwnedWriteBatch, PersistMode};
use raft::prelude::{ConfState, Entry, HardState};

use super::codec::{
    BLOCKS, KEY_CONF_STATE, KEY_HARD_STATE, KEY_TRUNCATED, MAX_INDEX, MAX_KEY_LEN, META, RAFT_LOG,
    RAFT_STATE, RECEIPTS, SNAPSHOTS, check_value_len, encode, encode_term, encode_truncated,
    u64_key,
};
use super::log::Log;
use super::{Store, StoreError, WriteSet};

/// The shape of the log and the states after a [`WriteSet`], computed before any write.
struct Plan {
    /// The first and last index, and the term at `first - 1`, after the whole write.
    first: u64,
    last: u64,
    trunc_term: u64,
    /// The index of the first appended entry.
    append_at: Option<u64>,
    /// Old entries with an index below this survive the write's append or
    /// snapshot install.
    old_valid_until: u64,
    /// The compaction moved the first index.
    compacted: bool,
    hard_state: Option<HardState>,
    conf_state: Option<ConfState>,
}

impl Plan {
    /// The term at `index` in the log as planned so far (`None`: not in the log).
    fn term(&self, index: u64, old: &Log, new: &[Entry]) -> Option<u64> {
        if index == self.first - 1 {
            return Some(self.trunc_term);
        }
        if index < self.first || index > self.last {
            return None;
        }
        match self.append_at {
            Some(n0) if index >= n0 => new.get((index - n0) as usize).map(|e| e.term),
            _ if index < self.old_valid_until => old.entry_term(index),
            _ => None,
        }
    }
}

impl Store {
    /// Applies one [`WriteSet`] as ONE atomic fjall batch across keyspaces; when
    /// `w.durable`, the batch is fsynced (`PersistMode::SyncAll`) before this returns. Only
    /// after the disk write succeeds is the in-memory state updated.
    ///
    /// A refused write (see [`StoreError`]) changes nothing, on disk or in memory. After an
    /// `Fjall` error the database is poisoned: crash, restart, recover.
    pub fn commit(&mut self, w: WriteSet) -> Result<(), StoreError> {
        let plan = self.plan(&w)?;
        let mut batch = self.db.batch();
        if w.durable {
            batch = batch.durability(Some(PersistMode::SyncAll));
        }
        self.fill(&mut batch, &w, &plan)?;
        batch.commit()?;
        self.apply(w, plan);
        Ok(())
    }

    /// Checks `w` operation by operation, in field order, and computes the result.
    fn plan(&self, w: &WriteSet) -> Result<Plan, StoreError> {
        let mut p = Plan {
            first: self.log.first_index(),
            last: self.log.last_index(),
            trunc_term: self.log.trunc_term(),
            append_at: None,
            old_valid_until: self.log.last_index() + 1,
            compacted: false,
            hard_state: None,
            conf_state: None,
        };
        let mut snap_index = self.snapshot.as_ref().map(|s| s.get_metadata().index);

        if let Some(s) = &w.install_snapshot {
            let m = s.get_metadata();
            if m.index < p.first {
                return Err(StoreError::SnapshotOutOfDate {
                    index: m.index,
                    first_index: p.first,
                });
            }
            check_index(m.index)?;
            p.first = m.index + 1;
            p.last = m.index;
            p.trunc_term = m.term;
            p.old_valid_until = 0;
            snap_index = Some(m.index);
            let mut hs = self.hard_state.clone();
            hs.term = hs.term.max(m.term);
            hs.commit = m.index;
            p.hard_state = Some(hs);
            p.conf_state = Some(m.get_conf_state().clone());
        }

        if let Some(e0) = w.entries.first() {
            let n0 = e0.index;
            if n0 < p.first {
                return Err(StoreError::AppendCompacted {
                    index: n0,
                    first_index: p.first,
                });
            }
            if n0 > p.last + 1 {
                return Err(StoreError::LogGap {
                    index: n0,
                    last_index: p.last,
                });
            }
            for (expected, e) in (n0..).zip(&w.entries) {
                if e.index != expected {
                    return Err(StoreError::NonContiguous {
                        expected,
                        found: e.index,
                    });
                }
            }
            p.last = n0 + w.entries.len() as u64 - 1;
            check_index(p.last)?;
            p.old_valid_until = p.old_valid_until.min(n0);
            p.append_at = Some(n0);
        }

        if let Some(hs) = &w.hard_state {
            p.hard_state = Some(hs.clone());
        }
        if let Some(commit) = w.commit {
            let hs = p.hard_state.get_or_insert_with(|| self.hard_state.clone());
            hs.commit = commit;
        }
        if let Some(cs) = &w.conf_state {
            p.conf_state = Some(cs.clone());
        }

        if let Some(s) = &w.own_snapshot {
            let m = s.get_metadata();
            let refuse = |reason: String| StoreError::BadOwnSnapshot {
                index: m.index,
                term: m.term,
                reason,
            };
            if m.index == 0 {
                return Err(refuse("index 0 is raft's empty snapshot".into()));
            }
            if let Some(latest) = snap_index
                && m.index < latest
            {
                return Err(refuse(format!(
                    "older than the latest snapshot at index {latest}"
                )));
            }
            match p.term(m.index, &self.log, &w.entries) {
                Some(t) if t == m.term => {}
                Some(t) => return Err(refuse(format!("the log has term {t} there"))),
                None => {
                    return Err(refuse(format!(
                        "not in the log [{}, {}]",
                        p.first - 1,
                        p.last
                    )));
                }
            }
            snap_index = Some(m.index);
        }

        if let Some(to) = w.compact_to
            && to > p.first
        {
            if to > p.last + 1 {
                return Err(StoreError::CompactBeyondLog {
                    compact_to: to,
                    last_index: p.last,
                });
            }
            if snap_index.is_none_or(|s| to > s + 1) {
                return Err(StoreError::CompactPastSnapshot {
                    compact_to: to,
                    snapshot_index: snap_index,
                });
            }
            // `to - 1` is in [first, last]: the term is there.
            let term = p.term(to - 1, &self.log, &w.entries);
            p.trunc_term =
                term.ok_or_else(|| StoreError::Invalid(format!("no term at {}", to - 1)))?;
            p.first = to;
            p.compacted = true;
        }

        for (key, _) in &w.meta {
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                return Err(StoreError::Invalid(format!(
                    "a meta key must have 1 to {MAX_KEY_LEN} bytes, not {}",
                    key.len()
                )));
            }
        }
        Ok(p)
    }

    /// Puts the planned write into `batch`: every key at most once.
    fn fill(&self, batch: &mut OwnedWriteBatch, w: &WriteSet, p: &Plan) -> Result<(), StoreError> {
        // The log and its terms: entries that survive the write are put; old keys outside
        // the final range [first, last] are removed. Old keys inside it are either
        // untouched (below the first appended index) or overwritten.
        for e in w.entries.iter().filter(|e| e.index >= p.first) {
            batch.insert(&self.raft_log, u64_key(e.index), encode(RAFT_LOG, e)?);
            batch.insert(&self.raft_terms, u64_key(e.index), encode_term(e.term));
        }
        let (old_first, old_last) = (self.log.first_index(), self.log.last_index());
        let removed =
            (old_first..=old_last.min(p.first - 1)).chain(old_first.max(p.last + 1)..=old_last);
        for i in removed {
            batch.remove(&self.raft_log, u64_key(i));
            batch.remove(&self.raft_terms, u64_key(i));
        }

        if let Some(hs) = &p.hard_state {
            batch.insert(&self.raft_state, KEY_HARD_STATE, encode(RAFT_STATE, hs)?);
        }
        if let Some(cs) = &p.conf_state {
            batch.insert(&self.raft_state, KEY_CONF_STATE, encode(RAFT_STATE, cs)?);
        }
        if w.install_snapshot.is_some() || p.compacted {
            let truncated = encode_truncated(p.first - 1, p.trunc_term);
            batch.insert(&self.raft_state, KEY_TRUNCATED, truncated);
        }

        // Only the latest snapshot is kept: written once, the previous one removed.
        if let Some(s) = w.own_snapshot.as_ref().or(w.install_snapshot.as_ref()) {
            let index = s.get_metadata().index;
            batch.insert(&self.snapshots, u64_key(index), encode(SNAPSHOTS, s)?);
            if let Some(old) = &self.snapshot
                && old.get_metadata().index != index
            {
                batch.remove(&self.snapshots, u64_key(old.get_metadata().index));
            }
        }

        // Opaque records. A key given twice is written twice; the later write wins, as in
        // fjall's memtable and journal replay.
        for (height, bytes) in &w.blocks {
            check_value_len(BLOCKS, bytes.len())?;
            batch.insert(&self.blocks, u64_key(*height), bytes.as_slice());
        }
        for (hash, bytes) in &w.receipts {
            check_value_len(RECEIPTS, bytes.len())?;
            batch.insert(&self.receipts, hash, bytes.as_slice());
        }
        for (key, bytes) in &w.meta {
            check_value_len(META, bytes.len())?;
            batch.insert(&self.meta, key.as_str(), bytes.as_slice());
        }
        Ok(())
    }

    /// Updates the in-memory state after the batch reached the disk.
    fn apply(&mut self, w: WriteSet, p: Plan) {
        let WriteSet {
            install_snapshot,
            entries,
            own_snapshot,
            ..
        } = w;
        if let Some(s) = install_snapshot {
            let m = s.get_metadata();
            self.log.reset(m.index, m.term);
            self.snapshot = Some(s);
        }
        if let Some(e0) = entries.first() {
            self.log.append(e0.index, entries.iter().map(|e| e.term));
        }
        if let Some(hs) = p.hard_state {
            self.hard_state = hs;
        }
        if let Some(cs) = p.conf_state {
            self.conf_state = cs;
        }
        if let Some(s) = own_snapshot {
            self.snapshot = Some(s);
        }
        if p.compacted {
            self.log.compact(p.first, p.trunc_term);
        }
        debug_assert_eq!(self.log.first_index(), p.first);
        debug_assert_eq!(self.log.last_index(), p.last);
    }
}

/// Refuses an index so large that index arithmetic could overflow.
fn check_index(index: u64) -> Result<(), StoreError> {
    if index >= MAX_INDEX {
        return Err(StoreError::Invalid(format!(
            "log index {index} is out of range"
        )));
    }
    Ok(())
}
