//! The clock discipline: turns the system offset into steps and frequency corrections, with the
//! step threshold, stepout and panic threshold of RFC 5905 and a frequency measurement at start.

use std::collections::VecDeque;

use crate::engine::{ClockAdjustment, Instant};
use crate::time::Duration;

use super::config::DisciplineLimits;

/// Discipline states (RFC 5905 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisciplineState {
    /// Never set.
    Nset,
    /// Time set, measuring the frequency.
    Fset,
    /// An offset above the step threshold appeared; waiting out the stepout before stepping.
    Spik,
    /// Tracking.
    Sync,
}

/// What an update did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The clock was stepped: every filter must be cleared.
    Stepped,
    /// Slewed (or still measuring).
    Slewed,
    /// A spike is being waited out.
    Spike,
    /// Beyond the panic threshold: ignored.
    Panic,
}

/// The largest frequency correction, ppb (500 ppm).
const MAX_FREQ_PPB: f64 = 500_000.0;
/// Poll adaptation: hill-climbing limit and the offset gate in units of jitter.
const LIMIT: i32 = 30;
const PGATE: f64 = 4.0;
/// The phase gathered while measuring the frequency is stepped out when it exceeds this many
/// standard deviations of the samples about the fitted line.
const SETTLE_STEP_SIGMAS: f64 = 4.0;

/// The discipline.
#[derive(Clone, Debug)]
pub struct Discipline {
    limits: DisciplineLimits,
    /// State.
    pub state: DisciplineState,
    /// Frequency integral, ppb.
    pub frequency_ppb: f64,
    /// Frequency correction in force, ppb.
    pub applied_ppb: f64,
    /// Last offset, s.
    pub offset: f64,
    spike_since: Option<Instant>,
    last: Option<Instant>,
    /// Offsets collected while measuring the frequency: (s since first, θ s, delay s).
    fset: Vec<(f64, f64, f64)>,
    fset_start: Option<Instant>,
    /// Phase still to slew out, ours minus the reference, s: each second a 1/tc share of it.
    residual: f64,
    /// Checkpoints of the phase the residual slewing has added to the clock: (when,
    /// cumulative s, rate s/s from then on). Lets an old sample be brought up to date.
    slewed: VecDeque<(Instant, f64, f64)>,
    next_tick: Option<Instant>,
    /// Poll hill-climbing counter and the poll it steers, log2 s.
    counter: i32,
    /// The system poll.
    pub poll: i8,
}

impl Discipline {
    /// A discipline with `limits`, polling at `poll` to start.
    #[must_use]
    pub fn new(limits: DisciplineLimits, poll: i8) -> Self {
        Self {
            limits,
            state: DisciplineState::Nset,
            frequency_ppb: 0.0,
            applied_ppb: 0.0,
            offset: 0.0,
            spike_since: None,
            last: None,
            fset: Vec::new(),
            fset_start: None,
            residual: 0.0,
            slewed: VecDeque::new(),
            next_tick: None,
            counter: 0,
            poll,
        }
    }

    /// Whether the clock counts as synchronized.
    #[must_use]
    pub fn synchronized(&self) -> bool {
        matches!(
            self.state,
            DisciplineState::Sync | DisciplineState::Spik | DisciplineState::Fset
        )
    }

    fn step(&mut self, theta: f64, out: &mut Vec<ClockAdjustment>) -> Outcome {
        out.push(ClockAdjustment::Step(Duration::from_secs_f64(-theta)));
        self.offset = 0.0;
        self.residual = 0.0;
        self.spike_since = None;
        Outcome::Stepped
    }

    /// Processes a new system offset θ (s) at `now`, with jitter `jitter` (s), polling within
    /// `[minpoll, maxpoll]`.
    pub fn update(
        &mut self,
        now: Instant,
        theta: f64,
        jitter: f64,
        (minpoll, maxpoll): (i8, i8),
        out: &mut Vec<ClockAdjustment>,
    ) -> Outcome {
        let step = self.limits.step_threshold.as_secs_f64();
        if theta.abs() > self.limits.panic_threshold.as_secs_f64() {
            return Outcome::Panic;
        }
        let mu = self
            .last
            .map_or(0.0, |l| now.duration_since(l).as_secs_f64());
        self.last = Some(now);
        if self.state == DisciplineState::Nset
            && theta.abs() > self.limits.initial_step.as_secs_f64()
        {
            self.state = DisciplineState::Fset;
            return self.step(theta, out);
        }
        if theta.abs() > step {
            match self.state {
                DisciplineState::Nset | DisciplineState::Fset => {
                    self.state = DisciplineState::Fset;
                    self.fset.clear();
                    self.fset_start = None;
                    return self.step(theta, out);
                }
                DisciplineState::Sync => {
                    self.state = DisciplineState::Spik;
                    self.spike_since = Some(now);
                    return Outcome::Spike;
                }
                DisciplineState::Spik => {
                    if self
                        .spike_since
                        .is_some_and(|s| now.duration_since(s) >= self.limits.stepout)
                    {
                        self.state = DisciplineState::Sync;
                        return self.step(theta, out);
                    }
                    return Outcome::Spike;
                }
            }
        }
        self.offset = theta;
        match self.state {
            DisciplineState::Nset | DisciplineState::Fset => {
                // The frequency is measured from raw samples (see `observe`).
                self.state = DisciplineState::Fset;
                Outcome::Slewed
            }
            DisciplineState::Spik | DisciplineState::Sync => {
                self.state = DisciplineState::Sync;
                self.spike_since = None;
                // PLL, critically damped, time constant twice the poll interval.
                // The loop's gain assumes one update per poll; a longer gap (the filter released
                // nothing newer meanwhile) must not multiply it (that proved unstable).
                let mu = mu.min(2f64.powi(self.poll as i32));
                let tc = self.tc();
                self.frequency_ppb = (self.frequency_ppb - theta * 1e9 * mu / (4.0 * tc * tc))
                    .clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
                self.apply(now, theta, out);
                self.adapt_poll(theta, jitter, minpoll, maxpoll);
                Outcome::Slewed
            }
        }
    }

    /// A raw (unfiltered) offset of the system peer, ours minus the reference, s, with its
    /// round-trip delay. While the frequency is being measured (after the clock was set), a
    /// least-squares fit over the lower-delay half of these samples (the least disturbed by
    /// queueing) gives it, once its standard error is below 1 ppm or after ten minutes. The
    /// phase gathered meanwhile (the fit's value now) is still part of setting the clock: it is
    /// stepped out when it stands clear of the samples' noise, else slewed. Returns the phase
    /// stepped out (ours minus the reference, s) and the drift measured (s/s), if stepped:
    /// stored samples must move by the step and by the drift since they were taken.
    #[must_use]
    pub fn observe(
        &mut self,
        now: Instant,
        theta: f64,
        delay: f64,
        out: &mut Vec<ClockAdjustment>,
    ) -> Option<(f64, f64)> {
        if self.state != DisciplineState::Fset {
            return None;
        }
        let start = *self.fset_start.get_or_insert(now);
        let t_now = now.duration_since(start).as_secs_f64();
        self.fset.push((t_now, theta, delay));
        let span = self.fset.last().map_or(0.0, |l| l.0);
        if self.fset.len() < 4 || span < 6.0 {
            return None;
        }
        let mut by_delay: Vec<(f64, f64, f64)> = self.fset.clone();
        by_delay.sort_by(|a, b| a.2.total_cmp(&b.2));
        by_delay.truncate((self.fset.len() / 2).max(4));
        let points: Vec<(f64, f64)> = by_delay.iter().map(|p| (p.0, p.1)).collect();
        let line = crate::fit::fit(&points)?;
        if line.slope_se > 1e-6 && span < 600.0 {
            return None;
        }
        self.frequency_ppb =
            (self.applied_ppb - line.slope * 1e9).clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
        self.state = DisciplineState::Sync;
        self.last = Some(now);
        self.fset.clear();
        self.fset_start = None;
        let phase = line.at(t_now);
        if phase.abs() > SETTLE_STEP_SIGMAS * line.residual_sd {
            let _ = self.step(phase, out);
            // The new frequency takes over from here.
            self.emit(now, out);
            return Some((phase, line.slope));
        }
        self.apply(now, phase, out);
        None
    }

    fn tc(&self) -> f64 {
        2.0 * 2f64.powi(self.poll as i32)
    }

    /// A new offset to slew out: it replaces the residual, and the frequency in force becomes
    /// the integral plus the residual's share for the next second.
    fn apply(&mut self, now: Instant, theta: f64, out: &mut Vec<ClockAdjustment>) {
        self.residual = theta;
        self.next_tick.get_or_insert(now.after(Duration::SECOND));
        self.emit(now, out);
    }

    fn emit(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        let f = (self.frequency_ppb - self.residual * 1e9 / self.tc())
            .clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
        self.applied_ppb = f;
        // Record the slewing rate from now on (what the residual adds beyond the frequency).
        let cumulative = self.slewed_at(now);
        self.slewed
            .push_back((now, cumulative, (f - self.frequency_ppb) * 1e-9));
        if self.slewed.len() > 4096 {
            self.slewed.pop_front();
        }
        out.push(ClockAdjustment::Frequency(f));
    }

    /// The phase the residual slewing had added to the clock by `t`, s.
    fn slewed_at(&self, t: Instant) -> f64 {
        let i = self.slewed.partition_point(|c| c.0 <= t);
        match i.checked_sub(1).and_then(|i| self.slewed.get(i)) {
            Some(&(at, cum, rate)) => cum + rate * t.duration_since(at).as_secs_f64(),
            None => self.slewed.front().map_or(0.0, |c| c.1),
        }
    }

    /// An offset measured at `then` (ours minus the reference, s), brought up to `now` by the
    /// phase slewed out meanwhile: a sample the clock filter releases late is not corrected
    /// twice.
    #[must_use]
    pub fn bring_up_to_date(&self, theta: f64, then: Instant, now: Instant) -> f64 {
        theta + self.slewed_at(now) - self.slewed_at(then)
    }

    /// When [`Discipline::tick`] is next due (once a second while steering).
    #[must_use]
    pub fn next_tick(&self) -> Option<Instant> {
        self.next_tick
    }

    /// The once-a-second phase adjustment: the residual shrinks by what the last second's
    /// frequency removed, so a phase error is slewed out exponentially however long the next
    /// update takes, never overshot.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        if self.state != DisciplineState::Sync {
            self.next_tick = None;
            return;
        }
        let due = *self.next_tick.get_or_insert(now);
        if now < due {
            return;
        }
        self.next_tick = Some(now.after(Duration::SECOND));
        if self.residual != 0.0 {
            self.residual *= 1.0 - 1.0 / self.tc();
            if self.residual.abs() < 1e-10 {
                self.residual = 0.0;
            }
            self.emit(now, out);
        }
    }

    /// RFC 5905 poll adaptation: lengthen the poll while offsets stay within a few jitters,
    /// shorten it when they do not.
    fn adapt_poll(&mut self, theta: f64, jitter: f64, minpoll: i8, maxpoll: i8) {
        if theta.abs() < PGATE * jitter.max(1e-6) {
            self.counter += self.poll as i32;
            if self.counter > LIMIT {
                self.counter = LIMIT;
                if self.poll < maxpoll {
                    self.counter = 0;
                    self.poll += 1;
                }
            }
        } else {
            self.counter -= 2 * self.poll as i32;
            if self.counter < -LIMIT {
                self.counter = -LIMIT;
                if self.poll > minpoll {
                    self.counter = 0;
                    self.poll -= 1;
                }
            }
        }
        self.poll = self.poll.clamp(minpoll, maxpoll);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> Instant {
        Instant::from_origin(Duration::from_secs_f64(s))
    }

    #[test]
    fn steps_measures_frequency_then_tracks() {
        let mut d = Discipline::new(DisciplineLimits::default(), 6);
        let mut out = Vec::new();
        // Below the 128-ms step threshold, but the clock was never set: stepped.
        assert_eq!(
            d.update(at(0.0), 0.100, 1e-5, (6, 10), &mut out),
            Outcome::Stepped
        );
        assert_eq!(
            out,
            vec![ClockAdjustment::Step(Duration::from_millis(-100))]
        );
        out.clear();
        // 20 ppm drift after the step: four raw samples 2 s apart measure it.
        let stepped: Vec<Option<(f64, f64)>> = (1..=4)
            .map(|k| d.observe(at(2.0 * k as f64), 20e-6 * 2.0 * k as f64, 0.001, &mut out))
            .collect();
        assert_eq!(d.state, DisciplineState::Sync);
        assert!(
            (d.frequency_ppb + 20_000.0).abs() < 1.0,
            "{}",
            d.frequency_ppb
        );
        // The 160 µs gathered meanwhile stand clear of the (noiseless) samples: stepped out,
        // and the measured frequency takes over.
        assert_eq!(stepped[..3], [None, None, None]);
        let phase = stepped[3].expect("stepped").0;
        assert!((phase - 160e-6).abs() < 1e-9, "{phase}");
        assert!(
            matches!(out[..], [ClockAdjustment::Step(s), ClockAdjustment::Frequency(f)]
            if (s.as_secs_f64() + 160e-6).abs() < 1e-9 && (f + 20_000.0).abs() < 1.0)
        );
    }

    #[test]
    fn a_phase_within_the_noise_is_slewed_after_the_frequency_measurement() {
        let mut d = Discipline::new(DisciplineLimits::default(), 6);
        let mut out = Vec::new();
        d.update(at(0.0), 0.100, 1e-5, (6, 10), &mut out);
        out.clear();
        // No drift, ±2 µs of alternating noise around a 3 µs phase.
        let stepped: Vec<Option<(f64, f64)>> = (1..=8)
            .map(|k| {
                let noise = if k % 2 == 0 { 2e-6 } else { -2e-6 };
                d.observe(at(2.0 * k as f64), 3e-6 + noise, 0.001, &mut out)
            })
            .collect();
        assert_eq!(d.state, DisciplineState::Sync);
        assert!(stepped.iter().all(Option::is_none), "{stepped:?}");
        assert!(!out.iter().any(|a| matches!(a, ClockAdjustment::Step(_))));
    }

    #[test]
    fn spikes_wait_for_the_stepout_and_panic_is_ignored() {
        let limits = DisciplineLimits {
            stepout: Duration::from_secs(900),
            ..Default::default()
        };
        let mut d = Discipline::new(limits, 6);
        d.state = DisciplineState::Sync;
        let mut out = Vec::new();
        // Once running, 100 ms is slewed, not stepped.
        assert_eq!(
            d.update(at(0.0), 0.100, 1e-5, (6, 10), &mut out),
            Outcome::Slewed
        );
        assert_eq!(
            d.update(at(0.0), 0.5, 1e-5, (6, 10), &mut out),
            Outcome::Spike
        );
        assert_eq!(
            d.update(at(600.0), 0.5, 1e-5, (6, 10), &mut out),
            Outcome::Spike
        );
        assert_eq!(
            d.update(at(901.0), 0.5, 1e-5, (6, 10), &mut out),
            Outcome::Stepped
        );
        assert_eq!(
            d.update(at(1000.0), 2000.0, 1e-5, (6, 10), &mut out),
            Outcome::Panic
        );
    }

    #[test]
    fn poll_lengthens_while_offsets_are_quiet() {
        let mut d = Discipline::new(DisciplineLimits::default(), 6);
        d.state = DisciplineState::Sync;
        let mut out = Vec::new();
        for k in 0..20 {
            d.update(at(64.0 * k as f64), 1e-7, 1e-5, (6, 10), &mut out);
        }
        assert!(d.poll > 6);
        for k in 20..60 {
            d.update(at(64.0 * k as f64), 0.01, 1e-5, (6, 10), &mut out);
        }
        assert_eq!(d.poll, 6);
    }
}
