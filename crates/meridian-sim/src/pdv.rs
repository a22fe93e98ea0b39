//! Packet delay variation models: the part of a packet's delay above the link's floor.

use meridian_proto::time::{Duration, Timestamp};
use rand::RngExt;
use rand::distr::Distribution;
use rand_distr::{Exp, Gamma};

use crate::rng::{SimRng, gaussian};

/// How one direction of a link adds delay above its floor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PdvModel {
    /// No variation.
    Constant,
    /// Uniform in `[0, max]`.
    Uniform {
        /// Upper bound.
        max: Duration,
    },
    /// Exponential with the given mean.
    Exponential {
        /// Mean excess delay.
        mean: Duration,
    },
    /// Gamma with shape `k` and scale `theta` (mean `k·theta`).
    Gamma {
        /// Shape parameter.
        shape: f64,
        /// Scale parameter.
        scale: Duration,
    },
    /// Per-hop queueing: at each of `hops` switches the packet finds the queue idle with
    /// probability `1 − load`, otherwise waits an exponential time of mean `service / (1 − load)`.
    Queueing {
        /// Number of switches on the path.
        hops: u32,
        /// Utilisation in `[0, 1)`.
        load: f64,
        /// Service time of one full frame (12 µs for 1500 bytes at 1 Gb/s).
        service: Duration,
    },
    /// The G.8263 Amd.2 statistical model: Gamma(α(L), β(L)) + ρ(L) + 57.32 µs, with the load L
    /// either fixed or following flicker noise over 240-s cycles. The 57.32 µs is added on top of
    /// the link's own floor, so set the floor to zero to reproduce the recommendation exactly.
    G8263 {
        /// The network load.
        load: G8263Load,
    },
}

/// The load driving the G.8263 model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum G8263Load {
    /// A constant load in percent (0–100).
    Fixed(f64),
    /// Flicker-noise load, rescaled to 0–100 % in each 240-s cycle.
    Flicker,
}

/// The G.8263 Amd.2 model's constant delay part.
pub const G8263_FIXED_DELAY: Duration = Duration::from_ticks(57_320 * (1 << 32));
/// Length of one G.8263 load cycle.
pub const G8263_CYCLE: Duration = Duration::from_secs(240);
/// Load samples per cycle (one per second).
const LOAD_SAMPLES: usize = 240;

const ALPHA: [f64; 7] = [
    3.0302171048327e-10,
    -9.7822643361772e-08,
    1.1854660981753e-05,
    -6.6624332958641e-04,
    1.8713517871851e-02,
    -1.4120879264166e-01,
    1.3306420437613e+00,
];
const BETA: [f64; 7] = [
    -3.7527709385196e-16,
    1.2590219237780e-13,
    -1.6595170368502e-11,
    1.0886566230108e-09,
    -3.7186572402355e-08,
    5.9390899042069e-07,
    1.6110589771449e-06,
];
const RHO: [f64; 7] = [
    1.0843935243576e-15,
    -2.8578719666972e-13,
    2.9508400604002e-11,
    -1.4410536532614e-09,
    3.3119857891960e-08,
    -2.9200865252098e-07,
    8.1781119355525e-07,
];

fn polyval(c: &[f64; 7], x: f64) -> f64 {
    c.iter().fold(0.0, |acc, &ci| acc * x + ci)
}

/// The G.8263 model's parameters at load `l` percent: (α, β seconds, ρ seconds).
#[must_use]
pub fn g8263_parameters(l: f64) -> (f64, f64, f64) {
    let l = l.clamp(0.0, 100.0);
    if l > 99.0 {
        (20.132036140218, 2.96693980102245e-06, 5.59439990063761e-05)
    } else {
        (polyval(&ALPHA, l), polyval(&BETA, l), polyval(&RHO, l))
    }
}

/// Flicker (1/f) noise from white noise through cascaded first-order ARMA sections. The fastest
/// pole is φ0 = 0.13; each further pole's distance from 1 shrinks by R = 2.5, and each zero sits
/// geometrically between two poles, so the response falls as 1/f (3 dB per octave in power) from
/// near the sampling rate down to about R^8 times lower: periods of ~7 s to over an hour at one
/// sample per second, which covers a 240-s load cycle.
#[derive(Clone, Debug)]
struct FlickerFilter {
    /// (pole, zero, previous input, previous output) per section.
    sections: [(f64, f64, f64, f64); 8],
}

impl FlickerFilter {
    fn new() -> Self {
        const PHI0: f64 = 0.13;
        const R: f64 = 2.5;
        let mut sections = [(0.0, 0.0, 0.0, 0.0); 8];
        for (i, s) in sections.iter_mut().enumerate() {
            let pole = 1.0 - (1.0 - PHI0) / R.powi(i as i32);
            let zero = 1.0 - (1.0 - PHI0) / R.powf(i as f64 - 0.5);
            *s = (pole, zero, 0.0, 0.0);
        }
        Self { sections }
    }

    fn next(&mut self, white: f64) -> f64 {
        let mut x = white;
        for (pole, zero, px, py) in &mut self.sections {
            let y = *pole * *py + x - *zero * *px;
            *px = x;
            *py = y;
            x = y;
        }
        x
    }
}

/// The per-direction state a PDV model needs (the flicker load process).
#[derive(Clone, Debug, Default)]
pub struct PdvState {
    flicker: Option<FlickerFilter>,
    /// The cycle held: its index, start and per-second loads.
    cycle: Option<Cycle>,
}

/// One 240-s load cycle of the flicker process.
#[derive(Clone, Debug)]
struct Cycle {
    index: i128,
    start: Timestamp,
    /// Per second: the load (percent) and the delay distribution it gives (α, β made into a
    /// Gamma once, not per packet) with ρ.
    seconds: Vec<(f64, Option<Gamma<f64>>, f64)>,
    /// The second last looked up: where it starts and ends, and its index. A link's packets
    /// come many to a second; finding the second again cost a 64-bit division per packet.
    last: Option<(Timestamp, Timestamp, usize)>,
}

/// The G.8263 delay distribution at load `l`: Gamma(α, β) and ρ, seconds.
fn g8263_distribution(l: f64) -> (Option<Gamma<f64>>, f64) {
    let (alpha, beta, rho) = g8263_parameters(l);
    (Gamma::new(alpha, beta).ok(), rho)
}

impl PdvState {
    /// The flicker load's second at true time `t` (load percent, its delay distribution),
    /// generating cycles forward as needed. Times before the current cycle read the current
    /// cycle's first second.
    fn flicker_second(
        &mut self,
        t: Timestamp,
        rng: &mut SimRng,
    ) -> &(f64, Option<Gamma<f64>>, f64) {
        let within = self.cycle.as_mut().and_then(|c| {
            // Within the second last looked up (nearly always): no division at all.
            if let Some((from, to, second)) = c.last
                && from <= t
                && t < to
            {
                return Some(second);
            }
            // Within the cycle held: no 128-bit division.
            let into = t - c.start;
            (into >= Duration::ZERO && into < G8263_CYCLE).then(|| {
                let second = ((into.ticks() >> 32) as i64 / 1_000_000_000) as usize;
                let second = second.min(LOAD_SAMPLES - 1);
                let from = c.start + Duration::from_secs(second as i64);
                c.last = Some((from, from + Duration::SECOND, second));
                second
            })
        });
        if let Some(second) = within {
            let c = self.cycle.as_ref().expect("matched above");
            return &c.seconds[second];
        }
        let idx = t.ticks().div_euclid(G8263_CYCLE.ticks());
        let current = self.cycle.as_ref().map(|c| c.index);
        if current.is_none_or(|c| idx > c) {
            let filter = self.flicker.get_or_insert_with(FlickerFilter::new);
            let mut loads: Vec<f64> = (0..LOAD_SAMPLES)
                .map(|_| filter.next(gaussian(rng)))
                .collect();
            let (lo, hi) = loads
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            let span = (hi - lo).max(f64::MIN_POSITIVE);
            for l in &mut loads {
                *l = 100.0 * (*l - lo) / span;
            }
            let seconds = loads
                .into_iter()
                .map(|l| {
                    let (g, rho) = g8263_distribution(l);
                    (l, g, rho)
                })
                .collect();
            self.cycle = Some(Cycle {
                index: idx,
                start: Timestamp::from_ticks(idx * G8263_CYCLE.ticks()),
                seconds,
                last: None,
            });
        }
        let c = self.cycle.as_ref().expect("cycle generated above");
        if idx < c.index {
            return &c.seconds[0];
        }
        let offset = t.ticks().rem_euclid(G8263_CYCLE.ticks()) / Duration::SECOND.ticks();
        &c.seconds[(offset as usize).min(LOAD_SAMPLES - 1)]
    }
}

impl PdvModel {
    /// One sample of excess delay for a packet entering the link at true time `t`.
    pub fn sample(&self, t: Timestamp, state: &mut PdvState, rng: &mut SimRng) -> Duration {
        match *self {
            Self::Constant => Duration::ZERO,
            Self::Uniform { max } => {
                Duration::from_nanos_f64(max.as_nanos_f64() * rng.random::<f64>())
            }
            Self::Exponential { mean } => {
                let e: f64 = Exp::new(1.0).map_or(0.0, |d| d.sample(rng));
                Duration::from_nanos_f64(mean.as_nanos_f64() * e)
            }
            Self::Gamma { shape, scale } => {
                let g = Gamma::new(shape, 1.0).map_or(0.0, |d| d.sample(rng));
                Duration::from_nanos_f64(scale.as_nanos_f64() * g)
            }
            Self::Queueing {
                hops,
                load,
                service,
            } => {
                let load = load.clamp(0.0, 0.999);
                let mean_ns = service.as_nanos_f64() / (1.0 - load);
                let mut total = 0.0;
                for _ in 0..hops {
                    if rng.random::<f64>() < load {
                        total += mean_ns * Exp::new(1.0).map_or(0.0, |d| d.sample(rng));
                    }
                }
                Duration::from_nanos_f64(total)
            }
            Self::G8263 { load } => {
                let (gamma, rho) = match load {
                    G8263Load::Fixed(l) => g8263_distribution(l),
                    G8263Load::Flicker => {
                        let (_, g, rho) = state.flicker_second(t, rng);
                        (*g, *rho)
                    }
                };
                let g = gamma.map_or(0.0, |d| d.sample(rng));
                G8263_FIXED_DELAY + Duration::from_secs_f64(g + rho.max(0.0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn rng() -> SimRng {
        stream(11, Stream::LinkDirection, 0, 0)
    }

    /// Mean and mean-of-min-of-128 excess delay (above ρ + 57.32 µs) at a fixed load, µs.
    fn g8263_stats(load: f64) -> (f64, f64) {
        let m = PdvModel::G8263 {
            load: G8263Load::Fixed(load),
        };
        let (_, _, rho) = g8263_parameters(load);
        let base = G8263_FIXED_DELAY.as_nanos_f64() / 1e3 + rho * 1e6;
        let mut st = PdvState::default();
        let mut r = rng();
        let windows = 2_000;
        let (mut sum, mut min_sum) = (0.0, 0.0);
        for _ in 0..windows {
            let mut min = f64::MAX;
            for _ in 0..128 {
                let d = m.sample(Timestamp::EPOCH, &mut st, &mut r).as_nanos_f64() / 1e3 - base;
                sum += d;
                min = min.min(d);
            }
            min_sum += min;
        }
        (sum / (windows * 128) as f64, min_sum / windows as f64)
    }

    #[test]
    fn g8263_matches_reference_figures_within_ten_percent() {
        // ptp-wire.md: mean excess ≈ 11/25/39 µs, min of 128 ≈ 0.9/6.6/17 µs above the floor.
        for (load, mean_ref, min_ref) in [(20.0, 11.0, 0.9), (50.0, 25.0, 6.6), (80.0, 39.0, 17.0)]
        {
            let (mean, min) = g8263_stats(load);
            assert!(
                (mean / mean_ref - 1.0).abs() < 0.10,
                "load {load}: mean {mean:.2} µs"
            );
            assert!(
                (min / min_ref - 1.0).abs() < 0.10,
                "load {load}: min-of-128 {min:.2} µs"
            );
        }
    }

    #[test]
    fn flicker_load_spans_the_range_each_cycle() {
        let mut st = PdvState::default();
        let mut r = rng();
        let loads: Vec<f64> = (0..240)
            .map(|s| st.flicker_second(Timestamp::from_secs(s), &mut r).0)
            .collect();
        let lo = loads.iter().copied().fold(f64::MAX, f64::min);
        let hi = loads.iter().copied().fold(f64::MIN, f64::max);
        assert!(lo.abs() < 1e-9 && (hi - 100.0).abs() < 1e-9);
        // The next cycle is new.
        assert_ne!(
            st.flicker_second(Timestamp::from_secs(241), &mut r).0,
            loads[1]
        );
    }

    #[test]
    fn flicker_filter_is_between_white_and_random_walk() {
        // var(x[t+k] − x[t]) is flat in k for white noise, ∝ k for a random walk, and grows
        // about logarithmically for flicker noise.
        let mut f = FlickerFilter::new();
        let mut r = rng();
        let x: Vec<f64> = (0..400_000).map(|_| f.next(gaussian(&mut r))).collect();
        let var_at = |k: usize| {
            let d: Vec<f64> = x.windows(k + 1).map(|w| w[k] - w[0]).collect();
            d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64
        };
        let (v1, v8, v64) = (var_at(1), var_at(8), var_at(64));
        let (r1, r2) = (v8 / v1, v64 / v8);
        assert!(r1 > 1.5 && r1 < 8.0 * 0.5, "v8/v1 = {r1}");
        assert!(r2 > 1.2 && r2 < 8.0 * 0.5, "v64/v8 = {r2}");
    }

    #[test]
    fn queueing_means() {
        let m = PdvModel::Queueing {
            hops: 5,
            load: 0.8,
            service: Duration::from_micros(12),
        };
        let mut st = PdvState::default();
        let mut r = rng();
        let n = 100_000;
        let mean = (0..n)
            .map(|_| m.sample(Timestamp::EPOCH, &mut st, &mut r).as_nanos_f64())
            .sum::<f64>()
            / n as f64;
        // 5 hops × 0.8 × 12 µs / 0.2 = 240 µs.
        assert!((mean / 240_000.0 - 1.0).abs() < 0.02, "{mean}");
    }

    #[test]
    fn simple_models() {
        let mut st = PdvState::default();
        let mut r = rng();
        let n = 50_000;
        let mean = |m: PdvModel, st: &mut PdvState, r: &mut SimRng| {
            (0..n)
                .map(|_| m.sample(Timestamp::EPOCH, st, r).as_nanos_f64())
                .sum::<f64>()
                / n as f64
        };
        let us = Duration::from_micros(1);
        assert_eq!(mean(PdvModel::Constant, &mut st, &mut r), 0.0);
        assert!((mean(PdvModel::Uniform { max: us }, &mut st, &mut r) - 500.0).abs() < 10.0);
        assert!((mean(PdvModel::Exponential { mean: us }, &mut st, &mut r) - 1000.0).abs() < 20.0);
        let g = PdvModel::Gamma {
            shape: 2.0,
            scale: us,
        };
        assert!((mean(g, &mut st, &mut r) - 2000.0).abs() < 40.0);
    }
}
