//! meridiand's NTP server workers on loopback: clients from many addresses are answered by
//! the workers (basic and interleaved, with what the time thread serves now), the association
//! traffic that reaches the workers' sockets is handed to the time thread, a commit reaches
//! the workers, and their counts reach the metrics.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::Duration;

mod common;

use common::probe::Probe;
use common::{Daemon, Scratch, metric, scrape, shell, shell_lines, wait_until};
use meridian_proto::ntp::{Header, Packet};
use meridian_proto::time::NtpTimestamp;

/// One basic request from `from` to `server`: the reply's header.
fn ask(from: Ipv4Addr, server: SocketAddrV4) -> Option<Header> {
    let s = UdpSocket::bind((from, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let req = Header::client_request(4, 6, NtpTimestamp(0x1234_5678));
    s.send_to(&Packet::new(req).to_vec(), server).unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = s.recv_from(&mut buf).ok()?;
    let h = Packet::parse(&buf[..n]).ok()?.header;
    assert_eq!(h.origin_timestamp, req.transmit_timestamp);
    Some(h)
}

#[test]
fn server_workers_answer_clients_and_hand_the_rest_to_the_time_thread() {
    let dir = Scratch::new("ntp-workers");
    let upstream = dir.file(
        "upstream.cfg",
        "sysname Upstream\nntp-service refclock-master 1\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.31 255.255.255.255\nreturn\n",
    );
    // The served address is also the association's source: the upstream's replies arrive on
    // the workers' group and must reach the time thread.
    let served = dir.file(
        "served.cfg",
        "sysname Served\nntp-service unicast-server 127.0.0.31 port 10133 iburst minpoll 4\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.32 255.255.255.255\nreturn\n",
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let control = dir.0.join("served.sock");
    let _up = Daemon::start(&["--config", &s(&upstream), "--ntp-port", "10133"]);
    let log = dir.0.join("served.log");
    let mut d = Daemon::start_logged(
        &[
            "--config",
            &s(&served),
            "--ntp-port",
            "10133",
            "--ntp-workers",
            "2",
            "--control",
            &s(&control),
            "--metrics",
            "127.0.0.1:19133",
        ],
        &log,
    );
    common::wait_for(&control);
    wait_until(
        Duration::from_secs(30),
        "synchronized to the upstream",
        || shell(&control, "display ntp-service status").contains("clock stratum: 2"),
    );
    let status = shell(&control, "display ntp-service status");
    assert!(
        status.contains("reference clock ID: 127.0.0.31"),
        "{status}"
    );
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", d.0.id()))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .filter(|c| c.starts_with("ntp-server-"))
        .collect();
    assert_eq!(threads.len(), 2, "{threads:?}");

    // Clients from eight addresses (steered to both workers): answered with what the time
    // thread serves now, stratum 2 from 127.0.0.31.
    let server = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 32), 10133);
    for k in 40..48 {
        let h = ask(Ipv4Addr::new(127, 0, 0, k), server).expect("answered");
        assert_eq!(
            (h.stratum, h.reference_id.0),
            (2, [127, 0, 0, 31]),
            "client 127.0.0.{k}"
        );
    }
    // Interleaved clients get the previous reply's kernel transmit timestamp from the worker
    // that sent it: the served clock, on the host's own, measures within 50 µs.
    for k in 50..54 {
        let mut p = Probe::new(Ipv4Addr::new(127, 0, 0, k), server);
        let sample = p.measure(6).expect("interleaved replies");
        assert!(
            sample.offset_ns.abs() < 50e3,
            "client 127.0.0.{k}: {sample:?}"
        );
    }
    // The workers' counts reach the metrics (within their 100-ms hand-over).
    wait_until(Duration::from_secs(5), "replies counted", || {
        let m = scrape(19133, "/metrics");
        metric(&m, "meridian_ntp_server_packets_total{kind=\"reply\"}") >= 8.0 + 4.0 * 6.0
            && metric(
                &m,
                "meridian_ntp_server_packets_total{kind=\"interleaved\"}",
            ) >= 4.0
    });

    // A commit reaches the workers: 127.0.0.40 denied, kissed.
    let out = shell_lines(
        &control,
        &[
            "system-view",
            "acl number 2001",
            "rule deny source 127.0.0.40 0.0.0.0",
            "rule permit source 127.0.0.0 0.255.255.255",
            "quit",
            "ntp-service access peer 2001",
            "ntp-service kod-enable",
            "commit",
            "return",
        ],
    );
    assert_eq!(out, "");
    let h = ask(Ipv4Addr::new(127, 0, 0, 40), server).expect("kissed");
    assert_eq!((h.stratum, h.reference_id.0), (0, *b"DENY"));
    assert_eq!(
        ask(Ipv4Addr::new(127, 0, 0, 41), server).unwrap().stratum,
        2
    );
    assert!(d.terminate().success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("2 worker thread(s) on 127.0.0.32:10133"),
        "{log}"
    );
}
