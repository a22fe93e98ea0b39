//! Time-error metrics from true time: TE(t), |TE| percentiles, frequency error, and MTIE and TDEV
//! as ITU-T G.810 defines them.

use meridian_proto::time::{Duration, Timestamp};

/// One sample of a node's clock against true time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeSample {
    /// True time of the sample.
    pub at: Timestamp,
    /// Clock minus true time.
    pub te: Duration,
    /// Fractional frequency error of the disciplined clock, ppb.
    pub freq_error_ppb: f64,
    /// Whether the node was running.
    pub up: bool,
}

/// The `p`-th percentile (0–100) by nearest rank; `None` for no data.
#[must_use]
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    Some(v[rank.clamp(1, v.len()) - 1])
}

/// Summary of |TE| after a warm-up, nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeSummary {
    /// Samples counted.
    pub count: usize,
    /// Mean TE (signed), ns.
    pub mean_ns: f64,
    /// Median |TE|, ns.
    pub p50_abs_ns: f64,
    /// 95th percentile |TE|, ns.
    pub p95_abs_ns: f64,
    /// 99th percentile |TE|, ns.
    pub p99_abs_ns: f64,
    /// Largest |TE|, ns.
    pub max_abs_ns: f64,
}

/// |TE| statistics over samples taken at or after `warmup_end` while the node was up.
#[must_use]
pub fn summarize(samples: &[TeSample], warmup_end: Timestamp) -> Option<TeSummary> {
    let te: Vec<f64> = samples
        .iter()
        .filter(|s| s.at >= warmup_end && s.up)
        .map(|s| s.te.as_nanos_f64())
        .collect();
    if te.is_empty() {
        return None;
    }
    let abs: Vec<f64> = te.iter().map(|x| x.abs()).collect();
    Some(TeSummary {
        count: te.len(),
        mean_ns: te.iter().sum::<f64>() / te.len() as f64,
        p50_abs_ns: percentile(&abs, 50.0)?,
        p95_abs_ns: percentile(&abs, 95.0)?,
        p99_abs_ns: percentile(&abs, 99.0)?,
        max_abs_ns: abs.iter().copied().fold(0.0, f64::max),
    })
}

/// MTIE(n·τ0) of phase samples `x` (any unit) taken every τ0: the largest peak-to-peak phase
/// excursion within any window of `n` intervals (n + 1 samples). O(len) with monotonic deques.
#[must_use]
pub fn mtie(x: &[f64], n: usize) -> Option<f64> {
    if n == 0 || x.len() < n + 1 {
        return None;
    }
    use std::collections::VecDeque;
    let (mut maxq, mut minq) = (VecDeque::<usize>::new(), VecDeque::<usize>::new());
    let mut best: f64 = 0.0;
    for i in 0..x.len() {
        while maxq.back().is_some_and(|&j| x[j] <= x[i]) {
            maxq.pop_back();
        }
        maxq.push_back(i);
        while minq.back().is_some_and(|&j| x[j] >= x[i]) {
            minq.pop_back();
        }
        minq.push_back(i);
        if i >= n {
            let lo = i - n;
            while maxq.front().is_some_and(|&j| j < lo) {
                maxq.pop_front();
            }
            while minq.front().is_some_and(|&j| j < lo) {
                minq.pop_front();
            }
            best = best.max(x[maxq[0]] - x[minq[0]]);
        }
    }
    Some(best)
}

/// TDEV(n·τ0) of phase samples `x` taken every τ0 (G.810 Appendix II):
/// sqrt( 1/(6n²(N−3n+1)) · Σ_j [Σ_{i=j}^{j+n−1} (x_{i+2n} − 2x_{i+n} + x_i)]² ). O(len) with
/// prefix sums.
#[must_use]
pub fn tdev(x: &[f64], n: usize) -> Option<f64> {
    let len = x.len();
    if n == 0 || len < 3 * n + 1 {
        return None;
    }
    // Prefix sums so each inner sum is three differences.
    let mut prefix = Vec::with_capacity(len + 1);
    prefix.push(0.0);
    for v in x {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + v);
    }
    let window = |start: usize| prefix[start + n] - prefix[start];
    let terms = len - 3 * n + 1;
    let mut acc = 0.0;
    for j in 0..terms {
        let s = window(j + 2 * n) - 2.0 * window(j + n) + window(j);
        acc += s * s;
    }
    Some((acc / (6.0 * (n * n) as f64 * terms as f64)).sqrt())
}

/// Observation intervals for MTIE/TDEV curves: 1, 2, 5, 10, 20, 50, … samples, up to `max`.
#[must_use]
pub fn decade_steps(max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut base = 1;
    while base <= max {
        for m in [1, 2, 5] {
            if base * m <= max {
                out.push(base * m);
            }
        }
        base *= 10;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, gaussian, stream};

    #[test]
    fn mtie_of_pure_frequency_offset_is_y_tau() {
        // x(t) = y·t sampled every 1 s with y = 50 ppb: MTIE(τ) = y·τ exactly.
        let y = 50e-9;
        let x: Vec<f64> = (0..10_000).map(|i| y * i as f64).collect();
        for n in [1, 10, 100, 1_000] {
            let m = mtie(&x, n).unwrap();
            assert!((m - y * n as f64).abs() < 1e-15, "n={n}: {m}");
        }
        assert_eq!(mtie(&x, 10_000), None);
    }

    #[test]
    fn mtie_catches_a_single_excursion() {
        let mut x = vec![0.0; 100];
        x[50] = 3.0;
        x[52] = -1.0;
        assert_eq!(mtie(&x, 1), Some(3.0));
        assert_eq!(mtie(&x, 2), Some(4.0));
    }

    #[test]
    fn tdev_of_white_phase_noise_falls_as_inverse_sqrt_tau() {
        let mut r = stream(9, Stream::Engine, 0, 0);
        let x: Vec<f64> = (0..200_000).map(|_| gaussian(&mut r)).collect();
        // For white PM, TDEV(n) = σ / sqrt(n) (for n ≫ 1): each ×4 in τ halves TDEV.
        let t4 = tdev(&x, 4).unwrap();
        let t16 = tdev(&x, 16).unwrap();
        let t64 = tdev(&x, 64).unwrap();
        assert!((t4 / t16 - 2.0).abs() < 0.1, "{t4} {t16}");
        assert!((t16 / t64 - 2.0).abs() < 0.15, "{t16} {t64}");
        assert!((t16 - 1.0 / 4.0).abs() < 0.02, "{t16}");
        // A pure frequency offset has zero TDEV (second differences vanish).
        let lin: Vec<f64> = (0..1_000).map(|i| 1e-8 * i as f64).collect();
        assert!(tdev(&lin, 10).unwrap() < 1e-15);
    }

    #[test]
    fn percentiles_and_summary() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 100.0), Some(100.0));
        assert_eq!(percentile(&[], 50.0), None);
        let samples: Vec<TeSample> = (0..10)
            .map(|i| TeSample {
                at: Timestamp::from_secs(i),
                te: Duration::from_nanos(if i < 5 { 1_000 } else { -(i - 4) }),
                freq_error_ppb: 0.0,
                up: true,
            })
            .collect();
        let s = summarize(&samples, Timestamp::from_secs(5)).unwrap();
        assert_eq!(s.count, 5);
        assert_eq!(s.max_abs_ns, 5.0);
        assert_eq!(s.mean_ns, -3.0);
        assert_eq!(decade_steps(100), vec![1, 2, 5, 10, 20, 50, 100]);
    }
}
