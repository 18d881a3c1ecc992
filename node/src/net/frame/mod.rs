//! Length-prefixed postcard frames: writing and reading them within their limits, and the
//! error a stream is closed with when that fails. Raft snapshots, too large for one frame,
//! go in chunks after a header frame ([`write_snapshot`], [`read_snapshot`]: the
//! `snapshot` file beside this one).
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
//!   of MB, so it is never one frame: it goes in chunks ([`write_snapshot`]).
//!   [`MAX_SNAPSHOT`] (1 GiB) bounds the whole and [`MAX_SNAPSHOT_HEADER`] (64 KiB) its
//!   header.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::core::tx::MAX_TX_BYTES;

mod snapshot;

pub use snapshot::{
    MAX_SNAPSHOT, MAX_SNAPSHOT_HEADER, SNAPSHOT_CHUNK, SnapshotHeader, read_snapshot,
    write_snapshot,
};

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
mod tests;
