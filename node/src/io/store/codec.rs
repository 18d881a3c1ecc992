//! The key layout and record encodings of the store.
//!
//! | keyspace     | key                          | value                                  |
//! |--------------|------------------------------|----------------------------------------|
//! | `raft_log`   | index, u64 big-endian        | `Entry` (protobuf)                     |
//! | `raft_terms` | index, u64 big-endian        | the entry's term, u64 big-endian       |
//! | `raft_state` | `"format"`                   | [`FORMAT`]                             |
//! | `raft_state` | `"hard_state"`               | `HardState` (protobuf)                 |
//! | `raft_state` | `"conf_state"`               | `ConfState` (protobuf)                 |
//! | `raft_state` | `"truncated"`                | index, term of the entry before the first one: 2 × u64 big-endian |
//! | `blocks`     | height, u64 big-endian       | block bytes (opaque)                   |
//! | `receipts`   | tx hash, 32 bytes            | receipt bytes (opaque)                 |
//! | `snapshots`  | index, u64 big-endian        | `Snapshot` with its data (protobuf); only the latest is kept |
//! | `meta`       | UTF-8 name                   | bytes (opaque)                         |
//!
//! `raft_terms` holds every entry's term beside the entry, written and removed in the same
//! batches, so opening a store reads 8 bytes an entry rather than the entries themselves.
//!
//! Big-endian keys make range scans come out in index and height order. Protobuf is used
//! because raft-rs' types already speak it; this is our own disk, never the network.

use protobuf::Message;

use super::error::{StoreError, corrupt};

pub(super) const RAFT_LOG: &str = "raft_log";
pub(super) const RAFT_TERMS: &str = "raft_terms";
pub(super) const RAFT_STATE: &str = "raft_state";
pub(super) const BLOCKS: &str = "blocks";
pub(super) const RECEIPTS: &str = "receipts";
pub(super) const SNAPSHOTS: &str = "snapshots";
pub(super) const META: &str = "meta";

pub(super) const KEY_FORMAT: &[u8] = b"format";
pub(super) const KEY_HARD_STATE: &[u8] = b"hard_state";
pub(super) const KEY_CONF_STATE: &[u8] = b"conf_state";
pub(super) const KEY_TRUNCATED: &[u8] = b"truncated";

/// The version of this layout, stored under `raft_state/format`.
pub(super) const FORMAT: &[u8] = b"qraft-store-2";
/// The layout before `raft_terms`: opening such a store writes the terms of its log
/// once, then the current format.
pub(super) const FORMAT_WITHOUT_TERMS: &[u8] = b"qraft-store-1";

/// The largest log index the store accepts, so index arithmetic can never overflow.
pub(super) const MAX_INDEX: u64 = i64::MAX as u64;

/// The largest value fjall stores.
const MAX_VALUE_LEN: usize = u32::MAX as usize;
/// The largest key fjall stores.
pub(super) const MAX_KEY_LEN: usize = u16::MAX as usize;

/// The key of a log index, block height or snapshot index.
pub(super) fn u64_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Reads back a [`u64_key`].
pub(super) fn parse_u64_key(keyspace: &'static str, key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            corrupt(
                keyspace,
                key,
                format!("key is {} bytes, expected 8", key.len()),
            )
        })
}

/// Encodes a protobuf record, refusing one too large for fjall.
pub(super) fn encode<M: Message>(keyspace: &str, m: &M) -> Result<Vec<u8>, StoreError> {
    let bytes = m.write_to_bytes().map_err(|e| {
        StoreError::Invalid(format!("cannot encode a record for `{keyspace}`: {e}"))
    })?;
    check_value_len(keyspace, bytes.len())?;
    Ok(bytes)
}

/// Refuses a value fjall cannot store (it would panic).
pub(super) fn check_value_len(keyspace: &str, len: usize) -> Result<(), StoreError> {
    if len > MAX_VALUE_LEN {
        return Err(StoreError::Invalid(format!(
            "a value of {len} bytes for `{keyspace}` exceeds the maximum of {MAX_VALUE_LEN}"
        )));
    }
    Ok(())
}

/// Decodes a protobuf record; a failure names the keyspace and key.
pub(super) fn decode<M: Message>(
    keyspace: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<M, StoreError> {
    M::parse_from_bytes(bytes).map_err(|e| corrupt(keyspace, key, format!("undecodable: {e}")))
}

/// A `raft_terms` value.
pub(super) fn encode_term(term: u64) -> [u8; 8] {
    term.to_be_bytes()
}

/// Reads back an [`encode_term`] value stored at `key`.
pub(super) fn decode_term(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| {
            corrupt(
                RAFT_TERMS,
                key,
                format!("{} bytes, expected 8", bytes.len()),
            )
        })
}

/// The `truncated` record: the index and term of the entry just before the first one.
pub(super) fn encode_truncated(index: u64, term: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&index.to_be_bytes());
    out[8..].copy_from_slice(&term.to_be_bytes());
    out
}

/// Reads back an [`encode_truncated`] record.
pub(super) fn decode_truncated(bytes: &[u8]) -> Result<(u64, u64), StoreError> {
    let bad = || {
        corrupt(
            RAFT_STATE,
            KEY_TRUNCATED,
            format!("{} bytes, expected 16", bytes.len()),
        )
    };
    let b = <[u8; 16]>::try_from(bytes).map_err(|_| bad())?;
    let (i, t) = b.split_at(8);
    let index = u64::from_be_bytes(i.try_into().map_err(|_| bad())?);
    let term = u64::from_be_bytes(t.try_into().map_err(|_| bad())?);
    if index >= MAX_INDEX {
        return Err(corrupt(
            RAFT_STATE,
            KEY_TRUNCATED,
            format!("index {index} out of range"),
        ));
    }
    Ok((index, term))
}
