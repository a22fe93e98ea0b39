//! A device's engines as one node: its NTP service and its PTP node, dispatched by port,
//! reconfigured in place, reporting typed events. What `meridiand` and the lab run; the
//! command-language layer only translates a configuration into a [`NodeConfig`] and renders
//! displays from the node's state.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::clock_select::{ClockSources, Source, Standing};
use crate::engine::{ClockAdjustment, Engine, Input, Instant, Now, Output, TxToken};
use crate::event::{Event, Observation};
use crate::ntp_service::NtpNode;
use crate::ntp_service::config::NtpConfig;
use crate::unicast::{Client, ClientConfig, PtpNode, Server, ServerConfig};

/// What a node runs, from its configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeConfig {
    /// The NTP service, if any.
    pub ntp: Option<NtpConfig>,
    /// Every address the device owns (for NTP loop detection).
    pub addresses: Vec<Ipv4Addr>,
    /// The PTP client part, if any.
    pub ptp_client: Option<ClientConfig>,
    /// The PTP server part, if any.
    pub ptp_server: Option<ServerConfig>,
    /// The clock's source selection (`clock source …`).
    pub clock_sources: ClockSources,
}

/// Queues an engine's output for the driver, noting the frequency correction it sets (what
/// a source handed the clock starts from).
fn pass(out: &mut VecDeque<Output>, frequency_ppb: &mut f64, o: Output) {
    if let Output::AdjustClock(ClockAdjustment::Frequency(f)) = o {
        *frequency_ppb = f;
    }
    out.push_back(o);
}

/// NTP transmit tokens carry this bit so they never collide with PTP's.
const NTP_TOKEN_BIT: u64 = 1 << 62;

/// Everything one device runs: its NTP service and its PTP node, dispatched by port.
#[derive(Debug)]
pub struct Node {
    /// The NTP service, if configured.
    pub ntp: Option<NtpNode>,
    /// The PTP node, if enabled.
    pub ptp: Option<PtpNode>,
    now: Instant,
    out: VecDeque<Output>,
    /// What the engines looked like after the last input: events are its changes.
    observed: Observation,
    /// The clock's source selection, and the source it follows.
    clock_sources: ClockSources,
    source: Source,
    /// The frequency correction last sent to the clock, ppb (what a source handed the clock
    /// starts from).
    frequency_ppb: f64,
}

impl Node {
    /// The engines `config` describes, started at `now`.
    #[must_use]
    pub fn new(config: &NodeConfig, now: Instant, seed: u64) -> Self {
        let ntp = config
            .ntp
            .clone()
            .map(|c| NtpNode::new(c, config.addresses.clone(), now, seed));
        let seed = seed.rotate_left(17);
        let ptp = match (config.ptp_client.clone(), config.ptp_server.clone()) {
            (None, None) => None,
            (client, server) => Some(PtpNode::new(
                client.map(|cc| Client::new(cc, now, seed)),
                server.map(Server::new),
            )),
        };
        Self {
            ntp,
            ptp,
            now,
            out: VecDeque::new(),
            observed: Observation::default(),
            clock_sources: config.clock_sources,
            source: Source::Local,
            frequency_ppb: 0.0,
        }
    }

    /// The source the clock follows.
    #[must_use]
    pub fn clock_source(&self) -> Source {
        self.source
    }

    /// The clock's source selection settings.
    #[must_use]
    pub fn clock_sources(&self) -> ClockSources {
        self.clock_sources
    }

    /// Which engines could drive the clock (PTP client, NTP associations), and which have
    /// something to offer now (a PTP server tracked; an NTP system peer).
    #[must_use]
    pub fn source_offers(&self) -> ([bool; 2], [bool; 2]) {
        let client = self.ptp.as_ref().and_then(PtpNode::client);
        let ntp = self.ntp.as_ref();
        let present = [
            client.is_some(),
            ntp.is_some_and(|n| n.associations().iter().any(|a| !a.dynamic)),
        ];
        let available = [
            client.is_some_and(|c| c.selected().is_some()),
            ntp.is_some_and(|n| n.system().peer.is_some()),
        ];
        (present, available)
    }

    /// Runs the clock's source selection and hands the clock to the selected engine. While the
    /// oscillator is selected (nothing to offer) every engine that takes part keeps its hold on
    /// the clock, so a lone PTP client re-acquires from holdover as it always did; the other
    /// engine being selected takes it away, and an engine the settings leave out never has it.
    fn select_source(&mut self) {
        let (present, available) = self.source_offers();
        let ranked = self.clock_sources.rank(present, available);
        let source = ClockSources::best(&ranked);
        if source != self.source {
            self.source = source;
            self.out
                .push_back(Output::Event(Event::ClockSource(source)));
        }
        let steers = |i: usize, own: Source| {
            source == own || (source == Source::Local && ranked[i].standing != Standing::Excluded)
        };
        let now = self.now;
        if let Some(p) = self.ptp.as_mut() {
            // What the PTP server announces follows the clock too.
            p.set_follows_ntp(now, source == Source::Ntp);
        }
        if let Some(c) = self.ptp.as_mut().and_then(PtpNode::client_mut) {
            c.set_steering(now, steers(0, Source::Ptp), self.frequency_ppb);
        }
        if let Some(n) = self.ntp.as_mut() {
            n.set_steering(now, steers(1, Source::Ntp), self.frequency_ppb);
            n.set_follows_ptp(source == Source::Ptp);
        }
    }

    /// The instant of the last input.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Clears every PTP counter and statistic (`reset ptp-adaptive statistics`); `false` if
    /// the node runs no PTP.
    pub fn reset_ptp_statistics(&mut self) -> bool {
        self.ptp.as_mut().map(PtpNode::reset_statistics).is_some()
    }

    /// Applies a committed configuration in place, as a router does: engines, associations,
    /// servers and grants whose configuration did not change keep all their state (a commit
    /// of `sysname` or of an ACL nothing uses changes nothing on the wire); changed ones are
    /// rebuilt; removed PTP parts cancel their grants on the wire. Returns whether any engine
    /// changed.
    pub fn reconfigure(&mut self, config: &NodeConfig, now: Now, seed: u64) -> bool {
        let mut changed = false;
        let addresses = config.addresses.clone();
        match (self.ntp.as_mut(), config.ntp.clone()) {
            (Some(n), Some(c)) => changed |= n.reconfigure(now, c, addresses),
            (None, None) => {}
            (_, c) => {
                changed = true;
                self.collect();
                self.ntp = c.map(|c| NtpNode::new(c, addresses, now.instant, seed));
            }
        }
        let (client, server) = (config.ptp_client.clone(), config.ptp_server.clone());
        let wanted = client.is_some() || server.is_some();
        let seed = seed.rotate_left(17);
        match self.ptp.as_mut() {
            Some(p) => {
                changed |= p.reconfigure(now.instant, client, server, seed);
                if !wanted {
                    // Its CANCELs go out before it does.
                    self.collect();
                    self.ptp = None;
                }
            }
            None if wanted => {
                changed = true;
                self.ptp = Some(PtpNode::new(
                    client.map(|cc| Client::new(cc, now.instant, seed)),
                    server.map(Server::new),
                ));
            }
            None => {}
        }
        self.now = now.instant;
        changed |= self.clock_sources != config.clock_sources;
        self.clock_sources = config.clock_sources;
        self.collect();
        changed
    }

    fn collect(&mut self) {
        // Only the engine that steers may move the clock (each also holds back on its own).
        if let Some(n) = self.ntp.as_mut() {
            let steering = n.steering();
            while let Some(o) = n.poll_output() {
                match o {
                    Output::Transmit(mut t) => {
                        t.token = t.token.map(|k| TxToken(k.0 | NTP_TOKEN_BIT));
                        self.out.push_back(Output::Transmit(t));
                    }
                    Output::AdjustClock(_) if !steering => {}
                    other => pass(&mut self.out, &mut self.frequency_ppb, other),
                }
            }
        }
        if let Some(p) = self.ptp.as_mut() {
            let steering = p.client().is_none_or(Client::steering);
            while let Some(o) = p.poll_output() {
                match o {
                    Output::AdjustClock(_) if !steering => {}
                    other => pass(&mut self.out, &mut self.frequency_ppb, other),
                }
            }
        }
        self.select_source();
        let now = Observation::of(self.ntp.as_ref(), self.ptp.as_ref());
        if now != self.observed {
            let mut events = Vec::new();
            now.changes_since(&self.observed, &mut events);
            self.out.extend(events.into_iter().map(Output::Event));
            self.observed = now;
        }
    }
}

impl Engine for Node {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        self.now = now.instant;
        match input {
            Input::Datagram(d) => {
                let ntp = d.to.port() == crate::ntp::PORT;
                match (ntp, self.ntp.as_mut(), self.ptp.as_mut()) {
                    (true, Some(n), _) => n.handle(now, input),
                    (false, _, Some(p)) => p.handle(now, input),
                    _ => {}
                }
            }
            Input::TxTimestamp { token, timestamp } => {
                if token.0 & NTP_TOKEN_BIT != 0 {
                    if let Some(n) = self.ntp.as_mut() {
                        n.handle(
                            now,
                            Input::TxTimestamp {
                                token: TxToken(token.0 & !NTP_TOKEN_BIT),
                                timestamp,
                            },
                        );
                    }
                } else if let Some(p) = self.ptp.as_mut() {
                    p.handle(now, input);
                }
            }
            Input::TransmitStamped { token, at } => {
                if token.0 & NTP_TOKEN_BIT != 0
                    && let Some(n) = self.ntp.as_mut()
                {
                    n.handle(
                        now,
                        Input::TransmitStamped {
                            token: TxToken(token.0 & !NTP_TOKEN_BIT),
                            at,
                        },
                    );
                }
            }
            Input::Timeout => {
                if let Some(n) = self.ntp.as_mut()
                    && n.poll_timeout().is_some_and(|t| t <= now.instant)
                {
                    n.handle(now, input);
                }
                if let Some(p) = self.ptp.as_mut()
                    && p.poll_timeout().is_some_and(|t| t <= now.instant)
                {
                    p.handle(now, input);
                }
            }
        }
        self.collect();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let n = self.ntp.as_ref().and_then(Engine::poll_timeout);
        let p = self.ptp.as_ref().and_then(Engine::poll_timeout);
        n.into_iter().chain(p).min()
    }
}
