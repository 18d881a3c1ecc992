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
    (0..3u8, prop::collection::vec(single, 0..5), arb_bytes()).prop_map(|(t, changes, context)| {
        WireConfChangeV2 {
            transition: WireTransition::try_from(t).unwrap(),
            changes,
            context,
        }
    })
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
    (data, any::<u64>(), any::<u64>(), arb_bytes()).prop_map(|((t, data), term, index, context)| {
        WireEntry {
            entry_type: WireEntryType::try_from(t).unwrap(),
            term,
            index,
            data,
            context,
        }
    })
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
