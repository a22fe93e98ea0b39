//! meridian's interleaved NTP client beside chronyd's basic client of one chronyd, on loopback,
//! both read by an independent probe. A test binary of its own, so that no other test's daemons
//! share the two cores while it measures.

// Wall-clock deadlines bound the waits: this test drives real processes.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

mod common;

use common::{Scratch, shell, tool_available, wait_for};

/// Mean and RMS of probe offsets, ns.
fn mean_rms(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let rms = (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
    (mean, rms)
}

/// The comparison, same run: meridian's interleaved client and chronyd's basic client
/// of one chronyd, each read by an independent probe (interleaved, kernel timestamps, the least
/// delay of four exchanges back to back) over 90–150 s. meridian starts 5 ms and 20 ppm off,
/// chronyd on the host's clock.
#[test]
fn meridians_interleaved_client_is_as_accurate_as_chronyds_basic_client() {
    if !tool_available("chronyd") {
        return;
    }
    let dir = Scratch::new("chrony-xleave");
    let d = dir.0.display();
    // One chronyd server; a chronyd client of it (basic mode, its clock uncontrolled: `-x`
    // keeps its corrections to itself) and meridian's interleaved client of it, both polling
    // from 16 s up (maxpoll 10, both defaults) and both answering NTP, so one probe reads both
    // clocks the same way.
    let server = dir.file(
        "server.conf",
        &format!(
            "port 11140\nbindaddress 127.0.0.1\nlocal stratum 1\nallow 127.0.0.0/8\ncmdport 0\n\
             bindcmdaddress /\npidfile {d}/server.pid\ndriftfile {d}/server.drift\n"
        ),
    );
    let client = dir.file(
        "client.conf",
        &format!(
            "port 11141\nbindaddress 127.0.0.9\nserver 127.0.0.1 port 11140 iburst minpoll 4\n\
             allow 127.0.0.0/8\ncmdport 0\nbindcmdaddress /\n\
             pidfile {d}/client.pid\ndriftfile {d}/client.drift\n"
        ),
    );
    let cfg = dir.file(
        "meridian.cfg",
        "sysname Client\nntp-service unicast-server 127.0.0.1 port 11140 iburst minpoll 4 \
         interleave\nntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.10 255.255.255.255\nreturn\n",
    );
    let (control, report) = (dir.0.join("m.sock"), dir.0.join("m.jsonl"));
    let _server = common::chronyd(&server, &dir.0.join("server.log"));
    let _client = common::chronyd(&client, &dir.0.join("client.log"));
    // meridian's clock starts 5 ms ahead and 20 ppm fast; chronyd's on the host's.
    let mut meridian = common::offset_client(&cfg, "11142", &control, &report, &[]);
    let localhost = std::net::Ipv4Addr::LOCALHOST;
    let mut probes = [
        common::probe::Probe::new(localhost, "127.0.0.9:11141".parse().unwrap()),
        common::probe::Probe::new(localhost, "127.0.0.10:11142".parse().unwrap()),
    ];
    let start = std::time::Instant::now();
    let mut seen: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    while start.elapsed() < Duration::from_secs(150) {
        for (probe, seen) in probes.iter_mut().zip(&mut seen) {
            if let Some(x) = probe.measure(4)
                && start.elapsed() >= Duration::from_secs(90)
            {
                seen.push(x.offset_ns);
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let [(c_mean, c_rms), (m_mean, m_rms)] = [mean_rms(&seen[0]), mean_rms(&seen[1])];
    let own = common::offsets(&report);
    let (own_mean, own_rms) = mean_rms(&own[own.len().saturating_sub(60)..]);
    eprintln!(
        "probe, 90–150 s: chronyd's basic client mean {c_mean:.0} ns RMS {c_rms:.0} ns ({} \
         samples); meridian's interleaved client mean {m_mean:.0} ns RMS {m_rms:.0} ns ({}); \
         meridian's own report mean {own_mean:.0} ns RMS {own_rms:.0} ns",
        seen[0].len(),
        seen[1].len()
    );
    wait_for(&control);
    let sessions = shell(&control, "display ntp-service sessions verbose");
    let interleaved = sessions
        .lines()
        .find_map(|l| l.trim().strip_prefix("interleaved samples: "))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{sessions}"));
    eprintln!("meridian's interleaved samples: {interleaved}");
    assert!(interleaved >= 8, "{sessions}");
    assert!(seen[0].len() >= 60 && seen[1].len() >= 60, "probe samples");
    // The probe and meridian's own report read the same clock two independent ways.
    assert!(
        (m_mean - own_mean).abs() < 300.0,
        "probe {m_mean} ns, own report {own_mean} ns"
    );
    assert!(
        m_rms <= c_rms,
        "meridian RMS {m_rms} ns vs chronyd {c_rms} ns"
    );
    assert!(meridian.terminate().success());
}
