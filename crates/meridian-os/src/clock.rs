//! Clocks the daemon disciplines.
//!
//! - [`VirtualClock`] (the default): a software clock over CLOCK_REALTIME that applies the
//!   engines' steps and frequency corrections to itself, never to the host. It is what the server
//!   serves and what `display` shows. For tests it can start off by a phase and run at a frequency
//!   offset, so a client can be shown to converge while the host clock stays put.
//! - [`SystemClock`]: steers CLOCK_REALTIME itself; refused without CAP_SYS_TIME.

use std::io;

use meridian_proto::engine::{ClockAdjustment, Instant};
use meridian_proto::time::{Duration, Timestamp};
use nix::sys::time::TimeSpec;
use nix::time::{ClockId, clock_gettime};

/// A clock the driver reads and adjusts.
pub trait Clock {
    /// The clock's current reading.
    fn now(&self) -> Timestamp;
    /// A kernel timestamp (CLOCK_REALTIME) expressed on this clock.
    fn reading_at(&self, ts: TimeSpec) -> Timestamp;
    /// Applies an engine's adjustment.
    fn apply(&mut self, adj: ClockAdjustment) -> io::Result<()>;
    /// The frequency correction in force, ppb.
    fn frequency_ppb(&self) -> f64;
    /// How fast this clock runs against CLOCK_REALTIME, ppb, where the clock knows it (the
    /// virtual clock's simulated oscillator and the correction together): the frequency error
    /// a test can judge the discipline by without asking the engine.
    fn rate_error_ppb(&self) -> Option<f64> {
        None
    }
    /// How far this clock is from CLOCK_REALTIME, from one reading of CLOCK_REALTIME expressed
    /// on this clock (two separate readings would differ by the time between them).
    fn offset_from_realtime(&self) -> Duration {
        let ts = clock_gettime(ClockId::CLOCK_REALTIME).unwrap_or_else(|_| TimeSpec::new(0, 0));
        self.reading_at(ts) - timespec(ts)
    }
    /// A copy that reads this clock from another thread, valid until the next adjustment.
    fn reader(&self) -> ClockReader;
}

/// Reads a [`Clock`] from a thread that does not own it (the NTP server workers): the time
/// thread hands out a new reader after every adjustment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockReader {
    /// CLOCK_REALTIME itself.
    Realtime,
    /// A virtual clock as it stood at its last adjustment.
    Virtual(VirtualClock),
}

impl ClockReader {
    /// The clock's current reading.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        match self {
            Self::Realtime => realtime(),
            Self::Virtual(c) => c.now(),
        }
    }

    /// A kernel timestamp (CLOCK_REALTIME) expressed on the clock.
    #[must_use]
    pub fn reading_at(&self, ts: TimeSpec) -> Timestamp {
        match self {
            Self::Realtime => timespec(ts),
            Self::Virtual(c) => c.reading_at(ts),
        }
    }
}

/// CLOCK_REALTIME as a [`Timestamp`].
pub fn realtime() -> Timestamp {
    clock_gettime(ClockId::CLOCK_REALTIME).map_or(Timestamp::EPOCH, timespec)
}

/// CLOCK_MONOTONIC as the engines' [`Instant`].
pub fn monotonic() -> Instant {
    let t = clock_gettime(ClockId::CLOCK_MONOTONIC).map_or(Timestamp::EPOCH, timespec);
    Instant::from_origin(t.since_epoch())
}

/// A `timespec` as a [`Timestamp`].
#[must_use]
pub fn timespec(ts: TimeSpec) -> Timestamp {
    Timestamp::EPOCH + Duration::from_secs(ts.tv_sec()) + Duration::from_nanos(ts.tv_nsec())
}

/// The virtual clock: `reading(real) = base + (real − base_real)·(1 + y)·(1 + c)`, where `y` is a
/// simulated oscillator offset (zero outside tests) and `c` the engines' correction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VirtualClock {
    base_real: Timestamp,
    base: Timestamp,
    oscillator: f64,
    correction: f64,
}

impl VirtualClock {
    /// A virtual clock reading `offset` ahead of CLOCK_REALTIME and running `ppb` fast before any
    /// correction.
    #[must_use]
    pub fn new(offset: Duration, ppb: f64) -> Self {
        let now = realtime();
        Self {
            base_real: now,
            base: now + offset,
            oscillator: ppb * 1e-9,
            correction: 0.0,
        }
    }

    fn at(&self, real: Timestamp) -> Timestamp {
        let d = real - self.base_real;
        self.base + d.mul_f64((1.0 + self.oscillator) * (1.0 + self.correction))
    }

    /// The correction in force, ppb.
    #[must_use]
    pub fn correction_ppb(&self) -> f64 {
        self.correction * 1e9
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.at(realtime())
    }

    fn frequency_ppb(&self) -> f64 {
        self.correction_ppb()
    }

    fn reading_at(&self, ts: TimeSpec) -> Timestamp {
        self.at(timespec(ts))
    }

    fn reader(&self) -> ClockReader {
        ClockReader::Virtual(*self)
    }

    fn rate_error_ppb(&self) -> Option<f64> {
        Some(((1.0 + self.oscillator) * (1.0 + self.correction) - 1.0) * 1e9)
    }

    fn apply(&mut self, adj: ClockAdjustment) -> io::Result<()> {
        let real = realtime();
        self.base = self.at(real);
        self.base_real = real;
        match adj {
            ClockAdjustment::Step(d) => self.base += d,
            ClockAdjustment::Frequency(ppb) => self.correction = (ppb * 1e-9).clamp(-0.5, 0.5),
        }
        Ok(())
    }
}

/// Whether this process may set the system clock (CAP_SYS_TIME in its effective set).
#[must_use]
pub fn may_set_time() -> bool {
    const CAP_SYS_TIME: u32 = 25;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:").map(|v| v.trim().to_string()))
        })
        .and_then(|hex| u64::from_str_radix(&hex, 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_SYS_TIME) != 0)
}

/// CLOCK_REALTIME itself. Steps set the clock; frequency corrections are kept as a slew applied
/// with each step of the driver (no kernel frequency discipline is touched).
#[derive(Debug)]
pub struct SystemClock {
    correction: f64,
    last: Timestamp,
}

impl SystemClock {
    /// The system clock, or a clear refusal without CAP_SYS_TIME.
    pub fn new() -> io::Result<Self> {
        if !may_set_time() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "--clock system needs CAP_SYS_TIME (run as root or grant the capability); \
                 use the default --clock virtual to leave the host clock alone",
            ));
        }
        Ok(Self {
            correction: 0.0,
            last: realtime(),
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        realtime()
    }

    fn frequency_ppb(&self) -> f64 {
        self.correction * 1e9
    }

    fn reading_at(&self, ts: TimeSpec) -> Timestamp {
        timespec(ts)
    }

    fn reader(&self) -> ClockReader {
        // Frequency corrections are applied as steps at adjustments: between them the clock is
        // CLOCK_REALTIME.
        ClockReader::Realtime
    }

    fn apply(&mut self, adj: ClockAdjustment) -> io::Result<()> {
        let now = realtime();
        // Apply the frequency correction accumulated since the last adjustment as a phase step.
        let drift = (now - self.last).mul_f64(self.correction);
        let step = match adj {
            ClockAdjustment::Step(d) => d + drift,
            ClockAdjustment::Frequency(ppb) => {
                self.correction = ppb * 1e-9;
                drift
            }
        };
        self.last = now;
        if step != Duration::ZERO {
            let target = realtime() + step;
            let since = target.since_epoch();
            let secs = since.ticks().div_euclid(Duration::SECOND.ticks()) as i64;
            let nanos = (since - Duration::from_secs(secs)).as_nanos_floor();
            nix::time::clock_settime(ClockId::CLOCK_REALTIME, TimeSpec::new(secs, nanos))
                .map_err(io::Error::from)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_measurement_is_exact_from_one_reading() {
        // A clock started exactly 5 ms off reads exactly 5 ms off, every time (two readings
        // 0.4–3 µs apart read 4.997–4.998 ms).
        let c = VirtualClock::new(Duration::from_millis(5), 0.0);
        for _ in 0..10_000 {
            assert_eq!(c.offset_from_realtime(), Duration::from_millis(5));
        }
        let mut stepped = c;
        stepped
            .apply(ClockAdjustment::Step(Duration::from_nanos(-1_234)))
            .unwrap();
        assert_eq!(
            stepped.offset_from_realtime(),
            Duration::from_nanos(5_000_000 - 1_234)
        );
    }

    #[test]
    fn virtual_clock_steps_and_slews_without_touching_the_host() {
        let mut c = VirtualClock::new(Duration::from_millis(5), 20_000.0);
        let e0 = c.offset_from_realtime();
        assert!((e0.as_secs_f64() - 0.005).abs() < 1e-4, "{e0}");
        c.apply(ClockAdjustment::Step(Duration::from_millis(-5)))
            .unwrap();
        assert!(c.offset_from_realtime().abs() < Duration::from_micros(100));
        // Cancel the simulated 20 ppm: the clock then keeps pace with CLOCK_REALTIME.
        c.apply(ClockAdjustment::Frequency(-20_000.0 / 1.00002))
            .unwrap();
        let before = c.offset_from_realtime();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let drift = c.offset_from_realtime() - before;
        assert!(drift.abs() < Duration::from_micros(20), "{drift}");
        assert!((c.correction_ppb() + 19_999.6).abs() < 1.0);
    }

    #[test]
    fn the_rate_error_is_the_oscillator_and_the_correction_together() {
        let mut c = VirtualClock::new(Duration::ZERO, 20_000.0);
        assert!((c.rate_error_ppb().unwrap() - 20_000.0).abs() < 1e-6);
        // The two compose as factors: −20 ppm leaves (1 + 2e-5)(1 − 2e-5) − 1 = −0.4 ppb.
        c.apply(ClockAdjustment::Frequency(-20_000.0)).unwrap();
        assert!((c.rate_error_ppb().unwrap() + 0.4).abs() < 1e-6);
        c.apply(ClockAdjustment::Frequency(-20_000.0 / 1.00002))
            .unwrap();
        assert!(c.rate_error_ppb().unwrap().abs() < 1e-6);
    }

    #[test]
    fn system_clock_is_refused_without_the_capability() {
        if may_set_time() {
            eprintln!("SKIPPED: running with CAP_SYS_TIME; the refusal path cannot be shown here");
            return;
        }
        let e = SystemClock::new().unwrap_err();
        assert!(e.to_string().contains("CAP_SYS_TIME"));
    }
}
