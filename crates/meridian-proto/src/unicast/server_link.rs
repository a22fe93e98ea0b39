//! What the unicast client knows of each configured server: negotiation, the latest Announce,
//! health, counters and delay statistics; and what it drops.

use std::net::Ipv4Addr;

use super::config::timescale_ahead_of_utc;
use super::negotiation::Negotiation;
use super::server::MessageCounters;
use crate::engine::Instant;
use crate::ptp::{Announce, Flags, LogInterval, PortIdentity};
use crate::time::{Duration, PtpTimestamp};

/// Realtime, maximum and minimum of a delay measurement (T2−T1 or T4−T3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DelayStats {
    /// The latest value.
    pub realtime: Option<Duration>,
    /// The largest value.
    pub max: Option<Duration>,
    /// The smallest value.
    pub min: Option<Duration>,
}

impl DelayStats {
    pub(super) fn record(&mut self, d: Duration) {
        self.realtime = Some(d);
        self.max = Some(self.max.map_or(d, |m| m.max(d)));
        self.min = Some(self.min.map_or(d, |m| m.min(d)));
    }
}

/// The client's view of one configured server.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerLink {
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its port identity, once known (from a GRANT or an Announce).
    pub identity: Option<PortIdentity>,
    /// Negotiation of Announce, Sync and Delay_Resp, indexed by [`super::GrantedType`].
    pub negotiations: [Negotiation; 3],
    /// Its last Announce.
    pub announce: Option<Announce>,
    /// When that Announce arrived.
    pub last_announce: Option<Instant>,
    /// The timescale and traceability flags of that Announce (its header's second byte).
    pub time_flags: Flags,
    /// When the last Sync arrived.
    pub last_sync: Option<Instant>,
    /// Since when it has been continuously usable.
    pub healthy_since: Option<Instant>,
    /// Packet timing signal fail: declared lost for missing Announce or Sync.
    pub ptsf: bool,
    /// It failed and must stay healthy for the wait-to-restore time before it is preferred
    /// again.
    pub restoring: bool,
    /// Counters for Announce, Sync (with Follow_Up) and Delay_Resp (with Delay_Req).
    pub counters: [MessageCounters; 3],
    /// Signaling exchanged.
    pub signaling: MessageCounters,
    /// T2 − T1.
    pub t21: DelayStats,
    /// T4 − T3.
    pub t43: DelayStats,
    /// When Sync service was granted (Sync timeout runs from here until the first Sync).
    pub(super) sync_granted_at: Option<Instant>,
    /// The Announce interval last granted: the receipt timeout keeps using it after the grant
    /// lapses, so a lapse cannot move the failure deadline into the past.
    pub(super) announce_interval: Option<LogInterval>,
}

impl ServerLink {
    pub(super) fn new(addr: Ipv4Addr) -> Self {
        Self {
            addr,
            identity: None,
            negotiations: [Negotiation::Idle; 3],
            announce: None,
            last_announce: None,
            time_flags: Flags(0),
            last_sync: None,
            healthy_since: None,
            ptsf: false,
            restoring: false,
            counters: [MessageCounters::default(); 3],
            signaling: MessageCounters::default(),
            t21: DelayStats::default(),
            t43: DelayStats::default(),
            sync_granted_at: None,
            announce_interval: None,
        }
    }

    /// How far its timestamps run ahead of UTC (TAI − UTC on the PTP timescale): taken off
    /// T1 and T4 so the client's clock keeps UTC.
    #[must_use]
    pub fn ahead_of_utc(&self) -> Duration {
        self.announce.map_or(Duration::ZERO, |a| {
            timescale_ahead_of_utc(self.time_flags, a.current_utc_offset)
        })
    }

    /// Usable for selection: a fresh Announce and no PTSF.
    #[must_use]
    pub fn usable(&self) -> bool {
        self.healthy_since.is_some() && !self.ptsf
    }

    /// The selection key: better clock quality first, then configuration order.
    pub(super) fn rank(&self, index: usize) -> (u8, u8, u16, usize) {
        let q = self.announce.map(|a| a.clock_quality).unwrap_or_default();
        (
            q.clock_class,
            q.clock_accuracy,
            q.offset_scaled_log_variance,
            index,
        )
    }
}

/// Messages the client dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientDrops {
    /// Another domain.
    pub wrong_domain: u64,
    /// From an address that is not a configured server.
    pub unknown_source: u64,
    /// Sync or Follow_Up from a server other than the selected one.
    pub not_selected: u64,
    /// Follow_Up or Delay_Resp matching nothing outstanding.
    pub unmatched: u64,
    /// A timestamp beyond [`LATEST_PLAUSIBLE_SECONDS`]: nothing real is there, and following it
    /// would step the clock (and what it serves over NTP) past every era a peer can read.
    pub implausible: u64,
}

/// The latest time a server's timestamp may name, seconds since 1970 (2200-01-01). Earlier
/// times are all possible (an arbitrary timescale starts at the epoch).
pub const LATEST_PLAUSIBLE_SECONDS: u64 = 7_258_118_400;

pub(super) fn plausible(t: PtpTimestamp) -> bool {
    t.seconds() < LATEST_PLAUSIBLE_SECONDS
}
