//! Errors of the store, and how a record's key is named in them.

use super::codec::{BLOCKS, RAFT_LOG, RAFT_TERMS, SNAPSHOTS};

/// What can go wrong in the [`Store`](super::Store).
///
/// An `Fjall` error from a write means the database is poisoned: the node should crash,
/// restart and recover. `Corrupt` means the disk holds something this code did not write.
/// The other variants are refused requests: nothing was written and the store is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The storage engine failed (IO, its own corruption checks, a poisoned database).
    #[error("storage engine: {0}")]
    Fjall(#[from] fjall::Error),
    /// A record on disk could not be decoded, or contradicts the records around it.
    #[error("corrupt record in keyspace `{keyspace}` at key {key}: {reason}")]
    Corrupt {
        /// The keyspace holding the record.
        keyspace: &'static str,
        /// The record's key, readable (an index, a name, or hex).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `compact_to` would drop entries that no stored snapshot covers.
    #[error("cannot compact the log to index {compact_to}: {}", past_snapshot(*snapshot_index))]
    CompactPastSnapshot {
        /// The requested compaction point.
        compact_to: u64,
        /// The index of the latest snapshot, if there is one.
        snapshot_index: Option<u64>,
    },
    /// `compact_to` is beyond the end of the log.
    #[error("cannot compact the log to index {compact_to}: the last index is {last_index}")]
    CompactBeyondLog {
        /// The requested compaction point.
        compact_to: u64,
        /// The last index of the log at that point of the write.
        last_index: u64,
    },
    /// Appended entries do not follow the log: there would be a hole.
    #[error("entries starting at index {index} leave a gap after the last index {last_index}")]
    LogGap {
        /// The index of the first appended entry.
        index: u64,
        /// The last index of the log at that point of the write.
        last_index: u64,
    },
    /// Appended entries start before the first index, inside the compacted part.
    #[error(
        "entries starting at index {index} would overwrite the compacted log (first index {first_index})"
    )]
    AppendCompacted {
        /// The index of the first appended entry.
        index: u64,
        /// The first index of the log at that point of the write.
        first_index: u64,
    },
    /// The entries of one write are not consecutive.
    #[error("appended entries are not consecutive: expected index {expected}, found {found}")]
    NonContiguous {
        /// The index the entry should have had.
        expected: u64,
        /// The index it had.
        found: u64,
    },
    /// A snapshot from the leader is older than what the log already starts with.
    #[error("snapshot at index {index} is out of date: the log starts at index {first_index}")]
    SnapshotOutOfDate {
        /// The snapshot's index.
        index: u64,
        /// The first index of the log at that point of the write.
        first_index: u64,
    },
    /// This node's own snapshot is not a snapshot of the log it claims to cover.
    #[error("own snapshot at index {index} term {term} refused: {reason}")]
    BadOwnSnapshot {
        /// The snapshot's index.
        index: u64,
        /// The snapshot's term.
        term: u64,
        /// Why it is refused.
        reason: String,
    },
    /// Anything else the store cannot hold (oversized keys or values, absurd indexes).
    #[error("invalid write: {0}")]
    Invalid(String),
}

fn past_snapshot(snapshot_index: Option<u64>) -> String {
    match snapshot_index {
        Some(i) => format!("the latest snapshot is at index {i}, so at most {}", i + 1),
        None => "there is no snapshot yet".to_string(),
    }
}

/// A key as people read it: an index for the index-keyed keyspaces, a string if it is
/// printable, hex otherwise.
pub(super) fn describe_key(keyspace: &str, key: &[u8]) -> String {
    if let Ok(b) = <[u8; 8]>::try_from(key)
        && [RAFT_LOG, RAFT_TERMS, BLOCKS, SNAPSHOTS].contains(&keyspace)
    {
        return u64::from_be_bytes(b).to_string();
    }
    match std::str::from_utf8(key) {
        Ok(s) if s.chars().all(|c| c.is_ascii_graphic() || c == ' ') => format!("{s:?}"),
        _ => {
            format!("0x{}", hex::encode(key))
        }
    }
}

/// A [`StoreError::Corrupt`] for the record at `key` in `keyspace`.
pub(super) fn corrupt(keyspace: &'static str, key: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        keyspace,
        key: describe_key(keyspace, key),
        reason: reason.into(),
    }
}
