//! From a checked topology and its devices to a simulated network, ready to run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use meridian_proto::time::{Duration, Timestamp};
use meridian_sim::loss::LossModel;
use meridian_sim::pdv::{G8263Load, PdvModel};
use meridian_sim::{LinkId, LinkModel, NodeConfig, NodeId, OscillatorModel, Simulator, Vertex};
use meridian_vrp::config::Config;
use meridian_vrp::device::{DeviceEngine, configured_addresses, node_config};

use crate::devices::Device;
use crate::error::LabError;
use crate::topology::{Pdv, Topology};

/// Where true time starts in every lab (2027-01-15).
pub const START: i64 = 1_800_000_000;

/// More events than this in one simulated second is a runaway (a 512-client server at 128 pps
/// is about 200 000): the run stops with an error rather than never ending.
pub const MAX_EVENTS_PER_SECOND: u64 = 5_000_000;

/// A built lab: the simulator and where each device and link went.
pub struct Lab {
    /// The simulated network.
    pub sim: Simulator,
    /// Each device's node, by name.
    pub nodes: BTreeMap<String, NodeId>,
    /// The links, in the topology's order.
    pub links: Vec<LinkId>,
    /// The bound of [`Lab::run_to`]; [`MAX_EVENTS_PER_SECOND`] unless changed.
    pub max_events_per_second: u64,
    /// Each device's running configuration (what a restart starts from, and what commits
    /// change).
    configs: BTreeMap<String, Rc<RefCell<Config>>>,
    /// Links with an end on a named interface.
    interface_links: Vec<InterfaceLink>,
    /// Links that commits took down or up since [`Lab::take_link_changes`]: (index in
    /// [`Lab::links`], up).
    link_changes: Vec<(usize, bool)>,
    /// Each device's hardware timestamp noise (the topology's `noise_ns`), ns.
    hardware_noise: BTreeMap<String, f64>,
    events_at_last_second: u64,
}

/// The timestamp noise of a device that runs 1588 ATR without ATR enabled on any interface
/// that is up (σ, ns): its PTP packets are stamped in software, as the topology's default.
pub const SOFTWARE_NOISE_NS: f64 = 1_000.0;

/// The timestamp noise `config` gives a device whose hardware stamps with `hardware` ns: the
/// vendor's interface `ptp-adaptive atr enable` is what makes a router stamp 1588 ATR packets
/// at the interface ("if 1588 ATR is not enabled on an interface, the time synchronization
/// performance will be affected"). Modelled per device: one running ATR with no interface
/// enabled stamps in software.
#[must_use]
pub fn timestamp_noise(config: &Config, hardware: f64) -> f64 {
    let p = &config.ptp;
    let atr = p.enable && p.device_type.is_some() && p.negotiate.is_none_or(|m| m == "atr");
    let enabled = config
        .interfaces
        .values()
        .any(|i| i.atr_enable && !i.shutdown);
    if atr && !enabled {
        hardware.max(SOFTWARE_NOISE_NS)
    } else {
        hardware
    }
}

/// A link with an end on a named interface: it carries traffic only while no such interface is
/// shut down.
#[derive(Debug)]
struct InterfaceLink {
    link: LinkId,
    /// (device, interface) of each end on a named interface.
    ends: Vec<(String, String)>,
    /// Whether the interfaces let it carry traffic now.
    carrying: bool,
}

/// Whether `config` has interface `name` (case and spaces ignored, as typed) shut down.
fn shut(config: &Config, name: &str) -> bool {
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = key(name);
    config
        .interfaces
        .iter()
        .any(|(n, i)| i.shutdown && key(n) == want)
}

/// Whether none of `ends` is shut in its device's running configuration.
fn carries(configs: &BTreeMap<String, Rc<RefCell<Config>>>, ends: &[(String, String)]) -> bool {
    ends.iter().all(|(device, interface)| {
        configs
            .get(device)
            .is_none_or(|c| !shut(&c.borrow(), interface))
    })
}

/// The instant `s` seconds into the run.
#[must_use]
pub fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(START + s)
}

fn us(v: f64) -> Duration {
    Duration::from_nanos_f64(v * 1e3)
}

/// The simulator's model of a topology's PDV.
#[must_use]
pub fn pdv(p: Pdv) -> PdvModel {
    match p {
        Pdv::Constant => PdvModel::Constant,
        Pdv::Uniform { max_us } => PdvModel::Uniform { max: us(max_us.0) },
        Pdv::Exponential { mean_us } => PdvModel::Exponential {
            mean: us(mean_us.0),
        },
        Pdv::Gamma { shape, scale_us } => PdvModel::Gamma {
            shape: shape.0,
            scale: us(scale_us.0),
        },
        Pdv::Queueing {
            hops,
            load,
            service_us,
        } => PdvModel::Queueing {
            hops: hops.0,
            load: load.0,
            service: us(service_us.0),
        },
        Pdv::G8263 { load } => PdvModel::G8263 {
            load: load.map_or(G8263Load::Flicker, |l| G8263Load::Fixed(l.0)),
        },
    }
}

/// A PDV model written as in `topology.toml`, e.g. `{ model = "exponential", mean_us = 50 }`.
pub fn pdv_from_toml(text: &str) -> Result<PdvModel, String> {
    #[derive(serde::Deserialize)]
    struct One {
        pdv: Pdv,
    }
    toml::from_str::<One>(&format!("pdv = {text}"))
        .map(|o| pdv(o.pdv))
        .map_err(|e| format!("--pdv {text}: {}", e.message()))
}

/// Builds the lab of a topology already checked against its devices
/// ([`crate::devices::check`]), with master seed `seed`.
#[must_use]
pub fn build(topo: &Topology, devices: &[Device], seed: u64) -> Lab {
    let mut sim = Simulator::new(seed, at(0));
    // The lab compares runs by their reports, not by a hash of every event.
    sim.without_trace_hash();
    let mut nodes = BTreeMap::new();
    let mut configs = BTreeMap::new();
    let mut hardware_noise = BTreeMap::new();
    for d in devices {
        let osc = topo.devices.get(d.name.as_str());
        let hardware = osc
            .and_then(|x| x.noise_ns)
            .map_or(SOFTWARE_NOISE_NS, |n| n.0);
        hardware_noise.insert(d.name.clone(), hardware);
        let oscillator = OscillatorModel {
            initial_phase: us(osc.map_or(0.0, |x| x.phase_us.0)),
            frequency_ppb: osc.map_or(0.0, |x| x.ppb.0),
            wander_ppb: osc.map_or(0.0, |x| x.wander_ppb.0),
            wander_step: Duration::SECOND,
            timestamp_noise_ns: timestamp_noise(&d.config, hardware),
        };
        let running = Rc::new(RefCell::new(d.config.clone()));
        configs.insert(d.name.clone(), running.clone());
        let id = sim.add_node(
            NodeConfig {
                name: d.name.clone(),
                // Every configured address, shut or not: a shut interface's links carry
                // nothing (below), and one brought up by a commit is reachable again.
                addresses: configured_addresses(&d.config),
                oscillator,
            },
            Box::new(move |ctx| {
                Box::new(DeviceEngine::new(
                    &node_config(&running.borrow()),
                    ctx.instant,
                    ctx.seed,
                ))
            }),
        );
        nodes.insert(d.name.clone(), id);
    }
    let segments: BTreeMap<&str, _> = topo
        .segments
        .iter()
        .map(|s| (s.get_ref().as_str(), sim.add_segment(s.get_ref().clone())))
        .collect();
    let vertex = |end: &str| {
        let device = end.split(':').next().unwrap_or(end);
        match (segments.get(end), nodes.get(device)) {
            (Some(s), _) => Some(Vertex::Segment(*s)),
            (None, Some(n)) => Some(Vertex::Node(*n)),
            (None, None) => None,
        }
    };
    let mut links = Vec::new();
    let mut interface_links = Vec::new();
    for l in &topo.links {
        let mut m = LinkModel::symmetric(us(l.delay_us.0), pdv(l.pdv));
        m.asymmetry = us(l.asymmetry_us.0);
        if let Some(ba) = l.pdv_ba {
            m.pdv[1] = pdv(ba);
        }
        if l.loss.0 > 0.0 {
            m.loss = [LossModel::Bernoulli { p: l.loss.0 }; 2];
        }
        // `check` resolved every end; without it, a link to nowhere is left out.
        if let (Some(a), Some(b)) = (vertex(l.a.get_ref()), vertex(l.b.get_ref())) {
            let link = sim.add_link(a, b, m);
            links.push(link);
            // An end on a named interface: a shut interface carries nothing.
            let ends: Vec<(String, String)> = [l.a.get_ref(), l.b.get_ref()]
                .into_iter()
                .filter(|end| !segments.contains_key(end.as_str()))
                .filter_map(|end| end.split_once(':'))
                .map(|(d, i)| (d.to_string(), i.to_string()))
                .collect();
            if !ends.is_empty() {
                let up = carries(&configs, &ends);
                if !up {
                    sim.schedule_link(at(0), link, false);
                }
                interface_links.push(InterfaceLink {
                    link,
                    ends,
                    carrying: up,
                });
            }
        }
    }
    for f in &topo.failures {
        let when = at(f.at.get_ref().0);
        if let Some(link) = f.link.as_ref().and_then(|i| links.get(*i.get_ref())) {
            sim.schedule_link(when, *link, f.up);
        } else if let Some(node) = f.device.as_ref().and_then(|d| nodes.get(d.get_ref())) {
            sim.schedule_node(when, *node, f.up);
        }
    }
    sim.sample_every(Duration::SECOND);
    Lab {
        sim,
        nodes,
        links,
        max_events_per_second: MAX_EVENTS_PER_SECOND,
        configs,
        interface_links,
        link_changes: Vec::new(),
        hardware_noise,
        events_at_last_second: 0,
    }
}

impl Lab {
    /// `device`'s running configuration.
    #[must_use]
    pub fn config(&self, device: &str) -> Option<Config> {
        self.configs.get(device).map(|c| c.borrow().clone())
    }

    /// Commits `lines` (typed from system view) on `device` now, reconfiguring its running
    /// engines in place. Returns whether any engine changed (a commit of `sysname` changes
    /// none), or the device's error.
    pub fn commit(&mut self, device: &str, lines: &[String], seed: u64) -> Result<bool, String> {
        let (Some(running), Some(&node)) = (self.configs.get(device), self.nodes.get(device))
        else {
            return Err(format!("no device {device}"));
        };
        let config = crate::devices::apply_commit(&running.borrow(), lines)?;
        *running.borrow_mut() = config.clone();
        // `ptp-adaptive atr enable` on or off moves where the device stamps its PTP packets.
        if let Some(&hardware) = self.hardware_noise.get(device) {
            self.sim
                .set_timestamp_noise(node, timestamp_noise(&config, hardware));
        }
        // `shutdown` / `undo shutdown` on an interface a link ends on takes the link down / up.
        let now = self.sim.now();
        for l in &mut self.interface_links {
            if !l.ends.iter().any(|(d, _)| d == device) {
                continue;
            }
            let carrying = carries(&self.configs, &l.ends);
            if carrying != l.carrying {
                l.carrying = carrying;
                self.sim.schedule_link(now, l.link, carrying);
                if let Some(i) = self.links.iter().position(|k| *k == l.link) {
                    self.link_changes.push((i, carrying));
                }
            }
        }
        Ok(self
            .sim
            .operate(node, |e: &mut DeviceEngine, now| {
                e.reconfigure(&node_config(&config), now, seed)
            })
            .unwrap_or(false))
    }

    /// The links commits took down or up (index in [`Lab::links`], up) since the last call.
    pub fn take_link_changes(&mut self) -> Vec<(usize, bool)> {
        std::mem::take(&mut self.link_changes)
    }

    /// Runs to `s` seconds into the run, refusing a second with more than
    /// [`Lab::max_events_per_second`] events.
    pub fn run_to(&mut self, s: i64) -> Result<(), LabError> {
        let target = at(s);
        let mut t = self.sim.now();
        // At least one step, so a run to 0 starts the engines.
        loop {
            t = (t + Duration::SECOND).min(target);
            let bound = self.max_events_per_second;
            self.sim
                .run_until_bounded(t, self.events_at_last_second.saturating_add(bound));
            let n = self.sim.events_processed();
            if n - self.events_at_last_second >= bound {
                let second = (t - at(0)).as_secs_f64().ceil() as i64;
                return Err(LabError::at(
                    "lab",
                    None,
                    format!(
                        "more than {bound} events in simulated second {second}: stopped (a runaway engine or topology)"
                    ),
                ));
            }
            self.events_at_last_second = n;
            if t >= target {
                return Ok(());
            }
        }
    }
}
