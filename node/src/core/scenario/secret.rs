//! The scenario's secret: what only its author sees until the end of the game.
//!
//! The genesis holds a [`SecretCommitment`]: the hash of a random salt and the secret's
//! text. The salt keeps a short secret ("ACME is worth $42") from being guessed by hashing
//! candidates. The teacher keeps the [`ScenarioSecret`] (salt and text) in a file beside
//! the game; the report reveals it, and anyone can check it against the genesis.
//! The salt is drawn by the caller (the CLI): nothing here draws randomness.

use serde::{Deserialize, Serialize};

use crate::core::hash::Hash32;

/// The longest secret text, in bytes.
pub const MAX_SECRET_BYTES: usize = 8_000;

/// The hash the genesis holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretCommitment(pub Hash32);

/// The secret itself, kept by the teacher until the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSecret {
    pub salt: [u8; 16],
    pub text: String,
}

impl ScenarioSecret {
    /// What the genesis commits to.
    pub fn commitment(&self) -> SecretCommitment {
        let mut bytes = Vec::with_capacity(16 + self.text.len());
        bytes.extend_from_slice(&self.salt);
        bytes.extend_from_slice(self.text.as_bytes());
        SecretCommitment(Hash32::of("qraft/scenario-secret", &bytes))
    }

    /// Whether this is the secret `commitment` names.
    pub fn matches(&self, commitment: &SecretCommitment) -> bool {
        self.commitment() == *commitment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_byte_or_salt_breaks_the_match() {
        let secret = ScenarioSecret {
            salt: [7; 16],
            text: "ACME is worth $42".into(),
        };
        let commitment = secret.commitment();
        assert!(secret.matches(&commitment));
        let mut other = secret.clone();
        other.text = "ACME is worth $43".into();
        assert!(!other.matches(&commitment));
        let mut salted = secret.clone();
        salted.salt[0] = 8;
        assert!(!salted.matches(&commitment));
    }
}
