//! What the network does to a message: a seeded decision per message.

use rand::{Rng, RngExt};

/// Message faults, in per-mille probabilities and millisecond delays. Random delays
/// also reorder messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Faults {
    pub drop_per_mille: u32,
    pub duplicate_per_mille: u32,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Faults {
    /// A perfect network: every message, once, at once.
    pub fn none() -> Faults {
        Faults::default()
    }

    /// A bad LAN: 5% dropped, 2% duplicated, 0–20 ms of jitter.
    pub fn lossy() -> Faults {
        Faults {
            drop_per_mille: 50,
            duplicate_per_mille: 20,
            min_delay_ms: 0,
            max_delay_ms: 20,
        }
    }

    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }

    /// The delays (ms) after which copies of one message arrive: none if dropped, two if
    /// duplicated.
    pub fn fate(&self, rng: &mut impl Rng) -> Vec<u64> {
        if self.is_none() {
            return vec![0];
        }
        if rng.random_range(0..1000) < self.drop_per_mille {
            return Vec::new();
        }
        let copies = if rng.random_range(0..1000) < self.duplicate_per_mille {
            2
        } else {
            1
        };
        (0..copies)
            .map(|_| {
                if self.max_delay_ms > self.min_delay_ms {
                    rng.random_range(self.min_delay_ms..=self.max_delay_ms)
                } else {
                    self.min_delay_ms
                }
            })
            .collect()
    }
}

/// Which pairs of nodes cannot talk (both directions).
#[derive(Clone, Debug, Default)]
pub struct Partition {
    groups: Vec<Vec<u64>>,
}

impl Partition {
    /// Nodes in different groups cannot talk; nodes in no group talk to everyone.
    pub fn groups(groups: Vec<Vec<u64>>) -> Partition {
        Partition { groups }
    }

    pub fn heal(&mut self) {
        self.groups.clear();
    }

    pub fn is_healed(&self) -> bool {
        self.groups.is_empty()
    }

    pub fn blocks(&self, from: u64, to: u64) -> bool {
        let group_of = |n: u64| self.groups.iter().position(|g| g.contains(&n));
        match (group_of(from), group_of(to)) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}
