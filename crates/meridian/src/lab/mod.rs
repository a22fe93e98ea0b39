//! `meridian lab DIR`: runs a directory of device configurations over a simulated topology and
//! prints what the devices would show.

use std::collections::BTreeMap;
use std::error::Error;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use meridian_lab::build::at;
use meridian_lab::{Device, Topology};
use meridian_proto::event::{Event, GrantChange};
use meridian_proto::ntp_service::Reference;
use meridian_proto::servo::ServoState;
use meridian_proto::time::Timestamp;
use meridian_sim::metrics::{percentile, summarize};
use meridian_sim::{NodeId, Simulator};
use meridian_vrp::device::{
    DeviceEngine, TraceBy, addresses, negotiate_state, negotiation_words, servo_words,
};
use meridian_vrp::display::{TraceHop, ntp_trace};
use meridian_vrp::session::Session;
use serde_json::{Value, json};

pub(crate) use meridian_lab::build::pdv_from_toml;
use role::Role;

mod plots;
mod role;
mod seeds;

/// Options of `meridian lab`.
pub(crate) struct LabOptions {
    pub(crate) dir: PathBuf,
    pub(crate) duration: Option<i64>,
    pub(crate) seed: Option<u64>,
    pub(crate) json: Option<String>,
    pub(crate) plot: Option<PathBuf>,
    pub(crate) series: Option<PathBuf>,
    pub(crate) pcap: Option<PathBuf>,
    pub(crate) shell: Option<String>,
    /// Runs with this many seeds (from the master seed up), side by side.
    pub(crate) seeds: u64,
    /// Threads for those runs.
    pub(crate) threads: usize,
}

/// An engine event as the report lists it: its kind and what happened, or `None` for events
/// the report leaves to the daemon's debug log.
fn report_event(e: &Event) -> Option<(&'static str, String)> {
    const TYPES: [&str; 3] = ["Announce", "Sync", "Delay_Resp"];
    Some(match *e {
        Event::NtpReference {
            synchronized,
            reference,
            ..
        } => (
            "ntp-sync",
            if synchronized {
                format!("synchronized to {}", reference_text(reference))
            } else {
                "unsynchronized".into()
            },
        ),
        Event::PtpTracking { server } => (
            "ptp-server-switch",
            server.map_or("local (no usable server)".to_string(), |(i, _)| {
                format!("server{}", i + 1)
            }),
        ),
        Event::PtpServo(state) => ("ptp-servo", servo_words(state).into()),
        Event::PtpGrant {
            server,
            kind,
            change,
        } => {
            let what = match change {
                GrantChange::Granted => "grant",
                GrantChange::Ended => "expiry",
                GrantChange::Retry => "retry (refused or unanswered)",
            };
            (
                "ptp-grant",
                format!("server{} {}: {what}", server + 1, TYPES[kind as usize]),
            )
        }
        Event::PtpNegotiation { server, state, .. } => (
            "ptp-negotiation",
            format!("server{}: {}", server + 1, negotiation_words(state)),
        ),
        Event::PtpRefused { count } => (
            "ptp-refusal",
            format!("{count} requests refused: no free client slot"),
        ),
        Event::ClockSource(s) => ("clock-source", format!("the clock follows {s}")),
        Event::NtpDiscipline { .. } | Event::NtpFrequencyMeasured(_) => return None,
    })
}

fn reference_text(r: Reference) -> String {
    match r {
        Reference::None => "none".into(),
        Reference::Peer(a) => a.to_string(),
        Reference::Local(u) => format!("LOCAL({u})"),
        Reference::Ptp => "PTP".into(),
    }
}

/// A lab directory, read and checked.
pub(crate) struct Prepared {
    topo_file: String,
    topo: Topology,
    devices: Vec<Device>,
    /// Simulated seconds.
    duration: i64,
    /// Where statistics start, seconds.
    warmup: i64,
}

/// Reads and checks the lab directory and settles the run's length and warm-up.
fn prepare(o: &LabOptions) -> Result<Prepared, Box<dyn Error>> {
    let topo_path = o.dir.join("topology.toml");
    let topo_file = topo_path.display().to_string();
    let topo_text = std::fs::read(&topo_path)
        .map_err(|e| format!("{topo_file}: {e}"))
        .and_then(|b| String::from_utf8(b).map_err(|_| format!("{topo_file}: not UTF-8 text")))?;
    let topo = Topology::parse(&topo_file, &topo_text)?;
    let devices = meridian_lab::load_devices(&o.dir)?;
    meridian_lab::devices::check(&topo, &topo_file, &topo_text, &devices)?;
    let duration = o.duration.unwrap_or(topo.duration()).max(1);
    let warmup = match topo.warmup() {
        Some(w) if w >= duration => {
            // Statistics over one sample would read like a result; say so and use a quarter.
            eprintln!(
                "warning: the run ({duration} s) ends before the warm-up ({w} s): statistics start at {} s",
                duration / 4
            );
            duration / 4
        }
        w => w.unwrap_or(duration / 4),
    };
    Ok(Prepared {
        topo_file,
        topo,
        devices,
        duration,
        warmup,
    })
}

/// One run of a lab, finished: the simulator (for plots, series, the shell) and its report.
struct Finished {
    lab: meridian_lab::Lab,
    report: Value,
}

/// Runs the lab.
pub(crate) fn run(o: &LabOptions) -> Result<(), Box<dyn Error>> {
    let p = prepare(o)?;
    let seed = o.seed.unwrap_or(p.topo.seed);
    if o.seeds > 1 {
        return seeds::run(o, &p, seed);
    }
    let Finished { mut lab, report } = simulate(o, &p, seed, true)?;
    let (topo, devices) = (&p.topo, &p.devices);
    let nodes = lab.nodes.clone();
    let sim = &mut lab.sim;
    match o.json.as_deref() {
        Some("-") => println!("{}", serde_json::to_string_pretty(&report)?),
        Some(path) => std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?,
        None => summary(&report),
    }
    if let Some(path) = &o.plot {
        // The directory's name names the scenario in the charts' titles.
        let scenario = std::fs::canonicalize(&o.dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "lab".into());
        plots::plot(sim, &nodes, topo, &scenario, path, at(p.warmup))?;
    }
    if let Some(p) = &o.series {
        series(sim, &nodes, p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if let Some(device) = &o.shell {
        shell(sim, &nodes, devices, device)?;
    }
    Ok(())
}

/// Builds and runs the lab with `seed`; `single`: the only run, which prints the displays and
/// its progress and writes the capture.
fn simulate(
    o: &LabOptions,
    p: &Prepared,
    seed: u64,
    single: bool,
) -> Result<Finished, Box<dyn Error>> {
    let (topo, topo_file, devices) = (&p.topo, &p.topo_file, &p.devices);
    let (duration, warmup) = (p.duration, p.warmup);
    let mut lab = meridian_lab::build(topo, devices, seed);
    if let Some(path) = o.pcap.as_ref().filter(|_| single) {
        lab.sim
            .capture(Box::new(std::io::BufWriter::new(std::fs::File::create(
                path,
            )?)))?;
    }
    let nodes = lab.nodes.clone();
    let commits = topo.commits();
    let mut next_commit = 0;

    // Run second by second, logging state changes and printing displays when due.
    let mut displays: Vec<(i64, &meridian_lab::topology::Display)> = topo
        .display
        .iter()
        .map(|d| {
            (
                d.at.as_ref()
                    .map_or(duration, |a| a.get_ref().0)
                    .min(duration),
                d,
            )
        })
        .collect();
    displays.sort_by_key(|d| d.0);
    let mut next_display = 0;
    let mut events: Vec<Value> = Vec::new();
    let names: BTreeMap<NodeId, String> = nodes.iter().map(|(n, id)| (*id, n.clone())).collect();
    lab.sim.record_events();
    let mut holdover: BTreeMap<NodeId, Holdover> = BTreeMap::new();
    let progress = single && std::io::stderr().is_terminal();
    for t in 0..=duration {
        lab.run_to(t)?;
        while let Some(c) = commits.get(next_commit).filter(|c| c.at.get_ref().0 <= t) {
            let device = c.device.get_ref();
            // Each commit's engines draw from their own stream: same seed, same run.
            let changed = lab
                .commit(
                    device,
                    &c.lines,
                    seed ^ (next_commit as u64 + 1).rotate_left(32),
                )
                .map_err(|e| format!("{topo_file}: commit at {t} s on {device}: {e}"))?;
            next_commit += 1;
            let mut detail = format!(
                "{} line(s) committed; {}",
                c.lines.len(),
                if changed {
                    "engines reconfigured in place"
                } else {
                    "no engine affected"
                }
            );
            // A shut interface (or one brought back) takes its links with it.
            for (link, up) in lab.take_link_changes() {
                detail += &format!("; link {link} {}", if up { "up" } else { "down" });
            }
            events.push(json!({"t_s": t, "device": device, "kind": "commit", "detail": detail}));
        }
        let sim = &mut lab.sim;
        // The engines' own events, as they happened (to the nanosecond), filed by second.
        for (when, node, e) in sim.take_events() {
            if let Event::PtpServo(state) = e {
                holdover.entry(node).or_default().servo(when, state);
            }
            let Some((kind, detail)) = report_event(&e) else {
                continue;
            };
            let name = names.get(&node).map_or("?", String::as_str);
            let t_s = (when - at(0)).as_secs_f64().floor() as i64;
            events.push(json!({"t_s": t_s, "device": name, "kind": kind, "detail": detail}));
        }
        while next_display < displays.len() && displays[next_display].0 <= t {
            let d = displays[next_display].1;
            next_display += 1;
            let device = d.device.get_ref();
            let (Some(node), Some(dev)) = (
                nodes.get(device),
                devices.iter().find(|x| &x.name == device),
            ) else {
                return Err(format!("display names unknown device {device}").into());
            };
            let mut session =
                Session::new(lab.config(device).unwrap_or_else(|| dev.config.clone()));
            let prompt = session.prompt();
            let chain = trace(&lab.sim, &nodes, devices, device);
            let text = match lab.sim.engine_as_mut::<DeviceEngine>(*node) {
                Some(engine) => session
                    .execute(&d.command, &mut lab_displays(engine, chain))
                    .unwrap_or_else(|f| f.render(&prompt) + "\n"),
                None => "Info: the device is down.\n".into(),
            };
            if single && o.json.as_deref() != Some("-") {
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
    let sim = &mut lab.sim;
    sim.finish_capture()?;

    let end = at(duration);
    let holdover: BTreeMap<NodeId, f64> = holdover
        .into_iter()
        .map(|(n, h)| (n, h.total_s(end)))
        .collect();
    let budgets = Budgets {
        te_ns: topo.te_budget_ns(),
        freq_ppb: topo.freq_budget_ppb(),
    };
    let report = report(sim, &nodes, at(warmup), events, &holdover, budgets);
    Ok(Finished { lab, report })
}

/// Time a device's servo spent in holdover.
#[derive(Default)]
struct Holdover {
    since: Option<Timestamp>,
    total: meridian_proto::time::Duration,
}

impl Holdover {
    fn servo(&mut self, when: Timestamp, state: ServoState) {
        match (state == ServoState::Holdover, self.since) {
            (true, None) => self.since = Some(when),
            (false, Some(since)) => {
                self.total += when - since;
                self.since = None;
            }
            _ => {}
        }
    }

    /// Seconds in holdover, counting one still running at `end`.
    fn total_s(&self, end: Timestamp) -> f64 {
        let open = self
            .since
            .map_or(meridian_proto::time::Duration::ZERO, |s| end - s);
        (self.total + open).as_secs_f64()
    }
}

/// What the devices are judged against after the warm-up.
#[derive(Clone, Copy)]
struct Budgets {
    /// Set by the topology (else each device's default, see [`role::te_budget`]).
    te_ns: Option<f64>,
    freq_ppb: f64,
}

fn report(
    sim: &mut Simulator,
    nodes: &BTreeMap<String, NodeId>,
    warmup: Timestamp,
    events: Vec<Value>,
    holdover: &BTreeMap<NodeId, f64>,
    budgets: Budgets,
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
        // Signed mean and the sample count beside the |TE| percentiles: a p99 of three
        // samples, or a large constant offset, must not read like a steady state.
        let te = summarize(samples, warmup).map(|s| {
            json!({
                "samples": s.count,
                "mean": s.mean_ns,
                "p50": s.p50_abs_ns,
                "p99": s.p99_abs_ns,
                "max": s.max_abs_ns,
            })
        });
        let freq: Vec<f64> = samples
            .iter()
            .filter(|s| s.at >= warmup && s.up)
            .map(|s| s.freq_error_ppb.abs())
            .collect();
        let freq_p99 = percentile(&freq, 99.0);
        // A device is judged by what it recovers: time error for time, frequency error for
        // frequency (an ACR client's phase is arbitrary, and its servo's lock is a phase test).
        let role = role::role(e);
        let budget = match role {
            Role::Reference => None,
            Role::Time => role::te_budget(e, budgets.te_ns)
                .map(|limit| ("te_ns", limit, te.as_ref().and_then(|t| t["p99"].as_f64()))),
            Role::Frequency => Some(("freq_error_ppb", budgets.freq_ppb, freq_p99)),
        }
        .map(|(quantity, limit, p99)| {
            json!({
                "quantity": quantity,
                "limit": limit,
                "p99": p99,
                "met": p99.is_some_and(|p| p <= limit),
            })
        });
        out.push(json!({
            "name": name,
            "role": role.word(),
            "ntp": ntp,
            "ptp": ptp,
            "te_ns": te,
            "freq_error_ppb": freq_p99.map(|p| json!({"p99": p})),
            "holdover_s": holdover.get(node).copied().unwrap_or(0.0),
            "budget": budget,
        }));
    }
    json!({"devices": out, "events": events})
}

/// Writes every device's samples (one a second) as CSV: simulated seconds since the start, time
/// error (clock minus true time) and frequency error, and whether the device was running.
fn series(sim: &Simulator, nodes: &BTreeMap<String, NodeId>, path: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "device,t_s,te_ns,freq_error_ppb,up")?;
    let start = at(0);
    for (name, node) in nodes {
        for s in sim.samples(*node) {
            writeln!(
                f,
                "{name},{},{:.3},{:.4},{}",
                (s.at - start).as_secs_f64(),
                s.te.as_nanos_f64(),
                s.freq_error_ppb,
                u8::from(s.up)
            )?;
        }
    }
    f.flush()
}

/// Fewer one-second samples than this after the warm-up and the summary says so.
const MIN_SAMPLES: u64 = 60;

fn summary(report: &Value) {
    println!("\ndevice summary (statistics after the warm-up)");
    let fewest = report["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["te_ns"]["samples"].as_u64())
        .min();
    if let Some(n) = fewest.filter(|n| *n < MIN_SAMPLES) {
        println!("  warning: statistics over {n} samples only (use a longer --duration)");
    }
    for d in report["devices"].as_array().into_iter().flatten() {
        let te = &d["te_ns"];
        let ntp = &d["ntp"];
        let ptp = &d["ptp"];
        let mut line = if d["role"] == "frequency" {
            format!(
                "  {:<12} p99 |FE| {:>12}  {:>17}",
                d["name"].as_str().unwrap_or(""),
                d["freq_error_ppb"]["p99"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.2} ppb")),
                ""
            )
        } else {
            format!(
                "  {:<12} p99 |TE| {:>12}  mean {:>12}",
                d["name"].as_str().unwrap_or(""),
                te["p99"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{:.0} ns", v)),
                te["mean"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{:+.0} ns", v))
            )
        };
        let b = &d["budget"];
        if let Some(limit) = b["limit"].as_f64() {
            let unit = if b["quantity"] == "te_ns" {
                "ns"
            } else {
                "ppb"
            };
            line += &format!(
                "  {} ±{limit} {unit}",
                if b["met"] == true {
                    "within"
                } else {
                    "OUTSIDE"
                }
            );
        }
        if let Some(h) = d["holdover_s"].as_f64().filter(|h| *h > 0.0) {
            line += &format!("  holdover {h:.0} s");
        }
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

/// The VRP shell of one simulated device after the run.
fn shell(
    sim: &mut Simulator,
    nodes: &BTreeMap<String, NodeId>,
    devices: &[Device],
    device: &str,
) -> Result<(), Box<dyn Error>> {
    let node = *nodes
        .get(device)
        .ok_or(format!("unknown device {device}"))?;
    let config = devices
        .iter()
        .find(|d| d.name == device)
        .map(|d| d.config.clone())
        .unwrap_or_default();
    let chain = trace(sim, nodes, devices, device);
    let engine = sim
        .engine_as_mut::<DeviceEngine>(node)
        .ok_or("the device is down")?;
    crate::shell::interactive(&mut crate::shell::Local {
        session: Session::new(config),
        displays: &mut lab_displays(engine, chain),
    })
}

/// The NTP trace of `device` across the lab: each device's own hop, then the device owning its
/// reference address, until a primary or local reference (or a loop).
fn trace(
    sim: &Simulator,
    nodes: &BTreeMap<String, NodeId>,
    devices: &[Device],
    device: &str,
) -> Vec<TraceHop> {
    let mut hops = Vec::new();
    let mut current = device.to_string();
    // The device asks itself first, as the router does, then each reference by its address.
    let mut asked = "127.0.0.1".to_string();
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
        hops.push(TraceHop::of(asked, &status));
        let Reference::Peer(next) = status.reference else {
            break;
        };
        asked = next.to_string();
        match devices
            .iter()
            .find(|d| addresses(&d.config).contains(&next))
        {
            Some(d) if d.name != current => current = d.name.clone(),
            _ => break,
        }
    }
    hops
}

/// A device's displays inside the lab, where `trace` follows the chain to other devices.
fn lab_displays(
    engine: &mut DeviceEngine,
    chain: Vec<TraceHop>,
) -> TraceBy<'_, impl Fn(&DeviceEngine, bool) -> Option<String>> {
    TraceBy {
        engine,
        trace: move |_, json| {
            (!chain.is_empty()).then(|| {
                if json {
                    meridian_vrp::typed_json::ntp_trace(&chain).to_string() + "\n"
                } else {
                    ntp_trace(&chain)
                }
            })
        },
    }
}
