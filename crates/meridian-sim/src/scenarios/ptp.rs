//! The 1588 ATR/ACR scenarios, as functions of their parameters so tests can run short variants
//! and `meridian bench ptp` the full ones. Each returns what it measured.

use std::net::Ipv4Addr;

use meridian_proto::ptp::{ClockIdentity, LogInterval};
use meridian_proto::servo::ServoState;
use meridian_proto::time::{Duration, Timestamp};
use meridian_proto::unicast::{
    Client, ClientConfig, PtpNode, RecoveryMode, Server, ServerConfig, ServoKind, TimeProperties,
};

use crate::metrics::{TeSample, TeSummary, mtie, percentile, summarize};
use crate::pdv::{G8263Load, PdvModel};
use crate::{LinkId, LinkModel, NodeConfig, NodeId, OscillatorModel, Simulator, Vertex};

/// Where every scenario's true time starts (2027-01-15).
pub const START: i64 = 1_800_000_000;

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(START + s)
}

/// A clock identity from a small number (EUI-64 from a locally administered MAC).
#[must_use]
pub fn identity(n: u16) -> ClockIdentity {
    let [hi, lo] = n.to_be_bytes();
    ClockIdentity([0x02, 0, 0, 0xFF, 0xFE, 0, hi, lo])
}

/// Hardware timestamping: 10 ns of white noise, a perfect oscillator.
#[must_use]
pub fn hardware_reference() -> OscillatorModel {
    OscillatorModel {
        timestamp_noise_ns: 10.0,
        ..OscillatorModel::default()
    }
}

/// A client oscillator: `ppb` off, 1 ms phase error, light wander, hardware timestamps.
#[must_use]
pub fn client_oscillator(ppb: f64) -> OscillatorModel {
    OscillatorModel {
        initial_phase: Duration::from_millis(1),
        frequency_ppb: ppb,
        wander_ppb: 0.05,
        wander_step: Duration::SECOND,
        timestamp_noise_ns: 10.0,
    }
}

/// Adds a PTP server node.
pub fn add_server(
    sim: &mut Simulator,
    name: &str,
    config: ServerConfig,
    osc: OscillatorModel,
) -> NodeId {
    let addr = config.local;
    sim.add_node(
        NodeConfig {
            name: name.into(),
            addresses: vec![addr],
            oscillator: osc,
        },
        Box::new(move |_| Box::new(PtpNode::new(None, Some(Server::new(config.clone()))))),
    )
}

/// Adds a PTP client node (and a server part, for server-and-client mode).
pub fn add_client(
    sim: &mut Simulator,
    name: &str,
    config: ClientConfig,
    server: Option<ServerConfig>,
    osc: OscillatorModel,
) -> NodeId {
    let addr = config.local;
    sim.add_node(
        NodeConfig {
            name: name.into(),
            addresses: vec![addr],
            oscillator: osc,
        },
        Box::new(move |ctx| {
            let c = Client::new(config.clone(), ctx.instant, ctx.seed);
            Box::new(PtpNode::new(Some(c), server.clone().map(Server::new)))
        }),
    )
}

/// The client part of a node, if it is up.
#[must_use]
pub fn client_of(sim: &Simulator, node: NodeId) -> Option<&Client> {
    sim.engine_as::<PtpNode>(node)?.client()
}

/// The server part of a node, if it is up.
#[must_use]
pub fn server_of(sim: &Simulator, node: NodeId) -> Option<&Server> {
    sim.engine_as::<PtpNode>(node)?.server()
}

/// Fractional frequency error averaged over `span` samples: (TE(i+span) − TE(i)) / time, ppb.
#[must_use]
pub fn averaged_frequency_error(samples: &[TeSample], span: usize) -> Vec<(Timestamp, f64)> {
    samples
        .windows(span + 1)
        .filter(|w| w.iter().all(|s| s.up))
        .map(|w| {
            let (a, b) = (w[0], w[span]);
            let dt = (b.at - a.at).as_secs_f64();
            (b.at, (b.te - a.te).as_nanos_f64() / dt)
        })
        .collect()
}

// ---------------------------------------------------------------- a. atr-single

/// Result of a time-error scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TeResult {
    /// |TE| statistics after the warm-up.
    pub te: TeSummary,
    /// The asymmetry floor between server and client, ns.
    pub asymmetry_floor_ns: f64,
    /// Packets sent in the run.
    pub packets: u64,
}

/// One ATR server at 192.0.2.1 (hardware reference) and its client at 192.0.2.100 with `servo`
/// and oscillator `osc`, joined by a link of `model`: the server, the client and the link.
pub fn server_and_client(
    sim: &mut Simulator,
    servo: ServoKind,
    osc: OscillatorModel,
    model: LinkModel,
) -> (NodeId, NodeId, LinkId) {
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let s = add_server(
        sim,
        "server",
        ServerConfig::new(s_addr, identity(1), 44),
        hardware_reference(),
    );
    let mut cfg = ClientConfig::new(Ipv4Addr::new(192, 0, 2, 100), identity(100), s_addr, 44);
    cfg.servo = servo;
    let c = add_client(sim, "client", cfg, None, osc);
    let link = sim.add_link(Vertex::Node(s), Vertex::Node(c), model);
    (s, c, link)
}

/// a. One server, one client 5 ppm and 1 ms off with wander, hardware timestamps, a symmetric
/// 50 µs path. Statistics after half the run.
#[must_use]
pub fn atr_single(seed: u64, servo: ServoKind, seconds: i64) -> TeResult {
    let mut sim = Simulator::new(seed, at(0));
    let (s, c, _) = server_and_client(
        &mut sim,
        servo,
        client_oscillator(5_000.0),
        LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant),
    );
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    TeResult {
        te: summarize(sim.samples(c), at(seconds / 2)).unwrap_or(EMPTY),
        asymmetry_floor_ns: sim.asymmetry_floor(s, c).map_or(0.0, |d| d.as_nanos_f64()),
        packets: sim.stats().sent,
    }
}

const EMPTY: TeSummary = TeSummary {
    count: 0,
    mean_ns: 0.0,
    p50_abs_ns: 0.0,
    p95_abs_ns: 0.0,
    p99_abs_ns: 0.0,
    max_abs_ns: 0.0,
};

// ---------------------------------------------------------------- b. acr-dual-failover

/// Timing of the dual-server failover scenario, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FailoverParams {
    /// When the server1 path fails.
    pub fail_at: i64,
    /// When it comes back.
    pub restore_at: i64,
    /// The client's wait-to-restore time.
    pub wait_to_restore: i64,
    /// Length of the run.
    pub seconds: i64,
    /// Span of the frequency-error average, seconds.
    pub frequency_span: usize,
}

impl FailoverParams {
    /// The timing: fail at 600 s, restore at 1500 s, wait-to-restore 300 s.
    pub const FULL: Self = Self {
        fail_at: 600,
        restore_at: 1500,
        wait_to_restore: 300,
        seconds: 2100,
        frequency_span: 64,
    };
}

/// What the failover scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct FailoverResult {
    /// Seconds from the failure until the client tracked server2.
    pub switched_after: Option<i64>,
    /// Seconds from the restoration until the client tracked server1 again.
    pub returned_after: Option<i64>,
    /// Largest |frequency error| (averaged over the span) from the failure to the end, ppb.
    pub max_frequency_error_ppb: f64,
    /// The same before the failure, after the first third of the warm-up, ppb.
    pub max_frequency_error_before_ppb: f64,
}

/// b. The vendor's dual-server ACR example: DeviceA (server1, 1.1.1.1) and DeviceB (server2,
/// 2.2.2.2) serve DeviceC (3.3.3.3) in one-way ACR over paths with light queueing; the
/// DeviceA–DeviceC path fails and comes back.
#[must_use]
pub fn acr_dual_failover(seed: u64, p: FailoverParams) -> FailoverResult {
    let mut sim = Simulator::new(seed, at(0));
    let (a, b, c) = (
        Ipv4Addr::new(1, 1, 1, 1),
        Ipv4Addr::new(2, 2, 2, 2),
        Ipv4Addr::new(3, 3, 3, 3),
    );
    let server = |addr, n| {
        let mut cfg = ServerConfig::new(addr, identity(n), 0);
        cfg.mode = RecoveryMode::AcrOneWay;
        cfg.properties = TimeProperties::primary(identity(n));
        cfg
    };
    let dev_a = add_server(&mut sim, "DeviceA", server(a, 1), hardware_reference());
    let dev_b = add_server(&mut sim, "DeviceB", server(b, 2), hardware_reference());
    let mut cfg = ClientConfig::new(c, identity(3), a, 0);
    cfg.servers[1] = Some(b);
    cfg.mode = RecoveryMode::AcrOneWay;
    cfg.wait_to_restore = Duration::from_secs(p.wait_to_restore);
    let dev_c = add_client(&mut sim, "DeviceC", cfg, None, client_oscillator(3_000.0));
    let path = |us| {
        LinkModel::symmetric(
            Duration::from_micros(us),
            PdvModel::Queueing {
                hops: 3,
                load: 0.3,
                service: Duration::from_micros(12),
            },
        )
    };
    let ac = sim.add_link(Vertex::Node(dev_a), Vertex::Node(dev_c), path(80));
    sim.add_link(Vertex::Node(dev_b), Vertex::Node(dev_c), path(120));
    sim.schedule_link(at(p.fail_at), ac, false);
    sim.schedule_link(at(p.restore_at), ac, true);
    sim.sample_every(Duration::SECOND);
    let (mut switched, mut returned) = (None, None);
    for t in 1..=p.seconds {
        sim.run_until(at(t));
        let sel = client_of(&sim, dev_c).and_then(Client::selected);
        if t > p.fail_at && switched.is_none() && sel == Some(1) {
            switched = Some(t - p.fail_at);
        }
        if t > p.restore_at && returned.is_none() && sel == Some(0) {
            returned = Some(t - p.restore_at);
        }
    }
    let freq = averaged_frequency_error(sim.samples(dev_c), p.frequency_span);
    let max_in = |from: i64, to: i64| {
        freq.iter()
            .filter(|(t, _)| *t > at(from) && *t <= at(to))
            .map(|(_, f)| f.abs())
            .fold(0.0, f64::max)
    };
    FailoverResult {
        switched_after: switched,
        returned_after: returned,
        max_frequency_error_ppb: max_in(p.fail_at, p.seconds),
        max_frequency_error_before_ppb: max_in(p.fail_at / 2, p.fail_at),
    }
}

// ---------------------------------------------------------------- c. lease-expiry

/// What the lease-expiry scenario measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeaseResult {
    /// When the client crashed, seconds.
    pub crash_at: i64,
    /// The last packet the server sent to the client, seconds after the crash.
    pub last_packet_after_crash: f64,
    /// The grant duration.
    pub duration: u32,
    /// Whether the server still holds a slot for the client at the end.
    pub slot_held_at_end: bool,
}

/// c. The client crashes and never comes back; the server must stop within the grant duration
/// (+1 s) and free its slot.
#[must_use]
pub fn lease_expiry(seed: u64, duration: u32, crash_at: i64) -> LeaseResult {
    let mut sim = Simulator::new(seed, at(0));
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let c_addr = Ipv4Addr::new(192, 0, 2, 100);
    let s = add_server(
        &mut sim,
        "server",
        ServerConfig::new(s_addr, identity(1), 44),
        hardware_reference(),
    );
    let mut cfg = ClientConfig::new(c_addr, identity(100), s_addr, 44);
    cfg.durations = [duration; 3];
    let c = add_client(&mut sim, "client", cfg, None, client_oscillator(1_000.0));
    sim.add_link(
        Vertex::Node(s),
        Vertex::Node(c),
        LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant),
    );
    sim.record_packets();
    sim.schedule_node(at(crash_at), c, false);
    let end = crash_at + duration as i64 + 10;
    sim.run_until(at(end));
    let last = sim
        .packets()
        .iter()
        .filter(|p| *p.from.ip() == s_addr && *p.to.ip() == c_addr)
        .map(|p| p.at)
        .max()
        .unwrap_or(at(0));
    LeaseResult {
        crash_at,
        last_packet_after_crash: (last - at(crash_at)).as_secs_f64(),
        duration,
        slot_held_at_end: server_of(&sim, s).is_some_and(|srv| srv.clients().count() > 0),
    }
}

// ---------------------------------------------------------------- d. capacity

/// What the capacity scenario measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityResult {
    /// Clients holding Sync service at the end.
    pub granted: usize,
    /// Of those, clients whose servo is locked.
    pub synchronized: usize,
    /// Clients without service.
    pub refused: usize,
    /// Requests the server refused for lack of a slot.
    pub refusals: u64,
    /// Signaling messages the refused clients sent over the whole run.
    pub requests_from_refused: usize,
}

/// d. `clients` clients ask one server with `capacity` slots. Rates are lowered (Sync and
/// Delay_Resp 8/s) to keep the run short; the policy does not depend on them.
#[must_use]
pub fn capacity(seed: u64, clients: usize, capacity: usize, seconds: i64) -> CapacityResult {
    let mut sim = Simulator::new(seed, at(0));
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let mut scfg = ServerConfig::new(s_addr, identity(1), 44);
    scfg.capacity = capacity;
    let s = add_server(&mut sim, "server", scfg, hardware_reference());
    let lan = sim.add_segment("lan");
    sim.add_link(
        Vertex::Node(s),
        Vertex::Segment(lan),
        LinkModel::symmetric(Duration::from_micros(10), PdvModel::Constant),
    );
    let mut nodes = Vec::new();
    for i in 0..clients {
        let addr = Ipv4Addr::new(10, (i / 250) as u8 + 1, (i % 250) as u8 + 1, 1);
        let mut cfg = ClientConfig::new(addr, identity(1000 + i as u16), s_addr, 44);
        cfg.delay_resp_interval = LogInterval(-3);
        let n = add_client(
            &mut sim,
            &format!("c{i}"),
            cfg,
            None,
            client_oscillator(((i % 21) as f64 - 10.0) * 500.0),
        );
        sim.add_link(
            Vertex::Node(n),
            Vertex::Segment(lan),
            LinkModel::symmetric(Duration::from_micros(20), PdvModel::Constant),
        );
        nodes.push((n, addr));
    }
    sim.record_packets();
    sim.run_for(Duration::from_secs(seconds));
    let served =
        |n: NodeId| client_of(&sim, n).is_some_and(|c| c.servers()[0].negotiations[1].is_granted());
    let refused_addrs: Vec<Ipv4Addr> = nodes
        .iter()
        .filter(|(n, _)| !served(*n))
        .map(|(_, a)| *a)
        .collect();
    let requests_from_refused = sim
        .packets()
        .iter()
        .filter(|p| p.to.port() == 320 && refused_addrs.contains(p.from.ip()))
        .count();
    CapacityResult {
        granted: nodes.iter().filter(|(n, _)| served(*n)).count(),
        synchronized: nodes
            .iter()
            .filter(|(n, _)| {
                client_of(&sim, *n).is_some_and(|c| c.servo_state() == ServoState::Locked)
            })
            .count(),
        refused: refused_addrs.len(),
        refusals: server_of(&sim, s).map_or(0, |srv| srv.refused_capacity),
        requests_from_refused,
    }
}

// ---------------------------------------------------------------- e. atr-pdv

/// The delay variation of an ATR-under-PDV run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PdvCase {
    /// Per-hop queueing, forward load 80 %, reverse 20 %, over `hops` hops, S = 12 µs.
    Queueing {
        /// Switches on the path.
        hops: u32,
    },
    /// G.8263 Amd.2 at the same constant load (percent) both ways.
    G8263 {
        /// Load, percent.
        load: f64,
    },
}

impl PdvCase {
    /// The cases the issue asks for.
    pub const ALL: [Self; 6] = [
        Self::Queueing { hops: 3 },
        Self::Queueing { hops: 5 },
        Self::Queueing { hops: 10 },
        Self::G8263 { load: 20.0 },
        Self::G8263 { load: 50.0 },
        Self::G8263 { load: 80.0 },
    ];

    fn link(self) -> LinkModel {
        let s = Duration::from_micros(12);
        let mut m = LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant);
        m.pdv = match self {
            Self::Queueing { hops } => [
                PdvModel::Queueing {
                    hops,
                    load: 0.8,
                    service: s,
                },
                PdvModel::Queueing {
                    hops,
                    load: 0.2,
                    service: s,
                },
            ],
            Self::G8263 { load } => {
                [PdvModel::G8263 {
                    load: G8263Load::Fixed(load),
                }; 2]
            }
        };
        m
    }
}

impl std::fmt::Display for PdvCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Queueing { hops } => write!(f, "queueing 80/20 % × {hops} hops"),
            Self::G8263 { load } => write!(f, "G.8263 {load:.0} % both ways"),
        }
    }
}

/// e. ATR at 128 packets/s each way under `case`; statistics after `warmup` seconds.
#[must_use]
pub fn atr_pdv(seed: u64, case: PdvCase, servo: ServoKind, seconds: i64, warmup: i64) -> TeResult {
    let mut sim = Simulator::new(seed, at(0));
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let s = add_server(
        &mut sim,
        "server",
        ServerConfig::new(s_addr, identity(1), 44),
        hardware_reference(),
    );
    let mut cfg = ClientConfig::new(Ipv4Addr::new(198, 51, 100, 1), identity(100), s_addr, 44);
    cfg.servo = servo;
    cfg.sync_interval = LogInterval(-7);
    cfg.delay_resp_interval = LogInterval(-7);
    let c = add_client(&mut sim, "client", cfg, None, client_oscillator(5_000.0));
    sim.add_link(Vertex::Node(s), Vertex::Node(c), case.link());
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    TeResult {
        te: summarize(sim.samples(c), at(warmup)).unwrap_or(EMPTY),
        asymmetry_floor_ns: sim.asymmetry_floor(s, c).map_or(0.0, |d| d.as_nanos_f64()),
        packets: sim.stats().sent,
    }
}

// ---------------------------------------------------------------- f. acr-pdv

/// What an ACR-under-PDV run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct AcrPdvResult {
    /// Largest |instantaneous frequency error| of the disciplined clock after `settle`, ppb.
    pub max_instant_frequency_error_ppb: f64,
    /// Largest |frequency error| averaged over 64 s after `settle`, ppb.
    pub max_frequency_error_after_settle_ppb: f64,
    /// 99th percentile of |frequency error| over 1000-s spans after the settling time, ppb.
    pub p99_frequency_error_1000s_ppb: Option<f64>,
    /// MTIE of the recovered clock at 1, 10, 100, 1000 s (after settling), ns.
    pub mtie_ns: Vec<(usize, f64)>,
}

/// f. One-way ACR at 16 packets/s under the G.8263 model (fixed load, or the flicker load
/// process independently per direction).
#[must_use]
pub fn acr_pdv(
    seed: u64,
    load: G8263Load,
    servo: ServoKind,
    seconds: i64,
    settle: i64,
) -> AcrPdvResult {
    let mut sim = Simulator::new(seed, at(0));
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let mut scfg = ServerConfig::new(s_addr, identity(1), 4);
    scfg.mode = RecoveryMode::AcrOneWay;
    let s = add_server(&mut sim, "server", scfg, hardware_reference());
    let mut cfg = ClientConfig::new(Ipv4Addr::new(198, 51, 100, 1), identity(100), s_addr, 4);
    cfg.mode = RecoveryMode::AcrOneWay;
    cfg.servo = servo;
    cfg.sync_interval = LogInterval(-4);
    let c = add_client(&mut sim, "client", cfg, None, client_oscillator(4_000.0));
    let mut link = LinkModel::symmetric(Duration::ZERO, PdvModel::G8263 { load });
    link.pdv = [PdvModel::G8263 { load }; 2];
    sim.add_link(Vertex::Node(s), Vertex::Node(c), link);
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    let samples: Vec<TeSample> = sim
        .samples(c)
        .iter()
        .copied()
        .filter(|s| s.at >= at(settle))
        .collect();
    let f64s = averaged_frequency_error(&samples, 64);
    let long: Vec<f64> = averaged_frequency_error(&samples, 1000)
        .iter()
        .map(|(_, f)| f.abs())
        .collect();
    let x: Vec<f64> = samples.iter().map(|s| s.te.as_nanos_f64()).collect();
    AcrPdvResult {
        max_instant_frequency_error_ppb: samples
            .iter()
            .map(|s| s.freq_error_ppb.abs())
            .fold(0.0, f64::max),
        max_frequency_error_after_settle_ppb: f64s.iter().map(|(_, f)| f.abs()).fold(0.0, f64::max),
        p99_frequency_error_1000s_ppb: percentile(&long, 99.0),
        mtie_ns: [1, 10, 100, 1000]
            .iter()
            .filter_map(|&n| Some((n, mtie(&x, n)?)))
            .collect(),
    }
}

/// ACR over a path whose forward direction is heavily queued (80 %, 5 hops) and whose reverse
/// is light (20 %): returns the largest |instantaneous frequency error| after `settle`, ppb.
/// Two-way ACR can recover frequency from the quieter reverse direction.
#[must_use]
pub fn acr_asymmetric(seed: u64, mode: RecoveryMode, seconds: i64, settle: i64) -> f64 {
    let mut sim = Simulator::new(seed, at(0));
    let s_addr = Ipv4Addr::new(192, 0, 2, 1);
    let mut scfg = ServerConfig::new(s_addr, identity(1), 4);
    scfg.mode = mode;
    let s = add_server(&mut sim, "server", scfg, hardware_reference());
    let mut cfg = ClientConfig::new(Ipv4Addr::new(198, 51, 100, 1), identity(100), s_addr, 4);
    cfg.mode = mode;
    cfg.sync_interval = LogInterval(-4);
    cfg.delay_resp_interval = LogInterval(-4);
    let c = add_client(&mut sim, "client", cfg, None, client_oscillator(4_000.0));
    sim.add_link(
        Vertex::Node(s),
        Vertex::Node(c),
        PdvCase::Queueing { hops: 5 }.link(),
    );
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(seconds));
    sim.samples(c)
        .iter()
        .filter(|x| x.at >= at(settle))
        .map(|x| x.freq_error_ppb.abs())
        .fold(0.0, f64::max)
}

// ---------------------------------------------------------------- g. boundary chain

/// What the boundary-chain scenario measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainResult {
    /// stepsRemoved the end client sees.
    pub steps_removed: Option<u16>,
    /// Whether the end client sees the grandmaster's identity.
    pub grandmaster_forwarded: bool,
    /// Clock class the end client sees.
    pub clock_class: Option<u8>,
    /// TE at the server-and-client.
    pub te_boundary: Option<TeSummary>,
    /// TE at the end client.
    pub te_client: Option<TeSummary>,
}

/// g. Grandmaster → server-and-client → client, ATR, 50 µs constant links.
#[must_use]
pub fn boundary_chain(seed: u64, seconds: i64) -> ChainResult {
    boundary_chain_with(seed, seconds, None).0
}

/// The boundary chain with the grandmaster crashing at `gm_crash` (seconds); also returns the
/// clock class the end client sees every 10 s.
#[must_use]
pub fn boundary_chain_with(
    seed: u64,
    seconds: i64,
    gm_crash: Option<i64>,
) -> (ChainResult, Vec<(i64, Option<u8>)>) {
    let mut sim = Simulator::new(seed, at(0));
    let (gm_addr, bc_addr, c_addr) = (
        Ipv4Addr::new(192, 0, 2, 1),
        Ipv4Addr::new(192, 0, 2, 2),
        Ipv4Addr::new(198, 51, 100, 3),
    );
    let gm = add_server(
        &mut sim,
        "grandmaster",
        ServerConfig::new(gm_addr, identity(1), 44),
        hardware_reference(),
    );
    let mut bc_server = ServerConfig::new(bc_addr, identity(2), 44);
    bc_server.properties = TimeProperties::free_running(identity(2));
    let bc = add_client(
        &mut sim,
        "boundary",
        ClientConfig::new(bc_addr, identity(2), gm_addr, 44),
        Some(bc_server),
        client_oscillator(2_000.0),
    );
    let c = add_client(
        &mut sim,
        "client",
        ClientConfig::new(c_addr, identity(3), bc_addr, 44),
        None,
        client_oscillator(-3_000.0),
    );
    let link = LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant);
    sim.add_link(Vertex::Node(gm), Vertex::Node(bc), link);
    sim.add_link(Vertex::Node(bc), Vertex::Node(c), link);
    sim.sample_every(Duration::SECOND);
    if let Some(t) = gm_crash {
        sim.schedule_node(at(t), gm, false);
    }
    let mut classes = Vec::new();
    for t in (10..=seconds).step_by(10) {
        sim.run_until(at(t));
        let class = client_of(&sim, c)
            .and_then(Client::upstream)
            .map(|(a, _)| a.clock_quality.clock_class);
        classes.push((t, class));
    }
    let upstream = client_of(&sim, c)
        .and_then(Client::upstream)
        .map(|(a, _)| *a);
    let result = ChainResult {
        steps_removed: upstream.map(|a| a.steps_removed),
        grandmaster_forwarded: upstream.is_some_and(|a| a.grandmaster_identity == identity(1)),
        clock_class: upstream.map(|a| a.clock_quality.clock_class),
        te_boundary: summarize(sim.samples(bc), at(seconds / 2)),
        te_client: summarize(sim.samples(c), at(seconds / 2)),
    };
    (result, classes)
}
