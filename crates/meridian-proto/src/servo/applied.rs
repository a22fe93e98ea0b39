//! Bookkeeping of the corrections a servo has applied, so samples taken under older corrections
//! can be compared with new ones.

use crate::engine::{ClockAdjustment, Instant};

/// The total phase a servo has added to its clock, as a function of local time: steps plus the
/// integral of its frequency corrections. Nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Applied {
    base_at: Instant,
    base_ns: f64,
    freq_ppb: f64,
}

impl Applied {
    /// Nothing applied yet at `now`.
    #[must_use]
    pub fn new(now: Instant) -> Self {
        Self {
            base_at: now,
            base_ns: 0.0,
            freq_ppb: 0.0,
        }
    }

    /// The accumulated phase correction at `t`, ns.
    #[must_use]
    pub fn at(&self, t: Instant) -> f64 {
        // ppb × seconds = ns.
        self.base_ns + self.freq_ppb * t.duration_since(self.base_at).as_secs_f64()
    }

    /// The frequency correction in force, ppb.
    #[must_use]
    pub fn frequency_ppb(&self) -> f64 {
        self.freq_ppb
    }

    /// Records an adjustment made at `now` and returns it for emission.
    pub fn apply(&mut self, now: Instant, adj: ClockAdjustment) -> ClockAdjustment {
        self.base_ns = self.at(now);
        self.base_at = now;
        match adj {
            ClockAdjustment::Step(d) => self.base_ns += d.as_nanos_f64(),
            ClockAdjustment::Frequency(f) => self.freq_ppb = f,
        }
        adj
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn integrates_steps_and_frequency() {
        let t = |s: i64| Instant::from_origin(Duration::from_secs(s));
        let mut a = Applied::new(t(0));
        let _ = a.apply(t(0), ClockAdjustment::Step(Duration::from_micros(-5)));
        let _ = a.apply(t(10), ClockAdjustment::Frequency(100.0));
        assert_eq!(a.at(t(10)), -5_000.0);
        assert_eq!(a.at(t(20)), -4_000.0);
    }
}
