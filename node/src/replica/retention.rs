//! How much of the Raft log a compaction keeps: the last
//! [`log_retention_entries`](super::ReplicaConfig::log_retention_entries) entries up to
//! the applied index, fewer when those add up to more than
//! [`log_retention_bytes`](super::ReplicaConfig::log_retention_bytes).
//!
//! The sizes are those of the entries this node applied since it opened its store (or
//! installed a snapshot); the retained entries from before are not counted, so the first
//! compaction after a restart may keep up to one more retention's worth of bytes.

use std::collections::VecDeque;

/// The sizes of applied entries not yet compacted away, oldest first.
#[derive(Debug, Default)]
pub(super) struct LogSizes {
    /// (index, bytes of data and context), indexes increasing.
    sizes: VecDeque<(u64, u64)>,
}

impl LogSizes {
    /// An entry at `index` was applied.
    pub(super) fn record(&mut self, index: u64, bytes: u64) {
        if self.sizes.back().is_some_and(|(last, _)| *last >= index) {
            // Applied again after a snapshot install moved the log: start over.
            self.sizes.clear();
        }
        self.sizes.push_back((index, bytes));
    }

    /// A snapshot replaced the log up to its index.
    pub(super) fn clear(&mut self) {
        self.sizes.clear();
    }

    /// The first index to keep when compacting behind a snapshot at `applied`: the last
    /// `keep_entries` entries, fewer if they add up to more than `keep_bytes` (at least
    /// 1, at most `applied + 1`). Forgets the sizes of the entries it lets go.
    pub(super) fn compact_to(&mut self, applied: u64, keep_entries: u64, keep_bytes: u64) -> u64 {
        let by_entries = (applied + 1).saturating_sub(keep_entries).max(1);
        let mut by_bytes = 1;
        let mut total = 0u64;
        for &(index, bytes) in self.sizes.iter().rev() {
            if index > applied {
                continue;
            }
            total = total.saturating_add(bytes);
            if total > keep_bytes {
                by_bytes = index + 1;
                break;
            }
        }
        let to = by_entries.max(by_bytes).min(applied + 1);
        while self.sizes.front().is_some_and(|(index, _)| *index < to) {
            self.sizes.pop_front();
        }
        to
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_entries_unless_they_are_too_many_bytes() {
        let mut sizes = LogSizes::default();
        for index in 1..=100 {
            sizes.record(index, 10);
        }
        // 30 entries of 10 bytes fit in 1,000 bytes: the entry count decides.
        assert_eq!(sizes.compact_to(100, 30, 1_000), 71);
        for index in 101..=200 {
            sizes.record(index, 10);
        }
        // 250 bytes hold 25 entries: the bytes decide.
        assert_eq!(sizes.compact_to(200, 30, 250), 176);
        // A short log is not compacted below index 1, nor past the applied index + 1.
        let mut short = LogSizes::default();
        short.record(1, 5);
        assert_eq!(short.compact_to(1, 30, 1_000), 1);
        assert_eq!(short.compact_to(1, 0, 1_000), 2);
        // One entry larger than the byte budget goes too.
        let mut big = LogSizes::default();
        big.record(1, 5);
        big.record(2, 5_000);
        assert_eq!(big.compact_to(2, 30, 1_000), 3);
    }
}
