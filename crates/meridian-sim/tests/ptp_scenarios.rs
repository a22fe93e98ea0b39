//! The 1588 ATR/ACR scenarios of the unicast engines, short variants (the full ones run from
//! `meridian bench ptp`).

use std::net::Ipv4Addr;

use meridian_proto::ptp::ClockIdentity;
use meridian_proto::time::{Duration, Timestamp};
use meridian_proto::unicast::{Client, ClientConfig, PtpNode, Server, ServerConfig, ServoKind};
use meridian_sim::metrics::summarize;
use meridian_sim::pdv::PdvModel;
use meridian_sim::{LinkModel, NodeConfig, NodeId, OscillatorModel, Simulator, Vertex};

const START: i64 = 1_800_000_000;
const SERVER1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

fn id(n: u8) -> ClockIdentity {
    ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, 0, n])
}

fn add_server(sim: &mut Simulator, addr: Ipv4Addr, n: u8, osc: OscillatorModel) -> NodeId {
    sim.add_node(
        NodeConfig {
            name: format!("server{n}"),
            addresses: vec![addr],
            oscillator: osc,
        },
        Box::new(move |_| {
            let s = Server::new(ServerConfig::new(addr, id(n), 44));
            Box::new(PtpNode::new(None, Some(s)))
        }),
    )
}

fn add_client(sim: &mut Simulator, config: ClientConfig, osc: OscillatorModel) -> NodeId {
    let start = sim.now();
    sim.add_node(
        NodeConfig {
            name: "client".into(),
            addresses: vec![config.local],
            oscillator: osc,
        },
        Box::new(move |ctx| {
            // The monotonic origin is the oscillator's reading; the client only needs "now".
            let _ = start;
            let c = Client::new(
                config.clone(),
                meridian_proto::engine::Instant::ZERO,
                ctx.seed,
            );
            Box::new(PtpNode::new(Some(c), None))
        }),
    )
}

fn hardware() -> OscillatorModel {
    OscillatorModel {
        timestamp_noise_ns: 10.0,
        ..OscillatorModel::default()
    }
}

/// atr-single: converges from 1 ms and 5 ppm off; steady-state p99 |TE| ≤ 20 ns.
fn atr_single(servo: ServoKind, seconds: i64) -> (meridian_sim::metrics::TeSummary, u64) {
    let mut sim = Simulator::new(11, Timestamp::from_secs(START));
    let s = add_server(&mut sim, SERVER1, 1, hardware());
    let mut cfg = ClientConfig::new(CLIENT, id(100), SERVER1, 44);
    cfg.servo = servo;
    let client_osc = OscillatorModel {
        initial_phase: Duration::from_millis(1),
        frequency_ppb: 5_000.0,
        wander_ppb: 0.05,
        wander_step: Duration::SECOND,
        timestamp_noise_ns: 10.0,
    };
    let c = add_client(&mut sim, cfg, client_osc);
    sim.add_link(
        Vertex::Node(s),
        Vertex::Node(c),
        LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant),
    );
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let warmup = Timestamp::from_secs(START + seconds / 2);
    (
        summarize(sim.samples(c), warmup).expect("samples"),
        sim.stats().sent,
    )
}

#[test]
fn atr_single_converges_to_20_ns() {
    let (te, sent) = atr_single(ServoKind::Selection, 600);
    eprintln!("atr-single selection: {te:?}, {sent} packets");
    assert!(te.p99_abs_ns <= 20.0, "{te:?}");
    let (te, _) = atr_single(ServoKind::Pi, 600);
    eprintln!("atr-single PI: {te:?}");
    assert!(te.p99_abs_ns <= 50.0, "{te:?}");
}
