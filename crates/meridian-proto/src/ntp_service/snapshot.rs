//! What `display ntp-service status | sessions [verbose] | trace` print, gathered from the
//! engine.

use std::net::Ipv4Addr;

use super::association::{Association, FilterSample};
use super::config::AssociationKind;
use super::discipline::DisciplineState;
use super::{NtpNode, Reference};
use crate::engine::Instant;
use crate::ntp::{LeapIndicator, ReferenceId};
use crate::time::NtpTimestamp;

/// `display ntp-service status`.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// Clock status.
    pub synchronized: bool,
    /// Stratum (16 when unsynchronized).
    pub stratum: u8,
    /// Reference: peer address, LOCAL(u), or none.
    pub reference: Reference,
    /// Nominal frequency, Hz.
    pub nominal_frequency_hz: f64,
    /// Actual frequency, Hz (nominal corrected by the discipline).
    pub actual_frequency_hz: f64,
    /// Precision, log2 s.
    pub precision: i8,
    /// Clock offset, s.
    pub offset: f64,
    /// Root delay, s.
    pub root_delay: f64,
    /// Root dispersion, s.
    pub root_dispersion: f64,
    /// Peer dispersion, s.
    pub peer_dispersion: f64,
    /// Reference time.
    pub reftime: NtpTimestamp,
    /// Synchronization state.
    pub state: SyncState,
}

/// The synchronization state line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// Not synchronized.
    Unsynchronized,
    /// Synchronized.
    Synchronized,
    /// A spike is being waited out.
    Spike,
}

/// Status flags of an association, as `display ntp-service sessions` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionFlags {
    /// Configured (not dynamic).
    pub configured: bool,
    /// The system peer ("master").
    pub master: bool,
    /// Survived selection.
    pub selected: bool,
    /// Candidate for selection.
    pub candidate: bool,
    /// Sane (passes sanity tests: reachable, synchronized, no loop).
    pub sane: bool,
    /// Valid (has a filter output).
    pub valid: bool,
    /// Out of selection after an error on the connection (`preempt`).
    pub preempted: bool,
}

/// One line of `display ntp-service sessions [verbose]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// Remote address.
    pub source: Ipv4Addr,
    /// Remote stratum.
    pub stratum: u8,
    /// Flags.
    pub flags: SessionFlags,
    /// The remote's reference ID.
    pub refid: ReferenceId,
    /// Reachability register.
    pub reach: u8,
    /// Poll, seconds.
    pub poll_s: u32,
    /// Seconds since the last packet.
    pub now_s: Option<u64>,
    /// Offset, s (the remote's clock minus ours).
    pub offset: f64,
    /// Delay, s.
    pub delay: f64,
    /// Dispersion, s.
    pub dispersion: f64,
    /// Local mode.
    pub local_mode: AssociationKind,
    /// The remote's leap indicator.
    pub leap: LeapIndicator,
    /// The 8-stage filter, newest first.
    pub filter: Vec<FilterSample>,
    /// Interleaved client mode: samples taken with the server's real transmit timestamp
    /// (`None` when the mode is not configured).
    pub interleaved: Option<u64>,
}

impl NtpNode {
    /// The status snapshot.
    #[must_use]
    pub fn status(&self) -> Status {
        let d = self.discipline();
        let sys = &self.advertised();
        let peer = sys.peer.and_then(|i| self.associations().get(i));
        let nominal = self.config().nominal_frequency_hz;
        Status {
            synchronized: self.synchronized(),
            stratum: sys.stratum,
            reference: sys.reference,
            nominal_frequency_hz: nominal,
            actual_frequency_hz: nominal * (1.0 + d.applied_ppb * 1e-9),
            precision: super::PRECISION,
            offset: sys.offset,
            root_delay: sys.root_delay,
            root_dispersion: sys.root_dispersion,
            peer_dispersion: peer.map_or(0.0, |a| a.dispersion),
            reftime: sys.reftime,
            state: match (self.synchronized(), d.state) {
                (false, _) => SyncState::Unsynchronized,
                (true, DisciplineState::Spik) => SyncState::Spike,
                (true, _) => SyncState::Synchronized,
            },
        }
    }

    /// The sessions snapshot at `now`.
    #[must_use]
    pub fn sessions(&self, now: Instant) -> Vec<Session> {
        let peer = self.system().peer;
        self.associations()
            .iter()
            .enumerate()
            .map(|(i, a)| session(a, peer == Some(i), now))
            .collect()
    }
}

fn session(a: &Association, master: bool, now: Instant) -> Session {
    let sane =
        a.reachable() && a.stratum < 16 && a.leap != LeapIndicator::Unsynchronized && !a.denied;
    Session {
        source: a.config.address,
        stratum: a.stratum,
        flags: SessionFlags {
            configured: !a.dynamic,
            master,
            selected: master,
            candidate: sane && a.update.is_some() && a.preempted.is_none(),
            sane,
            valid: a.update.is_some(),
            preempted: a.preempted.is_some(),
        },
        refid: a.refid,
        reach: a.reach,
        poll_s: 1u32 << a.poll.clamp(0, 17),
        now_s: a.heard.map(|h| now.duration_since(h).as_secs_f64() as u64),
        offset: a.offset,
        delay: a.delay,
        dispersion: a.dispersion,
        local_mode: a.kind(),
        leap: a.leap,
        filter: a.filter.iter().flatten().copied().collect(),
        interleaved: a.config.interleave.then_some(a.counters.interleaved),
    }
}
