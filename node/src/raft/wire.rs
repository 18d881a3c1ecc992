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
mod tests;
