//! Scores: the leaderboard every node computes the same way from the same state.
//!
//! A leaderboard that ranks by net worth rewards whoever was given the most, and a
//! single ranking at the end rewards one lucky gamble. So:
//! - the default ranking is the **return since the start**: net worth against what the
//!   participant was given (its worth when it joined, plus any cash the admin added);
//! - with rounds, the **round-rank average** ranks each round by that round's return
//!   and averages a participant's ranks (the Rotman Interactive Trader's way): steady
//!   play beats one big win;
//! - **students and bots are ranked apart**, each group from 1: the house's market makers
//!   are there to trade with, not to beat;
//! - equal scores share a rank (1, 2, 2, 4), and are listed by name.
//!
//! Admins are not ranked. While the rules hide the leaderboard, participants see an empty
//! one until the game ends ([`Exchange::leaderboard`]); the admin and the report use
//! [`Exchange::scores`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Exchange;
use super::schedule::return_bps;
use super::views::LeaderboardRow;
use crate::core::types::Role;

/// What the leaderboard ranks by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ranking {
    /// Return since the start, highest first.
    #[default]
    Return,
    /// Average rank over the rounds closed so far, lowest first; those with no closed
    /// round yet come last, by return.
    RoundRanks,
    /// Net worth, highest first (what a free market shows).
    NetWorth,
}

impl Exchange {
    /// The leaderboard by return, as participants may see it: empty while the rules hide
    /// it and the game goes on.
    pub fn leaderboard(&self) -> Vec<LeaderboardRow> {
        if self.rules.leaderboard_hidden && !self.game_over {
            return Vec::new();
        }
        self.scores(Ranking::Return)
    }

    /// Every trader and bot scored and ranked by `ranking`, hidden or not: students
    /// (traders) first, then bots, each group ranked from 1.
    pub fn scores(&self, ranking: Ranking) -> Vec<LeaderboardRow> {
        let mut rows: Vec<LeaderboardRow> = self
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.role != Role::Admin)
            .map(|(i, a)| {
                let net_worth = self.net_worth(i as u32);
                LeaderboardRow {
                    rank: 0,
                    name: a.name.clone(),
                    role: a.role,
                    net_worth,
                    cash: a.cash,
                    start_worth: a.contributed,
                    return_bps: return_bps(a.contributed, net_worth),
                    round_returns: a.round_returns.clone(),
                    round_ranks: Vec::new(),
                    round_rank_average: None,
                }
            })
            .collect();
        rerank(&mut rows, ranking);
        rows
    }
}

/// Orders and ranks leaderboard rows by `ranking`: students (traders) first, then bots,
/// each group ranked on its own from 1. What [`Exchange::scores`] does; clients use it to
/// show a leaderboard they were given by another ranking.
pub fn rerank(rows: &mut [LeaderboardRow], ranking: Ranking) {
    rows.sort_by_key(|r| r.role != Role::Trader);
    let split = rows.partition_point(|r| r.role == Role::Trader);
    let (students, bots) = rows.split_at_mut(split);
    for group in [students, bots] {
        for row in group.iter_mut() {
            row.round_ranks.clear();
            row.round_rank_average = None;
        }
        rank_group(group, ranking);
    }
}

/// Ranks one group in place: round ranks first, then the order and ranks by `ranking`.
fn rank_group(rows: &mut [LeaderboardRow], ranking: Ranking) {
    rank_rounds(rows);
    let key = |r: &LeaderboardRow| -> (i128, i128) {
        match ranking {
            Ranking::Return => (-(r.return_bps as i128), 0),
            Ranking::NetWorth => (-(r.net_worth as i128), 0),
            Ranking::RoundRanks => (
                r.round_rank_average.map_or(i128::MAX, i128::from),
                -(r.return_bps as i128),
            ),
        }
    };
    rows.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name)));
    let mut rank = 0;
    let mut previous = None;
    for (position, row) in rows.iter_mut().enumerate() {
        let score = key(row);
        if previous != Some(score) {
            rank = position as u32 + 1;
            previous = Some(score);
        }
        row.rank = rank;
    }
}

/// Each closed round ranks the group by that round's return (equal returns share a
/// rank); a row's average is over the rounds it took part in, in hundredths.
fn rank_rounds(rows: &mut [LeaderboardRow]) {
    let mut by_round: BTreeMap<u16, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        for &(round, bps) in &row.round_returns {
            by_round.entry(round).or_default().push((bps, i));
        }
    }
    for (round, mut entries) in by_round {
        entries.sort_by_key(|&(bps, i)| (std::cmp::Reverse(bps), i));
        let mut rank = 0;
        let mut previous = None;
        for (position, &(bps, i)) in entries.iter().enumerate() {
            if previous != Some(bps) {
                rank = position as u32 + 1;
                previous = Some(bps);
            }
            rows[i].round_ranks.push((round, rank));
        }
    }
    for row in rows.iter_mut() {
        let count = row.round_ranks.len() as u64;
        let sum: u64 = row.round_ranks.iter().map(|&(_, r)| u64::from(r)).sum();
        // None before a round it took part in has closed (no ranks: no average).
        if let Some(average) = (sum * 100).checked_div(count) {
            row.round_rank_average = Some(average as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, role: Role, start: i64, worth: i64, rounds: &[i64]) -> LeaderboardRow {
        LeaderboardRow {
            rank: 0,
            name: name.into(),
            role,
            net_worth: worth,
            cash: 0,
            start_worth: start,
            return_bps: return_bps(start, worth),
            round_returns: rounds
                .iter()
                .enumerate()
                .map(|(i, &r)| (i as u16, r))
                .collect(),
            round_ranks: Vec::new(),
            round_rank_average: None,
        }
    }

    fn ranked(rows: &[LeaderboardRow]) -> Vec<(u32, &str)> {
        rows.iter().map(|r| (r.rank, r.name.as_str())).collect()
    }

    #[test]
    fn return_beats_size_and_equal_returns_share_a_rank_listed_by_name() {
        let mut rows = vec![
            row("rich", Role::Trader, 1_000_000, 1_010_000, &[]), // +1%
            row("cleo", Role::Trader, 10_000, 11_000, &[]),       // +10%
            row("ada", Role::Trader, 20_000, 22_000, &[]),        // +10%
            row("bob", Role::Trader, 10_000, 9_000, &[]),         // -10%
        ];
        rank_group(&mut rows, Ranking::Return);
        assert_eq!(
            ranked(&rows),
            [(1, "ada"), (1, "cleo"), (3, "rich"), (4, "bob")]
        );
        rank_group(&mut rows, Ranking::NetWorth);
        assert_eq!(rows[0].name, "rich");
    }

    #[test]
    fn the_round_rank_average_rewards_steady_play_over_one_big_win() {
        // gambler: +50%, -20%, -20%; steady: +5% each round; middling: +1% each.
        let mut rows = vec![
            row(
                "gambler",
                Role::Trader,
                10_000,
                10_000,
                &[5_000, -2_000, -2_000],
            ),
            row("steady", Role::Trader, 10_000, 11_500, &[500, 500, 500]),
            row("middling", Role::Trader, 10_000, 10_300, &[100, 100, 100]),
        ];
        rank_group(&mut rows, Ranking::RoundRanks);
        assert_eq!(
            ranked(&rows),
            [(1, "steady"), (2, "middling"), (3, "gambler")]
        );
        let steady = &rows[0];
        assert_eq!(steady.round_ranks, [(0, 2), (1, 1), (2, 1)]);
        assert_eq!(steady.round_rank_average, Some(133));
        assert_eq!(rows[2].round_rank_average, Some(233));
    }

    #[test]
    fn equal_round_returns_share_the_round_rank_and_late_joiners_average_their_rounds() {
        let mut rows = vec![
            row("a", Role::Trader, 10_000, 10_000, &[100, 300]),
            row("b", Role::Trader, 10_000, 10_000, &[100, 200]),
            row("late", Role::Trader, 10_000, 10_000, &[]),
        ];
        // `late` joined after round 0: it has only round 1.
        rows[2].round_returns = vec![(1, 400)];
        rank_group(&mut rows, Ranking::RoundRanks);
        let get = |name: &str| rows.iter().find(|r| r.name == name).unwrap().clone();
        assert_eq!(get("a").round_ranks, [(0, 1), (1, 2)]);
        assert_eq!(get("b").round_ranks, [(0, 1), (1, 3)]);
        assert_eq!(get("late").round_ranks, [(1, 1)]);
        assert_eq!(get("late").rank, 1);
        assert_eq!(get("a").round_rank_average, Some(150));
    }

    #[test]
    fn nobody_with_a_closed_round_comes_last_by_return() {
        let mut rows = vec![
            row("none-good", Role::Trader, 10_000, 12_000, &[]),
            row("none-bad", Role::Trader, 10_000, 8_000, &[]),
            row("ranked", Role::Trader, 10_000, 9_000, &[-100]),
        ];
        rank_group(&mut rows, Ranking::RoundRanks);
        assert_eq!(
            ranked(&rows),
            [(1, "ranked"), (2, "none-good"), (3, "none-bad")]
        );
    }
}
