//! meridiand's NTP client against ntpsec 1.2 in orphan mode, each in its own network namespace
//! (ntpsec's port 123 is fixed). ntpsec runs without CAP_SYS_TIME (setpriv) with `disable ntp` and
//! `disable kernel`: it serves the host clock and never adjusts it, so the client's
//! virtual-clock offset from CLOCK_REALTIME is its true error.
// Wall-clock deadlines bound the waits: this test drives real processes.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;

use common::{Namespaces, Scratch, assert_well_formed, capture_in, shell, start_in, tshark_fields};

/// Where ntpsec's ntpd is: `MERIDIAN_NTPSEC_NTPD`, else the unpacked package `.ci/run` leaves in
/// /opt/ntpsec (the package conflicts with chrony's, so it is not installed), else `ntpd` on the
/// path if that is ntpsec.
fn ntpd() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("MERIDIAN_NTPSEC_NTPD").map(PathBuf::from),
        Some(PathBuf::from("/opt/ntpsec/usr/sbin/ntpd")),
        Some(PathBuf::from("ntpd")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ntpsec"))
    })
}

/// Whether this test can run here: root (namespaces), `ip` and ntpsec. Missing pieces skip
/// visibly, or fail under `MERIDIAN_REQUIRE_PEERS=1`.
fn available() -> Option<PathBuf> {
    let ntpd = ntpd();
    let [root, ip] = common::namespace_needs();
    common::require("ntpsec interop", &[root, ip, ("ntpsec", ntpd.is_some())])
        .then_some(ntpd)
        .flatten()
}

#[test]
fn meridians_ntp_client_synchronizes_to_ntpsec_in_orphan_mode() {
    let Some(ntpd) = available() else {
        return;
    };
    let dir = Scratch::new("ntpsec");
    let ns = Namespaces::new('n');
    let d = dir.0.display();
    // Orphan mode without sources: ntpsec serves at stratum 5 at once (orphanwait 0).
    let conf = dir.file(
        "ntp.conf",
        &format!("tos orphan 5 orphanwait 0\ndisable ntp\ndisable kernel\ndriftfile {d}/drift\n"),
    );
    let cfg = dir.file(
        "client.cfg",
        "sysname Client\nntp-service unicast-server 192.0.2.1 iburst minpoll 4\n\
         interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.2 255.255.255.0\n\
         return\n",
    );
    let (control, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let pcap = dir.0.join("ntp.pcapng");
    let mut capture = capture_in(
        &ns.b,
        &ns.veth_b,
        Some("udp port 123"),
        &pcap,
        &dir.0.join("tshark.log"),
    );
    let _ntpd = start_in(
        &ns.a,
        &s(&ntpd),
        &["-n", "-c", &s(&conf)],
        &dir.0.join("ntpd.log"),
    );
    // Let ntpsec open its sockets before the client's first burst.
    std::thread::sleep(Duration::from_secs(2));
    // The client's virtual clock starts 5 ms ahead and 20 ppm fast.
    let mut client = start_in(
        &ns.b,
        env!("CARGO_BIN_EXE_meridiand"),
        &[
            "--config",
            &s(&cfg),
            "--control",
            &s(&control),
            "--virtual-offset-ms",
            "5",
            "--virtual-ppm",
            "20",
            "--report",
            &s(&report),
        ],
        &dir.0.join("meridiand.log"),
    );
    let v = common::wait_reports(&report, 65, Duration::from_secs(100));
    common::check_te_after_60s("meridian client of ntpsec", &v);
    // Stratum = ntpsec's orphan stratum + 1; the reference is ntpsec's address.
    let status = shell(&control, "display ntp-service status");
    assert!(status.contains("clock status: synchronized"), "{status}");
    assert!(status.contains("clock stratum: 6"), "{status}");
    assert!(status.contains("reference clock ID: 192.0.2.1"), "{status}");
    assert!(client.terminate().success());
    std::thread::sleep(Duration::from_secs(1));
    capture.terminate();
    assert_well_formed(&pcap, None);
    let requests = tshark_fields(&pcap, None, "ntp.flags.mode == 3", "frame.number").len();
    let replies = tshark_fields(
        &pcap,
        None,
        "ntp.flags.mode == 4 && ntp.stratum == 5",
        "frame.number",
    )
    .len();
    eprintln!("tshark: {requests} requests, {replies} stratum-5 replies, none malformed");
    assert!(requests >= 6 && replies >= 6, "{requests} / {replies}");
}
