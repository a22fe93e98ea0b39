//! `meridiand` on real loopback sockets with kernel timestamps: two daemons (server and client,
//! each on its own 127.0.0.x address and the virtual clock) synchronize; the control socket
//! displays, rejects and commits; SIGTERM stops the daemon cleanly. The client's virtual clock
//! starts off by a phase and a frequency, and reports its true error (its offset from
//! CLOCK_REALTIME, which the server's virtual clock reads) every second.

use std::path::Path;
use std::time::Duration;

mod common;

use common::{Daemon, Scratch, metric, scrape, shell, shell_lines, wait_for, wait_settled};

#[test]
fn ntp_client_daemon_synchronizes_to_a_server_daemon_and_obeys_its_shell() {
    let dir = Scratch::new("ntp");
    let server = dir.file(
        "server.cfg",
        "sysname Server\n\
         ntp-service refclock-master 2\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.2 255.255.255.255\nreturn\n",
    );
    let client = dir.file(
        "client.cfg",
        "sysname Client\n\
         ntp-service unicast-server 127.0.0.2 port 10123 iburst minpoll 4\n\
         interface LoopBack1\n ip address 127.0.0.3 255.255.255.255\nreturn\n",
    );
    let (sc, cc, report) = (
        dir.0.join("s.sock"),
        dir.0.join("c.sock"),
        dir.0.join("c.jsonl"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let mut srv = Daemon::start(&[
        "--config",
        &s(&server),
        "--ntp-port",
        "10123",
        "--control",
        &s(&sc),
        "--metrics",
        "127.0.0.1:19123",
    ]);
    let mut cli = Daemon::start(&[
        "--config",
        &s(&client),
        "--ntp-port",
        "10123",
        "--control",
        &s(&cc),
        "--virtual-offset-ms",
        "5",
        "--virtual-ppm",
        "20",
        "--report",
        &s(&report),
        "--metrics",
        "127.0.0.1:19124",
    ]);
    // iburst: the 5 ms error is measured and stepped out within seconds.
    let v = wait_settled(&report, 3, 1e6, Duration::from_secs(30));
    assert!(v[0] > 4e6, "the client did not start 5 ms off: {}", v[0]);
    let status = shell(&cc, "display ntp-service status");
    assert!(status.contains("clock status: synchronized"), "{status}");
    assert!(status.contains("reference clock ID: 127.0.0.2"), "{status}");
    assert!(status.contains("clock stratum: 3"), "{status}");
    let sessions = shell(&sc, "display ntp-service status");
    assert!(sessions.contains("clock stratum: 2"), "{sessions}");
    // The same displays as JSON for automation.
    let j: serde_json::Value =
        serde_json::from_str(&shell(&cc, "display ntp-service sessions | json")).unwrap();
    assert_eq!(j[0]["source"], "127.0.0.2", "{j}");
    assert_eq!(j[0]["stratum"], 2, "{j}");
    assert_eq!(j[0]["master"], true, "{j}");
    let delay = j[0]["delay_s"].as_f64().unwrap_or_else(|| panic!("{j}"));
    assert!(delay > 0.0 && delay < 0.01, "{j}");
    let status: serde_json::Value =
        serde_json::from_str(&shell(&cc, "display ntp-service status | json")).unwrap();
    assert_eq!(
        (
            &status["synchronized"],
            &status["stratum"],
            &status["reference"]
        ),
        (
            &serde_json::json!(true),
            &serde_json::json!(3),
            &serde_json::json!("127.0.0.2")
        ),
        "{status}"
    );
    // Displays with no engine state behind them still convert their text.
    let config: serde_json::Value =
        serde_json::from_str(&shell(&cc, "display current-configuration | json")).unwrap();
    assert!(config.is_array(), "{config}");
    // Prometheus metrics: the client's stratum and its peer; the server's clients are counted
    // among its packets, none dropped.
    let m = scrape(19124, "/metrics");
    assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
    assert!(m.contains("\nmeridian_ntp_stratum 3\n"), "{m}");
    assert!(m.contains("\nmeridian_ntp_synchronized 1\n"), "{m}");
    let reach = metric(&m, "meridian_ntp_peer_reach{peer=\"127.0.0.2\"}");
    assert!(reach > 0.0, "{m}");
    assert!(
        m.contains("# TYPE meridian_ntp_dropped_packets_total counter"),
        "{m}"
    );
    let m = scrape(19123, "/metrics");
    assert_eq!(
        metric(
            &m,
            "meridian_ntp_dropped_packets_total{reason=\"malformed\"}"
        ),
        0.0,
        "{m}"
    );
    assert!(scrape(19123, "/other").starts_with("HTTP/1.1 404"));

    // A bad command is pointed at and changes nothing; a commit applies and `save` writes
    // the file atomically.
    wait_for(&sc);
    let err = shell_lines(&sc, &["system-view", "ntp-service refclock-master 99"]);
    assert!(err.contains("Error:") && err.contains('^'), "{err}");
    let out = shell_lines(
        &sc,
        &[
            "system-view",
            "ntp-service refclock-master 4",
            "commit",
            "return",
        ],
    );
    assert_eq!(out, "");
    let saved = shell(&sc, "save");
    assert!(!saved.contains("Error"), "{saved}");
    let text = std::fs::read_to_string(&server).unwrap();
    assert!(text.contains("ntp-service refclock-master 4"), "{text}");
    let status = shell(&sc, "display ntp-service status");
    assert!(status.contains("clock stratum: 4"), "{status}");

    assert!(cli.terminate().success());
    assert!(srv.terminate().success());
}

#[test]
fn ptp_atr_client_daemon_locks_to_a_server_daemon() {
    let dir = Scratch::new("ptp");
    let license = dir.file(
        "license.txt",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/atr-time-profile/license.txt"
        ))
        .unwrap(),
    );
    let common = "ptp-adaptive enable\nptp-adaptive time profile\nptp-adaptive domain 45\n\
                  ptp-adaptive atr unicast-negotiate enable\nptp-adaptive dscp 60\n";
    let server = dir.file(
        "server.cfg",
        &format!(
            "sysname Server\n{common}ptp-adaptive device-type server\n\
             ptp-adaptive local-ip 127.0.0.4\n\
             interface LoopBack0\n ip address 127.0.0.4 255.255.255.255\nreturn\n"
        ),
    );
    let client = dir.file(
        "client.cfg",
        &format!(
            "sysname Client\n{common}ptp-adaptive device-type client\n\
             ptp-adaptive local-ip 127.0.0.5\nptp-adaptive remote-server1-ip 127.0.0.4\n\
             ptp-adaptive request sync-interval 3\n\
             interface LoopBack0\n ip address 127.0.0.5 255.255.255.255\nreturn\n"
        ),
    );
    let (cc, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let ports = "10319,10320";
    let mut srv = Daemon::start(&[
        "--config",
        &s(&server),
        "--license",
        &s(&license),
        "--ptp-ports",
        ports,
        "--metrics",
        "127.0.0.1:19125",
    ]);
    let mut cli = Daemon::start(&[
        "--config",
        &s(&client),
        "--license",
        &s(&license),
        "--ptp-ports",
        ports,
        "--control",
        &s(&cc),
        "--virtual-offset-ms",
        "5",
        "--virtual-ppm",
        "20",
        "--report",
        &s(&report),
    ]);
    // Stepped at once, then the frequency is acquired (about 30 s) and the phase slewed out:
    // ten consecutive seconds within 10 µs of true time.
    wait_settled(&report, 10, 10e3, Duration::from_secs(150));
    let all = shell(&cc, "display ptp-adaptive all");
    assert!(
        all.contains("127.0.0.4") && all.contains("Nego success"),
        "{all}"
    );
    assert!(all.contains("Current trace source    :server1"), "{all}");
    // The server's metrics count its client's Syncs and Delay_Resps.
    let m = scrape(19125, "/metrics");
    assert_eq!(metric(&m, "meridian_ptp_server_clients"), 1.0, "{m}");
    let syncs = metric(
        &m,
        "meridian_ptp_server_messages_total{client=\"127.0.0.5\",type=\"sync\",dir=\"sent\"}",
    );
    let resps = metric(
        &m,
        "meridian_ptp_server_messages_total{client=\"127.0.0.5\",type=\"delay_resp\",dir=\"sent\"}",
    );
    assert!(syncs > 100.0 && resps > 100.0, "{m}");
    assert!(cli.terminate().success());
    assert!(srv.terminate().success());
}

#[test]
fn metrics_only_on_loopback() {
    let dir = Scratch::new("metrics-refused");
    let cfg = dir.file("d.cfg", "sysname D\nreturn\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridiand"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--metrics",
            "192.0.2.1:9123",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback address only"), "{err}");
}

#[test]
fn control_path_never_replaces_a_regular_file() {
    let dir = Scratch::new("control-file");
    let cfg = dir.file("d.cfg", "sysname D\nreturn\n");
    let precious = dir.file("precious.txt", "do not delete\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridiand"))
        .args(["--config", cfg.to_str().unwrap(), "--control"])
        .arg(&precious)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a socket"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "do not delete\n"
    );
}

#[test]
fn a_save_that_cannot_write_is_an_error_for_the_client_not_the_end_of_the_daemon() {
    let dir = Scratch::new("save-fails");
    let cfg = dir.file(
        "d.cfg",
        "sysname D\nntp-service refclock-master 2\n\
         interface LoopBack1\n ip address 127.0.0.61 255.255.255.255\nreturn\n",
    );
    let cc = dir.0.join("c.sock");
    let mut d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--ntp-port",
        "17123",
        "--control",
        cc.to_str().unwrap(),
    ]);
    wait_for(&cc);
    // The temporary file's place is taken by a directory: the write cannot happen.
    std::fs::create_dir(dir.0.join("d.cfg.tmp")).unwrap();
    std::fs::write(dir.0.join("d.cfg.tmp").join("x"), "").unwrap();
    let out = shell(&cc, "save");
    assert!(out.contains("Error: Failed to save"), "{out}");
    // Still serving.
    let status = shell(&cc, "display ntp-service status");
    assert!(status.contains("clock stratum: 2"), "{status}");
    assert!(d.terminate().success());
}

/// The control socket is 0600 by default; `--control-mode 660 --control-group G` opens it to an
/// operators' group; an unknown group stops the start with a clear error.
#[test]
fn control_socket_mode_and_group_are_configurable() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = Scratch::new("control-group");
    let cfg = dir.file("d.cfg", "sysname D\nreturn\n");
    let cc = dir.0.join("c.sock");
    let start = |extra: &[&str]| {
        let mut args = vec![
            "--config",
            cfg.to_str().unwrap(),
            "--control",
            cc.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        // The last run's socket would satisfy `wait_for` before this daemon is up.
        let _ = std::fs::remove_file(&cc);
        let mut d = Daemon::start(&args);
        wait_for(&cc);
        let m = std::fs::metadata(&cc).unwrap();
        let status = d.terminate();
        assert!(status.success(), "{extra:?}: {status:?}");
        m
    };
    assert_eq!(start(&[]).permissions().mode() & 0o777, 0o600);
    // Our own primary group is always ours to give; as root, any group is.
    let gid = nix::unistd::getgid();
    let group = nix::unistd::Group::from_gid(gid).unwrap().unwrap().name;
    let m = start(&["--control-mode", "660", "--control-group", &group]);
    assert_eq!(
        (m.permissions().mode() & 0o777, m.gid()),
        (0o660, gid.as_raw())
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridiand"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--control",
            cc.to_str().unwrap(),
        ])
        .args(["--control-group", "no-such-group-meridian"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--control-group no-such-group-meridian: no such group"),
        "{err}"
    );
}

/// The daemon's own error figures come from one clock reading: a virtual clock started exactly
/// 5 ms off with nothing steering it reports exactly 5 ms, in the report and the metrics (two
/// separate readings read 0.4–3 µs low).
#[test]
fn self_measurement_is_exact_to_the_nanosecond() {
    let dir = Scratch::new("self-measure");
    let cfg = dir.file("d.cfg", "sysname D\nreturn\n");
    let report = dir.0.join("r.jsonl");
    let mut d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--virtual-offset-ms",
        "5",
        "--report",
        report.to_str().unwrap(),
        "--metrics",
        "127.0.0.1:19129",
    ]);
    let v = common::wait_reports(&report, 3, std::time::Duration::from_secs(10));
    assert!(v.iter().all(|x| *x == 5e6), "{v:?}");
    let m = scrape(19129, "/metrics");
    assert_eq!(
        metric(&m, "meridian_clock_offset_from_host_seconds"),
        0.005,
        "{m}"
    );
    assert!(d.terminate().success());
}

/// Seed 004's chain on real sockets: DeviceC (local reference, stratum 2) ← DeviceD ← DeviceE,
/// three daemons. `display ntp-service trace` on DeviceE walks it by asking each server in
/// turn, in the router's format; the same as JSON.
#[test]
fn ntp_trace_walks_a_chain_of_daemons() {
    let dir = Scratch::new("trace");
    let device = |name: &str, own: &str, upstream: Option<&str>, extra: &str| {
        let client = upstream.map_or(String::new(), |u| {
            format!("ntp-service unicast-server {u} port 10133 iburst minpoll 4\n")
        });
        dir.file(
            &format!("{name}.cfg"),
            &format!(
                "sysname {name}\n{extra}{client}ntp-service server source-interface LoopBack1\n\
                 interface LoopBack1\n ip address {own} 255.255.255.255\nreturn\n"
            ),
        )
    };
    let c = device(
        "DeviceC",
        "127.0.1.31",
        None,
        "ntp-service refclock-master 2\n",
    );
    let d = device("DeviceD", "127.0.1.32", Some("127.0.1.31"), "");
    let e = device("DeviceE", "127.0.1.33", Some("127.0.1.32"), "");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let start = |cfg: &Path, control: &Path| {
        Daemon::start(&[
            "--config",
            &s(cfg),
            "--ntp-port",
            "10133",
            "--control",
            &s(control),
        ])
    };
    let controls = ["c", "d", "e"].map(|n| dir.0.join(format!("{n}.sock")));
    let _daemons = [(&c, 0), (&d, 1), (&e, 2)].map(|(cfg, i)| start(cfg, &controls[i]));
    let ce = &controls[2];
    wait_for(ce);
    // DeviceE synchronizes once DeviceD has, at its own 16-s polls (14–46 s here).
    common::wait_until(Duration::from_secs(120), "DeviceE at stratum 4", || {
        shell(ce, "display ntp-service status").contains("clock stratum: 4")
    });
    let trace = shell(ce, "display ntp-service trace");
    eprintln!("{trace}");
    let hops: Vec<(&str, &str)> = trace
        .lines()
        .filter_map(|l| l.strip_prefix(" server "))
        .map(|l| {
            let (addr, rest) = l.split_once(", ").unwrap();
            (addr, rest)
        })
        .collect();
    let servers: Vec<(&str, &str)> = hops
        .iter()
        .map(|(a, rest)| (*a, rest.split(", ").next().unwrap()))
        .collect();
    assert_eq!(
        servers,
        [
            ("127.0.0.1", "stratum 4"),
            ("127.0.1.32", "stratum 3"),
            ("127.0.1.31", "stratum 2")
        ],
        "{trace}"
    );
    assert!(hops.iter().all(|(_, rest)| rest.ends_with(',')), "{trace}");
    assert!(trace.ends_with(" refid LOCL\n"), "{trace}");
    let j: serde_json::Value =
        serde_json::from_str(&shell(ce, "display ntp-service trace | json")).unwrap();
    assert_eq!(j["hops"].as_array().map(Vec::len), Some(3), "{j}");
    assert_eq!(j["hops"][2]["server"], "127.0.1.31", "{j}");
    assert_eq!(j["reference"], "LOCL", "{j}");
    // All three on the host's clock: every measured offset is small.
    for h in j["hops"].as_array().unwrap() {
        let o = h["offset_s"].as_f64().unwrap();
        assert!(o.abs() < 1e-3, "{j}");
    }
}

/// `kill -SIG pid` for a daemon this test started.
fn signal(d: &Daemon, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &d.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[test]
fn a_burst_of_requests_is_read_in_one_call_and_answered_in_one() {
    let dir = Scratch::new("batch");
    let cfg = dir.file(
        "s.cfg",
        "sysname S\nntp-service refclock-master 2\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.13 255.255.255.255\nreturn\n",
    );
    // The time thread answers (no workers): its sockets are the ones counted.
    let mut d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--ntp-port",
        "10133",
        "--ntp-workers",
        "0",
        "--metrics",
        "127.0.0.1:19127",
    ]);
    let io = |op: &str| {
        let s = scrape(19127, "/metrics");
        (
            metric(&s, &format!("meridian_io_calls_total{{op=\"{op}\"}}")),
            metric(&s, &format!("meridian_io_datagrams_total{{op=\"{op}\"}}")),
        )
    };
    // Up within 10 s (200 tries 50 ms apart).
    let up = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", 19127)).is_ok()
    });
    assert!(up && d.alive(), "no metrics");
    let (rx0, tx0) = (io("receive"), io("send"));
    // Twenty clients' requests queue while the daemon is stopped; it wakes to all of them.
    let clients: Vec<std::net::UdpSocket> = (0..20)
        .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    signal(&d, "-STOP");
    for (k, c) in clients.iter().enumerate() {
        let mut req = [0u8; 48];
        req[0] = 0x23; // version 4, mode 3 (client)
        req[40..48].copy_from_slice(&(0x1000 + k as u64).to_be_bytes());
        c.send_to(&req, "127.0.0.13:10133").unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    signal(&d, "-CONT");
    for (k, c) in clients.iter().enumerate() {
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 128];
        let n = c.recv(&mut buf).expect("a reply to every request");
        assert_eq!((n, buf[0] & 7), (48, 4), "client {k}: a server reply");
        assert_eq!(
            buf[24..32],
            (0x1000 + k as u64).to_be_bytes(),
            "client {k}: its own request answered"
        );
    }
    let (rx1, tx1) = (io("receive"), io("send"));
    assert_eq!(
        (rx1.0 - rx0.0, rx1.1 - rx0.1),
        (1.0, 20.0),
        "twenty datagrams read in one call"
    );
    assert_eq!(
        (tx1.0 - tx0.0, tx1.1 - tx0.1),
        (1.0, 20.0),
        "twenty replies sent in one call"
    );
    signal(&d, "-TERM");
    assert!(d.0.wait().unwrap().success());
}
