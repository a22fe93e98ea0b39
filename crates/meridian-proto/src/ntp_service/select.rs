//! RFC 5905 system process: intersection (select the truechimers), cluster (prune outliers) and
//! combine.

/// A candidate for selection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Association index.
    pub index: usize,
    /// θ, s.
    pub offset: f64,
    /// Root distance λ, s.
    pub distance: f64,
    /// Stratum.
    pub stratum: u8,
    /// Peer jitter, s.
    pub jitter: f64,
    /// Configured as preferred.
    pub prefer: bool,
}

/// The fewest survivors the cluster step keeps.
const MINCLUSTER: usize = 3;
/// Merit weight of a stratum, s (MAXDIST in RFC 5905's sort key).
const STRATUM_WEIGHT: f64 = 1.0;

/// Marzullo-style intersection: the candidates whose correctness intervals [θ − λ, θ + λ] overlap
/// the interval a majority agrees on. Fewer than half may be falsetickers; with no majority,
/// nothing survives.
#[must_use]
pub fn intersect(candidates: &[Candidate]) -> Vec<Candidate> {
    let n = candidates.len();
    if n == 0 {
        return Vec::new();
    }
    // Endpoints: (value, type) with −1 lower, 0 midpoint, +1 upper.
    let mut ends: Vec<(f64, i32)> = candidates
        .iter()
        .flat_map(|c| {
            [
                (c.offset - c.distance, -1),
                (c.offset, 0),
                (c.offset + c.distance, 1),
            ]
        })
        .collect();
    ends.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut allow = 0;
    while 2 * allow < n {
        let need = (n - allow) as i32;
        let (mut found, mut chime) = (0usize, 0i32);
        let mut low = f64::INFINITY;
        for &(v, t) in &ends {
            chime -= t;
            if chime >= need {
                low = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        chime = 0;
        let mut high = f64::NEG_INFINITY;
        for &(v, t) in ends.iter().rev() {
            chime += t;
            if chime >= need {
                high = v;
                break;
            }
            if t == 0 {
                found += 1;
            }
        }
        if found <= allow && low < high {
            return candidates
                .iter()
                .copied()
                .filter(|c| c.offset - c.distance <= high && c.offset + c.distance >= low)
                .collect();
        }
        allow += 1;
    }
    Vec::new()
}

/// Sorts survivors by merit (stratum, then distance) and removes the one with the largest
/// selection jitter while that exceeds every survivor's own jitter and more than three remain.
#[must_use]
pub fn cluster(mut survivors: Vec<Candidate>) -> Vec<Candidate> {
    let merit = |c: &Candidate| c.stratum as f64 * STRATUM_WEIGHT + c.distance;
    survivors.sort_by(|a, b| merit(a).total_cmp(&merit(b)));
    while survivors.len() > MINCLUSTER {
        let n = survivors.len();
        let selection_jitter = |i: usize| {
            let oi = survivors[i].offset;
            (survivors
                .iter()
                .map(|c| (c.offset - oi).powi(2))
                .sum::<f64>()
                / (n - 1) as f64)
                .sqrt()
        };
        let (worst, worst_jitter) = (0..n)
            .map(|i| (i, selection_jitter(i)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        let min_peer_jitter = survivors
            .iter()
            .map(|c| c.jitter)
            .fold(f64::INFINITY, f64::min);
        if worst_jitter <= min_peer_jitter {
            break;
        }
        survivors.remove(worst);
    }
    survivors
}

/// The combined offset (weighted by 1/λ) and the system jitter, with the system peer: a
/// preferred survivor if any; else the current system peer (`current`, an association index)
/// while it survives at the best survivor's stratum — survivors of equal merit trade places
/// with every sample's noise, and each change of reference costs the clock (RFC 5905's
/// clock-hop hysteresis, chrony's reluctance to reselect); else the first by merit.
#[must_use]
pub fn combine(survivors: &[Candidate], current: Option<usize>) -> Option<(Candidate, f64, f64)> {
    let best = survivors.first()?;
    let keep = current.and_then(|i| {
        survivors
            .iter()
            .find(|c| c.index == i && c.stratum <= best.stratum)
    });
    let peer = survivors
        .iter()
        .find(|c| c.prefer)
        .or(keep)
        .or(survivors.first())
        .copied()?;
    let weights: f64 = survivors.iter().map(|c| 1.0 / c.distance.max(1e-9)).sum();
    let offset = survivors
        .iter()
        .map(|c| c.offset / c.distance.max(1e-9))
        .sum::<f64>()
        / weights;
    let selection = (survivors
        .iter()
        .map(|c| (c.offset - peer.offset).powi(2) / c.distance.max(1e-9))
        .sum::<f64>()
        / weights)
        .sqrt();
    let jitter = (selection.powi(2) + peer.jitter.powi(2)).sqrt();
    Some((peer, offset, jitter))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(index: usize, offset: f64, distance: f64) -> Candidate {
        Candidate {
            index,
            offset,
            distance,
            stratum: 2,
            jitter: 0.0001,
            prefer: false,
        }
    }

    #[test]
    fn one_falseticker_of_four_is_rejected() {
        let cands = [
            c(0, 0.001, 0.01),
            c(1, 0.002, 0.01),
            c(2, -0.001, 0.01),
            c(3, 0.050, 0.01),
        ];
        let t: Vec<usize> = intersect(&cands).iter().map(|c| c.index).collect();
        assert_eq!(t, vec![0, 1, 2]);
    }

    #[test]
    fn no_majority_no_truechimers() {
        let cands = [c(0, 0.0, 0.001), c(1, 1.0, 0.001)];
        assert!(intersect(&cands).is_empty());
        assert_eq!(intersect(&[c(0, 0.3, 0.01)]).len(), 1);
    }

    #[test]
    fn cluster_prunes_the_outlier_and_combine_weights_by_distance() {
        let s = vec![
            c(0, 0.0, 0.01),
            c(1, 0.0002, 0.01),
            c(2, -0.0001, 0.01),
            c(3, 0.004, 0.02),
        ];
        let kept = cluster(s);
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|c| c.index != 3));
        let (peer, offset, jitter) = combine(&[c(0, 0.0, 0.01), c(1, 0.003, 0.02)], None).unwrap();
        assert_eq!(peer.index, 0);
        assert!((offset - 0.001).abs() < 1e-12, "{offset}");
        assert!(jitter > 0.0);
    }

    #[test]
    fn a_preferred_survivor_is_the_system_peer() {
        // `preference`: chosen over a better one by merit and over the current system peer.
        let mut s = [c(0, 0.0, 0.010), c(1, 0.0001, 0.011)];
        s[1].prefer = true;
        assert_eq!(combine(&s, None).unwrap().0.index, 1);
        assert_eq!(combine(&s, Some(0)).unwrap().0.index, 1);
    }

    #[test]
    fn the_system_peer_is_kept_while_it_survives_at_the_best_stratum() {
        let s = [c(0, 0.0, 0.010), c(1, 0.0001, 0.011)];
        // Survivor 1 is second by merit, but it is the system peer: no hop.
        assert_eq!(combine(&s, Some(1)).unwrap().0.index, 1);
        assert_eq!(combine(&s, None).unwrap().0.index, 0);
        // Gone from the survivors, or beaten by a lower stratum: the best takes over.
        assert_eq!(combine(&s, Some(7)).unwrap().0.index, 0);
        let mut better = s;
        better[0].stratum = 1;
        assert_eq!(combine(&better, Some(1)).unwrap().0.index, 0);
    }
}
