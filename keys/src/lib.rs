//! QRaft identities.
//!
//! Module map:
//! - [`identity`]: [`PublicKey`] (a participant's or node's public identity, 32 bytes) and
//!   [`Keypair`] (its ed25519 signing key).
//! - [`signing`]: domain-separated signing ([`Domain`], [`ChainId`]) and [`verify_one`].
//! - [`verify`]: the one verification rule (cofactored, canonical, no small-order points)
//!   behind [`verify_one`] and [`verify_batch`], the batch verification of blocks; each
//!   signature's verdict is the same alone and in any batch.
//! - [`text`]: the short, checksummed text form of a public key that people exchange
//!   (`qk1...`).
//! - [`keyfile`]: PKCS#8 PEM key files (optionally passphrase-encrypted), written with mode
//!   0600; files readable by others are refused.
//! - [`error`]: the crate's error enum.
//!
//! ```
//! use qraft_keys::{ChainId, Domain, Keypair, PublicKey, verify_one};
//!
//! let alice = Keypair::from_label("alice (an example, never a real key)");
//! let game = ChainId([7; 32]);
//! let signature = alice.sign(Domain::Transaction, &game, b"buy 10 ACME @ 12.50");
//!
//! // People exchange the short text form; a typo is caught by its checksum.
//! let text = alice.public().to_string();
//! let key: PublicKey = text.parse()?;
//! assert!(verify_one(&key, Domain::Transaction, &game, b"buy 10 ACME @ 12.50", &signature).is_ok());
//! // The same signature is void in another game.
//! assert!(verify_one(&key, Domain::Transaction, &ChainId([8; 32]), b"buy 10 ACME @ 12.50", &signature).is_err());
//! # Ok::<(), qraft_keys::KeyError>(())
//! ```

pub mod error;
pub mod identity;
pub mod keyfile;
pub mod signing;
pub mod text;
pub mod verify;

pub use error::KeyError;
pub use identity::{Keypair, PublicKey, random_bytes};
pub use signing::{ChainId, Domain, Signature, verify_batch, verify_one};
