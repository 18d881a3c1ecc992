//! Each refused shape: raft-rs panics on it unguarded (now, or on the `Ready`s and ticks
//! that follow), the driver refuses it and goes on, and the honest message next to it is
//! taken. Then a property: random peer messages never panic a driver in any role.

use std::panic::{AssertUnwindSafe, catch_unwind};

use proptest::prelude::*;
use raft::StateRole;
use raft::eraftpb::{ConfState, Entry, Message, MessageType, Snapshot, SnapshotMetadata};
use raft::storage::MemStorage;

use super::{GuardError, LIMIT};
use crate::raft::driver::{Driver, DriverConfig, DriverError};
use crate::raft::wire::WireMessage;

const ME: u64 = 1;
const PEER: u64 = 2;
const OTHER: u64 = 3;
const ELECTION_TICKS: usize = 10;

type TestDriver = Driver<MemStorage>;

fn driver(voters: &[u64]) -> TestDriver {
    let config = DriverConfig {
        id: ME,
        election_ticks: ELECTION_TICKS,
        heartbeat_ticks: 3,
        fixed_election_ticks: Some(ELECTION_TICKS),
        applied: 0,
        max_size_per_msg: 1 << 20,
        max_inflight_msgs: 256,
    };
    let store = MemStorage::new_with_conf_state(ConfState::from((voters.to_vec(), Vec::new())));
    Driver::new(&config, store).unwrap()
}

/// The replica's Ready loop, over a `MemStorage`: persist, send, advance, apply.
fn settle(d: &mut TestDriver) {
    while let Some(work) = d.poll_ready().unwrap() {
        let mut applied = work.snapshot.as_ref().map(|s| s.get_metadata().index);
        {
            let core = &mut d.store_mut().wl();
            if let Some(snapshot) = work.snapshot {
                core.apply_snapshot(snapshot).unwrap();
            }
            core.append(&work.entries).unwrap();
            if let Some(hs) = work.hard_state {
                core.set_hardstate(hs);
            }
        }
        applied = work.committed.last().map(|e| e.index).or(applied);
        let light = d.handle_persisted().unwrap();
        if let Some(commit) = light.commit {
            d.store_mut().wl().mut_hard_state().commit = commit;
        }
        applied = light.committed.last().map(|e| e.index).or(applied);
        if let Some(index) = applied {
            d.handle_applied(index);
        }
    }
}

/// Ticks past an election timeout and then some, settling after each tick.
fn tick_on(d: &mut TestDriver) {
    for _ in 0..3 * ELECTION_TICKS {
        d.handle_tick();
        settle(d);
    }
}

fn msg(msg_type: MessageType, from: u64, term: u64) -> Message {
    Message {
        msg_type,
        from,
        to: ME,
        term,
        ..Message::default()
    }
}

/// Normal entries from `first` on, one per term.
fn entries(first: u64, terms: &[u64]) -> Vec<Entry> {
    (first..)
        .zip(terms)
        .map(|(index, &term)| Entry {
            index,
            term,
            data: b"tx".to_vec().into(),
            ..Entry::default()
        })
        .collect()
}

fn append(term: u64, index: u64, log_term: u64, ents: Vec<Entry>, commit: u64) -> Message {
    Message {
        index,
        log_term,
        entries: ents.into(),
        commit,
        ..msg(MessageType::MsgAppend, PEER, term)
    }
}

fn heartbeat(term: u64, commit: u64) -> Message {
    Message {
        commit,
        ..msg(MessageType::MsgHeartbeat, PEER, term)
    }
}

fn snapshot(term: u64, index: u64, snap_term: u64, conf: ConfState) -> Message {
    let metadata = SnapshotMetadata {
        index,
        term: snap_term,
        conf_state: Some(conf).into(),
        ..SnapshotMetadata::default()
    };
    let snap = Snapshot {
        data: b"state".to_vec().into(),
        metadata: Some(metadata).into(),
        ..Snapshot::default()
    };
    Message {
        snapshot: Some(snap).into(),
        ..msg(MessageType::MsgSnapshot, PEER, term)
    }
}

fn voters(ids: &[u64]) -> ConfState {
    ConfState::from((ids.to_vec(), Vec::new()))
}

fn granted(msg_type: MessageType, from: u64, term: u64) -> Message {
    msg(msg_type, from, term)
}

fn read_index(term: u64, ctx: Option<&[u8]>) -> Message {
    let ents = ctx.map_or_else(Vec::new, |c| {
        vec![Entry {
            data: c.to_vec().into(),
            ..Entry::default()
        }]
    });
    Message {
        entries: ents.into(),
        ..msg(MessageType::MsgReadIndex, OTHER, term)
    }
}

// --- Roles ----------------------------------------------------------------------------

/// A new voter of {1, 2, 3}: term 0, empty log.
fn fresh() -> TestDriver {
    driver(&[ME, PEER, OTHER])
}

/// Following node 2 at term 2; entries 1..=5 of terms 1, 1, 2, 2, 2, up to 3 committed.
fn follower() -> TestDriver {
    let mut d = fresh();
    d.handle_message(append(2, 0, 0, entries(1, &[1, 1, 2, 2, 2]), 3))
        .unwrap();
    settle(&mut d);
    assert_eq!(
        (d.role(), d.term(), d.commit_index()),
        (StateRole::Follower, 2, 3)
    );
    d
}

/// [`follower`], then a snapshot of index 10 at term 3 from node 2: the log is empty after
/// it, with the commit index at its first index - 1.
fn snapshotted() -> TestDriver {
    let mut d = follower();
    d.handle_message(snapshot(3, 10, 3, voters(&[ME, PEER, OTHER])))
        .unwrap();
    settle(&mut d);
    assert_eq!((d.commit_index(), d.last_index()), (10, 10));
    d
}

fn pre_candidate() -> TestDriver {
    let mut d = follower();
    d.campaign().unwrap();
    settle(&mut d);
    assert_eq!(d.role(), StateRole::PreCandidate);
    d
}

/// A candidate at term 3, its log persisted and its vote requests out.
fn candidate() -> TestDriver {
    let mut d = pre_candidate();
    d.handle_message(granted(MessageType::MsgRequestPreVoteResponse, PEER, 3))
        .unwrap();
    settle(&mut d);
    assert_eq!((d.role(), d.term()), (StateRole::Candidate, 3));
    d
}

/// The leader at term 3, its own empty entry (index 6) committed.
fn leader() -> TestDriver {
    let mut d = candidate();
    d.handle_message(granted(MessageType::MsgRequestVoteResponse, PEER, 3))
        .unwrap();
    settle(&mut d);
    let mut ack = msg(MessageType::MsgAppendResponse, PEER, 3);
    ack.index = 6;
    d.handle_message(ack).unwrap();
    settle(&mut d);
    assert_eq!((d.role(), d.commit_index()), (StateRole::Leader, 6));
    d
}

// --- Checks ---------------------------------------------------------------------------

/// raft-rs, stepping `steps` into `setup()` unguarded and running on, panics.
fn panics_unguarded(setup: fn() -> TestDriver, steps: &[Message]) -> bool {
    let mut d = setup();
    let steps = steps.to_vec();
    catch_unwind(AssertUnwindSafe(move || {
        for m in steps {
            let _ = d.step_unguarded(m);
        }
        settle(&mut d);
        tick_on(&mut d);
    }))
    .is_err()
}

/// The driver takes `before` and refuses `bad` as `expected`, then runs on.
fn refused(setup: fn() -> TestDriver, before: &[Message], bad: Message) -> GuardError {
    let mut d = setup();
    for m in before {
        d.handle_message(m.clone()).unwrap();
    }
    let err = match d.handle_message(bad) {
        Err(DriverError::Refused(err)) => err,
        other => panic!("not refused by the guard: {other:?}"),
    };
    settle(&mut d);
    tick_on(&mut d);
    err
}

/// The driver takes `steps` and runs on.
fn taken(setup: fn() -> TestDriver, steps: &[Message]) -> TestDriver {
    let mut d = setup();
    for m in steps {
        d.handle_message(m.clone()).unwrap();
    }
    settle(&mut d);
    d
}

/// All three at once for a refused `bad` after `before`.
fn guarded(setup: fn() -> TestDriver, before: &[Message], bad: Message) -> GuardError {
    let mut all = before.to_vec();
    all.push(bad.clone());
    assert!(panics_unguarded(setup, &all), "raft-rs takes {bad:?}");
    refused(setup, before, bad)
}

#[test]
fn messages_without_a_term_are_refused() {
    let no_term = |t| GuardError::NoTerm { msg_type: t };
    // A granted vote would be answered with term 0.
    let vote = msg(MessageType::MsgRequestVote, PEER, 0);
    assert_eq!(
        guarded(fresh, &[], vote),
        no_term(MessageType::MsgRequestVote)
    );
    // A candidate asserts the term of an append it follows.
    let hb = heartbeat(0, 0);
    assert_eq!(
        guarded(candidate, &[], hb),
        no_term(MessageType::MsgHeartbeat)
    );
    // A read index response commits where the term "matches": 0 beyond the log.
    let mut resp = msg(MessageType::MsgReadIndexResp, PEER, 0);
    resp.index = 9;
    resp.entries = entries(0, &[0]).into();
    assert_eq!(
        guarded(follower, &[], resp),
        no_term(MessageType::MsgReadIndexResp)
    );
    // The honest ones: with terms; and a read index, which has none.
    taken(fresh, &[msg(MessageType::MsgRequestVote, PEER, 1)]);
    taken(candidate, &[heartbeat(3, 3)]);
    taken(leader, &[read_index(0, Some(b"ctx"))]);
}

#[test]
fn terms_and_indexes_beyond_the_limit_are_refused() {
    // A follower at term u64::MAX overflows its term when it campaigns.
    assert_eq!(
        guarded(follower, &[], heartbeat(u64::MAX, 3)),
        GuardError::OutOfRange {
            field: "term",
            value: u64::MAX
        }
    );
    // The unstable log's offset is the snapshot's index + 1.
    let snap = snapshot(3, u64::MAX, 3, voters(&[ME, PEER, OTHER]));
    assert!(matches!(
        guarded(follower, &[], snap),
        GuardError::OutOfRange {
            field: "snapshot index",
            ..
        }
    ));
    // An acknowledgement's index + 1 becomes the next index.
    let mut ack = msg(MessageType::MsgAppendResponse, PEER, 3);
    ack.index = u64::MAX;
    assert!(matches!(
        guarded(leader, &[], ack),
        GuardError::OutOfRange { field: "index", .. }
    ));
    taken(follower, &[heartbeat(LIMIT - 1, 3)]);
}

#[test]
fn appends_conflicting_with_committed_entries_are_refused() {
    // raft-rs answers an append below its commit index without looking at the entries,
    // so only entries that do not follow `index` (which the wire layer refuses) can
    // reach a committed one: entry 2 is committed with term 1.
    let bad = append(3, 3, 2, entries(2, &[2]), 3);
    assert!(Message::try_from(WireMessage::from(bad.clone())).is_err());
    assert_eq!(
        guarded(follower, &[], bad),
        GuardError::ConflictsWithCommitted {
            index: 2,
            term: 2,
            committed: 3
        }
    );
    taken(follower, &[append(3, 1, 1, entries(2, &[2]), 3)]);
    // Replacing the uncommitted entries from 4 on is what a new leader does.
    let d = taken(follower, &[append(3, 3, 2, entries(4, &[3, 3]), 5)]);
    assert_eq!((d.last_index(), d.commit_index()), (5, 5));
}

#[test]
fn appends_that_would_leave_a_gap_are_refused() {
    // Entry 6 of term 0 "matches" beyond the log, so entry 7 would be appended after 5.
    let bad = append(2, 5, 2, entries(6, &[0, 2]), 0);
    assert_eq!(
        guarded(follower, &[], bad),
        GuardError::AppendGap {
            index: 7,
            last_index: 5
        }
    );
    let d = taken(follower, &[append(2, 5, 2, entries(6, &[2, 2]), 7)]);
    assert_eq!((d.last_index(), d.commit_index()), (7, 7));
}

#[test]
fn commits_beyond_the_log_are_refused() {
    let beyond = |msg_type| GuardError::CommitBeyondLog {
        msg_type,
        commit: 9,
        last_index: 5,
    };
    assert_eq!(
        guarded(follower, &[], heartbeat(2, 9)),
        beyond(MessageType::MsgHeartbeat)
    );
    // Log term 0 "matches" at an index beyond the log.
    assert_eq!(
        guarded(follower, &[], append(2, 9, 0, Vec::new(), 9)),
        beyond(MessageType::MsgAppend)
    );
    // So does a snapshot of term 0, which then fast-forwards the commit index.
    let snap = snapshot(2, 9, 0, voters(&[ME, PEER, OTHER]));
    assert_eq!(
        guarded(follower, &[], snap),
        beyond(MessageType::MsgSnapshot)
    );
    // A heartbeat's commit is at most what we have; an append commits what it brings.
    let d = taken(follower, &[heartbeat(2, 5)]);
    assert_eq!(d.commit_index(), 5);
    let d = taken(follower, &[append(2, 5, 2, entries(6, &[2]), 9)]);
    assert_eq!(d.commit_index(), 6);
}

#[test]
fn snapshots_whose_conf_state_does_not_restore_are_refused() {
    let unrestorable = |cs: ConfState| {
        let err = guarded(follower, &[], snapshot(3, 10, 3, cs));
        assert!(
            matches!(err, GuardError::UnrestorableConfState { .. }),
            "{err}"
        );
    };
    // A voter that is also a learner: adding it as a learner removes the only voter.
    unrestorable(ConfState {
        voters: vec![ME],
        learners: vec![ME],
        ..ConfState::default()
    });
    // auto_leave outside a joint configuration.
    unrestorable(ConfState {
        voters: vec![ME, PEER],
        auto_leave: true,
        ..ConfState::default()
    });
    // A staged learner that is no outgoing voter.
    unrestorable(ConfState {
        voters: vec![ME],
        voters_outgoing: vec![ME, PEER],
        learners_next: vec![OTHER],
        ..ConfState::default()
    });
    // Node 0 is skipped by the changer, so the configuration comes back without it.
    unrestorable(voters(&[ME, 0]));
    // What raft-rs builds restores, joint ones included; a snapshot leaving us out is
    // ignored by raft-rs itself.
    let joint = ConfState {
        voters: vec![ME, PEER],
        voters_outgoing: vec![ME, PEER, OTHER],
        learners_next: vec![OTHER],
        auto_leave: true,
        ..ConfState::default()
    };
    for cs in [voters(&[ME, PEER, OTHER]), joint, voters(&[PEER, OTHER])] {
        taken(follower, &[snapshot(3, 10, 3, cs)]);
    }
}

#[test]
fn snapshots_of_index_zero_are_refused() {
    let snap = snapshot(1, 0, 1, voters(&[ME, PEER, OTHER]));
    assert_eq!(guarded(fresh, &[], snap), GuardError::SnapshotAtZero);
    // The default (empty) snapshot matches the empty log's term 0 there: ignored.
    taken(fresh, &[snapshot(1, 0, 0, voters(&[ME, PEER, OTHER]))]);
}

#[test]
fn snapshots_conflicting_with_the_committed_entry_are_refused() {
    // The log starts after index 10 now: the store cannot install another snapshot there.
    let snap = snapshot(3, 10, 2, voters(&[ME, PEER, OTHER]));
    assert_eq!(
        guarded(snapshotted, &[], snap),
        GuardError::SnapshotConflictsWithCommitted { index: 10, term: 2 }
    );
    // The same snapshot again, or a later one, is fine.
    taken(
        snapshotted,
        &[snapshot(3, 10, 3, voters(&[ME, PEER, OTHER]))],
    );
    let d = taken(
        snapshotted,
        &[snapshot(3, 12, 3, voters(&[ME, PEER, OTHER]))],
    );
    assert_eq!(d.last_index(), 12);
}

#[test]
fn messages_a_follower_would_forward_with_a_term_are_refused() {
    let mut transfer = msg(MessageType::MsgTransferLeader, OTHER, 2);
    assert_eq!(
        guarded(follower, &[], transfer.clone()),
        GuardError::ForwardWithTerm {
            msg_type: MessageType::MsgTransferLeader
        }
    );
    assert_eq!(
        guarded(follower, &[], read_index(2, Some(b"ctx"))),
        GuardError::ForwardWithTerm {
            msg_type: MessageType::MsgReadIndex
        }
    );
    // A read index travels without a term; a transfer goes to the leader.
    taken(follower, &[read_index(0, Some(b"ctx"))]);
    transfer.term = 3;
    taken(leader, &[transfer]);
}

#[test]
fn read_index_requests_without_entries_are_refused() {
    assert_eq!(
        guarded(leader, &[], read_index(0, None)),
        GuardError::EmptyReadIndex
    );
    taken(leader, &[read_index(0, Some(b"ctx"))]);
}

#[test]
fn pre_votes_refused_at_term_zero_are_refused() {
    let mut pre_vote = msg(MessageType::MsgRequestPreVote, PEER, 1);
    pre_vote.priority = -1;
    assert_eq!(
        guarded(fresh, &[], pre_vote.clone()),
        GuardError::PreVoteRefusedAtTermZero
    );
    pre_vote.priority = 0;
    taken(fresh, &[pre_vote]);
}

#[test]
fn votes_before_the_log_is_persisted_are_refused() {
    // Entry 6 arrives, not yet persisted, and the leader hands over to us at once.
    let before = [
        append(2, 5, 2, entries(6, &[2]), 3),
        msg(MessageType::MsgTimeoutNow, PEER, 2),
    ];
    let vote = granted(MessageType::MsgRequestVoteResponse, OTHER, 3);
    assert_eq!(
        guarded(follower, &before, vote.clone()),
        GuardError::VoteBeforePersist {
            persisted: 5,
            last_index: 6
        }
    );
    // Once persisted, the same vote elects us.
    let mut d = taken(follower, &before);
    assert_eq!(d.role(), StateRole::Candidate);
    d.handle_message(vote).unwrap();
    settle(&mut d);
    assert_eq!(d.role(), StateRole::Leader);
}

#[test]
fn a_hand_over_before_the_log_is_persisted_is_refused_to_a_lone_voter() {
    fn lone() -> TestDriver {
        driver(&[ME])
    }
    let before = [append(1, 0, 0, entries(1, &[1]), 0)];
    let timeout = msg(MessageType::MsgTimeoutNow, PEER, 1);
    assert_eq!(
        guarded(lone, &before, timeout.clone()),
        GuardError::TimeoutNowBeforePersist {
            persisted: 0,
            last_index: 1
        }
    );
    let mut d = taken(lone, &before);
    d.handle_message(timeout).unwrap();
    settle(&mut d);
    assert_eq!(d.role(), StateRole::Leader);
}

#[test]
fn nothing_is_stepped_while_a_ready_is_handled() {
    let mut d = fresh();
    d.campaign().unwrap();
    let _work = d.poll_ready().unwrap().unwrap();
    assert!(matches!(
        d.handle_message(heartbeat(1, 0)),
        Err(DriverError::StepDuringReady)
    ));
    d.handle_persisted().unwrap();
    d.handle_message(heartbeat(1, 0)).unwrap();
}

// --- Random messages ------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Role {
    Lone,
    Fresh,
    Follower,
    Snapshotted,
    PreCandidate,
    Candidate,
    Leader,
}

fn setup(role: Role) -> TestDriver {
    match role {
        Role::Lone => driver(&[ME]),
        Role::Fresh => fresh(),
        Role::Follower => follower(),
        Role::Snapshotted => snapshotted(),
        Role::PreCandidate => pre_candidate(),
        Role::Candidate => candidate(),
        Role::Leader => leader(),
    }
}

/// A number near one of the driver's own (its term, last or commit index), or a fixed one.
#[derive(Clone, Copy, Debug)]
enum Num {
    Near(i8),
    Fixed(u64),
}

impl Num {
    fn at(self, base: u64) -> u64 {
        match self {
            Num::Near(delta) => base.saturating_add_signed(i64::from(delta)),
            Num::Fixed(value) => value,
        }
    }
}

fn num() -> impl Strategy<Value = Num> {
    prop_oneof![
        4 => Just(Num::Near(0)),
        4 => prop::sample::select(vec![-1, 1]).prop_map(Num::Near),
        2 => (-3i8..=3).prop_map(Num::Near),
        2 => Just(Num::Fixed(0)),
        1 => prop::sample::select(vec![1, LIMIT - 1, LIMIT, u64::MAX - 1, u64::MAX])
            .prop_map(Num::Fixed),
    ]
}

/// A message's log term: often the term our log has at the message's index, so that
/// appends match.
#[derive(Clone, Copy, Debug)]
enum LogTerm {
    Ours,
    Other(Num),
}

fn log_term() -> impl Strategy<Value = LogTerm> {
    prop_oneof![Just(LogTerm::Ours), num().prop_map(LogTerm::Other)]
}

/// Node ids around ours, 0 (which raft-rs skips) included.
fn conf_state() -> impl Strategy<Value = ConfState> {
    let ids = |max: usize| prop::collection::vec(0..5u64, 0..max);
    let random = (ids(4), ids(3), ids(3), ids(2), any::<bool>()).prop_map(
        |(voters, learners, voters_outgoing, learners_next, auto_leave)| ConfState {
            voters,
            learners,
            voters_outgoing,
            learners_next,
            auto_leave,
            ..ConfState::default()
        },
    );
    prop_oneof![Just(voters(&[ME, PEER, OTHER])), random]
}

const REMOTE_TYPES: [MessageType; 13] = [
    MessageType::MsgAppend,
    MessageType::MsgAppendResponse,
    MessageType::MsgRequestVote,
    MessageType::MsgRequestVoteResponse,
    MessageType::MsgRequestPreVote,
    MessageType::MsgRequestPreVoteResponse,
    MessageType::MsgSnapshot,
    MessageType::MsgHeartbeat,
    MessageType::MsgHeartbeatResponse,
    MessageType::MsgTransferLeader,
    MessageType::MsgTimeoutNow,
    MessageType::MsgReadIndex,
    MessageType::MsgReadIndexResp,
];

/// A message, with its numbers relative to the state of the driver it is sent to and its
/// type picked from the few a case focuses on (so that sequences of related messages are
/// likely).
#[derive(Clone, Debug)]
struct Shape {
    msg_type: prop::sample::Index,
    from: u64,
    term: Num,
    log_term: LogTerm,
    index: Num,
    commit: Num,
    commit_term: Num,
    entry_terms: Vec<Num>,
    reject: bool,
    reject_hint: Num,
    request_snapshot: Option<Num>,
    snapshot: Option<(Num, Num, ConfState)>,
    context: Vec<u8>,
    priority: i64,
    /// Ticks, then whether to run the Ready loop, after stepping it.
    ticks: u8,
    settle: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    let head = (
        any::<prop::sample::Index>(),
        prop::sample::select(vec![PEER, OTHER]),
        num(),
        log_term(),
        num(),
        num(),
        num(),
        prop::collection::vec(num(), 0..4),
    );
    let tail = (
        any::<bool>(),
        num(),
        prop::option::weighted(0.1, num()),
        prop::option::of((num(), num(), conf_state())),
        prop::collection::vec(any::<u8>(), 0..3),
        -2i64..=2,
        0..3u8,
        any::<bool>(),
    );
    (head, tail).prop_map(
        |(
            (msg_type, from, term, log_term, index, commit, commit_term, entry_terms),
            (reject, reject_hint, request_snapshot, snapshot, context, priority, ticks, settle),
        )| Shape {
            msg_type,
            from,
            term,
            log_term,
            index,
            commit,
            commit_term,
            entry_terms,
            reject,
            reject_hint,
            request_snapshot,
            snapshot,
            context,
            priority,
            ticks,
            settle,
        },
    )
}

impl Shape {
    /// The message for `d`'s current state, through the wire form as a peer's would come:
    /// `None` if the wire layer already refuses it.
    fn message(&self, d: &TestDriver, types: &[MessageType]) -> Option<Message> {
        let (term, last, commit) = (d.term(), d.last_index(), d.commit_index());
        let index = self.index.at(last);
        let ents: Vec<Entry> = (1..)
            .zip(&self.entry_terms)
            .map(|(i, t)| Entry {
                index: index.wrapping_add(i),
                term: t.at(term),
                data: vec![i as u8].into(),
                ..Entry::default()
            })
            .collect();
        let snapshot = self.snapshot.as_ref().map(|(i, t, cs)| Snapshot {
            data: b"state".to_vec().into(),
            metadata: Some(SnapshotMetadata {
                index: i.at(commit),
                term: t.at(term),
                conf_state: Some(cs.clone()).into(),
                ..SnapshotMetadata::default()
            })
            .into(),
            ..Snapshot::default()
        });
        let m = Message {
            msg_type: *self.msg_type.get(types),
            to: ME,
            from: self.from,
            term: self.term.at(term),
            log_term: match self.log_term {
                LogTerm::Ours => d.raft().raft_log.term(index).unwrap_or(0),
                LogTerm::Other(n) => n.at(term),
            },
            index,
            entries: ents.into(),
            commit: self.commit.at(commit),
            commit_term: self.commit_term.at(term),
            snapshot: snapshot.into(),
            request_snapshot: self.request_snapshot.map_or(0, |n| n.at(commit)),
            reject: self.reject,
            reject_hint: self.reject_hint.at(last),
            context: self.context.clone().into(),
            priority: self.priority,
            ..Message::default()
        };
        Message::try_from(WireMessage::from(m)).ok()
    }
}

/// Steps `shapes` into a driver in `role`, running on as a replica would; the panic, if
/// any, with the messages that led to it.
fn run(role: Role, types: &[MessageType], shapes: &[Shape]) -> Result<(), String> {
    let mut d = setup(role);
    let mut sent = Vec::new();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for s in shapes {
            let Some(m) = s.message(&d, types) else {
                continue;
            };
            sent.push(m.clone());
            let _ = d.handle_message(m);
            for _ in 0..s.ticks {
                d.handle_tick();
            }
            if s.settle {
                settle(&mut d);
            }
        }
        settle(&mut d);
        tick_on(&mut d);
    }));
    outcome.map_err(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("{role:?} panicked ({what}) after {sent:#?}")
    })
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![
        Role::Lone,
        Role::Fresh,
        Role::Follower,
        Role::Snapshotted,
        Role::PreCandidate,
        Role::Candidate,
        Role::Leader,
    ])
}

proptest! {
    #[test]
    fn random_peer_messages_never_panic(
        role in role(),
        types in prop::collection::vec(prop::sample::select(REMOTE_TYPES.to_vec()), 1..4),
        shapes in prop::collection::vec(shape(), 1..6),
    ) {
        if let Err(report) = run(role, &types, &shapes) {
            prop_assert!(false, "{}", report);
        }
    }
}
