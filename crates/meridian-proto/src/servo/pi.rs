//! The baseline: a PI loop on every raw sample, in the manner of linuxptp's default servo. The
//! mean path delay is a moving median of the last ten two-way exchanges; each Sync gives an
//! offset that goes straight into the loop, so packet delay variation does too.

use std::collections::VecDeque;

use super::{Applied, MAX_FREQUENCY_PPB, Sample, Servo, ServoMode, ServoState};
use crate::engine::{ClockAdjustment, Instant};
use crate::time::Duration;

const DELAY_MEDIAN_LEN: usize = 10;

/// A PI servo on raw samples.
#[derive(Debug)]
pub struct PiServo {
    mode: ServoMode,
    kp: f64,
    ki: f64,
    /// Seconds between samples the gains are scaled for.
    interval: f64,
    step_threshold: f64,
    applied: Applied,
    /// Frequency integral, ppb.
    drift: f64,
    delays: VecDeque<f64>,
    last_forward: Option<f64>,
    /// Time mode: the first offset and when; frequency mode: the phase reference.
    first: Option<(Instant, f64)>,
    reference: Option<f64>,
    state: ServoState,
    /// When `state` was entered.
    since: Instant,
}

impl PiServo {
    /// A PI servo for samples every `interval`, with linuxptp's gain rules for that interval
    /// (kp = min(0.7·τ^-0.3, 0.7/τ), ki = min(0.3·τ^0.4, 0.3/τ)).
    #[must_use]
    pub fn new(
        mode: ServoMode,
        interval: Duration,
        step_threshold: Duration,
        now: Instant,
    ) -> Self {
        let t = interval.as_secs_f64().max(1e-3);
        Self {
            mode,
            kp: (0.7 * t.powf(-0.3)).min(0.7 / t),
            ki: (0.3 * t.powf(0.4)).min(0.3 / t),
            interval: t,
            step_threshold: step_threshold.as_nanos_f64(),
            applied: Applied::new(now),
            drift: 0.0,
            delays: VecDeque::new(),
            last_forward: None,
            first: None,
            reference: None,
            state: ServoState::Unlocked,
            since: now,
        }
    }

    fn enter(&mut self, now: Instant, state: ServoState) {
        if self.state != state {
            self.state = state;
            self.since = now;
        }
    }

    fn median_delay(&self) -> Option<f64> {
        if self.delays.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = self.delays.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }

    fn offset(&mut self, at: Instant, offset: f64, out: &mut Vec<ClockAdjustment>) {
        match self.first {
            None => {
                self.first = Some((at, offset));
                self.enter(at, ServoState::Locking);
                return;
            }
            Some((t0, o0)) if self.state == ServoState::Locking => {
                let dt = at.duration_since(t0).as_secs_f64();
                if dt < 1.0 {
                    return;
                }
                // Two offsets a second or more apart give the initial frequency.
                self.drift = (-(offset - o0) / dt + self.applied.frequency_ppb())
                    .clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
                out.push(
                    self.applied
                        .apply(at, ClockAdjustment::Frequency(self.drift)),
                );
                if self.mode == ServoMode::Time && offset.abs() > self.step_threshold {
                    let step = Duration::from_nanos_f64(-offset);
                    out.push(self.applied.apply(at, ClockAdjustment::Step(step)));
                    self.delays.clear();
                    self.last_forward = None;
                }
                self.enter(at, ServoState::Locked);
                return;
            }
            Some(_) => {}
        }
        let ki_term = self.ki * offset * self.interval;
        let ppb =
            (self.drift - self.kp * offset - ki_term).clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
        self.drift = (self.drift - ki_term).clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
        out.push(self.applied.apply(at, ClockAdjustment::Frequency(ppb)));
    }
}

impl Servo for PiServo {
    fn sample(&mut self, s: Sample, out: &mut Vec<ClockAdjustment>) {
        if self.state == ServoState::Holdover {
            let at = match s {
                Sample::Forward { at, .. } | Sample::Reverse { at, .. } => at,
            };
            self.enter(at, ServoState::Locked);
        }
        match (self.mode, s) {
            (ServoMode::Time, Sample::Forward { at, delay }) => {
                let fwd = delay.as_nanos_f64();
                self.last_forward = Some(fwd);
                if let Some(d) = self.median_delay() {
                    self.offset(at, fwd - d, out);
                }
            }
            (ServoMode::Time, Sample::Reverse { delay, .. }) => {
                if let Some(fwd) = self.last_forward {
                    self.delays.push_back((fwd + delay.as_nanos_f64()) / 2.0);
                    if self.delays.len() > DELAY_MEDIAN_LEN {
                        self.delays.pop_front();
                    }
                }
            }
            (ServoMode::Frequency, Sample::Forward { at, delay }) => {
                // Hold the one-way delay at its first value: that locks the frequency.
                let d = delay.as_nanos_f64();
                let reference = *self.reference.get_or_insert(d);
                self.offset(at, d - reference, out);
            }
            (ServoMode::Frequency, Sample::Reverse { .. }) => {}
        }
    }

    fn tick(&mut self, _now: Instant, _out: &mut Vec<ClockAdjustment>) {}

    fn next_tick(&self) -> Option<Instant> {
        None
    }

    fn path_changed(&mut self) {
        self.delays.clear();
        self.last_forward = None;
        self.reference = None;
    }

    fn holdover(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        if self.state == ServoState::Locked {
            out.push(
                self.applied
                    .apply(now, ClockAdjustment::Frequency(self.drift)),
            );
            self.enter(now, ServoState::Holdover);
        }
    }

    fn state(&self) -> ServoState {
        self.state
    }

    fn state_since(&self) -> Instant {
        self.since
    }

    fn frequency_ppb(&self) -> f64 {
        self.applied.frequency_ppb()
    }

    fn seed_frequency(&mut self, now: Instant, ppb: f64) {
        let ppb = ppb.clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
        self.drift = ppb;
        let _ = self.applied.apply(now, ClockAdjustment::Frequency(ppb));
    }
}
