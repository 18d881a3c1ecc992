//! The scenario's secret: read from the teacher's TOML file (`salt = "<32 hex>"`,
//! `text = "..."`), checked against the commitment the genesis holds, and revealed.

use std::path::Path;

use qraft_node::core::genesis::Genesis;
use qraft_node::core::scenario::ScenarioSecret;
use serde::{Deserialize, Serialize};

/// The secret as the report reveals it: anyone can recompute the commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretReveal {
    pub text: String,
    /// The salt, 32 hex digits.
    pub salt: String,
    /// The genesis's commitment it matches, hex.
    pub commitment: String,
}

/// Why a secret file cannot be revealed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}: the salt must be 32 hex digits (16 bytes)")]
    BadSalt { path: String },
    #[error("the game has no scenario secret to reveal (its genesis commits to none)")]
    NoCommitment,
    #[error(
        "{path} is not this game's secret: its salt and text do not hash to the commitment in the genesis ({commitment}); check the file is the one made with this game"
    )]
    Mismatch { path: String, commitment: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretFile {
    salt: String,
    text: String,
}

/// Reads the secret file at `path`.
pub fn read(path: &Path) -> Result<ScenarioSecret, SecretError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    parse(&text, &shown)
}

/// Parses a secret file's text (`path` names it in errors).
pub fn parse(text: &str, path: &str) -> Result<ScenarioSecret, SecretError> {
    let file: SecretFile = toml::from_str(text).map_err(|e| SecretError::Read {
        path: path.into(),
        reason: e.to_string(),
    })?;
    let salt: [u8; 16] = hex::decode(file.salt.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| SecretError::BadSalt { path: path.into() })?;
    Ok(ScenarioSecret {
        salt,
        text: file.text,
    })
}

/// The secret checked against `genesis`'s commitment, ready to reveal.
pub fn reveal(
    secret: &ScenarioSecret,
    genesis: &Genesis,
    path: &str,
) -> Result<SecretReveal, SecretError> {
    let commitment = genesis
        .scenario
        .as_ref()
        .and_then(|s| s.secret)
        .ok_or(SecretError::NoCommitment)?;
    if !secret.matches(&commitment) {
        return Err(SecretError::Mismatch {
            path: path.into(),
            commitment: commitment.0.to_hex(),
        });
    }
    Ok(SecretReveal {
        text: secret.text.clone(),
        salt: hex::encode(secret.salt),
        commitment: commitment.0.to_hex(),
    })
}
