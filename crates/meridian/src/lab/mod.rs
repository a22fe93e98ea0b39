//! `meridian lab DIR`: runs a directory of device configurations over a simulated topology and
//! prints what the devices would show.

mod topology;

use std::collections::BTreeMap;
use std::error::Error;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use meridian_proto::ntp_service::Reference;
use meridian_proto::time::{Duration, Timestamp};
use meridian_proto::unicast::negotiation::Negotiation;
use meridian_sim::metrics::{decade_steps, mtie, percentile, summarize, tdev};
use meridian_sim::pdv::{G8263Load, PdvModel};
use meridian_sim::plot::{Series, g8263_mtie_mask, plot_te, plot_wander};
use meridian_sim::{LinkModel, NodeConfig, NodeId, OscillatorModel, Simulator, Vertex};
use meridian_vrp::config::Config;
use meridian_vrp::device::{DeviceEngine, addresses, negotiate_state};
use meridian_vrp::display::{TraceHop, ntp_trace};
use meridian_vrp::session::{Displays, NtpDisplay, Session};
use serde_json::{Value, json};

use topology::{Pdv, Topology};

/// Where true time starts in every lab (2027-01-15).
const START: i64 = 1_800_000_000;

/// Options of `meridian lab`.
pub(crate) struct LabOptions {
    pub(crate) dir: PathBuf,
    pub(crate) duration: Option<i64>,
    pub(crate) seed: Option<u64>,
    pub(crate) json: Option<String>,
    pub(crate) plot: Option<PathBuf>,
    pub(crate) pcap: Option<PathBuf>,
    pub(crate) shell: Option<String>,
}

fn pdv(p: Pdv) -> PdvModel {
    let us = |v: f64| Duration::from_nanos_f64(v * 1e3);
    match p {
        Pdv::Constant => PdvModel::Constant,
        Pdv::Uniform { max_us } => PdvModel::Uniform { max: us(max_us) },
        Pdv::Exponential { mean_us } => PdvModel::Exponential { mean: us(mean_us) },
        Pdv::Gamma { shape, scale_us } => PdvModel::Gamma {
            shape,
            scale: us(scale_us),
        },
        Pdv::Queueing {
            hops,
            load,
            service_us,
        } => PdvModel::Queueing {
            hops,
            load,
            service: us(service_us),
        },
        Pdv::G8263 { load } => PdvModel::G8263 {
            load: load.map_or(G8263Load::Flicker, G8263Load::Fixed),
        },
    }
}

/// A PDV model written as in `topology.toml`, e.g. `{ model = "exponential", mean_us = 50 }`
/// (what `meridian relay --pdv` takes).
pub(crate) fn pdv_from_toml(text: &str) -> Result<PdvModel, String> {
    #[derive(serde::Deserialize)]
    struct One {
        pdv: Pdv,
    }
    toml::from_str::<One>(&format!("pdv = {text}"))
        .map(|o| pdv(o.pdv))
        .map_err(|e| format!("--pdv {text}: {e}"))
}

/// Reads every `<device>.cfg` of `dir`, in name order.
fn load_devices(dir: &Path) -> Result<Vec<(String, Config)>, Box<dyn Error>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cfg"))
        .collect();
    files.sort();
    // A license file in the lab directory is active on every device.
    let license = std::fs::read_to_string(dir.join("license.txt")).ok();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let session = Session::load_licensed(&text, license.as_deref().map(|l| ("license.txt", l)))
            .map_err(|(line, msg)| format!("{}:{line}:\n{msg}", f.display()))?;
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, session.running));
    }
    if out.is_empty() {
        return Err(format!("{}: no <device>.cfg files", dir.display()).into());
    }
    Ok(out)
}

/// What the event log watches on each device.
#[derive(Clone, Debug, Default, PartialEq)]
struct Watched {
    ntp: Option<(bool, Reference)>,
    ptp_source: Option<Option<usize>>,
    ptp_servers: Vec<&'static str>,
    /// Per server and message type: granted, and requests sent without a grant so far.
    grants: Vec<[(bool, u32); 3]>,
    /// Requests a server refused for lack of capacity.
    refusals: u64,
}

fn watch(e: Option<&DeviceEngine>) -> Watched {
    let Some(e) = e else {
        return Watched::default();
    };
    let ntp = e
        .ntp
        .as_ref()
        .map(|n| (n.synchronized(), n.system().reference));
    let client = e.ptp.as_ref().and_then(|p| p.client());
    let grants = client.map_or_else(Vec::new, |c| {
        c.servers()
            .iter()
            .map(|s| {
                s.negotiations.map(|n| match n {
                    Negotiation::Granted { .. } => (true, 0),
                    Negotiation::Requesting { attempts, .. } => (false, attempts),
                    Negotiation::Idle => (false, 0),
                })
            })
            .collect()
    });
    Watched {
        ntp,
        ptp_source: client.map(|c| c.selected()),
        ptp_servers: client.map_or_else(Vec::new, |c| {
            c.servers()
                .iter()
                .map(|s| negotiate_state(&s.negotiations))
                .collect()
        }),
        grants,
        refusals: e
            .ptp
            .as_ref()
            .and_then(|p| p.server())
            .map_or(0, |s| s.refused_capacity),
    }
}

fn reference_text(r: Reference) -> String {
    match r {
        Reference::None => "none".into(),
        Reference::Peer(a) => a.to_string(),
        Reference::Local(u) => format!("LOCAL({u})"),
    }
}

/// Runs the lab.
pub(crate) fn run(o: &LabOptions) -> Result<(), Box<dyn Error>> {
    let topo_path = o.dir.join("topology.toml");
    let topo: Topology = toml::from_str(
        &std::fs::read_to_string(&topo_path)
            .map_err(|e| format!("{}: {e}", topo_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", topo_path.display()))?;
    let devices = load_devices(&o.dir)?;
    let seed = o.seed.unwrap_or(topo.seed);
    let duration = o.duration.unwrap_or(topo.duration).max(1);
    let warmup = topo.warmup.unwrap_or(duration / 4).min(duration);
    let at = |s: i64| Timestamp::from_secs(START + s);

    let mut sim = Simulator::new(seed, at(0));
    let mut nodes: BTreeMap<String, NodeId> = BTreeMap::new();
    for (name, config) in &devices {
        let osc = topo.devices.get(name);
        let oscillator = OscillatorModel {
            initial_phase: Duration::from_nanos_f64(osc.map_or(0.0, |x| x.phase_us) * 1e3),
            frequency_ppb: osc.map_or(0.0, |x| x.ppb),
            wander_ppb: osc.map_or(0.0, |x| x.wander_ppb),
            wander_step: Duration::SECOND,
            timestamp_noise_ns: osc.and_then(|x| x.noise_ns).unwrap_or(1_000.0),
        };
        let cfg = config.clone();
        let id = sim.add_node(
            NodeConfig {
                name: name.clone(),
                addresses: addresses(config),
                oscillator,
            },
            Box::new(move |ctx| Box::new(DeviceEngine::new(&cfg, ctx.instant, ctx.seed))),
        );
        nodes.insert(name.clone(), id);
    }
    let mut segments = BTreeMap::new();
    for s in &topo.segments {
        segments.insert(s.clone(), sim.add_segment(s.clone()));
    }
    let vertex = |end: &str| -> Result<Vertex, String> {
        let device = end.split(':').next().unwrap_or(end);
        if let Some(n) = nodes.get(device) {
            Ok(Vertex::Node(*n))
        } else if let Some(s) = segments.get(end) {
            Ok(Vertex::Segment(*s))
        } else {
            Err(format!(
                "{}: link end {end:?} is neither a device nor a segment",
                topo_path.display()
            ))
        }
    };
    let mut links = Vec::new();
    for l in &topo.links {
        let us = |v: f64| Duration::from_nanos_f64(v * 1e3);
        let mut m = LinkModel::symmetric(us(l.delay_us), pdv(l.pdv));
        m.asymmetry = us(l.asymmetry_us);
        if let Some(ba) = l.pdv_ba {
            m.pdv[1] = pdv(ba);
        }
        if l.loss > 0.0 {
            m.loss = [meridian_sim::loss::LossModel::Bernoulli { p: l.loss }; 2];
        }
        links.push(sim.add_link(vertex(&l.a)?, vertex(&l.b)?, m));
    }
    for f in &topo.failures {
        match (f.link, &f.device) {
            (Some(i), _) => sim.schedule_link(
                at(f.at),
                *links
                    .get(i)
                    .ok_or("failure names a link that does not exist")?,
                f.up,
            ),
            (None, Some(d)) => sim.schedule_node(
                at(f.at),
                *nodes
                    .get(d)
                    .ok_or(format!("failure names unknown device {d}"))?,
                f.up,
            ),
            _ => return Err("a failure needs `link` or `device`".into()),
        }
    }
    sim.sample_every(Duration::SECOND);
    if let Some(p) = &o.pcap {
        sim.capture(Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)))?;
    }

    // Run second by second, logging state changes and printing displays when due.
    let mut displays: Vec<(i64, &topology::Display)> = topo
        .display
        .iter()
        .map(|d| (d.at.unwrap_or(duration).min(duration), d))
        .collect();
    displays.sort_by_key(|d| d.0);
    let mut next_display = 0;
    let mut events: Vec<Value> = Vec::new();
    let mut last: BTreeMap<String, Watched> = BTreeMap::new();
    let progress = std::io::stderr().is_terminal();
    for t in 0..=duration {
        sim.run_until(at(t));
        for (name, node) in &nodes {
            let now = watch(sim.engine_as::<DeviceEngine>(*node));
            let before = last.get(name).cloned().unwrap_or_default();
            if now.ntp != before.ntp
                && let Some((sync, r)) = now.ntp
            {
                let detail = if sync {
                    format!("synchronized to {}", reference_text(r))
                } else {
                    "unsynchronized".into()
                };
                events
                    .push(json!({"t_s": t, "device": name, "kind": "ntp-sync", "detail": detail}));
            }
            if now.ptp_source != before.ptp_source
                && let Some(src) = now.ptp_source
            {
                let detail = src.map_or("local (no usable server)".to_string(), |i| {
                    format!("server{}", i + 1)
                });
                events.push(json!({"t_s": t, "device": name, "kind": "ptp-server-switch", "detail": detail}));
            }
            const TYPES: [&str; 3] = ["Announce", "Sync", "Delay_Resp"];
            for (i, per_type) in now.grants.iter().enumerate() {
                for (k, &(granted, attempts)) in per_type.iter().enumerate() {
                    let (was_granted, was_attempts) =
                        before.grants.get(i).map_or((false, 0), |g| g[k]);
                    let what = match (was_granted, granted) {
                        (false, true) => Some("grant"),
                        (true, false) => Some("expiry"),
                        (false, false) if attempts > was_attempts && attempts > 1 => {
                            Some("retry (refused or unanswered)")
                        }
                        _ => None,
                    };
                    if let Some(w) = what {
                        events.push(json!({"t_s": t, "device": name, "kind": "ptp-grant", "detail": format!("server{} {}: {w}", i + 1, TYPES[k])}));
                    }
                }
            }
            if now.refusals > before.refusals {
                events.push(json!({"t_s": t, "device": name, "kind": "ptp-refusal", "detail": format!("{} requests refused: no free client slot", now.refusals - before.refusals)}));
            }
            for (i, state) in now.ptp_servers.iter().enumerate() {
                if before.ptp_servers.get(i) != Some(state) {
                    events.push(json!({"t_s": t, "device": name, "kind": "ptp-negotiation", "detail": format!("server{}: {state}", i + 1)}));
                }
            }
            last.insert(name.clone(), now);
        }
        while next_display < displays.len() && displays[next_display].0 <= t {
            let d = displays[next_display].1;
            next_display += 1;
            let (Some(node), Some((_, config))) = (
                nodes.get(&d.device),
                devices.iter().find(|x| x.0 == d.device),
            ) else {
                return Err(format!("display names unknown device {}", d.device).into());
            };
            let mut session = Session::new(config.clone());
            let prompt = session.prompt();
            let chain = trace(&sim, &nodes, &devices, &d.device);
            let text = match sim.engine_as_mut::<DeviceEngine>(*node) {
                Some(engine) => session
                    .execute(&d.command, &mut LabDisplays { engine, chain })
                    .unwrap_or_else(|f| f.render(&prompt) + "\n"),
                None => "Info: the device is down.\n".into(),
            };
            if o.json.as_deref() != Some("-") {
                print!("{prompt} {}  (t = {t} s)\n{text}", d.command);
            }
        }
        if progress && duration > 60 && t % (duration / 50).max(1) == 0 {
            eprint!(
                "\r[{:<50}] {t}/{duration} s",
                "#".repeat((50 * t / duration) as usize)
            );
        }
    }
    if progress && duration > 60 {
        eprintln!();
    }
    sim.finish_capture()?;

    let report = report(&mut sim, &nodes, at(warmup), events);
    match o.json.as_deref() {
        Some("-") => println!("{}", serde_json::to_string_pretty(&report)?),
        Some(path) => std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?,
        None => summary(&report),
    }
    if let Some(p) = &o.plot {
        plot(&sim, &nodes, p, at(warmup))?;
    }
    if let Some(device) = &o.shell {
        shell(&mut sim, &nodes, &devices, device)?;
    }
    Ok(())
}

fn report(
    sim: &mut Simulator,
    nodes: &BTreeMap<String, NodeId>,
    warmup: Timestamp,
    events: Vec<Value>,
) -> Value {
    let mut out = Vec::new();
    for (name, node) in nodes {
        let e = sim.engine_as::<DeviceEngine>(*node);
        let ntp = e.and_then(|e| e.ntp.as_ref()).map(|n| {
            let s = n.status();
            json!({"synchronized": s.synchronized, "stratum": s.stratum, "reference_id": reference_text(s.reference)})
        });
        let ptp = e.and_then(|e| e.ptp.as_ref()).map(|p| {
            let client = p.client();
            let state = match (client.map(|c| c.servo_state()), p.server().is_some()) {
                (Some(s), _) => format!("{s:?}").to_lowercase(),
                (None, true) => "serving".into(),
                (None, false) => "idle".into(),
            };
            json!({
                "state": state,
                "trace_source": client.map(|c| c.selected().map_or("local".to_string(), |i| format!("server{}", i + 1))),
                "servers": client.map_or_else(Vec::new, |c| c.servers().iter().map(|s| json!({"ip": s.addr.to_string(), "negotiate_state": negotiate_state(&s.negotiations)})).collect()),
            })
        });
        let samples = sim.samples(*node);
        let te = summarize(samples, warmup)
            .map(|s| json!({"p50": s.p50_abs_ns, "p99": s.p99_abs_ns, "max": s.max_abs_ns}));
        let freq: Vec<f64> = samples
            .iter()
            .filter(|s| s.at >= warmup && s.up)
            .map(|s| s.freq_error_ppb.abs())
            .collect();
        out.push(json!({
            "name": name,
            "ntp": ntp,
            "ptp": ptp,
            "te_ns": te,
            "freq_error_ppb": percentile(&freq, 99.0).map(|p| json!({"p99": p})),
        }));
    }
    json!({"devices": out, "events": events})
}

fn summary(report: &Value) {
    println!("\ndevice summary (statistics after the warm-up)");
    for d in report["devices"].as_array().into_iter().flatten() {
        let te = &d["te_ns"];
        let ntp = &d["ntp"];
        let ptp = &d["ptp"];
        let mut line = format!(
            "  {:<12} p99 |TE| {:>12}",
            d["name"].as_str().unwrap_or(""),
            te["p99"]
                .as_f64()
                .map_or("-".into(), |v| format!("{:.0} ns", v))
        );
        if !ntp.is_null() {
            line += &format!(
                "  ntp: stratum {} ref {}",
                ntp["stratum"],
                ntp["reference_id"].as_str().unwrap_or("")
            );
        }
        if !ptp.is_null() {
            line += &format!(
                "  ptp: {} via {}",
                ptp["state"].as_str().unwrap_or(""),
                ptp["trace_source"].as_str().unwrap_or("-")
            );
        }
        println!("{line}");
    }
    let n = report["events"].as_array().map_or(0, Vec::len);
    println!("  {n} events (use --json for the full report)");
}

fn plot(
    sim: &Simulator,
    nodes: &BTreeMap<String, NodeId>,
    path: &Path,
    warmup: Timestamp,
) -> Result<(), Box<dyn Error>> {
    let (mut te, mut mt, mut td) = (Vec::new(), Vec::new(), Vec::new());
    for (name, node) in nodes {
        let samples: Vec<_> = sim.samples(*node).iter().filter(|s| s.up).collect();
        let t0 = samples.first().map_or(Timestamp::EPOCH, |s| s.at);
        te.push(Series {
            name: name.clone(),
            points: samples
                .iter()
                .map(|s| ((s.at - t0).as_secs_f64(), s.te.as_nanos_f64()))
                .collect(),
        });
        let x: Vec<f64> = samples
            .iter()
            .filter(|s| s.at >= warmup)
            .map(|s| s.te.as_nanos_f64())
            .collect();
        let taus = decade_steps(x.len() / 3);
        mt.push(Series {
            name: name.clone(),
            points: taus
                .iter()
                .filter_map(|&n| Some((n as f64, mtie(&x, n)?)))
                .collect(),
        });
        td.push(Series {
            name: name.clone(),
            points: taus
                .iter()
                .filter_map(|&n| Some((n as f64, tdev(&x, n)?)))
                .collect(),
        });
    }
    plot_te(path, "Time error", &te)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let wander = path.with_file_name(format!("{stem}-wander.{ext}"));
    plot_wander(&wander, "lab", &mt, &td, Some(&g8263_mtie_mask()))?;
    eprintln!("wrote {} and {}", path.display(), wander.display());
    Ok(())
}

/// The VRP shell of one simulated device after the run.
fn shell(
    sim: &mut Simulator,
    nodes: &BTreeMap<String, NodeId>,
    devices: &[(String, Config)],
    device: &str,
) -> Result<(), Box<dyn Error>> {
    let node = *nodes
        .get(device)
        .ok_or(format!("unknown device {device}"))?;
    let config = devices
        .iter()
        .find(|d| d.0 == device)
        .map(|d| d.1.clone())
        .unwrap_or_default();
    let chain = trace(sim, nodes, devices, device);
    let engine = sim
        .engine_as_mut::<DeviceEngine>(node)
        .ok_or("the device is down")?;
    crate::shell::interactive(&mut crate::shell::Local {
        session: Session::new(config),
        displays: &mut LabDisplays { engine, chain },
    })
}

/// The NTP trace of `device` across the lab: each device's own hop, then the device owning its
/// reference address, until a primary or local reference (or a loop).
fn trace(
    sim: &Simulator,
    nodes: &BTreeMap<String, NodeId>,
    devices: &[(String, Config)],
    device: &str,
) -> Vec<TraceHop> {
    let mut hops = Vec::new();
    let mut current = device.to_string();
    while hops.len() < 16 {
        let Some(node) = nodes.get(&current) else {
            break;
        };
        let Some(ntp) = sim
            .engine_as::<DeviceEngine>(*node)
            .and_then(|e| e.ntp.as_ref())
        else {
            break;
        };
        let status = ntp.status();
        hops.push(TraceHop::of(ntp.config().source.to_string(), &status));
        let Reference::Peer(next) = status.reference else {
            break;
        };
        match devices.iter().find(|(_, c)| addresses(c).contains(&next)) {
            Some((name, _)) if name != &current => current = name.clone(),
            _ => break,
        }
    }
    hops
}

/// A device's displays inside the lab, where `trace` can follow the chain to other devices.
struct LabDisplays<'a> {
    engine: &'a mut DeviceEngine,
    chain: Vec<TraceHop>,
}

impl Displays for LabDisplays<'_> {
    fn ntp(&self, what: NtpDisplay) -> Option<String> {
        match what {
            NtpDisplay::Trace if !self.chain.is_empty() => Some(ntp_trace(&self.chain)),
            _ => self.engine.ntp(what),
        }
    }
    fn ptp(&self, what: &str, id: Option<u64>) -> Option<String> {
        self.engine.ptp(what, id)
    }
    fn reset_ptp_statistics(&mut self) -> bool {
        self.engine.reset_ptp_statistics()
    }
}
