//! Errors from key handling.


/// Everything that can go wrong with keys, key files and signatures.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
    #[error("weak ed25519 public key (a small-order point): signatures by it prove nothing")]
    WeakPublicKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("{text:?} is not a QRaft public key: {reason}")]
    BadKeyText { text: String, reason: String },
    #[error("could not get randomness from the operating system: {0}")]
    Randomness(String),
}
