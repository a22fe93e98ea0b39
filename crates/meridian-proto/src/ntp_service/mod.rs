//! The NTP service: client, server, symmetric active and passive associations and a local
//! reference clock, with RFC 5905's filter, selection, cluster, combine and discipline,
//! symmetric-key authentication, access control, Kiss-o'-Death and rate limiting.
//!
//! Conventions: NTP's offset θ is the server's clock minus ours; the discipline takes our
//! clock minus the reference, so the node passes −θ.

pub mod access;
pub mod association;
pub mod auth;
pub mod config;
mod counters;
pub mod discipline;
pub mod edge;
mod interleave;
mod reconfigure;
pub mod select;
mod serve;
pub mod snapshot;
mod system;

pub use counters::{NtpDrops, ServerCounters};
pub use serve::{REPLY_MAX, Reply, Served, ServerShard, is_request, stamp_transmit};

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use access::{RateTable, Verdict};
use association::{Association, Exchange, FilterSample, MAXDISP, PHI};
use config::{AssociationConfig, AssociationKind, MAX_ASSOCIATIONS, NtpConfig};
use discipline::{Discipline, DisciplineState, Outcome};
use select::Candidate;

use crate::engine::{ClockAdjustment, Engine, Input, Instant, Now, Output, Transmit, TxToken};
use crate::ntp::{self, Header, KissCode, LeapIndicator, Mac, Mode, Packet, ReferenceId};
use crate::rng::EngineRng;
use crate::time::{Duration, NtpShort, NtpTimestamp, Timestamp};

/// Packets an iburst peer is polled with at 2-s spacing after the clock was first set: enough
/// for the frequency measurement's first fit (four points over six seconds).
const FSET_BURST: u8 = 5;

/// The clock precision advertised, log2 s (about 1 µs).
pub const PRECISION: i8 = -20;
/// Capacity of the rate-limiting table.
pub const RATE_TABLE_CAPACITY: usize = 4096;

/// Where the system's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reference {
    /// Nothing: unsynchronized.
    None,
    /// A peer at this address.
    Peer(Ipv4Addr),
    /// The local reference clock LOCAL(u).
    Local(u8),
    /// The device's clock follows its PTP client (clock source selection): served as a
    /// primary source, reference identifier `PTP`.
    Ptp,
}

/// The system variables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SystemVars {
    /// Leap indicator we advertise.
    pub leap: LeapIndicator,
    /// Our stratum (16 when unsynchronized).
    pub stratum: u8,
    /// Our reference.
    pub reference: Reference,
    /// Root delay, s.
    pub root_delay: f64,
    /// Root dispersion, s.
    pub root_dispersion: f64,
    /// When the clock was last updated.
    pub reftime: NtpTimestamp,
    /// The system peer (association index).
    pub peer: Option<usize>,
    /// Last combined offset (ours − reference), s.
    pub offset: f64,
    /// System jitter, s.
    pub jitter: f64,
}

/// The NTP engine of one device.
#[derive(Debug)]
pub struct NtpNode {
    config: NtpConfig,
    associations: Vec<Association>,
    discipline: Discipline,
    sys: SystemVars,
    rate: RateTable,
    rng: EngineRng,
    out: VecDeque<Output>,
    scratch: Vec<ClockAdjustment>,
    tokens: BTreeMap<TxToken, usize>,
    next_token: u64,
    /// Exchanges with interleaved clients, awaiting their next request.
    interleave: interleave::Interleave,
    /// Our addresses (for loop detection).
    addresses: Vec<Ipv4Addr>,
    /// Whether the discipline steers the clock: off while the device's clock selection follows
    /// another source (associations, selection and the system variables go on).
    steering: bool,
    /// Whether the clock follows the device's PTP client: then that is what we serve.
    follows_ptp: bool,
    /// Dropped datagrams.
    pub drops: NtpDrops,
    /// Server counters.
    pub server: ServerCounters,
}

fn to_secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl NtpNode {
    /// Whether the discipline steers the clock (see [`NtpNode::set_steering`]).
    #[must_use]
    pub fn steering(&self) -> bool {
        self.steering
    }

    /// Hands the clock to this service (`true`) or takes it away (`false`), as the device's
    /// clock selection decides. Taken away, the discipline is neither updated nor ticked;
    /// handed back the clock as the other source left it, running at `frequency_ppb`, it
    /// tracks from there (see [`Discipline::take_over`]).
    pub fn set_steering(&mut self, now: Instant, on: bool, frequency_ppb: f64) {
        if on && !self.steering {
            self.discipline.take_over(now, frequency_ppb);
        }
        self.steering = on;
    }

    /// Tells the service the clock follows the device's PTP client (`true`): it then serves
    /// that clock as a primary source (stratum 1, reference `PTP`) instead of its own view.
    pub fn set_follows_ptp(&mut self, on: bool) {
        self.follows_ptp = on;
    }

    /// The system variables as served and displayed: our own, or the PTP-driven clock's.
    #[must_use]
    pub fn advertised(&self) -> SystemVars {
        if self.follows_ptp {
            SystemVars {
                leap: LeapIndicator::NoWarning,
                stratum: 1,
                reference: Reference::Ptp,
                root_delay: 0.0,
                root_dispersion: 0.0,
                ..self.sys
            }
        } else {
            self.sys
        }
    }

    /// A service starting at `now`, owning `addresses`; `seed` drives its random choices.
    #[must_use]
    pub fn new(config: NtpConfig, addresses: Vec<Ipv4Addr>, now: Instant, seed: u64) -> Self {
        let minpoll = config.min_poll();
        let associations = config
            .associations
            .iter()
            .take(MAX_ASSOCIATIONS)
            .map(|a| Association::new(a.clone(), a.source.unwrap_or(config.source), false, now))
            .collect();
        let mut node = Self {
            discipline: Discipline::new(config.limits, minpoll),
            associations,
            sys: SystemVars {
                leap: LeapIndicator::Unsynchronized,
                stratum: 16,
                reference: Reference::None,
                root_delay: 0.0,
                root_dispersion: 0.0,
                reftime: NtpTimestamp::ZERO,
                peer: None,
                offset: 0.0,
                jitter: 0.0,
            },
            rate: RateTable::new(RATE_TABLE_CAPACITY),
            rng: EngineRng::new(seed),
            out: VecDeque::new(),
            scratch: Vec::new(),
            tokens: BTreeMap::new(),
            next_token: 0,
            interleave: interleave::Interleave::default(),
            addresses,
            steering: true,
            follows_ptp: false,
            drops: NtpDrops::default(),
            server: ServerCounters::default(),
            config,
        };
        node.select(
            Now {
                instant: now,
                clock: Timestamp::EPOCH,
            },
            false,
        );
        node
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &NtpConfig {
        &self.config
    }

    /// The system variables.
    #[must_use]
    pub fn system(&self) -> &SystemVars {
        &self.sys
    }

    /// The associations (configured first, then dynamic ones).
    #[must_use]
    pub fn associations(&self) -> &[Association] {
        &self.associations
    }

    /// The discipline.
    #[must_use]
    pub fn discipline(&self) -> &Discipline {
        &self.discipline
    }

    /// Whether the clock is synchronized.
    #[must_use]
    pub fn synchronized(&self) -> bool {
        self.advertised().stratum < 16
    }

    /// The rate-limiting table's size (bounded).
    #[must_use]
    pub fn rate_table_len(&self) -> usize {
        self.rate.len()
    }

    fn refid(&self) -> ReferenceId {
        match self.advertised().reference {
            Reference::None => ReferenceId::default(),
            Reference::Peer(a) => ReferenceId::from_ipv4(a),
            Reference::Local(_) => ReferenceId::from_ascii(b"LOCL"),
            Reference::Ptp => ReferenceId::from_ascii(b"PTP\0"),
        }
    }

    /// A header carrying our system variables.
    fn header(&self, mode: Mode, version: u8, poll: i8) -> Header {
        let sys = self.advertised();
        Header {
            leap: sys.leap,
            version,
            mode,
            stratum: sys.stratum,
            poll,
            precision: PRECISION,
            root_delay: NtpShort::from_duration(Duration::from_secs_f64(sys.root_delay)),
            root_dispersion: NtpShort::from_duration(Duration::from_secs_f64(sys.root_dispersion)),
            reference_id: self.refid(),
            reference_timestamp: sys.reftime,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: NtpTimestamp::ZERO,
        }
    }

    /// Serializes, signs with `key` if given, and queues a transmit.
    fn send(
        &mut self,
        from: Ipv4Addr,
        to: SocketAddrV4,
        header: Header,
        key: Option<u32>,
        token: Option<TxToken>,
        late_transmit: bool,
    ) {
        let mut bytes = Packet::new(header).to_vec();
        if let Some(id) = key
            && let Some(k) = self.config.keys.get(&id)
        {
            let digest = k.digest(&bytes);
            let packet = Packet {
                mac: Some(Mac {
                    key_id: id,
                    digest: &digest,
                }),
                ..Packet::new(header)
            };
            bytes = packet.to_vec();
        }
        self.out.push_back(Output::Transmit(Transmit {
            from: SocketAddrV4::new(from, ntp::PORT),
            to,
            dscp: 0,
            bytes,
            token,
            // A MAC covers the transmit timestamp: a signed packet leaves as signed.
            late_ntp_transmit: late_transmit && key.is_none(),
        }));
    }

    fn handle_datagram(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        bytes: &[u8],
        rx: Timestamp,
    ) {
        let Some(packet) = serve::parse_counted(bytes, &mut self.drops) else {
            return;
        };
        let auth = serve::Responder::authenticate(&self.config, bytes, &packet);
        let header = edge::bounded(packet.header);
        match header.mode {
            Mode::Client => self.serve(now, from, to, &header, auth, rx),
            Mode::SymmetricActive | Mode::SymmetricPassive | Mode::Server => {
                let Ok(key) = auth else {
                    self.drops.auth += 1;
                    if let Some(a) = self
                        .associations
                        .iter_mut()
                        .find(|a| a.config.address == *from.ip())
                    {
                        a.counters.auth += 1;
                        a.connection_error(&header, now.instant);
                    }
                    return;
                };
                let index = self
                    .associations
                    .iter()
                    .position(|a| a.config.address == *from.ip());
                let index = match (index, header.mode) {
                    (Some(i), _) => i,
                    (None, Mode::SymmetricActive) => {
                        match self.mobilize_passive(now, from, to, &header, key) {
                            Some(i) => i,
                            None => return,
                        }
                    }
                    _ => {
                        self.drops.no_association += 1;
                        return;
                    }
                };
                self.receive(now, index, &header, key, rx);
            }
            Mode::Broadcast => self.drops.broadcast += 1,
        }
    }

    /// Creates a symmetric passive association for an active peer, if access and limits allow.
    fn mobilize_passive(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        h: &Header,
        key: Option<u32>,
    ) -> Option<usize> {
        let allowed =
            matches!(self.config.access.classify(*from.ip()), Verdict::Allowed(c) if c.peering());
        let dynamic = self.associations.iter().filter(|a| a.dynamic).count();
        let auth_ok = !self.config.authentication || key.is_some();
        if !allowed
            || !auth_ok
            || dynamic >= self.config.max_dynamic_sessions
            || self.associations.len() >= MAX_ASSOCIATIONS
        {
            self.drops.passive_refused += 1;
            return None;
        }
        let config = AssociationConfig {
            kind: AssociationKind::SymmetricPassive,
            version: h.version,
            port: from.port(),
            key,
            ..AssociationConfig::peer(*from.ip())
        };
        let mut a = Association::new(config, *to.ip(), true, now.instant);
        a.poll = h.poll.clamp(4, association::PASSIVE_MAXPOLL);
        // Anyone can send a mode-1 packet: only a peer that proved itself (a trusted key) or
        // that the operator let peer (an ACL) may pull our clock.
        a.selectable = key.is_some() || self.config.access.explicitly_permits_peering(*from.ip());
        if !a.selectable {
            self.server.passive_untrusted += 1;
        }
        self.associations.push(a);
        Some(self.associations.len() - 1)
    }

    /// The receive procedure of an association: sanity tests, then the on-wire computation and
    /// the clock filter.
    fn receive(&mut self, now: Now, i: usize, h: &Header, key: Option<u32>, rx: Timestamp) {
        let a = &mut self.associations[i];
        // An association with a key accepts only packets signed with that key.
        if a.config.key.is_some() && key != a.config.key {
            a.counters.auth += 1;
            a.connection_error(h, now.instant);
            return;
        }
        // Kiss-o'-Death: believed only if it answers our last request.
        if let Some(code) = h.kiss_code() {
            if h.origin_timestamp != a.org_wire || a.t1.is_none() {
                a.counters.bogus += 1;
                return;
            }
            a.counters.kod += 1;
            match code {
                KissCode::Deny | KissCode::Rstr => a.denied = true,
                KissCode::Rate => {
                    // `h.poll` is bounded at the edge, so this cannot overflow; the result stays
                    // within the association's own range.
                    let ceiling = a.config.maxpoll.max(a.config.minpoll);
                    a.poll = a.poll.max(h.poll).saturating_add(1).min(ceiling);
                    a.config.minpoll = a.poll;
                    // A burst in progress stops too: the server asked us to slow down.
                    a.burst = 0;
                    a.next_poll = a
                        .next_poll
                        .max(now.instant.after(Duration::from_log2_secs(a.poll)));
                }
                KissCode::Other(_) => {}
            }
            return;
        }
        if h.transmit_timestamp == a.last_xmt && !h.transmit_timestamp.is_zero() {
            a.counters.duplicate += 1;
            return;
        }
        let symmetric_first = h.mode == Mode::SymmetricActive && h.origin_timestamp.is_zero();
        // A server in interleaved mode echoes our receive field (random, so as hard to guess as
        // the transmit field a basic reply echoes) and completes the exchange we named.
        let interleaved = !a.rec_wire.is_zero()
            && h.origin_timestamp == a.rec_wire
            && a.previous.is_some()
            && a.t1.is_some();
        if !symmetric_first && !interleaved && (h.origin_timestamp != a.org_wire || a.t1.is_none())
        {
            a.counters.bogus += 1;
            return;
        }
        if h.transmit_timestamp.is_zero() || (!symmetric_first && h.receive_timestamp.is_zero()) {
            a.counters.invalid += 1;
            return;
        }
        // The packet is ours and fresh: update the peer variables.
        a.counters.received += 1;
        a.heard = Some(now.instant);
        a.last_xmt = h.transmit_timestamp;
        a.last_rec = Some(rx);
        a.reach |= 1;
        a.leap = h.leap;
        a.stratum = h.stratum;
        a.ppoll = h.poll;
        a.root_delay = to_secs(h.root_delay.to_duration());
        a.root_dispersion = to_secs(h.root_dispersion.to_duration());
        a.refid = h.reference_id;
        a.reftime = h.reference_timestamp;
        let t1 = a.t1.take();
        a.rec_wire = NtpTimestamp::ZERO;
        // The exchange this reply completes, and the one the next request names.
        let named = if interleaved { a.previous.take() } else { None };
        if a.config.interleave
            && let Some(t1) = t1
        {
            a.previous = Some(Exchange {
                t1,
                receive_wire: h.receive_timestamp,
                t2: Timestamp::from_ntp(h.receive_timestamp, now.clock),
                t4: rx,
                at: now.instant,
            });
        }
        let passive = a.kind() == AssociationKind::SymmetricPassive;
        if passive {
            self.reply_passive(now, i);
        }
        let a = &mut self.associations[i];
        if symmetric_first {
            return;
        }
        if h.leap == LeapIndicator::Unsynchronized || h.stratum >= 16 {
            a.counters.unsynchronized += 1;
            return;
        }
        // (An interleaved reply's transmit timestamp is its previous reply's: the reference
        // time may be later.)
        if named.is_none()
            && !h.reference_timestamp.is_zero()
            && Timestamp::from_ntp(h.reference_timestamp, now.clock)
                > Timestamp::from_ntp(h.transmit_timestamp, now.clock)
        {
            a.counters.invalid += 1;
            return;
        }
        let Some(t1) = t1 else { return };
        let t3 = Timestamp::from_ntp(h.transmit_timestamp, now.clock);
        let (t1, t2, t4, taken) = match named {
            Some(p) => {
                a.counters.interleaved += 1;
                (p.t1, p.t2, p.t4, p.at)
            }
            None => (
                t1,
                Timestamp::from_ntp(h.receive_timestamp, now.clock),
                rx,
                now.instant,
            ),
        };
        let offset = to_secs((t2 - t1) + (t3 - t4)) / 2.0;
        let precision = 2f64.powi(PRECISION as i32);
        let delay = to_secs((t4 - t1) - (t3 - t2)).max(precision);
        let dispersion = 2.0 * precision + PHI * to_secs(t4 - t1).max(0.0);
        if a.root_delay / 2.0 + a.root_dispersion + delay / 2.0
            > to_secs(self.config.max_distance) + MAXDISP
        {
            a.counters.invalid += 1;
            return;
        }
        let released = a.filter_sample(FilterSample {
            offset,
            delay,
            dispersion,
            at: taken,
        });
        if self.sys.peer == Some(i) && self.steering {
            let stepped =
                self.discipline
                    .observe(now.instant, taken, -offset, delay, &mut self.scratch);
            if let Some(theta) = stepped {
                for a in &mut self.associations {
                    a.shift(-theta);
                }
                self.sys.offset = 0.0;
            }
            self.flush();
        }
        if released {
            self.select(now, true);
        }
    }

    /// A symmetric passive association answers each packet of its active peer at once.
    fn reply_passive(&mut self, now: Now, i: usize) {
        let a = &self.associations[i];
        let (local, to, version, key) = (
            a.local,
            SocketAddrV4::new(a.config.address, a.config.port),
            a.config.version,
            a.config.key,
        );
        let mut h = self.header(Mode::SymmetricPassive, version, a.poll);
        h.origin_timestamp = a.last_xmt;
        h.receive_timestamp = a.last_rec.map_or(NtpTimestamp::ZERO, Timestamp::to_ntp);
        h.transmit_timestamp = now.clock.to_ntp();
        let token = self.token(i);
        let a = &mut self.associations[i];
        a.org_wire = h.transmit_timestamp;
        a.t1 = Some(now.clock);
        // The peer measures with our transmit timestamp: written as late as the driver can.
        a.counters.sent += 1;
        self.send(local, to, h, key, Some(token), true);
    }

    /// A fresh transmit token (associations and interleaved replies draw from one sequence).
    fn fresh_token(&mut self) -> TxToken {
        let t = TxToken(self.next_token);
        self.next_token += 1;
        t
    }

    fn token(&mut self, i: usize) -> TxToken {
        let t = self.fresh_token();
        self.tokens.insert(t, i);
        if self.tokens.len() > 4 * MAX_ASSOCIATIONS
            && let Some(&oldest) = self.tokens.keys().next()
        {
            self.tokens.remove(&oldest);
        }
        self.associations[i].token = Some(t);
        t
    }

    /// Sends the polls that are due.
    fn poll(&mut self, now: Now) {
        for i in 0..self.associations.len() {
            let a = &self.associations[i];
            if a.denied
                || a.kind() == AssociationKind::SymmetricPassive
                || now.instant < a.next_poll
            {
                continue;
            }
            let kind = a.kind();
            let mode = if kind == AssociationKind::Client {
                Mode::Client
            } else {
                Mode::SymmetricActive
            };
            let poll = a.poll;
            let mut h = self.header(mode, a.config.version, poll);
            let wire_xmt = if kind == AssociationKind::Client {
                // Anti-spoofing: a random transmit timestamp on the wire; the real one stays here.
                let r = self.rng.next_u64();
                h.leap = LeapIndicator::NoWarning;
                h.stratum = 0;
                h.reference_id = ReferenceId::default();
                h.root_delay = NtpShort(0);
                h.root_dispersion = NtpShort(0);
                h.reference_timestamp = NtpTimestamp::ZERO;
                NtpTimestamp(r)
            } else {
                h.origin_timestamp = a.last_xmt;
                h.receive_timestamp = a.last_rec.map_or(NtpTimestamp::ZERO, Timestamp::to_ntp);
                now.clock.to_ntp()
            };
            h.transmit_timestamp = wire_xmt;
            let a = &mut self.associations[i];
            let rec_wire = if a.config.interleave && kind == AssociationKind::Client {
                if a.t1.is_some() {
                    // The last request went unanswered: there is no exchange to name.
                    a.previous = None;
                }
                match a.previous {
                    Some(p) => {
                        // Random and distinct from the transmit field (how the server tells
                        // an interleaved request from a basic one).
                        let r = NtpTimestamp(self.rng.next_u64() | 1);
                        let r = if r == wire_xmt {
                            NtpTimestamp(r.0 ^ 2)
                        } else {
                            r
                        };
                        h.origin_timestamp = p.receive_wire;
                        h.receive_timestamp = r;
                        r
                    }
                    None => NtpTimestamp::ZERO,
                }
            } else {
                NtpTimestamp::ZERO
            };
            let (local, to, key) = (
                a.local,
                SocketAddrV4::new(a.config.address, a.config.port),
                a.config.key,
            );
            let token = self.token(i);
            let a = &mut self.associations[i];
            a.org_wire = wire_xmt;
            a.rec_wire = rec_wire;
            a.t1 = Some(now.clock);
            a.counters.sent += 1;
            // Reachability: shift before the answer can set bit 0 again.
            let was_reachable = a.reachable();
            a.reach <<= 1;
            if was_reachable && !a.reachable() {
                a.clear_filter();
            }
            if a.burst > 0 {
                a.burst -= 1;
            } else if (a.config.iburst && !was_reachable) || (a.config.burst && was_reachable) {
                a.burst = 7;
            }
            let interval = if a.burst > 0 {
                Duration::from_secs(2)
            } else {
                Duration::from_log2_secs(a.poll)
            };
            a.next_poll = now.instant.after(interval);
            // A symmetric peer measures with our transmit timestamp: written as late as the
            // driver can (a client request's is a random nonce).
            self.send(
                local,
                to,
                h,
                key,
                Some(token),
                kind != AssociationKind::Client,
            );
        }
    }

    /// Removes the dynamic associations that have expired, keeping every index that refers to
    /// the survivors (system peer, transmit tokens) pointing at the same association.
    fn reap(&mut self, now: Instant) {
        for k in (0..self.associations.len()).rev() {
            if self.associations[k].expiry().is_none_or(|e| now < e) {
                continue;
            }
            self.associations.remove(k);
            self.server.passive_expired += 1;
            self.tokens.retain(|_, i| *i != k);
            for i in self.tokens.values_mut().filter(|i| **i > k) {
                *i -= 1;
            }
            match self.sys.peer {
                Some(p) if p == k => {
                    self.sys.peer = None;
                    self.sys.reference = Reference::None;
                }
                Some(p) if p > k => self.sys.peer = Some(p - 1),
                _ => {}
            }
        }
    }

    fn flush(&mut self) {
        for adj in self.scratch.drain(..) {
            self.out.push_back(Output::AdjustClock(adj));
        }
    }

    fn poll_range(&self) -> (i8, i8) {
        let configured = self.associations.iter().filter(|a| !a.dynamic);
        let minpoll = configured
            .clone()
            .map(|a| a.config.minpoll)
            .min()
            .unwrap_or(6);
        let maxpoll = configured.map(|a| a.config.maxpoll).max().unwrap_or(10);
        (minpoll, maxpoll.max(minpoll))
    }
}

impl Engine for NtpNode {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        match input {
            Input::Datagram(d) => self.handle_datagram(now, d.from, d.to, d.bytes, d.rx_timestamp),
            Input::TxTimestamp { token, timestamp } => {
                if self.interleave.transmitted(token, timestamp) {
                    return;
                }
                // The real T1 replaces the estimate taken when the packet was built.
                if let Some(i) = self.tokens.remove(&token)
                    && let Some(a) = self.associations.get_mut(i)
                    && a.token == Some(token)
                    && a.t1.is_some()
                {
                    a.t1 = Some(timestamp);
                }
            }
            Input::TransmitStamped { token, at } => {
                // What the peer will echo as its origin: the value the driver wrote. The token
                // stays for the packet's kernel timestamp.
                if let Some(&i) = self.tokens.get(&token)
                    && let Some(a) = self.associations.get_mut(i)
                    && a.token == Some(token)
                    && a.t1.is_some()
                {
                    a.org_wire = interleave::mark_transmit(at.to_ntp());
                }
            }
            Input::Timeout => {
                if self.steering {
                    self.discipline.tick(now.instant, &mut self.scratch);
                }
                self.flush();
                self.poll(now);
                self.reap(now.instant);
                // Re-evaluate the sources: ages grow, peers become (un)selectable.
                self.select(now, true);
            }
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.associations
            .iter()
            .filter(|a| !a.denied && a.kind() != AssociationKind::SymmetricPassive)
            .map(|a| a.next_poll)
            .chain(self.associations.iter().filter_map(Association::expiry))
            .chain(self.discipline.next_tick().filter(|_| self.steering))
            .min()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod preempt_tests;
