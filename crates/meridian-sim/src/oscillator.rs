//! A node's free-running oscillator: initial phase, frequency offset, random-walk frequency wander
//! and white timestamp noise.
//!
//! The oscillator's reading is piecewise linear in true time: the frequency is constant within
//! fixed true-time segments and takes a random-walk step at each boundary. That makes the mapping
//! from true time to local time, and back, exact, which is what lets the simulator turn a local
//! deadline into the true time it fires.

use std::collections::VecDeque;

use meridian_proto::time::{Duration, Timestamp};

use crate::rng::{SimRng, gaussian};

/// The parameters of one oscillator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OscillatorModel {
    /// Local time minus true time at the start of the simulation.
    pub initial_phase: Duration,
    /// Fractional frequency offset at the start, parts per billion.
    pub frequency_ppb: f64,
    /// Random-walk frequency noise: the standard deviation of the frequency change over one
    /// second, ppb (each segment's step scales with the square root of its length).
    pub wander_ppb: f64,
    /// Length of the constant-frequency segments when `wander_ppb` is non-zero.
    pub wander_step: Duration,
    /// White noise on every timestamp the node takes (standard deviation, nanoseconds):
    /// ~1 for hardware timestamping, ~1000 for software.
    pub timestamp_noise_ns: f64,
}

impl Default for OscillatorModel {
    fn default() -> Self {
        Self {
            initial_phase: Duration::ZERO,
            frequency_ppb: 0.0,
            wander_ppb: 0.0,
            wander_step: Duration::SECOND,
            timestamp_noise_ns: 0.0,
        }
    }
}

/// One constant-frequency piece.
#[derive(Clone, Copy, Debug)]
struct Segment {
    true_start: Timestamp,
    local_start: Timestamp,
    /// Fractional frequency offset (not ppb).
    y: f64,
    /// `y / (1 + y)`, the inverse mapping's slope: a division every timer would pay.
    y_inverse: f64,
}

impl Segment {
    fn new(true_start: Timestamp, local_start: Timestamp, y: f64) -> Self {
        Self {
            true_start,
            local_start,
            y,
            y_inverse: y / (1.0 + y),
        }
    }

    fn local_at(&self, t: Timestamp) -> Timestamp {
        let dt = t - self.true_start;
        self.local_start + dt + dt.mul_f64(self.y)
    }

    fn true_at(&self, local: Timestamp) -> Timestamp {
        let dl = local - self.local_start;
        self.true_start + dl - dl.mul_f64(self.y_inverse)
    }
}

/// A running oscillator. Queries must not go back before the last [`Oscillator::forget_before`].
#[derive(Debug)]
pub struct Oscillator {
    model: OscillatorModel,
    rng: SimRng,
    /// Segments in order; the last one is open-ended until another is generated after it.
    segments: VecDeque<Segment>,
    /// The segment last found and where the one after it starts (true, local time): readings
    /// of the present nearly always land in it, and a thousand oscillators' lists do not stay
    /// in cache. Only a segment whose end is known (or the only one, without wander).
    hot: Option<(Segment, Timestamp, Timestamp)>,
}

impl Oscillator {
    /// An oscillator starting at true time `start`, drawing its wander from `rng`.
    #[must_use]
    pub fn new(model: OscillatorModel, start: Timestamp, rng: SimRng) -> Self {
        let first = Segment::new(
            start,
            start + model.initial_phase,
            model.frequency_ppb * 1e-9,
        );
        Self {
            model,
            rng,
            segments: VecDeque::from([first]),
            hot: None,
        }
    }

    /// The model it was built from.
    #[must_use]
    pub fn model(&self) -> &OscillatorModel {
        &self.model
    }

    fn wanders(&self) -> bool {
        self.model.wander_ppb > 0.0 && self.model.wander_step > Duration::ZERO
    }

    /// Appends segments until one starts after true time `t` (or local time, via `local`).
    fn extend_past(&mut self, beyond: impl Fn(&Segment) -> bool) {
        // Nearly always there is nothing to add: say so before any arithmetic.
        if !self.wanders() || self.segments.back().is_some_and(&beyond) {
            return;
        }
        let sigma = self.model.wander_ppb * 1e-9 * self.model.wander_step.as_secs_f64().sqrt();
        while let Some(last) = self.segments.back().copied() {
            if beyond(&last) {
                break;
            }
            let true_start = last.true_start + self.model.wander_step;
            let next = Segment::new(
                true_start,
                last.local_at(true_start),
                last.y + sigma * gaussian(&mut self.rng),
            );
            self.segments.push_back(next);
        }
    }

    fn segment_for_true(&mut self, t: Timestamp) -> Segment {
        // Within the remembered segment, the list already reaches past `t`: nothing to add.
        if let Some((seg, end, _)) = self.hot
            && seg.true_start <= t
            && t < end
        {
            return seg;
        }
        let idx = self.index_for_true(t);
        self.remember(idx);
        self.segments[idx]
    }

    /// Remembers segment `idx` if its end is known.
    fn remember(&mut self, idx: usize) {
        let seg = self.segments[idx];
        self.hot = match self.segments.get(idx + 1) {
            Some(next) => Some((seg, next.true_start, next.local_start)),
            None if !self.wanders() => {
                let never = Timestamp::from_ticks(i128::MAX);
                Some((seg, never, never))
            }
            None => None,
        };
    }

    fn index_for_true(&mut self, t: Timestamp) -> usize {
        self.extend_past(|s| s.true_start > t);
        self.last_starting_by(t, |s| s.true_start)
    }

    /// The last segment whose `start` (true or local) is at or before `x`: nearly always the
    /// one before the newest (readings are of the present, and the newest was made just past
    /// it); else search.
    fn last_starting_by(&self, x: Timestamp, start: impl Fn(&Segment) -> Timestamp) -> usize {
        let n = self.segments.len();
        if n >= 2 && start(&self.segments[n - 2]) <= x && x < start(&self.segments[n - 1]) {
            return n - 2;
        }
        self.segments
            .partition_point(|s| start(s) <= x)
            .saturating_sub(1)
    }

    /// The oscillator's reading at true time `t`.
    pub fn local_at(&mut self, t: Timestamp) -> Timestamp {
        self.segment_for_true(t).local_at(t)
    }

    /// The true time at which the oscillator reads `local`, rounded up so that
    /// `local_at(true_at(l)) >= l`.
    pub fn true_at(&mut self, local: Timestamp) -> Timestamp {
        let (seg, next_start) = match self.hot {
            Some((seg, end, local_end)) if seg.local_start <= local && local < local_end => {
                (seg, Some(end))
            }
            _ => self.segment_for_local(local),
        };
        let mut t = seg.true_at(local);
        // The float inverse can land several ticks early (products of 10^16 ticks round to a
        // few ticks), and a timer that fires short of its deadline fires again at once,
        // forever. Step forward, doubling, until the reading — through the same mapping
        // `local_at` uses — has reached `local`: at most ~128 steps from any estimate.
        let mut step = Duration::from_ticks(1);
        loop {
            let reading = match next_start {
                Some(end) if seg.true_start <= t && t < end => seg.local_at(t),
                _ => self.segment_for_true(t).local_at(t),
            };
            if reading >= local {
                return t;
            }
            t += step;
            step = step.checked_add(step).unwrap_or(step);
        }
    }

    /// The segment in which the oscillator reads `local`, and where the next starts (true
    /// time) if it exists.
    fn segment_for_local(&mut self, local: Timestamp) -> (Segment, Option<Timestamp>) {
        self.extend_past(|s| s.local_start > local);
        let idx = self.last_starting_by(local, |s| s.local_start);
        self.remember(idx);
        let next_start = self.segments.get(idx + 1).map(|s| s.true_start);
        (self.segments[idx], next_start)
    }

    /// The fractional frequency offset (not ppb) at true time `t`.
    pub fn frequency_at(&mut self, t: Timestamp) -> f64 {
        self.segment_for_true(t).y
    }

    /// Drops segments that end before true time `t`; later queries must be at or after `t`.
    pub fn forget_before(&mut self, t: Timestamp) {
        while self.segments.len() > 1 && self.segments[1].true_start <= t {
            self.segments.pop_front();
        }
        if self.hot.is_some_and(|(_, end, _)| end <= t) {
            self.hot = None;
        }
    }

    /// Changes the white noise on every timestamp from now on (σ, ns): where the node takes
    /// its timestamps changed (hardware or software).
    pub fn set_timestamp_noise(&mut self, ns: f64) {
        self.model.timestamp_noise_ns = ns.max(0.0);
    }

    /// One sample of white timestamp noise.
    pub fn noise(&self, rng: &mut SimRng) -> Duration {
        if self.model.timestamp_noise_ns > 0.0 {
            Duration::from_nanos_f64(self.model.timestamp_noise_ns * gaussian(rng))
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    #[test]
    fn frequency_offset_accumulates_phase() {
        let model = OscillatorModel {
            initial_phase: Duration::from_micros(5),
            frequency_ppb: 20_000.0,
            ..Default::default()
        };
        let start = Timestamp::from_secs(1_000);
        let mut o = Oscillator::new(model, start, stream(1, Stream::Oscillator, 0, 0));
        let l = o.local_at(start + Duration::from_secs(10));
        // 5 µs + 20 ppm × 10 s = 205 µs ahead.
        assert_eq!(
            l - (start + Duration::from_secs(10)),
            Duration::from_micros(205)
        );
    }

    #[test]
    fn local_to_true_is_exact_with_wander() {
        let model = OscillatorModel {
            frequency_ppb: -3_000.0,
            wander_ppb: 5.0,
            wander_step: Duration::from_millis(250),
            ..Default::default()
        };
        let start = Timestamp::from_secs(0);
        let mut o = Oscillator::new(model, start, stream(3, Stream::Oscillator, 0, 0));
        for k in 0..2_000i64 {
            let t = start + Duration::from_micros(k * 7_919);
            let l = o.local_at(t);
            let back = o.true_at(l);
            assert!(back >= t && (back - t).ticks() <= 4, "k={k} {:?}", back - t);
            assert!(o.local_at(back) >= l);
        }
        // Wander moved the frequency away from its start.
        assert_ne!(o.frequency_at(start + Duration::from_secs(10)), -3e-6);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        /// A deadline in local time maps to a true time at which the oscillator has reached
        /// it, for any frequency offset (±500 ppm), with or without wander, hours into a run,
        /// from a realistic epoch: the simulator's timers never fire short.
        #[test]
        fn true_at_always_reaches_the_local_deadline(
            ppb in -500_000.0f64..500_000.0,
            wander in proptest::prop_oneof![proptest::strategy::Just(0.0f64), 0.0f64..20.0],
            seed in 0u64..1000,
            offsets in proptest::collection::vec(0i64..36_000_000_000_000, 1..20),
        ) {
            let model = OscillatorModel {
                frequency_ppb: ppb,
                wander_ppb: wander,
                initial_phase: Duration::from_millis(3),
                ..Default::default()
            };
            let start = Timestamp::from_secs(1_800_000_000);
            let mut o = Oscillator::new(model, start, stream(seed, Stream::Oscillator, 0, 0));
            let mut sorted = offsets;
            sorted.sort_unstable();
            for ns in sorted {
                let l = start + Duration::from_nanos(ns);
                let t = o.true_at(l);
                proptest::prop_assert!(o.local_at(t) >= l);
                // And not needlessly late: within a nanosecond.
                proptest::prop_assert!(o.local_at(t) - l < Duration::NANOSECOND);
            }
        }
    }

    #[test]
    fn forgetting_keeps_later_queries_identical() {
        let model = OscillatorModel {
            wander_ppb: 1.0,
            ..Default::default()
        };
        let start = Timestamp::from_secs(0);
        let mut a = Oscillator::new(model, start, stream(5, Stream::Oscillator, 0, 0));
        let mut b = Oscillator::new(model, start, stream(5, Stream::Oscillator, 0, 0));
        let t = start + Duration::from_secs(100);
        let _ = a.local_at(t);
        a.forget_before(t);
        assert_eq!(
            a.local_at(t + Duration::from_secs(3)),
            b.local_at(t + Duration::from_secs(3))
        );
    }
}
