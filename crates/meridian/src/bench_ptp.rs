//! `meridian bench ptp`: the 1588 ATR/ACR scenarios at full length, with their numbers.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use meridian_proto::unicast::ServoKind;
use meridian_sim::pdv::G8263Load;
use meridian_sim::scenarios::{self, FailoverParams, PdvCase};

fn ns(v: f64) -> String {
    if v.abs() >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v.abs() >= 1e3 {
        format!("{:.2} µs", v / 1e3)
    } else {
        format!("{v:.1} ns")
    }
}

/// One section of the report: its text.
type Section<'a> = Box<dyn Fn() -> String + Send + Sync + 'a>;

/// Runs every scenario on `threads` threads (each scenario is one deterministic simulation:
/// the figures do not depend on how many run at once) and prints the report in order; `quick`
/// shortens the long ones for a smoke run.
pub(crate) fn run(seed: u64, quick: bool, threads: usize) {
    use std::fmt::Write;
    let started = Instant::now();
    let scale = |full: i64, short: i64| if quick { short } else { full };
    let mut sections: Vec<Section<'_>> = Vec::new();

    sections.push(Box::new(move || {
        let mut out = String::from(
            "a. atr-single (hardware timestamps, 5 ppm, 1 ms initial offset; stats after half the run)\n",
        );
        for servo in [ServoKind::Selection, ServoKind::Pi] {
            let r = scenarios::atr_single(seed, servo, scale(3600, 600));
            let _ = writeln!(
                out,
                "   {servo:<9?} p50 {:>9}  p99 {:>9}  max {:>9}",
                ns(r.te.p50_abs_ns),
                ns(r.te.p99_abs_ns),
                ns(r.te.max_abs_ns)
            );
        }
        out
    }));

    sections.push(Box::new(move || {
        let mut out = String::new();
        let p = if quick {
            FailoverParams {
                fail_at: 300,
                restore_at: 420,
                wait_to_restore: 60,
                seconds: 560,
                frequency_span: 64,
            }
        } else {
            FailoverParams::FULL
        };
        let r = scenarios::acr_dual_failover(seed, p);
        let _ = writeln!(
            out,
            "b. acr-dual-failover (server1 path down at {} s, back at {} s, WTR {} s)",
            p.fail_at, p.restore_at, p.wait_to_restore
        );
        let _ = writeln!(
            out,
            "   moved to server2 after {:?} s (limit 3 × 2 + 5 = 11 s); back to server1 {:?} s after restore",
            r.switched_after, r.returned_after
        );
        let _ = writeln!(
            out,
            "   max |frequency error| ({}-s average) from the failure on: {:.2} ppb (limit 16)",
            p.frequency_span, r.max_frequency_error_ppb
        );
        out
    }));

    sections.push(Box::new(move || {
        let r = scenarios::lease_expiry(seed, 60, 200);
        format!(
            "c. lease-expiry: client crashed at {} s; server's last packet {:.2} s later (grant {} s); slot held at end: {}\n",
            r.crash_at, r.last_packet_after_crash, r.duration, r.slot_held_at_end
        )
    }));

    sections.push(Box::new(move || {
        let r = scenarios::capacity(seed, 600, 512, scale(120, 40));
        format!(
            "d. capacity: 600 clients, 512 slots: {} granted, {} locked, {} refused ({} refusals, {} requests from refused clients in {} s)\n",
            r.granted,
            r.synchronized,
            r.refused,
            r.refusals,
            r.requests_from_refused,
            scale(120, 40)
        )
    }));

    let (secs, warm) = (scale(7200, 1500), scale(1800, 750));
    for (k, case) in PdvCase::ALL.into_iter().enumerate() {
        sections.push(Box::new(move || {
            let mut out = String::new();
            if k == 0 {
                let _ = writeln!(
                    out,
                    "e. atr-pdv, 128 packets/s each way, {secs} s, stats after {warm} s: |TE| p50 / p99 / max"
                );
            }
            let sel = scenarios::atr_pdv(seed, case, ServoKind::Selection, secs, warm);
            let pi = scenarios::atr_pdv(seed, case, ServoKind::Pi, secs, warm);
            let _ = writeln!(
                out,
                "   {case:<30} asymmetry floor {}",
                ns(sel.asymmetry_floor_ns)
            );
            for (name, r) in [("selection", &sel), ("PI", &pi)] {
                let _ = writeln!(
                    out,
                    "     {name:<9} {:>9} {:>9} {:>9}",
                    ns(r.te.p50_abs_ns),
                    ns(r.te.p99_abs_ns),
                    ns(r.te.max_abs_ns)
                );
            }
            let _ = writeln!(
                out,
                "     PI / selection at p99: {:.1}×",
                pi.te.p99_abs_ns / sel.te.p99_abs_ns
            );
            out
        }));
    }

    sections.push(Box::new(move || {
        let mut out = String::from("f. acr-pdv, one-way ACR at 16 packets/s, G.8263 Amd.2\n");
        for servo in [ServoKind::Selection, ServoKind::Pi] {
            let r =
                scenarios::acr_pdv(seed, G8263Load::Fixed(80.0), servo, scale(4000, 1500), 400);
            let _ = writeln!(
                out,
                "   80 % fixed, {servo:<9?}: max |freq error| after 400 s: {:.2} ppb instantaneous, {:.2} ppb over 64 s",
                r.max_instant_frequency_error_ppb, r.max_frequency_error_after_settle_ppb
            );
        }
        for servo in [ServoKind::Selection, ServoKind::Pi] {
            let r =
                scenarios::acr_pdv(seed, G8263Load::Flicker, servo, scale(40_000, 6000), 1000);
            let mtie: Vec<String> = r
                .mtie_ns
                .iter()
                .map(|(t, m)| format!("{t} s {}", ns(*m)))
                .collect();
            let _ = writeln!(
                out,
                "   flicker,   {servo:<9?}: p99 |freq error| over 1000-s spans {:.2} ppb; max instantaneous {:.2} ppb; MTIE {}",
                r.p99_frequency_error_1000s_ppb.unwrap_or(f64::NAN),
                r.max_instant_frequency_error_ppb,
                mtie.join(", ")
            );
        }
        out
    }));

    sections.push(Box::new(move || {
        let r = scenarios::boundary_chain(seed, scale(1800, 600));
        format!(
            "g. boundary chain: end client sees stepsRemoved {:?}, grandmaster forwarded {}, clock class {:?}; p99 |TE| boundary {}, end client {}\n",
            r.steps_removed,
            r.grandmaster_forwarded,
            r.clock_class,
            r.te_boundary.map_or("-".into(), |t| ns(t.p99_abs_ns)),
            r.te_client.map_or("-".into(), |t| ns(t.p99_abs_ns)),
        )
    }));

    for text in crate::parallel::map_in_order(&sections, threads, |job| job()) {
        print!("{text}");
    }
    println!(
        "({:.1} s wall, {} thread(s))",
        started.elapsed().as_secs_f64(),
        threads.max(1)
    );
}
