//! The scenario's rounds as a clock: which round is open and how long it has left, how
//! long the break before the next lasts, or that the game is over (pure, from the
//! node's [`ScenarioView`] and the dashboard's clock).

use qraft_node::core::exchange::schedule::{RoundPhase, ScenarioView};

/// Where the game is in its rounds, at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundClock {
    /// The scenario has not started (it waits for the teacher).
    Waiting,
    /// Round `next` (from 1) of `of` opens in `in_ms` (before the first round, or in a
    /// break between two).
    Break { next: usize, of: usize, in_ms: u64 },
    /// Round `round` (from 1) of `of` is open, with `left_ms` to go.
    Open {
        round: usize,
        of: usize,
        left_ms: u64,
    },
    /// Every round has closed; the game may go on without rounds.
    RoundsOver,
    /// The game is over.
    GameOver,
}

/// The clock for `scenario` at `now_ms` (ms since the Unix epoch); `None` for a
/// scenario without rounds (news only) while the game goes on.
pub fn round_clock(scenario: &ScenarioView, now_ms: u64, game_over: bool) -> Option<RoundClock> {
    if game_over {
        return Some(RoundClock::GameOver);
    }
    let of = scenario.rounds.len();
    if of == 0 {
        return None;
    }
    let Some(start) = scenario.started_ms else {
        return Some(RoundClock::Waiting);
    };
    let until = |at: u64| start.saturating_add(at).saturating_sub(now_ms);
    let next_break = |next: usize| match scenario.rounds.get(next) {
        Some(round) => RoundClock::Break {
            next: next + 1,
            of,
            in_ms: until(round.opens_at_ms),
        },
        None if scenario.end_after_last_round => RoundClock::GameOver,
        None => RoundClock::RoundsOver,
    };
    Some(match scenario.phase {
        RoundPhase::Before => next_break(0),
        RoundPhase::Closed(n) => next_break(n + 1),
        RoundPhase::Open(n) => match scenario.rounds.get(n) {
            Some(round) => RoundClock::Open {
                round: n + 1,
                of,
                left_ms: until(round.closes_at_ms),
            },
            None => RoundClock::RoundsOver,
        },
    })
}

impl RoundClock {
    /// In words: `round 2 of 3 · 04:12 left`, `break · round 3 opens in 01:30`.
    pub fn text(&self) -> String {
        match *self {
            RoundClock::Waiting => "waiting for the teacher to start".into(),
            RoundClock::Break { next: 1, in_ms, .. } => {
                format!("round 1 opens in {}", mm_ss(in_ms))
            }
            RoundClock::Break { next, in_ms, .. } => {
                format!("break · round {next} opens in {}", mm_ss(in_ms))
            }
            RoundClock::Open {
                round, of, left_ms, ..
            } => format!("round {round} of {of} · {} left", mm_ss(left_ms)),
            RoundClock::RoundsOver => "every round is over".into(),
            RoundClock::GameOver => "game over".into(),
        }
    }

    /// Short, for a narrow header: `R2/3 04:12`, `break 01:30`.
    pub fn compact(&self) -> String {
        match *self {
            RoundClock::Waiting => "not started".into(),
            RoundClock::Break { in_ms, .. } => format!("break {}", mm_ss(in_ms)),
            RoundClock::Open {
                round, of, left_ms, ..
            } => format!("R{round}/{of} {}", mm_ss(left_ms)),
            RoundClock::RoundsOver => "rounds over".into(),
            RoundClock::GameOver => "game over".into(),
        }
    }

    /// The time to show big: what is left of the round, or of the break.
    pub fn countdown_ms(&self) -> Option<u64> {
        match *self {
            RoundClock::Break { in_ms, .. } => Some(in_ms),
            RoundClock::Open { left_ms, .. } => Some(left_ms),
            _ => None,
        }
    }
}

/// `mm:ss` (`h:mm:ss` from an hour), rounded up to the second: a round with 200 ms to
/// go shows `00:01`, not `00:00`.
pub fn mm_ss(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use qraft_node::core::exchange::schedule::RoundView;
    use qraft_node::core::scenario::ScenarioStart;

    use super::*;

    const START: u64 = 1_000_000;

    /// Three rounds of 5 minutes, a minute apart, started at `START`.
    fn three_rounds(phase: RoundPhase) -> ScenarioView {
        ScenarioView {
            name: "test".into(),
            description: String::new(),
            start: ScenarioStart::FirstBlock,
            started_height: Some(1),
            started_ms: Some(START),
            rounds: (0..3u64)
                .map(|i| RoundView {
                    name: format!("R{i}"),
                    opens_at_ms: 60_000 + i * 360_000,
                    closes_at_ms: 360_000 + i * 360_000,
                })
                .collect(),
            phase,
            next_step_ms: None,
            events_total: 0,
            events_done: 0,
            end_after_last_round: true,
            secret: None,
        }
    }

    #[test]
    fn an_open_round_counts_down_to_its_close() {
        let view = three_rounds(RoundPhase::Open(1));
        // Round 2 closes at 720 s; 252.4 s before that.
        let clock = round_clock(&view, START + 467_600, false).unwrap();
        assert_eq!(
            clock,
            RoundClock::Open {
                round: 2,
                of: 3,
                left_ms: 252_400
            }
        );
        assert_eq!(clock.text(), "round 2 of 3 · 04:13 left");
        assert_eq!(clock.compact(), "R2/3 04:13");
        // Late blocks: the round is still open at its time, with nothing left.
        let late = round_clock(&view, START + 800_000, false).unwrap();
        assert_eq!(late.compact(), "R2/3 00:00");
    }

    #[test]
    fn breaks_count_down_to_the_next_round() {
        let before = round_clock(&three_rounds(RoundPhase::Before), START, false).unwrap();
        assert_eq!(before.text(), "round 1 opens in 01:00");
        let view = three_rounds(RoundPhase::Closed(0));
        let clock = round_clock(&view, START + 390_000, false).unwrap();
        assert_eq!(clock.text(), "break · round 2 opens in 00:30");
        assert_eq!(clock.compact(), "break 00:30");
        assert_eq!(clock.countdown_ms(), Some(30_000));
    }

    #[test]
    fn the_end_is_game_over_or_rounds_over() {
        let mut view = three_rounds(RoundPhase::Closed(2));
        let now = START + 2_000_000;
        assert_eq!(round_clock(&view, now, false), Some(RoundClock::GameOver));
        view.end_after_last_round = false;
        assert_eq!(round_clock(&view, now, false), Some(RoundClock::RoundsOver));
        assert_eq!(round_clock(&view, now, true), Some(RoundClock::GameOver));
        assert_eq!(RoundClock::GameOver.text(), "game over");
    }

    #[test]
    fn not_started_and_no_rounds() {
        let mut view = three_rounds(RoundPhase::Before);
        view.started_ms = None;
        let clock = round_clock(&view, START, false).unwrap();
        assert_eq!(clock, RoundClock::Waiting);
        assert_eq!(clock.countdown_ms(), None);
        view.rounds.clear();
        assert_eq!(round_clock(&view, START, false), None);
    }

    #[test]
    fn long_times_show_hours() {
        assert_eq!(mm_ss(0), "00:00");
        assert_eq!(mm_ss(1), "00:01");
        assert_eq!(mm_ss(59_999), "01:00");
        assert_eq!(mm_ss(3_600_000 + 61_000), "1:01:01");
    }
}
