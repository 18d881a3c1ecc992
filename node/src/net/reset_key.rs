//! The key a node's QUIC stateless resets are made with, derived from its node key.
//!
//! A QUIC endpoint hands its peers, with every connection id it issues, a reset token:
//! an HMAC of the id under the endpoint's reset key. When a packet arrives for a
//! connection the endpoint no longer knows (its process restarted), it answers with that
//! token, and the peer closes the connection at once instead of sending into it until its
//! idle timeout.
//!
//! quinn's default reset key is random per process, so a restarted node's resets carry
//! tokens its peers were never given: they are ignored, and every link to the node stays
//! stale until it times out. A key derived from the node's ed25519 secret is the same
//! across restarts, so a restarted node resets its old connections on their first packet.
//! The derivation is one-way and domain-separated: the reset key reveals nothing about
//! the node key, and a node key is never used for anything else this way.

use qraft_keys::Keypair;
use zeroize::Zeroizing;

/// The blake3 key-derivation context (blake3 asks for an application-unique string).
const CONTEXT: &str = "qraft 2026-12 quic stateless reset key v1";

/// Bytes of a reset token, as QUIC defines it (RFC 9000 §10.3).
const TOKEN_LEN: usize = 16;

/// A node's stateless reset key: the same across its restarts, and only its own.
pub struct StatelessResetKey {
    key: Zeroizing<[u8; 32]>,
}

impl StatelessResetKey {
    /// The reset key of the node whose key is `keypair`.
    pub fn derive(keypair: &Keypair) -> StatelessResetKey {
        let seed = keypair.seed();
        StatelessResetKey {
            key: Zeroizing::new(blake3::derive_key(CONTEXT, &seed[..])),
        }
    }

    fn mac(&self, data: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.key, data)
    }
}

impl std::fmt::Debug for StatelessResetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatelessResetKey(hidden)")
    }
}

impl quinn::crypto::HmacKey for StatelessResetKey {
    fn sign(&self, data: &[u8], signature_out: &mut [u8]) {
        let mac = self.mac(data);
        let len = signature_out.len().min(blake3::OUT_LEN);
        signature_out[..len].copy_from_slice(&mac.as_bytes()[..len]);
    }

    fn signature_len(&self) -> usize {
        blake3::OUT_LEN
    }

    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<(), quinn::crypto::CryptoError> {
        // `blake3::Hash`'s equality is constant-time.
        let expected = self.mac(data);
        match <[u8; blake3::OUT_LEN]>::try_from(signature) {
            Ok(bytes) if expected == blake3::Hash::from(bytes) => Ok(()),
            _ => Err(quinn::crypto::CryptoError),
        }
    }
}

const _: () = assert!(
    blake3::OUT_LEN >= TOKEN_LEN,
    "a MAC must fill a reset token"
);

#[cfg(test)]
mod tests {
    use super::*;
    use quinn::crypto::HmacKey;

    fn token(key: &StatelessResetKey, connection_id: &[u8]) -> Vec<u8> {
        let mut out = vec![0; key.signature_len()];
        key.sign(connection_id, &mut out);
        out.truncate(TOKEN_LEN);
        out
    }

    #[test]
    fn the_same_node_makes_the_same_tokens_after_a_restart_and_no_other_node_does() {
        let node = Keypair::from_label("reset-key/node 1");
        let before = StatelessResetKey::derive(&node);
        let after = StatelessResetKey::derive(&node);
        let other = StatelessResetKey::derive(&Keypair::from_label("reset-key/node 2"));
        let id = [7u8; 8];
        assert_eq!(token(&before, &id), token(&after, &id));
        assert_ne!(token(&before, &id), token(&other, &id));
        assert_ne!(token(&before, &id), token(&before, &[8u8; 8]));
    }

    #[test]
    fn verify_accepts_its_own_mac_only() {
        let key = StatelessResetKey::derive(&Keypair::from_label("reset-key/verify"));
        let mut mac = vec![0; key.signature_len()];
        key.sign(b"data", &mut mac);
        assert!(key.verify(b"data", &mac).is_ok());
        assert!(key.verify(b"other", &mac).is_err());
        mac[0] ^= 1;
        assert!(key.verify(b"data", &mac).is_err());
        assert!(key.verify(b"data", &mac[..16]).is_err());
    }

    #[test]
    fn the_reset_key_is_not_the_node_key() {
        let node = Keypair::from_label("reset-key/secret");
        let key = StatelessResetKey::derive(&node);
        assert_ne!(&key.key[..], &node.seed()[..]);
    }
}
