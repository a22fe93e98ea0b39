//! meridiand against chronyd 4.x on loopback (chronyd under `notime` with `-x`: it never touches
//! the host clock). Both sides read the same host clock, so meridian's virtual clock's true error
//! is known and chronyd's offset estimate of meridian should be near zero.

// Wall-clock deadlines bound the waits: this test drives real processes.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;

use common::{
    Daemon, Scratch, assert_well_formed, shell, start_peer, tool_available, tshark_fields, wait_for,
};

/// meridiand's NTP port in the captured test, for tshark.
const NTP_AS: &str = "udp.port==11123,ntp";

/// `chronyc` against the command port, or panics.
fn chronyc(port: u16, args: &[&str]) -> String {
    let out = Command::new("chronyc")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-n"])
        .args(args)
        .output()
        .expect("run chronyc");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn chronyd_selects_meridians_ntp_server_and_agrees_within_50_us() {
    if !tool_available("chronyd") {
        return;
    }
    let dir = Scratch::new("chrony-client");
    let cfg = dir.file(
        "server.cfg",
        "sysname Server\nntp-service refclock-master 1\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.6 255.255.255.255\nreturn\n",
    );
    let d = dir.0.display();
    let conf = dir.file(
        "chrony.conf",
        &format!(
            "port 0\nserver 127.0.0.6 port 11123 iburst minpoll -2 maxpoll 0\n\
             cmdport 11125\nbindcmdaddress 127.0.0.1\nbindcmdaddress /\ncmdallow 127.0.0.1\n\
             pidfile {d}/chronyd.pid\ndriftfile {d}/drift\n"
        ),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let pcap = dir.0.join("ntp.pcapng");
    let capture = capture(&dir, &pcap, "udp port 11123");
    let mut server = Daemon::start(&["--config", &s(&cfg), "--ntp-port", "11123"]);
    let _chrony = start_peer(
        "chronyd",
        &["-x", "-d", "-u", "root", "-f", &s(&conf)],
        &dir.0.join("chronyd.log"),
    );
    // Selected (`^*`) with a settled estimate: poll until both, bounded.
    let mut stats = String::new();
    for _ in 0..60 {
        std::thread::sleep(Duration::from_millis(500));
        let sources = chronyc(11125, &["sources"]);
        stats = chronyc(11125, &["-c", "sourcestats"]);
        let samples = stats.split(',').nth(1).and_then(|n| n.parse::<u32>().ok());
        if sources.contains("^* 127.0.0.6") && samples.is_some_and(|n| n >= 8) {
            break;
        }
    }
    let sources = chronyc(11125, &["sources"]);
    assert!(
        sources.contains("^* 127.0.0.6"),
        "chronyd did not select meridian:\n{sources}"
    );
    assert!(
        sources.contains("127.0.0.6                     1"),
        "stratum 1 expected:\n{sources}"
    );
    // sourcestats CSV: name, samples, runs, span, frequency, skew, offset (s), std dev (s).
    let fields: Vec<&str> = stats.trim().split(',').collect();
    let offset: f64 = fields[6].parse().unwrap();
    let sd: f64 = fields[7].parse().unwrap();
    eprintln!(
        "chronyd's estimate of meridian: offset {:.0} ns, std dev {:.0} ns",
        offset * 1e9,
        sd * 1e9
    );
    assert!(offset.abs() < 50e-6 && sd < 50e-6, "{stats}");
    assert!(server.terminate().success());
    finish_capture(capture, &pcap, NTP_AS, Some("LOCL"));
}

/// tshark on loopback for `filter` (capturing needs root; elsewhere that part is skipped).
fn capture(dir: &Scratch, pcap: &Path, filter: &str) -> Option<Daemon> {
    (nix::unistd::geteuid().is_root() && tool_available("tshark")).then(|| {
        let c = start_peer(
            "tshark",
            &["-q", "-i", "lo", "-f", filter, "-w", pcap.to_str().unwrap()],
            &dir.0.join("tshark.log"),
        );
        std::thread::sleep(Duration::from_secs(2));
        c
    })
}

fn finish_capture(capture: Option<Daemon>, pcap: &Path, decode_as: &str, refid: Option<&str>) {
    match capture {
        Some(mut c) => {
            std::thread::sleep(Duration::from_secs(1));
            c.terminate();
            check_ntp_capture(pcap, decode_as, refid);
        }
        None => eprintln!("SKIPPED: the tshark check of this test needs root"),
    }
}

/// The captured exchange decodes as NTP without malformed or error-level expert items, with
/// the client's requests (mode 3) answered (mode 4) by a stratum-1 server, with reference ID
/// `refid` when given (meridian's local clock is LOCL).
/// ASCII as tshark prints an unprintable reference ID: lowercase hex.
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn check_ntp_capture(pcap: &Path, decode_as: &str, refid: Option<&str>) {
    let fields = |filter: &str, field: &str| tshark_fields(pcap, Some(decode_as), filter, field);
    assert_well_formed(pcap, Some(decode_as));
    let requests = fields("ntp.flags.mode == 3", "frame.number").len();
    let replies = fields("ntp.flags.mode == 4 && ntp.stratum == 1", "ntp.refid");
    assert!(
        requests >= 4 && replies.len() >= 4,
        "{requests} requests, {} replies",
        replies.len()
    );
    assert!(
        replies
            .iter()
            .all(|r| refid.is_none_or(|id| r.starts_with(id) || *r == hex(id))),
        "{replies:?}"
    );
    eprintln!(
        "tshark: {requests} requests, {} replies, none malformed",
        replies.len()
    );
}

#[test]
fn meridians_ntp_client_synchronizes_to_chronyd() {
    if !tool_available("chronyd") {
        return;
    }
    let dir = Scratch::new("chrony-server");
    let d = dir.0.display();
    let conf = dir.file(
        "chrony.conf",
        &format!(
            "port 11124\nbindaddress 127.0.0.1\nlocal stratum 1\nallow 127.0.0.0/8\ncmdport 0\nbindcmdaddress /\n\
             pidfile {d}/chronyd.pid\ndriftfile {d}/drift\n"
        ),
    );
    let cfg = dir.file(
        "client.cfg",
        "sysname Client\nntp-service unicast-server 127.0.0.1 port 11124 iburst minpoll 4\n\
         interface LoopBack1\n ip address 127.0.0.7 255.255.255.255\nreturn\n",
    );
    let (control, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let pcap = dir.0.join("ntp.pcapng");
    let capture = capture(&dir, &pcap, "udp port 11124");
    let _chrony = start_peer(
        "chronyd",
        &["-x", "-d", "-u", "root", "-f", &s(&conf)],
        &dir.0.join("chronyd.log"),
    );
    // The client's virtual clock starts 5 ms ahead and 20 ppm fast.
    let mut client = Daemon::start(&[
        "--config",
        &s(&cfg),
        "--ntp-port",
        "11126",
        "--control",
        &s(&control),
        "--virtual-offset-ms",
        "5",
        "--virtual-ppm",
        "20",
        "--report",
        &s(&report),
    ]);
    // One report a second: wait for 65 of them (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(100);
    let v = loop {
        let v = common::offsets(&report);
        if v.len() >= 65 {
            break v;
        }
        assert!(std::time::Instant::now() < deadline, "{} reports", v.len());
        std::thread::sleep(Duration::from_millis(500));
    };
    let us = |x: f64| (x / 100.0).round() / 10.0;
    eprintln!(
        "meridian client of chronyd, TE (µs) every 10 s: {:?}",
        v.iter().step_by(10).map(|&x| us(x)).collect::<Vec<_>>()
    );
    assert!(v[0] > 4e6, "the client did not start 5 ms off: {}", v[0]);
    let worst = v[60..65].iter().fold(0f64, |m, x| m.max(x.abs()));
    assert!(
        worst < 50e3,
        "|TE| {worst} ns after 60 s; µs: {:?}",
        v.iter().map(|&x| us(x)).collect::<Vec<_>>()
    );
    wait_for(&control);
    let status = shell(&control, "display ntp-service status");
    assert!(status.contains("clock status: synchronized"), "{status}");
    assert!(status.contains("clock stratum: 2"), "{status}");
    assert!(status.contains("reference clock ID: 127.0.0.1"), "{status}");
    assert!(client.terminate().success());
    finish_capture(capture, &pcap, "udp.port==11124,ntp", None);
}
