//! Servos: turn one-way delay measurements into clock corrections.
//!
//! Both servos see the same [`Sample`]s: forward delays t2 − t1 (server → client, which contain
//! +offset) and reverse delays t4 − t3 (client → server, which contain −offset), already corrected
//! for configured path asymmetry. [`SelectionServo`] selects the packets nearest the delay floor
//! over windows before estimating phase and frequency; [`PiServo`] is the classic linuxptp-style
//! PI loop on every raw sample, kept as a baseline.

mod applied;
mod pi;
mod selection;

pub use applied::Applied;
pub use pi::PiServo;
pub use selection::{SelectionParams, SelectionServo};

use core::fmt;

use crate::engine::{ClockAdjustment, Instant};
use crate::time::Duration;

/// What the servo steers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServoMode {
    /// Phase and frequency (ATR).
    Time,
    /// Frequency only (ACR); the phase is arbitrary.
    Frequency,
}

/// One delay measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sample {
    /// t2 − t1 of a Sync, taken at local instant `at`.
    Forward {
        /// When it was taken.
        at: Instant,
        /// t2 − t1.
        delay: Duration,
    },
    /// t4 − t3 of a Delay_Req/Delay_Resp exchange.
    Reverse {
        /// When it was taken.
        at: Instant,
        /// t4 − t3.
        delay: Duration,
    },
}

/// How far along the servo is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServoState {
    /// No estimate yet.
    #[default]
    Unlocked,
    /// Pulling in.
    Locking,
    /// Tracking within its accuracy.
    Locked,
    /// No usable server: holding the last frequency.
    Holdover,
    /// Samples again after holdover: steering phase from the held frequency (no new frequency
    /// measurement, no step unless the error has grown past the step threshold) until locked.
    Reacquiring,
}

/// A servo driven by samples and periodic ticks.
pub trait Servo: fmt::Debug {
    /// Takes one measurement; may emit corrections at once (the PI servo does).
    fn sample(&mut self, s: Sample, out: &mut Vec<ClockAdjustment>);
    /// Periodic work at `now` (window evaluation for the selection servo).
    fn tick(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>);
    /// When [`Servo::tick`] is next due.
    fn next_tick(&self) -> Option<Instant>;
    /// The path changed (another server): forget delay history, keep the frequency.
    fn path_changed(&mut self);
    /// No usable server: keep the last good frequency, stop correcting.
    fn holdover(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>);
    /// The current state.
    fn state(&self) -> ServoState;
    /// Since when it has been in that state.
    fn state_since(&self) -> Instant;
    /// The frequency correction currently applied, ppb.
    fn frequency_ppb(&self) -> f64;
    /// Starts from a clock another source left running at `ppb` (the device's clock selection
    /// handed it over): as if this servo had set that correction at `now`.
    fn seed_frequency(&mut self, now: Instant, ppb: f64);
}

/// The largest frequency correction a servo applies, ppb.
pub const MAX_FREQUENCY_PPB: f64 = 500_000.0;

#[cfg(test)]
mod tests;
