//! Faults: outages that end, loss, flapping. Each scenario reports how the client came back:
//! the servo states it went through, when it was locked again, and its time error before,
//! during and after.

use std::net::Ipv4Addr;

use meridian_proto::servo::ServoState;
use meridian_proto::time::{Duration, Timestamp};
use meridian_proto::unicast::{Client, ServoKind};

use super::ptp::{START, client_of, server_and_client};
use crate::loss::LossModel;
use crate::metrics::{TeSummary, summarize};
use crate::pdv::PdvModel;
use crate::{LinkModel, NodeId, OscillatorModel, Simulator, Vertex};

fn at(s: i64) -> Timestamp {
    Timestamp::from_secs(START + s)
}

/// What goes wrong on the only server's path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outage {
    /// When the path goes down, s.
    pub down_at: i64,
    /// For how long, s (0: no outage, the baseline).
    pub down_for: i64,
    /// Length of the run, s.
    pub seconds: i64,
    /// Packet loss probability in each direction, all the time.
    pub loss: f64,
    /// Queueing load of each of the path's two hops (0.2 light, 0.5 heavy).
    pub load: f64,
    /// The outage repeats this many more times (flapping)…
    pub repeats: u32,
    /// …every this many seconds.
    pub period: i64,
}

impl Outage {
    /// An outage of `down_for` s at `down_at` s in a run of `seconds` s, no loss, light load.
    #[must_use]
    pub const fn new(down_at: i64, down_for: i64, seconds: i64) -> Self {
        Self {
            down_at,
            down_for,
            seconds,
            loss: 0.0,
            load: 0.2,
            repeats: 0,
            period: 0,
        }
    }

    /// The intervals the path is down, in order.
    fn downs(&self) -> Vec<(i64, i64)> {
        if self.down_for <= 0 {
            return Vec::new();
        }
        (0..=i64::from(self.repeats))
            .map(|k| {
                let start = self.down_at + k * self.period;
                (start, start + self.down_for)
            })
            .collect()
    }
}

/// What an outage did.
#[derive(Clone, Debug, PartialEq)]
pub struct OutageResult {
    /// The servo's state changes: (second, state).
    pub states: Vec<(i64, ServoState)>,
    /// Seconds from the path's return until the servo was locked again.
    pub relocked_after: Option<i64>,
    /// Largest |TE| while the path was down, ns.
    pub holdover_max_te_ns: f64,
    /// |TE| from 60 s after the relock to the end (for the baseline: the same span).
    pub te_after: Option<TeSummary>,
    /// Times the servo entered holdover outside the outage (false failures).
    pub false_failures: usize,
    /// For each outage, seconds from the return until locked again (`None`: not before the
    /// next outage or the end).
    pub relocks: Vec<Option<i64>>,
}

/// One ATR server, one client 5 ppm off with wander, a 50 µs path with light queueing; the path
/// goes down at `down_at` for `down_for` seconds.
#[must_use]
pub fn lone_server_outage(seed: u64, o: Outage, osc: OscillatorModel) -> OutageResult {
    let mut sim = Simulator::new(seed, at(0));
    let mut model = LinkModel::symmetric(
        Duration::from_micros(50),
        PdvModel::Queueing {
            hops: 2,
            load: o.load,
            service: Duration::from_micros(12),
        },
    );
    if o.loss > 0.0 {
        model.loss = [LossModel::Bernoulli { p: o.loss }; 2];
    }
    let (_, c, link) = server_and_client(&mut sim, ServoKind::Selection, osc, model);
    for (down, up) in o.downs() {
        sim.schedule_link(at(down), link, false);
        sim.schedule_link(at(up), link, true);
    }
    follow(&mut sim, c, &o)
}

/// Runs `sim` for `o.seconds`, following client `c` through the outages of `o` (scheduled by
/// the caller): its servo states, when it was locked again after each outage, its |TE| while
/// down and after.
fn follow(sim: &mut Simulator, c: NodeId, o: &Outage) -> OutageResult {
    let downs = o.downs();
    let up_at = downs.last().map_or(o.down_at, |d| d.1);
    sim.sample_every(Duration::SECOND);
    let mut states: Vec<(i64, ServoState)> = Vec::new();
    let mut relocks: Vec<Option<i64>> = vec![None; downs.len()];
    for t in 1..=o.seconds {
        sim.run_until(at(t));
        let state = client_of(sim, c).map_or(ServoState::Unlocked, Client::servo_state);
        if states.last().is_none_or(|(_, s)| *s != state) {
            states.push((t, state));
        }
        // The outage this second follows, if the path is up again and not yet down anew.
        let last = downs.iter().rposition(|(_, up)| t >= *up);
        if let Some(k) = last
            && downs.get(k + 1).is_none_or(|(next, _)| t < *next)
            && relocks[k].is_none()
            && state == ServoState::Locked
        {
            relocks[k] = Some(t - downs[k].1);
        }
    }
    let relocked = relocks.last().copied().flatten();
    let samples = sim.samples(c);
    let holdover_max_te_ns = samples
        .iter()
        .filter(|x| x.at >= at(o.down_at) && x.at < at(up_at))
        .map(|x| x.te.as_nanos_f64().abs())
        .fold(0.0, f64::max);
    let from = if o.down_for > 0 {
        relocked.map(|r| up_at + r + 60)
    } else {
        Some(o.down_at + 60)
    };
    let false_failures = states
        .iter()
        .filter(|(t, st)| {
            *st == ServoState::Holdover && !downs.iter().any(|(d, u)| (*d..=*u).contains(t))
        })
        .count();
    OutageResult {
        relocks,
        false_failures,
        states,
        relocked_after: relocked,
        holdover_max_te_ns,
        te_after: from.and_then(|f| summarize(samples, at(f))),
    }
}

/// What a client of several NTP servers saw.
#[derive(Clone, Debug, PartialEq)]
pub struct NtpServersResult {
    /// |TE| after the warm-up.
    pub te: Option<TeSummary>,
    /// Changes of system peer after the warm-up.
    pub peer_changes: usize,
    /// Whether a falseticker was ever the system peer.
    pub followed_a_falseticker: bool,
    /// Largest change of the discipline's frequency between two seconds after the warm-up, ppb
    /// (before the system peer is taken down, if it is).
    pub max_frequency_jump_ppb: f64,
    /// The same from the system peer's crash to the end, ppb.
    pub max_frequency_jump_after_crash_ppb: f64,
    /// |TE| from the crash to the end.
    pub te_after_crash: Option<TeSummary>,
}

/// A client of `servers` stratum-1 servers on a LAN with exponential jitter of mean `jitter`;
/// the last `false_servers` of them run 50 ms off.
#[must_use]
pub fn ntp_servers(
    seed: u64,
    servers: u8,
    false_servers: u8,
    jitter: Duration,
    seconds: i64,
    warmup: i64,
    crash_peer_at: Option<i64>,
) -> NtpServersResult {
    use meridian_proto::ntp_service::Reference;
    use meridian_proto::ntp_service::config::{AssociationConfig, NtpConfig};

    use super::ntp::{add_ntp, join, lan, ntp_of, reference_server, software};

    let mut sim = Simulator::new(seed, at(0));
    let net = lan(&mut sim);
    let client_ip = Ipv4Addr::new(10, 0, 2, 100);
    let mut cc = NtpConfig::new(client_ip);
    let mut falsetickers = Vec::new();
    let mut nodes = Vec::new();
    for k in 1..=servers {
        let ip = Ipv4Addr::new(10, 0, 2, k);
        let off = k > servers - false_servers;
        let phase = if off {
            falsetickers.push(ip);
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
        join(&mut sim, net, n, jitter);
        nodes.push((ip, n));
        cc.associations.push(AssociationConfig {
            iburst: true,
            minpoll: 4,
            ..AssociationConfig::server(ip)
        });
    }
    let c = add_ntp(
        &mut sim,
        "client",
        client_ip,
        cc,
        software(Duration::from_millis(2), 2_000.0),
    );
    join(&mut sim, net, c, jitter);
    let c_node = c;
    sim.sample_every(Duration::SECOND);
    let (mut peer, mut changes, mut followed) = (None, 0, false);
    let (mut last_freq, mut max_jump, mut jump_after) = (None::<f64>, 0f64, 0f64);
    for t in 1..=seconds {
        sim.run_until(at(t));
        let Some(reference) = ntp_of(&sim, c).map(|n| n.system().reference) else {
            continue;
        };
        if crash_peer_at == Some(t)
            && let Reference::Peer(a) = reference
            && let Some((_, node)) = nodes.iter().find(|(ip, _)| *ip == a)
        {
            sim.schedule_node(at(t), *node, false);
        }
        let crashed = crash_peer_at.is_some_and(|c| t > c);
        if let Reference::Peer(a) = reference {
            followed |= falsetickers.contains(&a);
        }
        if t > warmup {
            if peer.is_some_and(|p| p != reference) {
                changes += 1;
            }
            let f = ntp_of(&sim, c).map_or(0.0, |n| n.discipline().frequency_ppb);
            if let Some(l) = last_freq {
                if crashed {
                    jump_after = jump_after.max((f - l).abs());
                } else {
                    max_jump = max_jump.max((f - l).abs());
                }
            }
            last_freq = Some(f);
        }
        peer = Some(reference);
    }
    NtpServersResult {
        te: summarize(sim.samples(c), at(warmup)),
        peer_changes: changes,
        followed_a_falseticker: followed,
        max_frequency_jump_ppb: max_jump,
        max_frequency_jump_after_crash_ppb: jump_after,
        te_after_crash: crash_peer_at.and_then(|c| summarize(sim.samples(c_node), at(c))),
    }
}

/// Two ATR servers (server1 preferred by configuration order), both paths down at `o.down_at`
/// for `o.down_for` seconds: the client holds over, then re-locks to one of them.
#[must_use]
pub fn both_servers_outage(seed: u64, o: Outage, osc: OscillatorModel) -> OutageResult {
    use super::ptp::{add_client, add_server, hardware_reference, identity};
    use meridian_proto::unicast::{ClientConfig, ServerConfig};

    let mut sim = Simulator::new(seed, at(0));
    let addrs = [Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)];
    let servers: Vec<_> = addrs
        .iter()
        .enumerate()
        .map(|(k, a)| {
            add_server(
                &mut sim,
                &format!("server{}", k + 1),
                ServerConfig::new(*a, identity(k as u16 + 1), 44),
                hardware_reference(),
            )
        })
        .collect();
    let mut cfg = ClientConfig::new(Ipv4Addr::new(192, 0, 2, 100), identity(100), addrs[0], 44);
    cfg.servers[1] = Some(addrs[1]);
    let c = add_client(&mut sim, "client", cfg, None, osc);
    let model = LinkModel::symmetric(
        Duration::from_micros(50),
        PdvModel::Queueing {
            hops: 2,
            load: o.load,
            service: Duration::from_micros(12),
        },
    );
    for s in servers {
        let link = sim.add_link(Vertex::Node(s), Vertex::Node(c), model);
        for (down, up) in o.downs() {
            sim.schedule_link(at(down), link, false);
            sim.schedule_link(at(up), link, true);
        }
    }
    follow(&mut sim, c, &o)
}
