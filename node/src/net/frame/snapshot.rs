//! Raft snapshots sent in chunks: a snapshot is too large for one frame, so it goes as a
//! header frame, then its data in raw chunks, checked against the header's hash.
//!
//! [`write_snapshot`] sends a [`SnapshotHeader`] frame (the message with its snapshot data
//! taken out, the data's length and its blake3 hash), then the data in chunks of at most
//! the given size ([`SNAPSHOT_CHUNK`], 1 MiB, in production). A chunk is a 4-byte
//! big-endian length and that many raw bytes: the data is not postcard-encoded again.
//! [`read_snapshot`] refuses a total over its `max_total` before reading any data, refuses
//! an empty chunk and a chunk longer than what is left, reads nothing past the last chunk,
//! and checks the hash at the end.
//!
//! The reassembly buffer grows as data arrives (by at most [`SNAPSHOT_CHUNK`] before the
//! bytes to fill it are read, however long a chunk claims to be), rather than reserving
//! the header's `total_len` up front: a peer that announces a large snapshot and sends
//! nothing costs nothing, and memory only ever follows data actually received.
//!
//! Like [`read_frame`], [`read_snapshot`] is not cancel safe: a read dropped midway leaves
//! the stream inside the snapshot, so the stream must then be closed.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{FrameError, PREFIX, read_frame, read_full, write_frame};
use crate::raft::wire::WireMessage;

/// The most bytes of snapshot data [`read_snapshot`] accepts in production.
pub const MAX_SNAPSHOT: u64 = 1 << 30;
/// The chunk size [`write_snapshot`] is given in production.
pub const SNAPSHOT_CHUNK: usize = 1 << 20;
/// The most bytes in a [`SnapshotHeader`] frame: a `MsgSnapshot` without its data holds
/// only metadata (a term, an index and the configuration's node ids).
pub const MAX_SNAPSHOT_HEADER: usize = 64 << 10;

/// The first frame of a snapshot on the wire: the message with its snapshot data taken
/// out, and what [`read_snapshot`] needs to take the data in and check it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SnapshotHeader {
    /// The message, `snapshot.data` empty (`snapshot` may be `None`, with no data).
    pub message: WireMessage,
    /// Bytes of data in the chunks that follow.
    pub total_len: u64,
    /// blake3 of the data.
    pub hash: [u8; 32],
}

/// Writes a message carrying a snapshot as a [`SnapshotHeader`] frame, then its data in
/// chunks of at most `chunk` bytes (a `chunk` of 0 is taken as 1). Meant for `MsgSnapshot`,
/// but any message goes through; one without a snapshot is a header alone.
pub async fn write_snapshot<W>(
    w: &mut W,
    mut message: WireMessage,
    chunk: usize,
) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    let data = message
        .snapshot
        .as_mut()
        .map(|snapshot| std::mem::take(&mut snapshot.data))
        .unwrap_or_default();
    let header = SnapshotHeader {
        message,
        total_len: data.len() as u64,
        hash: *blake3::hash(&data).as_bytes(),
    };
    write_frame(w, &header, MAX_SNAPSHOT_HEADER).await?;
    let chunk = chunk.clamp(1, u32::MAX as usize);
    for piece in data.chunks(chunk) {
        // At most `chunk`, so at most u32::MAX.
        let len = piece.len() as u32;
        w.write_all(&len.to_be_bytes()).await?;
        w.write_all(piece).await?;
    }
    Ok(())
}

/// Reads a [`SnapshotHeader`] frame, then chunks until its `total_len`, and returns the
/// reassembled message. Refuses a `total_len` over `max_total` before reading any data, a
/// header with data in it (or data for a message without a snapshot), an empty chunk, a
/// chunk longer than what is left, and data that does not match the hash. Reads nothing
/// past the last chunk.
pub async fn read_snapshot<R>(r: &mut R, max_total: u64) -> Result<WireMessage, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let SnapshotHeader {
        mut message,
        total_len,
        hash,
    } = read_frame(r, MAX_SNAPSHOT_HEADER)
        .await?
        .ok_or(FrameError::NoSnapshot)?;
    let too_large = FrameError::SnapshotTooLarge {
        len: total_len,
        max: max_total,
    };
    if total_len > max_total {
        return Err(too_large);
    }
    let Ok(total) = usize::try_from(total_len) else {
        return Err(too_large);
    };
    match &message.snapshot {
        Some(snapshot) if !snapshot.data.is_empty() => {
            return Err(FrameError::SnapshotHeader(
                "snapshot data inside the header",
            ));
        }
        None if total > 0 => {
            return Err(FrameError::SnapshotHeader(
                "data announced for a message without a snapshot",
            ));
        }
        _ => {}
    }

    let mut data = Vec::new();
    while data.len() < total {
        let remaining = total - data.len();
        let Some(len) = read_len(r).await? else {
            return Err(FrameError::SnapshotTruncated {
                received: data.len() as u64,
                total: total_len,
            });
        };
        if len == 0 {
            return Err(FrameError::EmptyChunk);
        }
        let len = match usize::try_from(len) {
            Ok(len) if len <= remaining => len,
            _ => {
                return Err(FrameError::ChunkOvershoots {
                    len: len.into(),
                    remaining: remaining as u64,
                });
            }
        };
        read_chunk(r, &mut data, len).await?;
    }
    if blake3::hash(&data) != hash {
        return Err(FrameError::HashMismatch);
    }
    if let Some(snapshot) = message.snapshot.as_mut() {
        snapshot.data = data;
    }
    Ok(message)
}

/// Appends a chunk of `len` bytes to `data`, growing it by at most [`SNAPSHOT_CHUNK`]
/// before reading the bytes to fill that growth.
async fn read_chunk<R>(r: &mut R, data: &mut Vec<u8>, len: usize) -> Result<(), FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut done = 0;
    while done < len {
        let step = (len - done).min(SNAPSHOT_CHUNK);
        let start = data.len();
        data.resize(start + step, 0);
        let got = read_full(r, &mut data[start..]).await?;
        if got < step {
            return Err(FrameError::TruncatedBody {
                len,
                got: done + got,
            });
        }
        done += step;
    }
    Ok(())
}

/// Reads a length prefix: `None` on a clean end of stream before its first byte.
async fn read_len<R>(r: &mut R) -> Result<Option<u32>, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut prefix = [0u8; PREFIX];
    match read_full(r, &mut prefix).await? {
        0 => Ok(None),
        PREFIX => Ok(Some(u32::from_be_bytes(prefix))),
        got => Err(FrameError::TruncatedLength { got }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::net::frame::tests::{data, message, peer_messages, then_fail};
    use crate::net::frame::{MAX_PEER_FRAME, encode_frame};
    use crate::raft::wire::{WireConfState, WireMessageType, WireSnapshot, WireSnapshotMetadata};
    use crate::replica::message::PeerMessage;

    fn snapshot_message(data: Vec<u8>) -> WireMessage {
        WireMessage {
            entries: vec![],
            snapshot: Some(WireSnapshot {
                data,
                metadata: Some(WireSnapshotMetadata {
                    conf_state: Some(WireConfState {
                        voters: vec![1, 2, 3],
                        learners: vec![],
                        voters_outgoing: vec![],
                        learners_next: vec![],
                        auto_leave: false,
                    }),
                    index: 1000,
                    term: 7,
                }),
            }),
            ..message(WireMessageType::MsgSnapshot)
        }
    }

    async fn snapshot_bytes(message: WireMessage, chunk: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        write_snapshot(&mut bytes, message, chunk).await.unwrap();
        bytes
    }

    fn header_bytes(message: WireMessage, total_len: u64, hash: [u8; 32]) -> Vec<u8> {
        let header = SnapshotHeader {
            message,
            total_len,
            hash,
        };
        encode_frame(&header, MAX_SNAPSHOT_HEADER).unwrap()
    }

    fn chunk_bytes(data: &[u8]) -> Vec<u8> {
        [&(data.len() as u32).to_be_bytes()[..], data].concat()
    }

    /// Runs a future to completion on a fresh current-thread runtime (for proptest bodies
    /// and helpers outside `#[tokio::test]`).
    fn futures_block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[tokio::test]
    async fn snapshots_round_trip_in_chunks_over_a_small_pipe() {
        let cases = [
            (1000, 64),         // 15 whole chunks and one of 40 bytes
            (1024, 64),         // whole chunks only
            (300, 1),           // one byte at a time
            (300, 0),           // 0 is taken as 1
            (300, 1 << 20),     // one chunk
            (3 << 20, 1 << 20), // the production chunk size, several chunks
            (0, 64),            // a snapshot without data
        ];
        for (len, chunk) in cases {
            let sent = snapshot_message(data(len));
            let (mut w, mut r) = tokio::io::duplex(4096);
            let writer = async {
                write_snapshot(&mut w, sent.clone(), chunk).await.unwrap();
                // Something after the snapshot on the same stream, read separately.
                write_frame(&mut w, &5u8, 8).await.unwrap();
                drop(w);
            };
            let reader = async {
                let got = read_snapshot(&mut r, MAX_SNAPSHOT).await.unwrap();
                let next = read_frame::<_, u8>(&mut r, 8).await.unwrap();
                (got, next)
            };
            let ((), (got, next)) = tokio::join!(writer, reader);
            assert_eq!(got, sent, "{len} bytes in chunks of {chunk}");
            assert_eq!(next, Some(5));
        }
    }

    #[tokio::test]
    async fn a_message_without_a_snapshot_is_a_header_alone() {
        let sent = message(WireMessageType::MsgAppend);
        let bytes = snapshot_bytes(sent.clone(), 64).await;
        let mut rest = bytes.as_slice();
        assert_eq!(read_snapshot(&mut rest, MAX_SNAPSHOT).await.unwrap(), sent);
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn the_header_holds_no_data_and_the_chunks_are_at_most_the_chunk_size() {
        let bytes = snapshot_bytes(snapshot_message(data(100)), 30).await;
        let mut rest = bytes.as_slice();
        let header: SnapshotHeader = read_frame(&mut rest, MAX_SNAPSHOT_HEADER)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(header.total_len, 100);
        assert!(header.message.snapshot.unwrap().data.is_empty());
        assert_eq!(header.hash, *blake3::hash(&data(100)).as_bytes());
        let mut lens = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            lens.push(len);
            rest = &rest[4 + len..];
        }
        assert_eq!(lens, [30, 30, 30, 10]);
    }

    #[tokio::test]
    async fn a_tampered_chunk_fails_the_hash() {
        let mut bytes = snapshot_bytes(snapshot_message(data(500)), 100).await;
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let got = read_snapshot(&mut bytes.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::HashMismatch)));
        // And a wrong hash in the header, with the data intact.
        let header = header_bytes(snapshot_message(vec![]), 3, [0; 32]);
        let bytes = [header, chunk_bytes(b"abc")].concat();
        let got = read_snapshot(&mut bytes.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::HashMismatch)));
    }

    #[tokio::test]
    async fn a_total_over_the_limit_is_refused_before_any_data_is_read() {
        for total in [1001, MAX_SNAPSHOT + 1, u64::MAX] {
            let header = header_bytes(snapshot_message(vec![]), total, [0; 32]);
            let got = read_snapshot(&mut then_fail(&header), 1000).await;
            assert!(
                matches!(got, Err(FrameError::SnapshotTooLarge { len, max: 1000 }) if len == total),
                "{got:?}"
            );
        }
        // At the limit, the data is read (here, asked for and missing).
        let header = header_bytes(snapshot_message(vec![]), 1000, [0; 32]);
        let got = read_snapshot(&mut header.as_slice(), 1000).await;
        assert!(matches!(
            got,
            Err(FrameError::SnapshotTruncated {
                received: 0,
                total: 1000
            })
        ));
    }

    #[tokio::test]
    async fn an_overshooting_chunk_is_refused_before_its_body_is_read() {
        let d = data(10);
        let header = header_bytes(snapshot_message(vec![]), 10, *blake3::hash(&d).as_bytes());
        // 6 bytes, then a chunk of 5 where 4 are left.
        let bytes = [
            header.clone(),
            chunk_bytes(&d[..6]),
            5u32.to_be_bytes().to_vec(),
        ]
        .concat();
        let got = read_snapshot(&mut then_fail(&bytes), MAX_SNAPSHOT).await;
        assert!(
            matches!(
                got,
                Err(FrameError::ChunkOvershoots {
                    len: 5,
                    remaining: 4
                })
            ),
            "{got:?}"
        );
        // A chunk claiming far more than the whole snapshot.
        let bytes = [header.clone(), u32::MAX.to_be_bytes().to_vec()].concat();
        let got = read_snapshot(&mut then_fail(&bytes), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::ChunkOvershoots { .. })));
        // The exact remainder is fine.
        let bytes = [header, chunk_bytes(&d[..6]), chunk_bytes(&d[6..])].concat();
        let got = read_snapshot(&mut bytes.as_slice(), MAX_SNAPSHOT)
            .await
            .unwrap();
        assert_eq!(got.snapshot.unwrap().data, d);
    }

    #[tokio::test]
    async fn malformed_snapshot_streams_are_refused() {
        let d = data(10);
        let hash = *blake3::hash(&d).as_bytes();
        let header = header_bytes(snapshot_message(vec![]), 10, hash);

        let empty_chunk = [header.clone(), 0u32.to_be_bytes().to_vec()].concat();
        let cut_in_chunk = [header.clone(), chunk_bytes(&d)[..8].to_vec()].concat();
        let cut_in_prefix = [header.clone(), chunk_bytes(&d)[..2].to_vec()].concat();
        let data_in_header = header_bytes(snapshot_message(d.clone()), 10, hash);
        let no_snapshot = header_bytes(message(WireMessageType::MsgSnapshot), 10, hash);
        let garbage_header = [&[0, 0, 0, 2][..], &[0xff, 0xff]].concat();

        let got = read_snapshot(&mut empty_chunk.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::EmptyChunk)));
        let got = read_snapshot(&mut cut_in_chunk.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(
            got,
            Err(FrameError::TruncatedBody { len: 10, got: 4 })
        ));
        let got = read_snapshot(&mut cut_in_prefix.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::TruncatedLength { got: 2 })));
        let got = read_snapshot(&mut data_in_header.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::SnapshotHeader(_))));
        let got = read_snapshot(&mut no_snapshot.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::SnapshotHeader(_))));
        let got = read_snapshot(&mut garbage_header.as_slice(), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::Decode(_))));
        let got = read_snapshot(&mut &[][..], MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::NoSnapshot)));
        // A header over its own limit, refused before its body.
        let prefix = (MAX_SNAPSHOT_HEADER as u32 + 1).to_be_bytes();
        let got = read_snapshot(&mut then_fail(&prefix), MAX_SNAPSHOT).await;
        assert!(matches!(got, Err(FrameError::TooLarge { .. })));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..512),
            max in prop_oneof![Just(MAX_PEER_FRAME), 0..600usize],
        ) {
            futures_block_on(async {
                let mut rest = bytes.as_slice();
                while let Ok(Some(_)) = read_frame::<_, PeerMessage>(&mut rest, max).await {}
                let mut rest = bytes.as_slice();
                while let Ok(Some(_)) = read_frame::<_, SnapshotHeader>(&mut rest, max).await {}
                let _ = read_snapshot(&mut bytes.as_slice(), 1 << 20).await;
            });
        }

        #[test]
        fn corrupted_streams_never_panic(
            len in 0..400usize,
            chunk in 1..100usize,
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut frames = futures_block_on(snapshot_bytes(snapshot_message(data(len)), chunk));
            for m in peer_messages() {
                frames.extend(encode_frame(&m, MAX_PEER_FRAME).unwrap());
            }
            for (at, value) in edits {
                let i = at.index(frames.len());
                frames[i] = value;
            }
            frames.truncate(cut.index(frames.len() + 1));
            futures_block_on(async {
                let mut rest = frames.as_slice();
                if read_snapshot(&mut rest, 1 << 20).await.is_ok() {
                    while let Ok(Some(_)) = read_frame::<_, PeerMessage>(&mut rest, MAX_PEER_FRAME).await {}
                }
                let mut rest = frames.as_slice();
                while let Ok(Some(_)) = read_frame::<_, PeerMessage>(&mut rest, MAX_PEER_FRAME).await {}
            });
        }
    }
}
