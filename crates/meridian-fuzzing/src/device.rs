//! The device target: one device's whole engine ([`DeviceEngine`]: NTP service and PTP node as
//! its configuration makes them) driven by a script of datagrams, replies that echo what it
//! sent, transmit timestamps, the passing of time and operators' commits that reconfigure it in
//! place (to another profile, or the same with a change); every display and the metrics
//! renderer run after every step.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use meridian_proto::engine::{
    ClockAdjustment, Datagram, Engine, Input, Instant, Now, Output, TxToken,
};
use meridian_proto::ntp::{self, Header as NtpHeader, LeapIndicator, Mode, Packet, ReferenceId};
use meridian_proto::ptp::{
    Announce, Body, ClockIdentity, ClockQuality, Flags, GrantTlv, Header, LogInterval, Message,
    MessageType, PortIdentity, RequestTlv, SequenceId, Signaling, SignalingTlv, TimeSource,
};
use meridian_proto::time::{Correction, Duration, NtpShort, NtpTimestamp, Timestamp};
use meridian_proto::unicast::server::MAX_TLVS;
use meridian_vrp::device::{DeviceEngine, node_config};
use meridian_vrp::session::{Displays, NtpDisplay, Session};

use crate::reader::Reader;

/// A device the target can be: its configuration lines (on a licensed device), its
/// own address and its configured upstreams or peers.
struct Profile {
    config: &'static str,
    me: Ipv4Addr,
    peers: &'static [Ipv4Addr],
}

const UP1: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 31);
const UP2: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 31);
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 32);
const STRANGERS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(203, 0, 113, 7),
    Ipv4Addr::new(203, 0, 113, 8),
    Ipv4Addr::new(198, 51, 100, 99),
];
const LICENSE: &str = "clock-synchronization\n";
/// The kind under which NTP datagrams are remembered (PTP ones use their type nibble, 0–15).
const NTP_KIND: u8 = 0xFF;

const PROFILES: [Profile; 8] = [
    Profile {
        config: "ntp-service unicast-server 10.0.1.31 minpoll 4 maxpoll 10 iburst\n",
        me: ME,
        peers: &[UP1],
    },
    Profile {
        config: "ntp-service unicast-peer 10.0.1.31 minpoll 4\nntp-service refclock-master 5\n",
        me: ME,
        peers: &[UP1],
    },
    Profile {
        config: "ntp-service refclock-master 2\nntp-service kod-enable\n\
                 ntp-service discard min-interval 1 avg-interval 3\n\
                 acl number 2001\n rule permit source 203.0.113.0 0.0.0.255\n\
                 ntp-service access limited 2001\n",
        me: ME,
        peers: &[],
    },
    Profile {
        config: "ntp-service authentication enable\n\
                 ntp-service authentication-keyid 1 authentication-mode md5 fuzzkey\n\
                 ntp-service reliable authentication-keyid 1\n\
                 ntp-service unicast-server 10.0.1.31 authentication-keyid 1 minpoll 4\n\
                 ntp-service unicast-server 10.0.2.31 minpoll 4\n",
        me: ME,
        peers: &[UP1, UP2],
    },
    Profile {
        config: "ptp-adaptive enable\nptp-adaptive device-type client\n\
                 ptp-adaptive time profile\nptp-adaptive domain 44\n\
                 ptp-adaptive local-ip 10.0.1.32\nptp-adaptive remote-server1-ip 10.0.1.31\n\
                 ptp-adaptive remote-server2-ip 10.0.2.31\n\
                 ptp-adaptive atr unicast-negotiate enable\n",
        me: ME,
        peers: &[UP1, UP2],
    },
    Profile {
        config: "ptp-adaptive enable\nptp-adaptive device-type server\n\
                 ptp-adaptive time profile\nptp-adaptive domain 44\n\
                 ptp-adaptive local-ip 10.0.1.32\nptp-adaptive atr unicast-negotiate enable\n",
        me: ME,
        peers: &[],
    },
    Profile {
        config: "ptp-adaptive enable\nptp-adaptive device-type server-and-client\n\
                 ptp-adaptive time profile\nptp-adaptive domain 44\n\
                 ptp-adaptive local-ip 10.0.1.32\nptp-adaptive remote-server1-ip 10.0.1.31\n\
                 ptp-adaptive atr unicast-negotiate enable\n\
                 ntp-service refclock-master 3\n",
        me: ME,
        peers: &[UP1],
    },
    Profile {
        config: "ptp-adaptive enable\nptp-adaptive device-type client\n\
                 ptp-adaptive frequency profile\nptp-adaptive domain 4\n\
                 ptp-adaptive local-ip 10.0.1.32\nptp-adaptive remote-server1-ip 10.0.1.31\n\
                 ptp-adaptive acr unicast-negotiate enable\n",
        me: ME,
        peers: &[UP1],
    },
];

/// The interface every profile shares, so the addresses exist on the device.
const INTERFACES: &str = "interface GigabitEthernet0/1/0\n undo shutdown\n \
                          ip address 10.0.1.32 255.255.255.0\n";

/// How many timer firings one simulated second may take before it counts as a spin (a few
/// 128-per-second streams and their bookkeeping fit many times over).
const MAX_FIRINGS_PER_SECOND: usize = 4096;
/// The longest single advance of time, s (long waits are many advances).
const MAX_ADVANCE_SECS: i64 = 600;

/// The device under test and what the target remembers of its traffic.
struct Harness {
    engine: DeviceEngine,
    profile: &'static Profile,
    domain: u8,
    /// The monotonic instant.
    now: Instant,
    /// The device clock: true time plus `offset`, running `freq_ppb` fast.
    offset: Duration,
    freq_ppb: f64,
    /// The last datagram the device sent to each address, by kind ([`NTP_KIND`] or the PTP
    /// message type's nibble).
    last_to: BTreeMap<(Ipv4Addr, u8), Vec<u8>>,
    /// Transmit tokens not yet reported.
    tokens: VecDeque<TxToken>,
    /// Sequence ids the target's servers have used for Sync.
    sync_seq: u16,
}

fn base() -> Timestamp {
    Timestamp::from_secs(1_800_000_000)
}

/// Lines a commit may add to a profile: each reaches an in-place path of the engines.
const CHANGES: [&str; 8] = [
    "",
    "sysname Other\n",
    "ptp-adaptive dscp 46\n",
    "ptp-adaptive request sync-interval 5\n",
    "ptp-adaptive remote-server2-ip 10.0.2.31\n",
    "ntp-service unicast-server 10.0.2.31 minpoll 4\n",
    "acl number 2002\n rule deny source 10.0.1.31 0.0.0.0\nptp-adaptive client-acl 2002\n",
    "acl number 2003\n rule permit source 10.0.1.0 0.0.0.255\nntp-service access peer 2003\n",
];

/// The running configuration of `profile` with `change`, if the device accepts it.
fn configuration(profile: &Profile, change: &str) -> Option<meridian_vrp::config::Config> {
    let text = format!("{}{change}#\n{INTERFACES}#\nreturn\n", profile.config);
    // Licensed always: a commit may bring a PTP part to a device that had none.
    Session::load_licensed(&text, Some(("license.txt", LICENSE)))
        .ok()
        .map(|s| s.running)
}

fn domain_of(profile: &Profile) -> u8 {
    if profile.config.contains("frequency") {
        4
    } else {
        44
    }
}

impl Harness {
    fn new(profile: &'static Profile) -> Self {
        let Some(config) = configuration(profile, "") else {
            panic!("fuzz profile does not load: {}", profile.config);
        };
        let engine = DeviceEngine::new(&node_config(&config), Instant::ZERO, 0x5eed);
        let domain = domain_of(profile);
        Self {
            engine,
            profile,
            domain,
            now: Instant::ZERO,
            offset: Duration::ZERO,
            freq_ppb: 0.0,
            last_to: BTreeMap::new(),
            tokens: VecDeque::new(),
            sync_seq: 0,
        }
    }

    /// An operator's commit: the device becomes `profile` with `change`, reconfigured in place.
    fn commit(&mut self, profile: &'static Profile, change: &str) {
        let Some(config) = configuration(profile, change) else {
            return;
        };
        let now = self.at();
        let _ = self
            .engine
            .reconfigure(&node_config(&config), now, 0x00c0_ffee);
        self.profile = profile;
        self.domain = domain_of(profile);
        self.drain(None);
    }

    fn clock(&self) -> Timestamp {
        base() + self.now.since_origin() + self.offset
    }

    fn at(&self) -> Now {
        Now {
            instant: self.now,
            clock: self.clock(),
        }
    }

    fn is_peer(&self, a: Ipv4Addr) -> bool {
        self.profile.peers.contains(&a)
    }

    /// Feeds one input and checks what comes out. `answering` is the stranger and size of the
    /// datagram this input delivered, if any.
    fn feed(&mut self, input: Input<'_>, answering: Option<(Ipv4Addr, usize)>) {
        let now = self.at();
        self.engine.handle(now, input);
        self.drain(answering);
    }

    fn drain(&mut self, answering: Option<(Ipv4Addr, usize)>) {
        while let Some(o) = self.engine.poll_output() {
            match o {
                Output::Transmit(t) => {
                    assert!(!t.bytes.is_empty(), "empty datagram to {}", t.to);
                    let to = *t.to.ip();
                    if !self.is_peer(to) {
                        let allowed = answering
                            .filter(|(from, _)| *from == to)
                            .map_or(0, |(_, len)| len + 2 * MAX_TLVS);
                        // Unsolicited traffic to strangers is the server's granted streams,
                        // checked by their own tests; here only direct answers are bounded.
                        if answering.is_some_and(|(from, _)| from == to) {
                            assert!(
                                t.bytes.len() <= allowed,
                                "{} bytes to stranger {to} answering {allowed}",
                                t.bytes.len()
                            );
                        }
                    }
                    if let Some(k) = t.token {
                        self.tokens.push_back(k);
                        if self.tokens.len() > 64 {
                            self.tokens.pop_front();
                        }
                    }
                    let kind = if t.to.port() == ntp::PORT {
                        NTP_KIND
                    } else {
                        t.bytes[0] & 0x0F
                    };
                    self.last_to.insert((to, kind), t.bytes);
                }
                Output::AdjustClock(ClockAdjustment::Step(d)) => self.offset += d,
                Output::AdjustClock(ClockAdjustment::Frequency(f)) => {
                    if f.is_finite() {
                        self.freq_ppb = f;
                    }
                }
                // Every event renders as the daemon would log it.
                Output::Event(e) => {
                    let _ = format!("{e:?}");
                }
            }
        }
    }

    fn datagram(&mut self, from: Ipv4Addr, port: u16, bytes: &[u8]) {
        let d = Datagram {
            from: SocketAddrV4::new(from, port),
            to: SocketAddrV4::new(self.profile.me, port),
            bytes,
            rx_timestamp: self.clock(),
        };
        let answering = (!self.is_peer(from)).then_some((from, bytes.len()));
        self.feed(Input::Datagram(d), answering);
    }

    /// Lets `dt` pass, firing every timer that comes due, in order.
    fn advance(&mut self, dt: Duration) {
        let dt = dt.clamp(Duration::ZERO, Duration::from_secs(MAX_ADVANCE_SECS));
        let target = self.now.after(dt);
        let budget = MAX_FIRINGS_PER_SECOND * (dt.as_secs_f64() as usize + 1);
        let mut spins = 0;
        for _ in 0..budget {
            let Some(t) = self.engine.poll_timeout() else {
                break;
            };
            if t > target {
                break;
            }
            self.step_clock_to(t.max(self.now));
            self.feed(Input::Timeout, None);
            // A deadline at or before the instant just handled is a timer that would spin.
            if self.engine.poll_timeout().is_some_and(|d| d <= self.now) {
                spins += 1;
                assert!(
                    spins < 2,
                    "timer due at or before {:?} twice in a row",
                    self.now
                );
            } else {
                spins = 0;
            }
        }
        assert!(
            self.engine.poll_timeout().is_none_or(|t| t > target) || dt <= Duration::ZERO,
            "more than {budget} timer firings in {dt} s"
        );
        self.step_clock_to(target.max(self.now));
    }

    fn step_clock_to(&mut self, t: Instant) {
        let elapsed = t.duration_since(self.now);
        self.offset += elapsed.mul_f64(self.freq_ppb * 1e-9);
        self.now = t;
    }

    fn displays(&mut self) {
        let e = &self.engine;
        for what in [
            NtpDisplay::Status,
            NtpDisplay::Sessions(false),
            NtpDisplay::Sessions(true),
            NtpDisplay::Trace,
        ] {
            if let Some(text) = e.ntp(what) {
                let _ = meridian_vrp::json::display_to_json(&text);
            }
        }
        for (what, id) in [
            ("all", None),
            ("config", None),
            ("server", Some(1)),
            ("server", Some(2)),
            ("client", None),
            ("client", Some(0)),
            ("client", Some(u64::MAX)),
        ] {
            if let Some(text) = e.ptp(what, id) {
                let _ = meridian_vrp::json::display_to_json(&text);
            }
        }
        let _ = meridian_os::metrics::render(
            e,
            self.now,
            self.offset.as_secs_f64(),
            self.freq_ppb,
            &Default::default(),
        );
    }

    fn peer_or_stranger(&self, r: &mut Reader<'_>) -> Ipv4Addr {
        let peers = self.profile.peers;
        let k = r.pick(peers.len() + STRANGERS.len());
        peers
            .get(k)
            .copied()
            .unwrap_or_else(|| STRANGERS[k - peers.len()])
    }

    /// A reply to the last NTP packet the device sent to `to`, echoing its transmit timestamp
    /// (so it passes the origin check), with every other field from the input.
    fn ntp_reply(&mut self, r: &mut Reader<'_>) {
        let from = self.peer_or_stranger(r);
        let echo = self
            .last_to
            .get(&(from, NTP_KIND))
            .and_then(|b| Packet::parse(b).ok().map(|p| p.header));
        let mode = match (echo.map(|h| h.mode), r.u8() % 4) {
            (Some(Mode::Client), _) => Mode::Server,
            (_, 0) => Mode::SymmetricActive,
            (_, 1) => Mode::SymmetricPassive,
            (_, 2) => Mode::Server,
            _ => Mode::Client,
        };
        let offset = Duration::from_nanos(i64::from(r.u32() as i32) * i64::from(r.u8() % 16 + 1));
        let delay = Duration::from_nanos(i64::from(r.u16()) * 100);
        let theirs = self.clock() + offset + delay;
        let stratum = r.u8() % 18;
        let kiss = stratum == 0;
        let h = NtpHeader {
            leap: match r.u8() % 8 {
                0 => LeapIndicator::Unsynchronized,
                1 => LeapIndicator::Leap61,
                _ => LeapIndicator::NoWarning,
            },
            version: r.u8() % 5 + 1,
            mode,
            stratum,
            poll: r.i8(),
            precision: r.i8(),
            root_delay: NtpShort(u32::from(r.u16())),
            root_dispersion: NtpShort(u32::from(r.u16())),
            reference_id: if kiss {
                ReferenceId([*b"RATE", *b"DENY", *b"RSTR", *b"XXXX"][r.pick(4)])
            } else {
                ReferenceId(r.u32().to_be_bytes())
            },
            reference_timestamp: (theirs - Duration::from_secs(i64::from(r.u16()))).to_ntp(),
            origin_timestamp: match r.u8() % 8 {
                0 => NtpTimestamp(r.u64()),
                1 => NtpTimestamp::ZERO,
                _ => echo.map_or(NtpTimestamp::ZERO, |h| h.transmit_timestamp),
            },
            receive_timestamp: theirs.to_ntp(),
            transmit_timestamp: (theirs + Duration::from_micros(i64::from(r.u8()))).to_ntp(),
        };
        // Let the delay pass before the reply arrives.
        self.advance(delay + delay);
        let mut bytes = Packet::new(h).to_vec();
        if r.u8().is_multiple_of(4) {
            // A MAC-shaped trailer: key id and a digest of whatever comes.
            bytes.extend(r.u32().to_be_bytes());
            bytes.extend(r.bytes(20));
        }
        self.datagram(from, ntp::PORT, &bytes);
    }

    fn ptp_header(&self, r: &mut Reader<'_>, from_server: u8, seq: u16) -> Header {
        let domain = if r.u8().is_multiple_of(16) {
            r.u8()
        } else {
            self.domain
        };
        Header {
            flags: Flags(r.u16() & 0x06FF | Flags::UNICAST.0),
            correction: Correction(if r.u8().is_multiple_of(4) {
                r.u64() as i64
            } else {
                0
            }),
            log_message_interval: LogInterval(r.i8()),
            ..Header::new(
                PortIdentity {
                    clock_identity: ClockIdentity([from_server; 8]),
                    port_number: 1,
                },
                domain,
                SequenceId(seq),
            )
        }
    }

    /// The device's own port identity and the sequence id of its last message of `kind` to
    /// `to`, if it sent one.
    fn last_ptp(&self, to: Ipv4Addr, kind: MessageType) -> Option<(PortIdentity, u16)> {
        let m = Message::parse(self.last_to.get(&(to, kind.nibble()))?).ok()?;
        (m.message_type() == kind).then_some((m.header.source_port, m.header.sequence_id.0))
    }

    /// A message as a server would send it to the device's client part (or to its server part,
    /// from a stranger), with fields from the input and ids echoed where that makes it count.
    fn ptp_message(&mut self, r: &mut Reader<'_>) {
        let from = self.peer_or_stranger(r);
        let id = match self.profile.peers.iter().position(|p| *p == from) {
            Some(i) => i as u8 + 1,
            None => 0x40 | (r.u8() % 4),
        };
        let theirs = self.clock() + Duration::from_nanos(i64::from(r.u32() as i32));
        let ts = if r.u8().is_multiple_of(16) {
            meridian_proto::time::PtpTimestamp::new(r.u64() >> 16, r.u32() % 1_000_000_000)
                .unwrap_or_default()
        } else {
            theirs.to_ptp_truncated()
        };
        let me = self
            .last_ptp(from, MessageType::Signaling)
            .or(self.last_ptp(from, MessageType::DelayReq))
            .map_or(PortIdentity::WILDCARD, |p| p.0);
        let kind = r.u8() % 9;
        let (seq, body, port) = match kind {
            0 | 1 => {
                let n = r.u8() % 5 + 1;
                let tlvs = (0..n)
                    .map(|_| tlv(r, kind == 1))
                    .collect::<Vec<SignalingTlv>>();
                let target = if r.u8().is_multiple_of(4) {
                    PortIdentity::WILDCARD
                } else {
                    me
                };
                (
                    r.u16(),
                    Body::Signaling(Signaling {
                        target_port: target,
                        tlvs,
                    }),
                    320,
                )
            }
            2 => (
                r.u16(),
                Body::Announce(Announce {
                    origin_timestamp: ts,
                    current_utc_offset: r.u16() as i16,
                    priority1: r.u8(),
                    clock_quality: ClockQuality {
                        clock_class: r.u8(),
                        clock_accuracy: r.u8(),
                        offset_scaled_log_variance: r.u16(),
                    },
                    priority2: r.u8(),
                    grandmaster_identity: ClockIdentity(r.u64().to_be_bytes()),
                    steps_removed: r.u16(),
                    time_source: TimeSource(r.u8()),
                }),
                320,
            ),
            3 => {
                self.sync_seq = self.sync_seq.wrapping_add(1);
                (
                    self.sync_seq,
                    Body::Sync {
                        origin_timestamp: ts,
                    },
                    319,
                )
            }
            4 => (
                self.sync_seq,
                Body::FollowUp {
                    precise_origin_timestamp: ts,
                },
                320,
            ),
            5 => {
                let (port, seq) = self
                    .last_ptp(from, MessageType::DelayReq)
                    .unwrap_or((me, r.u16()));
                (
                    seq,
                    Body::DelayResp {
                        receive_timestamp: ts,
                        requesting_port: port,
                    },
                    320,
                )
            }
            6 => (
                r.u16(),
                Body::DelayReq {
                    origin_timestamp: ts,
                },
                319,
            ),
            _ => {
                // Raw bytes on a PTP port.
                let n = usize::from(r.u8());
                let bytes = r.bytes(n).to_vec();
                let port = if r.u8().is_multiple_of(2) { 319 } else { 320 };
                self.datagram(from, port, &bytes);
                return;
            }
        };
        let header = self.ptp_header(r, id, seq);
        let bytes = Message { header, body }.to_vec();
        if !bytes.is_empty() {
            self.datagram(from, port, &bytes);
        }
    }

    /// One turn of honest peers, so random scripts reach synchronized states: every pending
    /// transmit timestamp is reported; each configured peer answers what the device last asked
    /// (an NTP request, PTP REQUESTs, a Delay_Req) and, for PTP, serves Announce and a two-step
    /// Sync. Offsets and delays are small and come from the input.
    fn honest_turn(&mut self, r: &mut Reader<'_>) {
        while let Some(token) = self.tokens.pop_front() {
            let timestamp = self.clock();
            self.feed(Input::TxTimestamp { token, timestamp }, None);
        }
        let offset = Duration::from_nanos(i64::from(r.i8()) * 1000);
        let delay = Duration::from_micros(i64::from(r.u8()) + 50);
        self.advance(delay);
        for (i, &peer) in self.profile.peers.iter().enumerate() {
            let theirs = self.clock() + offset;
            let sp = PortIdentity {
                clock_identity: ClockIdentity([i as u8 + 1; 8]),
                port_number: 1,
            };
            if let Some(req) = self
                .last_to
                .remove(&(peer, NTP_KIND))
                .and_then(|b| Packet::parse(&b).ok().map(|p| p.header))
            {
                let h = NtpHeader {
                    leap: LeapIndicator::NoWarning,
                    version: 4,
                    mode: if req.mode == Mode::Client {
                        Mode::Server
                    } else {
                        Mode::SymmetricPassive
                    },
                    stratum: 2,
                    poll: req.poll,
                    precision: -20,
                    root_delay: NtpShort(0x10),
                    root_dispersion: NtpShort(0x10),
                    reference_id: ReferenceId(*b"GPS\0"),
                    reference_timestamp: (theirs - Duration::from_secs(5)).to_ntp(),
                    origin_timestamp: req.transmit_timestamp,
                    receive_timestamp: (theirs - delay).to_ntp(),
                    transmit_timestamp: theirs.to_ntp(),
                };
                self.datagram(peer, ntp::PORT, &Packet::new(h).to_vec());
            }
            let mut out: Vec<(u16, Message)> = Vec::new();
            let header = |seq: u16, flags: Flags| Header {
                flags: Flags(flags.0 | Flags::UNICAST.0),
                ..Header::new(sp, self.domain, SequenceId(seq))
            };
            if let Some((me, seq, tlvs)) = self
                .last_to
                .remove(&(peer, MessageType::Signaling.nibble()))
                .and_then(|b| Message::parse(&b).ok())
                .and_then(|m| match m.body {
                    Body::Signaling(s) => {
                        Some((m.header.source_port, m.header.sequence_id, s.tlvs))
                    }
                    _ => None,
                })
            {
                let grants = tlvs
                    .iter()
                    .filter_map(|t| match *t {
                        SignalingTlv::Request(q) => Some(SignalingTlv::Grant(GrantTlv {
                            message_type: q.message_type,
                            log_period: q.log_period,
                            duration: q.duration,
                            renewal_invited: true,
                        })),
                        SignalingTlv::Cancel(t) => Some(SignalingTlv::AcknowledgeCancel(t)),
                        _ => None,
                    })
                    .collect::<Vec<_>>();
                if !grants.is_empty() {
                    out.push((
                        320,
                        Message {
                            header: header(seq.0, Flags(0)),
                            body: Body::Signaling(Signaling {
                                target_port: me,
                                tlvs: grants,
                            }),
                        },
                    ));
                }
            }
            if let Some(m) = self
                .last_to
                .remove(&(peer, MessageType::DelayReq.nibble()))
                .and_then(|b| Message::parse(&b).ok())
            {
                out.push((
                    320,
                    Message {
                        header: header(m.header.sequence_id.0, Flags(0)),
                        body: Body::DelayResp {
                            receive_timestamp: (theirs - delay).to_ptp_truncated(),
                            requesting_port: m.header.source_port,
                        },
                    },
                ));
            }
            self.sync_seq = self.sync_seq.wrapping_add(1);
            out.push((
                320,
                Message {
                    header: header(self.sync_seq, Flags(0)),
                    body: Body::Announce(Announce {
                        origin_timestamp: theirs.to_ptp_truncated(),
                        current_utc_offset: 37,
                        priority1: 128,
                        clock_quality: ClockQuality {
                            clock_class: 6,
                            clock_accuracy: 0x21,
                            offset_scaled_log_variance: 0x4E5D,
                        },
                        priority2: 128,
                        grandmaster_identity: ClockIdentity([0xAA; 8]),
                        steps_removed: 0,
                        time_source: TimeSource(0x20),
                    }),
                },
            ));
            let sent = theirs - delay;
            out.push((
                319,
                Message {
                    header: header(self.sync_seq, Flags::TWO_STEP),
                    body: Body::Sync {
                        origin_timestamp: sent.to_ptp_truncated(),
                    },
                },
            ));
            out.push((
                320,
                Message {
                    header: header(self.sync_seq, Flags(0)),
                    body: Body::FollowUp {
                        precise_origin_timestamp: sent.to_ptp_truncated(),
                    },
                },
            ));
            if self.profile.config.contains("ptp-adaptive") {
                for (port, m) in out {
                    self.datagram(peer, port, &m.to_vec());
                }
            }
        }
    }

    fn tx_timestamp(&mut self, r: &mut Reader<'_>) {
        let token = if r.u8().is_multiple_of(8) {
            TxToken(r.u64())
        } else {
            let i = r.pick(self.tokens.len());
            match self.tokens.remove(i) {
                Some(t) => t,
                None => return,
            }
        };
        let timestamp = self.clock() + Duration::from_nanos(i64::from(r.u16()));
        self.feed(Input::TxTimestamp { token, timestamp }, None);
    }
}

fn message_type(r: &mut Reader<'_>) -> MessageType {
    [
        MessageType::Announce,
        MessageType::Sync,
        MessageType::DelayResp,
        MessageType::PdelayResp,
        MessageType::Signaling,
    ][r.pick(5)]
}

fn tlv(r: &mut Reader<'_>, as_client: bool) -> SignalingTlv {
    let message_type = message_type(r);
    match (r.u8() % 4, as_client) {
        (0, _) => SignalingTlv::Cancel(message_type),
        (1, _) => SignalingTlv::AcknowledgeCancel(message_type),
        (_, true) => SignalingTlv::Request(RequestTlv {
            message_type,
            log_period: LogInterval(r.i8()),
            duration: r.u32(),
        }),
        (_, false) => SignalingTlv::Grant(GrantTlv {
            message_type,
            log_period: LogInterval(r.i8()),
            duration: if r.u8().is_multiple_of(2) {
                r.u32()
            } else {
                u32::from(r.u16())
            },
            renewal_invited: r.u8().is_multiple_of(2),
        }),
    }
}

/// The device target: the first byte picks the device, the rest is the script.
pub fn device(data: &[u8]) {
    let mut r = Reader::new(data);
    let profile = &PROFILES[r.pick(PROFILES.len())];
    let mut h = Harness::new(profile);
    h.advance(Duration::ZERO);
    for _ in 0..512 {
        if r.is_empty() {
            break;
        }
        match r.u8() % 13 {
            12 => {
                let profile = &PROFILES[r.pick(PROFILES.len())];
                let change = CHANGES[r.pick(CHANGES.len())];
                h.commit(profile, change);
            }
            8..=11 => {
                h.honest_turn(&mut r);
                let step = Duration::from_millis(i64::from(r.u8() % 32) * 32);
                h.advance(step);
            }
            0 => {
                let from = h.peer_or_stranger(&mut r);
                let port = [ntp::PORT, 319, 320][r.pick(3)];
                let n = usize::from(r.u8());
                let bytes = r.bytes(n).to_vec();
                h.datagram(from, port, &bytes);
            }
            1 | 2 => h.ntp_reply(&mut r),
            3 | 4 => h.ptp_message(&mut r),
            5 => {
                let ns = u64::from(r.u32()) << (r.u8() % 24);
                h.advance(Duration::from_nanos(ns.min(i64::MAX as u64) as i64));
            }
            6 => h.tx_timestamp(&mut r),
            _ => {
                // Let the device's own deadline come.
                if let Some(t) = h.engine.poll_timeout() {
                    let dt = t.duration_since(h.now);
                    h.advance(dt.max(Duration::ZERO));
                }
            }
        }
        h.displays();
    }
}
