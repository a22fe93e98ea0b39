//! The NTP scenarios.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use meridian_proto::engine::{Engine, Input, Instant, Now, Output, Transmit};
use meridian_proto::ntp::{self, Header, LeapIndicator, Mode, Packet, ReferenceId};
use meridian_proto::ntp_service::access::{AccessClass, Acl, AclRule};
use meridian_proto::ntp_service::auth::{Key, KeyType};
use meridian_proto::ntp_service::config::{
    AssociationConfig, AssociationKind, NtpConfig, RefClock,
};
use meridian_proto::ntp_service::{NtpNode, Reference};
use meridian_proto::time::{Duration, NtpShort, NtpTimestamp, Timestamp};

use super::ptp::START;
use crate::metrics::TeSample;
use crate::pdv::PdvModel;
use crate::{LinkModel, NodeConfig, NodeId, OscillatorModel, SegmentId, Simulator, Vertex};

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(START + s)
}

/// Software timestamping: 1 µs of noise; `phase` and `ppb` off true time.
#[must_use]
pub fn software(phase: Duration, ppb: f64) -> OscillatorModel {
    OscillatorModel {
        initial_phase: phase,
        frequency_ppb: ppb,
        wander_ppb: 0.05,
        wander_step: Duration::SECOND,
        timestamp_noise_ns: 1_000.0,
    }
}

/// Adds an NTP node owning `addr`.
pub fn add_ntp(
    sim: &mut Simulator,
    name: &str,
    addr: Ipv4Addr,
    config: NtpConfig,
    osc: OscillatorModel,
) -> NodeId {
    sim.add_node(
        NodeConfig {
            name: name.into(),
            addresses: vec![addr],
            oscillator: osc,
        },
        Box::new(move |ctx| {
            Box::new(NtpNode::new(
                config.clone(),
                ctx.addresses.clone(),
                ctx.instant,
                ctx.seed,
            ))
        }),
    )
}

/// The NTP engine of a node.
#[must_use]
pub fn ntp_of(sim: &Simulator, node: NodeId) -> Option<&NtpNode> {
    sim.engine_as::<NtpNode>(node)
}

pub(super) fn lan(sim: &mut Simulator) -> SegmentId {
    sim.add_segment("lan")
}

/// Attaches a node to the LAN by a 25-µs link with exponential jitter of mean `jitter` (zero:
/// none) in each direction.
pub(super) fn join(sim: &mut Simulator, lan: SegmentId, node: NodeId, jitter: Duration) {
    let pdv = if jitter > Duration::ZERO {
        PdvModel::Exponential { mean: jitter }
    } else {
        PdvModel::Constant
    };
    sim.add_link(
        Vertex::Node(node),
        Vertex::Segment(lan),
        LinkModel::symmetric(Duration::from_micros(25), pdv),
    );
}

/// A server serving on its address with a local reference clock at `stratum`.
#[must_use]
pub fn reference_server(addr: Ipv4Addr, stratum: u8) -> NtpConfig {
    let mut c = NtpConfig::new(addr);
    c.refclock = Some(RefClock { unit: 0, stratum });
    c.serve_on.insert(addr);
    c
}

/// A stratum-1 server at 10.0.`subnet`.1 and an iburst client of it at 10.0.`subnet`.2
/// (`minpoll` if given, else the vendor's default) whose clock starts `phase` and `ppb` off.
/// Links are the caller's.
struct ClientOfServer {
    server: NodeId,
    client: NodeId,
    server_ip: Ipv4Addr,
    client_ip: Ipv4Addr,
}

fn client_of_server(
    sim: &mut Simulator,
    subnet: u8,
    minpoll: Option<i8>,
    phase: Duration,
    ppb: f64,
    interleave: bool,
) -> ClientOfServer {
    let (server_ip, client_ip) = (
        Ipv4Addr::new(10, 0, subnet, 1),
        Ipv4Addr::new(10, 0, subnet, 2),
    );
    let server = add_ntp(
        sim,
        "server",
        server_ip,
        reference_server(server_ip, 1),
        software(Duration::ZERO, 0.0),
    );
    let base = AssociationConfig::server(server_ip);
    let mut cc = NtpConfig::new(client_ip);
    cc.associations.push(AssociationConfig {
        iburst: true,
        minpoll: minpoll.unwrap_or(base.minpoll),
        interleave,
        version: if interleave { 4 } else { base.version },
        ..base
    });
    let client = add_ntp(sim, "client", client_ip, cc, software(phase, ppb));
    ClientOfServer {
        server,
        client,
        server_ip,
        client_ip,
    }
}

fn max_abs_te(samples: &[TeSample], from: Timestamp) -> f64 {
    samples
        .iter()
        .filter(|s| s.at >= from)
        .map(|s| s.te.as_nanos_f64().abs())
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------- a. seed 004

/// What the seed-004 scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Seed004 {
    /// DeviceD's stratum and reference.
    pub d: (u8, Reference),
    /// DeviceE's stratum and reference.
    pub e: (u8, Reference),
    /// Whether DeviceD holds a passive association for DeviceE.
    pub d_has_passive_for_e: bool,
    /// Largest |system offset| over the last third, µs, for D and E.
    pub max_offset_us: (f64, f64),
    /// Largest |TE| over the last third, µs, for D and E.
    pub max_te_us: (f64, f64),
}

/// a. Seed 004 verbatim: DeviceC `refclock-master 2`, DeviceD `unicast-server 10.0.1.31`,
/// DeviceE `unicast-peer 10.0.1.32`, one LAN, software timestamps.
#[must_use]
pub fn seed_004(seed: u64, seconds: i64) -> Seed004 {
    let mut sim = Simulator::new(seed, at(0));
    let (c_ip, d_ip, e_ip) = (
        Ipv4Addr::new(10, 0, 1, 31),
        Ipv4Addr::new(10, 0, 1, 32),
        Ipv4Addr::new(10, 0, 1, 33),
    );
    let net = lan(&mut sim);
    let c = add_ntp(
        &mut sim,
        "DeviceC",
        c_ip,
        reference_server(c_ip, 2),
        software(Duration::ZERO, 0.0),
    );
    let mut dc = NtpConfig::new(d_ip);
    dc.serve_on.insert(d_ip);
    dc.associations.push(AssociationConfig::server(c_ip));
    let d = add_ntp(
        &mut sim,
        "DeviceD",
        d_ip,
        dc,
        software(Duration::from_millis(30), 15_000.0),
    );
    let mut ec = NtpConfig::new(e_ip);
    ec.associations.push(AssociationConfig::peer(d_ip));
    let e = add_ntp(
        &mut sim,
        "DeviceE",
        e_ip,
        ec,
        software(Duration::from_millis(-50), -8_000.0),
    );
    for n in [c, d, e] {
        join(&mut sim, net, n, Duration::ZERO);
    }
    sim.sample_every(Duration::SECOND);
    let mut offsets = (0.0f64, 0.0f64);
    for t in 1..=seconds {
        sim.run_until(at(t));
        if t > seconds * 2 / 3 {
            let o = |n| ntp_of(&sim, n).map_or(f64::INFINITY, |x| x.system().offset.abs() * 1e6);
            offsets = (offsets.0.max(o(d)), offsets.1.max(o(e)));
        }
    }
    let sys = |n| {
        ntp_of(&sim, n).map_or((16, Reference::None), |x| {
            (x.system().stratum, x.system().reference)
        })
    };
    Seed004 {
        d: sys(d),
        e: sys(e),
        d_has_passive_for_e: ntp_of(&sim, d).is_some_and(|x| {
            x.associations()
                .iter()
                .any(|a| a.config.address == e_ip && a.kind() == AssociationKind::SymmetricPassive)
        }),
        max_offset_us: offsets,
        max_te_us: (
            max_abs_te(sim.samples(d), at(seconds * 2 / 3)) / 1e3,
            max_abs_te(sim.samples(e), at(seconds * 2 / 3)) / 1e3,
        ),
    }
}

// ---------------------------------------------------------------- b. falseticker

/// b. A client of four servers, server 4 running 50 ms off: returns whether the falseticker
/// is the system peer or a survivor at the end, and the client's largest |TE| (µs) over the
/// second half.
#[must_use]
pub fn falseticker(seed: u64, seconds: i64) -> (bool, f64) {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let client_ip = Ipv4Addr::new(10, 0, 2, 100);
    let mut cc = NtpConfig::new(client_ip);
    let mut servers = Vec::new();
    for k in 1..=4u8 {
        let ip = Ipv4Addr::new(10, 0, 2, k);
        let phase = if k == 4 {
            Duration::from_millis(50)
        } else {
            Duration::ZERO
        };
        let n = add_ntp(
            &mut sim,
            &format!("server{k}"),
            ip,
            reference_server(ip, 1),
            software(phase, 0.0),
        );
        join(&mut sim, net, n, Duration::ZERO);
        servers.push(ip);
        cc.associations.push(AssociationConfig {
            iburst: true,
            ..AssociationConfig::server(ip)
        });
    }
    let c = add_ntp(
        &mut sim,
        "client",
        client_ip,
        cc,
        software(Duration::from_millis(20), 10_000.0),
    );
    join(&mut sim, net, c, Duration::ZERO);
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let chose_false =
        ntp_of(&sim, c).is_some_and(|x| x.system().reference == Reference::Peer(servers[3]));
    (
        chose_false,
        max_abs_te(sim.samples(c), at(seconds / 2)) / 1e3,
    )
}

// ---------------------------------------------------------------- c. strata and loops

/// What the strata-and-loops scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Strata {
    /// Two peers with no reference: their strata.
    pub unreferenced_peers: (u8, u8),
    /// A stratum-8 local reference with a configured stratum-2 server: stratum and reference.
    pub local_vs_server: (u8, Reference),
    /// A (refclock 5, uses B) and B (uses A): A's and B's stratum and reference.
    pub loop_pair: ((u8, Reference), (u8, Reference)),
}

/// c. Strata and loops.
#[must_use]
pub fn strata_and_loops(seed: u64, seconds: i64) -> Strata {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ip = |n: u8| Ipv4Addr::new(10, 0, 3, n);
    let osc = software(Duration::ZERO, 0.0);
    // Two peers, no reference.
    let mut p1 = NtpConfig::new(ip(1));
    p1.associations.push(AssociationConfig::peer(ip(2)));
    let mut p2 = NtpConfig::new(ip(2));
    p2.associations.push(AssociationConfig::peer(ip(1)));
    let n1 = add_ntp(&mut sim, "p1", ip(1), p1, osc);
    let n2 = add_ntp(&mut sim, "p2", ip(2), p2, osc);
    // A stratum-2 server and a client with a stratum-8 local reference.
    let s2 = add_ntp(&mut sim, "s2", ip(3), reference_server(ip(3), 2), osc);
    let mut lc = NtpConfig::new(ip(4));
    lc.refclock = Some(RefClock {
        unit: 1,
        stratum: 8,
    });
    lc.associations.push(AssociationConfig {
        iburst: true,
        ..AssociationConfig::server(ip(3))
    });
    let l = add_ntp(&mut sim, "local8", ip(4), lc, osc);
    // A loop candidate: A has a local reference and also uses B; B uses A.
    let mut ac = reference_server(ip(5), 5);
    ac.associations.push(AssociationConfig {
        iburst: true,
        ..AssociationConfig::server(ip(6))
    });
    let mut bc = NtpConfig::new(ip(6));
    bc.serve_on.insert(ip(6));
    bc.associations.push(AssociationConfig {
        iburst: true,
        ..AssociationConfig::server(ip(5))
    });
    let a = add_ntp(&mut sim, "A", ip(5), ac, osc);
    let b = add_ntp(&mut sim, "B", ip(6), bc, osc);
    for n in [n1, n2, s2, l, a, b] {
        join(&mut sim, net, n, Duration::ZERO);
    }
    sim.run_for(Duration::from_secs(seconds));
    let sys = |n| {
        ntp_of(&sim, n).map_or((0, Reference::None), |x| {
            (x.system().stratum, x.system().reference)
        })
    };
    Strata {
        unreferenced_peers: (sys(n1).0, sys(n2).0),
        local_vs_server: sys(l),
        loop_pair: (sys(a), sys(b)),
    }
}

// ---------------------------------------------------------------- d. convergence

/// d. An iburst client 100 ms and 20 ppm off: seconds until synchronized, and |TE| (µs) at 64 s.
#[must_use]
pub fn convergence(seed: u64) -> (Option<i64>, f64) {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ClientOfServer {
        server: s,
        client: c,
        ..
    } = client_of_server(
        &mut sim,
        4,
        None,
        Duration::from_millis(100),
        20_000.0,
        false,
    );
    join(&mut sim, net, s, Duration::ZERO);
    join(&mut sim, net, c, Duration::ZERO);
    let mut synced = None;
    for t in 1..=64 {
        sim.run_until(at(t));
        if synced.is_none() && ntp_of(&sim, c).is_some_and(NtpNode::synchronized) {
            synced = Some(t);
        }
    }
    (synced, sim.time_error(c).as_nanos_f64().abs() / 1e3)
}

// ---------------------------------------------------------------- e. spoofing

/// Injects forged server replies, from the server's address, every half second.
#[derive(Debug)]
struct Spoofer {
    from: SocketAddrV4,
    to: SocketAddrV4,
    next: Option<Instant>,
    count: u64,
    out: VecDeque<Output>,
}

impl Engine for Spoofer {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        if let Input::Timeout = input {
            self.count += 1;
            // Plausible-looking but 0.5 s off, with an origin timestamp it cannot know.
            let t = (now.clock + Duration::from_millis(500)).to_ntp();
            let h = Header {
                leap: LeapIndicator::NoWarning,
                version: 4,
                mode: Mode::Server,
                stratum: 1,
                poll: 6,
                precision: -20,
                root_delay: NtpShort(0),
                root_dispersion: NtpShort(0),
                reference_id: ReferenceId::from_ascii(b"GPS\0"),
                reference_timestamp: t,
                origin_timestamp: NtpTimestamp(self.count.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                receive_timestamp: t,
                transmit_timestamp: t,
            };
            self.out.push_back(Output::Transmit(Transmit {
                from: self.from,
                to: self.to,
                dscp: 0,
                bytes: Packet::new(h).to_vec(),
                token: None,
                late_ntp_transmit: false,
            }));
            self.next = Some(now.instant.after(Duration::from_millis(500)));
        }
    }
    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next.unwrap_or(Instant::ZERO))
    }
}

/// e. An off-path node injects forged replies; returns the client's largest |TE| (µs) in the
/// second half, the bogus count, and the forged packets sent.
#[must_use]
pub fn spoofing(seed: u64, seconds: i64) -> (f64, u64, u64) {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ClientOfServer {
        server: s,
        client: c,
        server_ip: s_ip,
        client_ip: c_ip,
    } = client_of_server(&mut sim, 5, None, Duration::from_millis(5), 5_000.0, false);
    let x_ip = Ipv4Addr::new(10, 0, 5, 66);
    let x = sim.add_node(
        NodeConfig {
            name: "attacker".into(),
            addresses: vec![x_ip],
            oscillator: OscillatorModel::default(),
        },
        Box::new(move |_| {
            Box::new(Spoofer {
                from: SocketAddrV4::new(s_ip, ntp::PORT),
                to: SocketAddrV4::new(c_ip, ntp::PORT),
                next: None,
                count: 0,
                out: VecDeque::new(),
            })
        }),
    );
    for n in [s, c, x] {
        join(&mut sim, net, n, Duration::ZERO);
    }
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let bogus = ntp_of(&sim, c).map_or(0, |n| n.associations()[0].counters.bogus);
    let forged = sim.engine_as::<Spoofer>(x).map_or(0, |s| s.count);
    (
        max_abs_te(sim.samples(c), at(seconds / 2)) / 1e3,
        bogus,
        forged,
    )
}

// ---------------------------------------------------------------- f. accuracy against jitter

/// f. One client, one server, exponential jitter of mean `jitter` on each link hop: mean and
/// standard deviation of |TE| (µs) after `warmup`. The client runs in interleaved mode if
/// `interleave`.
#[must_use]
pub fn jitter_accuracy(
    seed: u64,
    jitter: Duration,
    seconds: i64,
    warmup: i64,
    interleave: bool,
) -> (f64, f64) {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ClientOfServer {
        server: s,
        client: c,
        ..
    } = client_of_server(
        &mut sim,
        6,
        None,
        Duration::from_millis(10),
        10_000.0,
        interleave,
    );
    join(&mut sim, net, s, jitter);
    join(&mut sim, net, c, jitter);
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let te: Vec<f64> = sim
        .samples(c)
        .iter()
        .filter(|s| s.at >= at(warmup))
        .map(|s| s.te.as_nanos_f64().abs() / 1e3)
        .collect();
    let mean = te.iter().sum::<f64>() / te.len().max(1) as f64;
    let sd = (te.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / te.len().max(1) as f64).sqrt();
    (mean, sd)
}

// ---------------------------------------------------------------- g. keys and access

/// What the keys-and-access scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct KeysAndAccess {
    /// The client with the right key: synchronized to the server.
    pub right_key_synced: bool,
    /// The client with a wrong key: synchronized.
    pub wrong_key_synced: bool,
    /// Authentication failures the server counted.
    pub server_auth_failures: u64,
    /// The `limited` client: RATE kisses received, and its poll at the end (log2 s).
    pub limited_kod: (u64, i8),
    /// The denied client: DENY kisses received.
    pub denied_kod: u64,
    /// Rate table size after 100 000 spoofed sources, and its capacity.
    pub rate_table: (usize, usize),
}

/// Sends requests from ever-changing spoofed sources.
#[derive(Debug)]
struct Flood {
    to: SocketAddrV4,
    next: Option<Instant>,
    sent: u32,
    limit: u32,
    out: VecDeque<Output>,
}

impl Engine for Flood {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        if matches!(input, Input::Timeout) && self.sent < self.limit {
            for _ in 0..100 {
                self.sent += 1;
                let src = Ipv4Addr::from(0xC633_0000u32 + self.sent); // 198.51.x.x and up
                let h = Header::client_request(4, 6, now.clock.to_ntp());
                self.out.push_back(Output::Transmit(Transmit {
                    from: SocketAddrV4::new(src, 40_000),
                    to: self.to,
                    dscp: 0,
                    bytes: Packet::new(h).to_vec(),
                    token: None,
                    late_ntp_transmit: false,
                }));
            }
            self.next = Some(now.instant.after(Duration::from_millis(10)));
        }
    }
    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (self.sent < self.limit).then(|| self.next.unwrap_or(Instant::ZERO))
    }
}

/// g. Keys and access control at one server, with `kod-enable` on or off.
#[must_use]
pub fn keys_and_access(seed: u64, seconds: i64, kod: bool) -> KeysAndAccess {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ip = |n: u8| Ipv4Addr::new(10, 0, 7, n);
    let key = |s: &[u8]| Key {
        kind: KeyType::HmacSha256,
        secret: s.to_vec(),
    };
    let mut sc = reference_server(ip(1), 1);
    sc.authentication = true;
    sc.keys.insert(7, key(b"right secret"));
    sc.trusted.insert(7);
    sc.access.kod = kod;
    // 10.0.7.2–3: server class; 10.0.7.4: limited; 10.0.7.5: denied; everything else limited.
    let rule = |id, permit, n: u8, wild: [u8; 4]| AclRule {
        id,
        permit,
        source: ip(n),
        wildcard: wild.into(),
    };
    sc.access.classes.insert(
        AccessClass::Server,
        Acl {
            rules: vec![rule(5, false, 5, [0; 4]), rule(10, true, 2, [0, 0, 0, 1])],
        },
    );
    sc.access.classes.insert(
        AccessClass::Limited,
        Acl {
            rules: vec![AclRule {
                id: 5,
                permit: true,
                source: Ipv4Addr::UNSPECIFIED,
                wildcard: Ipv4Addr::BROADCAST,
            }],
        },
    );
    let s = add_ntp(&mut sim, "server", ip(1), sc, software(Duration::ZERO, 0.0));
    let client = |n: u8, secret: &[u8], minpoll: i8| {
        let mut c = NtpConfig::new(ip(n));
        c.authentication = true;
        c.keys.insert(7, key(secret));
        c.trusted.insert(7);
        c.associations.push(AssociationConfig {
            iburst: true,
            key: Some(7),
            minpoll,
            maxpoll: minpoll.max(6),
            ..AssociationConfig::server(ip(1))
        });
        c
    };
    let right = add_ntp(
        &mut sim,
        "right",
        ip(2),
        client(2, b"right secret", 6),
        software(Duration::from_millis(3), 0.0),
    );
    let wrong = add_ntp(
        &mut sim,
        "wrong",
        ip(3),
        client(3, b"wrong secret", 6),
        software(Duration::from_millis(3), 0.0),
    );
    let limited = add_ntp(
        &mut sim,
        "limited",
        ip(4),
        client(4, b"right secret", 0),
        software(Duration::ZERO, 0.0),
    );
    let denied = add_ntp(
        &mut sim,
        "denied",
        ip(5),
        client(5, b"right secret", 4),
        software(Duration::ZERO, 0.0),
    );
    let flood = sim.add_node(
        NodeConfig {
            name: "flood".into(),
            addresses: vec![ip(99)],
            oscillator: OscillatorModel::default(),
        },
        Box::new(move |_| {
            Box::new(Flood {
                to: SocketAddrV4::new(ip(1), ntp::PORT),
                next: None,
                sent: 0,
                limit: 100_000,
                out: VecDeque::new(),
            })
        }),
    );
    for n in [s, right, wrong, limited, denied, flood] {
        join(&mut sim, net, n, Duration::ZERO);
    }
    sim.run_for(Duration::from_secs(seconds));
    let synced =
        |n| ntp_of(&sim, n).is_some_and(|x| x.system().reference == Reference::Peer(ip(1)));
    let kods = |n| ntp_of(&sim, n).map_or(0, |x| x.associations()[0].counters.kod);
    let server = ntp_of(&sim, s);
    KeysAndAccess {
        right_key_synced: synced(right),
        wrong_key_synced: synced(wrong),
        server_auth_failures: server.map_or(0, |x| x.drops.auth),
        limited_kod: (
            kods(limited),
            ntp_of(&sim, limited).map_or(0, |x| x.associations()[0].poll),
        ),
        denied_kod: kods(denied),
        rate_table: (
            server.map_or(0, NtpNode::rate_table_len),
            meridian_proto::ntp_service::RATE_TABLE_CAPACITY,
        ),
    }
}

// ---------------------------------------------------------------- h. start-up under PDV

/// What the start-up-under-PDV scenario measured, µs of |TE|.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartupUnderPdv {
    /// At 60 s.
    pub at_60: f64,
    /// The largest over the last minute.
    pub last_minute: f64,
}

/// h. The namespace harness's case in simulation: an iburst client (minpoll 4) 5 ms and 20 ppm
/// off, reaching its server over 200 µs each way plus exponential PDV of mean `pdv` and
/// `extra` (the relay's own scheduling, say).
#[must_use]
pub fn startup_under_pdv(
    seed: u64,
    pdv: Duration,
    extra: PdvModel,
    seconds: i64,
) -> StartupUnderPdv {
    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let ClientOfServer {
        server: s,
        client: c,
        ..
    } = client_of_server(
        &mut sim,
        8,
        Some(4),
        Duration::from_millis(5),
        20_000.0,
        false,
    );
    sim.add_link(
        Vertex::Node(s),
        Vertex::Segment(net),
        LinkModel::symmetric(Duration::ZERO, extra),
    );
    sim.add_link(
        Vertex::Node(c),
        Vertex::Segment(net),
        LinkModel::symmetric(
            Duration::from_micros(200),
            PdvModel::Exponential { mean: pdv },
        ),
    );
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let te = |from: i64, to: i64| {
        sim.samples(c)
            .iter()
            .filter(|s| s.at >= at(from) && s.at <= at(to))
            .map(|s| s.te.as_nanos_f64().abs() / 1e3)
            .fold(0.0, f64::max)
    };
    StartupUnderPdv {
        at_60: te(60, 60),
        last_minute: te(seconds - 60, seconds),
    }
}
