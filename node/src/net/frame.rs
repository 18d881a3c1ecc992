//! Length-prefixed postcard frames, and Raft snapshots sent in chunks.
//!
//! # Frames
//!
//! A frame is a 4-byte big-endian length `len`, then `len` bytes of postcard holding
//! exactly one value (bytes left over are an error, [`FrameError::TrailingBytes`]).
//!
//! [`read_frame`] checks `len` against the caller's maximum *before* allocating anything,
//! then grows its buffer as the body's bytes arrive, by at most [`FRAME_STEP`] ahead of
//! what was received: a sender that announces a large frame and sends little costs
//! little. It reads only the frame's own bytes,
//! never past it, so frames of different kinds (a [`SnapshotHeader`], chunks, then ordinary
//! frames) can follow one another on one stream. A caller that wraps the stream in a
//! `BufReader` must then do all its reads through that `BufReader`.
//!
//! Nothing here panics on any input. Every failure is a [`FrameError`], whose
//! [`code`](FrameError::code) and [`reason`](FrameError::reason) are what the transport
//! closes the stream with.
//!
//! [`read_frame`] waits as long as it takes, which suits a stream that may be idle
//! between frames. [`read_frame_within`] waits as long as it takes for a frame's first
//! byte, then gives the rest of the frame at most a deadline ([`FRAME_DEADLINE`] in
//! production): a sender that starts a frame and trickles it holds the reader's buffer
//! for a bounded time only.
//!
//! Neither [`read_frame`] nor [`read_snapshot`] is cancel safe: a read dropped midway has
//! consumed part of a frame, so the stream must then be closed rather than read again.
//! The writers do not flush; flush a buffered writer yourself (quinn's `SendStream` needs
//! no flush).
//!
//! # Limits
//!
//! - [`MAX_PEER_FRAME`], 8 MiB, for every frame between nodes. Raft cuts an append at
//!   `ReplicaConfig::max_size_per_msg` of entries (4 MiB by default), unless a single entry
//!   is larger on its own; one block of 2,000 transactions is about 300-600 KB. So a full
//!   append fits with room to spare. Forwarded transactions must be sent in batches under
//!   this limit too (at ~300 B a transaction, 8 MiB is over 20,000 of them).
//! - [`MAX_CLIENT_REQUEST`], 4 KiB, for what a client sends: one signed transaction (at
//!   most [`MAX_TX_BYTES`], 2 KiB) in a request, or a small query. A node holds at most
//!   this much for each of a client's request streams, and only for [`FRAME_DEADLINE`]
//!   once the frame has started.
//! - [`MAX_CLIENT_RESPONSE`], 8 MiB, for what a node sends a client: answers can be big
//!   (a whole block with its transactions, order-book depth, a page of block headers),
//!   but must still be bounded, since a client trusts a node no more than a node trusts
//!   a client. One block of a full batch is well under 1 MiB.
//! - Snapshots: a Raft `MsgSnapshot` carries the whole exchange state, which may be tens
//!   of MB, so it is never one frame; see below. [`MAX_SNAPSHOT`] (1 GiB) bounds the whole
//!   and [`MAX_SNAPSHOT_HEADER`] (64 KiB) its header.
//!
//! # Snapshots
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

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::core::tx::MAX_TX_BYTES;
use crate::raft::wire::WireMessage;

/// The most bytes in one frame between nodes. See the module documentation.
pub const MAX_PEER_FRAME: usize = 8 << 20;
/// The most bytes in one frame from a client to a node: the largest request is a
/// [`SignedTx`](crate::core::tx::SignedTx) of at most [`MAX_TX_BYTES`] in a
/// `Request::Submit`, whose own framing (an enum tag) is a few bytes; twice the largest
/// transaction leaves room for that and nothing else.
pub const MAX_CLIENT_REQUEST: usize = 2 * MAX_TX_BYTES;
/// How far a frame's buffer grows ahead of the bytes received: a frame body is read in
/// steps of at most this much, each allocated only when the previous one is full. 16 KiB
/// is a few QUIC packets' worth, so a real frame needs few steps, and one that announces
/// megabytes and sends nothing holds at most this.
pub const FRAME_STEP: usize = 16 << 10;
/// How long the rest of a frame may take once its first byte has arrived, for
/// [`read_frame_within`]. The largest frame is [`MAX_PEER_FRAME`] (8 MiB); 30 s lets it
/// cross a link as slow as ~280 KB/s (a crowded classroom Wi-Fi), while a sender that
/// trickles a frame to hold the reader's buffer is cut off within 30 s.
pub const FRAME_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);
/// The most bytes in one frame from a node to a client.
pub const MAX_CLIENT_RESPONSE: usize = 8 << 20;
/// The most bytes of snapshot data [`read_snapshot`] accepts in production.
pub const MAX_SNAPSHOT: u64 = 1 << 30;
/// The chunk size [`write_snapshot`] is given in production.
pub const SNAPSHOT_CHUNK: usize = 1 << 20;
/// The most bytes in a [`SnapshotHeader`] frame: a `MsgSnapshot` without its data holds
/// only metadata (a term, an index and the configuration's node ids).
pub const MAX_SNAPSHOT_HEADER: usize = 64 << 10;
/// The longest [`FrameError::reason`], in bytes, so it fits in any close frame.
pub const MAX_REASON: usize = 200;

/// Bytes in a frame's length prefix.
const PREFIX: usize = 4;

/// The application error codes a stream is closed with, one per [`FrameError`] kind.
/// They lie in `0x100..=0x1ff`, leaving every other code to the transport.
pub mod code {
    pub const TOO_LARGE: u32 = 0x101;
    pub const ENCODE: u32 = 0x102;
    pub const DECODE: u32 = 0x103;
    pub const TRAILING_BYTES: u32 = 0x104;
    pub const TRUNCATED_LENGTH: u32 = 0x105;
    pub const TRUNCATED_BODY: u32 = 0x106;
    pub const IO: u32 = 0x107;
    pub const REFUSED: u32 = 0x109;
    pub const DEADLINE: u32 = 0x108;
    pub const SNAPSHOT_TOO_LARGE: u32 = 0x111;
    pub const SNAPSHOT_HEADER: u32 = 0x112;
    pub const NO_SNAPSHOT: u32 = 0x113;
    pub const SNAPSHOT_TRUNCATED: u32 = 0x114;
    pub const EMPTY_CHUNK: u32 = 0x115;
    pub const CHUNK_OVERSHOOTS: u32 = 0x116;
    pub const HASH_MISMATCH: u32 = 0x117;
}

/// Why a frame or snapshot could not be written or read. The stream it happened on should
/// be closed with [`code`](Self::code) and [`reason`](Self::reason); the node goes on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A frame's length is over the limit (on reading, before its body was read; on
    /// writing, before anything was written).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: u64, max: usize },
    /// The value to write does not serialize (postcard needs sequence lengths up front).
    #[error("value does not encode: {0}")]
    Encode(#[source] postcard::Error),
    #[error("malformed frame: {0}")]
    Decode(#[source] postcard::Error),
    #[error("frame has {0} trailing bytes after its value")]
    TrailingBytes(usize),
    /// The stream ended inside a length prefix.
    #[error("stream ended inside a frame's length ({got} of 4 bytes)")]
    TruncatedLength { got: usize },
    /// The stream ended inside a frame's body (or a snapshot chunk's).
    #[error("stream ended inside a frame ({got} of {len} bytes)")]
    TruncatedBody { len: usize, got: usize },
    /// The sender may not send this kind of stream (a learner's snapshot).
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("stream error: {0}")]
    Io(#[from] std::io::Error),
    /// The frame started but did not arrive whole within the deadline.
    #[error("frame not received whole within {0:?} of its first byte")]
    Deadline(std::time::Duration),
    /// A snapshot header announced more data than the reader accepts.
    #[error("snapshot of {len} bytes exceeds the limit of {max} bytes")]
    SnapshotTooLarge { len: u64, max: u64 },
    #[error("malformed snapshot header: {0}")]
    SnapshotHeader(&'static str),
    /// The stream ended cleanly where a snapshot header should have been.
    #[error("stream ended before a snapshot header")]
    NoSnapshot,
    /// The stream ended cleanly between chunks, before all the data arrived.
    #[error("stream ended after {received} of {total} snapshot bytes")]
    SnapshotTruncated { received: u64, total: u64 },
    #[error("empty snapshot chunk")]
    EmptyChunk,
    #[error("snapshot chunk of {len} bytes overshoots the {remaining} bytes left")]
    ChunkOvershoots { len: u64, remaining: u64 },
    #[error("snapshot data does not match its header's hash")]
    HashMismatch,
}

impl FrameError {
    /// A short reason to send when closing the stream: the error's message, cut to at most
    /// [`MAX_REASON`] bytes.
    pub fn reason(&self) -> String {
        let mut reason = self.to_string();
        if reason.len() > MAX_REASON {
            let mut cut = MAX_REASON;
            while !reason.is_char_boundary(cut) {
                cut -= 1;
            }
            reason.truncate(cut);
        }
        reason
    }

    /// The application error code to close the stream with; see [`code`].
    pub fn code(&self) -> u32 {
        match self {
            FrameError::TooLarge { .. } => code::TOO_LARGE,
            FrameError::Encode(_) => code::ENCODE,
            FrameError::Decode(_) => code::DECODE,
            FrameError::TrailingBytes(_) => code::TRAILING_BYTES,
            FrameError::TruncatedLength { .. } => code::TRUNCATED_LENGTH,
            FrameError::TruncatedBody { .. } => code::TRUNCATED_BODY,
            FrameError::Io(_) => code::IO,
            FrameError::Refused(_) => code::REFUSED,
            FrameError::Deadline(_) => code::DEADLINE,
            FrameError::SnapshotTooLarge { .. } => code::SNAPSHOT_TOO_LARGE,
            FrameError::SnapshotHeader(_) => code::SNAPSHOT_HEADER,
            FrameError::NoSnapshot => code::NO_SNAPSHOT,
            FrameError::SnapshotTruncated { .. } => code::SNAPSHOT_TRUNCATED,
            FrameError::EmptyChunk => code::EMPTY_CHUNK,
            FrameError::ChunkOvershoots { .. } => code::CHUNK_OVERSHOOTS,
            FrameError::HashMismatch => code::HASH_MISMATCH,
        }
    }
}

/// One whole frame (length prefix and postcard body) in memory, for a value sent to
/// several peers: encode once, then `write_all` the bytes to each. Refuses a body over
/// `max` bytes.
pub fn encode_frame<T: Serialize + ?Sized>(value: &T, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut frame = postcard::to_extend(value, vec![0u8; PREFIX]).map_err(FrameError::Encode)?;
    let len = frame.len() - PREFIX;
    let prefix = checked_len(len, max)?;
    frame[..PREFIX].copy_from_slice(&prefix.to_be_bytes());
    Ok(frame)
}

/// Writes one frame: a 4-byte big-endian length, then the postcard bytes. Refuses a body
/// over `max` bytes, writing nothing.
pub async fn write_frame<W, T>(w: &mut W, value: &T, max: usize) -> Result<(), FrameError>
where
    W: AsyncWrite + Unpin + ?Sized,
    T: Serialize + ?Sized,
{
    let frame = encode_frame(value, max)?;
    w.write_all(&frame).await?;
    Ok(())
}

/// Reads one frame: `Ok(None)` on a clean end of stream before a frame starts. A length
/// over `max` is refused before anything is allocated or read past the prefix. Waits as
/// long as the stream takes; see [`read_frame_within`] for a bounded wait.
pub async fn read_frame<R, T>(r: &mut R, max: usize) -> Result<Option<T>, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
    T: DeserializeOwned,
{
    let Some(first) = read_first_byte(r).await? else {
        return Ok(None);
    };
    read_rest(r, first, max).await.map(Some)
}

/// [`read_frame`], but once the frame's first byte has arrived the rest must arrive
/// within `deadline`, or [`FrameError::Deadline`]. The wait for the first byte is not
/// bounded: a stream may be idle between frames (wrap the call in a timeout to bound
/// that too).
pub async fn read_frame_within<R, T>(
    r: &mut R,
    max: usize,
    deadline: std::time::Duration,
) -> Result<Option<T>, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
    T: DeserializeOwned,
{
    let Some(first) = read_first_byte(r).await? else {
        return Ok(None);
    };
    match tokio::time::timeout(deadline, read_rest(r, first, max)).await {
        Ok(read) => read.map(Some),
        Err(_) => Err(FrameError::Deadline(deadline)),
    }
}

/// The first byte of a frame's length prefix: `None` on a clean end of stream.
async fn read_first_byte<R>(r: &mut R) -> Result<Option<u8>, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut first = [0u8; 1];
    match read_full(r, &mut first).await? {
        0 => Ok(None),
        _ => Ok(Some(first[0])),
    }
}

/// The rest of a frame whose first byte was `first`.
async fn read_rest<R, T>(r: &mut R, first: u8, max: usize) -> Result<T, FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
    T: DeserializeOwned,
{
    let mut prefix = [first, 0, 0, 0];
    let got = read_full(r, &mut prefix[1..]).await?;
    if got < PREFIX - 1 {
        return Err(FrameError::TruncatedLength { got: 1 + got });
    }
    let len = u32::from_be_bytes(prefix);
    let len = match usize::try_from(len) {
        Ok(len) if len <= max => len,
        _ => {
            return Err(FrameError::TooLarge {
                len: len.into(),
                max,
            });
        }
    };
    let mut body = Vec::new();
    read_body(r, len, &mut body).await?;
    let (value, rest) = postcard::take_from_bytes::<T>(&body).map_err(FrameError::Decode)?;
    if !rest.is_empty() {
        return Err(FrameError::TrailingBytes(rest.len()));
    }
    Ok(value)
}

/// Reads a body of `len` bytes into `body` (empty on entry), growing it by at most
/// [`FRAME_STEP`] before reading the bytes to fill that growth. The vector grows with
/// amortized doubling, so its capacity stays within twice what was received plus a step.
async fn read_body<R>(r: &mut R, len: usize, body: &mut Vec<u8>) -> Result<(), FrameError>
where
    R: AsyncRead + Unpin + ?Sized,
{
    while body.len() < len {
        let start = body.len();
        let step = (len - start).min(FRAME_STEP);
        body.resize(start + step, 0);
        let got = read_full(r, &mut body[start..]).await?;
        if got < step {
            return Err(FrameError::TruncatedBody {
                len,
                got: start + got,
            });
        }
    }
    Ok(())
}

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

/// A frame's length, checked to fit the prefix and `max`.
fn checked_len(len: usize, max: usize) -> Result<u32, FrameError> {
    match u32::try_from(len) {
        Ok(prefix) if len <= max => Ok(prefix),
        _ => Err(FrameError::TooLarge {
            len: len as u64,
            max,
        }),
    }
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

/// `read_exact`, but an early end of stream returns how many bytes were read instead of
/// an error, so the caller can tell a clean end from a truncated frame.
async fn read_full<R>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use proptest::prelude::*;
    use tokio::io::ReadBuf;

    use super::*;
    use crate::raft::wire::{
        WireConfState, WireEntry, WireEntryType, WireMessageType, WireSnapshot,
        WireSnapshotMetadata,
    };
    use crate::replica::ReplicaConfig;
    use crate::replica::message::{PeerMessage, Refusal};

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
    fn then_fail(bytes: &[u8]) -> impl AsyncRead + Unpin + '_ {
        bytes.chain(MustNotRead)
    }

    fn message(msg_type: WireMessageType) -> WireMessage {
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

    /// Bytes that are not all alike, so a misplaced chunk would show.
    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn peer_messages() -> Vec<PeerMessage> {
        vec![
            PeerMessage::Raft(Box::new(message(WireMessageType::MsgAppend))),
            PeerMessage::Forward(vec![]),
            PeerMessage::Refused(vec![]),
            PeerMessage::Raft(Box::new(message(WireMessageType::MsgHeartbeat))),
        ]
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
