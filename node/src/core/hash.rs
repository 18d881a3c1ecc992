//! 32-byte hashes with domain separation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A blake3 hash. Displayed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0; 32]);

    /// `blake3(len(tag) || tag || data)`: hashes of different kinds never collide by
    /// construction.
    pub fn of(tag: &str, data: &[u8]) -> Hash32 {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&(tag.len() as u64).to_le_bytes());
        hasher.update(tag.as_bytes());
        hasher.update(data);
        Hash32(*hasher.finalize().as_bytes())
    }

    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// The first `n` hex digits, for compact displays.
    pub fn short(&self, n: usize) -> String {
        let mut s = self.to_string();
        s.truncate(n);
        s
    }

    /// The hash whose 64 hex digits `text` is (either case; spaces around are ignored).
    pub fn from_hex(text: &str) -> Option<Hash32> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out).ok()?;
        Some(Hash32(out))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short(12))
    }
}

/// The root of a binary Merkle tree over `leaves` (RFC 6962 style: leaves and inner
/// nodes hashed with different tags, an odd node promoted unchanged). Empty: zero hash.
pub fn merkle_root(leaves: &[Hash32]) -> Hash32 {
    if leaves.is_empty() {
        return Hash32::ZERO;
    }
    let mut level: Vec<Hash32> = leaves
        .iter()
        .map(|leaf| Hash32::of("qraft/merkle/leaf", &leaf.0))
        .collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut both = [0u8; 64];
                    both[..32].copy_from_slice(&left.0);
                    both[32..].copy_from_slice(&right.0);
                    Hash32::of("qraft/merkle/node", &both)
                }
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = Hash32::of("t", b"x");
        assert_eq!(Hash32::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash32::from_hex("zz"), None);
    }

    #[test]
    fn tags_separate_domains() {
        assert_ne!(Hash32::of("a", b"bc"), Hash32::of("ab", b"c"));
    }

    #[test]
    fn merkle_root_depends_on_every_leaf_and_order() {
        let leaves: Vec<Hash32> = (0..5u8).map(|i| Hash32::of("l", &[i])).collect();
        let root = merkle_root(&leaves);
        for i in 0..leaves.len() {
            let mut changed = leaves.clone();
            changed[i] = Hash32::of("l", &[99]);
            assert_ne!(merkle_root(&changed), root);
        }
        let mut swapped = leaves.clone();
        swapped.swap(0, 1);
        assert_ne!(merkle_root(&swapped), root);
        assert_eq!(merkle_root(&[]), Hash32::ZERO);
        assert_ne!(merkle_root(&leaves[..1]), leaves[0]);
    }
}
