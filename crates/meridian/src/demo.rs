//! The simulator demo: seed 004's LAN (DeviceC 10.0.1.31, DeviceD .32, DeviceE .33) with
//! free-running oscillators, software timestamp noise and G.8263 PDV. No protocol engine steers
//! the clocks yet, so the numbers show what the NTP and PTP engines will have to remove; the
//! pipeline (oscillators, links, metrics, plots, pcap) is the one `meridian lab` will use.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

use meridian_proto::ptp;
use meridian_proto::time::{Duration, Timestamp};
use meridian_sim::metrics::{decade_steps, mtie, summarize, tdev};
use meridian_sim::pdv::{G8263Load, PdvModel};
use meridian_sim::plot::{Series, g8263_mtie_mask, plot_te, plot_wander};
use meridian_sim::workload::Pinger;
use meridian_sim::{LinkModel, NodeConfig, OscillatorModel, Simulator, Vertex};

pub(crate) fn run(seed: u64, duration: u64, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(out)?;
    let start = Timestamp::from_secs(1_800_000_000);
    let mut sim = Simulator::new(seed, start);
    let lan = sim.add_segment("LAN 10.0.1.0/24");
    let devices = [
        ("DeviceC", 31u8, 0.0),
        ("DeviceD", 32, 4_000.0),
        ("DeviceE", 33, -2_500.0),
    ];
    let addr = |d: u8| Ipv4Addr::new(10, 0, 1, d);
    for (name, host, ppb) in devices {
        let peers: Vec<SocketAddrV4> = devices
            .iter()
            .filter(|d| d.1 != host)
            .map(|d| SocketAddrV4::new(addr(d.1), ptp::EVENT_PORT))
            .collect();
        let me = SocketAddrV4::new(addr(host), ptp::EVENT_PORT);
        let osc = OscillatorModel {
            initial_phase: Duration::from_micros(if host == 31 { 0 } else { 200 }),
            frequency_ppb: ppb,
            wander_ppb: 0.5,
            wander_step: Duration::SECOND,
            timestamp_noise_ns: 1_000.0,
        };
        let id = sim.add_node(
            NodeConfig {
                name: name.into(),
                addresses: vec![addr(host)],
                oscillator: osc,
            },
            Box::new(move |ctx| {
                Box::new(
                    Pinger::new(me, peers.clone(), Duration::from_secs(1), ctx.seed)
                        .without_steering(),
                )
            }),
        );
        let link = LinkModel::symmetric(
            Duration::ZERO,
            PdvModel::G8263 {
                load: G8263Load::Flicker,
            },
        );
        sim.add_link(Vertex::Node(id), Vertex::Segment(lan), link);
    }
    sim.sample_every(Duration::SECOND);
    let pcap_path = out.join("demo.pcap");
    sim.capture(Box::new(std::io::BufWriter::new(std::fs::File::create(
        &pcap_path,
    )?)))?;
    sim.run_for(Duration::from_secs(duration as i64));
    sim.finish_capture()?;

    let names: Vec<_> = sim
        .node_names()
        .map(|(id, n)| (id, n.to_string()))
        .collect();
    let (mut te_series, mut mtie_series, mut tdev_series) = (Vec::new(), Vec::new(), Vec::new());
    println!(
        "seed {seed}, {duration} s simulated, {} packets, trace {:016x}",
        sim.stats().sent,
        sim.trace_hash().unwrap_or_default()
    );
    println!(
        "{:<8} {:>14} {:>14} {:>12} {:>12} {:>12}",
        "device", "p99 |TE| (ns)", "max |TE| (ns)", "MTIE 10s", "MTIE 100s", "TDEV 10s"
    );
    for (id, name) in &names {
        let samples = sim.samples(*id);
        let t0 = samples.first().map_or(start, |s| s.at);
        let x: Vec<f64> = samples.iter().map(|s| s.te.as_nanos_f64()).collect();
        let s = summarize(samples, start).ok_or("no samples")?;
        let m = |n| mtie(&x, n).map_or("-".into(), |v| format!("{v:.0}"));
        let t = |n| tdev(&x, n).map_or("-".into(), |v| format!("{v:.1}"));
        println!(
            "{name:<8} {:>14.0} {:>14.0} {:>12} {:>12} {:>12}",
            s.p99_abs_ns,
            s.max_abs_ns,
            m(10),
            m(100),
            t(10)
        );
        te_series.push(Series {
            name: name.clone(),
            points: samples
                .iter()
                .map(|s| ((s.at - t0).as_secs_f64(), s.te.as_nanos_f64()))
                .collect(),
        });
        let taus = decade_steps(x.len() / 3);
        mtie_series.push(Series {
            name: name.clone(),
            points: taus
                .iter()
                .filter_map(|&n| Some((n as f64, mtie(&x, n)?)))
                .collect(),
        });
        tdev_series.push(Series {
            name: name.clone(),
            points: taus
                .iter()
                .filter_map(|&n| Some((n as f64, tdev(&x, n)?)))
                .collect(),
        });
    }
    plot_te(
        &out.join("te.png"),
        "Time error, free-running (seed 004 LAN)",
        &te_series,
    )?;
    plot_wander(
        &out.join("wander.png"),
        "seed 004 LAN",
        &mtie_series,
        &tdev_series,
        &[g8263_mtie_mask()],
    )?;
    println!(
        "wrote {}, {}, {}",
        out.join("te.png").display(),
        out.join("wander.png").display(),
        pcap_path.display()
    );
    Ok(())
}
