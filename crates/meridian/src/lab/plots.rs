//! `meridian lab --plot FILE`: each recovering device's time error (or, for frequency recovery,
//! frequency error) with the start-up above and the steady state below against its budget, and
//! MTIE/TDEV against the masks of the mode. Reference devices (nothing to recover) are left out.

use std::error::Error;
use std::path::{Path, PathBuf};

use meridian_lab::Topology;
use meridian_lab::build::at;
use meridian_lab::topology::DEFAULT_FREQ_BUDGET_PPB;
use meridian_proto::time::Timestamp;
use meridian_sim::metrics::{decade_steps, mtie, tdev};
use meridian_sim::plot::{
    Budget, Quantity, RunChart, RunLayout, Series, g8263_mtie_mask, plot_run, plot_wander,
    te_budget_mtie_bound,
};
use meridian_sim::{NodeId, Simulator};
use meridian_vrp::device::DeviceEngine;

use super::role::{Role, role, te_budget};

/// `path` with `-suffix` before its extension.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!("{stem}-{suffix}.{ext}"))
}

/// One device's series: (seconds since the start, TE ns, frequency error ppb) while up.
struct Device {
    name: String,
    role: Role,
    /// Its time-error budget when it recovers time (see [`super::role::te_budget`]).
    te_budget: Option<f64>,
    points: Vec<(f64, f64, f64)>,
}

/// The topology's scheduled events, labelled for the charts.
fn markers(topo: &Topology) -> Vec<(f64, String)> {
    let mut m: Vec<(f64, String)> = topo
        .failures
        .iter()
        .map(|f| {
            let what = match (&f.link, &f.device) {
                (Some(l), _) => format!("link {}", l.get_ref()),
                (None, Some(d)) => d.get_ref().clone(),
                (None, None) => "?".into(),
            };
            let (t, up) = (f.at.get_ref().0 as f64, if f.up { "up" } else { "down" });
            (t, format!("{what} {up}"))
        })
        .collect();
    m.extend(topo.commits().iter().map(|c| {
        (
            c.at.get_ref().0 as f64,
            format!("commit on {}", c.device.get_ref()),
        )
    }));
    m.sort_by(|a, b| a.0.total_cmp(&b.0));
    m
}

/// What was drawn, for the operator (and the tests): one line per file.
fn describe(path: &Path, q: Quantity, l: &RunLayout, budget: Option<&Budget>) -> String {
    let budget = budget.map_or(" (no budget)".to_string(), |b| {
        format!(
            " (budget ±{}{})",
            q.format(b.limit),
            if l.budget_on_scale { "" } else { ", off scale" }
        )
    });
    format!(
        "wrote {}: {} after the warm-up {} … {}{budget}",
        path.display(),
        q.name(),
        q.format(l.data.0),
        q.format(l.data.1),
    )
}

/// Draws the charts of a finished run next to `path` (`FILE.ext`, `FILE-frequency.ext` when a
/// run recovers both, `FILE-wander.ext`) and says what each shows.
pub(crate) fn plot(
    sim: &Simulator,
    nodes: &std::collections::BTreeMap<String, NodeId>,
    topo: &Topology,
    scenario: &str,
    path: &Path,
    warmup: Timestamp,
) -> Result<(), Box<dyn Error>> {
    let start = at(0);
    let warmup_s = (warmup - start).as_secs_f64();
    let mut devices: Vec<Device> = nodes
        .iter()
        .map(|(name, node)| Device {
            name: name.clone(),
            role: role(sim.engine_as::<DeviceEngine>(*node)),
            te_budget: te_budget(sim.engine_as::<DeviceEngine>(*node), topo.te_budget_ns()),
            points: sim
                .samples(*node)
                .iter()
                .filter(|s| s.up)
                .map(|s| {
                    (
                        (s.at - start).as_secs_f64(),
                        s.te.as_nanos_f64(),
                        s.freq_error_ppb,
                    )
                })
                .collect(),
        })
        .collect();
    // A run with nothing to recover (references only) still gets its charts.
    if devices.iter().all(|d| d.role == Role::Reference) {
        devices.iter_mut().for_each(|d| d.role = Role::Time);
    }
    let of = |role: Role, value: fn(&(f64, f64, f64)) -> f64| -> Vec<Series> {
        devices
            .iter()
            .filter(|d| d.role == role)
            .map(|d| Series {
                name: d.name.clone(),
                points: d.points.iter().map(|p| (p.0, value(p))).collect(),
            })
            .collect()
    };
    let time = of(Role::Time, |p| p.1);
    let freq = of(Role::Frequency, |p| p.2);
    // A budget names where it comes from: the default's origin, or the topology's key. Time
    // devices share one chart: the tightest budget among them (G.8271.1's for a 1588 client,
    // none for NTP alone unless the topology sets one).
    let te_budget = devices
        .iter()
        .filter(|d| d.role == Role::Time)
        .filter_map(|d| d.te_budget)
        .reduce(f64::min)
        .map(|limit| Budget {
            limit,
            source: if topo.te_budget_ns().is_some() {
                "te_budget_ns"
            } else {
                "G.8271.1 end application"
            }
            .into(),
        });
    let freq_budget = Budget {
        limit: topo.freq_budget_ppb(),
        source: if topo.freq_budget_ppb() == DEFAULT_FREQ_BUDGET_PPB {
            "frequency recovery"
        } else {
            "freq_budget_ppb"
        }
        .into(),
    };
    let markers = markers(topo);
    let mut said = Vec::new();
    let mut chart = |p: &Path, q: Quantity, series: &[Series], budget: Option<Budget>| {
        let title = format!("{scenario}: {}", q.name());
        let c = RunChart {
            title: &title,
            quantity: q,
            series,
            warmup_s,
            budget: budget.clone(),
            markers: markers.clone(),
        };
        plot_run(p, &c).map(|l| said.push(describe(p, q, &l, budget.as_ref())))
    };
    if !time.is_empty() {
        chart(path, Quantity::TimeError, &time, te_budget.clone())?;
    }
    if !freq.is_empty() {
        let p = if time.is_empty() {
            path.to_path_buf()
        } else {
            beside(path, "frequency")
        };
        chart(&p, Quantity::FrequencyError, &freq, Some(freq_budget))?;
    }

    // Wander of every recovering device's time error after the warm-up, against the masks of
    // the modes present.
    let (mut mt, mut td) = (Vec::new(), Vec::new());
    let g8263 = g8263_mtie_mask();
    let mask_end = g8263.points.last().map_or(0.0, |p| p.0);
    let mut longest = 0.0_f64;
    for d in devices.iter().filter(|d| d.role != Role::Reference) {
        let x: Vec<f64> = d
            .points
            .iter()
            .filter(|p| p.0 >= warmup_s)
            .map(|p| p.1)
            .collect();
        let taus = decade_steps(x.len() / 3);
        let m: Vec<(f64, f64)> = taus
            .iter()
            .filter_map(|&n| Some((n as f64, mtie(&x, n)?)))
            .collect();
        longest = longest.max(m.last().map_or(0.0, |p| p.0));
        // Say in the legend where a frequency-recovering device leaves its mask.
        let above = (d.role == Role::Frequency)
            .then(|| m.iter().find(|p| p.0 <= mask_end && p.1 > 1000.0))
            .flatten();
        let name = match above {
            Some(p) => format!("{} (above the G.8263 mask from τ = {} s)", d.name, p.0),
            None => d.name.clone(),
        };
        mt.push(Series { name, points: m });
        td.push(Series {
            name: d.name.clone(),
            points: taus
                .iter()
                .filter_map(|&n| Some((n as f64, tdev(&x, n)?)))
                .collect(),
        });
    }
    let mut masks = Vec::new();
    if let Some(b) = te_budget.as_ref().filter(|_| !time.is_empty()) {
        masks.push(te_budget_mtie_bound(b.limit, &b.source, longest));
    }
    if !freq.is_empty() {
        masks.push(g8263);
    }
    let wander = beside(path, "wander");
    plot_wander(
        &wander,
        &format!("{scenario} (after the warm-up)"),
        &mt,
        &td,
        &masks,
    )?;
    said.push(format!(
        "wrote {}: MTIE and TDEV of {} device(s)",
        wander.display(),
        mt.len()
    ));
    for line in said {
        eprintln!("{line}");
    }
    Ok(())
}
