//! The attacks of the hostile-input issue, each on real loopback sockets against a running
//! `meridiand` (virtual clock): a rogue PTP upstream, a rogue NTP server's RATE kiss, forged
//! symmetric peers, and a storm of spoofed PTP REQUESTs. Each shows the daemon alive, its
//! packet rate at its configured rate, its clock unmoved, its state and log bounded.
#![allow(clippy::disallowed_methods)] // wall-clock bounds and the forgers' view of real time

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use meridian_proto::ntp::{Header as NtpHeader, LeapIndicator, Mode, Packet, ReferenceId};
use meridian_proto::ptp::{
    Announce, Body, ClockIdentity, ClockQuality, Flags, GrantTlv, Header, LogInterval, Message,
    MessageType, PortIdentity, RequestTlv, SequenceId, Signaling, SignalingTlv, TimeSource,
};
use meridian_proto::time::{Duration as Span, NtpShort, NtpTimestamp, Timestamp};

mod common;

use common::{Daemon, Scratch, metric, offsets, scrape, shell, wait_for};

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn license(dir: &Scratch) -> String {
    s(&dir.file("license.txt", "clock-synchronization\n"))
}

fn socket(ip: [u8; 4], port: u16) -> UdpSocket {
    let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::from(ip), port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    sock
}

fn realtime() -> Timestamp {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Timestamp::from_ticks(i128::from(d.as_secs() as i64) * (1_000_000_000i128 << 32))
        + Span::from_nanos(i64::from(d.subsec_nanos()))
}

const ROGUE_ID: PortIdentity = PortIdentity {
    clock_identity: ClockIdentity([0x66; 8]),
    port_number: 1,
};

fn ptp(seq: u16, body: Body) -> Vec<u8> {
    Message {
        header: Header {
            flags: Flags::UNICAST,
            ..Header::new(ROGUE_ID, 44, SequenceId(seq))
        },
        body,
    }
    .to_vec()
}

fn grant(to: PortIdentity, grants: &[(MessageType, i8)]) -> Vec<u8> {
    ptp(
        1,
        Body::Signaling(Signaling {
            target_port: to,
            tlvs: grants
                .iter()
                .map(|&(t, l)| {
                    SignalingTlv::Grant(GrantTlv {
                        message_type: t,
                        log_period: LogInterval(l),
                        duration: 300,
                        renewal_invited: true,
                    })
                })
                .collect(),
        }),
    )
}

fn announce() -> Vec<u8> {
    ptp(
        1,
        Body::Announce(Announce {
            origin_timestamp: realtime().to_ptp_truncated(),
            current_utc_offset: 37,
            priority1: 128,
            clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4E5D,
            },
            priority2: 128,
            grandmaster_identity: ClockIdentity([0x66; 8]),
            steps_removed: 0,
            time_source: TimeSource::GNSS,
        }),
    )
}

/// A rogue "server" grants Announce with logInterval 100 (the remote crash) and Delay_Resp
/// with −128 (the flood): the client stays up and sends Delay_Req at its configured 128/s.
#[test]
fn a_rogue_ptp_upstream_neither_crashes_nor_floods_the_client() {
    let dir = Scratch::new("rogue-ptp");
    let cfg = dir.file(
        "client.cfg",
        "sysname Client\nptp-adaptive enable\nptp-adaptive time profile\n\
         ptp-adaptive domain 44\nptp-adaptive atr unicast-negotiate enable\n\
         ptp-adaptive device-type client\nptp-adaptive local-ip 127.0.0.13\n\
         ptp-adaptive remote-server1-ip 127.0.0.12\n\
         interface LoopBack0\n ip address 127.0.0.13 255.255.255.255\nreturn\n",
    );
    let event = socket([127, 0, 0, 12], 13319);
    let general = socket([127, 0, 0, 12], 13320);
    let mut d = Daemon::start(&[
        "--config",
        &s(&cfg),
        "--license",
        &license(&dir),
        "--ptp-ports",
        "13319,13320",
    ]);
    let client_general = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 13), 13320);
    let client_event = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 13), 13319);
    let mut buf = [0u8; 1500];
    let mut delay_reqs = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(12) {
        if let Ok((n, _)) = general.recv_from(&mut buf)
            && let Ok(m) = Message::parse(&buf[..n])
            && let Body::Signaling(sig) = &m.body
        {
            let asked: Vec<MessageType> = sig
                .tlvs
                .iter()
                .filter_map(|t| match t {
                    SignalingTlv::Request(r) => Some(r.message_type),
                    _ => None,
                })
                .collect();
            let hostile: Vec<(MessageType, i8)> = asked
                .iter()
                .map(|&t| match t {
                    MessageType::Announce => (t, 100),
                    MessageType::DelayResp => (t, -128),
                    _ => (t, 0),
                })
                .collect();
            if !hostile.is_empty() {
                general
                    .send_to(&grant(m.header.source_port, &hostile), client_general)
                    .unwrap();
                general.send_to(&announce(), client_general).unwrap();
                let sync = ptp(
                    1,
                    Body::Sync {
                        origin_timestamp: realtime().to_ptp_truncated(),
                    },
                );
                event.send_to(&sync, client_event).unwrap();
            }
        }
        // Drain what came, bounded: at 128/s the next one is always within the read timeout.
        for _ in 0..64 {
            let Ok((n, _)) = event.recv_from(&mut buf) else {
                break;
            };
            if matches!(
                Message::parse(&buf[..n]).map(|m| m.body),
                Ok(Body::DelayReq { .. })
            ) {
                delay_reqs.push(start.elapsed());
            }
        }
    }
    assert!(d.alive(), "meridiand died: {:?}", d.0.try_wait());
    assert!(
        !delay_reqs.is_empty(),
        "the hostile grants were not exercised"
    );
    // From 7 s to 12 s at most the configured 128/s (and not 40 000–150 000/s).
    let window = Duration::from_secs(7)..Duration::from_secs(12);
    let late = delay_reqs.iter().filter(|t| window.contains(t)).count();
    println!("Delay_Req from 7 s to 12 s: {late}");
    assert!(late <= 5 * 128 + 64, "{late} Delay_Req in 5 s");
    assert!(d.terminate().success());
}

fn ntp_header(mode: Mode, stratum: u8) -> NtpHeader {
    NtpHeader {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode,
        stratum,
        poll: 4,
        precision: -20,
        root_delay: NtpShort(0),
        root_dispersion: NtpShort(0),
        reference_id: ReferenceId(*b"GPS\0"),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::ZERO,
    }
}

/// A rogue server answers with a RATE kiss of poll 127 and the right origin: the client slows
/// down (and does not send 18 000–125 000 requests/s).
#[test]
fn a_rate_kiss_with_poll_127_slows_the_client_down() {
    let dir = Scratch::new("rate-kiss");
    let cfg = dir.file(
        "client.cfg",
        "sysname Client\nntp-service unicast-server 127.0.0.22 port 14123 iburst minpoll 4\n\
         interface LoopBack1\n ip address 127.0.0.23 255.255.255.255\nreturn\n",
    );
    let rogue = socket([127, 0, 0, 22], 14123);
    let mut d = Daemon::start(&["--config", &s(&cfg), "--ntp-port", "14124"]);
    let mut buf = [0u8; 1500];
    let mut requests = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(12) {
        let Ok((n, from)) = rogue.recv_from(&mut buf) else {
            continue;
        };
        let Ok(req) = Packet::parse(&buf[..n]).map(|p| p.header) else {
            continue;
        };
        requests.push(start.elapsed());
        let kiss = NtpHeader {
            leap: LeapIndicator::Unsynchronized,
            poll: 127,
            reference_id: ReferenceId(*b"RATE"),
            origin_timestamp: req.transmit_timestamp,
            transmit_timestamp: req.transmit_timestamp,
            ..ntp_header(Mode::Server, 0)
        };
        rogue.send_to(&Packet::new(kiss).to_vec(), from).unwrap();
    }
    assert!(d.alive());
    println!("requests in 12 s: {}", requests.len());
    assert!(!requests.is_empty(), "the client never asked");
    // After the first kiss it backs off to its maxpoll: at most the first request and one more.
    assert!(
        requests.len() <= 3,
        "{} requests: {requests:?}",
        requests.len()
    );
    assert!(d.terminate().success());
}

/// Three forged symmetric-active "peers" 100 ms ahead, answering the daemon's replies as real
/// peers would, against one honest server daemon: the clock stays with the server, and 300
/// more spoofed peers find the passive slots bounded.
#[test]
fn forged_symmetric_peers_do_not_pull_the_clock() {
    let dir = Scratch::new("forged-peers");
    let server = dir.file(
        "server.cfg",
        "sysname Server\nntp-service refclock-master 2\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.32 255.255.255.255\nreturn\n",
    );
    let client = dir.file(
        "client.cfg",
        "sysname Client\nntp-service unicast-server 127.0.0.32 port 15123 iburst minpoll 4\n\
         interface LoopBack1\n ip address 127.0.0.33 255.255.255.255\nreturn\n",
    );
    let (cc, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let mut srv = Daemon::start(&["--config", &s(&server), "--ntp-port", "15123"]);
    let mut cli = Daemon::start(&[
        "--config",
        &s(&client),
        "--ntp-port",
        "15123",
        "--control",
        &s(&cc),
        "--report",
        &s(&report),
    ]);
    wait_for(&cc);
    let victim = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 33), 15123);
    let forgers: Vec<UdpSocket> = (34..37).map(|h| socket([127, 0, 0, h], 15123)).collect();
    let ahead = Span::from_millis(100);
    let mut last_reply: Vec<NtpTimestamp> = vec![NtpTimestamp::ZERO; forgers.len()];
    let mut buf = [0u8; 1500];
    let start = Instant::now();
    let mut next_send = Instant::now();
    while start.elapsed() < Duration::from_secs(45) {
        if Instant::now() >= next_send {
            next_send += Duration::from_secs(2);
            for (i, f) in forgers.iter().enumerate() {
                // Our last reply's transmit time as origin, and when it "arrived" 100 ms ahead.
                let now = realtime() + ahead;
                let h = NtpHeader {
                    stratum: 1,
                    origin_timestamp: last_reply[i],
                    receive_timestamp: if last_reply[i].is_zero() {
                        NtpTimestamp::ZERO
                    } else {
                        now.to_ntp()
                    },
                    transmit_timestamp: now.to_ntp(),
                    ..ntp_header(Mode::SymmetricActive, 1)
                };
                f.send_to(&Packet::new(h).to_vec(), victim).unwrap();
            }
        }
        for (i, f) in forgers.iter().enumerate() {
            if let Ok((n, _)) = f.recv_from(&mut buf)
                && let Ok(p) = Packet::parse(&buf[..n])
            {
                last_reply[i] = p.header.transmit_timestamp;
            }
        }
    }
    assert!(
        last_reply.iter().all(|t| !t.is_zero()),
        "the forged peers were not answered"
    );
    let status = shell(&cc, "display ntp-service status");
    assert!(
        status.contains("reference clock ID: 127.0.0.32"),
        "{status}"
    );
    // The clock followed the server: the last 20 s within 1 ms of true time (100 ms if pulled).
    let v = offsets(&report);
    let worst = v[v.len().saturating_sub(20)..]
        .iter()
        .fold(0f64, |m, x| m.max(x.abs()));
    println!(
        "worst |offset| over the last 20 s with forged peers: {:.1} µs",
        worst / 1e3
    );
    assert!(worst < 1e6, "{worst} ns");
    // 300 more spoofed peers: the passive associations stay bounded (100 by default).
    let spoof = socket([127, 0, 0, 38], 0);
    for i in 0..300u32 {
        let from = socket([127, 3, (i / 250) as u8, (i % 250) as u8 + 1], 0);
        let h = NtpHeader {
            transmit_timestamp: realtime().to_ntp(),
            ..ntp_header(Mode::SymmetricActive, 1)
        };
        from.send_to(&Packet::new(h).to_vec(), victim).unwrap();
        drop(from);
    }
    drop(spoof);
    std::thread::sleep(Duration::from_millis(500));
    let sessions = shell(&cc, "display ntp-service sessions");
    let n = sessions.matches("clock source:").count();
    println!("sessions after 300 spoofed peers: {n}");
    assert!(n <= 1 + 100, "{n} sessions");
    assert!(cli.alive() && srv.alive());
    assert!(cli.terminate().success());
    assert!(srv.terminate().success());
}

/// 600 spoofed REQUESTs (every slot and more) from addresses that never answer: a real client
/// daemon still gets service, the server's memory and log stay bounded.
#[test]
fn spoofed_ptp_requests_do_not_lock_a_real_client_out() {
    let dir = Scratch::new("ptp-spoof");
    let common = "ptp-adaptive enable\nptp-adaptive time profile\nptp-adaptive domain 44\n\
                  ptp-adaptive atr unicast-negotiate enable\n";
    let server = dir.file(
        "server.cfg",
        &format!(
            "sysname Server\n{common}ptp-adaptive device-type server\nptp-adaptive local-ip 127.0.0.42\n\
             interface LoopBack0\n ip address 127.0.0.42 255.255.255.255\nreturn\n"
        ),
    );
    let client = dir.file(
        "client.cfg",
        &format!(
            "sysname Client\n{common}ptp-adaptive device-type client\nptp-adaptive local-ip 127.0.0.43\n\
             ptp-adaptive remote-server1-ip 127.0.0.42\n\
             interface LoopBack0\n ip address 127.0.0.43 255.255.255.255\nreturn\n"
        ),
    );
    let lic = license(&dir);
    let log = dir.0.join("server.log");
    let ports = "16319,16320";
    let mut srv = Daemon::start_logged(
        &[
            "--config",
            &s(&server),
            "--license",
            &lic,
            "--ptp-ports",
            ports,
            "--metrics",
            "127.0.0.1:19131",
        ],
        &log,
    );
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = srv.rss_kb();
    let target = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 42), 16320);
    for i in 0..600u32 {
        let from = socket([127, 4, (i / 250) as u8, (i % 250) as u8 + 1], 16320);
        let req = ptp(
            1,
            Body::Signaling(Signaling {
                target_port: PortIdentity::WILDCARD,
                tlvs: [
                    (MessageType::Announce, -3),
                    (MessageType::Sync, -7),
                    (MessageType::DelayResp, -7),
                ]
                .iter()
                .map(|&(t, l)| {
                    SignalingTlv::Request(RequestTlv {
                        message_type: t,
                        log_period: LogInterval(l),
                        duration: 1000,
                    })
                })
                .collect(),
            }),
        );
        from.send_to(&req, target).unwrap();
        // Paced, so the daemon's socket buffer keeps them all.
        std::thread::sleep(Duration::from_micros(500));
    }
    // Every slot taken (512), the rest refused.
    std::thread::sleep(Duration::from_millis(500));
    let m = scrape(19131, "/metrics");
    assert_eq!(metric(&m, "meridian_ptp_server_clients"), 512.0);
    let cc = dir.0.join("c.sock");
    let mut cli = Daemon::start(&[
        "--config",
        &s(&client),
        "--license",
        &lic,
        "--ptp-ports",
        ports,
        "--control",
        &s(&cc),
    ]);
    wait_for(&cc);
    let start = Instant::now();
    let served = loop {
        let all = shell(&cc, "display ptp-adaptive all");
        if all.contains("Nego success") {
            break true;
        }
        if start.elapsed() > Duration::from_secs(40) {
            println!("{all}");
            break false;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    println!(
        "real client served after {:.1} s",
        start.elapsed().as_secs_f64()
    );
    assert!(served, "the real client never got service");
    std::thread::sleep(Duration::from_secs(12));
    let rss_after = srv.rss_kb();
    println!("server RSS {rss_before} kB → {rss_after} kB");
    assert!(
        rss_after < rss_before + 20_000,
        "{rss_before} → {rss_after} kB"
    );
    assert!(srv.alive() && cli.alive());
    assert!(cli.terminate().success());
    assert!(srv.terminate().success());
    let lines = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    println!("server log: {lines} lines");
    assert!(lines < 100, "{lines} log lines");
}
