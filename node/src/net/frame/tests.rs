//! Frames: the wire format, the limits (checked before allocating), the errors and their
//! codes, partial and stalled streams. The test helpers marked `pub(super)` serve the
//! snapshot tests too.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::ReadBuf;

use super::*;
use crate::api::Refusal;
use crate::raft::wire::{WireEntry, WireEntryType, WireMessage, WireMessageType};
use crate::replica::ReplicaConfig;
use crate::replica::message::PeerMessage;

/// A reader that fails if read at all: what follows a prefix that must be refused.
struct MustNotRead;

impl AsyncRead for MustNotRead {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Err(io::Error::other("read past what had to be refused")))
    }
}

/// `bytes`, then a reader that fails if asked for more.
pub(super) fn then_fail(bytes: &[u8]) -> impl AsyncRead + Unpin + '_ {
    bytes.chain(MustNotRead)
}

pub(super) fn message(msg_type: WireMessageType) -> WireMessage {
    WireMessage {
        msg_type,
        to: 2,
        from: 1,
        term: 7,
        log_term: 6,
        index: 41,
        entries: vec![WireEntry {
            entry_type: WireEntryType::EntryNormal,
            term: 7,
            index: 42,
            data: b"a block of transactions".to_vec(),
            context: vec![],
        }],
        commit: 40,
        commit_term: 6,
        snapshot: None,
        request_snapshot: 0,
        reject: false,
        reject_hint: 0,
        context: vec![],
        deprecated_priority: 0,
        priority: 0,
    }
}

/// Bytes that are not all alike, so a misplaced chunk would show.
pub(super) fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

pub(super) fn peer_messages() -> Vec<PeerMessage> {
    vec![
        PeerMessage::Raft(Box::new(message(WireMessageType::MsgAppend))),
        PeerMessage::Forward(vec![]),
        PeerMessage::Refused(vec![]),
        PeerMessage::Raft(Box::new(message(WireMessageType::MsgHeartbeat))),
    ]
}

#[tokio::test]
async fn frames_round_trip_back_to_back_over_a_small_pipe() {
    // A 16-byte pipe: every frame crosses in many partial reads and writes.
    let (mut w, mut r) = tokio::io::duplex(16);
    let sent = peer_messages();
    let writer = async {
        for m in &sent {
            write_frame(&mut w, m, MAX_PEER_FRAME).await.unwrap();
        }
        write_frame(&mut w, &Refusal::NonceInUse { nonce: 9 }, MAX_PEER_FRAME)
            .await
            .unwrap();
        drop(w);
    };
    let reader = async {
        let mut got = Vec::new();
        for _ in 0..sent.len() {
            got.push(
                read_frame::<_, PeerMessage>(&mut r, MAX_PEER_FRAME)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let refusal = read_frame::<_, Refusal>(&mut r, MAX_PEER_FRAME)
            .await
            .unwrap();
        let end = read_frame::<_, PeerMessage>(&mut r, MAX_PEER_FRAME)
            .await
            .unwrap();
        (got, refusal, end)
    };
    let ((), (got, refusal, end)) = tokio::join!(writer, reader);
    assert_eq!(got, sent);
    assert_eq!(refusal, Some(Refusal::NonceInUse { nonce: 9 }));
    assert!(end.is_none());
}

#[tokio::test]
async fn the_wire_format_is_a_big_endian_length_then_postcard() {
    let value = (7u8, String::from("hi"));
    let mut bytes = Vec::new();
    write_frame(&mut bytes, &value, 16).await.unwrap();
    let body = postcard::to_stdvec(&value).unwrap();
    assert_eq!(bytes, [&[0, 0, 0, body.len() as u8][..], &body].concat());
    assert_eq!(encode_frame(&value, 16).unwrap(), bytes);
}

#[tokio::test]
async fn a_frame_exactly_at_the_limit_passes_and_one_byte_more_does_not() {
    let value = vec![1u8; 100];
    let len = postcard::to_stdvec(&value).unwrap().len();
    let bytes = encode_frame(&value, len).unwrap();
    let back: Vec<u8> = read_frame(&mut bytes.as_slice(), len)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, value);
    assert!(matches!(
        read_frame::<_, Vec<u8>>(&mut then_fail(&bytes[..PREFIX]), len - 1).await,
        Err(FrameError::TooLarge { len: l, max }) if l == len as u64 && max == len - 1
    ));
}

#[tokio::test]
async fn the_writer_refuses_a_frame_over_the_limit_and_writes_nothing() {
    let mut bytes = Vec::new();
    let err = write_frame(&mut bytes, &vec![0u8; 1000], 999)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        FrameError::TooLarge {
            len: 1002,
            max: 999
        }
    ));
    assert!(bytes.is_empty());
}

#[tokio::test]
async fn a_length_over_the_limit_is_refused_before_reading_the_body() {
    for len in [MAX_CLIENT_REQUEST as u32 + 1, 1 << 30, u32::MAX] {
        let prefix = len.to_be_bytes();
        // The body is never asked for: MustNotRead would make it an Io error.
        let err = read_frame::<_, PeerMessage>(&mut then_fail(&prefix), MAX_CLIENT_REQUEST)
            .await
            .unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { len: l, max: MAX_CLIENT_REQUEST } if l == u64::from(len)),
            "{err}"
        );
    }
}

#[tokio::test]
async fn clean_end_truncated_length_and_truncated_body_are_told_apart() {
    let bytes = encode_frame(&peer_messages()[0], MAX_PEER_FRAME).unwrap();
    let body = bytes.len() - PREFIX;
    for cut in 0..bytes.len() {
        let got = read_frame::<_, PeerMessage>(&mut &bytes[..cut], MAX_PEER_FRAME).await;
        match cut {
            0 => assert!(matches!(got, Ok(None))),
            1..PREFIX => assert!(
                matches!(got, Err(FrameError::TruncatedLength { got }) if got == cut),
                "cut at {cut}"
            ),
            _ => assert!(
                matches!(got, Err(FrameError::TruncatedBody { len, got })
                    if len == body && got == cut - PREFIX),
                "cut at {cut}"
            ),
        }
    }
}

#[tokio::test]
async fn garbage_postcard_is_a_decode_error() {
    let cases: [&[u8]; 4] = [
        // No such PeerMessage variant.
        &[9],
        // A varint that never ends.
        &[0xff; 12],
        // Raft, then a message type that does not exist.
        &[0, 200, 2, 1],
        // An empty body.
        &[],
    ];
    for body in cases {
        let bytes = [&(body.len() as u32).to_be_bytes()[..], body].concat();
        let got = read_frame::<_, PeerMessage>(&mut bytes.as_slice(), MAX_PEER_FRAME).await;
        assert!(matches!(got, Err(FrameError::Decode(_))), "{body:?}");
    }
}

#[tokio::test]
async fn bytes_after_the_value_inside_a_frame_are_refused() {
    let mut body = postcard::to_stdvec(&42u32).unwrap();
    body.extend([0, 0]);
    let bytes = [&(body.len() as u32).to_be_bytes()[..], &body].concat();
    let got = read_frame::<_, u32>(&mut bytes.as_slice(), 64).await;
    assert!(matches!(got, Err(FrameError::TrailingBytes(2))));
}

#[tokio::test]
async fn a_read_takes_only_its_own_frame() {
    let first = encode_frame(&1u64, 64).unwrap();
    let bytes = [&first[..], b"whatever comes next"].concat();
    let mut rest = bytes.as_slice();
    assert_eq!(read_frame::<_, u64>(&mut rest, 64).await.unwrap(), Some(1));
    assert_eq!(rest, b"whatever comes next");
}

#[tokio::test]
async fn a_full_default_append_fits_a_peer_frame() {
    // Raft cuts appends at max_size_per_msg of entries: here as 64 KiB blocks.
    let max = ReplicaConfig::new(1).max_size_per_msg as usize;
    let block = 64 << 10;
    let mut m = message(WireMessageType::MsgAppend);
    m.entries = (0..max / block)
        .map(|i| WireEntry {
            entry_type: WireEntryType::EntryNormal,
            term: 7,
            index: 42 + i as u64,
            data: vec![0xab; block],
            context: vec![],
        })
        .collect();
    let frame = encode_frame(&PeerMessage::Raft(Box::new(m)), MAX_PEER_FRAME).unwrap();
    assert!(frame.len() < MAX_PEER_FRAME / 2 + 4096, "{}", frame.len());
}

#[test]
fn codes_are_distinct_and_reasons_short() {
    let long = "é".repeat(MAX_REASON);
    let errors = [
        FrameError::TooLarge { len: 1, max: 0 },
        FrameError::Encode(postcard::Error::SerializeSeqLengthUnknown),
        FrameError::Decode(postcard::Error::DeserializeUnexpectedEnd),
        FrameError::TrailingBytes(1),
        FrameError::TruncatedLength { got: 1 },
        FrameError::TruncatedBody { len: 2, got: 1 },
        FrameError::Io(io::Error::other(long)),
        FrameError::Deadline(FRAME_DEADLINE),
        FrameError::SnapshotTooLarge { len: 2, max: 1 },
        FrameError::SnapshotHeader("x"),
        FrameError::NoSnapshot,
        FrameError::SnapshotTruncated {
            received: 1,
            total: 2,
        },
        FrameError::EmptyChunk,
        FrameError::ChunkOvershoots {
            len: 2,
            remaining: 1,
        },
        FrameError::HashMismatch,
    ];
    let mut codes: Vec<u32> = errors.iter().map(FrameError::code).collect();
    assert!(codes.iter().all(|c| (0x100..=0x1ff).contains(c)));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
    for e in &errors {
        let reason = e.reason();
        assert!(!reason.is_empty() && reason.len() <= MAX_REASON, "{reason}");
    }
    assert!(errors[6].reason().len() > MAX_REASON - 2);
}

#[tokio::test(start_paused = true)]
async fn a_frame_buffer_grows_only_with_the_bytes_received() {
    // 64 KiB announced, 10 bytes sent, the sender silent but still there.
    let (mut w, mut r) = tokio::io::duplex(1 << 20);
    w.write_all(&[7; 10]).await.unwrap();
    let mut body = Vec::new();
    let read = read_body(&mut r, 64 << 10, &mut body);
    let waited = tokio::time::timeout(Duration::from_secs(60), read).await;
    assert!(waited.is_err(), "the body cannot be complete");
    assert!(body.capacity() <= FRAME_STEP, "{}", body.capacity());
    assert_eq!(body[..10], [7; 10]);
    drop(w);
}

#[tokio::test]
async fn a_frame_of_many_steps_arrives_whole() {
    let value = data(5 * FRAME_STEP + 123);
    let (mut w, mut r) = tokio::io::duplex(1000);
    let writer = async {
        write_frame(&mut w, &value, MAX_PEER_FRAME).await.unwrap();
    };
    let reader = read_frame::<_, Vec<u8>>(&mut r, MAX_PEER_FRAME);
    let ((), got) = tokio::join!(writer, reader);
    assert_eq!(got.unwrap().unwrap(), value);
}

#[tokio::test(start_paused = true)]
async fn the_frame_deadline_runs_from_the_first_byte() {
    let (mut w, mut r) = tokio::io::duplex(1 << 16);
    // Idle before a frame: not bounded by the frame deadline.
    let idle = tokio::time::timeout(
        FRAME_DEADLINE * 10,
        read_frame_within::<_, u64>(&mut r, 64, FRAME_DEADLINE),
    )
    .await;
    assert!(idle.is_err(), "still waiting for a first byte");
    // A whole frame after the idle time reads fine.
    write_frame(&mut w, &5u64, 64).await.unwrap();
    let got = read_frame_within::<_, u64>(&mut r, 64, FRAME_DEADLINE).await;
    assert_eq!(got.unwrap(), Some(5));
    // A frame that starts and stalls: the deadline fires.
    let started = tokio::time::Instant::now();
    w.write_all(&[0, 0, 0, 40, 1, 2]).await.unwrap();
    let got = read_frame_within::<_, Vec<u8>>(&mut r, 64, FRAME_DEADLINE).await;
    assert!(
        matches!(got, Err(FrameError::Deadline(d)) if d == FRAME_DEADLINE),
        "{got:?}"
    );
    assert!(started.elapsed() >= FRAME_DEADLINE);
    // Stalled inside the length prefix: the same.
    let (mut w, mut r) = tokio::io::duplex(64);
    w.write_all(&[0, 0]).await.unwrap();
    let got = read_frame_within::<_, u64>(&mut r, 64, FRAME_DEADLINE).await;
    assert!(matches!(got, Err(FrameError::Deadline(_))), "{got:?}");
}
