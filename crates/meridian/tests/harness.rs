//! The multi-host harness: one meridiand per network namespace on real sockets with virtual
//! clocks, impaired by `meridian relay` (user-space delay and PDV from the simulator's models;
//! this kernel has no netem). All namespaces read the one host clock, so every virtual clock's
//! true error is known.
// Wall-clock deadlines bound the waits: this test drives real processes.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

mod common;

use common::{Namespaces, Scratch, shell, start_peer, wait_for, wait_settled};

/// Root and `ip` are needed; missing, the test skips visibly or fails under
/// `MERIDIAN_REQUIRE_PEERS=1`.
fn available() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let ip = Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if root && ip {
        return true;
    }
    assert!(
        !std::env::var("MERIDIAN_REQUIRE_PEERS").is_ok_and(|v| v == "1"),
        "the namespace harness is required but needs root ({root}) and ip ({ip})"
    );
    eprintln!("SKIPPED: the namespace harness needs root ({root}) and ip ({ip})");
    false
}

#[test]
fn ntp_client_converges_through_a_pdv_relay() {
    if !available() {
        return;
    }
    let dir = Scratch::new("harness-ntp");
    let ns = Namespaces::new('h');
    // The relay gets its own address beside the client's.
    let out = Command::new("ip")
        .args([
            "-n",
            &ns.b,
            "addr",
            "add",
            "192.0.2.3/24",
            "dev",
            &ns.veth_b,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = dir.file(
        "server.cfg",
        "sysname Server\nntp-service refclock-master 1\n\
         ntp-service server source-interface gigabitethernet 0/1/0\n\
         interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.1 255.255.255.0\n\
         return\n",
    );
    // The client's server is the relay.
    let client = dir.file(
        "client.cfg",
        "sysname Client\nntp-service unicast-server 192.0.2.3 iburst minpoll 4\n\
         interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.2 255.255.255.0\n\
         return\n",
    );
    let (control, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let _server = start_peer(
        "ip",
        &[
            "netns",
            "exec",
            &ns.a,
            env!("CARGO_BIN_EXE_meridiand"),
            "--config",
            &s(&server),
        ],
        &dir.0.join("server.log"),
    );
    // 200 µs each way plus exponential PDV of mean 100 µs (and the relay's own scheduling): most
    // exchanges are delayed well
    // beyond the floor, and the clock filter must find the few that are not.
    let _relay = start_peer(
        "ip",
        &[
            "netns",
            "exec",
            &ns.b,
            env!("CARGO_BIN_EXE_meridian"),
            "relay",
            "--listen",
            "192.0.2.3",
            "--client",
            "192.0.2.2",
            "--server",
            "192.0.2.1",
            "--ports",
            "123",
            "--floor-us",
            "200",
            "--pdv",
            "{ model = \"exponential\", mean_us = 100 }",
        ],
        &dir.0.join("relay.log"),
    );
    let _client = start_peer(
        "ip",
        &[
            "netns",
            "exec",
            &ns.b,
            env!("CARGO_BIN_EXE_meridiand"),
            "--config",
            &s(&client),
            "--control",
            &s(&control),
            "--virtual-offset-ms",
            "5",
            "--virtual-ppm",
            "20",
            "--report",
            &s(&report),
        ],
        &dir.0.join("client.log"),
    );
    let v = wait_settled(&report, 10, 100e3, Duration::from_secs(240));
    let us = |x: f64| (x / 100.0).round() / 10.0;
    eprintln!(
        "NTP client through the PDV relay: within 100 µs for 10 s after {} s; TE (µs) every 10 s: {:?}",
        v.len(),
        v.iter().step_by(10).map(|&x| us(x)).collect::<Vec<_>>()
    );
    assert!(v[0] > 4e6, "the client did not start 5 ms off: {}", v[0]);
    wait_for(&control);
    let status = shell(&control, "display ntp-service status");
    assert!(status.contains("clock stratum: 2"), "{status}");
    assert!(status.contains("reference clock ID: 192.0.2.3"), "{status}");
    // The relay's delay shows in the measured round trip: at least the two floors.
    let j: serde_json::Value =
        serde_json::from_str(&shell(&control, "display ntp-service sessions | json")).unwrap();
    let delay: f64 = j[0]["delay"]
        .as_str()
        .and_then(|d| d.trim_end_matches(" ms").parse().ok())
        .unwrap_or_else(|| panic!("{j}"));
    assert!(delay >= 0.4, "round trip {delay} ms");
}
