//! Least-squares line fitting, shared by the NTP discipline's frequency measurement and the PTP
//! selection servo's acquisition.

/// A least-squares line through (t, y) points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Line {
    /// dy/dt.
    pub(crate) slope: f64,
    /// The slope's standard error.
    pub(crate) slope_se: f64,
    /// The residuals' standard deviation (n − 2 degrees of freedom).
    pub(crate) residual_sd: f64,
    mean_t: f64,
    mean_y: f64,
    sxx: f64,
}

impl Line {
    /// The line's value at `t`.
    pub(crate) fn at(&self, t: f64) -> f64 {
        self.mean_y + self.slope * (t - self.mean_t)
    }

    /// The slope's standard error had the points' noise been `sd`.
    pub(crate) fn slope_se_for(&self, sd: f64) -> f64 {
        sd / self.sxx.sqrt()
    }
}

/// The least-squares line of `points`; `None` for fewer than four points or when all t are
/// equal.
pub(crate) fn fit(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len() as f64;
    if points.len() < 4 {
        return None;
    }
    let (mt, my) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, y)| (a + t / n, b + y / n));
    let sxx: f64 = points.iter().map(|(t, _)| (t - mt).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let b = points.iter().map(|(t, y)| (t - mt) * (y - my)).sum::<f64>() / sxx;
    let res: f64 = points
        .iter()
        .map(|(t, y)| (y - my - b * (t - mt)).powi(2))
        .sum();
    let var = res / (n - 2.0);
    Some(Line {
        slope: b,
        slope_se: (var / sxx).sqrt(),
        residual_sd: var.sqrt(),
        mean_t: mt,
        mean_y: my,
        sxx,
    })
}

/// Least-squares slope of (t, y) points and its standard error.
pub(crate) fn slope(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    fit(points).map(|l| (l.slope, l.slope_se))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_fits_a_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|t| (t as f64, 3.0 * t as f64 + 1.0)).collect();
        let (b, se) = slope(&pts).unwrap();
        assert!((b - 3.0).abs() < 1e-12 && se < 1e-9);
        assert_eq!(slope(&pts[..3]), None);
        let l = fit(&pts).unwrap();
        assert!((l.at(20.0) - 61.0).abs() < 1e-9 && l.residual_sd < 1e-9);
    }
}
