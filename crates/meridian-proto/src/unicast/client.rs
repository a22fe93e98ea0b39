//! The unicast client: negotiates with one or two servers, selects one, measures, and feeds the
//! servo.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use super::config::{ClientConfig, RecoveryMode, ServoKind};
use super::negotiation::{Due, Negotiation};
use super::server::MessageCounters;
use super::{GrantedType, transmit};
use crate::engine::{ClockAdjustment, Instant, Now, Output, TxToken};
use crate::ptp::{
    Announce, Body, Flags, Header, LogInterval, Message, PortIdentity, RequestTlv, SequenceId,
    Signaling, SignalingTlv,
};
use crate::rng::EngineRng;
use crate::servo::{
    PiServo, Sample, SelectionParams, SelectionServo, Servo, ServoMode, ServoState,
};
use crate::time::{Correction, Duration, PtpTimestamp, Timestamp};

mod selection;

use super::server_link::plausible;
pub use super::server_link::{ClientDrops, DelayStats, LATEST_PLAUSIBLE_SECONDS, ServerLink};

/// What a client does for the device's clock (see [`Client::activity`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Its servo steers the clock, in this state.
    Steering(ServoState),
    /// Another clock source has the clock; the client keeps negotiating.
    Standby,
}

/// While no server is usable, requests to each go out at least this often, whatever their
/// back-off: the path may be back, and every second in holdover costs accuracy.
const HOLDOVER_PROBE: Duration = Duration::from_secs(4);

/// How many two-step Syncs or Delay_Reqs wait for their partner at most.
const PENDING_LIMIT: usize = 16;

/// The unicast client engine (one part of a [`super::PtpNode`]).
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    servers: Vec<ServerLink>,
    selected: Option<usize>,
    servo: Box<dyn Servo>,
    rng: EngineRng,
    out: VecDeque<Output>,
    scratch: Vec<ClockAdjustment>,
    signaling_seq: SequenceId,
    delay_req_seq: SequenceId,
    next_delay_req: Option<Instant>,
    /// Delay_Reqs sent: token → sequence, then sequence → t3 once timestamped.
    delay_req_tokens: BTreeMap<TxToken, SequenceId>,
    delay_req_t3: VecDeque<(SequenceId, Timestamp)>,
    /// Two-step Syncs awaiting Follow_Up: (sequence, t2, Sync correction).
    syncs: VecDeque<(SequenceId, Timestamp, Correction)>,
    next_token: u64,
    /// Whether the servo steers the clock: off while the device's clock selection follows
    /// another source (the client keeps negotiating and measuring).
    steering: bool,
    /// When `steering` last changed (the client's start if never).
    steering_since: Instant,
    /// Dropped messages by reason.
    pub drops: ClientDrops,
}

impl Client {
    /// A client starting at `now`; `seed` drives its back-off jitter.
    #[must_use]
    pub fn new(config: ClientConfig, now: Instant, seed: u64) -> Self {
        let servo = Self::new_servo(&config, now);
        let mut servers: Vec<ServerLink> = config
            .servers
            .iter()
            .flatten()
            .map(|a| ServerLink::new(*a))
            .collect();
        for s in &mut servers {
            s.negotiations[GrantedType::Announce as usize].want(now);
        }
        Self {
            config,
            servers,
            selected: None,
            servo,
            rng: EngineRng::new(seed),
            out: VecDeque::new(),
            scratch: Vec::new(),
            signaling_seq: SequenceId(0),
            delay_req_seq: SequenceId(0),
            next_delay_req: None,
            delay_req_tokens: BTreeMap::new(),
            delay_req_t3: VecDeque::new(),
            syncs: VecDeque::new(),
            next_token: 0,
            steering: true,
            steering_since: now,
            drops: ClientDrops::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The configured servers (server1 first).
    #[must_use]
    pub fn servers(&self) -> &[ServerLink] {
        &self.servers
    }

    /// The index of the server being tracked.
    #[must_use]
    pub fn selected(&self) -> Option<usize> {
        self.selected
    }

    /// The servo's state.
    #[must_use]
    pub fn servo_state(&self) -> ServoState {
        self.servo.state()
    }

    /// Since when the servo has been in its state.
    #[must_use]
    pub fn servo_state_since(&self) -> Instant {
        self.servo.state_since()
    }

    /// The frequency correction in force, ppb.
    #[must_use]
    pub fn frequency_ppb(&self) -> f64 {
        self.servo.frequency_ppb()
    }

    /// The Announce of the tracked server and its timescale flags (what a server-and-client
    /// forwards).
    #[must_use]
    pub fn upstream(&self) -> Option<(&Announce, Flags)> {
        self.selected.and_then(|i| {
            let s = &self.servers[i];
            s.announce.as_ref().map(|a| (a, s.time_flags))
        })
    }

    fn port_identity(&self) -> PortIdentity {
        PortIdentity {
            clock_identity: self.config.identity,
            port_number: 1,
        }
    }

    fn header(&self, seq: SequenceId, log: LogInterval) -> Header {
        Header {
            flags: Flags::UNICAST,
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
        let negotiations = self
            .servers
            .iter()
            .flat_map(|s| s.negotiations.iter().filter_map(Negotiation::deadline));
        let health = self
            .servers
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.health_deadline(i, s));
        negotiations
            .chain(health)
            .chain(self.next_delay_req.map(|d| d.after(self.delay_req_slack())))
            .chain(self.servo.next_tick().filter(|_| self.steering))
            .min()
    }

    /// Processes a message from a server at `from`.
    pub fn handle_message(&mut self, now: Now, from: SocketAddrV4, msg: &Message, rx: Timestamp) {
        if msg.header.domain != self.config.domain {
            self.drops.wrong_domain += 1;
            return;
        }
        let Some(i) = self.servers.iter().position(|s| s.addr == *from.ip()) else {
            self.drops.unknown_source += 1;
            return;
        };
        // Anything from a server declared failed shows its path is back: pending requests go
        // now instead of waiting out a back-off (not for a healthy server: a refusal's back-off
        // must hold).
        if self.servers[i].ptsf {
            for n in &mut self.servers[i].negotiations {
                n.hasten(now.instant);
            }
        }
        let stamp = match &msg.body {
            Body::Sync { origin_timestamp } => Some(*origin_timestamp),
            Body::FollowUp {
                precise_origin_timestamp,
            } => Some(*precise_origin_timestamp),
            Body::DelayResp {
                receive_timestamp, ..
            } => Some(*receive_timestamp),
            _ => None,
        };
        if stamp.is_some_and(|t| !plausible(t)) {
            self.drops.implausible += 1;
            return;
        }
        match &msg.body {
            Body::Signaling(s) => self.handle_signaling(now, i, msg, s),
            Body::Announce(a) => {
                let link = &mut self.servers[i];
                link.counters[GrantedType::Announce as usize].received += 1;
                link.announce = Some(*a);
                link.time_flags = Flags(msg.header.flags.0 & 0x00FF);
                link.identity = Some(msg.header.source_port);
                link.last_announce = Some(now.instant);
                if link.healthy_since.is_none() || link.ptsf {
                    link.healthy_since = Some(now.instant);
                    link.ptsf = false;
                }
                self.reselect(now.instant);
            }
            Body::Sync { origin_timestamp } => self.handle_sync(now, i, msg, *origin_timestamp, rx),
            Body::FollowUp {
                precise_origin_timestamp,
            } => {
                self.handle_follow_up(now, i, msg, *precise_origin_timestamp);
            }
            Body::DelayResp {
                receive_timestamp,
                requesting_port,
            } => {
                self.handle_delay_resp(now, i, msg, *receive_timestamp, *requesting_port);
            }
            Body::DelayReq { .. } => {
                self.servers[i].counters[GrantedType::DelayResp as usize].discarded += 1
            }
        }
        self.flush_servo();
    }

    fn handle_signaling(&mut self, now: Now, i: usize, msg: &Message, s: &Signaling) {
        if !s.target_port.matches(self.port_identity()) {
            self.servers[i].signaling.discarded += 1;
            return;
        }
        self.servers[i].signaling.received += 1;
        let mut acks = Vec::new();
        for tlv in &s.tlvs {
            match *tlv {
                SignalingTlv::Grant(g) => {
                    let Some(kind) = GrantedType::from_message_type(g.message_type) else {
                        continue;
                    };
                    let random = self.rng.next_u64();
                    let requested = self.requested_interval(kind);
                    let link = &mut self.servers[i];
                    link.identity = Some(msg.header.source_port);
                    let n = &mut link.negotiations[kind as usize];
                    let wanted = *n != Negotiation::Idle;
                    n.granted(now.instant, &g, requested, random);
                    if kind == GrantedType::Announce
                        && let Some(log) = n.granted_interval()
                    {
                        link.announce_interval = Some(log);
                    }
                    if kind == GrantedType::Sync && n.is_granted() && link.sync_granted_at.is_none()
                    {
                        link.sync_granted_at = Some(now.instant);
                    }
                    if kind == GrantedType::DelayResp && n.is_granted() && self.selected == Some(i)
                    {
                        self.next_delay_req.get_or_insert(now.instant);
                    }
                    if !wanted && g.duration > 0 {
                        // A grant for something no longer wanted: cancel it.
                        self.send_signaling(i, vec![SignalingTlv::Cancel(g.message_type)]);
                    }
                }
                SignalingTlv::Cancel(t) => {
                    if let Some(kind) = GrantedType::from_message_type(t) {
                        let n = &mut self.servers[i].negotiations[kind as usize];
                        if *n != Negotiation::Idle {
                            n.lapsed(now.instant);
                        }
                    }
                    acks.push(SignalingTlv::AcknowledgeCancel(t));
                }
                SignalingTlv::Request(_) | SignalingTlv::AcknowledgeCancel(_) => {}
            }
        }
        if !acks.is_empty() {
            self.send_signaling(i, acks);
        }
    }

    fn handle_sync(
        &mut self,
        now: Now,
        i: usize,
        msg: &Message,
        origin: PtpTimestamp,
        rx: Timestamp,
    ) {
        let link = &mut self.servers[i];
        link.counters[GrantedType::Sync as usize].received += 1;
        if self.selected != Some(i) {
            link.counters[GrantedType::Sync as usize].discarded += 1;
            self.drops.not_selected += 1;
            return;
        }
        link.last_sync = Some(now.instant);
        if msg.header.flags.contains(Flags::TWO_STEP) {
            self.syncs
                .push_back((msg.header.sequence_id, rx, msg.header.correction));
            if self.syncs.len() > PENDING_LIMIT {
                self.syncs.pop_front();
            }
        } else {
            let t1 = Timestamp::from_ptp(origin, msg.header.correction) - link.ahead_of_utc();
            self.forward(now.instant, i, t1, rx);
        }
        self.send_delay_req(now, true);
    }

    fn handle_follow_up(&mut self, now: Now, i: usize, msg: &Message, precise: PtpTimestamp) {
        if self.selected != Some(i) {
            self.drops.not_selected += 1;
            return;
        }
        let seq = msg.header.sequence_id;
        let Some(pos) = self.syncs.iter().position(|s| s.0 == seq) else {
            self.drops.unmatched += 1;
            return;
        };
        let (_, t2, sync_corr) =
            self.syncs
                .remove(pos)
                .unwrap_or((seq, Timestamp::EPOCH, Correction::ZERO));
        let t1 = Timestamp::from_ptp(precise, msg.header.correction) + sync_corr.to_duration()
            - self.servers[i].ahead_of_utc();
        self.forward(now.instant, i, t1, t2);
    }

    fn forward(&mut self, at: Instant, i: usize, t1: Timestamp, t2: Timestamp) {
        let d = t2 - t1;
        self.servers[i].t21.record(d);
        // The configured asymmetry is how much longer server→client is: half of it belongs to
        // each direction's deviation from the mean.
        let half = self
            .config
            .asymmetry
            .get(i)
            .copied()
            .unwrap_or_default()
            .checked_div(2)
            .unwrap_or_default();
        if !self.steering {
            return;
        }
        self.servo.sample(
            Sample::Forward {
                at,
                delay: d - half,
            },
            &mut self.scratch,
        );
    }

    fn handle_delay_resp(
        &mut self,
        now: Now,
        i: usize,
        msg: &Message,
        receive: PtpTimestamp,
        requesting: PortIdentity,
    ) {
        let seq = msg.header.sequence_id;
        let pos = (requesting == self.port_identity() && self.selected == Some(i))
            .then(|| self.delay_req_t3.iter().position(|p| p.0 == seq))
            .flatten();
        let link = &mut self.servers[i];
        link.counters[GrantedType::DelayResp as usize].received += 1;
        let Some(pos) = pos else {
            link.counters[GrantedType::DelayResp as usize].discarded += 1;
            self.drops.unmatched += 1;
            return;
        };
        let (_, t3) = self
            .delay_req_t3
            .remove(pos)
            .unwrap_or((seq, Timestamp::EPOCH));
        let t4 = Timestamp::from_ptp(receive, Correction::ZERO)
            - msg.header.correction.to_duration()
            - link.ahead_of_utc();
        let d = t4 - t3;
        link.t43.record(d);
        let half = self
            .config
            .asymmetry
            .get(i)
            .copied()
            .unwrap_or_default()
            .checked_div(2)
            .unwrap_or_default();
        if !self.steering {
            return;
        }
        self.servo.sample(
            Sample::Reverse {
                at: now.instant,
                delay: d + half,
            },
            &mut self.scratch,
        );
    }

    /// A transmit timestamp for one of our Delay_Reqs: that is t3.
    pub fn handle_tx_timestamp(&mut self, token: TxToken, timestamp: Timestamp) {
        if let Some(seq) = self.delay_req_tokens.remove(&token) {
            self.delay_req_t3.push_back((seq, timestamp));
            if self.delay_req_t3.len() > PENDING_LIMIT {
                self.delay_req_t3.pop_front();
            }
        }
    }

    /// Renews, retries, checks health, sends Delay_Req and runs the servo.
    pub fn handle_timeout(&mut self, now: Now) {
        let t = now.instant;
        self.check_health(t);
        self.reselect(t);
        for i in 0..self.servers.len() {
            let mut tlvs = Vec::new();
            for kind in GrantedType::ALL {
                match self.servers[i].negotiations[kind as usize].due(t) {
                    Due::Nothing => continue,
                    Due::Lapsed => self.servers[i].negotiations[kind as usize].lapsed(t),
                    Due::Request => {}
                }
                let random = self.rng.next_u64();
                self.servers[i].negotiations[kind as usize].sent(t, random);
                tlvs.push(SignalingTlv::Request(RequestTlv {
                    message_type: kind.message_type(),
                    log_period: self.requested_interval(kind),
                    duration: self.config.durations[kind as usize],
                }));
            }
            if !tlvs.is_empty() {
                self.send_signaling(i, tlvs);
            }
            if self.selected.is_none() {
                for n in &mut self.servers[i].negotiations {
                    n.hasten(t.after(HOLDOVER_PROBE));
                }
            }
        }
        self.send_delay_req(now, false);
        if self.steering {
            self.servo.tick(t, &mut self.scratch);
        }
        self.flush_servo();
    }

    fn requested_interval(&self, kind: GrantedType) -> LogInterval {
        match kind {
            GrantedType::Announce => self.config.announce_interval,
            GrantedType::Sync => self.config.sync_interval,
            GrantedType::DelayResp => self.config.delay_resp_interval,
        }
    }

    /// How far a Delay_Req may leave from its schedule to go right after a Sync: half the
    /// granted Sync interval (or half its own, if shorter); none before both are granted.
    ///
    /// Sent right after a Sync, a Delay_Req samples both directions within a few hundred µs of
    /// each other (in the simulator, exact timestamps: atr-single p99 11.0 → 6.5 ns). With
    /// software timestamps it also changes which packets take the kernel's cold path (the first
    /// after a pause, whose transmit timestamp lands earlier before the wire): against a ptp4l
    /// grandmaster on veth the mean time error moved from +133…+579 to +161…+413 ns at 128/s
    /// and from +230…+259 to −446 ns at 8/s (ptp4l's Syncs are now the colder direction). The
    /// schedule itself does not move: each Delay_Req leaves at the first Sync within the slack
    /// of its due time (or at due + slack without one), and the next is due an interval after
    /// the last was due, so the granted rate holds whatever the server's Sync rate.
    fn delay_req_slack(&self) -> Duration {
        let Some(i) = self.selected else {
            return Duration::ZERO;
        };
        let n = &self.servers[i].negotiations;
        let interval = |kind: GrantedType| {
            n[kind as usize]
                .granted_interval()
                .and_then(|l| l.to_duration())
        };
        match (
            interval(GrantedType::Sync),
            interval(GrantedType::DelayResp),
        ) {
            (Some(sync), Some(delay)) => sync.min(delay).checked_div(2).unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    /// Sends the Delay_Req if it is due: from a Sync (`on_sync`) up to the slack before its
    /// due time, from the timer the slack after it.
    fn send_delay_req(&mut self, now: Now, on_sync: bool) {
        let Some(due) = self.next_delay_req else {
            return;
        };
        let slack = self.delay_req_slack();
        let ready = if on_sync {
            due <= now.instant.after(slack)
        } else {
            due.after(slack) <= now.instant
        };
        if !ready {
            return;
        }
        let granted = self.selected.and_then(|i| {
            self.servers[i].negotiations[GrantedType::DelayResp as usize]
                .granted_interval()
                .map(|l| (i, l))
        });
        let Some((i, log)) = granted.filter(|_| self.config.mode.two_way()) else {
            self.next_delay_req = None;
            return;
        };
        let interval = log.to_duration().unwrap_or(Duration::SECOND);
        let mut next = due.after(interval);
        if next <= now.instant {
            next = now.instant.after(interval);
        }
        self.next_delay_req = Some(next);
        let seq = self.delay_req_seq;
        self.delay_req_seq = seq.next();
        let token = TxToken(self.next_token);
        self.next_token += 1;
        self.delay_req_tokens.insert(token, seq);
        if self.delay_req_tokens.len() > PENDING_LIMIT
            && let Some(&oldest) = self.delay_req_tokens.keys().next()
        {
            self.delay_req_tokens.remove(&oldest);
        }
        let msg = Message {
            header: self.header(seq, LogInterval::UNSPECIFIED),
            body: Body::DelayReq {
                origin_timestamp: now.clock.to_ptp_truncated(),
            },
        };
        self.servers[i].counters[GrantedType::DelayResp as usize].sent += 1;
        let addr = self.servers[i].addr;
        self.out.extend(transmit(
            self.config.local,
            addr,
            self.config.dscp,
            &msg,
            Some(token),
        ));
    }

    fn send_signaling(&mut self, i: usize, tlvs: Vec<SignalingTlv>) {
        let seq = self.signaling_seq;
        self.signaling_seq = seq.next();
        let s = &mut self.servers[i];
        s.signaling.sent += 1;
        // The first request goes to the wildcard port, later ones to the server's identity.
        let target_port = s.identity.unwrap_or(PortIdentity::WILDCARD);
        let addr = s.addr;
        let msg = Message {
            header: self.header(seq, LogInterval::UNSPECIFIED),
            body: Body::Signaling(Signaling { target_port, tlvs }),
        };
        self.out.extend(transmit(
            self.config.local,
            addr,
            self.config.dscp,
            &msg,
            None,
        ));
    }

    /// Applies `config` in place if the servo can stay (same address, identity, domain, mode,
    /// servo and step threshold): servers that remain keep their link, grants and statistics,
    /// a removed server's grants are cancelled on the wire, an added one is negotiated; a
    /// changed message rate is asked for at once; DSCP, durations, asymmetry, receipt timeout
    /// and wait-to-restore apply from the next message. The servo and the clock's frequency are
    /// untouched, so a router's commit costs no synchronization. Returns `false` (and changes
    /// nothing) if the change needs a new client.
    pub fn reconfigure(&mut self, now: Instant, config: ClientConfig) -> bool {
        let servo_part = ClientConfig {
            servers: self.config.servers,
            dscp: self.config.dscp,
            announce_interval: self.config.announce_interval,
            sync_interval: self.config.sync_interval,
            delay_resp_interval: self.config.delay_resp_interval,
            durations: self.config.durations,
            receipt_timeout: self.config.receipt_timeout,
            asymmetry: self.config.asymmetry,
            wait_to_restore: self.config.wait_to_restore,
            ..config.clone()
        };
        if servo_part != self.config {
            return false;
        }
        let addrs: Vec<Ipv4Addr> = config.servers.iter().flatten().copied().collect();
        for i in 0..self.servers.len() {
            if !addrs.contains(&self.servers[i].addr) {
                self.cancel_server(i);
            }
        }
        let tracked = self.selected.map(|i| self.servers[i].addr);
        let mut old = std::mem::take(&mut self.servers);
        self.servers = addrs
            .iter()
            .map(|a| match old.iter().position(|s| s.addr == *a) {
                Some(k) => old.swap_remove(k),
                None => {
                    let mut link = ServerLink::new(*a);
                    link.negotiations[GrantedType::Announce as usize].want(now);
                    link
                }
            })
            .collect();
        self.selected = tracked.and_then(|a| self.servers.iter().position(|s| s.addr == a));
        if tracked.is_some() && self.selected.is_none() {
            // The tracked server is gone: hold over until another is selected.
            self.syncs.clear();
            self.delay_req_t3.clear();
            self.delay_req_tokens.clear();
            self.next_delay_req = None;
            self.servo.holdover(now, &mut self.scratch);
        }
        self.config = config;
        let wanted = GrantedType::ALL.map(|k| self.requested_interval(k));
        for s in &mut self.servers {
            for kind in GrantedType::ALL {
                let wanted = wanted[kind as usize];
                let n = &mut s.negotiations[kind as usize];
                if n.granted_interval().is_some_and(|g| g != wanted) {
                    // Ask for the new rate now; the server's GRANT replaces the old one.
                    n.lapsed(now);
                }
            }
        }
        self.reselect(now);
        self.flush_servo();
        true
    }

    /// Stops everything wanted from server `i`, with CANCEL for what was granted.
    fn cancel_server(&mut self, i: usize) {
        let mut cancels = Vec::new();
        for kind in GrantedType::ALL {
            if self.servers[i].negotiations[kind as usize].stop() {
                cancels.push(SignalingTlv::Cancel(kind.message_type()));
            }
        }
        if !cancels.is_empty() {
            self.send_signaling(i, cancels);
        }
    }

    /// Cancels every granted service (on deconfiguration or shutdown).
    pub fn cancel_all(&mut self) {
        for i in 0..self.servers.len() {
            self.cancel_server(i);
        }
        self.selected = None;
    }

    fn flush_servo(&mut self) {
        for adj in self.scratch.drain(..) {
            self.out.push_back(Output::AdjustClock(adj));
        }
    }

    /// The servo `config` asks for, fresh at `now`.
    fn new_servo(config: &ClientConfig, now: Instant) -> Box<dyn Servo> {
        let mode = if config.mode.recovers_time() {
            ServoMode::Time
        } else {
            ServoMode::Frequency
        };
        match config.servo {
            ServoKind::Selection => Box::new(SelectionServo::new(
                mode,
                SelectionParams {
                    step_threshold: config.step_threshold,
                    ..SelectionParams::for_mode(mode)
                },
                now,
            )),
            ServoKind::Pi => Box::new(PiServo::new(
                mode,
                config
                    .sync_interval
                    .to_duration()
                    .unwrap_or(Duration::SECOND),
                config.step_threshold,
                now,
            )),
        }
    }

    /// Whether the servo steers the clock (see [`Client::set_steering`]).
    #[must_use]
    pub fn steering(&self) -> bool {
        self.steering
    }

    /// Hands the clock to this client (`true`) or takes it away (`false`), as the device's
    /// clock selection decides. Taken away, the servo holds over and gets no samples. Handed
    /// back the clock as the other source left it, running at `frequency_ppb`: a servo that
    /// had locked re-acquires from its holdover (its windows and loop are learned; only its
    /// frequency is re-based on the clock's), one that had not starts afresh (its acquisition
    /// points straddle corrections it did not make).
    pub fn set_steering(&mut self, now: Instant, on: bool, frequency_ppb: f64) {
        if !on && self.steering {
            self.servo.holdover(now, &mut self.scratch);
            // The other source steers now: what the holdover would set is not ours to set.
            self.scratch.clear();
        }
        if on && !self.steering {
            if self.servo.state() != ServoState::Holdover {
                self.servo = Self::new_servo(&self.config, now);
            }
            self.servo.seed_frequency(now, frequency_ppb);
        }
        if on != self.steering {
            self.steering_since = now;
        }
        self.steering = on;
    }

    /// What the client does for the device's clock, and since when: its servo's state while it
    /// steers; standby while the device's clock selection gives the clock to another source
    /// (the servo then holds over by design, but no server is lost).
    #[must_use]
    pub fn activity(&self) -> (Activity, Instant) {
        if self.steering {
            (
                Activity::Steering(self.servo.state()),
                self.servo.state_since(),
            )
        } else {
            (Activity::Standby, self.steering_since)
        }
    }

    /// Clears the counters and delay statistics (`reset ptp-adaptive statistics`).
    pub fn reset_statistics(&mut self) {
        for s in &mut self.servers {
            s.counters = Default::default();
            s.signaling = MessageCounters::default();
            s.t21 = DelayStats::default();
            s.t43 = DelayStats::default();
        }
        self.drops = ClientDrops::default();
    }

    /// The recovery mode.
    #[must_use]
    pub fn mode(&self) -> RecoveryMode {
        self.config.mode
    }
}
