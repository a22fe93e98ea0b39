//! A stable, time-bounded random runner for the targets (what CI runs; libFuzzer in `fuzz/` is
//! the coverage-guided one for long runs).

use std::time::{Duration, Instant};

/// A fuzz target.
pub type Target = fn(&[u8]);

/// The targets by name.
pub const TARGETS: [(&str, Target); 4] = [
    ("device", crate::device::device),
    ("vrp_lines", crate::vrp::lines),
    ("config_file", crate::vrp::config_file),
    ("license_file", crate::vrp::license_file),
];

/// xorshift64*: a deterministic stream of random words from `seed`.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator; a zero seed is replaced.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One input: random bytes, or for text targets, random lines of command-like words.
#[must_use]
pub fn input(rng: &mut Rng, text: bool) -> Vec<u8> {
    let len = (rng.next_u64() % 2048) as usize;
    if !text {
        return (0..len).map(|_| rng.next_u64() as u8).collect();
    }
    const WORDS: &[&str] = &[
        "ntp-service",
        "ptp-adaptive",
        "unicast-server",
        "unicast-peer",
        "10.0.1.31",
        "undo",
        "acl",
        "number",
        "2001",
        "rule",
        "5",
        "permit",
        "deny",
        "source",
        "0.0.0.255",
        "interface",
        "GigabitEthernet0/1/0",
        "ip",
        "address",
        "255.255.255.0",
        "enable",
        "device-type",
        "client",
        "server",
        "authentication-keyid",
        "1",
        "authentication-mode",
        "md5",
        "hmac-sha256",
        "cipher",
        "key",
        "minpoll",
        "maxpoll",
        "iburst",
        "acr",
        "two-way",
        "one-way",
        "unicast-negotiate",
        "quit",
        "\u{85}",
        "clock-synchronization",
        "#",
    ];
    let mut out = String::new();
    while out.len() < len {
        let w = rng.next_u64();
        match w % 16 {
            0 => out.push('\n'),
            1 => out.push(char::from_u32((w >> 8) as u32 % 0x3000).unwrap_or('?')),
            _ => out.push_str(WORDS[(w >> 8) as usize % WORDS.len()]),
        }
        out.push(' ');
    }
    out.into_bytes()
}

/// Runs `target` on random inputs from `seed` for `time`; returns the number of inputs.
/// A panic names the seed and the input's index so it can be replayed.
#[allow(clippy::disallowed_methods)] // a wall-clock bound, not protocol time
pub fn run(target: Target, text: bool, seed: u64, time: Duration) -> u64 {
    let start = Instant::now();
    let mut rng = Rng::new(seed);
    let mut n = 0;
    while start.elapsed() < time {
        let data = input(&mut rng, text);
        target(&data);
        n += 1;
    }
    n
}
