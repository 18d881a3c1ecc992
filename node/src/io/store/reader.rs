//! [`Reader`]: read-only access to the chain store (blocks and receipts) from outside the
//! node thread.
//!
//! fjall's keyspace handles are `Send + Sync + Clone`, and a block is written with its
//! receipts in one atomic batch when it is applied, so a reader sees whole blocks only.
//! fjall is synchronous: call a reader from `spawn_blocking` (or another plain thread),
//! never from an async task.
//!
//! A reader keeps the store's files open (and locked) while it lives: drop it when the
//! node stops, so the directory can be opened again.

use fjall::Keyspace;

use super::StoreError;
use super::codec::{BLOCKS, parse_u64_key, u64_key};

/// Reads blocks and receipts of a [`Store`](super::Store); cheap to clone.
#[derive(Clone)]
pub struct Reader {
    pub(super) blocks: Keyspace,
    pub(super) receipts: Keyspace,
}

impl Reader {
    /// The encoded block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.blocks.get(u64_key(height))?.map(|v| v.to_vec()))
    }

    /// Encoded blocks with height in `[from, to]`, in order, stopping once they add up to
    /// `max_bytes` or more (so at least one block if there is one, and at most one block
    /// past the budget).
    pub fn blocks(
        &self,
        from: u64,
        to: u64,
        max_bytes: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        let mut bytes = 0usize;
        for guard in self.blocks.range(u64_key(from)..=u64_key(to)) {
            if bytes >= max_bytes {
                break;
            }
            let (key, value) = guard.into_inner()?;
            bytes = bytes.saturating_add(value.len());
            out.push((parse_u64_key(BLOCKS, &key)?, value.to_vec()));
        }
        Ok(out)
    }

    /// The encoded receipt of the transaction with hash `tx_hash`.
    pub fn receipt(&self, tx_hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.receipts.get(tx_hash)?.map(|v| v.to_vec()))
    }
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Reader>();
};

#[cfg(test)]
mod tests {
    use raft::prelude::ConfState;

    use super::super::{Store, WriteSet};

    #[test]
    fn a_reader_sees_committed_blocks_and_receipts_within_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path(), ConfState::from((vec![1], vec![]))).unwrap();
        let reader = store.reader();
        assert_eq!(reader.block(1).unwrap(), None);
        store
            .commit(WriteSet {
                blocks: (1..=5).map(|h| (h, vec![h as u8; 100])).collect(),
                receipts: vec![([7; 32], b"receipt".to_vec())],
                ..WriteSet::default()
            })
            .unwrap();
        // A reader taken before the write sees it too.
        assert_eq!(reader.block(3).unwrap(), Some(vec![3; 100]));
        assert_eq!(reader.receipt(&[7; 32]).unwrap(), Some(b"receipt".to_vec()));
        assert_eq!(reader.receipt(&[8; 32]).unwrap(), None);

        let heights = |max_bytes| -> Vec<u64> {
            let blocks = reader.blocks(2, 9, max_bytes).unwrap();
            blocks.into_iter().map(|(h, _)| h).collect()
        };
        assert_eq!(heights(usize::MAX), [2, 3, 4, 5]);
        assert_eq!(heights(250), [2, 3, 4], "stops once the budget is reached");
        assert_eq!(heights(200), [2, 3]);
        assert_eq!(heights(1), [2], "at least one block");
        assert!(reader.blocks(4, 3, usize::MAX).unwrap().is_empty());
    }
}
