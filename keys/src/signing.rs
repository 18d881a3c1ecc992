//! Domain-separated signing and verification.
//!
//! Every signature QRaft makes covers `domain tag || chain id || payload`. The domain tag
//! keeps a signature made for one purpose (a transaction) from being valid for another
//! (a block vote, a handshake); the chain id, the hash of the genesis file, keeps a
//! transaction signed for one game from being valid in another.

use ed25519_dalek::Signer;
pub use ed25519_dalek::VerifyingKey;

use crate::error::KeyError;
use crate::identity::{Keypair, PublicKey};
pub use crate::verify::{BatchItem, verify_batch, verify_message};

pub use ed25519_dalek::Signature;

/// The hash of a game's canonical genesis: it names the chain.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct ChainId(pub [u8; 32]);

impl std::fmt::Debug for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainId({}..)", hex::encode(&self.0[..8]))
    }
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// What a signature is for. Each has its own fixed tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// A participant's transaction.
    Transaction,
    /// A game's admin saying the class's game on `chain` continues as the game whose
    /// chain id is the payload (a class's next game).
    Handover,
    /// A participant proving its key to the class's enrollment port, to move its laptop
    /// to the class's current game (`chain`); the payload binds the exchange.
    Return,
}

impl Domain {
    pub fn tag(self) -> &'static [u8] {
        match self {
            Domain::Transaction => b"qraft/tx/v1\0",
            Domain::Handover => b"qraft/handover/v1\0",
            Domain::Return => b"qraft/return/v1\0",
        }
    }
}

/// The exact bytes that are signed: `tag || chain id || payload`.
pub fn signing_message(domain: Domain, chain: &ChainId, payload: &[u8]) -> Vec<u8> {
    let tag = domain.tag();
    let mut message = Vec::with_capacity(tag.len() + 32 + payload.len());
    message.extend_from_slice(tag);
    message.extend_from_slice(&chain.0);
    message.extend_from_slice(payload);
    message
}

impl Keypair {
    /// Signs `payload` for `domain` on `chain`.
    pub fn sign(&self, domain: Domain, chain: &ChainId, payload: &[u8]) -> Signature {
        self.signing_key()
            .sign(&signing_message(domain, chain, payload))
    }
}

/// Verifies one signature by `key` on `payload` for `domain` on `chain`, under the rule of
/// [`crate::verify`]: canonical encodings, no small-order key or `R`, and the cofactored
/// equation. Gives the same verdict as [`verify_batch`] would for this signature.
///
/// A key that is not a valid, canonical, non-weak point is [`KeyError::InvalidPublicKey`]
/// or [`KeyError::WeakPublicKey`]; every other failure is [`KeyError::BadSignature`] (use
/// [`verify_message`] for the precise reason).
pub fn verify_one(
    key: &PublicKey,
    domain: Domain,
    chain: &ChainId,
    payload: &[u8],
    signature: &Signature,
) -> Result<(), KeyError> {
    let key = key.verifying_key()?;
    verify_message(&key, &signing_message(domain, chain, payload), signature)
        .map_err(|_| KeyError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u8) -> ChainId {
        ChainId([n; 32])
    }

    #[test]
    fn sign_then_verify() {
        let k = Keypair::from_label("alice");
        let sig = k.sign(Domain::Transaction, &chain(1), b"buy 10 ACME");
        verify_one(
            &k.public(),
            Domain::Transaction,
            &chain(1),
            b"buy 10 ACME",
            &sig,
        )
        .unwrap();
    }

    #[test]
    fn other_chain_or_payload_or_key_fails() {
        let k = Keypair::from_label("alice");
        let sig = k.sign(Domain::Transaction, &chain(1), b"buy 10 ACME");
        let other = Keypair::from_label("bob").public();
        assert!(
            verify_one(
                &k.public(),
                Domain::Transaction,
                &chain(2),
                b"buy 10 ACME",
                &sig
            )
            .is_err()
        );
        assert!(
            verify_one(
                &k.public(),
                Domain::Transaction,
                &chain(1),
                b"buy 11 ACME",
                &sig
            )
            .is_err()
        );
        assert!(verify_one(&other, Domain::Transaction, &chain(1), b"buy 10 ACME", &sig).is_err());
    }

    #[test]
    fn batch_reports_exactly_the_bad_signatures() {
        let keys: Vec<Keypair> = (0..8)
            .map(|i| Keypair::from_label(&format!("k{i}")))
            .collect();
        let vks: Vec<VerifyingKey> = keys
            .iter()
            .map(|k| k.public().verifying_key().unwrap())
            .collect();
        let messages: Vec<Vec<u8>> = (0..8)
            .map(|i| signing_message(Domain::Transaction, &chain(7), format!("tx {i}").as_bytes()))
            .collect();
        let mut sigs: Vec<Signature> = keys
            .iter()
            .zip(&messages)
            .map(|(k, m)| k.signing_key().sign(m))
            .collect();
        let all_good: Vec<BatchItem<'_>> = (0..8)
            .map(|i| BatchItem {
                key: &vks[i],
                message: &messages[i],
                signature: &sigs[i],
            })
            .collect();
        assert_eq!(verify_batch(&all_good), vec![true; 8]);
        drop(all_good);

        // Tamper with signatures 2 and 5.
        let mut bytes = sigs[2].to_bytes();
        bytes[0] ^= 1;
        sigs[2] = Signature::from_bytes(&bytes);
        sigs[5] = sigs[4];
        let items: Vec<BatchItem<'_>> = (0..8)
            .map(|i| BatchItem {
                key: &vks[i],
                message: &messages[i],
                signature: &sigs[i],
            })
            .collect();
        let verdicts = verify_batch(&items);
        assert_eq!(
            verdicts,
            vec![true, true, false, true, true, false, true, true]
        );
    }
}
