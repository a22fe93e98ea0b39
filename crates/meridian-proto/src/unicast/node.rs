//! A device's PTP function: a client, a server, or both on one address (server-and-client mode,
//! where the server forwards what the client learns from upstream).

use std::collections::VecDeque;

use super::client::Client;
use super::config::{ClientConfig, ServerConfig, TimeProperties};
use super::server::{SERVER_TOKEN_BIT, Server};
use crate::engine::{Engine, Input, Instant, Now, Output};
use crate::ptp::{Body, ClockQuality, Flags, Message, ParseError, SignalingTlv, TimeSource};
use crate::servo::ServoState;
use crate::time::Duration;

/// Counts of datagrams that did not parse, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseDrops {
    /// Malformed (any [`ParseError`] other than `NotHandled`).
    pub malformed: u64,
    /// Well formed, but a type not handled (Management, peer delay).
    pub not_handled: u64,
}

/// How long a server-and-client advertises holdover after losing its upstream before it falls
/// back to the default clock class.
pub const HOLDOVER_ADVERTISED: Duration = Duration::from_secs(300);

/// Clock class advertised in holdover within specification.
const HOLDOVER_CLASS: u8 = 7;

/// The PTP engine of one device.
#[derive(Debug)]
pub struct PtpNode {
    client: Option<Client>,
    server: Option<Server>,
    /// The server's own properties when it has no upstream.
    own: Option<TimeProperties>,
    /// When the upstream was lost (server-and-client).
    upstream_lost_at: Option<Instant>,
    /// Whether the client part has ever locked to an upstream.
    ever_locked: bool,
    /// Whether the device's clock follows its NTP service (clock source selection).
    follows_ntp: bool,
    out: VecDeque<Output>,
    /// Datagrams that did not parse.
    pub parse_drops: ParseDrops,
}

impl PtpNode {
    /// A node with either part or both.
    #[must_use]
    pub fn new(client: Option<Client>, server: Option<Server>) -> Self {
        let own = server.as_ref().map(|s| *s.properties());
        Self {
            client,
            server,
            own,
            upstream_lost_at: None,
            ever_locked: false,
            follows_ntp: false,
            out: VecDeque::new(),
            parse_drops: ParseDrops::default(),
        }
    }

    /// The client part.
    #[must_use]
    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    /// Tells the node the device's clock follows its NTP service (`true`): its server then
    /// announces NTP as the time source, class 248 and time-traceable, as its own grandmaster.
    pub fn set_follows_ntp(&mut self, now: Instant, on: bool) {
        if self.follows_ntp != on {
            self.follows_ntp = on;
            // A server with no upstream of its own announces its own properties again.
            if let (false, Some(server), Some(own)) = (on, &mut self.server, self.own) {
                server.set_properties(own);
            }
            self.forward_upstream(now);
        }
    }

    /// The client part, to hand it the clock or take it away.
    pub fn client_mut(&mut self) -> Option<&mut Client> {
        self.client.as_mut()
    }

    /// The server part.
    #[must_use]
    pub fn server(&self) -> Option<&Server> {
        self.server.as_ref()
    }

    /// Clears every counter and statistic.
    pub fn reset_statistics(&mut self) {
        if let Some(c) = self.client.as_mut() {
            c.reset_statistics();
        }
        if let Some(s) = self.server.as_mut() {
            s.reset_statistics();
        }
        self.parse_drops = ParseDrops::default();
    }

    /// Sends CANCEL for every live grant, held as a client or given as a server (shutdown,
    /// deconfiguration).
    pub fn shutdown(&mut self) {
        if let Some(c) = self.client.as_mut() {
            c.cancel_all();
        }
        if let Some(s) = self.server.as_mut() {
            s.cancel_all();
        }
        self.collect();
    }

    /// Applies a new configuration in place: a part whose configuration is unchanged keeps
    /// every bit of its state (grants, servo, statistics); a client whose servers, rates or
    /// send options changed keeps its servo ([`Client::reconfigure`]); a server whose client
    /// ACL or DSCP changed keeps the grants still permitted; any other change cancels that
    /// part's grants on the wire and starts it afresh (from `seed`); a removed part cancels its
    /// grants and goes.
    /// Returns whether anything changed.
    pub fn reconfigure(
        &mut self,
        now: Instant,
        client: Option<ClientConfig>,
        server: Option<ServerConfig>,
        seed: u64,
    ) -> bool {
        let mut changed = false;
        if self.client.as_ref().map(Client::config) != client.as_ref() {
            changed = true;
            let kept = match (self.client.as_mut(), client.clone()) {
                (Some(c), Some(cfg)) => c.reconfigure(now, cfg),
                _ => false,
            };
            if !kept {
                if let Some(c) = self.client.as_mut() {
                    c.cancel_all();
                }
                self.collect();
                self.client = client.map(|c| Client::new(c, now, seed));
                self.ever_locked = false;
                self.upstream_lost_at = None;
            }
        }
        if self.server.as_ref().map(Server::config) != server.as_ref() {
            changed = true;
            let kept = match (self.server.as_mut(), server.clone()) {
                (Some(s), Some(cfg)) => s.reconfigure(cfg),
                _ => false,
            };
            if !kept {
                if let Some(s) = self.server.as_mut() {
                    s.cancel_all();
                }
                self.collect();
                self.server = server.map(Server::new);
                self.own = self.server.as_ref().map(|s| *s.properties());
            }
        }
        self.collect();
        changed
    }

    fn collect(&mut self) {
        if let Some(c) = self.client.as_mut() {
            while let Some(o) = c.poll_output() {
                self.out.push_back(o);
            }
        }
        if let Some(s) = self.server.as_mut() {
            while let Some(o) = s.poll_output() {
                self.out.push_back(o);
            }
        }
    }

    /// A server-and-client forwards its upstream grandmaster's data one step further once it is
    /// locked to it; when the upstream is lost it advertises holdover (clock class 7) for
    /// [`HOLDOVER_ADVERTISED`], then its own default. Before its first lock it advertises its own
    /// default.
    fn forward_upstream(&mut self, now: Instant) {
        if let (true, Some(server), Some(own)) = (self.follows_ntp, &mut self.server, self.own) {
            // The clock follows NTP: that is the time source served, one step from it. The
            // class stays the default (248): no PTP class says "synchronized by NTP".
            let free = TimeProperties::free_running(own.grandmaster_identity);
            server.set_properties(TimeProperties {
                time_source: TimeSource::NTP,
                flags: free.flags | Flags::TIME_TRACEABLE,
                ..free
            });
            return;
        }
        let (Some(client), Some(server), Some(own)) = (&self.client, &mut self.server, self.own)
        else {
            return;
        };
        let locked = client.servo_state() == ServoState::Locked;
        let props = match client.upstream().filter(|_| locked) {
            Some((a, flags)) => {
                self.upstream_lost_at = None;
                self.ever_locked = true;
                TimeProperties {
                    clock_quality: a.clock_quality,
                    priority1: a.priority1,
                    priority2: a.priority2,
                    grandmaster_identity: a.grandmaster_identity,
                    steps_removed: a.steps_removed.saturating_add(1),
                    time_source: a.time_source,
                    current_utc_offset: a.current_utc_offset,
                    // The upstream's timescale and traceability, with its UTC offset.
                    flags,
                }
            }
            // Still locking to a live upstream: keep advertising what we had.
            None if client.upstream().is_some() && !self.ever_locked => own,
            None if client.upstream().is_some() && self.upstream_lost_at.is_none() => {
                *server.properties()
            }
            None if self.ever_locked => {
                let lost = *self.upstream_lost_at.get_or_insert(now);
                if now.duration_since(lost) < HOLDOVER_ADVERTISED {
                    TimeProperties {
                        clock_quality: ClockQuality {
                            clock_class: HOLDOVER_CLASS,
                            ..server.properties().clock_quality
                        },
                        ..*server.properties()
                    }
                } else {
                    own
                }
            }
            None => own,
        };
        server.set_properties(props);
    }
}

/// Whether a message goes to the client part (it comes from a server) or the server part.
fn for_client(msg: &Message, from_configured_server: bool) -> bool {
    match &msg.body {
        Body::Announce(_) | Body::Sync { .. } | Body::FollowUp { .. } | Body::DelayResp { .. } => {
            true
        }
        Body::DelayReq { .. } => false,
        Body::Signaling(s) => {
            from_configured_server
                && s.tlvs
                    .iter()
                    .all(|t| !matches!(t, SignalingTlv::Request(_)))
        }
    }
}

impl Engine for PtpNode {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        match input {
            Input::Datagram(d) => match Message::parse(d.bytes) {
                Ok(msg) => {
                    let from_server = self
                        .client
                        .as_ref()
                        .is_some_and(|c| c.servers().iter().any(|s| s.addr == *d.from.ip()));
                    if for_client(&msg, from_server) {
                        if let Some(c) = self.client.as_mut() {
                            c.handle_message(now, d.from, &msg, d.rx_timestamp);
                        }
                    } else if let Some(s) = self.server.as_mut() {
                        s.handle_message(now, d.from, &msg, d.rx_timestamp);
                    }
                }
                Err(ParseError::NotHandled(_)) => self.parse_drops.not_handled += 1,
                Err(_) => self.parse_drops.malformed += 1,
            },
            Input::TxTimestamp { token, timestamp } => {
                if token.0 & SERVER_TOKEN_BIT != 0 {
                    if let Some(s) = self.server.as_mut() {
                        s.handle_tx_timestamp(token, timestamp);
                    }
                } else if let Some(c) = self.client.as_mut() {
                    c.handle_tx_timestamp(token, timestamp);
                }
            }
            // PTP never asks for a late NTP stamp.
            Input::TransmitStamped { .. } => {}
            Input::Timeout => {
                if let Some(c) = self.client.as_mut()
                    && c.poll_timeout().is_some_and(|t| t <= now.instant)
                {
                    c.handle_timeout(now);
                }
                if let Some(s) = self.server.as_mut()
                    && s.poll_timeout().is_some_and(|t| t <= now.instant)
                {
                    s.handle_timeout(now);
                }
            }
        }
        self.forward_upstream(now.instant);
        self.collect();
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let c = self.client.as_ref().and_then(Client::poll_timeout);
        let s = self.server.as_ref().and_then(Server::poll_timeout);
        c.into_iter().chain(s).min()
    }
}
