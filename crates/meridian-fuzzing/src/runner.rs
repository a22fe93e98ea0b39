//! A stable, time-bounded random runner for the targets (what CI runs; libFuzzer in `fuzz/` is
//! the coverage-guided one for long runs).

/// A fuzz target.
pub type Target = fn(&[u8]);

/// What a target's random inputs look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Random bytes (the engine target reads them as a script).
    Bytes,
    /// Lines of command-like words.
    Lines,
    /// `topology.toml` tables with extreme values.
    Topology,
}

/// The targets by name.
pub const TARGETS: [(&str, Target, Kind); 5] = [
    ("device", crate::device::device, Kind::Bytes),
    ("vrp_lines", crate::vrp::lines, Kind::Lines),
    ("config_file", crate::vrp::config_file, Kind::Lines),
    ("license_file", crate::vrp::license_file, Kind::Lines),
    ("topology", crate::lab::topology, Kind::Topology),
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

/// One input of `kind`.
#[must_use]
pub fn input(rng: &mut Rng, kind: Kind) -> Vec<u8> {
    let len = (rng.next_u64() % 2048) as usize;
    match kind {
        Kind::Bytes => (0..len).map(|_| rng.next_u64() as u8).collect(),
        Kind::Lines => lines(rng, len),
        Kind::Topology => topology(rng),
    }
}

/// A topology: a short run, then random tables whose fields take ordinary and extreme values.
fn topology(rng: &mut Rng) -> Vec<u8> {
    const ENDS: &[&str] = &[
        "\"Grandmaster\"",
        "\"Boundary:GigabitEthernet0/1/0\"",
        "\"Boundary:GigabitEthernet0/1/1\"",
        "\"Boundary\"",
        "\"Client\"",
        "\"Client:LoopBack0\"",
        "\"lan\"",
        "\"client\"",
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "1",
        "-1",
        "0.5",
        "0.999",
        "1.5",
        "12",
        "64",
        "65",
        "100",
        "150",
        "1e6",
        "1e7",
        "1e9",
        "1e12",
        "1e20",
        "-1e9",
        "4e9",
        "4000000000",
        "nan",
        "inf",
        "-inf",
        "1e-300",
    ];
    const TABLES: &[(&str, &[&str])] = &[
        (
            "[devices.Client]",
            &["phase_us", "ppb", "wander_ppb", "noise_ns"],
        ),
        ("[devices.Boundary]", &["phase_us", "ppb", "noise_ns"]),
        (
            "[[links]]",
            &[
                "a",
                "b",
                "delay_us",
                "asymmetry_us",
                "loss",
                "pdv",
                "pdv_ba",
            ],
        ),
        ("[[failures]]", &["at", "link", "device", "up"]),
        ("[[display]]", &["device", "command", "at"]),
    ];
    const PDVS: &[&str] = &[
        "constant",
        "uniform",
        "exponential",
        "gamma",
        "queueing",
        "g8263",
    ];
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let mut out = format!("seed = {}\nduration = {}\n", pick(1000), pick(25));
    if pick(2) == 0 {
        out += "segments = [\"lan\"]\n";
    }
    for _ in 0..pick(8) {
        let (header, fields) = TABLES[pick(TABLES.len())];
        out += header;
        out.push('\n');
        // Each field at most once (a repeated key is a parse error that stops everything).
        for &field in fields {
            if pick(3) == 0 {
                continue;
            }
            let number = NUMBERS[pick(NUMBERS.len())];
            let value = match field {
                "a" | "b" | "device" => ENDS[pick(ENDS.len())].to_string(),
                "command" => "\"display ptp-adaptive all\"".into(),
                "up" => "true".into(),
                "pdv" | "pdv_ba" => {
                    let other = NUMBERS[pick(NUMBERS.len())];
                    let hops = ["0", "3", "64", "65", "4000000000", "-1"][pick(6)];
                    let model = PDVS[pick(PDVS.len())];
                    let params = match model {
                        "uniform" => format!(", max_us = {number}"),
                        "exponential" => format!(", mean_us = {number}"),
                        "gamma" => format!(", shape = {number}, scale_us = {other}"),
                        "queueing" => {
                            format!(", hops = {hops}, load = {number}, service_us = {other}")
                        }
                        "g8263" if pick(2) == 0 => format!(", load = {number}"),
                        _ => String::new(),
                    };
                    format!("{{ model = \"{model}\"{params} }}")
                }
                _ => number.to_string(),
            };
            out += &format!("{field} = {value}\n");
        }
    }
    // Most inputs link every device, so they get past the checks into a run.
    if pick(4) != 0 {
        out += "[[links]]\na = \"Grandmaster\"\nb = \"Boundary:GigabitEthernet0/1/0\"\n";
        out += "[[links]]\na = \"Boundary:GigabitEthernet0/1/1\"\nb = \"Client\"\n";
    }
    out.into_bytes()
}

/// Random lines of command-like words, about `len` bytes.
fn lines(rng: &mut Rng, len: usize) -> Vec<u8> {
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
