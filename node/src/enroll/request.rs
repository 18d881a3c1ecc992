//! What the student asks for and what it gets: [`EnrollRequest`] and [`Grant`].

use qraft_keys::{ChainId, PublicKey};
use serde::{Deserialize, Serialize};

use super::error::EnrollError;

/// The most bytes of a display name (after trimming): enough for a full name in any
/// script, small enough for the roster.
pub const MAX_NAME_BYTES: usize = 64;

/// The student's request, sealed under the session key: who they are and the two keys
/// their laptop made (the private halves never leave it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The name the teacher sees on the roster.
    pub name: String,
    /// The participant key the student will trade with.
    pub participant: PublicKey,
    /// The key of the student's node (its TLS identity).
    pub node: PublicKey,
}

impl EnrollRequest {
    /// Checks the name: not blank, at most [`MAX_NAME_BYTES`], no control characters, no
    /// spaces at either end.
    pub fn validate(&self) -> Result<(), EnrollError> {
        let name = &self.name;
        let invalid = |why: &str| Err(EnrollError::InvalidRequest(why.to_owned()));
        if name.trim().is_empty() {
            return invalid("the name is blank");
        }
        if name.len() > MAX_NAME_BYTES {
            return invalid(&format!(
                "the name is {} bytes, over {MAX_NAME_BYTES}",
                name.len()
            ));
        }
        if name.trim() != name {
            return invalid("the name starts or ends with spaces");
        }
        if name.chars().any(char::is_control) {
            return invalid("the name holds control characters");
        }
        if self.participant == self.node {
            return invalid("the participant and node keys are the same key");
        }
        Ok(())
    }
}

/// What an enrolled student receives: the game the exchange was bound to and the teacher's
/// payload (the genesis, the voters' addresses and keys, the node id: opaque here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub chain_id: ChainId,
    pub payload: Vec<u8>,
}
