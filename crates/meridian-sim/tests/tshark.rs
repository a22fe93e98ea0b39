//! Proof against an independent decoder: every message kind the codecs write, framed into a pcap
//! by the simulator's writer, decoded by Wireshark's tshark.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use meridian_proto::ntp::{self, LeapIndicator, Mac, Mode, Packet, ReferenceId};
use meridian_proto::ptp::{
    self, Announce, Body, ClockIdentity, ClockQuality, Flags, GrantTlv, Header, LogInterval,
    Message, MessageType, PortIdentity, RequestTlv, SequenceId, Signaling, SignalingTlv,
    TimeSource,
};
use meridian_proto::time::{Correction, Duration, NtpShort, PtpTimestamp, Timestamp};
use meridian_sim::pcap::PcapWriter;

const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The PTP fields asserted, per frame.
const PTP_FIELDS: [&str; 13] = [
    "ptp.v2.messagetype",
    "ptp.v2.sequenceid",
    "ptp.v2.domainnumber",
    "ptp.v2.flags",
    "ptp.v2.versionptp",
    "ptp.v2.sig.tlv.tlvType",
    "ptp.v2.sig.tlv.messageType",
    "ptp.v2.sig.tlv.logInterMessagePeriod",
    "ptp.v2.sig.tlv.durationField",
    "ptp.v2.sig.tlv.renewalInvited",
    "ptp.v2.an.grandmasterclockclass",
    "ptp.v2.an.localstepsremoved",
    "ptp.v2.correction.ns",
];
/// The NTP fields asserted: mode, version, stratum, reference ID, transmit time, MAC key ID.
const NTP_FIELDS: [&str; 6] = [
    "ntp.flags.mode",
    "ntp.flags.vn",
    "ntp.stratum",
    "ntp.refid",
    "ntp.xmt",
    "ntp.keyid",
];
/// 2027-01-01 00:00:00 UTC.
const JAN_2027: i64 = 1_798_761_600;

fn ptp_messages() -> Vec<(Message, bool)> {
    let server = PortIdentity {
        clock_identity: ClockIdentity([0x00, 0x1b, 0x21, 0xff, 0xfe, 0x01, 0x02, 0x03]),
        port_number: 1,
    };
    let client = PortIdentity {
        clock_identity: ClockIdentity([0x02, 0, 0, 0xff, 0xfe, 0, 0, 0x0a]),
        port_number: 1,
    };
    let ts = PtpTimestamp::new(JAN_2027 as u64 + 37, 250_000_000).unwrap();
    let h = |src, seq: u16, lmi: i8, flags: Flags| Header {
        flags,
        log_message_interval: LogInterval(lmi),
        ..Header::new(src, 44, SequenceId(seq))
    };
    let req = |t, p, d| {
        SignalingTlv::Request(RequestTlv {
            message_type: t,
            log_period: LogInterval(p),
            duration: d,
        })
    };
    let grant = |t, p, d| {
        SignalingTlv::Grant(GrantTlv {
            message_type: t,
            log_period: LogInterval(p),
            duration: d,
            renewal_invited: true,
        })
    };
    let two_step = Flags::TWO_STEP | Flags::UNICAST;
    vec![
        // (message, sent by the server)
        (
            Message {
                header: h(client, 1, 0x7F, Flags::UNICAST),
                body: Body::Signaling(Signaling {
                    target_port: PortIdentity::WILDCARD,
                    tlvs: vec![
                        req(MessageType::Announce, 1, 300),
                        req(MessageType::Sync, -4, 300),
                        req(MessageType::DelayResp, -4, 300),
                    ],
                }),
            },
            false,
        ),
        (
            Message {
                header: h(server, 1, 0x7F, Flags::UNICAST),
                body: Body::Signaling(Signaling {
                    target_port: client,
                    tlvs: vec![
                        grant(MessageType::Announce, 1, 300),
                        grant(MessageType::Sync, -4, 300),
                        grant(MessageType::DelayResp, -4, 300),
                    ],
                }),
            },
            true,
        ),
        (
            Message {
                header: h(
                    server,
                    2,
                    1,
                    Flags::UNICAST | Flags::PTP_TIMESCALE | Flags::UTC_OFFSET_VALID,
                ),
                body: Body::Announce(Announce {
                    origin_timestamp: ts,
                    current_utc_offset: 37,
                    priority1: 128,
                    clock_quality: ClockQuality {
                        clock_class: 6,
                        clock_accuracy: 0x21,
                        offset_scaled_log_variance: 0x4E5D,
                    },
                    priority2: 128,
                    grandmaster_identity: server.clock_identity,
                    steps_removed: 0,
                    time_source: TimeSource::GNSS,
                }),
            },
            true,
        ),
        (
            Message {
                header: Header {
                    correction: Correction(1_500 << 16),
                    ..h(server, 3, -4, two_step)
                },
                body: Body::Sync {
                    origin_timestamp: ts,
                },
            },
            true,
        ),
        (
            Message {
                header: h(server, 3, -4, Flags::UNICAST),
                body: Body::FollowUp {
                    precise_origin_timestamp: ts,
                },
            },
            true,
        ),
        (
            Message {
                header: h(client, 4, 0x7F, Flags::UNICAST),
                body: Body::DelayReq {
                    origin_timestamp: PtpTimestamp::ZERO,
                },
            },
            false,
        ),
        (
            Message {
                header: h(server, 4, -4, Flags::UNICAST),
                body: Body::DelayResp {
                    receive_timestamp: ts,
                    requesting_port: client,
                },
            },
            true,
        ),
        (
            Message {
                header: h(client, 5, 0x7F, Flags::UNICAST),
                body: Body::Signaling(Signaling {
                    target_port: server,
                    tlvs: vec![
                        SignalingTlv::Cancel(MessageType::Sync),
                        SignalingTlv::Cancel(MessageType::DelayResp),
                    ],
                }),
            },
            false,
        ),
        (
            Message {
                header: h(server, 5, 0x7F, Flags::UNICAST),
                body: Body::Signaling(Signaling {
                    target_port: client,
                    tlvs: vec![
                        SignalingTlv::AcknowledgeCancel(MessageType::Sync),
                        SignalingTlv::AcknowledgeCancel(MessageType::DelayResp),
                    ],
                }),
            },
            true,
        ),
    ]
}

fn ntp_packets() -> Vec<ntp::Header> {
    let t = |ms: i64| (Timestamp::from_secs(JAN_2027) + Duration::from_millis(ms)).to_ntp();
    let base = ntp::Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode: Mode::Client,
        stratum: 0,
        poll: 6,
        precision: -20,
        root_delay: NtpShort(0),
        root_dispersion: NtpShort(0),
        reference_id: ReferenceId([0; 4]),
        reference_timestamp: Default::default(),
        origin_timestamp: Default::default(),
        receive_timestamp: Default::default(),
        transmit_timestamp: t(500),
    };
    let server = ntp::Header {
        mode: Mode::Server,
        stratum: 3,
        root_delay: NtpShort(0x0000_0800),
        root_dispersion: NtpShort(0x0000_1000),
        reference_id: ReferenceId::from_ipv4(Ipv4Addr::new(10, 0, 1, 31)),
        reference_timestamp: t(-16_000),
        origin_timestamp: t(500),
        receive_timestamp: t(501),
        transmit_timestamp: t(502),
        ..base
    };
    let active = ntp::Header {
        mode: Mode::SymmetricActive,
        version: 3,
        stratum: 4,
        reference_id: ReferenceId::from_ipv4(SERVER),
        ..server
    };
    let passive = ntp::Header {
        mode: Mode::SymmetricPassive,
        version: 3,
        ..server
    };
    vec![base, server, active, passive]
}

#[test]
fn tshark_decodes_every_message_kind() {
    if !common::tool_available("tshark") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("meridian-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("codecs.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&path).unwrap()).unwrap();
    let mut at = Timestamp::from_secs(JAN_2027);
    let ptp = ptp_messages();
    for (m, from_server) in &ptp {
        let port = if m.message_type().is_event() {
            ptp::EVENT_PORT
        } else {
            ptp::GENERAL_PORT
        };
        let (src, dst) = if *from_server {
            (SERVER, CLIENT)
        } else {
            (CLIENT, SERVER)
        };
        w.write_udp(
            at,
            SocketAddrV4::new(src, port),
            SocketAddrV4::new(dst, port),
            46,
            &m.to_vec(),
        )
        .unwrap();
        at += Duration::from_millis(10);
    }
    let ntp = ntp_packets();
    let digest = [0x11u8; 16];
    for (i, h) in ntp.iter().enumerate() {
        // The server reply carries an MD5 MAC trailer.
        let p = Packet {
            mac: (i == 1).then_some(Mac {
                key_id: 7,
                digest: &digest,
            }),
            ..Packet::new(*h)
        };
        let (src, dst) = if h.mode == Mode::Server {
            (SERVER, CLIENT)
        } else {
            (CLIENT, SERVER)
        };
        w.write_udp(
            at,
            SocketAddrV4::new(src, ntp::PORT),
            SocketAddrV4::new(dst, ntp::PORT),
            0,
            &p.to_vec(),
        )
        .unwrap();
        at += Duration::from_millis(10);
    }
    // A negative control: a Delay_Resp cut short, which tshark must flag.
    let mut broken = ptp[6].0.to_vec();
    broken.truncate(40);
    let (c, sv) = (
        SocketAddrV4::new(CLIENT, 320),
        SocketAddrV4::new(SERVER, 320),
    );
    w.write_udp(at, sv, c, 0, &broken).unwrap();
    w.finish().unwrap();

    let fields: Vec<&str> = PTP_FIELDS
        .iter()
        .chain(&NTP_FIELDS)
        .chain(&["_ws.malformed", "_ws.expert.severity"])
        .copied()
        .collect();
    let mut cmd = Command::new("tshark");
    cmd.env("TZ", "UTC").args([
        "-r",
        path.to_str().unwrap(),
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
    ]);
    for f in &fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('|').collect()).collect();
    let col = |row: usize, name: &str| rows[row][fields.iter().position(|f| *f == name).unwrap()];
    assert_eq!(rows.len(), ptp.len() + ntp.len() + 1);
    let flagged = |row: usize| {
        !col(row, "_ws.malformed").is_empty() || !col(row, "_ws.expert.severity").is_empty()
    };
    for (row, decoded) in rows.iter().enumerate().take(rows.len() - 1) {
        assert!(
            !flagged(row),
            "frame {} flagged by tshark: {decoded:?}",
            row + 1
        );
    }
    assert!(
        flagged(rows.len() - 1),
        "the truncated control frame must be flagged"
    );

    // PTP: the fields tshark decoded, frame by frame.
    let expected_ptp = [
        "0x0c|1|44|0x0400|2|4,4,4|0x0b,0x00,0x09|1,-4,-4|300,300,300||||0",
        "0x0c|1|44|0x0400|2|5,5,5|0x0b,0x00,0x09|1,-4,-4|300,300,300|1,1,1|||0",
        "0x0b|2|44|0x040c|2||||||6|0|0",
        "0x00|3|44|0x0600|2||||||||1500",
        "0x08|3|44|0x0400|2||||||||0",
        "0x01|4|44|0x0400|2||||||||0",
        "0x09|4|44|0x0400|2||||||||0",
        "0x0c|5|44|0x0400|2|6,6|0x00,0x09||||||0",
        "0x0c|5|44|0x0400|2|7,7|0x00,0x09||||||0",
    ];
    for (row, want) in expected_ptp.iter().enumerate() {
        let got: Vec<&str> = PTP_FIELDS.iter().map(|c| col(row, c)).collect();
        assert_eq!(got.join("|"), *want, "PTP frame {}", row + 1);
    }
    // NTP: mode, version, stratum, reference ID, transmit timestamp, MAC key id.
    let expected_ntp = [
        "3|4|0|00000000|Jan  1, 2027 00:00:00.500000000 UTC|",
        "4|4|3|0a00011f|Jan  1, 2027 00:00:00.502000000 UTC|00000007",
        "1|3|4|c6336401|Jan  1, 2027 00:00:00.502000000 UTC|",
        "2|3|3|0a00011f|Jan  1, 2027 00:00:00.502000000 UTC|",
    ];
    for (i, want) in expected_ntp.iter().enumerate() {
        let row = ptp.len() + i;
        let got: Vec<&str> = NTP_FIELDS.iter().map(|c| col(row, c)).collect();
        assert_eq!(got.join("|"), *want, "NTP frame {}", row + 1);
    }
}

#[test]
fn tshark_reads_a_simulated_capture() {
    use meridian_sim::pdv::{G8263Load, PdvModel};
    use meridian_sim::workload::Pinger;
    use meridian_sim::{LinkModel, NodeConfig, OscillatorModel, Simulator, Vertex};
    if !common::tool_available("tshark") {
        return;
    }
    let mut sim = Simulator::new(4, Timestamp::from_secs(JAN_2027));
    let lan = sim.add_segment("lan");
    let addrs = [CLIENT, SERVER, Ipv4Addr::new(203, 0, 113, 5)];
    for (i, a) in addrs.iter().enumerate() {
        let me = SocketAddrV4::new(*a, ptp::EVENT_PORT);
        let peers: Vec<_> = addrs
            .iter()
            .filter(|p| *p != a)
            .map(|p| SocketAddrV4::new(*p, ptp::EVENT_PORT))
            .collect();
        let n = sim.add_node(
            NodeConfig {
                name: format!("n{i}"),
                addresses: vec![*a],
                oscillator: OscillatorModel::default(),
            },
            Box::new(move |ctx| {
                Box::new(Pinger::new(
                    me,
                    peers.clone(),
                    Duration::from_millis(100),
                    ctx.seed,
                ))
            }),
        );
        let m = LinkModel::symmetric(
            Duration::from_micros(30),
            PdvModel::G8263 {
                load: G8263Load::Flicker,
            },
        );
        sim.add_link(Vertex::Node(n), Vertex::Segment(lan), m);
    }
    let dir = std::env::temp_dir().join(format!("meridian-simcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sim.pcap");
    sim.capture(Box::new(std::fs::File::create(&path).unwrap()))
        .unwrap();
    sim.run_for(Duration::from_secs(5));
    sim.finish_capture().unwrap();
    let out = Command::new("tshark")
        .env("TZ", "UTC")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "ptp.v2.messagetype",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
        ])
        .output()
        .expect("run tshark");
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len() as u64, sim.stats().sent);
    assert!(
        lines.iter().all(|l| *l == "0x00\t\t"),
        "every frame a clean Sync: {:?}",
        lines.iter().find(|l| **l != "0x00\t\t")
    );
}
