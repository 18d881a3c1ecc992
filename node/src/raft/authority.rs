//! Who may send which Raft message: only voters lead.
//!
//! raft-rs 0.7 follows any sender of a higher-term `MsgAppend`, `MsgHeartbeat` or
//! `MsgSnapshot`, and obeys `MsgTimeoutNow`, whatever that sender's place in the
//! configuration. In a classroom every student's laptop holds a learner node's key, so
//! a student could depose the leader, make voters append entries the student invented,
//! or install a state of their own. [`may_send`] is the rule the replica applies before
//! anything else: a message that bears leadership (appends, heartbeats, snapshots, vote
//! and pre-vote requests, timeout-now, leadership transfer) is taken only from a current
//! voter; from anyone else, only what a learner legitimately sends: its answers to a
//! leader's appends and heartbeats.
//!
//! What this cannot know: a node that was offline while a learner was promoted still
//! counts it as a learner, so it refuses that new voter's leadership until it hears of
//! the promotion from a leader it already knows (the promoted voter is indistinguishable
//! from any other learner to it).

use raft::eraftpb::MessageType;

/// Whether a peer that is a voter (`from_voter`, either side of a joint configuration:
/// `Driver::is_voter`) or not may send a message of `kind`.
pub fn may_send(kind: MessageType, from_voter: bool) -> bool {
    from_voter
        || matches!(
            kind,
            MessageType::MsgAppendResponse | MessageType::MsgHeartbeatResponse
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_may_only_answer() {
        use MessageType::*;
        let leading = [
            MsgAppend,
            MsgHeartbeat,
            MsgSnapshot,
            MsgRequestVote,
            MsgRequestPreVote,
            MsgTimeoutNow,
            MsgTransferLeader,
            MsgRequestVoteResponse,
            MsgRequestPreVoteResponse,
            MsgReadIndex,
            MsgReadIndexResp,
        ];
        for kind in leading {
            assert!(!may_send(kind, false), "{kind:?} from a learner");
            assert!(may_send(kind, true), "{kind:?} from a voter");
        }
        for kind in [MsgAppendResponse, MsgHeartbeatResponse] {
            assert!(may_send(kind, false), "{kind:?} from a learner");
        }
    }
}
