//! Configuration of the NTP service, in protocol terms (the VRP layer maps `ntp-service` commands
//! onto it; ranges and defaults are the vendor's).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::access::AccessControl;
use super::auth::Key;
use crate::time::Duration;

/// An association this host starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociationConfig {
    /// The remote address.
    pub address: Ipv4Addr,
    /// The remote port.
    pub port: u16,
    /// Client (`unicast-server`) or symmetric active (`unicast-peer`).
    pub kind: AssociationKind,
    /// NTP version sent (1–4, default 3).
    pub version: u8,
    /// Shortest poll, log2 s (default 6).
    pub minpoll: i8,
    /// Longest poll, log2 s (10–17, default 10).
    pub maxpoll: i8,
    /// Eight packets 2 s apart at each poll.
    pub burst: bool,
    /// Eight packets 2 s apart while unreachable (start-up).
    pub iburst: bool,
    /// Preferred in the combine step.
    pub prefer: bool,
    /// Interleaved client mode (RFC 9769): each request names the server's previous reply, and
    /// the answer carries that reply's real transmit timestamp (meridian's `interleave`).
    pub interleave: bool,
    /// Preemption mode (`preempt`): an error on the connection (a reply to our request that
    /// fails authentication) takes the server out of selection until no other server is
    /// available and its replies since were clean.
    pub preempt: bool,
    /// Sign with this key.
    pub key: Option<u32>,
    /// Local address to send from (`source-interface`).
    pub source: Option<Ipv4Addr>,
    /// The VRF the association's packets use (`vpn-instance`); the daemon binds to it, the
    /// engine carries it.
    pub vpn_instance: Option<String>,
}

impl AssociationConfig {
    /// A client association with the vendor's defaults (version 3, minpoll 6, maxpoll 10).
    #[must_use]
    pub fn server(address: Ipv4Addr) -> Self {
        Self {
            address,
            port: crate::ntp::PORT,
            kind: AssociationKind::Client,
            version: 3,
            minpoll: 6,
            maxpoll: 10,
            burst: false,
            iburst: false,
            prefer: false,
            interleave: false,
            preempt: false,
            key: None,
            source: None,
            vpn_instance: None,
        }
    }

    /// A symmetric active association with the same defaults.
    #[must_use]
    pub fn peer(address: Ipv4Addr) -> Self {
        Self {
            kind: AssociationKind::SymmetricActive,
            ..Self::server(address)
        }
    }
}

/// What kind of association.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AssociationKind {
    /// Mode 3: we poll a server.
    Client,
    /// Mode 1: we peer actively.
    SymmetricActive,
    /// Mode 2: created on demand for a remote active peer.
    SymmetricPassive,
}

/// The local reference clock (`refclock-master [127.127.1.u] [stratum]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefClock {
    /// Unit number u (0–3): shown as LOCAL(u).
    pub unit: u8,
    /// Stratum, 1–15 (default 8).
    pub stratum: u8,
}

/// Limits of the clock discipline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisciplineLimits {
    /// Offsets above this are stepped rather than slewed (0.128 s).
    pub step_threshold: Duration,
    /// How long an offset above the step threshold must persist before it is stepped (900 s).
    pub stepout: Duration,
    /// Offsets above this are never corrected (1000 s).
    pub panic_threshold: Duration,
    /// At the first update (clock never set), offsets above this are stepped (1 ms), as
    /// chrony's `makestep` and ntpd's `-g` do at start.
    pub initial_step: Duration,
}

impl Default for DisciplineLimits {
    fn default() -> Self {
        Self {
            step_threshold: Duration::from_millis(128),
            stepout: Duration::from_secs(900),
            panic_threshold: Duration::from_secs(1000),
            initial_step: Duration::from_millis(1),
        }
    }
}

/// The whole NTP service of one device.
#[derive(Clone, Debug, PartialEq)]
pub struct NtpConfig {
    /// Addresses the server answers on (`server source-interface`); empty: the server is off.
    pub serve_on: BTreeSet<Ipv4Addr>,
    /// The default local address for associations (`source-interface`).
    pub source: Ipv4Addr,
    /// Configured associations.
    pub associations: Vec<AssociationConfig>,
    /// The local reference clock.
    pub refclock: Option<RefClock>,
    /// `authentication enable`.
    pub authentication: bool,
    /// `authentication-keyid` keys.
    pub keys: BTreeMap<u32, Key>,
    /// `reliable authentication-keyid`.
    pub trusted: BTreeSet<u32>,
    /// Access control and rate limiting.
    pub access: AccessControl,
    /// `max-dynamic-sessions` (0–100, default 100).
    pub max_dynamic_sessions: usize,
    /// `max-distance` (1–16 s, default 1 s).
    pub max_distance: Duration,
    /// The discipline's limits.
    pub limits: DisciplineLimits,
    /// The clock's nominal frequency as displayed (the vendor's 64.0029 Hz).
    pub nominal_frequency_hz: f64,
}

impl NtpConfig {
    /// The shortest poll of any association, log2 s (6 with none): where the discipline starts.
    #[must_use]
    pub fn min_poll(&self) -> i8 {
        self.associations
            .iter()
            .map(|a| a.minpoll)
            .min()
            .unwrap_or(6)
    }
}

/// All associations together may not exceed this many.
pub const MAX_ASSOCIATIONS: usize = 128;

impl NtpConfig {
    /// A service sending from `source` with nothing configured.
    #[must_use]
    pub fn new(source: Ipv4Addr) -> Self {
        Self {
            serve_on: BTreeSet::new(),
            source,
            associations: Vec::new(),
            refclock: None,
            authentication: false,
            keys: BTreeMap::new(),
            trusted: BTreeSet::new(),
            access: AccessControl::default(),
            max_dynamic_sessions: 100,
            max_distance: Duration::SECOND,
            limits: DisciplineLimits::default(),
            nominal_frequency_hz: 64.0029,
        }
    }
}
