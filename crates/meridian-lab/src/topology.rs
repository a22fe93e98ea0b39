//! `topology.toml`: the simulated network of a lab directory (documented in `docs/lab.md`).
//!
//! Every number is range-checked as it is read (a typed newtype per kind of quantity), so a
//! NaN delay, a loss of 1.5 or a queue of four billion hops is an error at its line, never a
//! run that silently means something else or never ends.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use crate::error::LabError;

/// The longest run a topology may ask for, seconds (about 115 days).
pub const MAX_SECONDS: i64 = 10_000_000;

/// Declares a float quantity read from the file, checked by `$ok`.
macro_rules! quantity {
    ($(#[$m:meta])* $name:ident, $ok:expr, $expect:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
        #[serde(try_from = "f64")]
        pub struct $name(pub f64);

        impl TryFrom<f64> for $name {
            type Error = String;
            fn try_from(v: f64) -> Result<Self, String> {
                let ok: fn(f64) -> bool = $ok;
                if v.is_finite() && ok(v) {
                    Ok(Self(v))
                } else {
                    Err(format!(concat!("expected ", $expect, ", found {}"), v))
                }
            }
        }
    };
}

quantity!(
    /// A delay or a PDV parameter, µs: 0 to 10 s.
    Micros,
    |v| (0.0..=1e7).contains(&v),
    "0 to 10000000 µs"
);
quantity!(
    /// A delay asymmetry, µs: ±10 s.
    SignedMicros,
    |v| (-1e7..=1e7).contains(&v),
    "-10000000 to 10000000 µs"
);
quantity!(
    /// An initial phase error, µs: ±1000 s.
    Phase,
    |v| (-1e9..=1e9).contains(&v),
    "-1000000000 to 1000000000 µs"
);
quantity!(
    /// A frequency offset, ppb: ±1000 ppm (a quartz is within ±100).
    Ppb,
    |v| (-1e6..=1e6).contains(&v),
    "-1000000 to 1000000 ppb"
);
quantity!(
    /// A random-walk frequency noise, ppb per √s.
    Wander,
    |v| (0.0..=1e3).contains(&v),
    "0 to 1000 ppb/√s"
);
quantity!(
    /// A timestamp noise σ, ns: up to 1 s.
    Noise,
    |v| (0.0..=1e9).contains(&v),
    "0 to 1000000000 ns"
);
quantity!(
    /// A probability.
    Probability,
    |v| (0.0..=1.0).contains(&v),
    "a probability from 0 to 1"
);
quantity!(
    /// A queue's utilisation: below 1, or the queue grows without bound.
    Utilisation,
    |v| (0.0..1.0).contains(&v),
    "a utilisation from 0 to below 1"
);
quantity!(
    /// A network load, percent.
    Percent,
    |v| (0.0..=100.0).contains(&v),
    "a load from 0 to 100 percent"
);
quantity!(
    /// A Gamma distribution's shape.
    Shape,
    |v| v > 0.0 && v <= 1e6,
    "a shape above 0, up to 1000000"
);

quantity!(
    /// A time-error budget, ns: above 0, up to 1 s.
    TeBudget,
    |v| v > 0.0 && v <= 1e9,
    "a budget above 0, up to 1000000000 ns"
);
quantity!(
    /// A frequency-error budget, ppb: above 0, up to 1000 ppm.
    FreqBudget,
    |v| v > 0.0 && v <= 1e6,
    "a budget above 0, up to 1000000 ppb"
);

/// The G.8271.1 end-application time-error budget, ns: the default for 1588 time recovery
/// (NTP has no standard budget: an NTP device is judged only against one the topology sets).
pub const DEFAULT_TE_BUDGET_NS: f64 = 1500.0;
/// The default frequency-error budget of a frequency-recovering (ACR) device, ppb.
pub const DEFAULT_FREQ_BUDGET_PPB: f64 = 16.0;

/// A number of switches on a path: each costs a draw per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Hops(pub u32);

impl TryFrom<i64> for Hops {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match u32::try_from(v) {
            Ok(h) if h <= 64 => Ok(Self(h)),
            _ => Err(format!("expected 0 to 64 hops, found {v}")),
        }
    }
}

/// A time in the run, seconds from its start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "i64")]
pub struct Seconds(pub i64);

impl TryFrom<i64> for Seconds {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        if (0..=MAX_SECONDS).contains(&v) {
            Ok(Self(v))
        } else {
            Err(format!("expected 0 to {MAX_SECONDS} s, found {v}"))
        }
    }
}

/// The whole topology file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Master seed (overridden by `--seed`).
    #[serde(default = "one")]
    pub seed: u64,
    /// Simulated seconds (overridden by `--duration`); default one hour.
    duration: Option<Spanned<Seconds>>,
    /// Statistics start here; default a quarter of the run.
    warmup: Option<Spanned<Seconds>>,
    /// The time-error budget time-recovering devices are judged and plotted against, ns
    /// (default: [`DEFAULT_TE_BUDGET_NS`] for 1588 ATR clients, none for NTP alone).
    te_budget_ns: Option<TeBudget>,
    /// The frequency-error budget drawn on plots of frequency-recovering devices, ppb (default
    /// [`DEFAULT_FREQ_BUDGET_PPB`]).
    freq_budget_ppb: Option<FreqBudget>,
    /// LAN segments by name.
    #[serde(default)]
    pub segments: Vec<Spanned<String>>,
    /// Per-device oscillators; devices not listed get a perfect one with 1 µs timestamps.
    #[serde(default)]
    pub devices: BTreeMap<Spanned<String>, Oscillator>,
    /// Links.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Scheduled failures.
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// Displays to print.
    #[serde(default)]
    pub display: Vec<Display>,
    /// Configuration changes, committed at their time.
    #[serde(default)]
    pub commit: Vec<Commit>,
}

fn one() -> u64 {
    1
}

/// A device's oscillator.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oscillator {
    /// Initial phase error, µs.
    #[serde(default)]
    pub phase_us: Phase,
    /// Frequency offset, ppb.
    #[serde(default)]
    pub ppb: Ppb,
    /// Random-walk frequency wander, ppb per √s.
    #[serde(default)]
    pub wander_ppb: Wander,
    /// Timestamp noise σ, ns (default 1000: software timestamping).
    pub noise_ns: Option<Noise>,
}

/// A link between two endpoints: `"Device"`, `"Device:Interface"` or a segment name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// One end.
    pub a: Spanned<String>,
    /// The other end.
    pub b: Spanned<String>,
    /// One-way floor delay, µs.
    #[serde(default = "default_delay")]
    pub delay_us: Micros,
    /// Extra delay a→b over b→a, µs.
    #[serde(default)]
    pub asymmetry_us: SignedMicros,
    /// PDV, both directions unless `pdv_ba` is given.
    #[serde(default)]
    pub pdv: Pdv,
    /// PDV of b→a.
    pub pdv_ba: Option<Pdv>,
    /// Loss probability per packet.
    #[serde(default)]
    pub loss: Probability,
}

fn default_delay() -> Micros {
    Micros(25.0)
}

/// A PDV model.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Pdv {
    /// None.
    #[default]
    Constant,
    /// Uniform in [0, max].
    Uniform {
        /// The largest extra delay.
        max_us: Micros,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean extra delay.
        mean_us: Micros,
    },
    /// Gamma.
    Gamma {
        /// Shape k.
        shape: Shape,
        /// Scale θ.
        scale_us: Micros,
    },
    /// Per-hop queueing.
    Queueing {
        /// Switches on the path.
        hops: Hops,
        /// Utilisation of each.
        load: Utilisation,
        /// Service time of a full frame.
        service_us: Micros,
    },
    /// G.8263 Amd.2 at a fixed load (percent) or with the flicker process (`load` absent).
    G8263 {
        /// The load, percent.
        load: Option<Percent>,
    },
}

/// A scheduled failure or repair.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// When.
    pub at: Spanned<Seconds>,
    /// A link, by its index in `links`.
    pub link: Option<Spanned<usize>>,
    /// A device, by name.
    pub device: Option<Spanned<String>>,
    /// Up (repair) or down (failure).
    #[serde(default)]
    pub up: bool,
}

/// A display command to print.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Display {
    /// The device.
    pub device: Spanned<String>,
    /// The command, as typed on the device.
    pub command: String,
    /// When (default: the end of the run).
    pub at: Option<Spanned<Seconds>>,
}

/// A configuration change an operator commits on a running device.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// When.
    pub at: Spanned<Seconds>,
    /// The device.
    pub device: Spanned<String>,
    /// The lines, as typed from system view (`acl number 2001`, `rule 5 permit …`, `quit`,
    /// `undo ntp-service unicast-server …`); `commit` is implied at the end.
    pub lines: Vec<String>,
}

impl Topology {
    /// The commits in the order they apply: by time, then as written.
    #[must_use]
    pub fn commits(&self) -> Vec<&Commit> {
        let mut c: Vec<&Commit> = self.commit.iter().collect();
        c.sort_by_key(|c| c.at.get_ref().0);
        c
    }

    /// Reads `text` (the content of `file`) and checks everything the file alone can tell.
    pub fn parse(file: &str, text: &str) -> Result<Self, LabError> {
        let topo: Self = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            LabError::at_offset(file, text, offset, e.message())
        })?;
        let err = |span: std::ops::Range<usize>, m: String| {
            Err(LabError::at_offset(file, text, span.start, m))
        };
        let duration = topo.duration();
        if duration == 0 {
            return err(
                topo.duration.as_ref().map_or(0..0, Spanned::span),
                "the duration must be at least 1 s".into(),
            );
        }
        if let Some(w) = &topo.warmup
            && w.get_ref().0 >= duration
        {
            return err(
                w.span(),
                format!(
                    "the warm-up ({} s) must end before the run ({duration} s)",
                    w.get_ref().0
                ),
            );
        }
        let mut segments = BTreeSet::new();
        for s in &topo.segments {
            if s.get_ref().is_empty() || s.get_ref().contains(':') {
                return err(
                    s.span(),
                    format!(
                        "segment name {:?} must be non-empty and without ':'",
                        s.get_ref()
                    ),
                );
            }
            if !segments.insert(s.get_ref().as_str()) {
                return err(
                    s.span(),
                    format!("segment {:?} is declared twice", s.get_ref()),
                );
            }
        }
        for l in &topo.links {
            if l.a.get_ref() == l.b.get_ref() {
                return err(
                    l.b.span(),
                    format!("a link from {:?} to itself", l.a.get_ref()),
                );
            }
            if l.delay_us.0 + l.asymmetry_us.0 < 0.0 {
                return err(
                    l.a.span(),
                    "the link's asymmetry makes its a→b delay negative".into(),
                );
            }
        }
        for f in &topo.failures {
            if f.at.get_ref().0 > duration {
                return err(
                    f.at.span(),
                    format!(
                        "a failure at {} s, after the end of the run ({duration} s)",
                        f.at.get_ref().0
                    ),
                );
            }
            match (&f.link, &f.device) {
                (Some(l), None) if *l.get_ref() >= topo.links.len() => {
                    return err(
                        l.span(),
                        format!(
                            "link {} does not exist (links are numbered from 0; there are {})",
                            l.get_ref(),
                            topo.links.len()
                        ),
                    );
                }
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return err(
                        f.at.span(),
                        "a failure names exactly one `link` or `device`".into(),
                    );
                }
            }
        }
        for c in &topo.commit {
            if c.at.get_ref().0 > duration {
                return err(
                    c.at.span(),
                    format!(
                        "a commit at {} s, after the end of the run ({duration} s)",
                        c.at.get_ref().0
                    ),
                );
            }
        }
        for d in &topo.display {
            if let Some(at) = &d.at
                && at.get_ref().0 > duration
            {
                return err(
                    at.span(),
                    format!(
                        "a display at {} s, after the end of the run ({duration} s)",
                        at.get_ref().0
                    ),
                );
            }
        }
        Ok(topo)
    }

    /// Simulated seconds.
    #[must_use]
    pub fn duration(&self) -> i64 {
        self.duration.as_ref().map_or(3600, |d| d.get_ref().0)
    }

    /// The time-error budget the file sets, ns.
    #[must_use]
    pub fn te_budget_ns(&self) -> Option<f64> {
        self.te_budget_ns.map(|b| b.0)
    }

    /// The frequency-error budget, ppb.
    #[must_use]
    pub fn freq_budget_ppb(&self) -> f64 {
        self.freq_budget_ppb
            .map_or(DEFAULT_FREQ_BUDGET_PPB, |b| b.0)
    }

    /// Where statistics start, if the file says.
    #[must_use]
    pub fn warmup(&self) -> Option<i64> {
        self.warmup.as_ref().map(|w| w.get_ref().0)
    }
}
