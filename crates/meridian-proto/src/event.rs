//! What a device's engines report as it happens: typed events, found by comparing a typed
//! observation of the engines before and after each input. Drivers log them, the lab reports
//! them; nobody polls state or parses display text to find out what changed.

use std::net::Ipv4Addr;

use crate::ntp_service::discipline::{DisciplineState, FsetFit};
use crate::ntp_service::{NtpNode, Reference};
use crate::servo::ServoState;
use crate::unicast::negotiation::Negotiation;
use crate::unicast::{GrantedType, PtpNode};

/// A server's negotiation as a whole, in the vendor's four states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegotiationState {
    /// Nothing asked yet (or asked, no answer yet).
    Init,
    /// Announce granted, Sync not (yet).
    Announce,
    /// Announce and Sync granted.
    Success,
    /// Asked and refused or unanswered, retrying.
    Fail,
}

impl NegotiationState {
    /// The state of a server's three negotiations (Announce, Sync, Delay_Resp).
    #[must_use]
    pub fn of(n: &[Negotiation; 3]) -> Self {
        match n[GrantedType::Announce as usize] {
            Negotiation::Granted { .. } if n[GrantedType::Sync as usize].is_granted() => {
                Self::Success
            }
            Negotiation::Granted { .. } => Self::Announce,
            Negotiation::Requesting { attempts, .. } if attempts > 0 => Self::Fail,
            _ => Self::Init,
        }
    }
}

/// What happened to one negotiated service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantChange {
    /// Granted (first grant, or again after a lapse).
    Granted,
    /// The grant ended (lapsed, cancelled, or given up).
    Ended,
    /// Asked again without a grant: the server refused or did not answer.
    Retry,
}

/// An event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// NTP: the system reference changed: a peer, the local clock, or none.
    NtpReference {
        /// Whether the service is synchronized.
        synchronized: bool,
        /// To what.
        reference: Reference,
        /// The stratum it now serves.
        stratum: u8,
    },
    /// NTP: the clock discipline entered `state`.
    NtpDiscipline {
        /// The new state.
        state: DisciplineState,
        /// The frequency correction in force, ppb.
        frequency_ppb: f64,
    },
    /// NTP: a new fit of the frequency measurement.
    NtpFrequencyMeasured(FsetFit),
    /// PTP client: the server tracked changed (`None`: no usable server).
    PtpTracking {
        /// The server's index (server1 is 0) and address.
        server: Option<(usize, Ipv4Addr)>,
    },
    /// PTP client: the servo entered `state`.
    PtpServo(ServoState),
    /// PTP client: a server's negotiation as a whole changed.
    PtpNegotiation {
        /// The server's index (server1 is 0).
        server: usize,
        /// Its address.
        addr: Ipv4Addr,
        /// The new state.
        state: NegotiationState,
    },
    /// PTP client: one negotiated service changed.
    PtpGrant {
        /// The server's index (server1 is 0).
        server: usize,
        /// Which service.
        kind: GrantedType,
        /// What happened.
        change: GrantChange,
    },
    /// PTP server: requests refused for lack of a free client slot since the last such event.
    PtpRefused {
        /// How many.
        count: u64,
    },
    /// The device clock's selection chose another source.
    ClockSource(crate::clock_select::Source),
}

/// One server as the client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ServerView {
    addr: Ipv4Addr,
    state: NegotiationState,
    /// Per service: granted, and requests sent without a grant so far.
    grants: [(bool, u32); 3],
}

/// A typed observation of a device's engines: what events are differences of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    ntp: Option<(bool, Reference, u8)>,
    discipline: Option<(DisciplineState, f64)>,
    fset: Option<FsetFit>,
    tracking: Option<Option<(usize, Ipv4Addr)>>,
    servo: Option<ServoState>,
    /// At most two configured servers: a fixed array keeps this per-input observation free of
    /// allocation (it runs after every packet).
    servers: [Option<ServerView>; 2],
    refused: u64,
}

impl Observation {
    /// Observes the engines of a device.
    #[must_use]
    pub fn of(ntp: Option<&NtpNode>, ptp: Option<&PtpNode>) -> Self {
        let client = ptp.and_then(PtpNode::client);
        Self {
            ntp: ntp.map(|n| {
                let s = n.system();
                (n.synchronized(), s.reference, s.stratum)
            }),
            discipline: ntp.map(|n| (n.discipline().state, n.discipline().frequency_ppb)),
            fset: ntp.and_then(|n| n.discipline().fset_fit),
            tracking: client.map(|c| c.selected().map(|i| (i, c.servers()[i].addr))),
            servo: client.map(crate::unicast::Client::servo_state),
            servers: client.map_or([None; 2], |c| {
                let view = |s: &crate::unicast::client::ServerLink| ServerView {
                    addr: s.addr,
                    state: NegotiationState::of(&s.negotiations),
                    grants: s.negotiations.map(|n| match n {
                        Negotiation::Granted { .. } => (true, 0),
                        Negotiation::Requesting { attempts, .. } => (false, attempts),
                        Negotiation::Idle => (false, 0),
                    }),
                };
                [0, 1].map(|i| c.servers().get(i).map(view))
            }),
            refused: ptp
                .and_then(PtpNode::server)
                .map_or(0, |s| s.refused_capacity),
        }
    }

    /// The events that lead from `before` to `self`, in a fixed order.
    pub fn changes_since(&self, before: &Self, out: &mut impl Extend<Event>) {
        if self.ntp != before.ntp
            && let Some((synchronized, reference, stratum)) = self.ntp
        {
            out.extend([Event::NtpReference {
                synchronized,
                reference,
                stratum,
            }]);
        }
        if self.discipline.map(|d| d.0) != before.discipline.map(|d| d.0)
            && let Some((state, frequency_ppb)) = self.discipline
        {
            out.extend([Event::NtpDiscipline {
                state,
                frequency_ppb,
            }]);
        }
        if self.fset != before.fset
            && let Some(f) = self.fset
        {
            out.extend([Event::NtpFrequencyMeasured(f)]);
        }
        if self.tracking != before.tracking
            && let Some(server) = self.tracking
        {
            out.extend([Event::PtpTracking { server }]);
        }
        if self.servo != before.servo
            && let Some(s) = self.servo
        {
            out.extend([Event::PtpServo(s)]);
        }
        for (i, s) in self.servers.iter().enumerate() {
            let Some(s) = s else { continue };
            let was = before.servers[i].as_ref().filter(|w| w.addr == s.addr);
            for kind in GrantedType::ALL {
                let (granted, attempts) = s.grants[kind as usize];
                let (was_granted, was_attempts) =
                    was.map_or((false, 0), |w| w.grants[kind as usize]);
                let change = match (was_granted, granted) {
                    (false, true) => Some(GrantChange::Granted),
                    (true, false) => Some(GrantChange::Ended),
                    (false, false) if attempts > was_attempts && attempts > 1 => {
                        Some(GrantChange::Retry)
                    }
                    _ => None,
                };
                if let Some(change) = change {
                    out.extend([Event::PtpGrant {
                        server: i,
                        kind,
                        change,
                    }]);
                }
            }
            if was.map(|w| w.state) != Some(s.state) {
                out.extend([Event::PtpNegotiation {
                    server: i,
                    addr: s.addr,
                    state: s.state,
                }]);
            }
        }
        if self.refused > before.refused {
            out.extend([Event::PtpRefused {
                count: self.refused - before.refused,
            }]);
        }
    }
}
