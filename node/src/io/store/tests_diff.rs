//! Differential test: random operations on both `Store` and raft-rs' `MemStorage`, which
//! must then answer every `Storage` read alike, error kinds included, except where the
//! module docs say they differ on purpose.

use proptest::prelude::*;
use raft::prelude::{ConfState, Entry, HardState};
use raft::storage::MemStorage;
use raft::{Error, GetEntriesContext, NO_LIMIT, Storage, StorageError};

use super::tests::snapshot;
use super::{Store, StoreError, WriteSet};

#[derive(Debug, Clone)]
enum Op {
    /// Append `len` entries of `term` at an index picked by `at` in `[first, last + 1]`.
    Append {
        at: u64,
        term: u64,
        sizes: Vec<usize>,
    },
    /// An append with a gap, or into the compacted part: refused.
    BadAppend {
        gap: bool,
    },
    HardState {
        term: u64,
        vote: u64,
        commit: u64,
    },
    Commit(u64),
    ConfState(Vec<u64>),
    /// Compact to an index picked by `at`, keeping at least one entry (`MemStorage` moves
    /// its first index back when compaction empties the log); the store first makes its
    /// own snapshot at an index picked by `snap`, if needed.
    Compact {
        at: u64,
        snap: u64,
    },
    /// A compaction past the latest snapshot: refused.
    CompactPastSnapshot,
    /// Install a leader's snapshot at an index picked by `at` in `[first - 2, last + 3]`.
    Install {
        at: u64,
        term: u64,
        voters: Vec<u64>,
        data: Vec<u8>,
    },
    /// Drop the store and open it again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (any::<u64>(), 1..5u64, prop::collection::vec(0..80usize, 1..6))
            .prop_map(|(at, term, sizes)| Op::Append { at, term, sizes }),
        1 => any::<bool>().prop_map(|gap| Op::BadAppend { gap }),
        2 => (0..6u64, 0..4u64, 0..40u64)
            .prop_map(|(term, vote, commit)| Op::HardState { term, vote, commit }),
        1 => (0..40u64).prop_map(Op::Commit),
        1 => prop::collection::vec(1..6u64, 1..4).prop_map(Op::ConfState),
        3 => (any::<u64>(), any::<u64>()).prop_map(|(at, snap)| Op::Compact { at, snap }),
        1 => Just(Op::CompactPastSnapshot),
        2 => (
            any::<u64>(),
            1..8u64,
            prop::collection::vec(1..6u64, 1..4),
            prop::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(at, term, voters, data)| Op::Install { at, term, voters, data }),
        1 => Just(Op::Reopen),
    ]
}

fn sized_entry(index: u64, term: u64, size: usize) -> Entry {
    Entry {
        index,
        term,
        data: vec![index as u8; size].into(),
        ..Entry::default()
    }
}

fn write(w: WriteSet) -> WriteSet {
    WriteSet {
        durable: false,
        ..w
    }
}

fn initial() -> ConfState {
    ConfState::from((vec![1, 2, 3], Vec::<u64>::new()))
}

/// Applies `op` to both; `trunc` is the test's own record of the index and term just
/// before the first index.
fn apply(op: Op, mem: &MemStorage, store: &mut Store, trunc: &mut (u64, u64)) {
    let (first, last) = (mem.first_index().unwrap(), mem.last_index().unwrap());
    let latest = store.latest_snapshot().map(|s| s.get_metadata().index);
    match op {
        Op::Append { at, term, sizes } => {
            let start = first + at % (last + 2 - first);
            let ents: Vec<Entry> = (start..)
                .zip(&sizes)
                .map(|(i, &size)| sized_entry(i, term, size))
                .collect();
            mem.wl().append(&ents).unwrap();
            store
                .commit(write(WriteSet {
                    entries: ents,
                    ..WriteSet::default()
                }))
                .unwrap();
        }
        Op::BadAppend { gap } => {
            let start = if gap { last + 2 } else { first - 1 };
            if start == 0 {
                return;
            }
            let w = WriteSet {
                entries: vec![sized_entry(start, 1, 1)],
                ..WriteSet::default()
            };
            match store.commit(write(w)).unwrap_err() {
                StoreError::LogGap { index, last_index } if gap => {
                    assert_eq!((index, last_index), (start, last))
                }
                StoreError::AppendCompacted { index, first_index } if !gap => {
                    assert_eq!((index, first_index), (start, first))
                }
                other => panic!("{other:?}"),
            }
        }
        Op::HardState { term, vote, commit } => {
            let hs = HardState {
                term,
                vote,
                commit,
                ..HardState::default()
            };
            mem.wl().set_hardstate(hs.clone());
            store
                .commit(write(WriteSet {
                    hard_state: Some(hs),
                    ..WriteSet::default()
                }))
                .unwrap();
        }
        Op::Commit(commit) => {
            mem.wl().mut_hard_state().commit = commit;
            store
                .commit(write(WriteSet {
                    commit: Some(commit),
                    ..WriteSet::default()
                }))
                .unwrap();
        }
        Op::ConfState(voters) => {
            let cs = ConfState::from((voters, Vec::<u64>::new()));
            mem.wl().set_conf_state(cs.clone());
            store
                .commit(write(WriteSet {
                    conf_state: Some(cs),
                    ..WriteSet::default()
                }))
                .unwrap();
        }
        Op::Compact { at, snap } => {
            if last <= first {
                return;
            }
            let to = first + 1 + at % (last - first);
            let mut w = WriteSet {
                compact_to: Some(to),
                ..WriteSet::default()
            };
            if latest.is_none_or(|s| s + 1 < to) {
                let index = to - 1 + snap % (last - to + 2);
                let term = mem.term(index).unwrap();
                w.own_snapshot = Some(snapshot(index, term, &initial(), vec![7; 10]));
            }
            *trunc = (to - 1, mem.term(to - 1).unwrap());
            mem.wl().compact(to).unwrap();
            store.commit(write(w)).unwrap();
        }
        Op::CompactPastSnapshot => {
            let to = latest.map_or(first + 1, |s| s + 2).max(first + 1);
            let w = WriteSet {
                compact_to: Some(to),
                ..WriteSet::default()
            };
            match store.commit(write(w)).unwrap_err() {
                StoreError::CompactPastSnapshot { .. } if to <= last + 1 => {}
                StoreError::CompactBeyondLog { .. } if to > last + 1 => {}
                other => panic!("{other:?}"),
            }
        }
        Op::Install {
            at,
            term,
            voters,
            data,
        } => {
            let index = (first + at % (last + 6 - first)).saturating_sub(2);
            let cs = ConfState::from((voters, Vec::<u64>::new()));
            let snap = snapshot(index, term, &cs, data);
            let m = mem.wl().apply_snapshot(snap.clone());
            let s = store.commit(write(WriteSet {
                install_snapshot: Some(snap),
                ..WriteSet::default()
            }));
            if index < first {
                assert_eq!(m, Err(Error::Store(StorageError::SnapshotOutOfDate)));
                assert!(
                    matches!(s, Err(StoreError::SnapshotOutOfDate { .. })),
                    "{s:?}"
                );
            } else {
                m.unwrap();
                s.unwrap();
                *trunc = (index, term);
            }
        }
        Op::Reopen => unreachable!("the caller reopens"),
    }
}

fn compare(mem: &MemStorage, store: &Store, trunc: (u64, u64)) {
    let (m, s) = (mem.initial_state().unwrap(), store.initial_state().unwrap());
    assert_eq!(m.hard_state, s.hard_state);
    assert_eq!(m.conf_state, s.conf_state);
    let (first, last) = (mem.first_index().unwrap(), mem.last_index().unwrap());
    assert_eq!(
        (store.first_index().unwrap(), store.last_index().unwrap()),
        (first, last)
    );
    assert_eq!(trunc.0, first - 1);

    for i in 0..last + 3 {
        let (tm, ts) = (mem.term(i), store.term(i));
        if i + 1 == first {
            // Kept by the store; MemStorage forgets it unless it is its snapshot's.
            assert_eq!(ts, Ok(trunc.1), "term({i})");
            if tm.is_ok() {
                assert_eq!(tm, ts, "term({i})");
            } else {
                assert_eq!(tm, Err(Error::Store(StorageError::Compacted)), "term({i})");
            }
        } else if i + 1 < first && tm.is_ok() {
            // MemStorage still answers for its installed snapshot, which the store
            // replaced with a later one of its own and compacted past.
            assert_eq!(ts, Err(Error::Store(StorageError::Compacted)), "term({i})");
        } else {
            assert_eq!(tm, ts, "term({i})");
        }
    }

    let ctx = || GetEntriesContext::empty(false);
    for lo in first..=last + 1 {
        let mut his = vec![lo, lo + 1, (lo + last).div_ceil(2), last + 1];
        his.retain(|&hi| hi <= last + 1);
        his.dedup();
        for hi in his {
            for max in [None, Some(0), Some(40), Some(120), Some(NO_LIMIT)] {
                let s = store.entries(lo, hi, max, ctx());
                if last >= first {
                    assert_eq!(
                        mem.entries(lo, hi, max, ctx()),
                        s,
                        "entries({lo}, {hi}, {max:?})"
                    );
                } else {
                    // MemStorage panics reading an empty log.
                    assert_eq!(s, Ok(vec![]));
                }
            }
        }
    }
    if first > 1 {
        let m = mem.entries(first - 1, last + 1, None, ctx());
        assert_eq!(m, Err(Error::Store(StorageError::Compacted)));
        assert_eq!(store.entries(first - 1, last + 1, None, ctx()), m);
    }
    // MemStorage panics here.
    assert_eq!(
        store.entries(first, last + 2, None, ctx()),
        Err(Error::Store(StorageError::Unavailable))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn store_answers_like_mem_storage(ops in prop::collection::vec(op(), 1..50)) {
        let dir = tempfile::tempdir().unwrap();
        let mem = MemStorage::new_with_conf_state(initial());
        let mut store = Store::open(dir.path(), initial()).unwrap();
        let mut trunc = (0, 0);
        compare(&mem, &store, trunc);
        for op in ops {
            if let Op::Reopen = op {
                let before = store.latest_snapshot().cloned();
                drop(store);
                store = Store::open(dir.path(), ConfState::from((vec![9], Vec::<u64>::new()))).unwrap();
                prop_assert_eq!(store.latest_snapshot().cloned(), before);
            } else {
                apply(op, &mem, &mut store, &mut trunc);
            }
            compare(&mem, &store, trunc);
        }
    }
}
