//! Raft messages in our own postcard form.
//!
//! raft-rs speaks protobuf (`eraftpb`), but Raft messages cross the network as postcard
//! frames of [`WireMessage`], a mirror of the `eraftpb` fields that raft-rs 0.7 uses, so no
//! protobuf parser ever reads bytes from the network. The sender turns each outgoing
//! `eraftpb::Message` into a [`WireMessage`] ([`From`], by value, so entry data moves rather
//! than copies) and [`encode`]s it; the receiver [`decode`]s the frame, which checks the
//! length limit first and never panics, and converts it back with [`TryFrom`], which also
//! rejects the shapes that would make raft-rs panic on step (see [`WireError`]).
//!
//! Message and entry types travel as one byte each, with codes equal to the protobuf enum
//! numbers; an unknown code is a decode error. Protobuf sub-messages that may be unset
//! (`Message::snapshot`, `Snapshot::metadata`, `SnapshotMetadata::conf_state`) are
//! `Option`s here, so the round trip `eraftpb -> wire -> eraftpb` is exact.
//!
//! Entry data is opaque to this module, except for membership changes, whose `data` raft-rs
//! fills with a protobuf-encoded `ConfChangeV2` that both raft-rs (a leader stepping a
//! forwarded proposal) and our apply path parse. Those are transcoded at this boundary: the
//! sender parses its own, locally produced protobuf and sends the postcard
//! [`WireConfChangeV2`] in the wire entry's `data`; the receiver decodes that strictly and
//! re-encodes it as protobuf, so protobuf only ever *encodes* bytes that came from a peer,
//! and the receiver's entry is byte for byte the sender's. v1 `EntryConfChange` entries,
//! which QRaft never proposes, are refused.
//!
//! Not carried: `Entry::sync_log` (deprecated and never read by raft-rs 0.7; it comes back
//! `false`) and protobuf unknown fields. The messages raft-rs builds have none, since no
//! protobuf is parsed on their way; a local `ConfChangeV2` with some would not transcode
//! exactly, so it is not sent (see [`WireEntry`]).

use ::raft::eraftpb::{
    ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Entry,
    EntryType, Message, MessageType, Snapshot, SnapshotMetadata,
};
use protobuf::Message as _;
use serde::{Deserialize, Serialize};

/// The most changes one membership-change entry may carry on the wire. QRaft proposes one
/// at a time; raft-rs's own auto-leave entry carries none.
pub const MAX_CONF_CHANGES: usize = 64;

/// Why a frame could not become an `eraftpb::Message`.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("raft frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("malformed raft frame: {0}")]
    Decode(#[from] postcard::Error),
    #[error("raft frame has {0} trailing bytes after the message")]
    TrailingBytes(usize),
    #[error("unknown raft message type {0}")]
    UnknownMessageType(u8),
    #[error("unknown raft entry type {0}")]
    UnknownEntryType(u8),
    /// raft-rs panics ("stepped empty MsgProp") when a leader steps a proposal without
    /// entries, and followers forward proposals to the leader unchecked.
    #[error("MsgPropose without entries")]
    EmptyProposal,
    /// raft-rs slices a MsgAppend's entries by index arithmetic, assuming they run
    /// `index + 1, index + 2, ...`, as its leaders always send them.
    #[error("MsgAppend entry {position} has index {found}, expected {expected}")]
    NonContiguousEntries {
        position: usize,
        expected: u64,
        found: u64,
    },
    #[error("MsgAppend at index {index} with {count} entries overflows the log index")]
    IndexOverflow { index: u64, count: usize },
    #[error("unknown conf change transition {0}")]
    UnknownConfChangeTransition(u8),
    #[error("unknown conf change type {0}")]
    UnknownConfChangeType(u8),
    /// The `data` of an `EntryConfChangeV2` entry is not a postcard [`WireConfChangeV2`]
    /// (a sender whose own protobuf would not transcode sends it empty; see [`WireEntry`]).
    #[error("membership change entry at index {index} has malformed data: {source}")]
    ConfChangeDecode {
        index: u64,
        #[source]
        source: postcard::Error,
    },
    #[error("membership change entry at index {index} has {count} trailing bytes")]
    ConfChangeTrailingBytes { index: u64, count: usize },
    #[error("membership change entry at index {index} has {count} changes, more than {max}")]
    TooManyConfChanges {
        index: u64,
        count: usize,
        max: usize,
    },
    /// `write_to_bytes` refused the rebuilt `ConfChangeV2`. It has no reason to (proto3 has
    /// no required fields, and the frame limit keeps sizes far from protobuf's 4 GiB), but
    /// this is an error rather than a panic all the same.
    #[error("membership change entry at index {index} does not encode as protobuf: {source}")]
    ConfChangeEncode {
        index: u64,
        #[source]
        source: protobuf::ProtobufError,
    },
    /// QRaft proposes only `ConfChangeV2`; a v1 `EntryConfChange` entry would carry
    /// protobuf that no peer should ask us to parse.
    #[error("entry at index {index} is a v1 membership change, which QRaft never proposes")]
    ConfChangeV1 { index: u64 },
}

/// `eraftpb::MessageType`, with codes equal to the protobuf enum numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum WireMessageType {
    MsgHup = 0,
    MsgBeat = 1,
    MsgPropose = 2,
    MsgAppend = 3,
    MsgAppendResponse = 4,
    MsgRequestVote = 5,
    MsgRequestVoteResponse = 6,
    MsgSnapshot = 7,
    MsgHeartbeat = 8,
    MsgHeartbeatResponse = 9,
    MsgUnreachable = 10,
    MsgSnapStatus = 11,
    MsgCheckQuorum = 12,
    MsgTransferLeader = 13,
    MsgTimeoutNow = 14,
    MsgReadIndex = 15,
    MsgReadIndexResp = 16,
    MsgRequestPreVote = 17,
    MsgRequestPreVoteResponse = 18,
}

impl From<WireMessageType> for u8 {
    fn from(t: WireMessageType) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for WireMessageType {
    type Error = WireError;

    fn try_from(code: u8) -> Result<Self, WireError> {
        use WireMessageType as W;
        Ok(match code {
            0 => W::MsgHup,
            1 => W::MsgBeat,
            2 => W::MsgPropose,
            3 => W::MsgAppend,
            4 => W::MsgAppendResponse,
            5 => W::MsgRequestVote,
            6 => W::MsgRequestVoteResponse,
            7 => W::MsgSnapshot,
            8 => W::MsgHeartbeat,
            9 => W::MsgHeartbeatResponse,
            10 => W::MsgUnreachable,
            11 => W::MsgSnapStatus,
            12 => W::MsgCheckQuorum,
            13 => W::MsgTransferLeader,
            14 => W::MsgTimeoutNow,
            15 => W::MsgReadIndex,
            16 => W::MsgReadIndexResp,
            17 => W::MsgRequestPreVote,
            18 => W::MsgRequestPreVoteResponse,
            _ => return Err(WireError::UnknownMessageType(code)),
        })
    }
}

impl From<MessageType> for WireMessageType {
    fn from(t: MessageType) -> Self {
        use MessageType as P;
        use WireMessageType as W;
        match t {
            P::MsgHup => W::MsgHup,
            P::MsgBeat => W::MsgBeat,
            P::MsgPropose => W::MsgPropose,
            P::MsgAppend => W::MsgAppend,
            P::MsgAppendResponse => W::MsgAppendResponse,
            P::MsgRequestVote => W::MsgRequestVote,
            P::MsgRequestVoteResponse => W::MsgRequestVoteResponse,
            P::MsgSnapshot => W::MsgSnapshot,
            P::MsgHeartbeat => W::MsgHeartbeat,
            P::MsgHeartbeatResponse => W::MsgHeartbeatResponse,
            P::MsgUnreachable => W::MsgUnreachable,
            P::MsgSnapStatus => W::MsgSnapStatus,
            P::MsgCheckQuorum => W::MsgCheckQuorum,
            P::MsgTransferLeader => W::MsgTransferLeader,
            P::MsgTimeoutNow => W::MsgTimeoutNow,
            P::MsgReadIndex => W::MsgReadIndex,
            P::MsgReadIndexResp => W::MsgReadIndexResp,
            P::MsgRequestPreVote => W::MsgRequestPreVote,
            P::MsgRequestPreVoteResponse => W::MsgRequestPreVoteResponse,
        }
    }
}

impl From<WireMessageType> for MessageType {
    fn from(t: WireMessageType) -> Self {
        use MessageType as P;
        use WireMessageType as W;
        match t {
            W::MsgHup => P::MsgHup,
            W::MsgBeat => P::MsgBeat,
            W::MsgPropose => P::MsgPropose,
            W::MsgAppend => P::MsgAppend,
            W::MsgAppendResponse => P::MsgAppendResponse,
            W::MsgRequestVote => P::MsgRequestVote,
            W::MsgRequestVoteResponse => P::MsgRequestVoteResponse,
            W::MsgSnapshot => P::MsgSnapshot,
            W::MsgHeartbeat => P::MsgHeartbeat,
            W::MsgHeartbeatResponse => P::MsgHeartbeatResponse,
            W::MsgUnreachable => P::MsgUnreachable,
            W::MsgSnapStatus => P::MsgSnapStatus,
            W::MsgCheckQuorum => P::MsgCheckQuorum,
            W::MsgTransferLeader => P::MsgTransferLeader,
            W::MsgTimeoutNow => P::MsgTimeoutNow,
            W::MsgReadIndex => P::MsgReadIndex,
            W::MsgReadIndexResp => P::MsgReadIndexResp,
            W::MsgRequestPreVote => P::MsgRequestPreVote,
            W::MsgRequestPreVoteResponse => P::MsgRequestPreVoteResponse,
        }
    }
}

/// `eraftpb::EntryType`, with codes equal to the protobuf enum numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum WireEntryType {
    EntryNormal = 0,
    EntryConfChange = 1,
    EntryConfChangeV2 = 2,
}

impl From<WireEntryType> for u8 {
    fn from(t: WireEntryType) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for WireEntryType {
    type Error = WireError;

    fn try_from(code: u8) -> Result<Self, WireError> {
        match code {
            0 => Ok(WireEntryType::EntryNormal),
            1 => Ok(WireEntryType::EntryConfChange),
            2 => Ok(WireEntryType::EntryConfChangeV2),
            _ => Err(WireError::UnknownEntryType(code)),
        }
    }
}

impl From<EntryType> for WireEntryType {
    fn from(t: EntryType) -> Self {
        match t {
            EntryType::EntryNormal => WireEntryType::EntryNormal,
            EntryType::EntryConfChange => WireEntryType::EntryConfChange,
            EntryType::EntryConfChangeV2 => WireEntryType::EntryConfChangeV2,
        }
    }
}

impl From<WireEntryType> for EntryType {
    fn from(t: WireEntryType) -> Self {
        match t {
            WireEntryType::EntryNormal => EntryType::EntryNormal,
            WireEntryType::EntryConfChange => EntryType::EntryConfChange,
            WireEntryType::EntryConfChangeV2 => EntryType::EntryConfChangeV2,
        }
    }
}

/// `eraftpb::Message`: every field but protobuf's bookkeeping.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireMessage {
    pub msg_type: WireMessageType,
    pub to: u64,
    pub from: u64,
    pub term: u64,
    pub log_term: u64,
    pub index: u64,
    pub entries: Vec<WireEntry>,
    pub commit: u64,
    pub commit_term: u64,
    pub snapshot: Option<WireSnapshot>,
    pub request_snapshot: u64,
    pub reject: bool,
    pub reject_hint: u64,
    #[serde(with = "byte_vec")]
    pub context: Vec<u8>,
    /// raft-rs 0.7 still sets this (when its priority is positive) and reads it when
    /// `priority` is 0.
    pub deprecated_priority: u64,
    pub priority: i64,
}

/// `eraftpb::Entry` without the deprecated `sync_log`.
///
/// `data` is opaque, except in an `EntryConfChangeV2` entry, where it is a postcard
/// [`WireConfChangeV2`] instead of raft-rs's protobuf `ConfChangeV2`: [`From`] transcodes
/// the sender's protobuf, [`TryFrom`] decodes the postcard strictly and re-encodes the
/// protobuf raft-rs expects. A sender whose own protobuf does not transcode exactly sends
/// the data empty, which every receiver refuses.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireEntry {
    pub entry_type: WireEntryType,
    pub term: u64,
    pub index: u64,
    #[serde(with = "byte_vec")]
    pub data: Vec<u8>,
    #[serde(with = "byte_vec")]
    pub context: Vec<u8>,
}

/// `eraftpb::Snapshot`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireSnapshot {
    #[serde(with = "byte_vec")]
    pub data: Vec<u8>,
    /// `None` when the protobuf field is unset (raft-rs reads it as the default).
    pub metadata: Option<WireSnapshotMetadata>,
}

/// `eraftpb::SnapshotMetadata`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireSnapshotMetadata {
    /// `None` when the protobuf field is unset (raft-rs reads it as the default).
    pub conf_state: Option<WireConfState>,
    pub index: u64,
    pub term: u64,
}

/// `eraftpb::ConfState`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireConfState {
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    pub voters_outgoing: Vec<u64>,
    pub learners_next: Vec<u64>,
    pub auto_leave: bool,
}

/// `eraftpb::ConfChangeV2`, the wire form of an `EntryConfChangeV2` entry's `data`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct WireConfChangeV2 {
    pub transition: WireTransition,
    /// At most [`MAX_CONF_CHANGES`] on receipt.
    pub changes: Vec<WireConfChangeSingle>,
    #[serde(with = "byte_vec")]
    pub context: Vec<u8>,
}

/// `eraftpb::ConfChangeSingle`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireConfChangeSingle {
    pub change_type: WireConfChangeType,
    pub node_id: u64,
}

/// `eraftpb::ConfChangeTransition`, with codes equal to the protobuf enum numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum WireTransition {
    Auto = 0,
    Implicit = 1,
    Explicit = 2,
}

impl From<WireTransition> for u8 {
    fn from(t: WireTransition) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for WireTransition {
    type Error = WireError;

    fn try_from(code: u8) -> Result<Self, WireError> {
        match code {
            0 => Ok(WireTransition::Auto),
            1 => Ok(WireTransition::Implicit),
            2 => Ok(WireTransition::Explicit),
            _ => Err(WireError::UnknownConfChangeTransition(code)),
        }
    }
}

impl From<ConfChangeTransition> for WireTransition {
    fn from(t: ConfChangeTransition) -> Self {
        match t {
            ConfChangeTransition::Auto => WireTransition::Auto,
            ConfChangeTransition::Implicit => WireTransition::Implicit,
            ConfChangeTransition::Explicit => WireTransition::Explicit,
        }
    }
}

impl From<WireTransition> for ConfChangeTransition {
    fn from(t: WireTransition) -> Self {
        match t {
            WireTransition::Auto => ConfChangeTransition::Auto,
            WireTransition::Implicit => ConfChangeTransition::Implicit,
            WireTransition::Explicit => ConfChangeTransition::Explicit,
        }
    }
}

/// `eraftpb::ConfChangeType`, with codes equal to the protobuf enum numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(into = "u8", try_from = "u8")]
#[repr(u8)]
pub enum WireConfChangeType {
    AddNode = 0,
    RemoveNode = 1,
    AddLearnerNode = 2,
}

impl From<WireConfChangeType> for u8 {
    fn from(t: WireConfChangeType) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for WireConfChangeType {
    type Error = WireError;

    fn try_from(code: u8) -> Result<Self, WireError> {
        match code {
            0 => Ok(WireConfChangeType::AddNode),
            1 => Ok(WireConfChangeType::RemoveNode),
            2 => Ok(WireConfChangeType::AddLearnerNode),
            _ => Err(WireError::UnknownConfChangeType(code)),
        }
    }
}

impl From<ConfChangeType> for WireConfChangeType {
    fn from(t: ConfChangeType) -> Self {
        match t {
            ConfChangeType::AddNode => WireConfChangeType::AddNode,
            ConfChangeType::RemoveNode => WireConfChangeType::RemoveNode,
            ConfChangeType::AddLearnerNode => WireConfChangeType::AddLearnerNode,
        }
    }
}

impl From<WireConfChangeType> for ConfChangeType {
    fn from(t: WireConfChangeType) -> Self {
        match t {
            WireConfChangeType::AddNode => ConfChangeType::AddNode,
            WireConfChangeType::RemoveNode => ConfChangeType::RemoveNode,
            WireConfChangeType::AddLearnerNode => ConfChangeType::AddLearnerNode,
        }
    }
}

// eraftpb -> wire. The protobuf structs are destructured without `..`, so a field added to
// raft-proto fails to compile here instead of being dropped silently.

impl From<Message> for WireMessage {
    fn from(m: Message) -> Self {
        let Message {
            msg_type,
            to,
            from,
            term,
            log_term,
            index,
            entries,
            commit,
            commit_term,
            snapshot,
            request_snapshot,
            reject,
            reject_hint,
            context,
            deprecated_priority,
            priority,
            unknown_fields: _,
            cached_size: _,
        } = m;
        WireMessage {
            msg_type: msg_type.into(),
            to,
            from,
            term,
            log_term,
            index,
            entries: entries.into_iter().map(WireEntry::from).collect(),
            commit,
            commit_term,
            snapshot: snapshot.into_option().map(WireSnapshot::from),
            request_snapshot,
            reject,
            reject_hint,
            context: Vec::from(context),
            deprecated_priority,
            priority,
        }
    }
}

impl From<Entry> for WireEntry {
    /// Membership changes are transcoded (`conf_change_to_wire`); v1 ones, which QRaft
    /// never proposes and receivers refuse whatever their data, go out with empty data so
    /// no protobuf reaches the wire.
    fn from(e: Entry) -> Self {
        let Entry {
            entry_type,
            term,
            index,
            data,
            context,
            sync_log: _,
            unknown_fields: _,
            cached_size: _,
        } = e;
        let data = match entry_type {
            EntryType::EntryNormal => Vec::from(data),
            EntryType::EntryConfChangeV2 => conf_change_to_wire(index, &data),
            EntryType::EntryConfChange => {
                tracing::error!(index, "sending a v1 membership change without its data");
                Vec::new()
            }
        };
        WireEntry {
            entry_type: entry_type.into(),
            term,
            index,
            data,
            context: Vec::from(context),
        }
    }
}

/// The wire `data` of a locally produced `EntryConfChangeV2` entry: its protobuf
/// `ConfChangeV2`, parsed, as a postcard [`WireConfChangeV2`].
///
/// The protobuf is our own: raft-rs encoded it, or `conf_change_from_wire` did when the
/// entry arrived; it is never a peer's bytes. The result is sent only if the receiver's
/// rebuild (`conf_change_from_wire`, run here on it) gives back exactly these bytes, so a
/// follower's log holds what the leader's does. If the bytes do not parse, or hold what the
/// mirror cannot (unknown fields or enum values, a non-canonical encoding, too many
/// changes) — none of which happens for entries we made — the data goes out empty instead.
/// Empty is not a valid [`WireConfChangeV2`], so every receiver refuses the message
/// ([`WireError::ConfChangeDecode`]), every time: the entry stalls replication, loudly, but
/// no follower ever holds a different membership change than the leader. The alternatives
/// are worse: a guess (the default change, or the part that parsed) lets a follower commit
/// something the leader did not, dropping the entry breaks the log's index sequence, and a
/// panic takes the node down over one message.
fn conf_change_to_wire(index: u64, data: &[u8]) -> Vec<u8> {
    let wire = match ConfChangeV2::parse_from_bytes(data) {
        Ok(cc) => WireConfChangeV2::from(cc),
        Err(err) => {
            tracing::error!(
                index,
                %err,
                "sending a membership change whose protobuf does not parse with empty data"
            );
            return Vec::new();
        }
    };
    let encoded = postcard::to_stdvec(&wire).expect("encoding into a Vec cannot fail");
    match conf_change_from_wire(index, &encoded) {
        Ok(rebuilt) if rebuilt == data => encoded,
        Ok(_) => {
            tracing::error!(
                index,
                "sending a membership change that does not transcode exactly with empty data"
            );
            Vec::new()
        }
        Err(err) => {
            tracing::error!(
                index,
                %err,
                "sending a membership change that does not transcode with empty data"
            );
            Vec::new()
        }
    }
}

impl From<ConfChangeV2> for WireConfChangeV2 {
    fn from(cc: ConfChangeV2) -> Self {
        let ConfChangeV2 {
            transition,
            changes,
            context,
            unknown_fields: _,
            cached_size: _,
        } = cc;
        WireConfChangeV2 {
            transition: transition.into(),
            changes: changes
                .into_iter()
                .map(WireConfChangeSingle::from)
                .collect(),
            context: Vec::from(context),
        }
    }
}

impl From<ConfChangeSingle> for WireConfChangeSingle {
    fn from(c: ConfChangeSingle) -> Self {
        let ConfChangeSingle {
            change_type,
            node_id,
            unknown_fields: _,
            cached_size: _,
        } = c;
        WireConfChangeSingle {
            change_type: change_type.into(),
            node_id,
        }
    }
}

impl From<Snapshot> for WireSnapshot {
    fn from(s: Snapshot) -> Self {
        let Snapshot {
            data,
            metadata,
            unknown_fields: _,
            cached_size: _,
        } = s;
        WireSnapshot {
            data: Vec::from(data),
            metadata: metadata.into_option().map(WireSnapshotMetadata::from),
        }
    }
}

impl From<SnapshotMetadata> for WireSnapshotMetadata {
    fn from(md: SnapshotMetadata) -> Self {
        let SnapshotMetadata {
            conf_state,
            index,
            term,
            unknown_fields: _,
            cached_size: _,
        } = md;
        WireSnapshotMetadata {
            conf_state: conf_state.into_option().map(WireConfState::from),
            index,
            term,
        }
    }
}

impl From<ConfState> for WireConfState {
    fn from(cs: ConfState) -> Self {
        let ConfState {
            voters,
            learners,
            voters_outgoing,
            learners_next,
            auto_leave,
            unknown_fields: _,
            cached_size: _,
        } = cs;
        WireConfState {
            voters,
            learners,
            voters_outgoing,
            learners_next,
            auto_leave,
        }
    }
}

// wire -> eraftpb.

impl TryFrom<WireMessage> for Message {
    type Error = WireError;

    /// Checks the shapes raft-rs would panic on, then rebuilds the protobuf message.
    fn try_from(w: WireMessage) -> Result<Self, WireError> {
        match w.msg_type {
            WireMessageType::MsgPropose if w.entries.is_empty() => {
                return Err(WireError::EmptyProposal);
            }
            WireMessageType::MsgAppend => check_contiguous(w.index, &w.entries)?,
            _ => {}
        }
        let entries = w
            .entries
            .into_iter()
            .map(Entry::try_from)
            .collect::<Result<Vec<Entry>, WireError>>()?;
        Ok(Message {
            msg_type: w.msg_type.into(),
            to: w.to,
            from: w.from,
            term: w.term,
            log_term: w.log_term,
            index: w.index,
            entries: entries.into(),
            commit: w.commit,
            commit_term: w.commit_term,
            snapshot: w.snapshot.map(Snapshot::from).into(),
            request_snapshot: w.request_snapshot,
            reject: w.reject,
            reject_hint: w.reject_hint,
            context: w.context.into(),
            deprecated_priority: w.deprecated_priority,
            priority: w.priority,
            ..Message::default()
        })
    }
}

/// A MsgAppend's entries must be `index + 1, index + 2, ...`.
fn check_contiguous(index: u64, entries: &[WireEntry]) -> Result<(), WireError> {
    let overflow = || WireError::IndexOverflow {
        index,
        count: entries.len(),
    };
    let mut expected = index;
    for (position, entry) in entries.iter().enumerate() {
        expected = expected.checked_add(1).ok_or_else(overflow)?;
        if entry.index != expected {
            return Err(WireError::NonContiguousEntries {
                position,
                expected,
                found: entry.index,
            });
        }
    }
    Ok(())
}

impl TryFrom<WireEntry> for Entry {
    type Error = WireError;

    /// Normal entries' data passes through as is; membership changes are rebuilt as
    /// protobuf (`conf_change_from_wire`); v1 membership changes are refused.
    fn try_from(w: WireEntry) -> Result<Self, WireError> {
        let WireEntry {
            entry_type,
            term,
            index,
            data,
            context,
        } = w;
        let data = match entry_type {
            WireEntryType::EntryNormal => data,
            WireEntryType::EntryConfChangeV2 => conf_change_from_wire(index, &data)?,
            WireEntryType::EntryConfChange => return Err(WireError::ConfChangeV1 { index }),
        };
        Ok(Entry {
            entry_type: entry_type.into(),
            term,
            index,
            data: data.into(),
            context: context.into(),
            ..Entry::default()
        })
    }
}

/// The protobuf `data` of the `EntryConfChangeV2` entry at `index`, from its wire `data`:
/// exactly one postcard [`WireConfChangeV2`] (known enum codes, no trailing bytes, at most
/// [`MAX_CONF_CHANGES`] changes), which protobuf then only *encodes*.
fn conf_change_from_wire(index: u64, data: &[u8]) -> Result<Vec<u8>, WireError> {
    let (wire, rest) = postcard::take_from_bytes::<WireConfChangeV2>(data)
        .map_err(|source| WireError::ConfChangeDecode { index, source })?;
    if !rest.is_empty() {
        return Err(WireError::ConfChangeTrailingBytes {
            index,
            count: rest.len(),
        });
    }
    if wire.changes.len() > MAX_CONF_CHANGES {
        return Err(WireError::TooManyConfChanges {
            index,
            count: wire.changes.len(),
            max: MAX_CONF_CHANGES,
        });
    }
    ConfChangeV2::from(wire)
        .write_to_bytes()
        .map_err(|source| WireError::ConfChangeEncode { index, source })
}

impl From<WireConfChangeV2> for ConfChangeV2 {
    fn from(w: WireConfChangeV2) -> Self {
        let changes: Vec<ConfChangeSingle> =
            w.changes.into_iter().map(ConfChangeSingle::from).collect();
        ConfChangeV2 {
            transition: w.transition.into(),
            changes: changes.into(),
            context: w.context.into(),
            ..ConfChangeV2::default()
        }
    }
}

impl From<WireConfChangeSingle> for ConfChangeSingle {
    fn from(w: WireConfChangeSingle) -> Self {
        ConfChangeSingle {
            change_type: w.change_type.into(),
            node_id: w.node_id,
            ..ConfChangeSingle::default()
        }
    }
}

impl From<WireSnapshot> for Snapshot {
    fn from(w: WireSnapshot) -> Self {
        Snapshot {
            data: w.data.into(),
            metadata: w.metadata.map(SnapshotMetadata::from).into(),
            ..Snapshot::default()
        }
    }
}

impl From<WireSnapshotMetadata> for SnapshotMetadata {
    fn from(w: WireSnapshotMetadata) -> Self {
        SnapshotMetadata {
            conf_state: w.conf_state.map(ConfState::from).into(),
            index: w.index,
            term: w.term,
            ..SnapshotMetadata::default()
        }
    }
}

impl From<WireConfState> for ConfState {
    fn from(w: WireConfState) -> Self {
        ConfState {
            voters: w.voters,
            learners: w.learners,
            voters_outgoing: w.voters_outgoing,
            learners_next: w.learners_next,
            auto_leave: w.auto_leave,
            ..ConfState::default()
        }
    }
}

/// The postcard frame of one message.
pub fn encode(msg: &WireMessage) -> Vec<u8> {
    postcard::to_stdvec(msg).expect("encoding into a Vec cannot fail")
}

/// Decodes one frame holding exactly one message. Frames longer than `max_len` are
/// rejected before any decoding. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8], max_len: usize) -> Result<WireMessage, WireError> {
    if bytes.len() > max_len {
        return Err(WireError::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let (msg, rest) = postcard::take_from_bytes::<WireMessage>(bytes)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes(rest.len()));
    }
    Ok(msg)
}

/// [`encode`] of an outgoing raft-rs message.
pub fn encode_message(msg: Message) -> Vec<u8> {
    encode(&WireMessage::from(msg))
}

/// [`decode`], then [`TryFrom`]: a frame to a message ready for `RawNode::step`.
pub fn decode_message(bytes: &[u8], max_len: usize) -> Result<Message, WireError> {
    Message::try_from(decode(bytes, max_len)?)
}

/// Serde for byte strings as postcard byte arrays (length, then the bytes), read in one
/// copy rather than element by element.
mod byte_vec {
    use std::fmt;

    use serde::de::{Deserializer, Error, Visitor};
    use serde::ser::Serializer;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        deserializer.deserialize_byte_buf(ByteBufVisitor)
    }

    struct ByteBufVisitor;

    impl Visitor<'_> for ByteBufVisitor {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ALL_MESSAGE_TYPES: [MessageType; 19] = [
        MessageType::MsgHup,
        MessageType::MsgBeat,
        MessageType::MsgPropose,
        MessageType::MsgAppend,
        MessageType::MsgAppendResponse,
        MessageType::MsgRequestVote,
        MessageType::MsgRequestVoteResponse,
        MessageType::MsgSnapshot,
        MessageType::MsgHeartbeat,
        MessageType::MsgHeartbeatResponse,
        MessageType::MsgUnreachable,
        MessageType::MsgSnapStatus,
        MessageType::MsgCheckQuorum,
        MessageType::MsgTransferLeader,
        MessageType::MsgTimeoutNow,
        MessageType::MsgReadIndex,
        MessageType::MsgReadIndexResp,
        MessageType::MsgRequestPreVote,
        MessageType::MsgRequestPreVoteResponse,
    ];

    const ALL_ENTRY_TYPES: [EntryType; 3] = [
        EntryType::EntryNormal,
        EntryType::EntryConfChange,
        EntryType::EntryConfChangeV2,
    ];

    const LIMIT: usize = 1 << 20;

    fn entry(entry_type: EntryType, term: u64, index: u64, data: &[u8]) -> Entry {
        Entry {
            entry_type,
            term,
            index,
            data: data.to_vec().into(),
            context: b"entry context".to_vec().into(),
            ..Entry::default()
        }
    }

    /// The membership change of the tests: Explicit, with a context, and every change type.
    fn conf_change() -> ConfChangeV2 {
        let single = |change_type, node_id| ConfChangeSingle {
            change_type,
            node_id,
            ..ConfChangeSingle::default()
        };
        ConfChangeV2 {
            transition: ConfChangeTransition::Explicit,
            changes: vec![
                single(ConfChangeType::AddLearnerNode, 4),
                single(ConfChangeType::AddNode, 4),
                single(ConfChangeType::RemoveNode, 2),
            ]
            .into(),
            context: b"membership context".to_vec().into(),
            ..ConfChangeV2::default()
        }
    }

    /// [`conf_change`] in its wire form.
    fn wire_conf_change() -> WireConfChangeV2 {
        let single = |change_type, node_id| WireConfChangeSingle {
            change_type,
            node_id,
        };
        WireConfChangeV2 {
            transition: WireTransition::Explicit,
            changes: vec![
                single(WireConfChangeType::AddLearnerNode, 4),
                single(WireConfChangeType::AddNode, 4),
                single(WireConfChangeType::RemoveNode, 2),
            ],
            context: b"membership context".to_vec(),
        }
    }

    /// An `EntryConfChangeV2` entry holding `cc` as raft-rs encodes it.
    fn conf_change_entry(term: u64, index: u64, cc: &ConfChangeV2) -> Entry {
        entry(
            EntryType::EntryConfChangeV2,
            term,
            index,
            &cc.write_to_bytes().unwrap(),
        )
    }

    /// A wire `EntryConfChangeV2` entry with `data` as its (postcard) data.
    fn wire_conf_change_entry(data: Vec<u8>) -> WireEntry {
        WireEntry {
            entry_type: WireEntryType::EntryConfChangeV2,
            term: 7,
            index: 42,
            data,
            context: Vec::new(),
        }
    }

    fn snapshot() -> Snapshot {
        let conf_state = ConfState {
            voters: vec![1, 2, 3],
            learners: vec![4],
            voters_outgoing: vec![1, 2, 5],
            learners_next: vec![5],
            auto_leave: true,
            ..ConfState::default()
        };
        let mut snap = Snapshot::default();
        snap.set_data((0..=255u8).cycle().take(3000).collect::<Vec<u8>>().into());
        let md = snap.mut_metadata();
        md.set_conf_state(conf_state);
        md.index = 40;
        md.term = 6;
        snap
    }

    /// A message of type `t` with every field set to something other than its default.
    fn full_message(t: MessageType) -> Message {
        let mut m = Message::default();
        m.set_msg_type(t);
        m.to = 2;
        m.from = 1;
        m.term = 7;
        m.log_term = 6;
        m.index = 41;
        m.set_entries(
            vec![
                entry(EntryType::EntryNormal, 7, 42, b"a block of transactions"),
                conf_change_entry(7, 43, &conf_change()),
                // raft-rs's own entry to leave a joint configuration.
                entry(EntryType::EntryConfChangeV2, 7, 44, &[]),
            ]
            .into(),
        );
        m.commit = 40;
        m.commit_term = 6;
        m.set_snapshot(snapshot());
        m.request_snapshot = 39;
        m.reject = true;
        m.reject_hint = 38;
        m.set_context(b"read index context".to_vec().into());
        m.deprecated_priority = u64::MAX;
        m.priority = -3;
        m
    }

    fn through_bytes(m: Message) -> Message {
        let bytes = encode(&WireMessage::from(m));
        Message::try_from(decode(&bytes, LIMIT).unwrap()).unwrap()
    }

    #[test]
    fn every_message_type_round_trips_with_entries_and_snapshot() {
        for t in ALL_MESSAGE_TYPES {
            let m = full_message(t);
            let wire = WireMessage::from(m.clone());
            assert_eq!(MessageType::from(wire.msg_type), t);
            assert_eq!(wire.entries.len(), 3);
            assert_eq!(wire.snapshot.as_ref().unwrap().data.len(), 3000);
            let bytes = encode(&wire);
            let back = decode(&bytes, LIMIT).unwrap();
            assert_eq!(back, wire, "{t:?}");
            assert_eq!(Message::try_from(back).unwrap(), m, "{t:?}");
        }
    }

    #[test]
    fn protobuf_round_trip_is_exact() {
        // Defaults everywhere, and unset sub-messages stay unset.
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgHeartbeat);
        assert!(!m.has_snapshot());
        let back = through_bytes(m.clone());
        assert!(!back.has_snapshot());
        assert_eq!(back, m);

        let mut m = full_message(MessageType::MsgSnapshot);
        m.mut_snapshot().clear_metadata();
        assert_eq!(through_bytes(m.clone()), m);

        let mut m = full_message(MessageType::MsgSnapshot);
        m.mut_snapshot().mut_metadata().clear_conf_state();
        assert_eq!(through_bytes(m.clone()), m);

        let mut m = full_message(MessageType::MsgSnapshot);
        m.set_snapshot(Snapshot::default());
        let back = through_bytes(m.clone());
        assert!(back.has_snapshot());
        assert_eq!(back, m);

        // Extremes of the numeric fields.
        let mut m = full_message(MessageType::MsgRequestVote);
        m.clear_entries();
        for v in [0, 1, u64::MAX] {
            (m.to, m.from, m.term, m.log_term, m.index) = (v, v, v, v, v);
            (m.commit, m.commit_term, m.request_snapshot, m.reject_hint) = (v, v, v, v);
            m.deprecated_priority = v;
            for p in [i64::MIN, -1, 0, 1, i64::MAX] {
                m.priority = p;
                assert_eq!(through_bytes(m.clone()), m);
            }
        }
    }

    #[test]
    fn sync_log_is_not_carried() {
        let mut m = full_message(MessageType::MsgAppend);
        m.mut_entries()[0].sync_log = true;
        let back = through_bytes(m.clone());
        assert!(!back.get_entries()[0].sync_log);
        m.mut_entries()[0].sync_log = false;
        assert_eq!(back, m);
    }

    #[test]
    fn wire_codes_are_the_protobuf_numbers() {
        for t in ALL_MESSAGE_TYPES {
            let w = WireMessageType::from(t);
            assert_eq!(i32::from(u8::from(w)), t as i32);
            assert_eq!(WireMessageType::try_from(u8::from(w)).unwrap(), w);
            assert_eq!(MessageType::from(w), t);
        }
        for t in ALL_ENTRY_TYPES {
            let w = WireEntryType::from(t);
            assert_eq!(i32::from(u8::from(w)), t as i32);
            assert_eq!(WireEntryType::try_from(u8::from(w)).unwrap(), w);
            assert_eq!(EntryType::from(w), t);
        }
        for t in [
            ConfChangeTransition::Auto,
            ConfChangeTransition::Implicit,
            ConfChangeTransition::Explicit,
        ] {
            let w = WireTransition::from(t);
            assert_eq!(i32::from(u8::from(w)), t as i32);
            assert_eq!(WireTransition::try_from(u8::from(w)).unwrap(), w);
            assert_eq!(ConfChangeTransition::from(w), t);
        }
        for t in [
            ConfChangeType::AddNode,
            ConfChangeType::RemoveNode,
            ConfChangeType::AddLearnerNode,
        ] {
            let w = WireConfChangeType::from(t);
            assert_eq!(i32::from(u8::from(w)), t as i32);
            assert_eq!(WireConfChangeType::try_from(u8::from(w)).unwrap(), w);
            assert_eq!(ConfChangeType::from(w), t);
        }
        let known = ALL_MESSAGE_TYPES.len();
        for code in 0..=u8::MAX {
            let decoded = WireMessageType::try_from(code);
            assert_eq!(decoded.is_ok(), usize::from(code) < known, "{code}");
            if let Err(e) = decoded {
                assert!(matches!(e, WireError::UnknownMessageType(c) if c == code));
            }
            let decoded = WireEntryType::try_from(code);
            assert_eq!(decoded.is_ok(), code < 3, "{code}");
            if let Err(e) = decoded {
                assert!(matches!(e, WireError::UnknownEntryType(c) if c == code));
            }
            let decoded = WireTransition::try_from(code);
            assert_eq!(decoded.is_ok(), code < 3, "{code}");
            if let Err(e) = decoded {
                assert!(matches!(e, WireError::UnknownConfChangeTransition(c) if c == code));
            }
            let decoded = WireConfChangeType::try_from(code);
            assert_eq!(decoded.is_ok(), code < 3, "{code}");
            if let Err(e) = decoded {
                assert!(matches!(e, WireError::UnknownConfChangeType(c) if c == code));
            }
        }
    }

    #[test]
    fn unknown_enum_values_are_decode_errors() {
        // All numbers below 128 take one byte, so the layout is: msg_type, to, from, term,
        // log_term, index, entry count, then the first entry's type.
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgPropose);
        m.set_entries(vec![conf_change_entry(1, 0, &conf_change())].into());
        let bytes = encode(&WireMessage::from(m));
        assert_eq!(bytes[0], 2, "msg_type is the first byte");
        assert_eq!(bytes[7], 2, "entry_type is the eighth byte");
        decode(&bytes, LIMIT).unwrap();

        for code in [19, 100, 255] {
            let mut bad = bytes.clone();
            bad[0] = code;
            assert!(matches!(decode(&bad, LIMIT), Err(WireError::Decode(_))));
        }
        for code in [3, 100, 255] {
            let mut bad = bytes.clone();
            bad[7] = code;
            assert!(matches!(decode(&bad, LIMIT), Err(WireError::Decode(_))));
        }
    }

    #[test]
    fn truncated_frames_are_errors() {
        let bytes = encode_message(full_message(MessageType::MsgAppend));
        for len in 0..bytes.len() {
            assert!(
                decode(&bytes[..len], LIMIT).is_err(),
                "prefix of {len} bytes"
            );
        }
        decode(&bytes, LIMIT).unwrap();
    }

    #[test]
    fn trailing_bytes_are_errors() {
        let mut bytes = encode_message(full_message(MessageType::MsgHeartbeat));
        bytes.extend_from_slice(&[0, 0]);
        assert!(matches!(
            decode(&bytes, LIMIT),
            Err(WireError::TrailingBytes(2))
        ));
    }

    #[test]
    fn oversize_frames_are_rejected_before_decoding() {
        let bytes = encode_message(full_message(MessageType::MsgSnapshot));
        let len = bytes.len();
        assert!(decode(&bytes, len).is_ok());
        assert!(matches!(
            decode(&bytes, len - 1),
            Err(WireError::TooLarge { len: l, max }) if l == len && max == len - 1
        ));
        // Garbage that would fail to decode reports the size, so nothing was decoded.
        let garbage = vec![0xff; 64];
        assert!(matches!(decode(&garbage, LIMIT), Err(WireError::Decode(_))));
        assert!(matches!(
            decode(&garbage, 63),
            Err(WireError::TooLarge { len: 64, max: 63 })
        ));
        assert!(matches!(
            decode(&[], 0),
            Err(WireError::Decode(postcard::Error::DeserializeUnexpectedEnd))
        ));
    }

    #[test]
    fn huge_length_prefixes_do_not_allocate_or_panic() {
        // A proposal claiming u64::MAX entries, and one entry claiming a huge data length.
        let mut claim_entries = vec![2, 0, 0, 0, 0, 0];
        claim_entries.extend_from_slice(&[0xff; 9]);
        claim_entries.push(0x01);
        assert!(matches!(
            decode(&claim_entries, LIMIT),
            Err(WireError::Decode(postcard::Error::DeserializeUnexpectedEnd))
        ));
        let claim_data = [
            2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 1,
        ];
        assert!(matches!(
            decode(&claim_data, LIMIT),
            Err(WireError::Decode(postcard::Error::DeserializeUnexpectedEnd))
        ));
    }

    #[test]
    fn empty_proposal_is_rejected() {
        let mut m = full_message(MessageType::MsgPropose);
        m.clear_entries();
        let wire = decode(&encode_message(m), LIMIT).unwrap();
        assert!(matches!(
            Message::try_from(wire),
            Err(WireError::EmptyProposal)
        ));
    }

    #[test]
    fn append_entries_must_follow_the_index() {
        let check = |index: u64, entry_indexes: &[u64]| {
            let mut m = full_message(MessageType::MsgAppend);
            m.index = index;
            let entries: Vec<Entry> = entry_indexes
                .iter()
                .map(|&i| entry(EntryType::EntryNormal, 7, i, b"tx"))
                .collect();
            m.set_entries(entries.into());
            decode_message(&encode_message(m), LIMIT)
        };
        check(41, &[42, 43, 44]).unwrap();
        check(41, &[]).unwrap();
        check(0, &[1]).unwrap();
        assert!(matches!(
            check(41, &[42, 44]),
            Err(WireError::NonContiguousEntries {
                position: 1,
                expected: 43,
                found: 44
            })
        ));
        assert!(matches!(
            check(41, &[41]),
            Err(WireError::NonContiguousEntries { position: 0, .. })
        ));
        assert!(matches!(
            check(u64::MAX, &[0]),
            Err(WireError::IndexOverflow {
                index: u64::MAX,
                count: 1
            })
        ));
        check(u64::MAX, &[]).unwrap();
        // Other message types carry entries without this rule (proposals have index 0).
        let mut m = full_message(MessageType::MsgPropose);
        m.index = 0;
        for e in m.mut_entries().iter_mut() {
            e.index = 0;
        }
        assert_eq!(through_bytes(m.clone()), m);
    }

    #[test]
    fn conf_change_round_trips_exactly() {
        for t in [MessageType::MsgAppend, MessageType::MsgPropose] {
            let mut m = Message::default();
            m.set_msg_type(t);
            (m.to, m.from, m.term) = (2, 1, 7);
            m.index = 41;
            m.set_entries(vec![conf_change_entry(7, 42, &conf_change())].into());
            let wire = WireMessage::from(m.clone());
            let bytes = encode(&wire);
            let back = decode(&bytes, LIMIT).unwrap();
            assert_eq!(back, wire);
            let back = Message::try_from(back).unwrap();
            assert_eq!(back, m, "{t:?}");
            let parsed = ConfChangeV2::parse_from_bytes(&back.get_entries()[0].data).unwrap();
            assert_eq!(parsed, conf_change());
        }
    }

    #[test]
    fn conf_change_wire_data_is_postcard_not_protobuf() {
        let protobuf = conf_change().write_to_bytes().unwrap();
        let mut m = full_message(MessageType::MsgAppend);
        m.set_entries(vec![conf_change_entry(7, 42, &conf_change())].into());
        let wire = decode(&encode_message(m), LIMIT).unwrap();
        let data = &wire.entries[0].data;
        assert_ne!(data, &protobuf);
        let (cc, rest) = postcard::take_from_bytes::<WireConfChangeV2>(data).unwrap();
        assert!(rest.is_empty());
        assert_eq!(cc, wire_conf_change());
        // And protobuf sent as wire data is refused, not parsed.
        assert!(matches!(
            Entry::try_from(wire_conf_change_entry(protobuf)),
            Err(WireError::ConfChangeDecode { index: 42, .. })
        ));
    }

    #[test]
    fn leaving_a_joint_configuration_round_trips() {
        // raft-rs proposes the auto-leave as a v2 entry with empty data (the default
        // ConfChangeV2), which is not empty on the wire.
        let e = entry(EntryType::EntryConfChangeV2, 7, 44, &[]);
        let wire = WireEntry::from(e.clone());
        let cc: WireConfChangeV2 = postcard::from_bytes(&wire.data).unwrap();
        assert_eq!(
            cc,
            WireConfChangeV2 {
                transition: WireTransition::Auto,
                changes: Vec::new(),
                context: Vec::new(),
            }
        );
        assert_eq!(Entry::try_from(wire).unwrap(), e);
    }

    #[test]
    fn v1_conf_changes_are_refused() {
        let v1 = ::raft::eraftpb::ConfChange {
            change_type: ConfChangeType::AddNode,
            node_id: 4,
            context: b"ctx".to_vec().into(),
            id: 9,
            ..Default::default()
        };
        let mut m = full_message(MessageType::MsgAppend);
        m.set_entries(
            vec![entry(
                EntryType::EntryConfChange,
                7,
                42,
                &v1.write_to_bytes().unwrap(),
            )]
            .into(),
        );
        let wire = decode(&encode_message(m), LIMIT).unwrap();
        assert!(wire.entries[0].data.is_empty(), "no protobuf on the wire");
        assert!(matches!(
            Message::try_from(wire),
            Err(WireError::ConfChangeV1 { index: 42 })
        ));
        // Whatever the data.
        for data in [
            Vec::new(),
            postcard::to_stdvec(&wire_conf_change()).unwrap(),
        ] {
            let w = WireEntry {
                entry_type: WireEntryType::EntryConfChange,
                ..wire_conf_change_entry(data)
            };
            assert!(matches!(
                Entry::try_from(w),
                Err(WireError::ConfChangeV1 { index: 42 })
            ));
        }
    }

    #[test]
    fn malformed_conf_change_data_is_refused() {
        let refused = |data: Vec<u8>| Entry::try_from(wire_conf_change_entry(data)).unwrap_err();
        let good = postcard::to_stdvec(&wire_conf_change()).unwrap();
        Entry::try_from(wire_conf_change_entry(good.clone())).unwrap();

        // Empty (what a sender whose own protobuf would not transcode sends) and every
        // other prefix.
        for len in 0..good.len() {
            assert!(
                matches!(
                    refused(good[..len].to_vec()),
                    WireError::ConfChangeDecode { index: 42, .. }
                ),
                "prefix of {len} bytes"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            refused(trailing),
            WireError::ConfChangeTrailingBytes {
                index: 42,
                count: 1
            }
        ));
        // Layout: transition, change count, then the first change's type.
        assert_eq!(good[0], 2, "transition is the first byte");
        assert_eq!(good[1], 3, "change count is the second byte");
        assert_eq!(good[2], 2, "the first change type is the third byte");
        for code in [3, 100, 255] {
            let mut bad = good.clone();
            bad[0] = code;
            assert!(matches!(refused(bad), WireError::ConfChangeDecode { .. }));
            let mut bad = good.clone();
            bad[2] = code;
            assert!(matches!(refused(bad), WireError::ConfChangeDecode { .. }));
        }
        // Too many changes, and the limit itself.
        let many = |n: usize| WireConfChangeV2 {
            changes: vec![wire_conf_change().changes[0]; n],
            ..wire_conf_change()
        };
        Entry::try_from(wire_conf_change_entry(
            postcard::to_stdvec(&many(MAX_CONF_CHANGES)).unwrap(),
        ))
        .unwrap();
        assert!(matches!(
            refused(postcard::to_stdvec(&many(MAX_CONF_CHANGES + 1)).unwrap()),
            WireError::TooManyConfChanges { index: 42, count, max: MAX_CONF_CHANGES }
                if count == MAX_CONF_CHANGES + 1
        ));
        // A huge claimed change count neither allocates nor panics.
        let mut huge = vec![0];
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(matches!(refused(huge), WireError::ConfChangeDecode { .. }));

        // A refused entry refuses its whole message.
        let mut m = full_message(MessageType::MsgAppend);
        m.set_entries(vec![entry(EntryType::EntryNormal, 7, 42, b"tx")].into());
        let mut wire = WireMessage::from(m);
        wire.entries.push(WireEntry {
            index: 43,
            ..wire_conf_change_entry(vec![9])
        });
        assert!(matches!(
            Message::try_from(wire),
            Err(WireError::ConfChangeDecode { index: 43, .. })
        ));
    }

    #[test]
    fn untranscodable_local_conf_changes_go_out_empty_and_are_refused() {
        let good = conf_change().write_to_bytes().unwrap();
        let with = |extra: &[u8]| [good.as_slice(), extra].concat();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("not protobuf", vec![0xff]),
            ("truncated", good[..good.len() - 1].to_vec()),
            // Field 15, a varint: parses, but the mirror has no such field.
            ("unknown field", with(&[0x78, 0x01])),
            // Field 1 (transition) = 7: parses, but is no ConfChangeTransition.
            ("unknown enum value", with(&[0x08, 0x07])),
            // Field 1 = Auto, written out though proto3 omits defaults.
            (
                "non-canonical",
                [[0x08, 0x00].as_slice(), good.as_slice()].concat(),
            ),
            (
                "too many changes",
                ConfChangeV2 {
                    changes: vec![conf_change().changes[0].clone(); MAX_CONF_CHANGES + 1].into(),
                    ..conf_change()
                }
                .write_to_bytes()
                .unwrap(),
            ),
        ];
        for (case, data) in cases {
            let wire = WireEntry::from(entry(EntryType::EntryConfChangeV2, 7, 42, &data));
            assert!(wire.data.is_empty(), "{case}");
            assert!(
                matches!(
                    Entry::try_from(wire),
                    Err(WireError::ConfChangeDecode { index: 42, .. })
                ),
                "{case}"
            );
        }
    }

    fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..40)
    }

    fn arb_conf_state() -> impl Strategy<Value = WireConfState> {
        let ids = || prop::collection::vec(any::<u64>(), 0..5);
        (ids(), ids(), ids(), ids(), any::<bool>()).prop_map(
            |(voters, learners, voters_outgoing, learners_next, auto_leave)| WireConfState {
                voters,
                learners,
                voters_outgoing,
                learners_next,
                auto_leave,
            },
        )
    }

    fn arb_snapshot() -> impl Strategy<Value = WireSnapshot> {
        let metadata = (
            prop::option::of(arb_conf_state()),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(|(conf_state, index, term)| WireSnapshotMetadata {
                conf_state,
                index,
                term,
            });
        (arb_bytes(), prop::option::of(metadata))
            .prop_map(|(data, metadata)| WireSnapshot { data, metadata })
    }

    fn arb_conf_change() -> impl Strategy<Value = WireConfChangeV2> {
        let single = (0..3u8, any::<u64>()).prop_map(|(t, node_id)| WireConfChangeSingle {
            change_type: WireConfChangeType::try_from(t).unwrap(),
            node_id,
        });
        (0..3u8, prop::collection::vec(single, 0..5), arb_bytes()).prop_map(
            |(t, changes, context)| WireConfChangeV2 {
                transition: WireTransition::try_from(t).unwrap(),
                changes,
                context,
            },
        )
    }

    /// Random bytes, and valid [`WireConfChangeV2`] encodings with a few bytes changed, cut
    /// short or extended.
    fn arb_conf_change_garbage() -> impl Strategy<Value = Vec<u8>> {
        let edited = (
            arb_conf_change(),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            any::<prop::sample::Index>(),
            prop::collection::vec(any::<u8>(), 0..3),
        )
            .prop_map(|(cc, edits, cut, tail)| {
                let mut bytes = postcard::to_stdvec(&cc).unwrap();
                for (at, value) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = value;
                }
                bytes.truncate(cut.index(bytes.len() + 1));
                bytes.extend(tail);
                bytes
            });
        prop_oneof![prop::collection::vec(any::<u8>(), 0..64), edited]
    }

    /// Normal and v1 entries with arbitrary data; v2 membership changes with valid data.
    fn arb_entry() -> impl Strategy<Value = WireEntry> {
        let data = (0..3u8).prop_flat_map(|t| {
            let data = match WireEntryType::try_from(t).unwrap() {
                WireEntryType::EntryConfChangeV2 => arb_conf_change()
                    .prop_map(|cc| postcard::to_stdvec(&cc).unwrap())
                    .boxed(),
                _ => arb_bytes().boxed(),
            };
            (Just(t), data)
        });
        (data, any::<u64>(), any::<u64>(), arb_bytes()).prop_map(
            |((t, data), term, index, context)| WireEntry {
                entry_type: WireEntryType::try_from(t).unwrap(),
                term,
                index,
                data,
                context,
            },
        )
    }

    fn arb_message() -> impl Strategy<Value = WireMessage> {
        let head = (
            0..19u8,
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(arb_entry(), 0..4),
            any::<u64>(),
        );
        let tail = (
            any::<u64>(),
            prop::option::of(arb_snapshot()),
            any::<u64>(),
            any::<bool>(),
            any::<u64>(),
            arb_bytes(),
            any::<u64>(),
            any::<i64>(),
        );
        (head, tail).prop_map(
            |(
                (t, to, from, term, log_term, index, entries, commit),
                (
                    commit_term,
                    snapshot,
                    request_snapshot,
                    reject,
                    reject_hint,
                    context,
                    deprecated_priority,
                    priority,
                ),
            )| WireMessage {
                msg_type: WireMessageType::try_from(t).unwrap(),
                to,
                from,
                term,
                log_term,
                index,
                entries,
                commit,
                commit_term,
                snapshot,
                request_snapshot,
                reject,
                reject_hint,
                context,
                deprecated_priority,
                priority,
            },
        )
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(wire) = decode(&bytes, LIMIT) {
                let _ = Message::try_from(wire);
            }
        }

        #[test]
        fn any_wire_message_round_trips(wire in arb_message()) {
            let bytes = encode(&wire);
            let back = decode(&bytes, LIMIT).unwrap();
            prop_assert_eq!(&back, &wire);
            // Through protobuf and back, when raft-rs would accept the shape; valid
            // membership changes are never what is refused.
            match Message::try_from(back) {
                Ok(pb) => prop_assert_eq!(WireMessage::from(pb), wire),
                Err(e) => prop_assert!(
                    matches!(
                        e,
                        WireError::EmptyProposal
                            | WireError::NonContiguousEntries { .. }
                            | WireError::IndexOverflow { .. }
                            | WireError::ConfChangeV1 { .. }
                    ),
                    "{e}"
                ),
            }
        }

        #[test]
        fn any_conf_change_round_trips_through_protobuf(cc in arb_conf_change()) {
            let entry = Entry::try_from(wire_conf_change_entry(postcard::to_stdvec(&cc).unwrap()))
                .unwrap();
            let parsed = ConfChangeV2::parse_from_bytes(&entry.data).unwrap();
            prop_assert_eq!(WireConfChangeV2::from(parsed), cc.clone());
            let back = WireEntry::from(entry);
            prop_assert_eq!(postcard::from_bytes::<WireConfChangeV2>(&back.data).unwrap(), cc);
        }

        #[test]
        fn garbage_conf_change_data_is_an_error_not_a_panic(data in arb_conf_change_garbage()) {
            let w = wire_conf_change_entry(data.clone());
            if let Ok(entry) = Entry::try_from(w) {
                // Only a whole, valid WireConfChangeV2 gets through, as the protobuf of
                // that very change.
                let (cc, rest) = postcard::take_from_bytes::<WireConfChangeV2>(&data).unwrap();
                prop_assert!(rest.is_empty());
                let parsed = ConfChangeV2::parse_from_bytes(&entry.data).unwrap();
                prop_assert_eq!(WireConfChangeV2::from(parsed), cc);
            }
        }

        #[test]
        fn corrupted_frames_never_panic(
            wire in arb_message(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&wire);
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            let len = cut.index(bytes.len() + 1);
            if let Ok(wire) = decode(&bytes[..len], LIMIT) {
                let _ = Message::try_from(wire);
            }
        }
    }
}
