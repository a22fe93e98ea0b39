//! Seeding: one master seed, and an independent stream for every node, link direction and purpose,
//! derived from stable ids so adding a node never changes the numbers another node sees.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The generator used everywhere in the simulator.
pub type SimRng = Xoshiro256PlusPlus;

/// What a stream is for; part of the derivation so two purposes of one entity never share numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// A node's oscillator wander.
    Oscillator,
    /// A node's timestamp noise.
    TimestampNoise,
    /// The seed a node's engine gets at each (re)start.
    Engine,
    /// One direction of a link: PDV, loss, reordering.
    LinkDirection,
}

/// SplitMix64's finaliser: a bijective mix with good avalanche.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of stream `kind` of entity `id` (and `sub`, e.g. a direction or an incarnation).
#[must_use]
pub fn derive_seed(master: u64, kind: Stream, id: u64, sub: u64) -> u64 {
    let k = kind as u64 + 1;
    mix(mix(mix(master ^ mix(k)) ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ sub)
}

/// A generator for stream `kind` of entity `id`.
#[must_use]
pub fn stream(master: u64, kind: Stream, id: u64, sub: u64) -> SimRng {
    SimRng::seed_from_u64(derive_seed(master, kind, id, sub))
}

/// A standard normal sample (the ziggurat method of `rand_distr`'s `StandardNormal`: a table
/// look-up and one 64-bit draw nearly always, where Box–Muller took a logarithm, a square root
/// and a cosine — a tenth of a simulation's time went to timestamp noise).
pub fn gaussian(rng: &mut SimRng) -> f64 {
    use rand::distr::Distribution;
    rand_distr::StandardNormal.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_every_component() {
        let base = derive_seed(1, Stream::Oscillator, 2, 0);
        assert_ne!(base, derive_seed(2, Stream::Oscillator, 2, 0));
        assert_ne!(base, derive_seed(1, Stream::TimestampNoise, 2, 0));
        assert_ne!(base, derive_seed(1, Stream::Oscillator, 3, 0));
        assert_ne!(base, derive_seed(1, Stream::Oscillator, 2, 1));
        assert_eq!(base, derive_seed(1, Stream::Oscillator, 2, 0));
    }

    #[test]
    fn gaussian_moments() {
        let mut rng = stream(7, Stream::Engine, 0, 0);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| gaussian(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
    }
}
