//! The in-memory mirror of the Raft log, which serves raft-rs' reads.

use std::collections::VecDeque;

use protobuf::Message as _;
use raft::prelude::Entry;
use raft::{Error, NO_LIMIT, StorageError};

/// The log from the first index on, plus the term of the entry just before it.
///
/// Invariant: `entries[i].index == first + i`, and `first >= 1`.
#[derive(Debug)]
pub(super) struct Log {
    entries: VecDeque<Entry>,
    first: u64,
    /// The term of the entry at `first - 1` (the last compacted entry, or the snapshot's).
    trunc_term: u64,
}

impl Log {
    pub(super) fn new(first: u64, trunc_term: u64, entries: VecDeque<Entry>) -> Log {
        debug_assert!(first >= 1);
        Log {
            entries,
            first,
            trunc_term,
        }
    }

    pub(super) fn first_index(&self) -> u64 {
        self.first
    }

    pub(super) fn last_index(&self) -> u64 {
        self.first - 1 + self.entries.len() as u64
    }

    pub(super) fn trunc_term(&self) -> u64 {
        self.trunc_term
    }

    /// The entry at `index`, if it is in the log.
    pub(super) fn get(&self, index: u64) -> Option<&Entry> {
        let offset = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.entries.get(offset)
    }

    /// The term at `index`: the entry's, or the retained one just before the first index.
    pub(super) fn term(&self, index: u64) -> raft::Result<u64> {
        if index == self.first - 1 {
            return Ok(self.trunc_term);
        }
        if index < self.first {
            return Err(Error::Store(StorageError::Compacted));
        }
        match self.get(index) {
            Some(e) => Ok(e.term),
            None => Err(Error::Store(StorageError::Unavailable)),
        }
    }

    /// Entries in `[low, high)`, cut to `max_size` exactly like `raft::util::limit_size`,
    /// cloning only the entries returned (entry data is shared, not copied).
    pub(super) fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: Option<u64>,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first {
            return Err(Error::Store(StorageError::Compacted));
        }
        // MemStorage panics here; raft-rs never asks for this.
        if high > self.last_index() + 1 || low > high {
            return Err(Error::Store(StorageError::Unavailable));
        }
        let lo = (low - self.first) as usize;
        let hi = (high - self.first) as usize;
        let range = self.entries.range(lo..hi);
        let n = limited_len(range.clone(), hi - lo, max_size);
        Ok(range.take(n).cloned().collect())
    }

    /// Drops everything: the log restarts after a snapshot at `index` with `term`.
    pub(super) fn reset(&mut self, index: u64, term: u64) {
        self.entries.clear();
        self.first = index + 1;
        self.trunc_term = term;
    }

    /// Appends `ents`, which start in `[first, last + 1]` and are consecutive, dropping
    /// the old entries from the first new index on.
    pub(super) fn append(&mut self, ents: Vec<Entry>) {
        let Some(e0) = ents.first() else { return };
        let keep = (e0.index - self.first) as usize;
        self.entries.truncate(keep);
        self.entries.extend(ents);
    }

    /// Drops the entries before `to` (which is in `(first, last + 1]`); `trunc_term` is the
    /// term of the entry at `to - 1`.
    pub(super) fn compact(&mut self, to: u64, trunc_term: u64) {
        let n = (to - self.first) as usize;
        self.entries.drain(..n);
        self.first = to;
        self.trunc_term = trunc_term;
    }
}

/// How many of `ents` (of which there are `len`) `raft::util::limit_size` would keep: the
/// same loop over the same `compute_size`, without building the vector first.
fn limited_len<'a>(ents: impl Iterator<Item = &'a Entry>, len: usize, max: Option<u64>) -> usize {
    if len <= 1 {
        return len;
    }
    let max = match max {
        None | Some(NO_LIMIT) => return len,
        Some(max) => max,
    };
    let mut size = 0u64;
    ents.take_while(|e| {
        if size == 0 {
            size += u64::from(e.compute_size());
            return true;
        }
        size += u64::from(e.compute_size());
        size <= max
    })
    .count()
}
