//! The enrollment messages on the wire (postcard), with a byte limit on each before it is
//! decoded, and nothing left over after it.

use qraft_keys::{ChainId, PublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{EnrollError, Refusal};

/// The enrollment protocol's version, in the student's `Hello` and the teacher's `Offer`.
pub const PROTOCOL_VERSION: u16 = 1;

/// The most bytes of every message but the grant: a SPAKE2 message is 33 bytes, a
/// confirmation 32, the sealed request a name of at most
/// [`MAX_NAME_BYTES`](super::MAX_NAME_BYTES) and two keys. A teacher reads no more than
/// this from someone it does not know yet.
pub const MAX_HANDSHAKE_MESSAGE: usize = 1024;

/// The most bytes of the teacher's sealed grant message: a genesis with its symbols and
/// participants, and the voters' addresses and keys, fit with room to spare.
pub const MAX_GRANT_MESSAGE: usize = 4 << 20;

/// The most bytes of the grant payload the caller hands the teacher: the grant message
/// less its envelope (the AEAD tag, postcard's tags and lengths).
pub const MAX_GRANT_PAYLOAD: usize = MAX_GRANT_MESSAGE - 64;

/// Length of a key confirmation (a BLAKE3 output).
pub const CONFIRM_LEN: usize = 32;

/// What the student sends, in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StudentMsg {
    /// Opens the attempt: which protocol the student speaks.
    Hello { version: u16 },
    /// The student's SPAKE2 message (side A) and its key confirmation.
    Proof {
        pake: Vec<u8>,
        confirm: [u8; CONFIRM_LEN],
    },
    /// The [`EnrollRequest`](super::EnrollRequest), sealed with the session's request key.
    Request { sealed: Vec<u8> },
    /// Instead of `Hello`: a laptop of an earlier game of the class asks for the current
    /// one ([`super::returning`]), naming the game it holds and its keys there.
    Return {
        version: u16,
        previous: ChainId,
        participant: PublicKey,
        node: PublicKey,
    },
    /// The participant key's signature of the teacher's challenge.
    ReturnProof { signature: Vec<u8> },
}

/// What the teacher sends, in this order; `Refused` may replace any of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TeacherMsg {
    /// The game this attempt is for and the teacher's fresh SPAKE2 message (side B).
    Offer {
        version: u16,
        chain_id: ChainId,
        pake: Vec<u8>,
    },
    /// The teacher's key confirmation, sent only after the student's checked out.
    Confirm { confirm: [u8; CONFIRM_LEN] },
    /// The caller's grant payload, sealed with the session's grant key.
    Grant { sealed: Vec<u8> },
    /// The attempt ends here, and why.
    Refused(Refusal),
    /// To a returning laptop: the class's current game, and a fresh challenge for its
    /// participant key.
    Challenge {
        chain_id: ChainId,
        nonce: [u8; RETURN_NONCE_LEN],
    },
    /// To a returning laptop: the game it holds is the current one.
    Current,
    /// To a returning laptop that proved its key: the handover (the earlier game's
    /// admin, signing that its game continues as the current one) and the grant payload.
    Moved { handover: Vec<u8>, payload: Vec<u8> },
}

/// Bytes of the teacher's challenge to a returning laptop.
pub const RETURN_NONCE_LEN: usize = 32;

/// Encodes a message (infallible for these types: postcard fails only on unsupported
/// serde features, which they do not use).
pub(crate) fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    postcard::to_allocvec(message).expect("enrollment messages always encode")
}

/// Decodes one whole message of at most `limit` bytes.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, EnrollError> {
    if bytes.len() > limit {
        return Err(EnrollError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (message, rest) =
        postcard::take_from_bytes::<T>(bytes).map_err(|e| EnrollError::Garbled(e.to_string()))?;
    if !rest.is_empty() {
        return Err(EnrollError::Garbled(format!(
            "{} bytes after the message",
            rest.len()
        )));
    }
    Ok(message)
}
