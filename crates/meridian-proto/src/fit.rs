//! Least-squares line fitting, shared by the NTP discipline's frequency measurement and the PTP
//! selection servo's acquisition.

/// Least-squares slope of (t, y) points and its standard error; `None` for fewer than four
/// points or when all t are equal.
pub(crate) fn slope(points: &[(f64, f64)]) -> Option<(f64, f64)> {
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
    Some((b, (res / (n - 2.0) / sxx).sqrt()))
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
    }
}
