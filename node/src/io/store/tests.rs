//! Restart, refusals, corruption, raft-rs end to end, and a timing of durable commits.

use std::path::Path;
use std::time::{Duration, Instant};

use protobuf::Message as _;
use raft::prelude::{ConfState, Entry, HardState, Snapshot};
use raft::{Error, GetEntriesContext, RawNode, Storage, StorageError};

use super::codec::u64_key;
use super::{Store, StoreError, WriteSet};

pub(super) fn entry(index: u64, term: u64, data_len: usize) -> Entry {
    Entry {
        index,
        term,
        data: vec![(index % 251) as u8; data_len].into(),
        ..Entry::default()
    }
}

pub(super) fn entries(from: u64, to: u64, term: u64) -> Vec<Entry> {
    (from..=to).map(|i| entry(i, term, 16)).collect()
}

pub(super) fn snapshot(index: u64, term: u64, cs: &ConfState, data: Vec<u8>) -> Snapshot {
    let mut s = Snapshot::default();
    s.mut_metadata().index = index;
    s.mut_metadata().term = term;
    s.mut_metadata().set_conf_state(cs.clone());
    s.data = data.into();
    s
}

fn hard_state(term: u64, vote: u64, commit: u64) -> HardState {
    HardState {
        term,
        vote,
        commit,
        ..HardState::default()
    }
}

fn voters(v: &[u64]) -> ConfState {
    ConfState::from((v.to_vec(), Vec::<u64>::new()))
}

fn all_entries(s: &Store) -> Vec<Entry> {
    let (first, last) = (s.first_index().unwrap(), s.last_index().unwrap());
    s.entries(first, last + 1, None, GetEntriesContext::empty(false))
        .unwrap()
}

/// Everything observable, for comparing a store before and after a restart.
#[derive(Debug, PartialEq)]
struct Observed {
    first: u64,
    last: u64,
    terms: Vec<raft::Result<u64>>,
    entries: Vec<Entry>,
    hard_state: HardState,
    conf_state: ConfState,
    snapshot: Option<Snapshot>,
    blocks: Vec<(u64, Vec<u8>)>,
    last_block: Option<u64>,
    receipts: Vec<Option<Vec<u8>>>,
    meta: Vec<Option<Vec<u8>>>,
}

fn observe(s: &Store) -> Observed {
    let (first, last) = (s.first_index().unwrap(), s.last_index().unwrap());
    Observed {
        first,
        last,
        terms: (0..last + 3).map(|i| s.term(i)).collect(),
        entries: all_entries(s),
        hard_state: s.hard_state().clone(),
        conf_state: s.conf_state().clone(),
        snapshot: s.latest_snapshot().cloned(),
        blocks: s.blocks(0, u64::MAX).unwrap(),
        last_block: s.last_block_height().unwrap(),
        receipts: (0..4u8).map(|i| s.receipt(&[i; 32]).unwrap()).collect(),
        meta: ["applied", "node", "missing"]
            .iter()
            .map(|k| s.meta(k).unwrap())
            .collect(),
    }
}

#[test]
fn a_new_store_is_like_mem_storage_new_with_conf_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), voters(&[1, 2, 3])).unwrap();
    let mem = raft::storage::MemStorage::new_with_conf_state(voters(&[1, 2, 3]));
    assert_eq!(
        s.initial_state().unwrap().hard_state,
        mem.initial_state().unwrap().hard_state
    );
    assert_eq!(
        s.initial_state().unwrap().conf_state,
        mem.initial_state().unwrap().conf_state
    );
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (1, 0));
    assert_eq!(s.term(0), Ok(0));
    assert_eq!(s.term(1), Err(Error::Store(StorageError::Unavailable)));
    assert!(s.latest_snapshot().is_none());
    assert_eq!(
        s.snapshot(0, 2),
        Err(Error::Store(StorageError::SnapshotTemporarilyUnavailable))
    );
    assert_eq!(
        s.entries(1, 1, None, GetEntriesContext::empty(false)),
        Ok(vec![])
    );
    assert_eq!(s.last_block_height().unwrap(), None);
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let before = {
        let mut s = Store::open(dir.path(), voters(&[1, 2, 3])).unwrap();
        s.commit(WriteSet {
            entries: entries(1, 10, 1),
            hard_state: Some(hard_state(1, 1, 6)),
            blocks: vec![(1, b"block 1".to_vec()), (2, b"block 2".to_vec())],
            receipts: vec![([1; 32], b"r1".to_vec()), ([2; 32], b"r2".to_vec())],
            meta: vec![("node".into(), b"n1".to_vec()), ("applied".into(), vec![1])],
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        s.commit(WriteSet {
            conf_state: Some(voters(&[1, 2, 3, 4])),
            blocks: vec![(3, b"block 3".to_vec())],
            own_snapshot: Some(snapshot(6, 1, &voters(&[1, 2, 3, 4]), big.clone())),
            compact_to: Some(5),
            meta: vec![("applied".into(), vec![6]), ("applied".into(), vec![7])],
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        // A new leader overwrites the uncommitted tail 8..=10 with 8..=12.
        s.commit(WriteSet {
            entries: entries(8, 12, 2),
            hard_state: Some(hard_state(2, 3, 6)),
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        s.commit(WriteSet {
            commit: Some(9),
            receipts: vec![([3; 32], b"r3".to_vec())],
            durable: false,
            ..WriteSet::default()
        })
        .unwrap();
        let o = observe(&s);
        assert_eq!((o.first, o.last), (5, 12));
        assert_eq!(o.terms[4], Ok(1), "the term before the first index is kept");
        assert_eq!(o.terms[3], Err(Error::Store(StorageError::Compacted)));
        assert_eq!(
            o.entries.iter().map(|e| e.term).collect::<Vec<_>>(),
            [1, 1, 1, 2, 2, 2, 2, 2]
        );
        assert_eq!(o.hard_state, hard_state(2, 3, 9));
        assert_eq!(o.meta, [Some(vec![7]), Some(b"n1".to_vec()), None]);
        assert_eq!(o.snapshot.as_ref().unwrap().data.len(), big.len());
        o
    };
    let s = Store::open(dir.path(), voters(&[9])).unwrap();
    assert_eq!(observe(&s), before);
    assert_eq!(s.snapshot(6, 2).unwrap().data.as_ref(), &big[..]);
    assert_eq!(
        s.blocks(2, 3).unwrap(),
        [(2, b"block 2".to_vec()), (3, b"block 3".to_vec())]
    );
    assert_eq!(s.block(4).unwrap(), None);
    assert_eq!(
        s.snapshots.iter().count(),
        1,
        "only the latest snapshot is kept"
    );
}

#[test]
fn an_installed_snapshot_survives_a_restart_and_replaces_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let mut s = Store::open(dir.path(), voters(&[1, 2, 3])).unwrap();
        s.commit(WriteSet {
            entries: entries(1, 5, 1),
            hard_state: Some(hard_state(1, 1, 3)),
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        s.commit(WriteSet {
            own_snapshot: Some(snapshot(3, 1, &voters(&[1, 2, 3]), b"own".to_vec())),
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        // The leader's snapshot at 20, then its entries 21..=23, in one write.
        s.commit(WriteSet {
            install_snapshot: Some(snapshot(20, 4, &voters(&[1, 2, 3, 5]), b"leader".to_vec())),
            entries: entries(21, 23, 4),
            durable: true,
            ..WriteSet::default()
        })
        .unwrap();
        let o = observe(&s);
        assert_eq!((o.first, o.last), (21, 23));
        assert_eq!(o.terms[20], Ok(4));
        assert_eq!(o.hard_state, hard_state(4, 1, 20));
        assert_eq!(o.conf_state, voters(&[1, 2, 3, 5]));
        assert_eq!(o.snapshot.as_ref().unwrap().data.as_ref(), b"leader");
        o
    };
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    assert_eq!(observe(&s), before);
    assert_eq!(
        s.raft_log.iter().count(),
        3,
        "the old log is gone from disk"
    );
    assert_eq!(s.snapshots.iter().count(), 1);
}

#[test]
fn compacting_the_whole_log_keeps_the_first_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    s.commit(WriteSet {
        entries: entries(1, 8, 3),
        own_snapshot: Some(snapshot(8, 3, &voters(&[1]), vec![8])),
        compact_to: Some(9),
        durable: true,
        ..WriteSet::default()
    })
    .unwrap();
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (9, 8));
    assert_eq!(s.term(8), Ok(3));
    assert_eq!(
        s.entries(9, 9, None, GetEntriesContext::empty(false)),
        Ok(vec![])
    );
    drop(s);
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    assert_eq!((s.first_index().unwrap(), s.last_index().unwrap()), (9, 8));
    assert_eq!(s.term(8), Ok(3));
    assert_eq!(s.raft_log.iter().count(), 0);
}

#[test]
fn refused_writes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    s.commit(WriteSet {
        entries: entries(1, 10, 1),
        own_snapshot: Some(snapshot(4, 1, &voters(&[1]), vec![4])),
        compact_to: Some(3),
        durable: true,
        ..WriteSet::default()
    })
    .unwrap();
    let before = observe(&s);
    let refused = |s: &mut Store, w: WriteSet| {
        let err = s.commit(w).unwrap_err();
        assert_eq!(observe(s), before, "after {err}");
        err
    };
    // Every refused write also carries a block and a meta record, which must not land.
    let with = |w: WriteSet| WriteSet {
        blocks: vec![(1, b"b".to_vec())],
        meta: vec![("node".into(), b"x".to_vec())],
        durable: true,
        ..w
    };

    let e = refused(
        &mut s,
        with(WriteSet {
            compact_to: Some(6),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::CompactPastSnapshot {
                compact_to: 6,
                snapshot_index: Some(4)
            }
        ),
        "{e}"
    );
    let e = refused(
        &mut s,
        with(WriteSet {
            compact_to: Some(12),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::CompactBeyondLog {
                compact_to: 12,
                last_index: 10
            }
        ),
        "{e}"
    );
    let e = refused(
        &mut s,
        with(WriteSet {
            entries: entries(12, 13, 1),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::LogGap {
                index: 12,
                last_index: 10
            }
        ),
        "{e}"
    );
    let e = refused(
        &mut s,
        with(WriteSet {
            entries: entries(2, 3, 1),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::AppendCompacted {
                index: 2,
                first_index: 3
            }
        ),
        "{e}"
    );
    let mut holey = entries(11, 12, 1);
    holey.push(entry(14, 1, 1));
    let e = refused(
        &mut s,
        with(WriteSet {
            entries: holey,
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::NonContiguous {
                expected: 13,
                found: 14
            }
        ),
        "{e}"
    );
    let e = refused(
        &mut s,
        with(WriteSet {
            install_snapshot: Some(snapshot(2, 1, &voters(&[1]), vec![])),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::SnapshotOutOfDate {
                index: 2,
                first_index: 3
            }
        ),
        "{e}"
    );
    for (index, term) in [(3, 1), (6, 2), (11, 1), (0, 0)] {
        let own = Some(snapshot(index, term, &voters(&[1]), vec![]));
        let e = refused(
            &mut s,
            with(WriteSet {
                own_snapshot: own,
                ..WriteSet::default()
            }),
        );
        assert!(matches!(e, StoreError::BadOwnSnapshot { .. }), "{e}");
    }
    let e = refused(
        &mut s,
        WriteSet {
            meta: vec![(String::new(), vec![])],
            ..WriteSet::default()
        },
    );
    assert!(matches!(e, StoreError::Invalid(_)), "{e}");
    // A snapshot in the same write makes the same compaction fine.
    let e = refused(
        &mut s,
        with(WriteSet {
            own_snapshot: Some(snapshot(5, 1, &voters(&[1]), vec![])),
            compact_to: Some(7),
            ..WriteSet::default()
        }),
    );
    assert!(
        matches!(
            e,
            StoreError::CompactPastSnapshot {
                compact_to: 7,
                snapshot_index: Some(5)
            }
        ),
        "{e}"
    );
    s.commit(WriteSet {
        own_snapshot: Some(snapshot(6, 1, &voters(&[1]), vec![])),
        compact_to: Some(7),
        ..WriteSet::default()
    })
    .unwrap();
    assert_eq!(s.first_index().unwrap(), 7);

    drop(s);
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    assert_eq!(s.block(1).unwrap(), None);
    assert_eq!(s.meta("node").unwrap(), None);
    assert_eq!(s.first_index().unwrap(), 7);
}

/// Writes `value` at `key` of `keyspace` straight through fjall.
fn poke(dir: &Path, keyspace: &str, key: &[u8], value: &[u8]) {
    let db = fjall::Database::builder(dir).open().unwrap();
    let ks = db
        .keyspace(keyspace, fjall::KeyspaceCreateOptions::default)
        .unwrap();
    ks.insert(key, value).unwrap();
    db.persist(fjall::PersistMode::SyncAll).unwrap();
}

fn corrupt_store(keyspace: &str, key: &[u8], value: &[u8]) -> (tempfile::TempDir, StoreError) {
    let (dir, store) = poked_store(keyspace, key, value);
    (dir, store.unwrap_err())
}

/// A store of entries 2 to 4 (1 compacted behind a snapshot at 2), opened again after
/// `value` was written at `key` of `keyspace` behind its back.
fn poked_store(
    keyspace: &str,
    key: &[u8],
    value: &[u8],
) -> (tempfile::TempDir, Result<Store, StoreError>) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    s.commit(WriteSet {
        entries: entries(1, 4, 1),
        own_snapshot: Some(snapshot(2, 1, &voters(&[1]), vec![1, 2])),
        compact_to: Some(2),
        durable: true,
        ..WriteSet::default()
    })
    .unwrap();
    drop(s);
    poke(dir.path(), keyspace, key, value);
    let store = Store::open(dir.path(), voters(&[1]));
    (dir, store)
}

fn ctx() -> GetEntriesContext {
    GetEntriesContext::empty(false)
}

#[test]
fn corrupt_records_are_errors_naming_keyspace_and_key() {
    let garbage = [0xff, 0xff, 0xff, 0x07, 0x00];
    let cases: [(&str, &[u8], &[u8], &str); 11] = [
        ("raft_log", &u64_key(2), &garbage, "2"),
        ("raft_log", &u64_key(4), &garbage, "4"),
        (
            "raft_log",
            &u64_key(6),
            &entry(6, 1, 1).write_to_bytes().unwrap(),
            "6",
        ),
        (
            "raft_log",
            &u64_key(4),
            &entry(7, 1, 1).write_to_bytes().unwrap(),
            "4",
        ),
        ("raft_log", b"short", b"x", "\"short\""),
        ("raft_terms", &u64_key(3), b"xx", "3"),
        ("raft_terms", &u64_key(6), &2u64.to_be_bytes(), "6"),
        ("raft_state", b"hard_state", &garbage, "\"hard_state\""),
        ("raft_state", b"truncated", b"12345", "\"truncated\""),
        ("raft_state", b"format", b"qraft-store-99", "\"format\""),
        ("snapshots", &u64_key(2), &garbage, "2"),
    ];
    for (keyspace, key, value, named) in cases {
        let (_dir, err) = corrupt_store(keyspace, key, value);
        match &err {
            StoreError::Corrupt {
                keyspace: k,
                key: name,
                ..
            } => {
                assert_eq!((*k, name.as_str()), (keyspace, named), "{err}");
            }
            other => panic!("{keyspace}/{named}: expected Corrupt, got {other:?}"),
        }
    }
    // An entry between the first and the last is read only when raft-rs asks for it: a
    // bad one is an error naming it then.
    let bad_entries: [&[u8]; 2] = [&garbage, &entry(7, 1, 1).write_to_bytes().unwrap()];
    for value in bad_entries {
        let (_dir, store) = poked_store("raft_log", &u64_key(3), value);
        let store = store.unwrap();
        assert_eq!(store.entries(2, 3, None, ctx()).unwrap(), entries(2, 2, 1));
        let err = store.entries(2, 5, None, ctx()).unwrap_err().to_string();
        assert!(err.contains("`raft_log` at key 3"), "{err}");
        let err = store.entries(3, 4, Some(0), ctx()).unwrap_err().to_string();
        assert!(err.contains("`raft_log` at key 3"), "{err}");
    }
    // A stray key of the wrong length in `blocks` spoils only the reads that meet it.
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), voters(&[1])).unwrap());
    poke(dir.path(), "blocks", b"bad", b"x");
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    let err = s.blocks(0, u64::MAX).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                keyspace: "blocks",
                ..
            }
        ),
        "{err}"
    );
    let err = s.last_block_height().unwrap_err();
    assert!(err.to_string().contains("blocks"), "{err}");
}

#[test]
fn a_directory_with_raft_records_but_no_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    poke(dir.path(), "raft_log", &u64_key(1), b"x");
    let err = Store::open(dir.path(), voters(&[1])).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                keyspace: "raft_log",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_snapshot_is_the_latest_and_only_when_new_enough() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    s.commit(WriteSet {
        entries: entries(1, 9, 2),
        own_snapshot: Some(snapshot(5, 2, &voters(&[1]), b"five".to_vec())),
        ..WriteSet::default()
    })
    .unwrap();
    assert_eq!(s.snapshot(0, 2).unwrap().data.as_ref(), b"five");
    assert_eq!(s.snapshot(5, 2).unwrap().get_metadata().index, 5);
    assert_eq!(
        s.snapshot(6, 2),
        Err(Error::Store(StorageError::SnapshotTemporarilyUnavailable))
    );
    s.commit(WriteSet {
        own_snapshot: Some(snapshot(8, 2, &voters(&[1]), b"eight".to_vec())),
        ..WriteSet::default()
    })
    .unwrap();
    assert_eq!(s.snapshot(6, 2).unwrap().data.as_ref(), b"eight");
    assert_eq!(s.snapshots.iter().count(), 1);
}

fn logger() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

fn raft_config(applied: u64) -> raft::Config {
    raft::Config {
        id: 1,
        election_tick: 10,
        heartbeat_tick: 3,
        applied,
        ..raft::Config::default()
    }
}

/// The state machine of the raft-rs test: the data of the entries it applied.
#[derive(Default)]
struct Applied {
    index: u64,
    data: Vec<(u64, Vec<u8>)>,
}

/// The Ready loop of raft-rs' `five_mem_node`, for one node, persisting through `Store`.
fn drive(node: &mut RawNode<Store>, applied: &mut Applied) {
    let mut apply = |ents: Vec<Entry>| {
        for e in ents {
            assert_eq!(e.index, applied.index + 1);
            applied.index = e.index;
            if !e.data.is_empty() {
                applied.data.push((e.index, e.data.to_vec()));
            }
        }
    };
    while node.has_ready() {
        let mut rd = node.ready();
        assert!(rd.messages().is_empty());
        let mut w = WriteSet {
            durable: true,
            ..WriteSet::default()
        };
        if !rd.snapshot().is_empty() {
            w.install_snapshot = Some(rd.snapshot().clone());
        }
        apply(rd.take_committed_entries());
        w.entries = rd.take_entries();
        w.hard_state = rd.hs().cloned();
        node.mut_store().commit(w).unwrap();
        let mut light = node.advance(rd);
        if let Some(commit) = light.commit_index() {
            let w = WriteSet {
                commit: Some(commit),
                durable: true,
                ..WriteSet::default()
            };
            node.mut_store().commit(w).unwrap();
        }
        apply(light.take_committed_entries());
        node.advance_apply();
    }
}

#[test]
fn raft_rs_runs_on_the_store_across_compaction_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut applied = Applied::default();
    let snap_index = {
        let store = Store::open(dir.path(), voters(&[1])).unwrap();
        let mut node = RawNode::new(&raft_config(0), store, &logger()).unwrap();
        node.campaign().unwrap();
        drive(&mut node, &mut applied);
        for i in 0..20u32 {
            node.propose(vec![], i.to_be_bytes().to_vec()).unwrap();
        }
        drive(&mut node, &mut applied);
        assert_eq!(applied.data.len(), 20);
        // Snapshot everything applied and compact the whole log.
        let a = applied.index;
        let store = node.mut_store();
        assert_eq!(store.last_index().unwrap(), a);
        let term = store.term(a).unwrap();
        let data: Vec<u8> = applied.data.iter().flat_map(|(_, d)| d.clone()).collect();
        let cs = store.conf_state().clone();
        store
            .commit(WriteSet {
                own_snapshot: Some(snapshot(a, term, &cs, data)),
                compact_to: Some(a + 1),
                durable: true,
                ..WriteSet::default()
            })
            .unwrap();
        a
    };
    for round in 0..2u32 {
        // The first restart is from the snapshot alone, the second from the log after it.
        let store = Store::open(dir.path(), ConfState::default()).unwrap();
        assert_eq!(store.first_index().unwrap(), snap_index + 1);
        let mut node = RawNode::new(&raft_config(applied.index), store, &logger()).unwrap();
        node.campaign().unwrap();
        drive(&mut node, &mut applied);
        for i in 0..5u32 {
            node.propose(vec![], (100 * (round + 1) + i).to_be_bytes().to_vec())
                .unwrap();
        }
        drive(&mut node, &mut applied);
        let store = node.store();
        assert_eq!(store.hard_state().commit, store.last_index().unwrap());
        assert_eq!(applied.index, store.last_index().unwrap());
    }
    assert!(applied.data[20..].iter().all(|(i, _)| *i > snap_index));
    let values: Vec<u32> = applied
        .data
        .iter()
        .map(|(_, d)| u32::from_be_bytes(d[..].try_into().unwrap()))
        .collect();
    let expected: Vec<u32> = (0..20).chain(100..105).chain(200..205).collect();
    assert_eq!(values, expected);
}

/// `cargo test -p qraft-node --release --lib io::store::tests::durable_commit_timing -- --ignored --nocapture`
#[test]
#[ignore = "a timing, not a test: run it in release with --ignored --nocapture"]
fn durable_commit_timing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    let mut next = 1u64;
    let mut run = |n: u64, size: usize, reps: usize| {
        let mut times: Vec<Duration> = Vec::with_capacity(reps);
        for _ in 0..reps {
            let ents: Vec<Entry> = (next..next + n).map(|i| entry(i, 1, size)).collect();
            next += n;
            let w = WriteSet {
                entries: ents,
                hard_state: Some(hard_state(1, 1, next - 1)),
                durable: true,
                ..WriteSet::default()
            };
            let t = Instant::now();
            s.commit(w).unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / reps as u32;
        println!(
            "durable commit of {n:>4} entries x {size} B: median {:?}, mean {mean:?}, min {:?}, max {:?} ({reps} runs)",
            times[reps / 2],
            times[0],
            times[reps - 1],
        );
    };
    run(1, 200, 10); // warm up
    run(1, 200, 200);
    run(1000, 200, 50);
    run(100, 300_000, 5);
}

#[test]
fn a_store_of_the_format_before_raft_terms_gets_its_terms_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    let mut log = entries(1, 4, 1);
    log.extend(entries(5, 9, 3));
    s.commit(WriteSet {
        entries: log,
        own_snapshot: Some(snapshot(3, 1, &voters(&[1]), vec![3])),
        compact_to: Some(3),
        durable: true,
        ..WriteSet::default()
    })
    .unwrap();
    let before = observe(&s);
    drop(s);
    // The layout before `raft_terms`: no terms, the old format record.
    {
        let db = fjall::Database::builder(dir.path()).open().unwrap();
        let open = |name| {
            db.keyspace(name, fjall::KeyspaceCreateOptions::default)
                .unwrap()
        };
        let terms = open("raft_terms");
        for index in 1..=9 {
            terms.remove(u64_key(index)).unwrap();
        }
        open("raft_state")
            .insert("format", "qraft-store-1")
            .unwrap();
        db.persist(fjall::PersistMode::SyncAll).unwrap();
    }
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    assert_eq!(observe(&s), before);
    assert_eq!(s.term(5).unwrap(), 3);
    assert_eq!(s.term(2).unwrap(), 1, "the term before the first index");
    drop(s);
    // Written once: the store now opens in the current format.
    let db = fjall::Database::builder(dir.path()).open().unwrap();
    let state = db
        .keyspace("raft_state", fjall::KeyspaceCreateOptions::default)
        .unwrap();
    assert_eq!(&*state.get("format").unwrap().unwrap(), b"qraft-store-2");
}

#[test]
fn entries_are_read_from_disk_and_cut_to_the_size_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(dir.path(), voters(&[1])).unwrap();
    let big: Vec<Entry> = (1..=6).map(|i| entry(i, 1, 100_000)).collect();
    let size = u64::from(big[0].compute_size());
    s.commit(WriteSet {
        entries: big.clone(),
        durable: true,
        ..WriteSet::default()
    })
    .unwrap();
    drop(s);
    let s = Store::open(dir.path(), voters(&[1])).unwrap();
    assert_eq!(s.entries(1, 7, None, ctx()).unwrap(), big);
    assert_eq!(s.entries(2, 7, Some(2 * size), ctx()).unwrap(), big[1..3]);
    assert_eq!(
        s.entries(2, 7, Some(1), ctx()).unwrap(),
        big[1..2],
        "one at least"
    );
    assert_eq!(s.entries(4, 4, Some(1), ctx()).unwrap(), []);
}
