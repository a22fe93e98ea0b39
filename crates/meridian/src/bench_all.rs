//! `meridian bench all`: the three capacity figures of the performance targets in one run,
//! each as a ratio against its reference or target, measured one after the other on this
//! machine (the figures of separate runs on a shared machine are not comparable).

use std::error::Error;

use crate::bench_ptp_server::{Against, PtpServerBench};
use crate::bench_server::{NtpBench, percent};

/// Runs the NTP, PTP-server and simulator benchmarks and prints their ratios.
pub(crate) fn run(quick: bool, ptp_clients: usize) -> Result<(), Box<dyn Error>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut summary = Vec::new();

    println!("== NTP server (one worker) against chronyd");
    let ntp = |workers| {
        crate::bench_server::ntp(&NtpBench {
            seconds: if quick { 3 } else { 5 },
            sockets: 64,
            window: 16,
            workers,
            rounds: if quick { 1 } else { 3 },
            load_cpu: 0,
        })
    };
    let one = ntp(1)?;
    // What bounds the ratio here: the generator's own ceiling, and how much of the server's
    // time is the kernel's (no code of ours can win that part back).
    let bounds = format!(
        "; generator ceiling {:.0} k{}{}{}",
        one.ceiling / 1e3,
        one.chronyd
            .map(|c| format!(" = {:.2}× chronyd", one.ceiling / c))
            .unwrap_or_default(),
        one.kernel_share
            .map(|k| format!(", {} of meridiand's CPU in the kernel", percent(k)))
            .unwrap_or_default(),
        if one.meridiand >= 0.95 * one.ceiling {
            " (meridiand answered all the generator can send: its ratio is a lower bound)"
        } else {
            ""
        }
    );
    summary.push(match one.chronyd {
        Some(c) => format!(
            "NTP server, 1 worker: {:.0} k replies/s, chronyd {:.0} k: {:.2}× (target ≥ 1.5×){bounds}",
            one.meridiand / 1e3,
            c / 1e3,
            one.meridiand / c
        ),
        None => format!("NTP server: chronyd not installed, no ratio{bounds}"),
    });
    // Two workers need two server cores beside the generator's.
    if cores >= 3 {
        println!("== NTP server, two workers");
        let two = ntp(2)?;
        summary.push(format!(
            "NTP server, 2 workers: {:.0} k replies/s: {:.2}× one worker (target ≥ 1.8×)",
            two.meridiand / 1e3,
            two.meridiand / one.meridiand
        ));
    } else {
        summary.push(format!(
            "NTP server, 2 workers: not measured: {cores} cores (the generator takes one, two \
             workers need two more)"
        ));
    }

    println!("== PTP server: meridiand, then ptp4l, {ptp_clients} clients at 128/s");
    let ptp = |against| {
        crate::bench_ptp_server::run(&PtpServerBench {
            clients: ptp_clients,
            log_rate: -7,
            seconds: if quick { 3 } else { 10 },
            load_cpu: 0,
            against,
        })
    };
    let ours = ptp(Against::Meridiand)?;
    let line = match ptp(Against::Ptp4l) {
        Ok(theirs) if theirs.served > 0 => format!(
            "PTP server, {ptp_clients} clients: {:.2} µs CPU per message, ptp4l {:.2}: {:.2}× \
             ptp4l's (target ≤ 0.33×); served {}/{}, late Syncs {} (ptp4l {}); in the kernel \
             {} of meridiand's CPU, {} of ptp4l's",
            ours.cpu_us_per_message,
            theirs.cpu_us_per_message,
            ours.cpu_us_per_message / theirs.cpu_us_per_message,
            ours.served,
            theirs.served,
            ours.late_syncs,
            theirs.late_syncs,
            unknown_or_percent(ours.kernel_share),
            unknown_or_percent(theirs.kernel_share)
        ),
        Ok(_) => format!(
            "PTP server, {ptp_clients} clients: {:.2} µs CPU per message, served {}; ptp4l \
             served none (it stops before this many clients)",
            ours.cpu_us_per_message, ours.served
        ),
        Err(e) => format!(
            "PTP server, {ptp_clients} clients: {:.2} µs CPU per message, served {}; ptp4l: {e}",
            ours.cpu_us_per_message, ours.served
        ),
    };
    summary.push(line);

    println!("== simulator");
    // `bench sim`'s defaults.
    let default = crate::bench::sim(100, 128, 30, true);
    let seconds = if quick { 60 } else { 3600 };
    let big = crate::bench::sim(1000, 16, seconds, true);
    summary.push(format!(
        "simulator: {:.2} M events/s (target ≥ 5 M); 1000 clients × 16 pps: {:.1} wall s per \
         simulated hour{} (target ≤ 60 s)",
        default.events as f64 / default.wall_s / 1e6,
        big.wall_s * 3600.0 / seconds as f64,
        if quick { ", from 60 s" } else { "" }
    ));

    println!("\n== against the targets");
    for line in summary {
        println!("  {line}");
    }
    Ok(())
}

/// A share as a percentage, or "?" where it could not be read.
fn unknown_or_percent(share: Option<f64>) -> String {
    share.map_or_else(|| "?".into(), percent)
}
