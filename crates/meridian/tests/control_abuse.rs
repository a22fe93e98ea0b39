//! The control and metrics sockets abused while NTP is being served: idle connections, garbage,
//! early close, a slow drip, a 1 MB line, many at once. The daemon stays up, answers NTP within
//! 10 ms throughout, and its shell still works afterwards.
#![allow(clippy::disallowed_methods)] // wall-clock bounds and measurements

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use meridian_proto::ntp::{Header, Packet};
use meridian_proto::time::NtpTimestamp;

mod common;

use common::{Daemon, Scratch, scrape, shell, wait_for};

/// This process's soft limit of open files.
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(1024)
}

fn request(xmt: u64) -> Vec<u8> {
    Packet::new(Header::client_request(4, 4, NtpTimestamp(xmt))).to_vec()
}

#[test]
fn abusive_control_and_metrics_clients_do_not_stop_the_time_service() {
    let dir = Scratch::new("control-abuse");
    let cfg = dir.file(
        "d.cfg",
        "sysname D\nntp-service refclock-master 2\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.71 255.255.255.255\nreturn\n",
    );
    let cc = dir.0.join("c.sock");
    let mut d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--ntp-port",
        "18123",
        "--control",
        cc.to_str().unwrap(),
        "--metrics",
        "127.0.0.1:19171",
    ]);
    wait_for(&cc);
    std::thread::sleep(Duration::from_millis(300));
    let mut held = Vec::new();
    // 1000 idle connections at once that never send: the first 64 each hold a client thread
    // until their 5-s deadline, the rest are told the daemon has too many. (Fewer if this
    // process may not open that many files; the count is printed.)
    let n = open_files_limit().saturating_sub(1200).clamp(100, 1000);
    println!("{n} idle control connections, {n} idle metrics connections");
    for _ in 0..n {
        held.push(UnixStream::connect(&cc).unwrap());
    }
    let mut extra = UnixStream::connect(&cc).unwrap();
    let mut told = String::new();
    extra.read_to_string(&mut told).unwrap();
    assert_eq!(told, "Error: too many connections.\n");
    let mut idle_tcp: Vec<TcpStream> = (0..n)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", 19171)).ok())
        .collect();
    // Cut off after their deadline, they free the threads.
    std::thread::sleep(Duration::from_secs(6));
    // Garbage, then an early close before the reply.
    let mut g = UnixStream::connect(&cc).unwrap();
    g.write_all(&[0xff, 0xfe, b'\n']).unwrap();
    held.push(g);
    let mut early = UnixStream::connect(&cc).unwrap();
    early.write_all(b"display current-configuration\n").unwrap();
    drop(early);
    // A 1 MB line.
    let big = std::thread::spawn({
        let cc = cc.clone();
        move || {
            let mut s = UnixStream::connect(&cc).unwrap();
            let _ = s.write_all(&vec![b'x'; 1 << 20]);
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply);
            reply
        }
    });
    // A slow drip: a byte a second.
    let drip = std::thread::spawn({
        let cc = cc.clone();
        move || {
            let mut s = UnixStream::connect(&cc).unwrap();
            for b in b"display clock\n" {
                if s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    });
    // Meanwhile, NTP: every request answered within 10 ms.
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut worst = Duration::ZERO;
    let mut buf = [0u8; 512];
    for k in 0..60u64 {
        let sent = Instant::now();
        probe
            .send_to(&request(k + 1), ("127.0.0.71", 18123))
            .unwrap();
        let (n, _) = probe.recv_from(&mut buf).expect("an NTP answer");
        worst = worst.max(sent.elapsed());
        assert_eq!(
            Packet::parse(&buf[..n]).unwrap().header.origin_timestamp,
            NtpTimestamp(k + 1)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "slowest NTP answer while abused: {:.2} ms",
        worst.as_secs_f64() * 1e3
    );
    assert!(worst < Duration::from_millis(10), "{worst:?}");
    let big = big.join().unwrap();
    assert!(big.contains("longer than"), "{big}");
    drip.join().unwrap();
    drop(held);
    idle_tcp.clear();
    // Alive, and its shell and metrics still work.
    assert!(d.alive());
    let status = shell(&cc, "display ntp-service status");
    assert!(status.contains("clock stratum: 2"), "{status}");
    assert!(scrape(19171, "/metrics").starts_with("HTTP/1.1 200 OK"));
    assert!(d.terminate().success());
}
