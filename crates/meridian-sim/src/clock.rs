//! The disciplined clock an engine steers: the oscillator's reading plus the steps and frequency
//! corrections the engine emitted. Piecewise linear in oscillator time, like the oscillator is in
//! true time, so the composition stays exact.

use meridian_proto::engine::ClockAdjustment;
use meridian_proto::time::{Duration, Timestamp};

/// A software clock disciplined on top of a free-running local time base.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisciplinedClock {
    /// Oscillator reading at the last change.
    base_local: Timestamp,
    /// Clock reading at the last change.
    base_value: Timestamp,
    /// Frequency correction, fractional (not ppb).
    correction: f64,
}

impl DisciplinedClock {
    /// A clock that reads the same as the oscillator.
    #[must_use]
    pub fn new(local_now: Timestamp) -> Self {
        Self {
            base_local: local_now,
            base_value: local_now,
            correction: 0.0,
        }
    }

    /// The reading when the oscillator reads `local`.
    #[must_use]
    pub fn read(&self, local: Timestamp) -> Timestamp {
        let dl = local - self.base_local;
        // An undisciplined clock (a server, a reference) skips the product: it is zero.
        if self.correction == 0.0 {
            return self.base_value + dl;
        }
        self.base_value + dl + dl.mul_f64(self.correction)
    }

    /// The current frequency correction in ppb.
    #[must_use]
    pub fn correction_ppb(&self) -> f64 {
        self.correction * 1e9
    }

    /// Applies an adjustment when the oscillator reads `local`.
    pub fn apply(&mut self, local: Timestamp, adj: ClockAdjustment) {
        let value = self.read(local);
        self.base_local = local;
        match adj {
            ClockAdjustment::Step(d) => self.base_value = value + d,
            ClockAdjustment::Frequency(ppb) => {
                self.base_value = value;
                // Beyond ±50 % the model is meaningless; engines clamp far tighter.
                self.correction = (ppb * 1e-9).clamp(-0.5, 0.5);
            }
        }
    }

    /// Steps to read exactly `value` now (for restarts from a fixed time).
    pub fn set(&mut self, local: Timestamp, value: Timestamp) {
        self.base_local = local;
        self.base_value = value;
    }

    /// How far the clock is from the oscillator now.
    #[must_use]
    pub fn offset_from_local(&self, local: Timestamp) -> Duration {
        self.read(local) - local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_frequency_compose() {
        let t0 = Timestamp::from_secs(100);
        let mut c = DisciplinedClock::new(t0);
        c.apply(t0, ClockAdjustment::Step(Duration::from_millis(-5)));
        c.apply(t0, ClockAdjustment::Frequency(1_000.0));
        let t1 = t0 + Duration::from_secs(10);
        // −5 ms, then +1 ppm over 10 s = +10 µs.
        assert_eq!(c.read(t1) - t1, Duration::from_micros(-4_990));
        c.apply(t1, ClockAdjustment::Frequency(0.0));
        let t2 = t1 + Duration::from_secs(10);
        assert_eq!(c.read(t2) - t2, Duration::from_micros(-4_990));
        assert_eq!(c.correction_ppb(), 0.0);
    }
}
