//! QRaft identities.
//!
//! Module map:
//! - [`identity`]: [`PublicKey`] (a participant's or node's public identity, 32 bytes) and
//!   [`Keypair`] (its ed25519 signing key).
//! - [`signing`]: domain-separated signing ([`Domain`], [`ChainId`]), `verify_strict`, and
//!   batch verification for blocks.
//! - [`text`]: the short, checksummed text form of a public key that people exchange
//!   (`qk1...`).
//! - [`keyfile`]: PKCS#8 PEM key files (optionally passphrase-encrypted), written with mode
//!   0600; files readable by others are refused.
//! - [`error`]: the crate's error enum.

pub mod error;
pub mod identity;
pub mod keyfile;
pub mod signing;
pub mod text;

pub use error::KeyError;
pub use identity::{Keypair, PublicKey};
pub use signing::{ChainId, Domain, Signature, verify_batch, verify_one};
