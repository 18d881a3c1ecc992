//! The sample state in a scenario, for the tests: round 2 of 3 open with 4:13 left, the
//! newest headline with a story, every symbol's candles, and the leaderboard with each
//! student's round returns.

use qraft_node::core::exchange::schedule::{RoundPhase, RoundView, ScenarioView};
use qraft_node::core::scenario::ScenarioStart;

use super::{State, sample};

/// When the sample scenario started: two minutes before the sample's `T0`.
pub const STARTED: u64 = sample::T0 - 120_000;

/// Three rounds of five minutes, a minute apart.
pub fn scenario(phase: RoundPhase) -> ScenarioView {
    ScenarioView {
        name: "Earnings season".into(),
        description: "Three rounds; news moves the prices.".into(),
        start: ScenarioStart::FirstBlock,
        started_height: Some(1),
        started_ms: Some(STARTED),
        rounds: (0..3u64)
            .map(|i| RoundView {
                name: format!("Round {}", i + 1),
                opens_at_ms: 60_000 + i * 360_000,
                closes_at_ms: 360_000 + i * 360_000,
            })
            .collect(),
        phase,
        next_step_ms: Some(STARTED + 720_000),
        events_total: 6,
        events_done: 3,
        end_after_last_round: true,
        secret: None,
    }
}

/// The sample state in round 2 of 3, 4:13 before it closes.
pub fn state() -> State {
    let mut s = sample::state();
    s.scenario = Some(scenario(RoundPhase::Open(1)));
    // Round 2 closes at 720 s from the start.
    s.now_ms = STARTED + 720_000 - 252_400;
    s.market.news[0].text = "ACME's quarterly profit came in 20% above the analysts' \
                             forecast, and the company raised its outlook."
        .into();
    let selected = s.market.candles.clone();
    for (i, symbol) in s.market.symbols.iter().enumerate() {
        let base = symbol.reference_price;
        let candles = selected
            .iter()
            .map(|c| {
                let mut c = *c;
                // The same shape, moved to the symbol's price (mirrored for odd ones).
                let at = |p: u64| {
                    let d = p as i64 - 1200;
                    let d = if i % 2 == 1 { -d } else { d };
                    (base as i64 + d).max(1) as u64
                };
                let (o, h, l, cl) = (at(c.open), at(c.high), at(c.low), at(c.close));
                c.open = o;
                c.close = cl;
                c.high = h.max(l);
                c.low = h.min(l);
                c
            })
            .collect();
        s.market.all_candles.insert(symbol.ticker, candles);
    }
    for (i, row) in s.market.leaderboard.iter_mut().enumerate() {
        row.round_returns = vec![(0, 120 - 40 * i as i64)];
        row.round_ranks = vec![(0, i as u32 + 1)];
        row.round_rank_average = Some(100 * (i as u32 + 1));
    }
    s
}
