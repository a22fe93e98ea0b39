//! The unicast server: grants Announce, Sync and Delay_Resp within policy, serves each grant at
//! its interval until it lapses, and frees a client's slot when its last grant is gone.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use super::config::{
    DURATION_RANGE, FASTEST_LOG_INTERVAL, RecoveryMode, ServerConfig, TimeProperties,
};
use super::{GrantedType, transmit};
use crate::engine::{Instant, Now, Output, TxToken};
use crate::ptp::{
    Announce, Body, Flags, GrantTlv, Header, LogInterval, Message, MessageType, PortIdentity,
    SequenceId, Signaling, SignalingTlv,
};
use crate::time::{Correction, Duration, Timestamp};

/// Counters kept per client and message type, as `display ptp-adaptive client` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounters {
    /// Messages received.
    pub received: u64,
    /// Messages sent.
    pub sent: u64,
    /// Messages received and discarded.
    pub discarded: u64,
}

/// One live grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerGrant {
    /// The interval granted.
    pub log_interval: LogInterval,
    /// The duration granted, seconds.
    pub duration: u32,
    /// When it lapses.
    pub expires: Instant,
    /// When the next message is due (Announce and Sync only).
    next_send: Instant,
}

/// A client the server is serving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSlot {
    /// The client ID (0-based slot number).
    pub id: usize,
    /// The client's address.
    pub addr: Ipv4Addr,
    /// The client's port identity, from its last message.
    pub port: PortIdentity,
    /// Live grants, indexed by [`GrantedType`].
    pub grants: [Option<ServerGrant>; 3],
    /// Counters of Announce, Sync and Delay_Req/Delay_Resp, indexed by [`GrantedType`].
    pub counters: [MessageCounters; 3],
    /// Signaling messages exchanged.
    pub signaling: MessageCounters,
    /// Whether the client has shown it receives what we send (a second message after the one
    /// that opened the slot). Until then it is on probation: short grants at a slow rate, and
    /// its slot can be taken by a newcomer when the table is full.
    pub proven: bool,
    /// When the slot was opened.
    pub since: Instant,
    sequence: [SequenceId; 2],
    /// Signaling messages in the current one-second window (per-source rate limit).
    window: (Instant, u32),
}

/// Why the server dropped a message that parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerDrops {
    /// Another domain.
    pub wrong_domain: u64,
    /// A Signaling message addressed to another port.
    pub not_for_us: u64,
    /// A Delay_Req from a client without a Delay_Resp grant.
    pub delay_req_without_grant: u64,
    /// A message type a server does not take.
    pub unexpected: u64,
    /// Signaling over a client's rate ([`SIGNALING_PER_SECOND`]).
    pub rate_limited: u64,
    /// TLVs beyond [`MAX_TLVS`] in one Signaling message, ignored.
    pub excess_tlvs: u64,
    /// Probationary slots given to a newcomer because the table was full.
    pub evicted: u64,
    /// Follow_Ups never sent because their Sync's transmit timestamp never came (bounded).
    pub follow_up_lost: u64,
    /// Signaling from addresses the client ACL does not permit (never answered).
    pub denied: u64,
}

/// How long a grant to a client on probation lasts at most, seconds: a single spoofed REQUEST
/// cannot start a stream longer than this.
pub const PROBATION_DURATION: u32 = 10;
/// The fastest a client on probation is served, log2 s (one message per second per type).
pub const PROBATION_LOG_INTERVAL: LogInterval = LogInterval(0);
/// A probationary slot this old may be taken by a newcomer when the table is full (an honest
/// client proves itself well within it: its second request follows the first Announce).
pub const PROBATION_EVICTABLE_AFTER: Duration = Duration::from_secs(4);
/// Signaling messages one client may send per second; more are dropped.
pub const SIGNALING_PER_SECOND: u32 = 8;
/// TLVs handled in one Signaling message (a client needs at most one per message type and
/// action); the rest are ignored, so a reply stays small.
pub const MAX_TLVS: usize = 8;
/// Two-step Syncs awaiting their transmit timestamp, per slot of capacity.
const FOLLOW_UPS_PER_SLOT: usize = 4;

/// Timer entries; at equal instants an expiry sorts first, so a grant covers
/// [start, start + duration) and nothing is sent at the instant it lapses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Expire(GrantedType),
    Send(GrantedType),
}

/// The unicast server engine (one part of a [`super::PtpNode`]).
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    properties: TimeProperties,
    slots: Vec<Option<ClientSlot>>,
    by_addr: BTreeMap<Ipv4Addr, usize>,
    timers: BTreeSet<(Instant, usize, TimerKind)>,
    follow_ups: BTreeMap<TxToken, (usize, SequenceId, LogInterval)>,
    next_token: u64,
    /// The sequence of Signaling the server starts itself (its CANCELs).
    signaling_seq: SequenceId,
    out: VecDeque<Output>,
    /// Dropped messages by reason.
    pub drops: ServerDrops,
    /// Requests refused because every slot was taken.
    pub refused_capacity: u64,
}

/// Server transmit tokens carry this bit so a node can route TX timestamps.
pub(super) const SERVER_TOKEN_BIT: u64 = 1 << 63;

impl Server {
    /// A server with no clients.
    #[must_use]
    pub fn new(config: ServerConfig) -> Self {
        Self {
            properties: config.properties,
            slots: vec![None; config.capacity],
            config,
            by_addr: BTreeMap::new(),
            timers: BTreeSet::new(),
            follow_ups: BTreeMap::new(),
            next_token: 0,
            signaling_seq: SequenceId(0),
            out: VecDeque::new(),
            drops: ServerDrops::default(),
            refused_capacity: 0,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// What Announce currently advertises.
    #[must_use]
    pub fn properties(&self) -> &TimeProperties {
        &self.properties
    }

    /// Changes what Announce advertises (a server-and-client forwards its upstream's data).
    pub fn set_properties(&mut self, properties: TimeProperties) {
        self.properties = properties;
    }

    /// Two-step Syncs whose transmit timestamp has not come yet (bounded).
    #[must_use]
    pub fn pending_follow_ups(&self) -> usize {
        self.follow_ups.len()
    }

    /// The clients being served, by client ID.
    pub fn clients(&self) -> impl Iterator<Item = &ClientSlot> {
        self.slots.iter().flatten()
    }

    /// Clears the counters (`reset ptp-adaptive statistics`).
    pub fn reset_statistics(&mut self) {
        for c in self.slots.iter_mut().flatten() {
            c.counters = [MessageCounters::default(); 3];
            c.signaling = MessageCounters::default();
        }
        self.drops = ServerDrops::default();
        self.refused_capacity = 0;
    }

    fn port_identity(&self) -> PortIdentity {
        PortIdentity {
            clock_identity: self.config.identity,
            port_number: 1,
        }
    }

    fn header(&self, seq: SequenceId, log: LogInterval, flags: Flags) -> Header {
        Header {
            flags,
            log_message_interval: log,
            ..Header::new(self.port_identity(), self.config.domain, seq)
        }
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|t| t.0)
    }

    /// Processes a message from a client.
    pub fn handle_message(&mut self, now: Now, from: SocketAddrV4, msg: &Message, rx: Timestamp) {
        if msg.header.domain != self.config.domain {
            self.drops.wrong_domain += 1;
            return;
        }
        match &msg.body {
            Body::Signaling(s) => self.handle_signaling(now, *from.ip(), msg, s),
            Body::DelayReq { .. } => self.handle_delay_req(from, msg, rx),
            _ => self.drops.unexpected += 1,
        }
    }

    fn handle_signaling(&mut self, now: Now, addr: Ipv4Addr, msg: &Message, s: &Signaling) {
        if !s.target_port.matches(self.port_identity()) {
            self.drops.not_for_us += 1;
            return;
        }
        if let Some(acl) = &self.config.client_acl
            && acl.decide(addr) != Some(true)
        {
            self.drops.denied += 1;
            return;
        }
        let slot = self.slot_for(now.instant, addr, msg.header.source_port, s);
        if let Some(i) = slot
            && !self.admit_signaling(now.instant, i)
        {
            self.drops.rate_limited += 1;
            return;
        }
        if s.tlvs.len() > MAX_TLVS {
            self.drops.excess_tlvs += (s.tlvs.len() - MAX_TLVS) as u64;
        }
        let mut reply = Vec::new();
        for tlv in s.tlvs.iter().take(MAX_TLVS) {
            match *tlv {
                SignalingTlv::Request(r) => {
                    let granted = match slot {
                        Some(i) => {
                            self.grant(now.instant, i, r.message_type, r.log_period, r.duration)
                        }
                        None => {
                            self.refused_capacity += 1;
                            refusal(r.message_type, r.log_period)
                        }
                    };
                    reply.push(SignalingTlv::Grant(granted));
                }
                SignalingTlv::Cancel(t) => {
                    if let (Some(i), Some(kind)) = (slot, GrantedType::from_message_type(t)) {
                        self.remove_grant(i, kind);
                    }
                    reply.push(SignalingTlv::AcknowledgeCancel(t));
                }
                // Acknowledgements of our cancels and grants addressed to clients need no answer.
                SignalingTlv::AcknowledgeCancel(_) | SignalingTlv::Grant(_) => {}
            }
        }
        if let Some(i) = slot {
            if let Some(c) = self.slots[i].as_mut() {
                c.signaling.received += 1;
                c.signaling.sent += u64::from(!reply.is_empty());
            }
            self.free_if_idle(i);
        }
        if !reply.is_empty() {
            let header = self.header(
                msg.header.sequence_id,
                LogInterval::UNSPECIFIED,
                Flags::UNICAST,
            );
            let body = Body::Signaling(Signaling {
                target_port: msg.header.source_port,
                tlvs: reply,
            });
            self.send(addr, Message { header, body }, None);
        }
    }

    /// The slot of a client, allocating one if the message asks for service and one is free
    /// (or a probationary one can be taken). A known client's later message proves it.
    fn slot_for(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        port: PortIdentity,
        s: &Signaling,
    ) -> Option<usize> {
        if let Some(&i) = self.by_addr.get(&addr) {
            if let Some(c) = self.slots[i].as_mut() {
                c.port = port;
                c.proven = true;
            }
            return Some(i);
        }
        if !s.tlvs.iter().any(|t| matches!(t, SignalingTlv::Request(_))) {
            return None;
        }
        let free = match self.slots.iter().position(Option::is_none) {
            Some(f) => f,
            None => self.evict_probationary(now)?,
        };
        self.slots[free] = Some(ClientSlot {
            id: free,
            addr,
            port,
            grants: [None; 3],
            counters: [MessageCounters::default(); 3],
            signaling: MessageCounters::default(),
            proven: false,
            since: now,
            sequence: [SequenceId(0); 2],
            window: (now, 0),
        });
        self.by_addr.insert(addr, free);
        Some(free)
    }

    /// Frees the oldest slot still on probation past [`PROBATION_EVICTABLE_AFTER`], silently
    /// (its address may be a spoofing victim, which should get nothing more from us).
    fn evict_probationary(&mut self, now: Instant) -> Option<usize> {
        let victim = self
            .slots
            .iter()
            .flatten()
            .filter(|c| !c.proven && now >= c.since.after(PROBATION_EVICTABLE_AFTER))
            .min_by_key(|c| (c.since, c.id))
            .map(|c| c.id)?;
        for k in GrantedType::ALL {
            self.remove_grant(victim, k);
        }
        self.free_if_idle(victim);
        self.drops.evicted += 1;
        Some(victim)
    }

    /// Counts a Signaling message against its client's one-second window.
    fn admit_signaling(&mut self, now: Instant, slot: usize) -> bool {
        let Some(c) = self.slots[slot].as_mut() else {
            return true;
        };
        if now >= c.window.0.after(Duration::SECOND) {
            c.window = (now, 0);
        }
        c.window.1 += 1;
        c.window.1 <= SIGNALING_PER_SECOND
    }

    /// Applies policy to one request: fastest 1/128 s, durations 60–1000 s, no Delay_Resp for a
    /// one-way ACR server, no Pdelay service.
    fn grant(
        &mut self,
        now: Instant,
        slot: usize,
        t: MessageType,
        log: LogInterval,
        duration: u32,
    ) -> GrantTlv {
        let Some(kind) = GrantedType::from_message_type(t) else {
            return refusal(t, log);
        };
        if duration == 0
            || (kind == GrantedType::DelayResp && self.config.mode == RecoveryMode::AcrOneWay)
        {
            return refusal(t, log);
        }
        let log_interval = LogInterval(log.0.clamp(FASTEST_LOG_INTERVAL.0, 7));
        let proven = self.slots[slot].as_ref().is_some_and(|c| c.proven);
        let duration = if proven {
            duration.clamp(DURATION_RANGE.0, DURATION_RANGE.1)
        } else {
            duration.clamp(1, PROBATION_DURATION)
        };
        let expires = now.after(Duration::from_secs(duration as i64));
        let old = self.slots[slot]
            .as_ref()
            .and_then(|c| c.grants[kind as usize]);
        if let Some(old) = old {
            self.timers
                .remove(&(old.expires, slot, TimerKind::Expire(kind)));
            self.timers
                .remove(&(old.next_send, slot, TimerKind::Send(kind)));
        }
        // A renewal keeps the send schedule running; a new grant starts sending at once.
        let next_send = match old {
            Some(o) if o.log_interval == log_interval => o.next_send,
            _ => now,
        };
        let g = ServerGrant {
            log_interval,
            duration,
            expires,
            next_send,
        };
        if let Some(c) = self.slots[slot].as_mut() {
            c.grants[kind as usize] = Some(g);
        }
        self.timers.insert((expires, slot, TimerKind::Expire(kind)));
        if kind != GrantedType::DelayResp {
            self.timers.insert((next_send, slot, TimerKind::Send(kind)));
        }
        GrantTlv {
            message_type: t,
            log_period: log_interval,
            duration,
            renewal_invited: true,
        }
    }

    /// Cancels every live grant (at shutdown), so clients turn to another server at once
    /// instead of waiting for their service to time out.
    pub fn cancel_all(&mut self) {
        for slot in 0..self.slots.len() {
            self.cancel_slot(slot);
        }
    }

    /// Applies `config` in place if only the client ACL or the DSCP changed: grants the new ACL
    /// still permits run on untouched; the others are cancelled on the wire. Returns `false`
    /// (and changes nothing) if the change needs a new server.
    pub fn reconfigure(&mut self, config: ServerConfig) -> bool {
        let in_place = ServerConfig {
            client_acl: self.config.client_acl.clone(),
            dscp: self.config.dscp,
            ..config.clone()
        };
        if in_place != self.config {
            return false;
        }
        self.config = config;
        for slot in 0..self.slots.len() {
            let denied = match (&self.slots[slot], &self.config.client_acl) {
                (Some(c), Some(acl)) => acl.decide(c.addr) != Some(true),
                _ => false,
            };
            if denied {
                self.cancel_slot(slot);
            }
        }
        true
    }

    /// Cancels the grants of the client in `slot`, if any, and frees it.
    fn cancel_slot(&mut self, slot: usize) {
        let Some(c) = self.slots[slot].as_ref() else {
            return;
        };
        let (addr, port) = (c.addr, c.port);
        let tlvs: Vec<SignalingTlv> = GrantedType::ALL
            .into_iter()
            .filter(|&k| c.grants[k as usize].is_some())
            .map(|k| SignalingTlv::Cancel(k.message_type()))
            .collect();
        for k in GrantedType::ALL {
            self.remove_grant(slot, k);
        }
        self.free_if_idle(slot);
        if tlvs.is_empty() {
            return;
        }
        let seq = self.signaling_seq;
        self.signaling_seq = seq.next();
        let header = self.header(seq, LogInterval::UNSPECIFIED, Flags::UNICAST);
        let body = Body::Signaling(Signaling {
            target_port: port,
            tlvs,
        });
        self.send(addr, Message { header, body }, None);
    }

    fn remove_grant(&mut self, slot: usize, kind: GrantedType) {
        let Some(c) = self.slots[slot].as_mut() else {
            return;
        };
        if let Some(g) = c.grants[kind as usize].take() {
            self.timers
                .remove(&(g.expires, slot, TimerKind::Expire(kind)));
            self.timers
                .remove(&(g.next_send, slot, TimerKind::Send(kind)));
        }
    }

    fn free_if_idle(&mut self, slot: usize) {
        if self.slots[slot]
            .as_ref()
            .is_some_and(|c| c.grants.iter().all(Option::is_none))
        {
            if let Some(c) = self.slots[slot].take() {
                self.by_addr.remove(&c.addr);
            }
            self.follow_ups.retain(|_, v| v.0 != slot);
        }
    }

    fn handle_delay_req(&mut self, from: SocketAddrV4, msg: &Message, rx: Timestamp) {
        let slot = self.by_addr.get(from.ip()).copied();
        let granted = slot
            .and_then(|i| self.slots[i].as_ref())
            .and_then(|c| c.grants[GrantedType::DelayResp as usize]);
        let (Some(i), Some(g)) = (slot, granted) else {
            self.drops.delay_req_without_grant += 1;
            if let Some(c) = slot.and_then(|i| self.slots[i].as_mut()) {
                c.counters[GrantedType::DelayResp as usize].discarded += 1;
            }
            return;
        };
        // t4 travels as whole nanoseconds; the sub-nanosecond rest goes, negated, into the
        // correction the client subtracts (IEEE 1588 11.3.2), after the request's own correction.
        let (ts, frac) = self.on_wire(rx).to_ptp().unwrap_or_default();
        let correction = Correction(msg.header.correction.0.saturating_sub(frac.0));
        let header = Header {
            correction,
            ..self.header(msg.header.sequence_id, g.log_interval, Flags::UNICAST)
        };
        let body = Body::DelayResp {
            receive_timestamp: ts,
            requesting_port: msg.header.source_port,
        };
        if let Some(c) = self.slots[i].as_mut() {
            c.proven = true;
            let k = &mut c.counters[GrantedType::DelayResp as usize];
            k.received += 1;
            k.sent += 1;
        }
        self.send(*from.ip(), Message { header, body }, None);
    }

    /// Sends what is due and lapses what has expired.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some(&(at, slot, kind)) = self.timers.first() {
            if at > now.instant {
                break;
            }
            self.timers.pop_first();
            match kind {
                TimerKind::Expire(k) => {
                    self.remove_grant(slot, k);
                    self.free_if_idle(slot);
                }
                TimerKind::Send(k) => self.send_due(now, slot, k),
            }
        }
    }

    fn send_due(&mut self, now: Now, slot: usize, kind: GrantedType) {
        let Some(c) = self.slots[slot].as_mut() else {
            return;
        };
        let Some(g) = c.grants[kind as usize].as_mut() else {
            return;
        };
        let log = if c.proven {
            g.log_interval
        } else {
            LogInterval(g.log_interval.0.max(PROBATION_LOG_INTERVAL.0))
        };
        let interval = log.to_duration().unwrap_or(Duration::SECOND);
        // Keep a regular cadence; after a long stall, restart it from now.
        let mut next = g.next_send.after(interval);
        if next <= now.instant {
            next = now.instant.after(interval);
        }
        g.next_send = next;
        let log = g.log_interval;
        let seq_index = if kind == GrantedType::Announce { 0 } else { 1 };
        let seq = c.sequence[seq_index];
        c.sequence[seq_index] = seq.next();
        c.counters[kind as usize].sent += 1;
        let addr = c.addr;
        self.timers.insert((next, slot, TimerKind::Send(kind)));
        match kind {
            GrantedType::Announce => {
                let p = self.properties;
                let flags = Flags(Flags::UNICAST.0 | (p.flags.0 & 0x00FF));
                let body = Body::Announce(Announce {
                    origin_timestamp: self.on_wire(now.clock).to_ptp_truncated(),
                    current_utc_offset: p.current_utc_offset,
                    priority1: p.priority1,
                    clock_quality: p.clock_quality,
                    priority2: p.priority2,
                    grandmaster_identity: p.grandmaster_identity,
                    steps_removed: p.steps_removed,
                    time_source: p.time_source,
                });
                self.send(
                    addr,
                    Message {
                        header: self.header(seq, log, flags),
                        body,
                    },
                    None,
                );
            }
            GrantedType::Sync if self.config.two_step => {
                let token = TxToken(SERVER_TOKEN_BIT | self.next_token);
                self.next_token += 1;
                self.follow_ups.insert(token, (slot, seq, log));
                // A transmit timestamp that never comes (a failed send) must not leak: keep the
                // newest few per slot of capacity.
                while self.follow_ups.len() > FOLLOW_UPS_PER_SLOT * self.slots.len().max(1) {
                    self.follow_ups.pop_first();
                    self.drops.follow_up_lost += 1;
                }
                let header = self.header(seq, log, Flags::TWO_STEP | Flags::UNICAST);
                let body = Body::Sync {
                    origin_timestamp: self.on_wire(now.clock).to_ptp_truncated(),
                };
                self.send(addr, Message { header, body }, Some(token));
            }
            GrantedType::Sync => {
                let (ts, frac) = self.on_wire(now.clock).to_ptp().unwrap_or_default();
                let header = Header {
                    correction: frac,
                    ..self.header(seq, log, Flags::UNICAST)
                };
                self.send(
                    addr,
                    Message {
                        header,
                        body: Body::Sync {
                            origin_timestamp: ts,
                        },
                    },
                    None,
                );
            }
            GrantedType::DelayResp => {}
        }
    }

    /// A transmit timestamp: sends the Follow_Up of a two-step Sync.
    pub fn handle_tx_timestamp(&mut self, token: TxToken, timestamp: Timestamp) {
        let Some((slot, seq, log)) = self.follow_ups.remove(&token) else {
            return;
        };
        let Some(addr) = self.slots[slot].as_ref().map(|c| c.addr) else {
            return;
        };
        let (ts, frac) = self.on_wire(timestamp).to_ptp().unwrap_or_default();
        let header = Header {
            correction: frac,
            ..self.header(seq, log, Flags::UNICAST)
        };
        self.send(
            addr,
            Message {
                header,
                body: Body::FollowUp {
                    precise_origin_timestamp: ts,
                },
            },
            None,
        );
    }

    /// A reading of the local (UTC) clock on the timescale the Announce declares: the PTP
    /// timescale runs TAI − UTC ahead.
    fn on_wire(&self, local: Timestamp) -> Timestamp {
        local + self.properties.ahead_of_utc()
    }

    fn send(&mut self, to: Ipv4Addr, msg: Message, token: Option<TxToken>) {
        self.out.extend(transmit(
            self.config.local,
            to,
            self.config.dscp,
            &msg,
            token,
        ));
    }
}

fn refusal(t: MessageType, log: LogInterval) -> GrantTlv {
    GrantTlv {
        message_type: t,
        log_period: log,
        duration: 0,
        renewal_invited: false,
    }
}
