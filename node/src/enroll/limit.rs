//! The teacher's limit on attempts that fail, per source address and overall, over a
//! sliding window of time passed in by the caller (no clock is read here).
//!
//! An attempt is charged when it starts and refunded when the student proves the code, so
//! an attempt that fails, is garbled or is abandoned half-way counts, and a guesser
//! cannot open many attempts at once to get ahead of the count.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Failed attempts one source address may have in a [`FAILURE_WINDOW`]: a student who
/// mistypes the code a few times is not held up, and a guesser on one laptop gets five
/// guesses a minute.
pub const PER_SOURCE_FAILURES: usize = 5;

/// Failed attempts all sources together may have in a [`FAILURE_WINDOW`]: bounds a
/// guesser who spreads over many addresses (a class's worth of laptops, or spoofed IPv6
/// addresses) to 30 guesses a minute, 1,800 in an hour of open joining, a chance of about
/// 1 in 3,300 against the 5.9 million codes; a class of 30 with a few typos each stays
/// far below it. If it is reached, honest students wait with everyone else: the teacher
/// then closes joining and reopens it with a new code.
pub const OVERALL_FAILURES: usize = 30;

/// How long a failed attempt counts against its source and the total: long enough that
/// the limits bound the guessing rate, short enough that a student locked out by typos
/// is back within a minute.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// The limits a [`RateLimiter`] enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub per_source: usize,
    pub overall: usize,
    pub window: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            per_source: PER_SOURCE_FAILURES,
            overall: OVERALL_FAILURES,
            window: FAILURE_WINDOW,
        }
    }
}

/// One charged attempt, to refund once it succeeds.
#[derive(Debug, PartialEq, Eq)]
pub struct Charge {
    source: IpAddr,
    at: Instant,
}

/// Failed (or not yet successful) attempts in the window, per source and overall. Its
/// memory is bounded by the overall limit: a source without a charge in the window is
/// forgotten.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    per_source: HashMap<IpAddr, VecDeque<Instant>>,
    overall: VecDeque<Instant>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter {
            limits,
            per_source: HashMap::new(),
            overall: VecDeque::new(),
        }
    }

    /// Charges an attempt from `source` at `now`, or says how long until it may try
    /// again.
    pub fn charge(&mut self, source: IpAddr, now: Instant) -> Result<Charge, Duration> {
        let source = source_key(source);
        self.expire(now);
        let window = self.limits.window;
        let wait = |charges: &VecDeque<Instant>| {
            let oldest = charges.front().copied().unwrap_or(now);
            window.saturating_sub(now.saturating_duration_since(oldest))
        };
        if self.overall.len() >= self.limits.overall {
            return Err(wait(&self.overall));
        }
        let mine = self.per_source.entry(source).or_default();
        if mine.len() >= self.limits.per_source {
            return Err(wait(mine));
        }
        mine.push_back(now);
        self.overall.push_back(now);
        Ok(Charge { source, at: now })
    }

    /// Takes back a charge: the attempt proved the code.
    pub fn refund(&mut self, charge: Charge) {
        if let Some(mine) = self.per_source.get_mut(&charge.source) {
            remove_one(mine, charge.at);
            if mine.is_empty() {
                self.per_source.remove(&charge.source);
            }
        }
        remove_one(&mut self.overall, charge.at);
    }

    /// How many sources it holds charges for (for tests and the teacher's panel).
    pub fn sources(&self) -> usize {
        self.per_source.len()
    }

    /// Drops the charges older than the window.
    fn expire(&mut self, now: Instant) {
        let window = self.limits.window;
        let live = |at: &Instant| now.saturating_duration_since(*at) < window;
        self.overall.retain(live);
        self.per_source.retain(|_, charges| {
            charges.retain(live);
            !charges.is_empty()
        });
    }
}

fn remove_one(charges: &mut VecDeque<Instant>, at: Instant) {
    if let Some(i) = charges.iter().position(|t| *t == at) {
        charges.remove(i);
    }
}

/// The address a limit is kept for: an IPv4 address, or an IPv6 address's /64 (one
/// laptop may hold a whole /64 and pick a new address for each attempt).
fn source_key(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(_) => source,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => source.to_canonical(),
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
    }
}
