//! A seeded generator for engines' small random choices (back-off jitter, NTP transmit
//! timestamps). SplitMix64: tiny, fast, deterministic; not for cryptography.

/// A SplitMix64 generator seeded by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineRng(u64);

impl EngineRng {
    /// A generator from `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
