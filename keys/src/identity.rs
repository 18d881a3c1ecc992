//! Public identities and signing keys.

use std::fmt;

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::KeyError;

/// The public half of an ed25519 identity: exactly the 32 bytes of the compressed point.
///
/// Cheap to copy, compare and hash; it is what transactions name as their signer and what
/// genesis lists. Bytes decoded from the wire are *not* checked to be a valid, strong key:
/// that check ([`PublicKey::verifying_key`]) happens where a key is admitted (genesis,
/// adding a participant), so an unknown or invalid key is simply "unknown".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    /// Wraps raw bytes after checking that they are a valid, non-weak ed25519 point.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        let key = PublicKey(bytes);
        key.verifying_key()?;
        Ok(key)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Decompresses the point, refusing invalid or non-canonical encodings and weak
    /// (small-order) keys, for which signatures prove nothing: exactly the keys that
    /// [`crate::verify`] accepts.
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| KeyError::InvalidPublicKey)?;
        if !crate::verify::is_canonical_encoding(&self.0) {
            return Err(KeyError::InvalidPublicKey);
        }
        if key.is_weak() {
            return Err(KeyError::WeakPublicKey);
        }
        Ok(key)
    }

    /// The first bytes in hex, for logs and compact displays.
    pub fn short_hex(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self)
    }
}

impl From<VerifyingKey> for PublicKey {
    fn from(key: VerifyingKey) -> Self {
        PublicKey(key.to_bytes())
    }
}

/// An ed25519 signing key with its public key. The secret is zeroized on drop.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| KeyError::Randomness(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// A key from its 32-byte secret seed (RFC 8032 "private key").
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Keypair {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// A deterministic key for tests and simulations: the seed is the blake3 hash of `label`.
    /// Never use it for a real game.
    pub fn from_label(label: &str) -> Self {
        let seed = blake3::derive_key("qraft test key v1", label.as_bytes());
        Self::from_seed(&seed)
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub(crate) fn from_signing_key(signing: SigningKey) -> Self {
        Keypair { signing }
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret hidden)", self.public())
    }
}

/// `N` bytes of the operating system's randomness: salts and nonces that are not keys.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Randomness(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_differ_and_are_strong() {
        let a = Keypair::generate().unwrap();
        let b = Keypair::generate().unwrap();
        assert_ne!(a.public(), b.public());
        a.public().verifying_key().unwrap();
    }

    #[test]
    fn seed_round_trips() {
        let a = Keypair::from_label("alice");
        let b = Keypair::from_seed(&a.seed());
        assert_eq!(a.public(), b.public());
    }

    #[test]
    fn small_order_point_is_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(identity),
            Err(KeyError::WeakPublicKey)
        ));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y and y + p name the same point, and y + p still fits in 255 bits when y < 19:
        // find such a y that is a strong point and encode it the long way.
        let mut found = false;
        for y in 0u8..19 {
            let mut canonical = [0u8; 32];
            canonical[0] = y;
            let Ok(key) = PublicKey::from_bytes(canonical) else {
                continue;
            };
            // y + p = y + 2^255 - 19: low byte y + 0xed, then 0xff.., top 0x7f.
            let mut bytes = [0xffu8; 32];
            bytes[0] = y + 0xed;
            bytes[31] = 0x7f;
            assert!(
                VerifyingKey::from_bytes(&bytes).is_ok(),
                "dalek decodes y + p"
            );
            assert!(matches!(
                PublicKey::from_bytes(bytes),
                Err(KeyError::InvalidPublicKey)
            ));
            key.verifying_key().unwrap();
            found = true;
        }
        assert!(found, "some y < 19 is a strong point");
    }

    #[test]
    fn off_curve_bytes_are_refused() {
        // y = 2 is not the y-coordinate of any point on edwards25519.
        let mut bytes = [0u8; 32];
        bytes[0] = 2;
        assert!(matches!(
            PublicKey::from_bytes(bytes),
            Err(KeyError::InvalidPublicKey)
        ));
    }
}
