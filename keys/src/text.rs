//! The text form of a public key that people read, paste and exchange.
//!
//! `qk1` followed by 58 lowercase bech32m characters: the 32 key bytes and a 6-character
//! checksum that detects any 4 wrong characters and almost every other typo, with no
//! look-alike characters (no `1`, `b`, `i`, `o` in the data part). Parsing is
//! case-insensitive and ignores spaces, dashes and underscores, so a key read aloud or
//! split across lines still parses.

use std::fmt;
use std::str::FromStr;

use bech32::{Bech32m, Hrp};

use crate::error::KeyError;
use crate::identity::PublicKey;

/// The human-readable prefix of QRaft public keys.
pub const KEY_PREFIX: &str = "qk";

fn hrp() -> Hrp {
    Hrp::parse(KEY_PREFIX).expect("static prefix is valid")
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bech32::encode_lower_to_fmt::<Bech32m, _>(f, hrp(), &self.0).map_err(|_| fmt::Error)
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<Self, KeyError> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        let (prefix, data) = bech32::decode(&cleaned).map_err(|e| KeyError::BadKeyText {
            text: text.to_string(),
            reason: match e {
                bech32::DecodeError::Checksum(_) => {
                    "checksum does not match: a character is wrong or missing".to_string()
                }
                other => other.to_string(),
            },
        })?;
        if prefix != hrp() {
            return Err(KeyError::BadKeyText {
                text: text.to_string(),
                reason: format!("a QRaft public key starts with \"{KEY_PREFIX}1\""),
            });
        }
        let bytes: [u8; 32] = data
            .try_into()
            .map_err(|data: Vec<u8>| KeyError::BadKeyText {
                text: text.to_string(),
                reason: format!("holds {} bytes, a public key is 32", data.len()),
            })?;
        PublicKey::from_bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;

    #[test]
    fn round_trips_and_looks_right() {
        let key = Keypair::from_label("alice").public();
        let text = key.to_string();
        assert!(text.starts_with("qk1"));
        assert_eq!(text.len(), 61);
        assert_eq!(text.parse::<PublicKey>().unwrap(), key);
    }

    #[test]
    fn tolerates_case_spaces_and_dashes() {
        let key = Keypair::from_label("bob").public();
        let text = key.to_string().to_uppercase();
        let spaced: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                if i > 0 && i % 8 == 0 {
                    vec!['-', c]
                } else {
                    vec![c]
                }
            })
            .collect();
        assert_eq!(spaced.parse::<PublicKey>().unwrap(), key);
        assert_eq!(format!(" {} ", key).parse::<PublicKey>().unwrap(), key);
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let text = Keypair::from_label("carol").public().to_string();
        let alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        for position in 3..text.len() {
            for replacement in alphabet.chars() {
                let mut chars: Vec<char> = text.chars().collect();
                if chars[position] == replacement {
                    continue;
                }
                chars[position] = replacement;
                let typo: String = chars.into_iter().collect();
                assert!(typo.parse::<PublicKey>().is_err(), "accepted typo {typo}");
            }
        }
    }

    #[test]
    fn wrong_prefix_and_length_are_explained() {
        let err = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
            .parse::<PublicKey>()
            .unwrap_err();
        assert!(err.to_string().contains("qk1"), "{err}");
        let short = bech32::encode::<Bech32m>(hrp(), &[1u8; 20]).unwrap();
        let err = short.parse::<PublicKey>().unwrap_err();
        assert!(err.to_string().contains("32"), "{err}");
    }
}
