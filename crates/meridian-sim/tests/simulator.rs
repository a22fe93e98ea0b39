//! Whole-simulator behaviour: determinism, routing, exact deadlines, failures.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use meridian_proto::engine::{Engine, Input, Instant, Now, Output, Transmit, TxToken};
use meridian_proto::time::{Duration, Timestamp};
use meridian_sim::loss::LossModel;
use meridian_sim::pdv::{G8263Load, PdvModel};
use meridian_sim::workload::Pinger;
use meridian_sim::{LinkModel, NodeConfig, OscillatorModel, Reorder, Simulator, Vertex};

const START: i64 = 1_800_000_000;

fn ip(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, d)
}

fn node(name: &str, addrs: &[Ipv4Addr], osc: OscillatorModel) -> NodeConfig {
    NodeConfig {
        name: name.into(),
        addresses: addrs.to_vec(),
        oscillator: osc,
    }
}

/// A scenario that uses every random and scheduled feature at once.
fn busy_scenario(seed: u64) -> Simulator {
    let mut sim = Simulator::new(seed, Timestamp::from_secs(START));
    let osc = |ppb: f64| OscillatorModel {
        initial_phase: Duration::from_micros(37),
        frequency_ppb: ppb,
        wander_ppb: 2.0,
        wander_step: Duration::from_millis(500),
        timestamp_noise_ns: 800.0,
    };
    let addrs: Vec<Ipv4Addr> = (1..=4).map(ip).collect();
    let mut ids = Vec::new();
    for (i, &a) in addrs.iter().enumerate() {
        let peers: Vec<SocketAddrV4> = addrs
            .iter()
            .filter(|&&p| p != a)
            .map(|&p| SocketAddrV4::new(p, 319))
            .collect();
        let me = SocketAddrV4::new(a, 319);
        ids.push(sim.add_node(
            node(&format!("n{i}"), &[a], osc(1_000.0 * i as f64)),
            Box::new(move |ctx| {
                Box::new(Pinger::new(
                    me,
                    peers.clone(),
                    Duration::from_millis(50),
                    ctx.seed,
                ))
            }),
        ));
    }
    let lan = sim.add_segment("lan");
    let mut links = Vec::new();
    for (i, &n) in ids.iter().enumerate() {
        let mut m = LinkModel::symmetric(
            Duration::from_micros(20 + 10 * i as i64),
            PdvModel::G8263 {
                load: G8263Load::Flicker,
            },
        );
        m.pdv[1] = PdvModel::Queueing {
            hops: 3,
            load: 0.5,
            service: Duration::from_micros(12),
        };
        m.asymmetry = Duration::from_micros(3);
        m.loss = [
            LossModel::Bernoulli { p: 0.01 },
            LossModel::Bursty {
                p_enter: 0.02,
                p_exit: 0.3,
                loss_in_bad: 0.8,
            },
        ];
        m.reorder = Reorder {
            p: 0.01,
            max_extra: Duration::from_micros(500),
        };
        links.push(sim.add_link(Vertex::Node(n), Vertex::Segment(lan), m));
    }
    let t = |s: i64| Timestamp::from_secs(START + s);
    sim.schedule_link(t(3), links[1], false);
    sim.schedule_link(t(5), links[1], true);
    sim.schedule_node(t(4), ids[2], false);
    sim.schedule_node(t(6), ids[2], true);
    sim.sample_every(Duration::from_millis(100));
    sim
}

/// What a run of the busy scenario ends with: its trace hash, packet counts, one node's time
/// error samples and the number of events.
fn outcome(sim: &Simulator) -> (Option<u64>, meridian_sim::NetStats, Vec<i128>, u64) {
    let te = sim
        .samples(meridian_sim::NodeId(3))
        .iter()
        .map(|s| s.te.ticks())
        .collect();
    (sim.trace_hash(), sim.stats(), te, sim.events_processed())
}

#[test]
fn a_run_without_its_trace_hash_is_the_same_run() {
    let run = |hash: bool| {
        let mut sim = busy_scenario(42);
        if !hash {
            sim.without_trace_hash();
        }
        sim.run_for(Duration::from_secs(10));
        outcome(&sim)
    };
    let (with, without) = (run(true), run(false));
    assert!(with.0.is_some());
    assert_eq!(without.0, None);
    assert_eq!((with.1, with.2, with.3), (without.1, without.2, without.3));
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let mut sim = busy_scenario(seed);
        sim.run_for(Duration::from_secs(10));
        outcome(&sim)
    };
    let a = run(42);
    let b = run(42);
    assert_eq!(a, b);
    let c = run(43);
    assert_ne!(a.0, c.0, "a different seed must change the trace");
    // The scenario exercised what it claims to.
    let stats = a.1;
    assert!(stats.sent > 700, "{stats:?}");
    assert!(
        stats.lost > 0 && stats.unroutable > 0 && stats.node_down > 0,
        "{stats:?}"
    );
    assert!(stats.delivered > stats.sent / 2, "{stats:?}");
    // Everything sent is accounted for, except the few packets still in flight at the end.
    let settled = stats.delivered + stats.lost + stats.unroutable + stats.node_down;
    assert!(
        settled <= stats.sent && stats.sent - settled < 8,
        "{stats:?}"
    );
}

/// Records what arrives and sends scripted datagrams at scripted local instants.
#[derive(Default)]
struct Probe {
    script: VecDeque<(Instant, Transmit)>,
    log: Log,
    out: VecDeque<Output>,
}

impl Engine for Probe {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        let entry = match input {
            Input::Timeout => {
                while self
                    .script
                    .front()
                    .is_some_and(|(at, _)| *at <= now.instant)
                {
                    let (_, t) = self.script.pop_front().unwrap();
                    self.out.push_back(Output::Transmit(t));
                }
                ("timeout".to_string(), None)
            }
            Input::Datagram(d) => (format!("rx {} {:?}", d.from, d.bytes), Some(d.rx_timestamp)),
            Input::TxTimestamp { token, timestamp } => (format!("tx {}", token.0), Some(timestamp)),
            Input::TransmitStamped { token, at } => (format!("stamped {}", token.0), Some(at)),
        };
        self.log.borrow_mut().push((entry.0, now, entry.1));
    }
    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.script.front().map(|(at, _)| *at)
    }
}

type LogEntry = (String, Now, Option<Timestamp>);
type Log = Rc<RefCell<Vec<LogEntry>>>;

fn probe(script: Vec<(Instant, Transmit)>) -> (Log, meridian_sim::EngineFactory) {
    let log: Log = Rc::default();
    let l = log.clone();
    let factory: meridian_sim::EngineFactory = Box::new(move |_| {
        Box::new(Probe {
            script: script.clone().into(),
            log: l.clone(),
            out: VecDeque::new(),
        })
    });
    (log, factory)
}

fn send(from: Ipv4Addr, to: Ipv4Addr, tag: u8) -> Transmit {
    Transmit {
        from: SocketAddrV4::new(from, 320),
        to: SocketAddrV4::new(to, 320),
        dscp: 0,
        bytes: vec![tag],
        token: Some(TxToken(tag as u64)),
        late_ntp_transmit: false,
    }
}

#[test]
fn routes_over_shortest_path_and_reroutes_when_a_link_fails() {
    // a — b — c in a line, plus a slow direct a — c link; c owns a loopback.
    let mut sim = Simulator::new(1, Timestamp::from_secs(START));
    let at = |s: i64| Instant::from_origin(Duration::from_secs(START + s));
    let lo_c = Ipv4Addr::new(203, 0, 113, 3);
    let (log_a, fa) = probe(vec![
        (at(1), send(ip(1), lo_c, 1)),
        (at(3), send(ip(1), lo_c, 2)),
        (at(5), send(ip(1), ip(9), 3)),
    ]);
    let (_, fb) = probe(vec![]);
    let (log_c, fc) = probe(vec![]);
    let perfect = OscillatorModel::default();
    let a = sim.add_node(node("a", &[ip(1)], perfect), fa);
    let b = sim.add_node(node("b", &[ip(2)], perfect), fb);
    let c = sim.add_node(node("c", &[ip(3), lo_c], perfect), fc);
    let us = Duration::from_micros;
    let ab = sim.add_link(
        Vertex::Node(a),
        Vertex::Node(b),
        LinkModel::symmetric(us(10), PdvModel::Constant),
    );
    sim.add_link(
        Vertex::Node(b),
        Vertex::Node(c),
        LinkModel::symmetric(us(15), PdvModel::Constant),
    );
    sim.add_link(
        Vertex::Node(a),
        Vertex::Node(c),
        LinkModel::symmetric(us(100), PdvModel::Constant),
    );
    sim.schedule_link(Timestamp::from_secs(START + 2), ab, false);
    sim.run_for(Duration::from_secs(10));

    let rx: Vec<_> = log_c
        .borrow()
        .iter()
        .filter(|e| e.0.starts_with("rx"))
        .map(|e| e.2.unwrap())
        .collect();
    let tx: Vec<_> = log_a
        .borrow()
        .iter()
        .filter(|e| e.0.starts_with("tx"))
        .map(|e| e.2.unwrap())
        .collect();
    assert_eq!((rx.len(), tx.len()), (2, 3));
    // Perfect clocks, constant delay: one-way delay is exactly the path's floor.
    assert_eq!(rx[0] - tx[0], us(25), "via b");
    assert_eq!(rx[1] - tx[1], us(100), "direct, after a—b failed");
    // The third goes to an address nobody owns.
    assert_eq!(sim.stats().unroutable, 1);
}

#[test]
fn local_deadlines_fire_exactly_on_drifting_clocks() {
    let mut sim = Simulator::new(5, Timestamp::from_secs(START));
    let osc = OscillatorModel {
        initial_phase: Duration::from_millis(-3),
        frequency_ppb: 20_000.0,
        wander_ppb: 10.0,
        wander_step: Duration::from_millis(100),
        timestamp_noise_ns: 0.0,
    };
    let t0 = START as f64;
    let script: Vec<_> = (1..=50)
        .map(|k| {
            let at = Instant::from_origin(Duration::from_secs_f64(t0 + 0.1373 * k as f64));
            (at, send(ip(1), ip(1), k as u8))
        })
        .collect();
    let deadlines: Vec<Instant> = script.iter().map(|s| s.0).collect();
    let (log, f) = probe(script);
    sim.add_node(node("a", &[ip(1)], osc), f);
    sim.sample_every(Duration::from_secs(1));
    sim.run_for(Duration::from_secs(10));
    let fired: Vec<Now> = log
        .borrow()
        .iter()
        .filter(|e| e.0 == "timeout")
        .map(|e| e.1)
        .collect();
    assert_eq!(fired.len(), 50);
    for (now, want) in fired.iter().zip(&deadlines) {
        let late = now.instant.duration_since(*want);
        assert!(
            late >= Duration::ZERO && late.ticks() <= 4,
            "late by {late:?}"
        );
    }
    // The clock drifted by the frequency offset (20 ppm ± wander) from its −3 ms start.
    let te = sim.samples(meridian_sim::NodeId(0)).last().unwrap().te;
    assert!(
        (te.as_secs_f64() - (-3e-3 + 20e-6 * 10.0)).abs() < 2e-6,
        "{te}"
    );
}

#[test]
fn crash_drops_packets_and_restart_builds_a_fresh_engine() {
    let mut sim = Simulator::new(2, Timestamp::from_secs(START));
    let starts = Rc::new(RefCell::new(0));
    let s = starts.clone();
    let peer = SocketAddrV4::new(ip(2), 319);
    let a = sim.add_node(
        node("a", &[ip(1)], OscillatorModel::default()),
        Box::new(move |ctx| {
            *s.borrow_mut() += 1;
            Box::new(Pinger::new(
                SocketAddrV4::new(ip(1), 319),
                vec![peer],
                Duration::from_millis(100),
                ctx.seed,
            ))
        }),
    );
    let (log_b, fb) = probe(vec![]);
    let b = sim.add_node(node("b", &[ip(2)], OscillatorModel::default()), fb);
    sim.add_link(
        Vertex::Node(a),
        Vertex::Node(b),
        LinkModel::symmetric(Duration::from_micros(5), PdvModel::Constant),
    );
    sim.schedule_node(Timestamp::from_secs(START + 2), b, false);
    sim.schedule_node(Timestamp::from_secs(START + 4), b, true);
    sim.schedule_node(Timestamp::from_secs(START + 5), a, false);
    sim.schedule_node(Timestamp::from_secs(START + 6), a, true);
    sim.run_for(Duration::from_millis(9_950));
    assert_eq!(*starts.borrow(), 2, "a started, crashed and restarted");
    // b was down 2 s (20 Syncs lost), a was silent 1 s (10 Syncs not sent).
    let received = log_b
        .borrow()
        .iter()
        .filter(|e| e.0.starts_with("rx"))
        .count();
    assert_eq!(sim.stats().node_down, 20);
    assert_eq!(received as u64, sim.stats().delivered);
    assert_eq!(sim.stats().sent, 90);
    assert!(sim.engine(a).is_some());
}

#[test]
fn asymmetry_floor_is_half_the_difference() {
    let mut sim = Simulator::new(1, Timestamp::from_secs(START));
    let (_, fa) = probe(vec![]);
    let (_, fb) = probe(vec![]);
    let a = sim.add_node(node("a", &[ip(1)], OscillatorModel::default()), fa);
    let b = sim.add_node(node("b", &[ip(2)], OscillatorModel::default()), fb);
    let mut m = LinkModel::symmetric(Duration::from_micros(50), PdvModel::Constant);
    m.asymmetry = Duration::from_micros(8);
    sim.add_link(Vertex::Node(a), Vertex::Node(b), m);
    assert_eq!(sim.asymmetry_floor(a, b), Some(Duration::from_micros(4)));
    assert_eq!(sim.asymmetry_floor(b, a), Some(Duration::from_micros(-4)));
}

/// Sends `n` one-byte datagrams, tagged 0..n, every millisecond from a to b.
fn burst(n: u8) -> Vec<(Instant, Transmit)> {
    (0..n)
        .map(|k| {
            let at = Instant::from_origin(
                Duration::from_secs(START) + Duration::from_millis(k as i64 + 1),
            );
            let mut t = send(ip(1), ip(2), k);
            t.token = None;
            (at, t)
        })
        .collect()
}

fn arrival_order(reorder: Reorder, pdv: PdvModel) -> Vec<u8> {
    let mut sim = Simulator::new(3, Timestamp::from_secs(START));
    let (_, fa) = probe(burst(200));
    let (log_b, fb) = probe(vec![]);
    let a = sim.add_node(node("a", &[ip(1)], OscillatorModel::default()), fa);
    let b = sim.add_node(node("b", &[ip(2)], OscillatorModel::default()), fb);
    let mut m = LinkModel::symmetric(Duration::from_micros(10), pdv);
    m.reorder = reorder;
    sim.add_link(Vertex::Node(a), Vertex::Node(b), m);
    sim.run_for(Duration::from_secs(2));
    let log = log_b.borrow();
    let order = log.iter().filter(|e| e.0.starts_with("rx")).map(|e| {
        let tag = e.0.rsplit('[').next().unwrap().trim_end_matches(']');
        tag.parse::<u8>().unwrap()
    });
    order.collect()
}

#[test]
fn links_are_fifo_unless_reordering_is_asked_for() {
    // PDV far larger than the 1 ms spacing would reorder freely; the queue keeps order.
    let pdv = PdvModel::Exponential {
        mean: Duration::from_millis(5),
    };
    let fifo = arrival_order(Reorder::default(), pdv);
    assert_eq!(fifo, (0..200).collect::<Vec<u8>>());
    let r = Reorder {
        p: 0.1,
        max_extra: Duration::from_millis(3),
    };
    let shuffled = arrival_order(r, PdvModel::Constant);
    assert_eq!(shuffled.len(), 200);
    let inversions = shuffled.windows(2).filter(|w| w[0] > w[1]).count();
    assert!((5..60).contains(&inversions), "{inversions} inversions");
}

#[test]
fn frequency_error_combines_oscillator_and_correction() {
    use meridian_proto::engine::ClockAdjustment;
    struct Corrector(Option<Output>);
    impl Engine for Corrector {
        fn handle(&mut self, _: Now, _: Input<'_>) {}
        fn poll_output(&mut self) -> Option<Output> {
            self.0.take()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
    }
    let mut sim = Simulator::new(1, Timestamp::from_secs(START));
    let osc = OscillatorModel {
        frequency_ppb: 10_000.0,
        ..OscillatorModel::default()
    };
    let n = sim.add_node(
        node("a", &[ip(1)], osc),
        Box::new(|_| {
            Box::new(Corrector(Some(Output::AdjustClock(
                ClockAdjustment::Frequency(-9_000.0),
            ))))
        }),
    );
    sim.sample_every(Duration::SECOND);
    sim.run_for(Duration::from_secs(100));
    let last = sim.samples(n).last().copied().unwrap();
    // (1 + 10 ppm)(1 − 9 ppm) − 1 ≈ 0.99991 ppm.
    assert!(
        (last.freq_error_ppb - 999.91).abs() < 0.01,
        "{}",
        last.freq_error_ppb
    );
    assert!(
        (last.te.as_nanos_f64() - 99_991.0).abs() < 1.0,
        "{}",
        last.te
    );
}

#[test]
fn capture_writes_every_packet_at_its_send_time() {
    use std::io::Write;
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut sim = busy_scenario(9);
    let buf = Shared::default();
    sim.capture(Box::new(buf.clone())).unwrap();
    sim.run_for(Duration::from_secs(3));
    sim.finish_capture().unwrap();
    let bytes = buf.0.borrow();
    let mut pos = 24;
    let mut count = 0u64;
    let mut last = 0u64;
    while pos + 16 <= bytes.len() {
        let rd =
            |o: usize| u32::from_le_bytes(bytes[pos + o..pos + o + 4].try_into().unwrap()) as u64;
        let (secs, nanos, len) = (rd(0), rd(4), rd(8) as usize);
        let t = secs * 1_000_000_000 + nanos;
        assert!(t >= last, "records in send order");
        assert!(secs >= START as u64 && secs <= START as u64 + 3);
        last = t;
        pos += 16 + len;
        count += 1;
    }
    assert_eq!(pos, bytes.len());
    assert_eq!(count, sim.stats().sent);
}
