//! The scenario as one ordered list of steps at game times.
//!
//! Built once from the [`Scenario`]; the exchange remembers how many steps it has taken,
//! so the timeline is the only schedule and there is nothing else to keep in step.

use serde::{Deserialize, Serialize};

use super::Scenario;

/// One thing the scenario does at a game time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Step {
    /// Round `n` (from 0) ends: trading closes, resting orders are cancelled, and every
    /// participant's result for the round is recorded. After the last round, the game
    /// ends if the scenario says so.
    CloseRound(usize),
    /// Round `n` opens: trading opens on every symbol.
    OpenRound(usize),
    /// `scenario.events[n]` happens.
    Event(usize),
}

/// The steps in the order they happen, each with its game time (ms from the start). At
/// the same time a round closes before the next opens, and events come after both (an
/// event at a round's start happens in that round).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    steps: Vec<(u64, Step)>,
}

impl Timeline {
    pub fn new(scenario: &Scenario) -> Timeline {
        let mut steps = Vec::with_capacity(scenario.rounds.len() * 2 + scenario.events.len());
        for index in 0..scenario.rounds.len() {
            let (open, close) = scenario
                .round_window(index)
                .expect("index is below the round count");
            steps.push((open, Step::OpenRound(index)));
            steps.push((close, Step::CloseRound(index)));
        }
        for (index, event) in scenario.events.iter().enumerate() {
            steps.push((event.at_ms, Step::Event(index)));
        }
        // Stable and total: (time, kind, index) orders every step.
        steps.sort();
        Timeline { steps }
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Step `index` and its game time.
    pub fn get(&self, index: usize) -> Option<(u64, Step)> {
        self.steps.get(index).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Event, Round, ScenarioStart, ScheduledEvent};
    use super::*;

    fn scenario(rounds: &[(u64, u64)], events: &[u64]) -> Scenario {
        Scenario {
            name: "t".into(),
            description: String::new(),
            start: ScenarioStart::FirstBlock,
            rounds: rounds
                .iter()
                .map(|&(length_ms, break_ms)| Round {
                    name: "r".into(),
                    length_ms,
                    break_ms,
                })
                .collect(),
            events: events
                .iter()
                .map(|&at_ms| ScheduledEvent {
                    at_ms,
                    event: Event::News {
                        symbol: None,
                        headline: "h".into(),
                        text: String::new(),
                    },
                })
                .collect(),
            end_after_last_round: true,
            secret: None,
        }
    }

    #[test]
    fn rounds_and_events_interleave_by_time_closes_first() {
        let timeline = Timeline::new(&scenario(
            &[(60_000, 0), (60_000, 10_000)],
            &[60_000, 5_000],
        ));
        let steps: Vec<_> = (0..timeline.len())
            .map(|i| timeline.get(i).unwrap())
            .collect();
        assert_eq!(
            steps,
            vec![
                (0, Step::OpenRound(0)),
                (5_000, Step::Event(1)),
                (60_000, Step::CloseRound(0)),
                (60_000, Step::OpenRound(1)),
                (60_000, Step::Event(0)),
                (120_000, Step::CloseRound(1)),
            ]
        );
    }

    #[test]
    fn events_at_one_time_keep_the_file_order() {
        let timeline = Timeline::new(&scenario(&[], &[1_000, 1_000, 0]));
        assert_eq!(timeline.get(0), Some((0, Step::Event(2))));
        assert_eq!(timeline.get(1), Some((1_000, Step::Event(0))));
        assert_eq!(timeline.get(2), Some((1_000, Step::Event(1))));
    }
}
