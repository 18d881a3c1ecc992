//! The last check on a peer's Raft message before raft-rs steps it: refuses the messages
//! on which raft-rs 0.7 would panic (`assert!`, `panic!`, `unwrap`, slog's `fatal!`, or an
//! integer overflow in a debug build), now or on a later step, tick or `Ready`.
//!
//! Peers are authenticated, and [`super::wire`] already refuses some shapes (empty
//! proposals, non-contiguous or overflowing appends, unknown types); [`Driver`] refuses
//! local-only types and `MsgPropose`. What is left is a buggy or compromised voter sending
//! a well-formed message that an honest raft-rs never sends. Such a message must not stop
//! the node: [`check_remote`] names it and the driver drops it.
//!
//! Every check is the narrowest condition that prevents its panic, computed from the same
//! state raft-rs reads (most of them re-run raft-rs's own decision on that state), and
//! each says why an honest raft-rs 0.7 peer never trips it, in normal operation, across
//! leader changes, after restarts and during snapshot catch-up. Refusing such a message
//! therefore costs no liveness.
//!
//! # The panics a peer's message can reach in raft-rs 0.7, and the checks
//!
//! "Reaches the follower path" below means raft-rs hands the message to a follower: its
//! term is above ours (we become a follower first), or equal and we do not lead.
//!
//! | Message | Panic in raft-rs | Precondition | Check |
//! |---|---|---|---|
//! | any but `MsgReadIndex`, term 0 | many (below) | term 0 skips raft-rs's term checks (`Raft::step`: "local message") | [`GuardError::NoTerm`] |
//! | `MsgRequestVote`/`PreVote`, term 0 | `RaftCore::send`: `fatal!` "term should be set" | the vote is granted (answered with the message's term, 0) | `NoTerm` |
//! | `MsgAppend`/`Heartbeat`/`Snapshot`, term 0, to a candidate | `step_candidate`: `debug_assert_eq!(self.term, m.term)` | we are a (pre-)candidate | `NoTerm` |
//! | `MsgReadIndexResp`, term 0 | `RaftLog::commit_to`: `fatal!` "to_commit out of range" | index beyond our log (`maybe_commit(index, 0)`: beyond the log the term is 0) | `NoTerm` |
//! | `MsgRequestVoteResponse`, term 0 | `become_leader`: `assert_eq!(last_index, persisted)` | the forged vote wins | `NoTerm` |
//! | any, term or index near `u64::MAX` | overflow: `Unstable::restore` (`index + 1`), `Progress::maybe_update`/`maybe_decr_to` (`n + 1`), later `campaign`/`become_candidate` (`term + 1`; in release the term wraps to 0 and `send` `fatal!`s) | a field ≥ [`LIMIT`] | [`GuardError::OutOfRange`] |
//! | `MsgAppend` | `RaftLog::maybe_append`: `fatal!` "entry ... conflict with committed entry" | `(index, log_term)` matches our log and an entry at or below our commit index has another term | [`GuardError::ConflictsWithCommitted`] |
//! | `MsgAppend` | `Unstable::must_check_outofbounds`: `fatal!` "unstable.slice ... out of bound" | the first mismatching entry is past `last_index + 1`: entries of term 0 beyond our log "match" (`RaftLog::term` is 0 there) | [`GuardError::AppendGap`] |
//! | `MsgAppend` | `RaftLog::commit_to`: `fatal!` "to_commit ... is out of range" | `min(commit, index + len)` beyond our log after the append: `log_term` 0 with `index` beyond our log "matches" | [`GuardError::CommitBeyondLog`] |
//! | `MsgHeartbeat` | `RaftLog::commit_to` (same) | reaches the follower path with `commit` beyond our last index | `CommitBeyondLog` |
//! | `MsgSnapshot` | `RaftLog::commit_to` (same) | the fast-forward branch of `Raft::restore` (snapshot term matches, term 0 beyond our log) with the index beyond our log | `CommitBeyondLog` |
//! | `MsgSnapshot` | `Raft::restore`: `fatal!` "unable to restore config" / "invalid restore" | the snapshot is restored and its `ConfState` is not one raft-rs can rebuild | [`GuardError::UnrestorableConfState`] |
//! | `MsgSnapshot` | `Raft::restore`: `pr.next_idx - 1` overflows | restored at index 0 (our commit index is 0) | [`GuardError::SnapshotAtZero`] |
//! | `MsgSnapshot` | none in raft-rs: the store refuses to install it below its first index and the replica stops | restored at our commit index with another term than our committed entry | [`GuardError::SnapshotConflictsWithCommitted`] |
//! | `MsgTransferLeader`, `MsgReadIndex` | `RaftCore::send`: `fatal!` "term should not be set" | a follower that knows the leader forwards the message as is, with its non-zero term | [`GuardError::ForwardWithTerm`] |
//! | `MsgReadIndex` | `step_leader`/`ReadOnly::add_request`: `m.entries[0]` | no entries, at a leader | [`GuardError::EmptyReadIndex`] |
//! | `MsgRequestPreVote` | `RaftCore::send`: `fatal!` "term should be set" | our term is 0 and raft-rs refuses the pre-vote (answered with our term, 0) | [`GuardError::PreVoteRefusedAtTermZero`] |
//! | `MsgRequestVoteResponse` | `become_leader`: `assert_eq!(last_index, persisted)`; then `RawNode::ready`: `assert_eq!(record.last_entry, None)` | the vote wins the election while our log has entries not yet persisted | [`GuardError::VoteBeforePersist`] |
//! | `MsgTimeoutNow` | `become_leader` (same) | our own vote wins the election (a configuration of one) and our log has entries not yet persisted | [`GuardError::TimeoutNowBeforePersist`] |
//!
//! Nothing else a peer sends reaches a panic. In particular `MsgAppendResponse`,
//! `MsgHeartbeatResponse` and the vote responses only move the leader's view of that peer
//! (an acknowledgement beyond our log makes raft-rs send that peer a probe it will refuse,
//! no more; `Error::StepPeerNotFound` drops responses from non-members), `MsgReadIndexResp`
//! with a term commits only an index whose term matches (so inside the log), and the
//! request-snapshot path (`request_snapshot`) asks our store, which answers
//! `SnapshotTemporarilyUnavailable` rather than anything raft-rs `fatal!`s on. The
//! remaining `fatal!`s in the step path (`term(...) must be valid`, `unexpected error`,
//! `commit_info`, `hup`'s slice) depend on the storage answering for its own range, which
//! ours does, not on the message.
//!
//! Not covered here, because raft-rs accepts them without panicking and the damage is
//! elsewhere: a snapshot whose data the ledger cannot restore is refused by the replica
//! before raft-rs sees it (`Replica::check_snapshot`), and a committed membership change
//! raft-rs's `Changer` refuses makes the replica return an error.
//!
//! [`Driver`]: super::driver::Driver

use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfState, Message, MessageType};
use raft::{Changer, INVALID_ID, INVALID_INDEX, ProgressTracker, Raft, StateRole, Storage};

/// No honest term or index reaches 2^62: terms grow by one per election, indexes by one
/// per entry (a million entries a second for 146,000 years). Below it, raft-rs's `+ 1`s
/// cannot overflow, and indexes stay under the store's own limit (`i64::MAX`).
pub const LIMIT: u64 = 1 << 62;

/// A peer's message that raft-rs would panic on (now or later), in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Only `MsgPropose` and `MsgReadIndex` travel without a term (`RaftCore::send` sets
    /// every other type's to the sender's, which is never 0 for a message: a node at term
    /// 0 answers only pre-votes, with the candidate's term).
    #[error("{msg_type:?} without a term")]
    NoTerm { msg_type: MessageType },
    #[error("{field} {value} is not below {LIMIT}, which no honest log reaches")]
    OutOfRange { field: &'static str, value: u64 },
    /// Committed entries are the same in every log (Log Matching and Leader Completeness),
    /// so an honest leader never sends another term for one.
    #[error(
        "MsgAppend entry {index} has term {term}, but our entry there is committed \
         (commit index {committed}) with another term"
    )]
    ConflictsWithCommitted {
        index: u64,
        term: u64,
        committed: u64,
    },
    /// Only entries of term 0 beyond our log can make the first mismatch land past the
    /// next index; an honest leader stamps every entry with its term (`Raft::append_entry`),
    /// never 0.
    #[error("MsgAppend entries would start at index {index}, past our last index {last_index}")]
    AppendGap { index: u64, last_index: u64 },
    /// An honest leader's append commits `min(commit, index + len)` only once the log
    /// matches up to `index` (`match_term` with a term of at least 1: inside the log), and
    /// its heartbeats carry `min(our matched index, its commit)` (`send_heartbeat`); we
    /// acknowledged `matched` only after persisting it, and our log shrinks below it only
    /// by a snapshot, which is at or above it.
    #[error("{msg_type:?} would commit index {commit}, beyond our last index {last_index}")]
    CommitBeyondLog {
        msg_type: MessageType,
        commit: u64,
        last_index: u64,
    },
    /// An honest snapshot's `ConfState` is its leader's configuration
    /// (`ProgressTracker::to_conf_state` of a configuration raft-rs built), which restores.
    #[error("the snapshot's ConfState cannot be restored: {reason}")]
    UnrestorableConfState { reason: String },
    /// raft-rs never sends a snapshot of index 0 (`prepare_send_snapshot`: "need non-empty
    /// snapshot").
    #[error("a snapshot of index 0 would be restored")]
    SnapshotAtZero,
    /// A snapshot at our commit index is of our committed entry, so an honest one has its
    /// term (and is taken by raft-rs's fast-forward branch, not restored).
    #[error("a snapshot at our commit index {index} has term {term}, not our committed entry's")]
    SnapshotConflictsWithCommitted { index: u64, term: u64 },
    /// Followers forward these to the leader they know, which is not us at our own term:
    /// a follower at our term that knows a leader is not that leader (one leader a term).
    #[error("{msg_type:?} at our term would be forwarded to our leader with its term set")]
    ForwardWithTerm { msg_type: MessageType },
    /// `RawNode::read_index` always sends exactly one entry, the request's context.
    #[error("MsgReadIndex without entries")]
    EmptyReadIndex,
    /// At term 0 our log is empty (every entry and snapshot comes with a term of at least
    /// 1, which we adopt), so an honest pre-vote (priority 0, as QRaft configures raft-rs)
    /// is always up to date and granted.
    #[error("a pre-vote refused at term 0 would be answered with term 0")]
    PreVoteRefusedAtTermZero,
    /// Our vote requests go out only after the `Ready` that made them is persisted (they
    /// are `persisted_messages`), with the whole log, and a candidate's log does not change
    /// (appends and snapshots make it a follower first).
    #[error(
        "a vote granted before our log is persisted (persisted {persisted}, last index \
         {last_index}) would make us leader"
    )]
    VoteBeforePersist { persisted: u64, last_index: u64 },
    /// A leader hands over (`MsgTimeoutNow`) only once we have acknowledged, after
    /// persisting, its whole log, and it appends nothing while handing over (proposals are
    /// dropped while `lead_transferee` is set), so our log is persisted.
    #[error(
        "MsgTimeoutNow would make us leader alone before our log is persisted (persisted \
         {persisted}, last index {last_index})"
    )]
    TimeoutNowBeforePersist { persisted: u64, last_index: u64 },
}

/// Refuses `message`, from a peer, if stepping it into `raft` would panic. `raft` is the
/// state raft-rs would step it with. Local-only types and `MsgPropose` are the caller's to
/// refuse ([`super::driver::Driver::handle_message`] does).
pub fn check_remote<S: Storage>(message: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    check_term(message)?;
    check_ranges(message)?;
    match message.get_msg_type() {
        MessageType::MsgAppend => check_append(message, raft),
        MessageType::MsgHeartbeat => check_heartbeat(message, raft),
        MessageType::MsgSnapshot => check_snapshot(message, raft),
        MessageType::MsgRequestPreVote => check_pre_vote(message, raft),
        MessageType::MsgRequestVoteResponse => check_vote_response(message, raft),
        MessageType::MsgTimeoutNow => check_timeout_now(message, raft),
        MessageType::MsgTransferLeader => check_forward(message, raft),
        MessageType::MsgReadIndex => {
            if message.entries.is_empty() {
                return Err(GuardError::EmptyReadIndex);
            }
            check_forward(message, raft)
        }
        _ => Ok(()),
    }
}

fn check_term(m: &Message) -> Result<(), GuardError> {
    let msg_type = m.get_msg_type();
    if m.term == 0
        && !matches!(
            msg_type,
            MessageType::MsgReadIndex | MessageType::MsgPropose
        )
    {
        return Err(GuardError::NoTerm { msg_type });
    }
    Ok(())
}

/// Every term and index field, entries' and snapshot's included, below [`LIMIT`].
fn check_ranges(m: &Message) -> Result<(), GuardError> {
    let meta = m.snapshot.as_ref().map(|s| s.get_metadata());
    let fields = [
        ("term", m.term),
        ("log term", m.log_term),
        ("index", m.index),
        ("commit", m.commit),
        ("commit term", m.commit_term),
        ("reject hint", m.reject_hint),
        ("request snapshot", m.request_snapshot),
        ("snapshot index", meta.map_or(0, |md| md.index)),
        ("snapshot term", meta.map_or(0, |md| md.term)),
    ];
    let entries = m
        .entries
        .iter()
        .flat_map(|e| [("entry index", e.index), ("entry term", e.term)]);
    match fields
        .into_iter()
        .chain(entries)
        .find(|&(_, value)| value >= LIMIT)
    {
        Some((field, value)) => Err(GuardError::OutOfRange { field, value }),
        None => Ok(()),
    }
}

/// Whether raft-rs handles `m` (an append, heartbeat or snapshot) as a follower: a higher
/// term makes us one first (`Raft::step`), a candidate at our term becomes one
/// (`step_candidate`), a leader ignores its own term's.
fn reaches_follower<S: Storage>(m: &Message, raft: &Raft<S>) -> bool {
    m.term > raft.term || (m.term == raft.term && raft.state != StateRole::Leader)
}

/// `RaftLog::commit_to(to_commit)` with `last_index` the log's last index by then: a no-op
/// at or below the commit index, `fatal!` beyond the log.
fn check_commit(
    msg_type: MessageType,
    to_commit: u64,
    committed: u64,
    last_index: u64,
) -> Result<(), GuardError> {
    if to_commit > committed && to_commit > last_index {
        return Err(GuardError::CommitBeyondLog {
            msg_type,
            commit: to_commit,
            last_index,
        });
    }
    Ok(())
}

/// `Raft::handle_append_entries` and `RaftLog::maybe_append`, replayed on our log.
fn check_append<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    let log = &raft.raft_log;
    // A pending snapshot request answers instead; an index below the commit index is
    // answered with it; a mismatch is refused: none appends or commits.
    if !reaches_follower(m, raft)
        || raft.pending_request_snapshot != INVALID_INDEX
        || m.index < log.committed
        || !log.match_term(m.index, m.log_term)
    {
        return Ok(());
    }
    let last_index = log.last_index();
    // The wire layer checked the entries run `index + 1, index + 2, ...` without overflow.
    let last_new = m.index + m.entries.len() as u64;
    let last_after = match m.entries.iter().find(|e| !log.match_term(e.index, e.term)) {
        None => last_index,
        Some(e) if e.index <= log.committed => {
            return Err(GuardError::ConflictsWithCommitted {
                index: e.index,
                term: e.term,
                committed: log.committed,
            });
        }
        Some(e) if e.index > last_index + 1 => {
            return Err(GuardError::AppendGap {
                index: e.index,
                last_index,
            });
        }
        // Truncated at the conflict, then appended up to the last entry.
        Some(_) => last_new,
    };
    check_commit(
        MessageType::MsgAppend,
        m.commit.min(last_new),
        log.committed,
        last_after,
    )
}

/// `Raft::handle_heartbeat` commits to the message's commit index first thing.
fn check_heartbeat<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    if !reaches_follower(m, raft) {
        return Ok(());
    }
    let log = &raft.raft_log;
    check_commit(
        MessageType::MsgHeartbeat,
        m.commit,
        log.committed,
        log.last_index(),
    )
}

/// `Raft::restore`, replayed: which branch the snapshot takes, and whether it restores.
fn check_snapshot<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    // raft-rs reads an absent snapshot or metadata as the defaults, as here.
    let meta = m.get_snapshot().get_metadata();
    let cs = meta.get_conf_state();
    let log = &raft.raft_log;
    // An old snapshot, or one whose configuration leaves us out, is ignored.
    if !reaches_follower(m, raft) || meta.index < log.committed || !names(cs, raft.id) {
        return Ok(());
    }
    let matches = log.match_term(meta.index, meta.term);
    if raft.pending_request_snapshot == INVALID_INDEX && matches {
        // Fast-forward: only the commit index moves, to the snapshot's.
        return check_commit(
            MessageType::MsgSnapshot,
            meta.index,
            log.committed,
            log.last_index(),
        );
    }
    if meta.index == 0 {
        return Err(GuardError::SnapshotAtZero);
    }
    if meta.index == log.committed && !matches {
        return Err(GuardError::SnapshotConflictsWithCommitted {
            index: meta.index,
            term: meta.term,
        });
    }
    restore_conf(cs).map_err(|reason| GuardError::UnrestorableConfState { reason })
}

/// Whether `cs` names `id`, as `Raft::restore` asks (`learners_next` is left out there
/// too: a staged learner must also be an outgoing voter).
fn names(cs: &ConfState, id: u64) -> bool {
    cs.voters
        .iter()
        .chain(&cs.learners)
        .chain(&cs.voters_outgoing)
        .any(|&v| v == id)
}

/// `confchange::restore` (private in raft-rs) on an empty tracker, then the comparison
/// `Raft::restore` makes: the same changes through the same public `Changer`.
fn restore_conf(cs: &ConfState) -> Result<(), String> {
    let single = |node_id: u64, change_type: ConfChangeType| {
        let mut c = ConfChangeSingle {
            node_id,
            ..ConfChangeSingle::default()
        };
        c.set_change_type(change_type);
        c
    };
    let outgoing: Vec<ConfChangeSingle> = cs
        .voters_outgoing
        .iter()
        .map(|&id| single(id, ConfChangeType::AddNode))
        .collect();
    let incoming: Vec<ConfChangeSingle> = cs
        .voters_outgoing
        .iter()
        .map(|&id| single(id, ConfChangeType::RemoveNode))
        .chain(
            cs.voters
                .iter()
                .map(|&id| single(id, ConfChangeType::AddNode)),
        )
        .chain(
            cs.learners
                .iter()
                .map(|&id| single(id, ConfChangeType::AddLearnerNode)),
        )
        .chain(
            cs.learners_next
                .iter()
                .map(|&id| single(id, ConfChangeType::AddLearnerNode)),
        )
        .collect();
    let mut tracker = ProgressTracker::new(1);
    let simple = |tracker: &mut ProgressTracker, cc: &ConfChangeSingle| {
        let (cfg, changes) = Changer::new(tracker)
            .simple(std::slice::from_ref(cc))
            .map_err(|e| e.to_string())?;
        tracker.apply_conf(cfg, changes, 1);
        Ok::<(), String>(())
    };
    if outgoing.is_empty() {
        for cc in &incoming {
            simple(&mut tracker, cc)?;
        }
    } else {
        for cc in &outgoing {
            simple(&mut tracker, cc)?;
        }
        let (cfg, changes) = Changer::new(&tracker)
            .enter_joint(cs.auto_leave, &incoming)
            .map_err(|e| e.to_string())?;
        tracker.apply_conf(cfg, changes, 1);
    }
    let restored = tracker.conf().to_conf_state();
    if !same_conf(cs, &restored) {
        return Err(format!("it restores as {restored:?}"));
    }
    Ok(())
}

/// `raft_proto::conf_state_eq`: the same sets, in any order.
fn same_conf(a: &ConfState, b: &ConfState) -> bool {
    let same =
        |x: &[u64], y: &[u64]| x.iter().all(|v| y.contains(v)) && y.iter().all(|v| x.contains(v));
    same(&a.voters, &b.voters)
        && same(&a.learners, &b.learners)
        && same(&a.voters_outgoing, &b.voters_outgoing)
        && same(&a.learners_next, &b.learners_next)
        && a.auto_leave == b.auto_leave
}

/// `Raft::step` grants a pre-vote for a later term unless the candidate's log is behind
/// ours, or no longer and of lower priority; a refusal carries our term.
fn check_pre_vote<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    // At term 0 there is no leader (every message naming one has a term, which we adopt),
    // so no lease keeps raft-rs from answering.
    if raft.term != 0 {
        return Ok(());
    }
    let log = &raft.raft_log;
    let granted = log.is_up_to_date(m.index, m.log_term)
        && (m.index > log.last_index() || raft.priority <= priority(m));
    if !granted {
        return Err(GuardError::PreVoteRefusedAtTermZero);
    }
    Ok(())
}

/// raft-rs's `get_priority`.
fn priority(m: &Message) -> i64 {
    if m.priority != 0 {
        m.priority
    } else {
        i64::try_from(m.deprecated_priority).unwrap_or(i64::MAX)
    }
}

/// A granted vote at our term is counted by a candidate (`step_candidate` → `poll`), and
/// may make it leader, which asserts that the whole log is persisted.
fn check_vote_response<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    let log = &raft.raft_log;
    if m.reject || raft.state != StateRole::Candidate || m.term != raft.term {
        return Ok(());
    }
    if log.persisted < log.last_index() {
        return Err(GuardError::VoteBeforePersist {
            persisted: log.persisted,
            last_index: log.last_index(),
        });
    }
    Ok(())
}

/// A promotable follower campaigns at once on `MsgTimeoutNow` (`step_follower` →
/// `hup(true)`), and wins at once when its own vote is a quorum.
fn check_timeout_now<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    let log = &raft.raft_log;
    let follows = m.term > raft.term || (m.term == raft.term && raft.state == StateRole::Follower);
    if !follows || !raft.promotable() || log.persisted >= log.last_index() {
        return Ok(());
    }
    if wins_alone(&raft.prs().conf().to_conf_state(), raft.id) {
        return Err(GuardError::TimeoutNowBeforePersist {
            persisted: log.persisted,
            last_index: log.last_index(),
        });
    }
    Ok(())
}

/// Whether `id`'s vote alone wins an election in `cs` (an empty majority wins by
/// convention, as in raft-rs's `MajorityConfig::vote_result`).
fn wins_alone(cs: &ConfState, id: u64) -> bool {
    let alone = |voters: &[u64]| voters.iter().all(|&v| v == id);
    alone(&cs.voters) && alone(&cs.voters_outgoing)
}

/// `step_follower` forwards `MsgTransferLeader` and `MsgReadIndex` to the leader it knows
/// through `RaftCore::send`, which `fatal!`s on a term already set (both are sent with
/// term 0 locally). A higher term makes us a follower without a leader (no forward), a
/// lower one is ignored.
fn check_forward<S: Storage>(m: &Message, raft: &Raft<S>) -> Result<(), GuardError> {
    if m.term != 0
        && m.term == raft.term
        && raft.state == StateRole::Follower
        && raft.leader_id != INVALID_ID
    {
        return Err(GuardError::ForwardWithTerm {
            msg_type: m.get_msg_type(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
