//! What a chaos run prints: failover figures, the orders' fates, the checker's findings
//! and the targets, as text or as one JSON object.

use std::time::Duration;

use serde_json::{Value, json};

use super::check::Findings;
use super::faults::{FaultKind, FaultRecord};
use super::traders::Tally;

/// The targets for a 20-cycle run.
const TARGET_FAILOVER_MEDIAN: Duration = Duration::from_secs(2);
const TARGET_FAILOVER_MAX: Duration = Duration::from_secs(5);
/// At most 1% of orders unknown, in per mille of the orders sent.
const TARGET_UNKNOWN_PER_MILLE: u64 = 10;

/// The whole run, for printing.
pub struct Summary<'a> {
    pub seed: u64,
    pub cycles: u32,
    pub faults: &'a [FaultRecord],
    pub tally: &'a Tally,
    pub findings: &'a Findings,
    /// Whether the nodes reached the same head before they were stopped.
    pub converged: bool,
    /// Nodes that did not stop cleanly on SIGTERM.
    pub killed_at_stop: &'a [u64],
}

/// Min, median and max of some durations (`None` when empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spread {
    pub min: Duration,
    pub median: Duration,
    pub max: Duration,
}

impl Spread {
    pub fn of(values: &[Duration]) -> Option<Spread> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Some(Spread {
            min: *sorted.first()?,
            median: sorted[(sorted.len() - 1) / 2],
            max: *sorted.last()?,
        })
    }

    fn text(&self) -> String {
        format!(
            "min {:.2} s, median {:.2} s, max {:.2} s",
            self.min.as_secs_f64(),
            self.median.as_secs_f64(),
            self.max.as_secs_f64()
        )
    }

    fn json(&self) -> Value {
        json!({
            "min_ms": self.min.as_millis() as u64,
            "median_ms": self.median.as_millis() as u64,
            "max_ms": self.max.as_millis() as u64,
        })
    }
}

impl Summary<'_> {
    /// The stalls after faults of `kind` (only those that recovered), and how many never
    /// did.
    fn stalls(&self, kind: FaultKind) -> (Vec<Duration>, usize) {
        let of_kind = self.faults.iter().filter(|f| f.kind == kind);
        let recovered: Vec<Duration> = of_kind.clone().filter_map(|f| f.stall).collect();
        let never = of_kind.filter(|f| f.stall.is_none()).count();
        (recovered, never)
    }

    /// The failover figures: the stalls after the leader's kills.
    pub fn failover(&self) -> (Option<Spread>, usize) {
        let (stalls, never) = self.stalls(FaultKind::LeaderKill);
        (Spread::of(&stalls), never)
    }

    /// Whether every check passed: nothing acknowledged lost, one result per order, heads
    /// agree, verify green on every node, and some order was acknowledged at all.
    pub fn passed(&self) -> bool {
        self.findings.lost == 0
            && self.tally.unanswered == 0
            && self.findings.heads_agree()
            && self.findings.verify_green()
            && !self.tally.acknowledged.is_empty()
    }

    fn unknown_per_mille(&self) -> u64 {
        (self.tally.unknown * 1000).div_ceil(self.tally.sent.max(1))
    }

    /// The targets, each with whether it was met.
    fn targets(&self) -> Vec<(String, bool)> {
        let (failover, never) = self.failover();
        let median_ok = never == 0 && failover.is_some_and(|s| s.median <= TARGET_FAILOVER_MEDIAN);
        let max_ok = never == 0 && failover.is_some_and(|s| s.max <= TARGET_FAILOVER_MAX);
        vec![
            ("failover median <= 2 s".to_string(), median_ok),
            ("failover max <= 5 s".to_string(), max_ok),
            (
                "unknown <= 1% of orders".to_string(),
                self.unknown_per_mille() <= TARGET_UNKNOWN_PER_MILLE,
            ),
            ("zero lost".to_string(), self.findings.lost == 0),
            (
                "verify green on every node".to_string(),
                self.findings.verify_green(),
            ),
        ]
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        let t = self.tally;
        out.push_str(&format!(
            "chaos: {} cycles, seed {}, {} faults\n",
            self.cycles,
            self.seed,
            self.faults.len()
        ));
        for kind in FaultKind::ALL {
            let (stalls, never) = self.stalls(kind);
            let Some(spread) = Spread::of(&stalls) else {
                if never > 0 {
                    out.push_str(&format!(
                        "{}: no block within the cap after {never} of them\n",
                        kind.name()
                    ));
                }
                continue;
            };
            let label = match kind {
                FaultKind::LeaderKill => "failover (leader kill to next committed block)",
                FaultKind::FollowerKill => "stall after a follower kill",
                FaultKind::VoterPause => "stall after a voter pause",
            };
            out.push_str(&format!("{label}: {} over {}", spread.text(), stalls.len()));
            if never > 0 {
                out.push_str(&format!("; {never} never recovered"));
            }
            out.push('\n');
        }
        let paused_leaders: Vec<Duration> = self
            .faults
            .iter()
            .filter(|f| f.kind == FaultKind::VoterPause && f.was_leader)
            .filter_map(|f| f.stall)
            .collect();
        if let Some(spread) = Spread::of(&paused_leaders) {
            out.push_str(&format!(
                "  of which the leader paused: {} over {}\n",
                spread.text(),
                paused_leaders.len()
            ));
        }
        let unhealthy = self.faults.iter().filter(|f| !f.healthy_before).count();
        if unhealthy > 0 {
            out.push_str(&format!(
                "{unhealthy} faults began before every node had caught up\n"
            ));
        }
        out.push_str(&format!(
            "orders: {} sent, {} acknowledged, {} unknown ({:.1}%), {} failed, {} lost, {} unanswered\n",
            t.sent,
            t.acknowledged.len(),
            t.unknown,
            t.unknown as f64 * 100.0 / t.sent.max(1) as f64,
            t.failed,
            self.findings.lost,
            t.unanswered
        ));
        if !t.failure_reasons.is_empty() {
            let reasons: Vec<String> = t
                .failure_reasons
                .iter()
                .map(|(reason, n)| format!("{reason} {n}"))
                .collect();
            out.push_str(&format!("failed by reason: {}\n", reasons.join(", ")));
        }
        out.push_str(&format!(
            "sessions: {} reconnections, {} exited with a failure\n",
            t.reconnections, t.failed_sessions
        ));
        for example in &self.findings.lost_examples {
            out.push_str(&format!("lost: {example}\n"));
        }
        let heads: Vec<String> = self
            .findings
            .heads
            .iter()
            .map(|(id, (height, hash))| format!("node {id} at {height} {}", hash.short(8)))
            .collect();
        out.push_str(&format!(
            "heads {}: {}{}\n",
            if self.findings.heads_agree() {
                "agree"
            } else {
                "DIFFER"
            },
            heads.join(", "),
            if self.converged {
                ""
            } else {
                " (they had not converged when stopped)"
            }
        ));
        for (id, result) in &self.findings.verify {
            match result {
                Ok(head) => out.push_str(&format!("verify node {id}: ok ({head})\n")),
                Err(why) => out.push_str(&format!("verify node {id}: FAILED: {why}\n")),
            }
        }
        if !self.killed_at_stop.is_empty() {
            out.push_str(&format!(
                "nodes {:?} did not stop cleanly on SIGTERM and were killed\n",
                self.killed_at_stop
            ));
        }
        for (target, met) in self.targets() {
            out.push_str(&format!(
                "target {target}: {}\n",
                if met { "met" } else { "missed" }
            ));
        }
        out.push_str(if self.passed() {
            "checks passed\n"
        } else {
            "CHECKS FAILED\n"
        });
        out
    }

    pub fn json(&self) -> Value {
        let t = self.tally;
        let stalls = |kind| {
            let (stalls, never) = self.stalls(kind);
            json!({
                "count": stalls.len() + never,
                "never_recovered": never,
                "spread": Spread::of(&stalls).map(|s| s.json()),
            })
        };
        json!({
            "ok": self.passed(),
            "seed": self.seed,
            "cycles": self.cycles,
            "failover": stalls(FaultKind::LeaderKill),
            "follower_kill": stalls(FaultKind::FollowerKill),
            "voter_pause": stalls(FaultKind::VoterPause),
            "orders": {
                "sent": t.sent,
                "acknowledged": t.acknowledged.len(),
                "unknown": t.unknown,
                "failed": t.failed,
                "lost": self.findings.lost,
                "unanswered": t.unanswered,
                "failure_reasons": t.failure_reasons,
            },
            "reconnections": t.reconnections,
            "heads_agree": self.findings.heads_agree(),
            "converged": self.converged,
            "verify": self.findings.verify.iter().map(|(id, r)| (id.to_string(), json!(r.is_ok()))).collect::<serde_json::Map<String, Value>>(),
            "targets": self.targets().into_iter().map(|(t, met)| (t, json!(met))).collect::<serde_json::Map<String, Value>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_take_the_lower_median() {
        let ms = Duration::from_millis;
        let spread = Spread::of(&[ms(900), ms(100), ms(400), ms(2000)]).unwrap();
        assert_eq!(spread.min, ms(100));
        assert_eq!(spread.median, ms(400));
        assert_eq!(spread.max, ms(2000));
        assert_eq!(Spread::of(&[]), None);
    }
}
