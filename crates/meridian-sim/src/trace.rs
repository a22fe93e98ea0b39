//! A running FNV-1a hash over everything the simulator does, so two runs can be compared whole.

use meridian_proto::time::Timestamp;

/// FNV-1a, 64 bit: tiny, stable across Rust releases (unlike `DefaultHasher`), good enough to
/// detect any divergence between two runs.
#[derive(Clone, Copy, Debug)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        Self(0xCBF2_9CE4_8422_2325)
    }
}

impl TraceHash {
    /// Mixes in raw bytes.
    pub fn bytes(&mut self, data: &[u8]) {
        for &b in data {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01B3);
        }
    }

    /// Mixes in one event: a tag, the true time, an entity index and its data.
    pub fn event(&mut self, tag: u8, at: Timestamp, entity: usize, data: &[u8]) {
        self.bytes(&[tag]);
        self.bytes(&at.ticks().to_le_bytes());
        self.bytes(&(entity as u64).to_le_bytes());
        self.bytes(data);
    }

    /// The hash so far.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.0
    }
}
