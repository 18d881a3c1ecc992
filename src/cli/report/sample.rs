//! A bounded series sampled at evenly spaced block times, built as blocks stream past.
//!
//! The value at time `t` is the state after the last block with a timestamp at or before
//! `t`. Samples lie on a grid `t0 + k * step` from the first block's time; when the grid
//! fills up, every other sample is dropped and the step doubles, so the series stays
//! evenly spaced and within its bound however long the game ran, without knowing its
//! length in advance. The last block's state is always the last point.

/// The grid step the sampling starts with, in ms: a second of block time.
pub const FIRST_STEP_MS: u64 = 1_000;

/// A series of at most `max` points at evenly spaced block times (plus the last time).
#[derive(Debug)]
pub struct Sampler<T> {
    max: usize,
    step_ms: u64,
    t0: Option<u64>,
    /// The grid index of the next sample to take.
    next: u64,
    /// (grid index, value).
    points: Vec<(u64, T)>,
    /// The latest block's time and state.
    last: Option<(u64, T)>,
}

impl<T: Clone> Sampler<T> {
    /// A sampler keeping at most `max` (at least 2) points.
    pub fn new(max: usize) -> Sampler<T> {
        Sampler {
            max: max.max(2),
            step_ms: FIRST_STEP_MS,
            t0: None,
            next: 0,
            points: Vec::new(),
            last: None,
        }
    }

    fn grid_ms(&self, k: u64) -> u64 {
        self.t0
            .unwrap_or(0)
            .saturating_add(k.saturating_mul(self.step_ms))
    }

    /// The state after a block at `time_ms` (non-decreasing from call to call).
    pub fn observe(&mut self, time_ms: u64, value: T) {
        if self.t0.is_none() {
            self.t0 = Some(time_ms);
        }
        if let Some((_, previous)) = self.last.take() {
            while self.grid_ms(self.next) < time_ms {
                self.push(previous.clone());
            }
        }
        self.last = Some((time_ms, value));
    }

    fn push(&mut self, value: T) {
        self.points.push((self.next, value));
        self.next += 1;
        // Keep room for the last point, which `finish` adds.
        if self.points.len() >= self.max {
            self.points.retain(|(k, _)| k % 2 == 0);
            for point in &mut self.points {
                point.0 /= 2;
            }
            self.next = self.next.div_ceil(2);
            self.step_ms = self.step_ms.saturating_mul(2);
        }
    }

    /// The series: (block time in ms, value), oldest first, at most `max` points.
    pub fn finish(mut self) -> Vec<(u64, T)> {
        let Some((last_ms, last)) = self.last.take() else {
            return Vec::new();
        };
        while self.grid_ms(self.next) <= last_ms {
            self.push(last.clone());
        }
        let mut out: Vec<(u64, T)> = std::mem::take(&mut self.points)
            .into_iter()
            .map(|(k, v)| (self.grid_ms(k), v))
            .collect();
        if out.last().map(|p| p.0) != Some(last_ms) {
            out.push((last_ms, last));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_series_has_a_point_a_second_and_the_last_block() {
        let mut s = Sampler::new(10);
        s.observe(1_000, 1);
        s.observe(1_500, 2);
        s.observe(3_200, 3);
        assert_eq!(s.finish(), [(1_000, 1), (2_000, 2), (3_000, 2), (3_200, 3)]);
    }

    #[test]
    fn a_long_series_stays_bounded_and_evenly_spaced() {
        let mut s = Sampler::new(300);
        for i in 0..100_000u64 {
            s.observe(i * 250, i);
        }
        let out = s.finish();
        assert!(out.len() <= 300 && out.len() >= 150, "{}", out.len());
        let step = out[1].0 - out[0].0;
        for pair in out[..out.len() - 1].windows(2) {
            assert_eq!(pair[1].0 - pair[0].0, step);
        }
        // The value at a grid time is the state after the last block at or before it.
        for (t, v) in &out {
            assert_eq!(*v, t / 250);
        }
        assert_eq!(out.last(), Some(&(99_999 * 250, 99_999)));
    }

    #[test]
    fn a_long_idle_gap_stays_bounded() {
        let mut s = Sampler::new(50);
        s.observe(0, 0);
        s.observe(u64::MAX / 4, 1);
        let out = s.finish();
        assert!(out.len() <= 50);
        assert_eq!(out.last(), Some(&(u64::MAX / 4, 1)));
    }
}
