//! The default servo: packet selection over sliding windows, designed for packet delay
//! variation.
//!
//! Queues only ever add delay, so the packets nearest the delay floor carry the least noise. Each
//! direction keeps a window of samples net of the corrections this servo applied (see
//! [`Applied`]), so steps and frequency changes never invalidate them. At every tick the samples
//! are projected to the present with the current frequency estimate, those within a small band
//! above the window's minimum are averaged, and the forward and reverse floors give the phase:
//! θ = (F − R) / 2. A critically damped second-order loop turns θ into a frequency correction.
//!
//! Three things adapt:
//! - **Acquisition** first measures the frequency by a least-squares fit of the per-tick *mean*
//!   offset (unbiased for frequency even where asymmetric queueing biases the mean's level),
//!   until its standard error is small, and steps a large initial phase error.
//! - **The window** grows while a direction's band holds too few samples to see the floor (heavy
//!   PDV) and shrinks while it holds plenty (less lag).
//! - **The time constant** follows a whiteness test of the phase error: errors still correlated
//!   a window apart mean the loop lags the oscillator's wander (speed up); white errors mean
//!   measurement noise dominates (slow down). It never drops below twice the window.

use std::collections::VecDeque;

use super::{Applied, MAX_FREQUENCY_PPB, Sample, Servo, ServoMode, ServoState};
use crate::engine::{ClockAdjustment, Instant};
use crate::fit::slope;
use crate::time::Duration;

/// Tuning of the selection servo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SelectionParams {
    /// How often the windows are evaluated.
    pub tick: Duration,
    /// Shortest loop time constant, seconds.
    pub time_constant_min: f64,
    /// Longest time constant that low measurement noise alone leads to, seconds. A long window
    /// (heavy PDV) raises the time constant beyond it, to twice the window.
    pub time_constant_max: f64,
    /// Shortest selection window.
    pub window_min: Duration,
    /// Longest selection window.
    pub window_max: Duration,
    /// Samples wanted in the band of each direction; fewer lengthen the window, more than 16
    /// times as many shorten it.
    pub min_selected: usize,
    /// Samples within this band above the window minimum are averaged…
    pub band: Duration,
    /// …or, if more, this fraction of the window's lowest samples (0 for none). Biased, but
    /// steadier: for frequency recovery only.
    pub select_fraction: f64,
    /// A phase error above this is stepped: at start, or when it persists for four ticks.
    pub step_threshold: Duration,
    /// A phase error above this for eight ticks returns the loop to its fastest setting.
    pub unlock_threshold: Duration,
    /// Time recovery: phase gathered while the frequency was measured that is larger than this
    /// is stepped out when the measurement ends (slewing it out would take minutes).
    pub settle_step_threshold: Duration,
    /// "Locked" is declared once the recent phase errors, with two standard deviations of
    /// their noise, are within this, and left when their mean is outside it.
    pub lock_budget: Duration,
    /// Acquisition ends when the frequency's standard error is below this, ppb…
    pub acquisition_precision_ppb: f64,
    /// …or after this long.
    pub acquisition_max: Duration,
}

impl Default for SelectionParams {
    fn default() -> Self {
        Self {
            tick: Duration::SECOND,
            time_constant_min: 2.0,
            time_constant_max: 32.0,
            window_min: Duration::from_secs(2),
            window_max: Duration::from_secs(64),
            min_selected: 4,
            band: Duration::from_nanos(100),
            select_fraction: 0.0,
            step_threshold: Duration::from_millis(1),
            unlock_threshold: Duration::from_micros(100),
            settle_step_threshold: Duration::from_micros(2),
            lock_budget: Duration::from_micros(1),
            acquisition_precision_ppb: 2.0,
            acquisition_max: Duration::from_secs(256),
        }
    }
}

impl SelectionParams {
    /// Defaults for `mode`. Frequency recovery (ACR) has no phase to hold, so it can average far
    /// longer (windows up to 256 s, so a time constant of 512 s or more under heavy PDV), and a
    /// constant bias of the floor does not matter to it, only its noise: it averages the lowest
    /// 5 % of each window.
    #[must_use]
    pub fn for_mode(mode: ServoMode) -> Self {
        match mode {
            ServoMode::Time => Self::default(),
            ServoMode::Frequency => Self {
                window_max: Duration::from_secs(256),
                select_fraction: 0.05,
                ..Self::default()
            },
        }
    }
}

/// Samples a direction's window must hold before a frequency-mode phase reference is taken
/// from it (2 s at the default 8 Syncs per second).
const REFERENCE_SAMPLES: usize = 16;

/// The delay floor of one direction's window.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Floor {
    /// The mean of the samples within the band above the minimum, ns.
    level: f64,
    /// Median minus minimum: how disturbed the direction is, ns.
    spread: f64,
    /// How many samples were averaged.
    selected: usize,
    /// How many were within the band of the minimum (what the window adapts to).
    in_band: usize,
    /// How many samples the window held.
    count: usize,
}

/// The floor of a set of samples: the mean of those within `band` of the minimum, or of the
/// lowest `fraction` of them if that is more.
fn floor(values: &mut [f64], band: f64, fraction: f64) -> Option<Floor> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let min = values[0];
    let in_band = values.iter().take_while(|v| **v <= min + band).count();
    let selected = in_band
        .max((values.len() as f64 * fraction) as usize)
        .min(values.len());
    let level = values[..selected].iter().sum::<f64>() / selected as f64;
    Some(Floor {
        level,
        spread: values[values.len() / 2] - min,
        selected,
        in_band,
        count: values.len(),
    })
}

/// The floor of `values` (in time order) as the mean of the floors of `groups` interleaved
/// groups (every `groups`-th sample), so it has the bias of a window of `len / groups`.
fn grouped_floor(mut values: Vec<f64>, groups: usize, band: f64, fraction: f64) -> Option<Floor> {
    if groups <= 1 {
        return floor(&mut values, band, fraction);
    }
    let floors: Vec<Floor> = (0..groups)
        .filter_map(|g| {
            let mut v: Vec<f64> = values.iter().skip(g).step_by(groups).copied().collect();
            floor(&mut v, band, fraction)
        })
        .collect();
    let n = floors.len();
    if n == 0 {
        return None;
    }
    let mean = |f: fn(&Floor) -> f64| floors.iter().map(f).sum::<f64>() / n as f64;
    Some(Floor {
        level: mean(|f| f.level),
        spread: mean(|f| f.spread),
        selected: floors.iter().map(|f| f.selected).sum(),
        in_band: floors.iter().map(|f| f.in_band).sum::<usize>() / n,
        count: values.len(),
    })
}

/// Phase errors the lock test looks at: four ticks (a relock after holdover waits for them).
const LOCK_TICKS: usize = 4;

/// The lock test over the last [`LOCK_TICKS`] phase errors (ns) against `budget`: `Some(true)`
/// when, with two standard deviations of their noise, they are within it (enter "Locked");
/// `Some(false)` when even their mean is outside it (leave); `None` in between (hysteresis).
fn lock_test(recent: &VecDeque<f64>, budget: f64) -> Option<bool> {
    if recent.len() < LOCK_TICKS {
        return Some(false);
    }
    let n = recent.len() as f64;
    let mean = recent.iter().sum::<f64>() / n;
    let sd = (recent.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    if mean.abs() + 2.0 * sd <= budget {
        Some(true)
    } else if mean.abs() > budget {
        Some(false)
    } else {
        None
    }
}

/// The autocorrelation of `x` at `lag`; `None` when undefined (too short, or constant).
fn autocorrelation(x: &[f64], lag: usize) -> Option<f64> {
    if x.len() <= lag + 1 {
        return None;
    }
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let var: f64 = x.iter().map(|v| (v - mean).powi(2)).sum();
    if var <= f64::EPSILON {
        return None;
    }
    let cov: f64 = x
        .windows(lag + 1)
        .map(|w| (w[0] - mean) * (w[lag] - mean))
        .sum();
    Some(cov / var)
}

/// Per-tick statistics of one direction's samples during acquisition.
#[derive(Clone, Copy, Debug)]
struct TickStats {
    sum: f64,
    n: usize,
    min: f64,
}

impl Default for TickStats {
    fn default() -> Self {
        Self {
            sum: 0.0,
            n: 0,
            min: f64::INFINITY,
        }
    }
}

impl TickStats {
    fn add(&mut self, v: f64) {
        self.sum += v;
        self.n += 1;
        self.min = self.min.min(v);
    }

    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    fn min(&self) -> Option<f64> {
        (self.n > 0).then_some(self.min)
    }
}

/// Acquisition: candidate phase series, one point per tick, all net of our corrections and
/// signed so their slope is the oscillator's frequency offset. Which one is least noisy depends
/// on the network: means where the delay variation is symmetric, the per-tick minimum of a
/// quiet direction where it is not.
#[derive(Clone, Debug, Default)]
struct Acquisition {
    started: Option<Instant>,
    /// Per series: (seconds since start, value) points. Series: (fwd − rev)/2 of means,
    /// forward mean, −reverse mean, forward minimum, −reverse minimum.
    series: [Vec<(f64, f64)>; 5],
    forward: TickStats,
    reverse: TickStats,
}

/// The packet-selection servo.
pub struct SelectionServo {
    mode: ServoMode,
    p: SelectionParams,
    applied: Applied,
    /// (when, forward delay − applied phase), ns.
    forward: VecDeque<(Instant, f64)>,
    /// (when, reverse delay + applied phase), ns.
    reverse: VecDeque<(Instant, f64)>,
    /// `Some` while the frequency is being measured.
    acquisition: Option<Acquisition>,
    /// Frequency integral, ppb: the loop's estimate of minus the oscillator's offset.
    integral: f64,
    time_constant: f64,
    window: Duration,
    last_floors: [Option<Floor>; 2],
    /// Phase errors seen at the current time constant.
    dwell: Vec<f64>,
    /// The last [`LOCK_TICKS`] phase errors (the lock test).
    recent: VecDeque<f64>,
    /// Consecutive ticks beyond the step and unlock thresholds.
    beyond: (u32, u32),
    /// Samples taken before this instant may straddle a step and are dropped.
    guard_until: Option<Instant>,
    /// Frequency mode: the phase references of the forward and reverse floors.
    references: [Option<f64>; 2],
    next_tick: Option<Instant>,
    state: ServoState,
    /// When `state` was entered.
    since: Instant,
    /// The last phase estimate, ns (for displays and tests).
    pub last_phase_ns: Option<f64>,
}

impl std::fmt::Debug for SelectionServo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectionServo")
            .field("state", &self.state)
            .field("acquiring", &self.acquisition.is_some())
            .field("time_constant", &self.time_constant)
            .field("window_s", &self.window.as_secs_f64())
            .field("integral_ppb", &self.integral)
            .field("last_phase_ns", &self.last_phase_ns)
            .finish_non_exhaustive()
    }
}

impl SelectionServo {
    /// A servo in `mode` starting at `now`.
    #[must_use]
    pub fn new(mode: ServoMode, params: SelectionParams, now: Instant) -> Self {
        Self {
            mode,
            p: params,
            applied: Applied::new(now),
            forward: VecDeque::new(),
            reverse: VecDeque::new(),
            acquisition: Some(Acquisition::default()),
            integral: 0.0,
            time_constant: params.time_constant_min,
            window: params.window_min,
            last_floors: [None; 2],
            dwell: Vec::new(),
            recent: VecDeque::with_capacity(LOCK_TICKS + 1),
            beyond: (0, 0),
            guard_until: None,
            references: [None; 2],
            next_tick: None,
            state: ServoState::Unlocked,
            since: now,
            last_phase_ns: None,
        }
    }

    /// Enters `state` at `now` (a no-op if already there, so `since` keeps its first instant).
    fn enter(&mut self, now: Instant, state: ServoState) {
        if self.state != state {
            self.state = state;
            self.since = now;
        }
    }

    /// Floors of both directions projected to `now`.
    fn floors(&self, now: Instant) -> [Option<Floor>; 2] {
        // The oscillator's own frequency, as the loop currently believes it: −integral.
        let y = -self.integral;
        let (band, fraction) = (self.p.band.as_nanos_f64(), self.p.select_fraction);
        let project = |q: &VecDeque<(Instant, f64)>, sign: f64| -> Vec<f64> {
            q.iter()
                .map(|(at, x)| x + sign * y * now.duration_since(*at).as_secs_f64())
                .collect()
        };
        let (f, r) = (project(&self.forward, 1.0), project(&self.reverse, -1.0));
        // Time recovery compares the two floors, so each must come from as many samples: the
        // minimum of more samples reaches deeper into the timestamp noise (at 128 Syncs but 8
        // Delay_Reqs a second, 500 ns of noise per timestamp biased θ by ~370 ns). The busier
        // direction's floor is the mean of the floors of interleaved groups the size of the
        // other direction's window. Frequency recovery uses each floor alone: one group.
        let time = self.mode == ServoMode::Time;
        let groups = |n: usize, other: usize| {
            if time {
                n.checked_div(other).unwrap_or(1).max(1)
            } else {
                1
            }
        };
        let (gf, gr) = (groups(f.len(), r.len()), groups(r.len(), f.len()));
        [
            grouped_floor(f, gf, band, fraction),
            grouped_floor(r, gr, band, fraction),
        ]
    }

    /// The phase error to steer out, ns, or `None` without enough data.
    fn phase_error(&mut self, now: Instant) -> Option<f64> {
        let [f, r] = self.floors(now);
        self.last_floors = [f, r];
        let a = self.applied.at(now);
        match self.mode {
            ServoMode::Time => Some((f?.level - r?.level) / 2.0 + a),
            ServoMode::Frequency => {
                // Each direction's floor moves with the phase; use the less disturbed one.
                let fwd = f.map(|f| (f.level + a, f.spread));
                let rev = r.map(|r| (a - r.level, r.spread));
                let (i, phase) = match (fwd, rev) {
                    (Some(x), Some(y)) if y.1 < x.1 => (1, y.0),
                    (Some(x), _) => (0, x.0),
                    (None, Some(y)) => (1, y.0),
                    (None, None) => return None,
                };
                // A reference is taken only from a window that can show the floor: one sample
                // after a change of server carries its queueing delay, and a reference that
                // high is a phase error of as much steered out through the frequency (80 µs
                // over half a minute after one failover).
                let count = [f, r][i].map_or(0, |f| f.count);
                if self.references[i].is_none() && count < REFERENCE_SAMPLES {
                    return None;
                }
                // A direction used for the first time takes its reference so that the phase
                // error continues from the other direction's, without a jump.
                let other = [fwd, rev][1 - i]
                    .zip(self.references[1 - i])
                    .map(|(o, r)| o.0 - r);
                let reference = *self.references[i].get_or_insert(phase - other.unwrap_or(0.0));
                Some(phase - reference)
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        let w = self.window;
        for q in [&mut self.forward, &mut self.reverse] {
            while q.front().is_some_and(|(at, _)| now.duration_since(*at) > w) {
                q.pop_front();
            }
        }
    }

    fn step(&mut self, now: Instant, e: f64, out: &mut Vec<ClockAdjustment>) {
        out.push(
            self.applied
                .apply(now, ClockAdjustment::Step(Duration::from_nanos_f64(-e))),
        );
        // Exchanges in flight straddle the step; the windows themselves stay valid.
        self.guard_until = Some(now.after(Duration::SECOND));
        self.references = [None; 2];
        self.recent.clear();
    }

    /// One acquisition tick: adds the mean offset since the last tick and, once the fitted
    /// frequency is precise enough, hands over to the loop. In time recovery the phase error `e`
    /// is steered out meanwhile, from the first exchange on: the fit's points are net of our
    /// corrections, so steering does not disturb the measurement.
    fn acquire(&mut self, now: Instant, e: f64, out: &mut Vec<ClockAdjustment>) {
        let Some(acq) = self.acquisition.as_mut() else {
            return;
        };
        let start = *acq.started.get_or_insert(now);
        let t = now.duration_since(start).as_secs_f64();
        let (f, r) = (acq.forward, acq.reverse);
        let candidates = [
            f.mean()
                .zip(r.mean())
                .map(|(f, r)| (f - r) / 2.0)
                .filter(|_| self.mode == ServoMode::Time),
            f.mean(),
            r.mean().map(|r| -r),
            f.min(),
            r.min().map(|r| -r),
        ];
        for (series, point) in acq.series.iter_mut().zip(candidates) {
            if let Some(v) = point {
                series.push((t, v));
            }
        }
        acq.forward = TickStats::default();
        acq.reverse = TickStats::default();
        let best = acq
            .series
            .iter()
            .filter_map(|s| slope(s))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let elapsed = now.duration_since(start);
        let done = best.is_some_and(|(_, se)| se < self.p.acquisition_precision_ppb)
            || (best.is_some() && elapsed >= self.p.acquisition_max);
        if let Some((b, se)) = best {
            let estimate = (-b).clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
            let apply = match self.mode {
                // An estimate replaces the one in force only when its uncertainty is below the
                // change it makes: with the phase held, a noisy early estimate costs nothing
                // but chasing it does (0.4–1 ppm wrong on veth with software timestamps).
                ServoMode::Time => se < (estimate - self.integral).abs(),
                // The points are net of our corrections: their slope is the oscillator's own.
                // Applying a rough estimate early keeps the phase from running away while the
                // fit improves.
                ServoMode::Frequency => se < 1_000.0,
            };
            if done || apply {
                self.integral = estimate;
                // Time recovery emits the estimate with its phase steering below.
                if self.mode == ServoMode::Frequency {
                    out.push(
                        self.applied
                            .apply(now, ClockAdjustment::Frequency(self.integral)),
                    );
                }
            }
        }
        if self.mode == ServoMode::Time {
            let f = (self.integral - e / self.p.time_constant_min)
                .clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
            out.push(self.applied.apply(now, ClockAdjustment::Frequency(f)));
        }
        if done {
            self.acquisition = None;
            // Frequency recovery has no phase to restore: what accumulated while measuring is
            // forgotten rather than slewed out (which would cost frequency error).
            self.references = [None; 2];
            // What accumulated meanwhile is stepped out if large, rather than slewed for long.
            if let Some(e) = self.phase_error(now)
                && self.mode == ServoMode::Time
                && e.abs() > self.p.settle_step_threshold.as_nanos_f64()
            {
                self.step(now, e, out);
            }
        }
    }

    /// Time recovery: "Locked" once the recent phase errors, with their noise, are within the
    /// budget, until their mean leaves it; otherwise pulling in (or re-acquiring after holdover).
    fn judge_lock(&mut self, now: Instant) {
        let next = match (
            lock_test(&self.recent, self.p.lock_budget.as_nanos_f64()),
            self.state,
        ) {
            (Some(true), _) | (None, ServoState::Locked) => ServoState::Locked,
            (_, ServoState::Reacquiring) => ServoState::Reacquiring,
            _ => ServoState::Locking,
        };
        self.enter(now, next);
    }

    /// Lengthens the window while a direction's band holds too few samples to find the floor,
    /// shortens it while it holds plenty; the loop stays slower than the window's lag.
    fn adapt_window(&mut self) {
        let Some(fewest) = self.last_floors.iter().flatten().map(|f| f.in_band).min() else {
            return;
        };
        if fewest < self.p.min_selected {
            self.window = self
                .window
                .checked_mul(2)
                .unwrap_or(self.window)
                .min(self.p.window_max);
        } else if fewest > 16 * self.p.min_selected {
            self.window = self
                .window
                .checked_div(2)
                .unwrap_or(self.window)
                .max(self.p.window_min);
        }
        self.time_constant = self.time_constant.max(2.0 * self.window.as_secs_f64());
    }

    /// The whiteness test (see the module documentation).
    fn shift_gears(&mut self, e: f64, u: f64) {
        self.dwell.push(e);
        let lag = (self.window.as_secs_f64() / u).ceil() as usize + 1;
        let n = self.dwell.len();
        // Lag is looked for once a time constant of errors is in; whiteness must hold over four
        // before the loop slows down.
        if (n as f64) * u < self.time_constant || n < 4 * lag {
            return;
        }
        let floor_tc = (2.0 * self.window.as_secs_f64()).max(self.p.time_constant_min);
        let r = autocorrelation(&self.dwell, lag);
        if r.is_some_and(|r| r > 0.2) && self.time_constant > floor_tc {
            self.time_constant = (self.time_constant / 2.0).max(floor_tc);
            self.dwell.clear();
        } else if (n as f64) * u >= 4.0 * self.time_constant {
            if r.is_some_and(|r| r < 0.05) && self.time_constant < self.p.time_constant_max {
                self.time_constant = (self.time_constant * 2.0)
                    .min(self.p.time_constant_max)
                    .max(floor_tc);
            }
            self.dwell.clear();
        }
    }

    fn reset_gear(&mut self) {
        self.time_constant = self.p.time_constant_min;
        self.window = self.p.window_min;
        self.dwell.clear();
    }
}

impl Servo for SelectionServo {
    fn sample(&mut self, s: Sample, _out: &mut Vec<ClockAdjustment>) {
        let at = match s {
            Sample::Forward { at, .. } | Sample::Reverse { at, .. } => at,
        };
        if self.guard_until.is_some_and(|g| at < g) {
            return;
        }
        // Samples again after holdover: regain lock from the held frequency.
        if self.state == ServoState::Holdover {
            self.enter(at, ServoState::Reacquiring);
            self.next_tick = Some(at.after(self.p.tick));
        }
        let a = self.applied.at(at);
        let (queue, value, acc) = match s {
            Sample::Forward { delay, .. } => {
                let v = delay.as_nanos_f64() - a;
                (
                    &mut self.forward,
                    v,
                    self.acquisition.as_mut().map(|q| &mut q.forward),
                )
            }
            Sample::Reverse { delay, .. } => {
                let v = delay.as_nanos_f64() + a;
                (
                    &mut self.reverse,
                    v,
                    self.acquisition.as_mut().map(|q| &mut q.reverse),
                )
            }
        };
        queue.push_back((at, value));
        if let Some(stats) = acc {
            stats.add(value);
        }
        self.next_tick.get_or_insert(at.after(self.p.tick));
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        let Some(due) = self.next_tick else { return };
        if now < due {
            return;
        }
        self.next_tick = Some(now.after(self.p.tick));
        if self.state == ServoState::Holdover {
            return;
        }
        self.prune(now);
        let Some(e) = self.phase_error(now) else {
            return;
        };
        self.last_phase_ns = Some(e);
        if self.recent.len() == LOCK_TICKS {
            self.recent.pop_front();
        }
        self.recent.push_back(e);
        let stepping =
            self.mode == ServoMode::Time && e.abs() > self.p.step_threshold.as_nanos_f64();
        let mut e = e;
        if self.state == ServoState::Unlocked {
            self.enter(now, ServoState::Locking);
            if stepping {
                self.step(now, e, out);
                // The step took the error out: nothing is left to slew (slewing the error
                // measured before it sent the clock 500 µs the other way in a second).
                e = 0.0;
            }
        }
        if self.acquisition.is_some() {
            self.acquire(now, e, out);
            if self.mode == ServoMode::Time {
                self.judge_lock(now);
            }
            return;
        }
        // A large error that persists (the upstream stepped, say) is stepped again; one that
        // merely lingers sends the loop back to its fastest setting.
        self.beyond.0 = if stepping { self.beyond.0 + 1 } else { 0 };
        self.beyond.1 = if e.abs() > self.p.unlock_threshold.as_nanos_f64() {
            self.beyond.1 + 1
        } else {
            0
        };
        if self.beyond.0 >= 4 {
            self.beyond = (0, 0);
            self.step(now, e, out);
            self.reset_gear();
            return;
        }
        if self.beyond.1 >= 8 {
            self.beyond.1 = 0;
            self.reset_gear();
        }
        let u = self.p.tick.as_secs_f64();
        self.adapt_window();
        let near = e.abs() < 10.0 * self.p.band.as_nanos_f64();
        if self.mode == ServoMode::Frequency && e.abs() > self.p.unlock_threshold.as_nanos_f64() {
            // Same reason: a phase excursion this large is re-referenced, not steered out at the
            // cost of frequency error.
            self.references = [None; 2];
            return;
        }
        self.shift_gears(e, u);
        match self.mode {
            ServoMode::Time => self.judge_lock(now),
            ServoMode::Frequency => {
                let next = match (near, self.state) {
                    (true, _) => ServoState::Locked,
                    (false, ServoState::Reacquiring) => ServoState::Reacquiring,
                    (false, _) => ServoState::Locking,
                };
                self.enter(now, next);
            }
        }
        // Critically damped PLL: f = I − e/Tp, I' = −e/(Tp·Ti) with Ti = 4·Tp. Far from lock the
        // integrator holds (anti-windup): the frequency was measured, only phase is slewed out.
        let tp = self.time_constant;
        if near {
            self.integral = (self.integral - e * u / (tp * 4.0 * tp))
                .clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
        }
        let f = (self.integral - e / tp).clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
        out.push(self.applied.apply(now, ClockAdjustment::Frequency(f)));
    }

    fn next_tick(&self) -> Option<Instant> {
        self.next_tick
    }

    fn path_changed(&mut self) {
        self.recent.clear();
        self.forward.clear();
        self.reverse.clear();
        self.references = [None; 2];
        self.reset_gear();
    }

    fn holdover(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        if matches!(
            self.state,
            ServoState::Locked | ServoState::Locking | ServoState::Reacquiring
        ) && self.acquisition.is_none()
        {
            out.push(
                self.applied
                    .apply(now, ClockAdjustment::Frequency(self.integral)),
            );
            self.enter(now, ServoState::Holdover);
        }
        self.forward.clear();
        self.reverse.clear();
        self.references = [None; 2];
        self.recent.clear();
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
        self.integral = ppb;
        let _ = self.applied.apply(now, ClockAdjustment::Frequency(ppb));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_averages_the_band_above_the_minimum() {
        let mut v = vec![105.0, 100.0, 5_000.0, 180.0, 101.0, 250.0];
        let f = floor(&mut v, 10.0, 0.0).unwrap();
        assert_eq!(f.level, (100.0 + 101.0 + 105.0) / 3.0);
        assert_eq!((f.spread, f.selected), (180.0 - 100.0, 3));
        assert_eq!(floor(&mut [], 10.0, 0.0), None);
        // A fraction selects at least that share of the lowest samples.
        let f = floor(&mut v, 1.0, 0.5).unwrap();
        assert_eq!((f.level, f.selected), ((100.0 + 101.0 + 105.0) / 3.0, 3));
    }

    #[test]
    fn autocorrelation_of_a_trend_is_high_and_of_alternation_negative() {
        let trend: Vec<f64> = (0..50).map(f64::from).collect();
        assert!(autocorrelation(&trend, 3).unwrap() > 0.8);
        let alt: Vec<f64> = (0..50)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        assert!(autocorrelation(&alt, 1).unwrap() < -0.9);
        assert_eq!(autocorrelation(&[1.0; 10], 2), None);
    }
}
