//! Replaces the volatile values of JSON output lines by stable placeholders, leaving the
//! rest of each line byte for byte as it was (key order, spacing, escapes).
//!
//! It is narrow on purpose: a value is replaced only under a named field (see
//! [`HASH_FIELDS`], [`TIME_FIELDS`] and the per-command [`Volatile`] sets), or where it is
//! one of the values the test knows to vary from run to run (the nodes' addresses, the
//! chain id). Everything else has to match the golden file exactly.

use std::collections::HashMap;

/// Fields holding a 64-digit hex hash (transaction, block, state): each distinct hash
/// becomes `<hash:N>`, numbered in order of first appearance, so that a receipt's `tx`
/// still visibly equals the order's. A value of another shape is left alone.
pub const HASH_FIELDS: [&str; 6] = [
    "tx",
    "block",
    "hash",
    "prev_hash",
    "head_hash",
    "state_digest",
];
/// Fields holding a wall-clock time, or a nonce (wall-clock microseconds): `<field>`.
pub const TIME_FIELDS: [&str; 2] = ["time_ms", "last_nonce"];

/// Fields whose values depend on the run (which node won the election, how many Raft
/// entries the elections took, what a follower knows of its peers) in one kind of
/// output: `<field>`, whatever the value (a number, a list).
#[derive(Clone, Copy, Debug)]
pub enum Volatile {
    /// Nothing more than the hashes and times.
    None,
    /// A node's consensus state (`status`).
    Status,
    /// Block headers (`blocks`, `block` events): who proposed them.
    Blocks,
    /// A membership change's answer: who led it.
    Membership,
}

impl Volatile {
    fn fields(self) -> &'static [&'static str] {
        match self {
            Volatile::None => &[],
            Volatile::Status => &[
                "role",
                "term",
                "leader",
                "commit_index",
                "applied_index",
                "last_index",
                "peers",
            ],
            Volatile::Blocks => &["proposer"],
            Volatile::Membership => &["leader"],
        }
    }
}

/// The normaliser of one test run: the values it knows vary, and the hashes seen so far.
pub struct Normaliser {
    /// Exact values and their placeholders, replaced wherever they occur in a string.
    known: Vec<(String, String)>,
    hashes: HashMap<String, usize>,
}

impl Normaliser {
    /// `known`: exact values (addresses, the chain id) and their placeholders.
    pub fn new(known: Vec<(String, String)>) -> Normaliser {
        Normaliser {
            known,
            hashes: HashMap::new(),
        }
    }

    /// `line` with its volatile values replaced. Panics if it is not one JSON value.
    pub fn line(&mut self, line: &str, volatile: Volatile) -> String {
        let mut scan = Scan {
            text: line,
            at: 0,
            out: String::with_capacity(line.len()),
        };
        self.value(&mut scan, None, volatile);
        scan.space();
        assert_eq!(
            scan.at,
            line.len(),
            "trailing text after the JSON value: {line}"
        );
        scan.out
    }

    fn value(&mut self, scan: &mut Scan<'_>, key: Option<&str>, volatile: Volatile) {
        scan.space();
        if let Some(key) = key.filter(|key| volatile.fields().contains(key)) {
            let start = scan.at;
            scan.skip_value();
            assert!(scan.at > start, "no value for {key} in {}", scan.text);
            scan.out.push_str(&format!("\"<{key}>\""));
            return;
        }
        match scan.peek() {
            b'{' => self.object(scan, volatile),
            b'[' => {
                scan.copy(1);
                scan.space();
                if scan.peek() == b']' {
                    scan.copy(1);
                    return;
                }
                loop {
                    self.value(scan, key, volatile);
                    scan.space();
                    let next = scan.peek();
                    scan.copy(1);
                    if next == b']' {
                        return;
                    }
                    assert_eq!(next, b',', "bad array in {}", scan.text);
                }
            }
            _ => {
                let raw = scan.scalar();
                let replaced = key.and_then(|key| self.replace(key, raw));
                let text = replaced.unwrap_or_else(|| self.known_values(raw));
                scan.out.push_str(&text);
            }
        }
    }

    fn object(&mut self, scan: &mut Scan<'_>, volatile: Volatile) {
        scan.copy(1);
        scan.space();
        if scan.peek() == b'}' {
            scan.copy(1);
            return;
        }
        loop {
            scan.space();
            let raw_key = scan.scalar();
            scan.out.push_str(raw_key);
            let key = raw_key.trim_matches('"').to_string();
            scan.space();
            assert_eq!(scan.peek(), b':', "bad object in {}", scan.text);
            scan.copy(1);
            self.value(scan, Some(&key), volatile);
            scan.space();
            let next = scan.peek();
            scan.copy(1);
            if next == b'}' {
                return;
            }
            assert_eq!(next, b',', "bad object in {}", scan.text);
        }
    }

    /// The placeholder for scalar `raw` (as written) under `key`, if it is volatile.
    fn replace(&mut self, key: &str, raw: &str) -> Option<String> {
        if HASH_FIELDS.contains(&key) {
            let hex = raw.strip_prefix('"')?.strip_suffix('"')?;
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let next = self.hashes.len() + 1;
            let n = *self.hashes.entry(hex.to_string()).or_insert(next);
            return Some(format!("\"<hash:{n}>\""));
        }
        if TIME_FIELDS.contains(&key) {
            return Some(format!("\"<{key}>\""));
        }
        None
    }

    /// A scalar with the known volatile values (and hashes seen so far) inside it
    /// replaced; numbers and the like are returned as they are.
    fn known_values(&self, raw: &str) -> String {
        if !raw.starts_with('"') {
            return raw.to_string();
        }
        let mut text = raw.to_string();
        for (value, placeholder) in &self.known {
            text = text.replace(value.as_str(), placeholder);
        }
        for (hash, n) in &self.hashes {
            text = text.replace(hash.as_str(), &format!("<hash:{n}>"));
        }
        text
    }
}

/// A cursor over a JSON text, copying what it passes to `out`.
struct Scan<'a> {
    text: &'a str,
    at: usize,
    out: String,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> u8 {
        *self
            .text
            .as_bytes()
            .get(self.at)
            .unwrap_or_else(|| panic!("JSON ends early: {}", self.text))
    }

    fn copy(&mut self, n: usize) {
        self.out.push_str(&self.text[self.at..self.at + n]);
        self.at += n;
    }

    fn space(&mut self) {
        while self.at < self.text.len() && self.peek().is_ascii_whitespace() {
            self.copy(1);
        }
    }

    /// Passes one value (nested objects and arrays too) without copying it.
    fn skip_value(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                b'{' | b'[' => {
                    depth += 1;
                    self.at += 1;
                }
                b'}' | b']' => {
                    depth -= 1;
                    self.at += 1;
                }
                b',' | b':' if depth > 0 => self.at += 1,
                b if b.is_ascii_whitespace() => self.at += 1,
                _ => {
                    self.scalar();
                }
            }
            if depth == 0 {
                return;
            }
        }
    }

    /// Passes a string, number, `true`, `false` or `null` without copying it.
    fn scalar(&mut self) -> &'a str {
        let bytes = self.text.as_bytes();
        let start = self.at;
        if self.peek() == b'"' {
            self.at += 1;
            loop {
                match self.peek() {
                    b'\\' => self.at += 2,
                    b'"' => {
                        self.at += 1;
                        break;
                    }
                    _ => self.at += 1,
                }
            }
        } else {
            while self.at < bytes.len() && !matches!(bytes[self.at], b',' | b'}' | b']') {
                self.at += 1;
            }
        }
        &self.text[start..self.at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_named_fields_and_known_values() {
        let mut n = Normaliser::new(vec![("127.0.0.1:4000".into(), "<node1>".into())]);
        let hash = "ab".repeat(32);
        let line = format!(
            r#"{{"block":"{hash}","error":"at 127.0.0.1:4000","height":3,"time_ms":17,"tx":"x"}}"#
        );
        assert_eq!(
            n.line(&line, Volatile::None),
            r#"{"block":"<hash:1>","error":"at <node1>","height":3,"time_ms":"<time_ms>","tx":"x"}"#
        );
        let line = format!(r#"{{"error":"no receipt for {hash}","role":"leader"}}"#);
        assert_eq!(
            n.line(&line, Volatile::None),
            r#"{"error":"no receipt for <hash:1>","role":"leader"}"#
        );
        assert_eq!(
            n.line(
                r#"{"peers":[{"id":2,"next":9}],"role":"leader","voters":[1,2]}"#,
                Volatile::Status
            ),
            r#"{"peers":"<peers>","role":"<role>","voters":[1,2]}"#
        );
        assert_eq!(
            n.line(
                r#"{"last_nonce":1796654775635535,"role":"admin"}"#,
                Volatile::None
            ),
            r#"{"last_nonce":"<last_nonce>","role":"admin"}"#
        );
    }
}
