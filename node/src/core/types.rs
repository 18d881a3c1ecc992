//! Small value types shared by transactions, the exchange and genesis.
//!
//! Units are integers everywhere: prices in *ticks* of a symbol's tick size, quantities in
//! whole shares, cash in cents.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A price in ticks. One tick is the symbol's `tick_size` in cents.
pub type Ticks = u64;
/// A number of shares.
pub type Shares = u64;
/// An amount of money in cents. Signed: admin adjustments may subtract.
pub type Cents = i64;
/// An order's id, assigned by the exchange in the order transactions are applied.
pub type OrderId = u64;
/// A Raft node id (as named in genesis).
pub type NodeId = u64;

/// Formats cents as dollars with thousands separators.
///
/// ```
/// use qraft_node::core::types::{format_cents, parse_cents};
/// assert_eq!(format_cents(-123456), "-1,234.56");
/// assert_eq!(parse_cents(&format_cents(100_000_007)), Some(100_000_007));
/// ```
pub fn format_cents(cents: i128) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let whole = (abs / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}.{:02}", abs % 100)
}

/// Parses a decimal money amount (`12`, `12.5`, `$1,012.50`) into cents. Commas are
/// accepted only as thousands separators.
pub fn parse_cents(text: &str) -> Option<i64> {
    let text = text.trim().trim_start_matches('$');
    let whole_part = text.split('.').next().unwrap_or("").trim_start_matches('-');
    if whole_part.contains(',') {
        let groups: Vec<&str> = whole_part.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
            return None;
        }
    }
    let text: String = text.chars().filter(|c| *c != ',').collect();
    let text = text.as_str();
    let (negative, text) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() && frac.is_empty() || frac.len() > 2 {
        return None;
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    let cents = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if negative { -cents } else { cents })
}

/// A stock symbol: 1 to 8 characters, `A`-`Z`, `0`-`9` and `.`, starting with a letter.
///
/// Stored inline (no allocation), ordered alphabetically. Serialized as a string for
/// human-readable formats (JSON, TOML) and as 8 raw bytes for postcard.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ticker([u8; 8]);

/// Why a string is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid ticker: {reason}")]
pub struct TickerError {
    pub text: String,
    pub reason: &'static str,
}

impl Ticker {
    pub const MAX_LEN: usize = 8;

    pub fn new(text: &str) -> Result<Ticker, TickerError> {
        let err = |reason| TickerError {
            text: text.to_string(),
            reason,
        };
        let upper = text.trim().to_ascii_uppercase();
        if upper.is_empty() {
            return Err(err("it is empty"));
        }
        if upper.len() > Self::MAX_LEN {
            return Err(err("it is longer than 8 characters"));
        }
        if !upper.as_bytes()[0].is_ascii_uppercase() {
            return Err(err("it must start with a letter"));
        }
        if !upper
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
        {
            return Err(err("only letters, digits and '.' are allowed"));
        }
        let mut bytes = [0u8; 8];
        bytes[..upper.len()].copy_from_slice(upper.as_bytes());
        Ok(Ticker(bytes))
    }

    pub fn as_str(&self) -> &str {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(8);
        // Constructed only from validated ASCII.
        std::str::from_utf8(&self.0[..len]).unwrap_or("?")
    }

    fn from_raw(bytes: [u8; 8]) -> Result<Ticker, TickerError> {
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(8);
        if bytes[len..].iter().any(|&b| b != 0) {
            return Err(TickerError {
                text: String::from_utf8_lossy(&bytes).into_owned(),
                reason: "bytes after the end",
            });
        }
        let text = std::str::from_utf8(&bytes[..len]).map_err(|_| TickerError {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            reason: "not text",
        })?;
        let ticker = Ticker::new(text)?;
        if ticker.0 != bytes {
            return Err(TickerError {
                text: text.to_string(),
                reason: "not in canonical (upper case) form",
            });
        }
        Ok(ticker)
    }
}

impl fmt::Display for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_str())
    }
}

impl FromStr for Ticker {
    type Err = TickerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ticker::new(s)
    }
}

impl Serialize for Ticker {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(self.as_str())
        } else {
            self.0.serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Ticker {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Ticker::new(&text).map_err(serde::de::Error::custom)
        } else {
            let bytes = <[u8; 8]>::deserialize(deserializer)?;
            Ticker::from_raw(bytes).map_err(serde::de::Error::custom)
        }
    }
}

/// Buy or sell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        })
    }
}

/// What a participant may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the game: administration transactions. May also trade; not ranked.
    Admin,
    /// A person playing the game.
    Trader,
    /// A program playing the game; ranked, and marked as a bot.
    Bot,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Role::Admin => "admin",
            Role::Trader => "trader",
            Role::Bot => "bot",
        })
    }
}

/// Whether a market (the whole exchange, or one symbol) takes orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Session {
    /// Not trading; resting orders stay. Opened by an admin.
    Closed,
    /// Trading.
    Open,
    /// Trading paused by an admin; cancels still work. Resumed by an admin.
    Halted,
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Session::Closed => "closed",
            Session::Open => "open",
            Session::Halted => "halted",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickers_validate_and_normalize() {
        assert_eq!(Ticker::new("acme").unwrap().as_str(), "ACME");
        assert_eq!(Ticker::new("BRK.B").unwrap().to_string(), "BRK.B");
        assert!(Ticker::new("").is_err());
        assert!(Ticker::new("TOOLONGXX").is_err());
        assert!(Ticker::new("1ABC").is_err());
        assert!(Ticker::new("AB C").is_err());
    }

    #[test]
    fn ticker_postcard_rejects_non_canonical_bytes() {
        let t = Ticker::new("ACME").unwrap();
        let bytes = postcard::to_stdvec(&t).unwrap();
        assert_eq!(postcard::from_bytes::<Ticker>(&bytes).unwrap(), t);
        let mut lower = bytes.clone();
        lower[0] = b'a';
        assert!(postcard::from_bytes::<Ticker>(&lower).is_err());
        let mut gap = bytes;
        gap[6] = b'X';
        assert!(postcard::from_bytes::<Ticker>(&gap).is_err());
    }

    #[test]
    fn cents_parse_and_format() {
        assert_eq!(parse_cents("12.5"), Some(1250));
        assert_eq!(parse_cents("12.50"), Some(1250));
        assert_eq!(parse_cents("$3"), Some(300));
        assert_eq!(parse_cents("-0.07"), Some(-7));
        assert_eq!(parse_cents(".5"), Some(50));
        assert_eq!(parse_cents("1.234"), None);
        assert_eq!(parse_cents("abc"), None);
        assert_eq!(parse_cents("."), None);
        assert_eq!(format_cents(-1234), "-12.34");
        assert_eq!(format_cents(123456789), "1,234,567.89");
        assert_eq!(format_cents(100000), "1,000.00");
        assert_eq!(parse_cents("$1,234.50"), Some(123450));
        assert_eq!(parse_cents("12,345,678"), Some(1_234_567_800));
        assert_eq!(parse_cents("1,2.50"), None);
        assert_eq!(parse_cents(",100"), None);
        assert_eq!(parse_cents("1000,000"), None);
        assert_eq!(format_cents(5), "0.05");
    }
}
