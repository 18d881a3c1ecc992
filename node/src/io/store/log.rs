//! The Raft log: an in-memory index of its terms, and its entries read from disk.
//!
//! Only the term of each entry is kept in memory (8 bytes an entry), so the store's
//! memory does not grow with the size of the entries (a batch is up to 1 MiB) nor much
//! with the length of the log kept behind a snapshot. Entries are read from the
//! `raft_log` keyspace when raft-rs asks for them; the newest sit in fjall's memtable.

use std::collections::VecDeque;

use fjall::Keyspace;
use protobuf::Message as _;
use raft::prelude::Entry;
use raft::{Error, NO_LIMIT, StorageError};

use super::StoreError;
use super::codec::{RAFT_LOG, decode, parse_u64_key, u64_key};
use super::error::corrupt;

/// The terms of the log from the first index on, plus the term of the entry just before
/// it.
///
/// Invariant: `terms[i]` is the term of the entry at `first + i`, and `first >= 1`.
#[derive(Debug)]
pub(super) struct Log {
    terms: VecDeque<u64>,
    first: u64,
    /// The term of the entry at `first - 1` (the last compacted entry, or the snapshot's).
    trunc_term: u64,
}

impl Log {
    pub(super) fn new(first: u64, trunc_term: u64, terms: VecDeque<u64>) -> Log {
        debug_assert!(first >= 1);
        Log {
            terms,
            first,
            trunc_term,
        }
    }

    pub(super) fn first_index(&self) -> u64 {
        self.first
    }

    pub(super) fn last_index(&self) -> u64 {
        self.first - 1 + self.terms.len() as u64
    }

    pub(super) fn trunc_term(&self) -> u64 {
        self.trunc_term
    }

    /// The term of the entry at `index`, if it is in the log.
    pub(super) fn entry_term(&self, index: u64) -> Option<u64> {
        let offset = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.terms.get(offset).copied()
    }

    /// The term at `index`: the entry's, or the retained one just before the first index.
    pub(super) fn term(&self, index: u64) -> raft::Result<u64> {
        if index == self.first - 1 {
            return Ok(self.trunc_term);
        }
        if index < self.first {
            return Err(Error::Store(StorageError::Compacted));
        }
        match self.entry_term(index) {
            Some(term) => Ok(term),
            None => Err(Error::Store(StorageError::Unavailable)),
        }
    }

    /// Entries in `[low, high)` read from `raft_log`, cut to `max_size` exactly like
    /// `raft::util::limit_size` (the first entry always, then entries while the total
    /// stays within `max_size`), reading no entry past the cut.
    pub(super) fn entries(
        &self,
        raft_log: &Keyspace,
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
        let max = match max_size {
            None | Some(NO_LIMIT) => None,
            Some(max) => Some(max),
        };
        let mut out = Vec::with_capacity((high - low).min(MAX_PREALLOCATED_ENTRIES) as usize);
        if low == high {
            return Ok(out);
        }
        let mut size = 0u64;
        for guard in raft_log.range(u64_key(low)..u64_key(high)) {
            let entry = read_entry(guard, low + out.len() as u64).map_err(storage_error)?;
            size += u64::from(entry.compute_size());
            if !out.is_empty() && max.is_some_and(|max| size > max) {
                break;
            }
            out.push(entry);
        }
        let read = low + out.len() as u64;
        let cut = max.is_some() && read < high;
        if !cut && read != high {
            // The terms say the entry is there, the disk does not have it.
            return Err(storage_error(corrupt(
                RAFT_LOG,
                &u64_key(read),
                "missing, though the log's terms include it",
            )));
        }
        Ok(out)
    }

    /// Drops everything: the log restarts after a snapshot at `index` with `term`.
    pub(super) fn reset(&mut self, index: u64, term: u64) {
        self.terms.clear();
        self.first = index + 1;
        self.trunc_term = term;
    }

    /// Appends the terms of entries from `index` on (`index` in `[first, last + 1]`),
    /// dropping the old ones from `index` on.
    pub(super) fn append(&mut self, index: u64, terms: impl IntoIterator<Item = u64>) {
        let keep = (index - self.first) as usize;
        self.terms.truncate(keep);
        self.terms.extend(terms);
    }

    /// Drops the entries before `to` (which is in `(first, last + 1]`); `trunc_term` is the
    /// term of the entry at `to - 1`.
    pub(super) fn compact(&mut self, to: u64, trunc_term: u64) {
        let n = (to - self.first) as usize;
        self.terms.drain(..n);
        self.first = to;
        self.trunc_term = trunc_term;
    }
}

/// Entries a read reserves room for up front, at most: a read is usually a few entries,
/// and a wide range cut by `max_size` should not reserve memory for all of it.
const MAX_PREALLOCATED_ENTRIES: u64 = 256;

/// Decodes the `raft_log` record in `guard`, which must hold the entry at `expected`.
pub(super) fn read_entry(guard: fjall::Guard, expected: u64) -> Result<Entry, StoreError> {
    let (key, value) = guard.into_inner()?;
    let index = parse_u64_key(RAFT_LOG, &key)?;
    if index != expected {
        return Err(corrupt(
            RAFT_LOG,
            &key,
            format!("a hole in the log: expected index {expected}"),
        ));
    }
    let entry: Entry = decode(RAFT_LOG, &key, &value)?;
    if entry.index != index {
        return Err(corrupt(
            RAFT_LOG,
            &key,
            format!("holds the entry of index {}", entry.index),
        ));
    }
    Ok(entry)
}

/// A store error as raft-rs' storage error (raft-rs stops on it: the disk is not what
/// this code wrote, or fjall failed).
fn storage_error(err: StoreError) -> Error {
    Error::Store(StorageError::Other(Box::new(err)))
}
