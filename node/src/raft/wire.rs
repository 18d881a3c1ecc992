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
//! Not carried: `Entry::sync_log` (deprecated and never read by raft-rs 0.7; it comes back
//! `false`) and protobuf unknown fields (never set, since we never parse protobuf).

use ::raft::eraftpb::{
    ConfState, Entry, EntryType, Message, MessageType, Snapshot, SnapshotMetadata,
};
use serde::{Deserialize, Serialize};

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
        WireEntry {
            entry_type: entry_type.into(),
            term,
            index,
            data: Vec::from(data),
            context: Vec::from(context),
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
        let entries: Vec<Entry> = w.entries.into_iter().map(Entry::from).collect();
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

impl From<WireEntry> for Entry {
    fn from(w: WireEntry) -> Self {
        Entry {
            entry_type: w.entry_type.into(),
            term: w.term,
            index: w.index,
            data: w.data.into(),
            context: w.context.into(),
            ..Entry::default()
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
                entry(EntryType::EntryConfChange, 7, 43, &[0, 1, 2, 255]),
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
        }
    }

    #[test]
    fn unknown_enum_values_are_decode_errors() {
        // All numbers below 128 take one byte, so the layout is: msg_type, to, from, term,
        // log_term, index, entry count, then the first entry's type.
        let mut m = Message::default();
        m.set_msg_type(MessageType::MsgPropose);
        m.set_entries(vec![entry(EntryType::EntryConfChangeV2, 1, 0, b"x")].into());
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

    fn arb_entry() -> impl Strategy<Value = WireEntry> {
        (0..3u8, any::<u64>(), any::<u64>(), arb_bytes(), arb_bytes()).prop_map(
            |(t, term, index, data, context)| WireEntry {
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
            // Through protobuf and back, when raft-rs would accept the shape.
            if let Ok(pb) = Message::try_from(back) {
                prop_assert_eq!(WireMessage::from(pb), wire);
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
