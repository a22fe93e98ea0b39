//! The default servo: packet selection over sliding windows, designed for packet delay
//! variation.
//!
//! Queues only ever add delay, so the packets nearest the delay floor carry the least noise. Each
//! direction keeps a window of samples net of the corrections this servo applied (see
//! [`Applied`]); at every tick the samples are projected to the present with the current
//! frequency estimate, the ones within a small band above the window's minimum are averaged, and
//! the forward and reverse floors give the phase: θ = (F − R) / 2. A critically damped
//! second-order loop turns θ into a frequency correction. The loop starts fast with a short
//! window and, while it stays locked, doubles its time constant and window up to the limits, so
//! it pulls in within seconds yet averages over a minute of packets once locked.

use std::collections::VecDeque;

use super::{Applied, MAX_FREQUENCY_PPB, Sample, Servo, ServoMode, ServoState};
use crate::engine::{ClockAdjustment, Instant};
use crate::time::Duration;

/// Tuning of the selection servo.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SelectionParams {
    /// How often the windows are evaluated.
    pub tick: Duration,
    /// Loop time constant at start, seconds.
    pub time_constant_min: f64,
    /// Longest loop time constant that low measurement noise alone leads to, seconds. A long
    /// selection window (heavy PDV) raises the time constant beyond it, to twice the window.
    pub time_constant_max: f64,
    /// Longest selection window. The window adapts to the packet delay variation: it doubles
    /// while fewer than [`SelectionParams::min_selected`] samples of a direction fall in the
    /// band, and halves while more than 16 times that do.
    pub window_max: Duration,
    /// Shortest selection window.
    pub window_min: Duration,
    /// Samples wanted in the band of each direction.
    pub min_selected: usize,
    /// Samples within this band above the window minimum are averaged.
    pub band: Duration,
    /// A phase error above this at the first estimate is stepped (time mode).
    pub step_threshold: Duration,
    /// A phase error above this drops the loop back to its fastest setting.
    pub unlock_threshold: Duration,
}

impl Default for SelectionParams {
    fn default() -> Self {
        Self {
            tick: Duration::SECOND,
            time_constant_min: 2.0,
            time_constant_max: 32.0,
            window_max: Duration::from_secs(64),
            window_min: Duration::from_secs(2),
            min_selected: 4,
            band: Duration::from_nanos(100),
            step_threshold: Duration::from_millis(1),
            unlock_threshold: Duration::from_micros(100),
        }
    }
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
    /// Frequency integral, ppb: the loop's estimate of minus the oscillator's offset.
    integral: f64,
    time_constant: f64,
    window: Duration,
    /// The floors found at the last tick.
    last_floors: [Option<Floor>; 2],
    /// Phase errors seen at the current time constant.
    dwell: Vec<f64>,
    /// While acquiring: the first phase estimate after the step and when.
    acquisition: Option<(Instant, f64)>,
    /// Whether the frequency is still to be measured (after start or a step).
    acquiring: bool,
    /// When the windows were last emptied.
    cleared_at: Option<Instant>,
    /// Frequency mode: the phase references of the forward and reverse floors.
    references: [Option<f64>; 2],
    next_tick: Option<Instant>,
    state: ServoState,
    /// The last phase estimate, ns (for displays and tests).
    pub last_phase_ns: Option<f64>,
}

/// The delay floor of one direction's window.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Floor {
    /// The mean of the samples within the band above the minimum, ns.
    level: f64,
    /// Median minus minimum: how disturbed the direction is, ns.
    spread: f64,
    /// How many samples the band held.
    selected: usize,
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

/// The floor of a set of samples.
fn floor(values: &mut [f64], band: f64) -> Option<Floor> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let min = values[0];
    let selected: Vec<f64> = values
        .iter()
        .copied()
        .take_while(|v| *v <= min + band)
        .collect();
    let mean = selected.iter().sum::<f64>() / selected.len() as f64;
    Some(Floor {
        level: mean,
        spread: values[values.len() / 2] - min,
        selected: selected.len(),
    })
}

impl std::fmt::Debug for SelectionServo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectionServo")
            .field("state", &self.state)
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
            integral: 0.0,
            time_constant: params.time_constant_min,
            window: params.window_min,
            last_floors: [None; 2],
            dwell: Vec::new(),
            acquisition: None,
            acquiring: false,
            cleared_at: Some(now),
            references: [None; 2],
            next_tick: None,
            state: ServoState::Unlocked,
            last_phase_ns: None,
        }
    }

    fn window(&self) -> Duration {
        self.window
    }

    /// Lengthens the window while a direction's band holds too few samples to find the floor,
    /// shortens it while it holds plenty (less lag, more tracking).
    fn adapt_window(&mut self, floors: [Option<Floor>; 2]) {
        let Some(fewest) = floors.iter().flatten().map(|f| f.selected).min() else {
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
        // The loop must be slower than the window's lag.
        self.time_constant = self.time_constant.max(2.0 * self.window.as_secs_f64());
    }

    /// Floors of both directions projected to `now`: (forward, reverse), each with its spread.
    fn floors(&self, now: Instant) -> (Option<Floor>, Option<Floor>) {
        // The oscillator's own frequency, as the loop currently believes it: −integral.
        let y = -self.integral;
        let band = self.p.band.as_nanos_f64();
        let project = |q: &VecDeque<(Instant, f64)>, sign: f64| {
            let mut v: Vec<f64> = q
                .iter()
                .map(|(at, x)| x + sign * y * now.duration_since(*at).as_secs_f64())
                .collect();
            floor(&mut v, band)
        };
        (project(&self.forward, 1.0), project(&self.reverse, -1.0))
    }

    /// The phase error to steer out, ns, or `None` without enough data.
    fn phase_error(&mut self, now: Instant) -> Option<f64> {
        let (f, r) = self.floors(now);
        self.last_floors = [f, r];
        let a = self.applied.at(now);
        match self.mode {
            ServoMode::Time => Some((f?.level - r?.level) / 2.0 + a),
            ServoMode::Frequency => {
                // Each direction's floor moves with the phase; use the less disturbed one.
                let fwd = f.map(|f| (f.level + a, f.spread));
                let rev = r.map(|r| (a - r.level, r.spread));
                let pick = match (fwd, rev) {
                    (Some(x), Some(y)) if y.1 < x.1 => (1, y.0),
                    (Some(x), _) => (0, x.0),
                    (None, Some(y)) => (1, y.0),
                    (None, None) => return None,
                };
                let reference = *self.references[pick.0].get_or_insert(pick.1);
                Some(pick.1 - reference)
            }
        }
    }

    fn prune(&mut self, now: Instant) {
        let w = self.window();
        for q in [&mut self.forward, &mut self.reverse] {
            while q.front().is_some_and(|(at, _)| now.duration_since(*at) > w) {
                q.pop_front();
            }
        }
    }

    /// Chooses the loop's time constant by a whiteness test of the phase error over a dwell of
    /// four time constants: errors still correlated a window apart (beyond the overlap of
    /// successive windows) mean the loop lags the oscillator's wander, so it speeds up; white
    /// errors mean measurement noise dominates, so it slows down to average more. Far off, it
    /// starts over fast.
    fn shift_gears(&mut self, e: f64, u: f64) {
        if e.abs() > self.p.unlock_threshold.as_nanos_f64() {
            self.time_constant = self.p.time_constant_min;
            self.window = self.p.window_min;
            self.dwell.clear();
            self.state = ServoState::Locking;
            return;
        }
        // Near lock (within ten bands) the spread of the samples reflects the network, not our
        // own drift.
        let near = e.abs() < 10.0 * self.p.band.as_nanos_f64();
        self.state = if near {
            ServoState::Locked
        } else {
            ServoState::Locking
        };
        if near {
            self.adapt_window(self.last_floors);
        }
        self.dwell.push(e);
        let lag = (self.window.as_secs_f64() / u).ceil() as usize + 1;
        let n = self.dwell.len();
        // Lag is looked for as soon as one time constant of errors is in; whiteness must hold
        // over four before the loop slows down.
        if (n as f64) * u < self.time_constant || n < 4 * lag {
            return;
        }
        let floor_tc = 2.0 * self.window.as_secs_f64();
        let r = autocorrelation(&self.dwell, lag);
        if r.is_some_and(|r| r > 0.2) && self.time_constant > floor_tc.max(self.p.time_constant_min)
        {
            self.time_constant = (self.time_constant / 2.0)
                .max(self.p.time_constant_min)
                .max(floor_tc);
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

    fn clear(&mut self) {
        self.forward.clear();
        self.reverse.clear();
        self.references = [None; 2];
    }
}

impl Servo for SelectionServo {
    fn sample(&mut self, s: Sample, _out: &mut Vec<ClockAdjustment>) {
        match s {
            Sample::Forward { at, delay } => {
                self.forward
                    .push_back((at, delay.as_nanos_f64() - self.applied.at(at)));
                self.next_tick.get_or_insert(at.after(self.p.tick));
            }
            Sample::Reverse { at, delay } => {
                self.reverse
                    .push_back((at, delay.as_nanos_f64() + self.applied.at(at)));
                self.next_tick.get_or_insert(at.after(self.p.tick));
            }
        }
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
        if self.state == ServoState::Unlocked {
            self.state = ServoState::Locking;
            self.acquiring = true;
            if self.mode == ServoMode::Time && e.abs() > self.p.step_threshold.as_nanos_f64() {
                out.push(
                    self.applied
                        .apply(now, ClockAdjustment::Step(Duration::from_nanos_f64(-e))),
                );
                self.clear();
                self.cleared_at = Some(now);
                return;
            }
        }
        if self.acquiring {
            // Acquisition: the phase drifts at the oscillator's offset plus our correction; two
            // estimates a few seconds apart measure it, and the loop starts from there.
            let Some((t0, e0)) = self.acquisition else {
                // Both estimates must come from full windows, or their lags differ.
                if self
                    .cleared_at
                    .is_some_and(|c| now.duration_since(c) >= self.window())
                {
                    self.acquisition = Some((now, e));
                }
                return;
            };
            let dt = now.duration_since(t0).as_secs_f64();
            if dt < 2.0 * self.window().as_secs_f64() {
                return;
            }
            let drift = (e - e0) / dt;
            self.integral =
                (self.applied.frequency_ppb() - drift).clamp(-MAX_FREQUENCY_PPB, MAX_FREQUENCY_PPB);
            self.acquisition = None;
            self.acquiring = false;
            // The windows hold samples projected with the old estimate: start them afresh.
            self.clear();
            self.cleared_at = Some(now);
            out.push(
                self.applied
                    .apply(now, ClockAdjustment::Frequency(self.integral)),
            );
            return;
        }
        let u = self.p.tick.as_secs_f64();
        self.shift_gears(e, u);
        // Critically damped PLL: f = I − e/Tp, I' = −e/(Tp·Ti) with Ti = 4·Tp. Far from lock the
        // integrator holds (anti-windup): the frequency was measured, only phase is slewed out.
        let tp = self.time_constant;
        if e.abs() < 10.0 * self.p.band.as_nanos_f64() {
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
        self.clear();
    }

    fn holdover(&mut self, now: Instant, out: &mut Vec<ClockAdjustment>) {
        if self.state != ServoState::Holdover && self.state != ServoState::Unlocked {
            out.push(
                self.applied
                    .apply(now, ClockAdjustment::Frequency(self.integral)),
            );
            self.state = ServoState::Holdover;
        }
        self.clear();
    }

    fn state(&self) -> ServoState {
        self.state
    }

    fn frequency_ppb(&self) -> f64 {
        self.applied.frequency_ppb()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_averages_the_band_above_the_minimum() {
        let mut v = vec![105.0, 100.0, 5_000.0, 180.0, 101.0, 250.0];
        let f = floor(&mut v, 10.0).unwrap();
        assert_eq!(f.level, (100.0 + 101.0 + 105.0) / 3.0);
        assert_eq!(f.spread, 180.0 - 100.0);
        assert_eq!(floor(&mut [], 10.0), None);
    }
}
