//! The join code: `42-tulip-maple`, a number from 10 to 99 and two words from an embedded
//! list of 256 short, distinct, easy-to-spell English nouns (`words.rs`), short enough to
//! read aloud from a projector.
//!
//! Entropy: 90 numbers × 256 × 256 word pairs = 5,898,240 codes, about 22.5 bits. That is
//! little against an offline search, which SPAKE2 rules out: each guess costs the guesser
//! one online attempt against the teacher, and the teacher's
//! [`RateLimiter`](super::limit::RateLimiter) bounds those (see the module doc of
//! [`enroll`](super) for the figures).

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngExt};

use super::error::CodeError;
use super::words::WORDS;

/// The smallest number a code starts with (two digits, so no leading zero to read aloud).
const NUMBER_MIN: u8 = 10;
/// The largest.
const NUMBER_MAX: u8 = 99;

/// A join code: the number and the two words' indexes in the word list.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct JoinCode {
    number: u8,
    words: [u8; 2],
}

impl JoinCode {
    /// A fresh code from `rng` (the caller's CSPRNG; the protocol reads no global
    /// randomness).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> JoinCode {
        JoinCode {
            number: rng.random_range(NUMBER_MIN..=NUMBER_MAX),
            words: [rng.random(), rng.random()],
        }
    }

    /// The canonical text, as shown and as fed to SPAKE2 as the password.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for JoinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{}",
            self.number,
            WORDS[usize::from(self.words[0])],
            WORDS[usize::from(self.words[1])]
        )
    }
}

/// Not the code itself: a `Debug` print (a log line, a panic message) must not show it.
impl fmt::Debug for JoinCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinCode(..)")
    }
}

/// Lenient: any case, and the parts separated by dashes, spaces or both
/// (`42 Tulip Maple`, `42-tulip - maple`).
impl FromStr for JoinCode {
    type Err = CodeError;

    fn from_str(text: &str) -> Result<JoinCode, CodeError> {
        let parts: Vec<String> = text
            .split(|c: char| c == '-' || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .map(str::to_lowercase)
            .collect();
        let [number, first, second] = parts.as_slice() else {
            return Err(CodeError::Shape { parts: parts.len() });
        };
        let number = match number.parse::<u8>() {
            Ok(n) if (NUMBER_MIN..=NUMBER_MAX).contains(&n) => n,
            _ => return Err(CodeError::Number(number.clone())),
        };
        Ok(JoinCode {
            number,
            words: [word_index(first)?, word_index(second)?],
        })
    }
}

fn word_index(word: &str) -> Result<u8, CodeError> {
    WORDS
        .iter()
        .position(|w| *w == word)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| CodeError::Word(word.to_owned()))
}
