//! Rate-limited logging for events that anyone on the network can cause at will (refused
//! handshakes, refused connections, bad frames): a flood must not fill the disk.
//!
//! Each kind of event gets at most [`LOG_LINES_PER_INTERVAL`] lines per [`LOG_INTERVAL`];
//! the rest are counted, and the next line of that kind to be logged is preceded by one
//! summary line, "suppressed K similar messages". Use it as
//!
//! ```ignore
//! if NET_LOG.allow("refused handshake") {
//!     tracing::info!(%err, "refused a connection at the handshake");
//! }
//! ```

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lines of one kind logged per interval, at most: enough to see what is happening and
/// who is doing it, few enough that a flood costs about a line a second.
pub const LOG_LINES_PER_INTERVAL: u32 = 10;

/// The interval the line budget covers: long enough to bound a sustained flood, short
/// enough that logging resumes soon after it stops.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The network's shared rate-limited log (every node of a process shares it).
pub static NET_LOG: RateLimitedLog = RateLimitedLog::new(LOG_LINES_PER_INTERVAL, LOG_INTERVAL);

/// At most `per_interval` lines per `interval` for each kind of event.
#[derive(Debug)]
pub struct RateLimitedLog {
    per_interval: u32,
    interval: Duration,
    /// One window per kind. Kinds are `&'static str`s written in the code, so this holds
    /// as many entries as there are call sites, at most.
    windows: Mutex<Vec<Window>>,
}

#[derive(Debug)]
struct Window {
    kind: &'static str,
    started: Instant,
    logged: u32,
    suppressed: u64,
}

/// Whether to log one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogVerdict {
    /// Log it; `suppressed_before` events of its kind were dropped since the last line.
    Log { suppressed_before: u64 },
    /// Drop it (it is counted for the next summary).
    Suppress,
}

impl RateLimitedLog {
    pub const fn new(per_interval: u32, interval: Duration) -> RateLimitedLog {
        RateLimitedLog {
            per_interval,
            interval,
            windows: Mutex::new(Vec::new()),
        }
    }

    /// Whether to log an event of `kind` now. When it is to be logged after some were
    /// suppressed, this writes the summary line ("suppressed K similar messages") first.
    pub fn allow(&self, kind: &'static str) -> bool {
        match self.verdict_at(kind, Instant::now()) {
            LogVerdict::Log { suppressed_before } => {
                if suppressed_before > 0 {
                    tracing::warn!(
                        kind,
                        suppressed = suppressed_before,
                        "suppressed {suppressed_before} similar messages"
                    );
                }
                true
            }
            LogVerdict::Suppress => false,
        }
    }

    /// The verdict for an event of `kind` at `now` (time is passed in, for tests).
    pub fn verdict_at(&self, kind: &'static str, now: Instant) -> LogVerdict {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = match windows.iter().position(|w| w.kind == kind) {
            Some(index) => &mut windows[index],
            None => {
                windows.push(Window {
                    kind,
                    started: now,
                    logged: 0,
                    suppressed: 0,
                });
                windows.last_mut().expect("just pushed")
            }
        };
        if now.saturating_duration_since(window.started) >= self.interval {
            window.started = now;
            window.logged = 0;
        }
        if window.logged < self.per_interval {
            window.logged += 1;
            let suppressed_before = std::mem::take(&mut window.suppressed);
            LogVerdict::Log { suppressed_before }
        } else {
            window.suppressed = window.suppressed.saturating_add(1);
            LogVerdict::Suppress
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn logs_a_budget_per_interval_then_summarizes() {
        let log = RateLimitedLog::new(3, 10 * SECOND);
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(
                log.verdict_at("refused", start + i * SECOND),
                LogVerdict::Log {
                    suppressed_before: 0
                }
            );
        }
        for i in 3..9 {
            assert_eq!(
                log.verdict_at("refused", start + i * SECOND),
                LogVerdict::Suppress
            );
        }
        // The next interval: the first line carries the count of what was dropped.
        assert_eq!(
            log.verdict_at("refused", start + 10 * SECOND),
            LogVerdict::Log {
                suppressed_before: 6
            }
        );
        assert_eq!(
            log.verdict_at("refused", start + 11 * SECOND),
            LogVerdict::Log {
                suppressed_before: 0
            }
        );
    }

    #[test]
    fn kinds_have_their_own_budgets() {
        let log = RateLimitedLog::new(1, 10 * SECOND);
        let now = Instant::now();
        assert!(matches!(
            log.verdict_at("handshake", now),
            LogVerdict::Log { .. }
        ));
        assert_eq!(log.verdict_at("handshake", now), LogVerdict::Suppress);
        assert!(matches!(
            log.verdict_at("bad frame", now),
            LogVerdict::Log { .. }
        ));
        assert_eq!(log.verdict_at("bad frame", now), LogVerdict::Suppress);
    }

    #[test]
    fn a_flood_logs_a_bounded_number_of_lines() {
        let log = RateLimitedLog::new(LOG_LINES_PER_INTERVAL, LOG_INTERVAL);
        let start = Instant::now();
        // 100 000 events over 100 s: a thousand a second.
        let logged = (0..100_000u32)
            .filter(|i| {
                let at = start + Duration::from_millis(u64::from(*i));
                matches!(log.verdict_at("flood", at), LogVerdict::Log { .. })
            })
            .count();
        assert_eq!(logged, 10 * LOG_LINES_PER_INTERVAL as usize);
    }

    #[test]
    fn allow_follows_the_verdicts() {
        let log = RateLimitedLog::new(2, Duration::from_secs(3600));
        assert!(log.allow("kind"));
        assert!(log.allow("kind"));
        assert!(!log.allow("kind"));
    }
}
