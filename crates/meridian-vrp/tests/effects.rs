//! Each configuration command of the vendor's set, typed in the shell and committed, changes
//! what the device's engines do: the packets they send (addresses, ports, DSCP, domain,
//! versions, polls, keys, requested rates and durations) and what they answer. The engines'
//! own tests show the behaviour behind each setting; these show the command reaches it.

use std::net::{Ipv4Addr, SocketAddrV4};

use meridian_proto::engine::{Datagram, Engine, Input, Instant, Now, Output, Transmit};
use meridian_proto::ntp::{Header, Mode, Packet};
use meridian_proto::ptp::{Body, Message, MessageType, SignalingTlv};
use meridian_proto::time::{Duration, NtpTimestamp, Timestamp};
use meridian_vrp::device::{DeviceEngine, node_config, ptp_configs};
use meridian_vrp::session::{NoEngines, Session};

/// A device whose system view took `lines` and committed them (every line must be accepted).
fn configured(lines: &[&str]) -> Session {
    let mut s = Session::default();
    s.license_files
        .insert("lic".into(), "clock-synchronization\n".into());
    for l in ["system-view", "license active lic"]
        .iter()
        .chain(lines)
        .chain(&["commit"])
    {
        match s.execute(l, &mut NoEngines) {
            Ok(out) => assert!(!out.contains("Error"), "{l}: {out}"),
            Err(f) => panic!("{l}: {}", f.render("")),
        }
    }
    s
}

fn at(s: f64) -> Now {
    Now {
        instant: Instant::from_origin(Duration::from_secs_f64(s)),
        clock: Timestamp::from_secs(1_800_000_000) + Duration::from_secs_f64(s),
    }
}

/// What the device's engines send in their first `secs` seconds, answering nothing.
fn first_transmits(s: &Session, secs: f64) -> Vec<Transmit> {
    transmits_answered(s, secs, false)
}

/// A stratum-1 NTP server's reply to `request`, sent at `now`, claiming `dispersion` s of
/// root dispersion.
fn ntp_reply(request: &[u8], now: Timestamp, dispersion: i64) -> Vec<u8> {
    let q = Packet::parse(request).unwrap().header;
    let mut h = Header::client_request(q.version, q.poll, now.to_ntp());
    h.mode = Mode::Server;
    h.stratum = 1;
    h.reference_id = meridian_proto::ntp::ReferenceId(*b"GPS\0");
    h.reference_timestamp = now.to_ntp();
    h.origin_timestamp = q.transmit_timestamp;
    h.receive_timestamp = now.to_ntp();
    h.root_dispersion =
        meridian_proto::time::NtpShort::from_duration(Duration::from_secs(dispersion));
    Packet::new(h).to_vec()
}

/// What the device's engines send in their first `secs` seconds; with `answer`, every NTP
/// client request is answered by a stratum-1 server on the device's own clock, 1 ms later.
fn transmits_answered(s: &Session, secs: f64, answer: bool) -> Vec<Transmit> {
    run_answered(s, secs, answer.then_some(0)).0
}

/// [`transmits_answered`] by a server claiming `answer` s of root dispersion, and the device
/// afterwards.
fn run_answered(s: &Session, secs: f64, answer: Option<i64>) -> (Vec<Transmit>, DeviceEngine) {
    let mut e = DeviceEngine::new(&node_config(&s.running), Instant::ZERO, 1);
    let mut out = Vec::new();
    let end = at(secs).instant;
    e.handle(at(0.0), Input::Timeout);
    for _ in 0..10_000 {
        while let Some(o) = e.poll_output() {
            if let Output::Transmit(t) = o {
                out.push(t);
                let t = out.last().unwrap();
                let request = Packet::parse(&t.bytes).is_ok_and(|p| p.header.mode == Mode::Client);
                if let (Some(dispersion), true) = (answer, request) {
                    let now = e.now().after(Duration::from_millis(1));
                    let clock = at(0.0).clock + now.since_origin();
                    let reply = ntp_reply(&t.bytes, clock, dispersion);
                    let (from, to) = (t.to, t.from);
                    e.handle(
                        Now {
                            instant: now,
                            clock,
                        },
                        Input::Datagram(Datagram {
                            from,
                            to,
                            bytes: &reply,
                            rx_timestamp: clock,
                        }),
                    );
                }
            }
        }
        match e.poll_timeout() {
            Some(t) if t <= end => e.handle(
                Now {
                    instant: t,
                    clock: at(0.0).clock + t.since_origin(),
                },
                Input::Timeout,
            ),
            _ => break,
        }
    }
    (out, e)
}

const PTP_CLIENT: [&str; 6] = [
    "ptp-adaptive enable",
    "ptp-adaptive device-type client",
    "ptp-adaptive local-ip 3.3.3.3",
    "ptp-adaptive remote-server1-ip 1.1.1.1",
    "ptp-adaptive atr unicast-negotiate enable",
    "interface LoopBack0",
];

fn ptp_client(extra: &[&str]) -> Session {
    let mut lines: Vec<&str> = PTP_CLIENT.to_vec();
    lines.extend(["ip address 3.3.3.3 32", "quit"]);
    lines.extend(extra);
    configured(&lines)
}

#[test]
fn ptp_client_commands_shape_its_first_requests() {
    let s = ptp_client(&[
        "ptp-adaptive time profile",
        "ptp-adaptive domain 50",
        "ptp-adaptive remote-server2-ip 2.2.2.2",
        "ptp-adaptive dscp 46",
        "ptp-adaptive announce-duration 120",
        "ptp-adaptive request announce-interval 9",
    ]);
    let tx = first_transmits(&s, 1.0);
    let to: Vec<SocketAddrV4> = tx.iter().map(|t| t.to).collect();
    // Both servers at once, on the general port, from the local IP.
    assert!(
        to.contains(&SocketAddrV4::new(Ipv4Addr::new(1, 1, 1, 1), 320)),
        "{to:?}"
    );
    assert!(
        to.contains(&SocketAddrV4::new(Ipv4Addr::new(2, 2, 2, 2), 320)),
        "{to:?}"
    );
    for t in &tx {
        assert_eq!(*t.from.ip(), Ipv4Addr::new(3, 3, 3, 3));
        assert_eq!(t.dscp, 46);
        let m = Message::parse(&t.bytes).unwrap();
        assert_eq!(m.header.domain, 50);
        let Body::Signaling(sig) = &m.body else {
            panic!("{m:?}")
        };
        let SignalingTlv::Request(r) = sig.tlvs[0] else {
            panic!("{sig:?}")
        };
        // Announce first, at 2^(9−10) s, for 120 s.
        assert_eq!(r.message_type, MessageType::Announce);
        assert_eq!((r.log_period.0, r.duration), (-1, 120));
    }
}

#[test]
fn ptp_client_rates_durations_timeout_and_asymmetry_reach_the_client() {
    let s = ptp_client(&[
        "ptp-adaptive sync-duration 130",
        "ptp-adaptive delay-resp-duration 140",
        "ptp-adaptive request sync-interval 3",
        "ptp-adaptive request delay-resp-interval 4",
        "ptp-adaptive announce receipt-timeout 5",
        "ptp-adaptive atr server1 asymmetry-correction negative 2000",
        "ptp-adaptive acr two-way unicast-negotiate enable",
    ]);
    let (client, server) = ptp_configs(&s.running);
    let c = client.unwrap();
    assert!(server.is_none());
    assert_eq!(c.durations, [300, 130, 140]);
    assert_eq!(
        (c.sync_interval.0, c.delay_resp_interval.0),
        (-7, -6),
        "VRP 3 and 4: 2^-7 and 2^-6 s"
    );
    assert_eq!(c.receipt_timeout, 5);
    assert_eq!(c.asymmetry[0], Duration::from_nanos(-2000));
    assert_eq!(c.mode, meridian_proto::unicast::RecoveryMode::AcrTwoWay);
}

fn ntp_request(version: u8) -> Vec<u8> {
    Packet::new(Header::client_request(version, 6, NtpTimestamp(0x1234))).to_vec()
}

/// The replies `lines` make the device send to a request arriving at `to`.
fn replies(s: &Session, to: Ipv4Addr, bytes: &[u8]) -> Vec<Transmit> {
    let mut e = DeviceEngine::new(&node_config(&s.running), Instant::ZERO, 1);
    let now = at(1.0);
    e.handle(
        now,
        Input::Datagram(Datagram {
            from: SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 99), 40000),
            to: SocketAddrV4::new(to, 123),
            bytes,
            rx_timestamp: now.clock,
        }),
    );
    std::iter::from_fn(|| e.poll_output())
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(t),
            _ => None,
        })
        .collect()
}

const LOOPBACKS: [&str; 6] = [
    "interface LoopBack1",
    "ip address 192.0.2.1 32",
    "quit",
    "interface LoopBack2",
    "ip address 192.0.2.2 32",
    "quit",
];

fn ntp_device(extra: &[&str]) -> Session {
    let mut lines: Vec<&str> = LOOPBACKS.to_vec();
    lines.extend(extra);
    configured(&lines)
}

#[test]
fn ntp_association_options_shape_its_requests() {
    let s = ntp_device(&[
        "ntp-service authentication-keyid 5 authentication-mode hmac-sha256 secret",
        "ntp-service reliable authentication-keyid 5",
        "ntp-service unicast-server 198.51.100.1 version 4 port 1234 authentication-keyid 5 \
         source-interface LoopBack2 minpoll 5 maxpoll 11 iburst",
        "ntp-service unicast-peer 198.51.100.2 version 2",
        "ntp-service source-interface LoopBack1",
    ]);
    let tx = first_transmits(&s, 10.0);
    let server: Vec<&Transmit> = tx
        .iter()
        .filter(|t| *t.to.ip() == Ipv4Addr::new(198, 51, 100, 1))
        .collect();
    // iburst: several requests within the first seconds, not one per 32-s poll.
    assert!(server.len() >= 4, "{}", server.len());
    for t in &server {
        assert_eq!(t.to.port(), 1234);
        assert_eq!(*t.from.ip(), Ipv4Addr::new(192, 0, 2, 2), "its own source");
        let p = Packet::parse(&t.bytes).unwrap();
        assert_eq!((p.header.version, p.header.mode), (4, Mode::Client));
        assert_eq!(p.header.poll, 5);
        assert_eq!(p.mac.map(|m| m.key_id), Some(5), "signed with key 5");
    }
    let peer: Vec<&Transmit> = tx
        .iter()
        .filter(|t| *t.to.ip() == Ipv4Addr::new(198, 51, 100, 2))
        .collect();
    assert_eq!(peer.len(), 1, "no burst for a peer");
    let p = Packet::parse(&peer[0].bytes).unwrap();
    assert_eq!(
        (p.header.version, p.header.mode),
        (2, Mode::SymmetricActive)
    );
    assert_eq!(
        *peer[0].from.ip(),
        Ipv4Addr::new(192, 0, 2, 1),
        "the global source"
    );
    assert_eq!(p.header.poll, 6, "default minpoll");
    assert!(p.mac.is_none());
}

#[test]
fn burst_sends_a_burst_every_poll_to_a_reachable_server() {
    let count = |burst: &str| {
        let s = ntp_device(&[&format!("ntp-service unicast-server 198.51.100.1{burst}")]);
        // Two polls of 64 s (minpoll 6), the server answering.
        transmits_answered(&s, 100.0, true).len()
    };
    let (plain, burst) = (count(""), count(" burst"));
    assert_eq!(plain, 2);
    assert!(burst >= plain + 4, "{burst}");
}

#[test]
fn the_server_answers_only_on_its_source_interface_and_serves_its_refclock() {
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service server source-interface LoopBack1",
    ]);
    let here = replies(&s, Ipv4Addr::new(192, 0, 2, 1), &ntp_request(4));
    assert_eq!(here.len(), 1);
    let h = Packet::parse(&here[0].bytes).unwrap().header;
    assert_eq!((h.mode, h.stratum), (Mode::Server, 5));
    assert!(replies(&s, Ipv4Addr::new(192, 0, 2, 2), &ntp_request(4)).is_empty());
}

#[test]
fn access_kod_and_authentication_decide_who_is_answered() {
    // Only the ACL's clients get service; with kod-enable the others get a DENY kiss.
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service server source-interface LoopBack1",
        "acl number 2001",
        "rule permit source 203.0.113.0 0.0.0.255",
        "quit",
        "ntp-service access server 2001",
        "ntp-service kod-enable",
    ]);
    let r = replies(&s, Ipv4Addr::new(192, 0, 2, 1), &ntp_request(4));
    assert_eq!(r.len(), 1);
    let h = Packet::parse(&r[0].bytes).unwrap().header;
    assert_eq!(
        (h.stratum, h.reference_id.0),
        (0, *b"DENY"),
        "192.0.2.99 is not in ACL 2001"
    );
    // Authentication on, key 5 trusted: a request signed with it is answered signed with it,
    // one with a wrong digest not at all.
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service server source-interface LoopBack1",
        "ntp-service authentication enable",
        "ntp-service authentication-keyid 5 authentication-mode md5 secret",
        "ntp-service reliable authentication-keyid 5",
    ]);
    let key = meridian_proto::ntp_service::auth::Key {
        kind: meridian_proto::ntp_service::auth::KeyType::Md5,
        secret: b"secret".to_vec(),
    };
    let body = ntp_request(4);
    let mut digest = key.digest(&body);
    let signed = |digest: &[u8]| {
        let h = Packet::parse(&body).unwrap().header;
        Packet {
            mac: Some(meridian_proto::ntp::Mac { key_id: 5, digest }),
            ..Packet::new(h)
        }
        .to_vec()
    };
    let r = replies(&s, Ipv4Addr::new(192, 0, 2, 1), &signed(&digest));
    assert_eq!(r.len(), 1);
    assert_eq!(
        Packet::parse(&r[0].bytes).unwrap().mac.map(|m| m.key_id),
        Some(5)
    );
    digest[0] ^= 1;
    assert!(replies(&s, Ipv4Addr::new(192, 0, 2, 1), &signed(&digest)).is_empty());
}

#[test]
fn rate_limits_distance_and_dynamic_sessions_reach_the_service() {
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service discard min-interval 3 avg-interval 7",
        "ntp-service max-dynamic-sessions 0",
        "ntp-service max-distance 4",
    ]);
    let n = meridian_vrp::device::ntp_config(&s.running).expect("an NTP service");
    assert_eq!((n.access.discard_min, n.access.discard_avg), (3, 7));
    assert_eq!(n.max_dynamic_sessions, 0);
    assert_eq!(n.max_distance, Duration::from_secs(4));
}

#[test]
fn max_dynamic_sessions_0_leaves_symmetric_peers_unanswered() {
    let peer = || {
        let mut h = Header::client_request(4, 6, at(0.9).clock.to_ntp());
        h.mode = Mode::SymmetricActive;
        h.stratum = 2;
        Packet::new(h).to_vec()
    };
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service server source-interface LoopBack1",
    ]);
    let r = replies(&s, Ipv4Addr::new(192, 0, 2, 1), &peer());
    assert_eq!(r.len(), 1, "a passive association answers");
    let h = Packet::parse(&r[0].bytes).unwrap().header;
    assert_eq!(h.mode, Mode::SymmetricPassive);
    let s = ntp_device(&[
        "ntp-service refclock-master 5",
        "ntp-service server source-interface LoopBack1",
        "ntp-service max-dynamic-sessions 0",
    ]);
    assert!(replies(&s, Ipv4Addr::new(192, 0, 2, 1), &peer()).is_empty());
}

/// `max-distance`: a server 2 s of root dispersion away is beyond the default 1 s and is not
/// followed; with `max-distance 4` it is.
#[test]
fn max_distance_decides_how_far_a_server_may_be() {
    let synchronized = |extra: &[&str]| {
        let mut lines = vec!["ntp-service unicast-server 198.51.100.1 iburst"];
        lines.extend(extra);
        let (_, e) = run_answered(&ntp_device(&lines), 30.0, Some(2));
        e.ntp.as_ref().unwrap().status().synchronized
    };
    let (default, wider) = (
        synchronized(&[]),
        synchronized(&["ntp-service max-distance 4"]),
    );
    assert!(!default);
    assert!(wider);
}

/// The command table of `docs/vrp.md` names, for every command, tests that exist; no row
/// says a command is merely accepted.
#[test]
fn the_command_table_cites_tests_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/vrp.md")).unwrap();
    let table = doc
        .split("## Every command and the test that shows its effect")
        .nth(1)
        .expect("the table's section");
    let mut sources = String::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources += &std::fs::read_to_string(path).unwrap();
            }
        }
    }
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| command"))
        .collect();
    assert!(rows.len() > 40, "{}", rows.len());
    for row in rows {
        let effect = row.rsplit(" | ").next().unwrap();
        assert!(!effect.to_lowercase().contains("accepted"), "{row}");
        let tests: Vec<&str> = effect.split('`').skip(1).step_by(2).collect();
        assert!(!tests.is_empty(), "{row}");
        for t in tests {
            assert!(sources.contains(&format!("fn {t}(")), "{row}: no test {t}");
        }
    }
}
