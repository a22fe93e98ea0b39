//! Benchmarks that report numbers for the closing notes and docs. They read the wall clock, which
//! only binaries may do.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use meridian_proto::ntp;
use meridian_proto::ptp::{
    Body, ClockIdentity, Header, LogInterval, Message, MessageType, PortIdentity, RequestTlv,
    SequenceId, Signaling, SignalingTlv,
};
use meridian_proto::time::{Duration, PtpTimestamp, Timestamp};
use meridian_sim::pdv::{G8263Load, PdvModel};
use meridian_sim::workload::Pinger;
use meridian_sim::{LinkModel, NodeConfig, OscillatorModel, Simulator, Vertex};

/// What one simulator run measured.
pub(crate) struct SimFigures {
    pub(crate) events: u64,
    pub(crate) wall_s: f64,
}

/// `nodes` nodes in LANs of ten behind a core segment, each sending `rate` PTP Syncs per second
/// to four peers in turn, with wander, timestamp noise, queueing PDV and G.8263 PDV.
pub(crate) fn sim(nodes: usize, rate: u32, seconds: u64, trace_hash: bool) -> SimFigures {
    let mut sim = Simulator::new(7, Timestamp::from_secs(1_800_000_000));
    if !trace_hash {
        sim.without_trace_hash();
    }
    let addr = |i: usize| Ipv4Addr::new(10, (i / 250) as u8, (i % 250) as u8, 1);
    let core = sim.add_segment("core");
    let mut access = None;
    for i in 0..nodes {
        if i % 10 == 0 {
            let seg = sim.add_segment(format!("lan{}", i / 10));
            let m = LinkModel::symmetric(
                Duration::from_micros(50),
                PdvModel::G8263 {
                    load: G8263Load::Flicker,
                },
            );
            sim.add_link(Vertex::Segment(seg), Vertex::Segment(core), m);
            access = Some(seg);
        }
        let peers = [1, 10, 37, 71]
            .map(|k| SocketAddrV4::new(addr((i + k) % nodes), 319))
            .to_vec();
        let me = SocketAddrV4::new(addr(i), 319);
        let interval = Duration::from_nanos(1_000_000_000 / rate as i64);
        let osc = OscillatorModel {
            frequency_ppb: (i as f64 - 50.0) * 100.0,
            wander_ppb: 1.0,
            timestamp_noise_ns: 500.0,
            ..OscillatorModel::default()
        };
        let id = sim.add_node(
            NodeConfig {
                name: format!("n{i}"),
                addresses: vec![addr(i)],
                oscillator: osc,
            },
            Box::new(move |ctx| Box::new(Pinger::new(me, peers.clone(), interval, ctx.seed))),
        );
        let m = LinkModel::symmetric(
            Duration::from_micros(5),
            PdvModel::Queueing {
                hops: 1,
                load: 0.3,
                service: Duration::from_micros(12),
            },
        );
        sim.add_link(
            Vertex::Node(id),
            Vertex::Segment(access.expect("segment made at i % 10 == 0")),
            m,
        );
    }
    let start = Instant::now();
    sim.run_for(Duration::from_secs(seconds as i64));
    let wall = start.elapsed().as_secs_f64();
    let events = sim.events_processed();
    let s = sim.stats();
    println!("simulator: {nodes} nodes × {rate} packets/s, {seconds} simulated s");
    println!(
        "  packets sent {}  delivered {}  lost {}",
        s.sent, s.delivered, s.lost
    );
    println!("  events {events}  wall {wall:.3} s");
    println!(
        "  {:.0} events/s, {:.1}× real time",
        events as f64 / wall,
        seconds as f64 / wall
    );
    if let Some(h) = sim.trace_hash() {
        println!("  trace hash {h:016x}");
    }
    SimFigures {
        events,
        wall_s: wall,
    }
}

fn time_parses(name: &str, bytes: &[u8], iterations: u64, parse: impl Fn(&[u8]) -> bool) {
    let start = Instant::now();
    let mut ok = 0u64;
    for _ in 0..iterations {
        ok += u64::from(parse(black_box(bytes)));
    }
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(ok, iterations, "{name} must parse");
    println!(
        "  {name:<28} {:>6.1} M msgs/s  ({:.1} ns each)",
        iterations as f64 / wall / 1e6,
        wall * 1e9 / iterations as f64
    );
}

/// Parse throughput of representative messages, one core.
pub(crate) fn codec(iterations: u64) {
    let port = PortIdentity {
        clock_identity: ClockIdentity([1; 8]),
        port_number: 1,
    };
    let header = Header::new(port, 44, SequenceId(9));
    let ts = PtpTimestamp::new(1_800_000_000, 5).unwrap_or(PtpTimestamp::ZERO);
    let sync = Message {
        header,
        body: Body::Sync {
            origin_timestamp: ts,
        },
    }
    .to_vec();
    let req = |t| {
        SignalingTlv::Request(RequestTlv {
            message_type: t,
            log_period: LogInterval(-4),
            duration: 300,
        })
    };
    let signaling = Message {
        header,
        body: Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs: vec![
                req(MessageType::Announce),
                req(MessageType::Sync),
                req(MessageType::DelayResp),
            ],
        }),
    }
    .to_vec();
    let ntp_reply = ntp::Packet::new(ntp::Header {
        leap: ntp::LeapIndicator::NoWarning,
        version: 4,
        mode: ntp::Mode::Server,
        stratum: 2,
        poll: 6,
        precision: -20,
        root_delay: Default::default(),
        root_dispersion: Default::default(),
        reference_id: ntp::ReferenceId([10, 0, 1, 31]),
        reference_timestamp: Default::default(),
        origin_timestamp: Default::default(),
        receive_timestamp: Default::default(),
        transmit_timestamp: Default::default(),
    })
    .to_vec();
    println!("codec parse throughput, one core, {iterations} parses each:");
    time_parses("PTP Sync (44 B)", &sync, iterations, |b| {
        Message::parse(b).is_ok()
    });
    time_parses("PTP Signaling 3×REQUEST", &signaling, iterations, |b| {
        Message::parse(b).is_ok()
    });
    time_parses("NTP server reply (48 B)", &ntp_reply, iterations, |b| {
        ntp::Packet::parse(b).is_ok()
    });
}
