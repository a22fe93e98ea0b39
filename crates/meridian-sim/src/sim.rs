//! The discrete-event loop: true time, an event queue, nodes running engines over simulated
//! clocks, and packets crossing links.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};

use meridian_proto::engine::{
    ClockAdjustment, Datagram, Engine, Input, Instant, Now, Output, Transmit, TxToken,
};
use meridian_proto::time::{Duration, Timestamp};

use crate::clock::DisciplinedClock;
use crate::metrics::TeSample;
use crate::network::{
    Crossing, DirState, Direction, Link, LinkId, LinkModel, NodeId, Routing, SegmentId, Vertex,
};
use crate::oscillator::{Oscillator, OscillatorModel};
use crate::pcap::PcapWriter;
use crate::rng::{SimRng, Stream, derive_seed, stream};
use crate::trace::TraceHash;

/// What a node's engine is told about the node when it is (re)started.
#[derive(Clone, Debug)]
pub struct NodeContext {
    /// The node's id.
    pub id: NodeId,
    /// Its name.
    pub name: String,
    /// The addresses it owns.
    pub addresses: Vec<Ipv4Addr>,
    /// A seed for the engine's own random choices, different at every restart.
    pub seed: u64,
    /// The node's monotonic instant at (re)start.
    pub instant: Instant,
}

/// Builds a node's engine at start and after every restart.
pub type EngineFactory = Box<dyn FnMut(&NodeContext) -> Box<dyn Engine>>;

/// How a node is set up.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Name, for traces and reports.
    pub name: String,
    /// Addresses the node owns (interfaces and loopbacks).
    pub addresses: Vec<Ipv4Addr>,
    /// Its oscillator.
    pub oscillator: OscillatorModel,
}

/// Counters of what happened to packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams engines sent.
    pub sent: u64,
    /// Datagrams handed to an engine.
    pub delivered: u64,
    /// Lost by a link's loss model.
    pub lost: u64,
    /// No path: destination unknown, or every path down.
    pub unroutable: u64,
    /// The destination node was down on arrival.
    pub node_down: u64,
}

/// One packet sent, as logged by [`Simulator::record_packets`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketRecord {
    /// True send time.
    pub at: Timestamp,
    /// Source.
    pub from: SocketAddrV4,
    /// Destination.
    pub to: SocketAddrV4,
    /// The UDP payload.
    pub bytes: Vec<u8>,
}

/// What the queue holds.
#[derive(Debug)]
enum EventKind {
    Deliver {
        node: NodeId,
        from: SocketAddrV4,
        to: SocketAddrV4,
        bytes: Vec<u8>,
    },
    TxTimestamp {
        node: NodeId,
        incarnation: u64,
        token: TxToken,
    },
    Timer {
        node: NodeId,
        generation: u64,
    },
    LinkState {
        link: LinkId,
        up: bool,
    },
    NodeState {
        node: NodeId,
        up: bool,
    },
    Sample,
}

/// The event queue: the heap orders small keys (when, then the order of scheduling), the
/// events themselves wait in slots, so sifting moves 32 bytes instead of a whole event
/// (`BinaryHeap::pop` was a tenth of a simulation's time). Events due at the very instant being
/// processed (transmit timestamps, loopback deliveries: a third of them) skip the heap: they
/// wait in order of scheduling in a FIFO that pops exactly where the heap would have.
#[derive(Debug, Default)]
struct Queue {
    heap: BinaryHeap<Reverse<(Timestamp, u64, u32)>>,
    /// The instant of the last event popped.
    now: Option<Timestamp>,
    /// Keys of events due at one instant (all the same), in order of scheduling.
    due: VecDeque<(Timestamp, u64, u32)>,
    slots: Vec<Option<EventKind>>,
    free: Vec<u32>,
}

impl Queue {
    fn push(&mut self, at: Timestamp, seq: u64, kind: EventKind) {
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(kind);
                i
            }
            None => {
                self.slots.push(Some(kind));
                u32::try_from(self.slots.len() - 1).expect("under 2^32 events pending")
            }
        };
        let same_instant = self.due.back().map_or(self.now, |k| Some(k.0)) == Some(at);
        if same_instant {
            self.due.push_back((at, seq, slot));
        } else {
            self.heap.push(Reverse((at, seq, slot)));
        }
    }

    /// Whether the next event is the FIFO's: the heap's first is later, or due at the same
    /// instant but scheduled after it.
    fn due_first(&self) -> bool {
        let Some(&(at, seq, _)) = self.due.front() else {
            return false;
        };
        self.heap
            .peek()
            .is_none_or(|Reverse((hat, hseq, _))| (*hat, *hseq) > (at, seq))
    }

    /// When the next event is due.
    fn next_at(&self) -> Option<Timestamp> {
        if self.due_first() {
            return self.due.front().map(|k| k.0);
        }
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    fn pop(&mut self) -> Option<(Timestamp, EventKind)> {
        let (at, _, slot) = if self.due_first() {
            self.due.pop_front()?
        } else {
            self.heap.pop()?.0
        };
        self.now = Some(at);
        self.free.push(slot);
        Some((at, self.slots[slot as usize].take()?))
    }
}

struct SimNode {
    ctx: NodeContext,
    osc: Oscillator,
    clock: DisciplinedClock,
    noise: SimRng,
    factory: EngineFactory,
    engine: Option<Box<dyn Engine>>,
    incarnation: u64,
    /// The deadline currently in the queue and its generation; older timer events are stale.
    timer: Option<Instant>,
    timer_generation: u64,
}

/// A deterministic simulated network.
pub struct Simulator {
    seed: u64,
    now: Timestamp,
    seq: u64,
    queue: Queue,
    nodes: Vec<SimNode>,
    segments: Vec<String>,
    links: Vec<Link>,
    routing: Routing,
    stats: NetStats,
    /// The running hash of everything done; `None` once switched off.
    trace: Option<TraceHash>,
    pcap: Option<PcapWriter<Box<dyn Write>>>,
    pcap_error: Option<std::io::Error>,
    packet_log: Option<Vec<PacketRecord>>,
    event_log: Option<Vec<(Timestamp, NodeId, meridian_proto::event::Event)>>,
    sample_interval: Option<Duration>,
    samples: Vec<Vec<TeSample>>,
    events: u64,
    started: bool,
}

impl Simulator {
    /// An empty network whose true time starts at `start`; every random choice derives from
    /// `seed`.
    #[must_use]
    pub fn new(seed: u64, start: Timestamp) -> Self {
        Self {
            seed,
            now: start,
            seq: 0,
            queue: Queue::default(),
            nodes: Vec::new(),
            segments: Vec::new(),
            links: Vec::new(),
            routing: Routing::default(),
            stats: NetStats::default(),
            trace: Some(TraceHash::default()),
            pcap: None,
            pcap_error: None,
            packet_log: None,
            event_log: None,
            sample_interval: None,
            samples: Vec::new(),
            events: 0,
            started: false,
        }
    }

    /// Adds a device whose engine `factory` builds; it starts with the simulation.
    pub fn add_node(&mut self, config: NodeConfig, factory: EngineFactory) -> NodeId {
        let id = NodeId(self.nodes.len());
        let osc = Oscillator::new(
            config.oscillator,
            self.now,
            stream(self.seed, Stream::Oscillator, id.0 as u64, 0),
        );
        let mut osc = osc;
        let clock = DisciplinedClock::new(osc.local_at(self.now));
        for a in &config.addresses {
            self.routing.owner.insert(*a, id);
        }
        self.nodes.push(SimNode {
            ctx: NodeContext {
                id,
                name: config.name,
                addresses: config.addresses,
                seed: 0,
                instant: Instant::ZERO,
            },
            osc,
            clock,
            noise: stream(self.seed, Stream::TimestampNoise, id.0 as u64, 0),
            factory,
            engine: None,
            incarnation: 0,
            timer: None,
            timer_generation: 0,
        });
        self.samples.push(Vec::new());
        self.routing.invalidate();
        id
    }

    /// Adds a LAN segment.
    pub fn add_segment(&mut self, name: impl Into<String>) -> SegmentId {
        self.segments.push(name.into());
        SegmentId(self.segments.len() - 1)
    }

    /// Joins two vertices with a link (up from the start).
    pub fn add_link(&mut self, a: Vertex, b: Vertex, model: LinkModel) -> LinkId {
        let id = self.links.len() as u64;
        let dir = |d| DirState::new(stream(self.seed, Stream::LinkDirection, id, d));
        self.links.push(Link {
            a,
            b,
            model,
            up: true,
            dirs: [dir(0), dir(1)],
        });
        self.routing.invalidate();
        LinkId(id as usize)
    }

    /// Takes a link down (`up = false`) or brings it back at true time `at`.
    pub fn schedule_link(&mut self, at: Timestamp, link: LinkId, up: bool) {
        self.push(at, EventKind::LinkState { link, up });
    }

    /// Sets the white noise on `node`'s timestamps from now on (σ, ns).
    pub fn set_timestamp_noise(&mut self, node: NodeId, ns: f64) {
        if let Some(n) = self.nodes.get_mut(node.0) {
            n.osc.set_timestamp_noise(ns);
        }
    }

    /// Crashes a node (`up = false`: its engine is dropped, packets to it are lost) or restarts
    /// it with a fresh engine at true time `at`. Its oscillator and clock keep running.
    pub fn schedule_node(&mut self, at: Timestamp, node: NodeId, up: bool) {
        self.push(at, EventKind::NodeState { node, up });
    }

    /// Records every node's time error every `interval` of true time.
    pub fn sample_every(&mut self, interval: Duration) {
        self.sample_interval = Some(interval);
    }

    /// Writes every packet sent to `out` as pcap.
    pub fn capture(&mut self, out: Box<dyn Write>) -> std::io::Result<()> {
        self.pcap = Some(PcapWriter::new(out)?);
        Ok(())
    }

    /// Flushes the capture, reporting the first write error if there was one.
    pub fn finish_capture(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.pcap_error.take() {
            return Err(e);
        }
        match self.pcap.take() {
            Some(w) => w.finish().map(|_| ()),
            None => Ok(()),
        }
    }

    /// True time now.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Packet counters.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Events processed so far.
    #[must_use]
    pub fn events_processed(&self) -> u64 {
        self.events
    }

    /// A hash of everything that happened: packets (times, addresses, bytes), timestamps, clock
    /// adjustments and losses. Same seed and scenario, same hash. `None` if switched off.
    #[must_use]
    pub fn trace_hash(&self) -> Option<u64> {
        self.trace.as_ref().map(TraceHash::value)
    }

    /// Stops hashing what happens (a few percent of a run, for runs that compare their
    /// results by other means); [`Simulator::trace_hash`] is `None` from then on.
    pub fn without_trace_hash(&mut self) {
        self.trace = None;
    }

    fn trace_event(&mut self, tag: u8, at: Timestamp, entity: usize, data: &[u8]) {
        if let Some(t) = self.trace.as_mut() {
            t.event(tag, at, entity, data);
        }
    }

    /// The time-error samples of a node.
    #[must_use]
    pub fn samples(&self, node: NodeId) -> &[TeSample] {
        &self.samples[node.0]
    }

    /// Node names, by id.
    pub fn node_names(&self) -> impl Iterator<Item = (NodeId, &str)> {
        self.nodes.iter().map(|n| (n.ctx.id, n.ctx.name.as_str()))
    }

    /// A node's clock minus true time, now.
    pub fn time_error(&mut self, node: NodeId) -> Duration {
        let now = self.now;
        let n = &mut self.nodes[node.0];
        n.clock.read(n.osc.local_at(now)) - now
    }

    /// A node's running engine, to read its state (`None` while the node is down).
    #[must_use]
    pub fn engine(&self, node: NodeId) -> Option<&dyn Engine> {
        self.nodes[node.0].engine.as_deref()
    }

    /// A node's running engine as its concrete type.
    #[must_use]
    pub fn engine_as<T: Engine>(&self, node: NodeId) -> Option<&T> {
        let any: &dyn std::any::Any = self.nodes[node.0].engine.as_deref()?;
        any.downcast_ref::<T>()
    }

    /// A node's running engine as its concrete type, mutably (to reset counters, say).
    pub fn engine_as_mut<T: Engine>(&mut self, node: NodeId) -> Option<&mut T> {
        let any: &mut dyn std::any::Any = self.nodes[node.0].engine.as_deref_mut()?;
        any.downcast_mut::<T>()
    }

    /// Operates on a running node's engine at the current instant, as its operator would (a
    /// configuration commit): `f` gets the engine and the node's own `Now`; what the engine
    /// then sends and its new timer are handled as after any input. `None` if the node is down
    /// or its engine is not a `T`.
    pub fn operate<T: Engine, R>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut T, Now) -> R,
    ) -> Option<R> {
        let now = self.now;
        let n = &mut self.nodes[node.0];
        let local = n.osc.local_at(now);
        let clock = n.clock.read(local);
        let any: &mut dyn std::any::Any = n.engine.as_deref_mut()?;
        let engine = any.downcast_mut::<T>()?;
        let out = f(
            engine,
            Now {
                instant: Instant::from_origin(local.since_epoch()),
                clock,
            },
        );
        self.after_input(node, Some(local));
        Some(out)
    }

    /// Keeps a log of every packet sent (see [`Simulator::packets`]).
    pub fn record_packets(&mut self) {
        self.packet_log = Some(Vec::new());
    }

    /// Keeps the engines' events (see [`Simulator::take_events`]).
    pub fn record_events(&mut self) {
        self.event_log = Some(Vec::new());
    }

    /// The events reported since the last call, with the true time and the node, if recording.
    pub fn take_events(&mut self) -> Vec<(Timestamp, NodeId, meridian_proto::event::Event)> {
        self.event_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The packets sent so far, if recording.
    #[must_use]
    pub fn packets(&self) -> &[PacketRecord] {
        self.packet_log.as_deref().unwrap_or(&[])
    }

    /// The half-difference of the fixed delays of the two directions between two nodes: the
    /// error no two-way method can remove.
    pub fn asymmetry_floor(&mut self, a: NodeId, b: NodeId) -> Option<Duration> {
        let transit = transit_fn(&self.nodes);
        let fwd = self.routing.path(&self.links, a, b, &transit)?;
        let rev = self.routing.path(&self.links, b, a, &transit)?;
        let sum = |p: &[(LinkId, Direction)]| {
            p.iter().fold(Duration::ZERO, |acc, (l, d)| {
                acc + self.links[l.0].model.floor_of(*d)
            })
        };
        (sum(&fwd) - sum(&rev)).checked_div(2)
    }

    fn push(&mut self, at: Timestamp, kind: EventKind) {
        self.seq += 1;
        self.queue.push(at, self.seq, kind);
    }

    fn start(&mut self) {
        self.started = true;
        for i in 0..self.nodes.len() {
            self.start_node(NodeId(i));
        }
        if let Some(iv) = self.sample_interval {
            let now = self.now;
            self.sample();
            self.push(now + iv, EventKind::Sample);
        }
    }

    /// Runs every event up to and including true time `end`, then sets the clock to `end`.
    pub fn run_until(&mut self, end: Timestamp) {
        self.run_until_bounded(end, u64::MAX);
    }

    /// [`Simulator::run_until`], but stops early once [`Simulator::events_processed`] reaches
    /// `max_events` (then `now` is where it stopped): a bound on a runaway.
    pub fn run_until_bounded(&mut self, end: Timestamp, max_events: u64) {
        if !self.started {
            self.start();
        }
        while self.events < max_events && self.queue.next_at().is_some_and(|at| at <= end) {
            let Some((at, kind)) = self.queue.pop() else {
                break;
            };
            self.now = at;
            self.events += 1;
            self.dispatch(kind);
        }
        if self.events < max_events {
            self.now = end;
        }
    }

    /// Runs for `d` of true time.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    fn dispatch(&mut self, kind: EventKind) {
        match kind {
            EventKind::Deliver {
                node,
                from,
                to,
                bytes,
            } => {
                let n = &mut self.nodes[node.0];
                if n.engine.is_none() {
                    self.stats.node_down += 1;
                    return;
                }
                let local = n.osc.local_at(self.now);
                let clock = n.clock.read(local);
                let rx = clock + n.osc.noise(&mut n.noise);
                self.trace_event(b'R', self.now, node.0, &rx.ticks().to_le_bytes());
                self.stats.delivered += 1;
                let d = Datagram {
                    from,
                    to,
                    bytes: &bytes,
                    rx_timestamp: rx,
                };
                self.drive_at(node, local, clock, Input::Datagram(d));
            }
            EventKind::TxTimestamp {
                node,
                incarnation,
                token,
            } => {
                let n = &mut self.nodes[node.0];
                if n.engine.is_none() || n.incarnation != incarnation {
                    return;
                }
                let local = n.osc.local_at(self.now);
                let clock = n.clock.read(local);
                let ts = clock + n.osc.noise(&mut n.noise);
                self.trace_event(b'X', self.now, node.0, &ts.ticks().to_le_bytes());
                self.drive_at(
                    node,
                    local,
                    clock,
                    Input::TxTimestamp {
                        token,
                        timestamp: ts,
                    },
                );
            }
            EventKind::Timer { node, generation } => {
                let n = &mut self.nodes[node.0];
                if n.engine.is_none() || n.timer_generation != generation {
                    return;
                }
                n.timer = None;
                self.drive(node, Input::Timeout);
            }
            EventKind::LinkState { link, up } => {
                self.links[link.0].up = up;
                self.routing.invalidate();
                self.trace_event(b'L', self.now, link.0, &[u8::from(up)]);
            }
            EventKind::NodeState { node, up } => {
                self.trace_event(b'N', self.now, node.0, &[u8::from(up)]);
                if up {
                    if self.nodes[node.0].engine.is_none() {
                        self.start_node(node);
                    }
                } else {
                    let n = &mut self.nodes[node.0];
                    n.engine = None;
                    n.timer = None;
                    n.timer_generation += 1;
                }
                self.routing.invalidate();
            }
            EventKind::Sample => {
                self.sample();
                if let Some(iv) = self.sample_interval {
                    let next = self.now + iv;
                    self.push(next, EventKind::Sample);
                }
            }
        }
    }

    fn start_node(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.0];
        n.incarnation += 1;
        n.ctx.seed = derive_seed(self.seed, Stream::Engine, node.0 as u64, n.incarnation);
        n.ctx.instant = Instant::from_origin(n.osc.local_at(self.now).since_epoch());
        n.engine = Some((n.factory)(&n.ctx));
        n.timer = None;
        n.timer_generation += 1;
        self.after_input(node, None);
    }

    fn sample(&mut self) {
        let now = self.now;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            let local = n.osc.local_at(now);
            let te = n.clock.read(local) - now;
            let y = n.osc.frequency_at(now);
            let c = n.clock.correction_ppb() * 1e-9;
            let freq_error_ppb = ((1.0 + y) * (1.0 + c) - 1.0) * 1e9;
            self.samples[i].push(TeSample {
                at: now,
                te,
                freq_error_ppb,
                up: n.engine.is_some(),
            });
            n.osc.forget_before(now);
        }
    }

    /// Feeds one input to a node's engine and acts on everything it asks for.
    fn drive(&mut self, node: NodeId, input: Input<'_>) {
        let n = &mut self.nodes[node.0];
        let local = n.osc.local_at(self.now);
        let clock = n.clock.read(local);
        self.drive_at(node, local, clock, input);
    }

    /// [`Simulator::drive`] with the node's oscillator and clock already read at `self.now`
    /// (a delivery or transmit timestamp has just read them: reading again costs two of the
    /// conversions every event pays for).
    fn drive_at(&mut self, node: NodeId, local: Timestamp, clock: Timestamp, input: Input<'_>) {
        let n = &mut self.nodes[node.0];
        if let Some(engine) = n.engine.as_mut() {
            engine.handle(
                Now {
                    instant: Instant::from_origin(local.since_epoch()),
                    clock,
                },
                input,
            );
        }
        self.after_input(node, Some(local));
    }

    /// Acts on everything the node's engine asks for; `local` is its oscillator's reading now
    /// when the caller has it (clock adjustments apply at that reading).
    fn after_input(&mut self, node: NodeId, local: Option<Timestamp>) {
        while let Some(out) = self.nodes[node.0]
            .engine
            .as_mut()
            .and_then(|e| e.poll_output())
        {
            match out {
                Output::Transmit(t) => self.transmit(node, t),
                Output::Event(e) => {
                    let now = self.now;
                    if let Some(log) = self.event_log.as_mut() {
                        log.push((now, node, e));
                    }
                }
                Output::AdjustClock(adj) => {
                    let now = self.now;
                    let n = &mut self.nodes[node.0];
                    let local = local.unwrap_or_else(|| n.osc.local_at(now));
                    n.clock.apply(local, adj);
                    let (tag, v) = match adj {
                        ClockAdjustment::Step(d) => (b'S', d.ticks()),
                        ClockAdjustment::Frequency(f) => (b'F', f.to_bits() as i128),
                    };
                    self.trace_event(tag, now, node.0, &v.to_le_bytes());
                }
            }
        }
        self.reschedule_timer(node);
    }

    fn reschedule_timer(&mut self, node: NodeId) {
        let n = &mut self.nodes[node.0];
        let deadline = n.engine.as_ref().and_then(|e| e.poll_timeout());
        if deadline == n.timer {
            return;
        }
        n.timer = deadline;
        n.timer_generation += 1;
        let generation = n.timer_generation;
        if let Some(d) = deadline {
            let at = n
                .osc
                .true_at(Timestamp::from_ticks(d.since_origin().ticks()))
                .max(self.now);
            self.push(at, EventKind::Timer { node, generation });
        }
    }

    fn transmit(&mut self, node: NodeId, t: Transmit) {
        let now = self.now;
        self.stats.sent += 1;
        self.trace_event(b'T', now, node.0, &t.bytes);
        self.trace_event(b'a', now, node.0, &addr_bytes(t.from, t.to));
        if let Some(token) = t.token {
            let incarnation = self.nodes[node.0].incarnation;
            self.push(
                now,
                EventKind::TxTimestamp {
                    node,
                    incarnation,
                    token,
                },
            );
        }
        if let Some(log) = self.packet_log.as_mut() {
            log.push(PacketRecord {
                at: now,
                from: t.from,
                to: t.to,
                bytes: t.bytes.clone(),
            });
        }
        if let Some(w) = self.pcap.as_mut()
            && let Err(e) = w.write_udp(now, t.from, t.to, t.dscp, &t.bytes)
        {
            self.pcap_error.get_or_insert(e);
            self.pcap = None;
        }
        let transit = transit_fn(&self.nodes);
        let Some((dst, path)) = self.routing.route(&self.links, node, *t.to.ip(), transit) else {
            self.stats.unroutable += 1;
            return;
        };
        if dst == node {
            // Loopback to itself: no link to cross.
            self.push(
                now,
                EventKind::Deliver {
                    node: dst,
                    from: t.from,
                    to: t.to,
                    bytes: t.bytes,
                },
            );
            return;
        }
        let Some(path) = path else {
            self.stats.unroutable += 1;
            return;
        };
        let mut at = now;
        for &(link, dir) in path {
            match self.links[link.0].cross(at, dir) {
                Crossing::Exit(exit) => at = exit,
                Crossing::Lost => {
                    self.stats.lost += 1;
                    self.trace_event(b'D', now, link.0, &[]);
                    return;
                }
            }
        }
        self.push(
            at,
            EventKind::Deliver {
                node: dst,
                from: t.from,
                to: t.to,
                bytes: t.bytes,
            },
        );
    }
}

/// Nodes forward packets for others while they are up.
fn transit_fn(nodes: &[SimNode]) -> impl Fn(NodeId) -> bool + '_ {
    |n: NodeId| nodes[n.0].engine.is_some()
}

fn addr_bytes(from: SocketAddrV4, to: SocketAddrV4) -> [u8; 12] {
    let mut b = [0; 12];
    b[..4].copy_from_slice(&from.ip().octets());
    b[4..6].copy_from_slice(&from.port().to_be_bytes());
    b[6..10].copy_from_slice(&to.ip().octets());
    b[10..].copy_from_slice(&to.port().to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Events pushed for the instant being processed (the FIFO) and the rest (the heap)
        /// come out in exactly the order of one heap of (when, sequence).
        #[test]
        fn the_queue_pops_in_the_order_of_one_heap(
            ops in proptest::collection::vec((0u8..8, 0i64..2_000), 1..300)
        ) {
            let mut q = Queue::default();
            let mut reference: BinaryHeap<Reverse<(Timestamp, u64)>> = BinaryHeap::new();
            let mut now = Timestamp::from_secs(100);
            let mut seq = 0;
            for (op, x) in ops {
                if op < 3 {
                    let want = reference.pop().map(|r| r.0);
                    prop_assert_eq!(q.next_at(), want.map(|w| w.0));
                    let got = q.pop().map(|(at, kind)| match kind {
                        EventKind::Timer { generation, .. } => (at, generation),
                        _ => unreachable!("only timers are pushed"),
                    });
                    prop_assert_eq!(got, want);
                    if let Some((at, _)) = got {
                        now = at;
                    }
                    continue;
                }
                // Half at the instant being processed, the rest a few ns on (or back).
                let at = if op < 6 { now } else { now + Duration::from_nanos(x - 100) };
                seq += 1;
                q.push(at, seq, EventKind::Timer { node: NodeId(0), generation: seq });
                reference.push(Reverse((at, seq)));
            }
            while let Some(Reverse(w)) = reference.pop() {
                let got = q.pop().map(|(at, kind)| match kind {
                    EventKind::Timer { generation, .. } => (at, generation),
                    _ => unreachable!(),
                });
                prop_assert_eq!(got, Some(w));
            }
            prop_assert!(q.pop().is_none());
        }
    }
}
