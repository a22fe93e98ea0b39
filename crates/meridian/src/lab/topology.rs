//! `topology.toml`: the simulated network of a lab directory. Documented in `docs/lab.md`.

use serde::Deserialize;

/// The whole topology file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Topology {
    /// Master seed (overridden by `--seed`).
    #[serde(default = "one")]
    pub(crate) seed: u64,
    /// Simulated seconds (overridden by `--duration`).
    #[serde(default = "hour")]
    pub(crate) duration: i64,
    /// Statistics start here; default a quarter of the run.
    pub(crate) warmup: Option<i64>,
    /// LAN segments by name.
    #[serde(default)]
    pub(crate) segments: Vec<String>,
    /// Per-device oscillators; devices not listed get a perfect one with 1 µs timestamps.
    #[serde(default)]
    pub(crate) devices: std::collections::BTreeMap<String, Oscillator>,
    /// Links.
    #[serde(default)]
    pub(crate) links: Vec<Link>,
    /// Scheduled failures.
    #[serde(default)]
    pub(crate) failures: Vec<Failure>,
    /// Displays to print.
    #[serde(default)]
    pub(crate) display: Vec<Display>,
}

fn one() -> u64 {
    1
}

fn hour() -> i64 {
    3600
}

/// A device's oscillator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Oscillator {
    /// Initial phase error, µs.
    #[serde(default)]
    pub(crate) phase_us: f64,
    /// Frequency offset, ppb.
    #[serde(default)]
    pub(crate) ppb: f64,
    /// Random-walk frequency wander, ppb per √s.
    #[serde(default)]
    pub(crate) wander_ppb: f64,
    /// Timestamp noise σ, ns (default 1000: software timestamping).
    pub(crate) noise_ns: Option<f64>,
}

/// A link between two endpoints: `"Device"`, `"Device:Interface"` or a segment name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Link {
    pub(crate) a: String,
    pub(crate) b: String,
    /// One-way floor delay, µs.
    #[serde(default = "default_delay")]
    pub(crate) delay_us: f64,
    /// Extra delay a→b over b→a, µs.
    #[serde(default)]
    pub(crate) asymmetry_us: f64,
    /// PDV, both directions unless `pdv_ba` is given.
    #[serde(default)]
    pub(crate) pdv: Pdv,
    /// PDV of b→a.
    pub(crate) pdv_ba: Option<Pdv>,
    /// Loss probability per packet.
    #[serde(default)]
    pub(crate) loss: f64,
}

fn default_delay() -> f64 {
    25.0
}

/// A PDV model.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) enum Pdv {
    /// None.
    #[default]
    Constant,
    /// Uniform in [0, max].
    Uniform { max_us: f64 },
    /// Exponential with this mean.
    Exponential { mean_us: f64 },
    /// Gamma.
    Gamma { shape: f64, scale_us: f64 },
    /// Per-hop queueing.
    Queueing {
        hops: u32,
        load: f64,
        service_us: f64,
    },
    /// G.8263 Amd.2 at a fixed load (percent) or with the flicker process (`load` absent).
    G8263 { load: Option<f64> },
}

/// A scheduled failure or repair.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Failure {
    /// When, seconds.
    pub(crate) at: i64,
    /// A link, by its index in `links`.
    pub(crate) link: Option<usize>,
    /// A device, by name.
    pub(crate) device: Option<String>,
    /// Up (repair) or down (failure).
    #[serde(default)]
    pub(crate) up: bool,
}

/// A display command to print.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Display {
    /// The device.
    pub(crate) device: String,
    /// The command, as typed on the device.
    pub(crate) command: String,
    /// When, seconds (default: the end of the run).
    pub(crate) at: Option<i64>,
}
