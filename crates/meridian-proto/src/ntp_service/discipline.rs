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
/// The frequency measurement ends when the fit's slope is known within this (s/s, at 95 %):
/// 20 ppb, so the PLL that follows starts with little to learn (at 2 ppm it was left with
/// 100–600 ppb on loopback, learned at poll intervals while the filter released nothing).
const FSET_SETTLED: f64 = 20e-9;
/// The phase left when the frequency measurement ends is stepped out when it exceeds this many
/// standard deviations of the samples about the fitted line.
const SETTLE_STEP_SIGMAS: f64 = 4.0;
/// The time constant while the frequency is measured, s: the clock is still being set, and each
/// fit's phase already averages many samples (at 8 s a phase error left by the initial step
/// took 30–40 s to fall below 20 µs on loopback).
const FSET_TC: f64 = 2.0;
/// Checkpoints kept of the corrections applied: enough to bring any sample of an eight-stage
/// filter polled at up to 1024 s up to date with once-a-second slewing.
const APPLIED_CHECKPOINTS: usize = 8192;

/// One fit of the frequency measurement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FsetFit {
    /// Raw samples so far.
    pub samples: usize,
    /// The oscillator's frequency correction it gives, ppb.
    pub frequency_ppb: f64,
    /// How well that is known (95 %), ppb.
    pub within_ppb: f64,
    /// The phase now, ours minus the reference, s.
    pub phase: f64,
    /// Whether the clock is steered by it.
    pub steered: bool,
}

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
    /// The latest fit of the frequency measurement, for the logs.
    pub fset_fit: Option<FsetFit>,
    spike_since: Option<Instant>,
    last: Option<Instant>,
    /// Offsets collected while measuring the frequency, with the corrections applied since
    /// taken out (what the clock would have read left alone): (s since first, s, delay s).
    fset: Vec<(f64, f64, f64)>,
    fset_start: Option<Instant>,
    /// How well the frequency steering the clock while measuring is known (s/s, 95 %).
    fset_within: f64,
    /// Phase still to slew out, ours minus the reference, s: each second a 1/tc share of it.
    residual: f64,
    /// Checkpoints of the phase the frequency corrections have added to the clock: (when,
    /// cumulative s, rate s/s from then on). Lets an old sample be brought up to date and the
    /// frequency be measured while the clock is already being steered.
    applied: VecDeque<(Instant, f64, f64)>,
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
            fset_fit: None,
            spike_since: None,
            last: None,
            fset: Vec::new(),
            fset_start: None,
            fset_within: f64::INFINITY,
            residual: 0.0,
            applied: VecDeque::new(),
            next_tick: None,
            counter: 0,
            poll,
        }
    }

    /// Takes over a clock another source set and left running at `frequency_ppb` (the
    /// device's clock selection handed it over): the clock is set and its frequency known, so
    /// the loop starts tracking at once from that frequency, as if it had applied it at `now`.
    pub fn take_over(&mut self, now: Instant, frequency_ppb: f64) {
        let f = frequency_ppb.clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
        self.state = DisciplineState::Sync;
        self.frequency_ppb = f;
        self.applied_ppb = f;
        self.residual = 0.0;
        self.spike_since = None;
        self.fset.clear();
        self.fset_start = None;
        self.fset_within = f64::INFINITY;
        self.last = Some(now);
        let cumulative = self.applied_at(now);
        self.applied.push_back((now, cumulative, f * 1e-9));
        if self.applied.len() > APPLIED_CHECKPOINTS {
            self.applied.pop_front();
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
                    self.fset_within = f64::INFINITY;
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
    /// queueing), with the corrections already applied taken out, gives the frequency and the
    /// phase now. Both are applied at once, so the clock is steered from the fourth sample on
    /// instead of drifting until the measurement ends; it ends once the slope is known within
    /// `FSET_SETTLED` at 95 % (a Student t factor: four points prove little) or after ten
    /// minutes, and the PLL takes over. The phase left then is still part of setting the clock:
    /// stepped out (and returned, ours minus the reference, s: stored samples move by it) when
    /// it stands clear of the samples' noise, else slewed.
    #[must_use]
    pub fn observe(
        &mut self,
        now: Instant,
        taken: Instant,
        theta: f64,
        delay: f64,
        out: &mut Vec<ClockAdjustment>,
    ) -> Option<f64> {
        if self.state != DisciplineState::Fset {
            return None;
        }
        let start = *self.fset_start.get_or_insert(taken);
        let t_taken = taken.duration_since(start).as_secs_f64();
        if t_taken < 0.0 {
            return None; // measured before the clock was set
        }
        let t_now = now.duration_since(start).as_secs_f64();
        let own = theta - self.applied_at(taken);
        self.fset.push((t_taken, own, delay));
        let span = self.fset.last().map_or(0.0, |l| l.0);
        if self.fset.len() < 4 || span < 6.0 {
            return None;
        }
        let mut by_delay: Vec<(f64, f64, f64)> = self.fset.clone();
        by_delay.sort_by(|a, b| a.2.total_cmp(&b.2));
        by_delay.truncate((self.fset.len() / 2).max(4));
        let points: Vec<(f64, f64)> = by_delay.iter().map(|p| (p.0, p.1)).collect();
        let line = crate::fit::fit(&points)?;
        // The residuals of a few points can be small by chance; queueing bounds what the noise
        // can be: a sample whose delay exceeds the least by e has an offset error within ±e/2
        // (standard deviation e/√12 if spread evenly).
        let least = by_delay[0].2;
        let queueing = (by_delay.iter().map(|p| (p.2 - least).powi(2)).sum::<f64>()
            / (12.0 * by_delay.len() as f64))
            .sqrt();
        let se = line.slope_se_for(line.residual_sd.max(queueing));
        let within = se * t_factor(points.len() - 2);
        let phase = line.at(t_now) + self.applied_at(now);
        let f = -line.slope * 1e9;
        // Steer by the estimate when it is surer than the one in force, or clearly differs
        // from it: a first fit of four noisy points can be off by more than the drift.
        let surer = self.fset_within.is_finite() && within < self.fset_within;
        let steer = surer || within * 1e9 < (f - self.frequency_ppb).abs();
        self.fset_fit = Some(FsetFit {
            samples: self.fset.len(),
            frequency_ppb: f,
            within_ppb: within * 1e9,
            phase,
            steered: steer,
        });
        if within > FSET_SETTLED && span < 600.0 {
            if steer {
                self.fset_within = within;
                self.frequency_ppb = f.clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
                self.apply(now, phase, out);
            }
            return None;
        }
        self.frequency_ppb = (-line.slope * 1e9).clamp(-MAX_FREQ_PPB, MAX_FREQ_PPB);
        self.state = DisciplineState::Sync;
        self.last = Some(now);
        self.fset.clear();
        self.fset_start = None;
        self.fset_within = f64::INFINITY;
        if phase.abs() > SETTLE_STEP_SIGMAS * line.residual_sd {
            let _ = self.step(phase, out);
            self.emit(now, out);
            return Some(phase);
        }
        self.apply(now, phase, out);
        None
    }

    /// The time constant, s: twice the poll; while the frequency is measured, a few seconds
    /// (the clock is still being set, and each fit's phase already averages many samples).
    fn tc(&self) -> f64 {
        let tc = 2.0 * 2f64.powi(self.poll as i32);
        if self.state == DisciplineState::Fset {
            tc.min(FSET_TC)
        } else {
            tc
        }
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
        // Record the correction from now on.
        let cumulative = self.applied_at(now);
        self.applied.push_back((now, cumulative, f * 1e-9));
        if self.applied.len() > APPLIED_CHECKPOINTS {
            self.applied.pop_front();
        }
        out.push(ClockAdjustment::Frequency(f));
    }

    /// The phase the frequency corrections had added to the clock by `t`, s.
    fn applied_at(&self, t: Instant) -> f64 {
        let i = self.applied.partition_point(|c| c.0 <= t);
        match i.checked_sub(1).and_then(|i| self.applied.get(i)) {
            Some(&(at, cum, rate)) => cum + rate * t.duration_since(at).as_secs_f64(),
            None => self.applied.front().map_or(0.0, |c| c.1),
        }
    }

    /// An offset measured at `then` (ours minus the reference, s), brought up to `now`: plus
    /// what the corrections applied meanwhile added, less what the oscillator's own drift (as
    /// now estimated) took away. A sample the clock filter releases late is then neither
    /// corrected twice nor stale by a frequency measured since it was taken.
    #[must_use]
    pub fn bring_up_to_date(&self, theta: f64, then: Instant, now: Instant) -> f64 {
        theta + self.applied_at(now)
            - self.applied_at(then)
            - self.frequency_ppb * 1e-9 * now.duration_since(then).as_secs_f64()
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
        if self.state == DisciplineState::Nset {
            self.next_tick = None;
            return;
        }
        let due = *self.next_tick.get_or_insert(now);
        if now < due {
            return;
        }
        self.next_tick = Some(now.after(Duration::SECOND));
        if self.residual != 0.0 {
            // What the correction in force removed beyond the frequency since it was emitted
            // (exact even where the ±500 ppm limit clipped it); the last checkpoint is when.
            let elapsed = self
                .applied
                .back()
                .map_or(0.0, |c| now.duration_since(c.0).as_secs_f64());
            let removed = (self.frequency_ppb - self.applied_ppb) * 1e-9 * elapsed;
            let left = self.residual - removed;
            self.residual = if left * self.residual <= 0.0 || left.abs() < 1e-10 {
                0.0
            } else {
                left
            };
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

/// Student's t at 97.5 % for `dof` degrees of freedom: a slope's 95 % interval in standard
/// errors, wide when its noise was estimated from few points.
fn t_factor(dof: usize) -> f64 {
    const T: [f64; 10] = [12.71, 4.30, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];
    match dof {
        0 => f64::INFINITY,
        d if d <= T.len() => T[d - 1],
        d => 1.96 + 2.4 / d as f64,
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
        let stepped: Vec<Option<f64>> = (1..=4)
            .map(|k| {
                let t = at(2.0 * k as f64);
                d.observe(t, t, 20e-6 * 2.0 * k as f64, 0.001, &mut out)
            })
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
        let phase = stepped[3].expect("stepped");
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
        // No drift, ±2 µs of alternating noise around a 3 µs phase: four minutes of points
        // settle the frequency within 20 ppb.
        let stepped: Vec<Option<f64>> = (1..=128)
            .map(|k| {
                let noise = if k % 2 == 0 { 2e-6 } else { -2e-6 };
                let t = at(2.0 * k as f64);
                d.observe(t, t, 3e-6 + noise, 0.001, &mut out)
            })
            .collect();
        assert_eq!(d.state, DisciplineState::Sync);
        assert!(stepped.iter().all(Option::is_none), "{stepped:?}");
        assert!(!out.iter().any(|a| matches!(a, ClockAdjustment::Step(_))));
    }

    /// 20 ppm of drift, noise `noise` s in the pattern +−−+ (which leaves the slope unbiased),
    /// delays from `delay`: the adjustments after each of four samples 2 s apart.
    fn four_samples(
        noise: f64,
        delay: fn(usize) -> f64,
    ) -> (Discipline, Vec<Vec<ClockAdjustment>>) {
        let mut d = Discipline::new(DisciplineLimits::default(), 6);
        d.update(at(0.0), 0.100, 1e-5, (6, 10), &mut Vec::new());
        let outs = (1..=4)
            .map(|k| {
                let mut out = Vec::new();
                let n = if k % 4 < 2 { noise } else { -noise };
                let t = at(2.0 * k as f64);
                let _ = d.observe(t, t, 20e-6 * 2.0 * k as f64 + n, delay(k), &mut out);
                out
            })
            .collect();
        (d, outs)
    }

    #[test]
    fn the_clock_is_steered_by_a_fit_that_is_sure_enough() {
        // ±10 µs: the fit knows 20 ppm within about 14 ppm, not enough to end the measurement
        // but enough to steer by at once.
        let (d, outs) = four_samples(10e-6, |_| 0.001);
        assert_eq!(d.state, DisciplineState::Fset);
        assert!(outs[..3].iter().all(Vec::is_empty), "{outs:?}");
        assert!(
            matches!(outs[3][..], [ClockAdjustment::Frequency(f)] if f < -15_000.0),
            "{outs:?}"
        );
        assert!(
            (d.frequency_ppb + 20_000.0).abs() < 1.0,
            "{}",
            d.frequency_ppb
        );
        // ±30 µs: known within 40 ppm, no better than no correction at all: left alone.
        let (d, outs) = four_samples(30e-6, |_| 0.001);
        assert_eq!(d.state, DisciplineState::Fset);
        assert!(outs.iter().all(Vec::is_empty), "{outs:?}");
        assert_eq!(d.frequency_ppb, 0.0);
    }

    #[test]
    fn queueing_bounds_the_noise_a_few_points_claim() {
        // A perfect line, but the delays differ by up to 600 µs: its offsets could be off by
        // 300 µs, so four points prove nothing yet.
        let (d, outs) = four_samples(0.0, |k| 0.001 + 200e-6 * k as f64);
        assert_eq!(d.state, DisciplineState::Fset);
        assert!(outs.iter().all(Vec::is_empty), "{outs:?}");
        // Equal delays: the same line settles it.
        let (d, _) = four_samples(0.0, |_| 0.001);
        assert_eq!(d.state, DisciplineState::Sync);
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
