//! A small seeded random number generator (SplitMix64): the same `--seed` gives the same
//! faults, delays and orders, so a chaos run can be repeated.

/// SplitMix64 (Steele, Lea and Flood): one 64-bit state, statistically good enough to
/// pick faults and prices, and trivially reproducible from a seed.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for `label` (a client, the fault plan) from the same seed.
    pub fn fork(&self, label: u64) -> Rng {
        let mut mixed = Rng::new(self.state ^ label.wrapping_mul(0xA24B_AED4_963E_E407));
        mixed.next_u64();
        mixed
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high` (`low` when `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.next_u64() % (high - low + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_forks_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        let mut fork = Rng::new(7).fork(1);
        assert_ne!(fork.next_u64(), Rng::new(7).next_u64());
    }

    #[test]
    fn between_stays_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            let x = rng.between(500, 3000);
            assert!((500..=3000).contains(&x));
        }
        assert_eq!(rng.between(4, 4), 4);
        assert_eq!(rng.between(9, 2), 9);
    }
}
