//! Configuration of the unicast PTP engines, in protocol terms. The VRP layer maps the
//! `ptp-adaptive` commands onto these types (ranges and defaults from the vendor's documentation).

use std::net::Ipv4Addr;

use crate::ntp_service::access::Acl;
use crate::ptp::{ClockIdentity, ClockQuality, Flags, LogInterval, TimeSource};
use crate::time::Duration;

/// The telecom profile, which fixes the domain range and default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// No profile: domain 0–255, default 0.
    #[default]
    None,
    /// G.8265.1 frequency profile (ACR): domain 4–23, default 4.
    Frequency,
    /// G.8275.2 time profile (ATR): domain 44–63, default 44.
    Time,
}

impl Profile {
    /// The inclusive domain range.
    #[must_use]
    pub const fn domain_range(self) -> (u8, u8) {
        match self {
            Self::None => (0, 255),
            Self::Frequency => (4, 23),
            Self::Time => (44, 63),
        }
    }

    /// The default domain.
    #[must_use]
    pub const fn default_domain(self) -> u8 {
        self.domain_range().0
    }
}

/// What the client recovers and which messages that takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecoveryMode {
    /// 1588 ATR: time, two-way (Sync and Delay_Req/Delay_Resp).
    #[default]
    Atr,
    /// 1588 ACR one-way: frequency from Sync only.
    AcrOneWay,
    /// 1588 ACR two-way: frequency from both directions, using the less disturbed one.
    AcrTwoWay,
}

impl RecoveryMode {
    /// Whether Delay_Req/Delay_Resp are exchanged.
    #[must_use]
    pub const fn two_way(self) -> bool {
        !matches!(self, Self::AcrOneWay)
    }

    /// Whether the client steers phase (time) rather than only frequency.
    #[must_use]
    pub const fn recovers_time(self) -> bool {
        matches!(self, Self::Atr)
    }
}

/// Converts the vendor's interval encoding (`2^n / 1024` seconds) to a PTP log interval.
#[must_use]
pub const fn vrp_interval_to_log(n: u8) -> LogInterval {
    LogInterval(n as i8 - 10)
}

/// What a server advertises in Announce about its time source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeProperties {
    /// grandmasterClockQuality.
    pub clock_quality: ClockQuality,
    /// grandmasterPriority1.
    pub priority1: u8,
    /// grandmasterPriority2.
    pub priority2: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// stepsRemoved.
    pub steps_removed: u16,
    /// timeSource.
    pub time_source: TimeSource,
    /// currentUtcOffset (TAI − UTC), seconds.
    pub current_utc_offset: i16,
    /// The timescale and traceability flags of the flagField's second byte.
    pub flags: Flags,
}

/// TAI − UTC since 2017-01-01, seconds: what a PTP timescale whose offset is not marked valid
/// is assumed to be ahead of UTC (as linuxptp assumes).
pub const CURRENT_UTC_OFFSET: i16 = 37;

/// How far a PTP timestamp carrying `flags` runs ahead of UTC, the timescale meridian's clocks
/// keep (like the host clock): TAI − UTC on the PTP timescale, nothing on an arbitrary one.
#[must_use]
pub fn timescale_ahead_of_utc(flags: Flags, current_utc_offset: i16) -> Duration {
    if !flags.contains(Flags::PTP_TIMESCALE) {
        return Duration::ZERO;
    }
    let offset = if flags.contains(Flags::UTC_OFFSET_VALID) {
        current_utc_offset
    } else {
        CURRENT_UTC_OFFSET
    };
    Duration::from_secs(i64::from(offset))
}

impl TimeProperties {
    /// How far this clock's PTP timestamps run ahead of its UTC clock.
    #[must_use]
    pub fn ahead_of_utc(&self) -> Duration {
        timescale_ahead_of_utc(self.flags, self.current_utc_offset)
    }

    /// A grandmaster locked to GNSS: clock class 6, PTP timescale, traceable.
    #[must_use]
    pub fn primary(identity: ClockIdentity) -> Self {
        Self {
            clock_quality: ClockQuality {
                clock_class: 6,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4E5D,
            },
            priority1: 128,
            priority2: 128,
            grandmaster_identity: identity,
            steps_removed: 0,
            time_source: TimeSource::GNSS,
            current_utc_offset: 37,
            flags: Flags::PTP_TIMESCALE
                | Flags::UTC_OFFSET_VALID
                | Flags::TIME_TRACEABLE
                | Flags::FREQUENCY_TRACEABLE,
        }
    }

    /// A free-running clock: class 248, internal oscillator, not traceable.
    #[must_use]
    pub fn free_running(identity: ClockIdentity) -> Self {
        Self {
            clock_quality: ClockQuality {
                clock_class: 248,
                clock_accuracy: 0xFE,
                offset_scaled_log_variance: 0xFFFF,
            },
            time_source: TimeSource::INTERNAL_OSCILLATOR,
            flags: Flags::PTP_TIMESCALE,
            ..Self::primary(identity)
        }
    }
}

/// The lowest and highest grant durations a server gives and a client asks for, seconds.
pub const DURATION_RANGE: (u32, u32) = (60, 1000);
/// The default requested duration, seconds.
pub const DEFAULT_DURATION: u32 = 300;
/// The fastest message rate a server grants: 2^-7 s (128 per second).
pub const FASTEST_LOG_INTERVAL: LogInterval = LogInterval(-7);
/// The slowest message rate either side accepts in a grant: 2^7 s (one per 128 s).
pub const SLOWEST_LOG_INTERVAL: LogInterval = LogInterval(7);

/// Configuration of a unicast server.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerConfig {
    /// The local address it serves from.
    pub local: Ipv4Addr,
    /// Its clock and port identity.
    pub identity: ClockIdentity,
    /// The PTP domain.
    pub domain: u8,
    /// Which negotiation it accepts (one-way ACR refuses Delay_Resp).
    pub mode: RecoveryMode,
    /// DSCP of every packet.
    pub dscp: u8,
    /// How many clients it serves at once (the vendor's client IDs are 0–511).
    pub capacity: usize,
    /// Two-step (Sync then Follow_Up) or one-step Sync.
    pub two_step: bool,
    /// What it advertises when it has no upstream.
    pub properties: TimeProperties,
    /// The clients it grants (an extension, as commercial grandmasters offer): with an ACL, a
    /// REQUEST from an address the ACL does not permit gets no answer at all.
    pub client_acl: Option<Acl>,
}

impl ServerConfig {
    /// Defaults for a server at `local`: capacity 512, two-step, DSCP 56.
    #[must_use]
    pub fn new(local: Ipv4Addr, identity: ClockIdentity, domain: u8) -> Self {
        Self {
            local,
            identity,
            domain,
            mode: RecoveryMode::Atr,
            dscp: 56,
            capacity: 512,
            two_step: true,
            properties: TimeProperties::primary(identity),
            client_acl: None,
        }
    }
}

/// Which servo turns measurements into clock corrections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ServoKind {
    /// Packet selection over windows feeding phase and frequency estimation (the default).
    #[default]
    Selection,
    /// A plain PI loop on every raw sample, like linuxptp's: the baseline to compare with.
    Pi,
}

/// Configuration of a unicast client.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// The local address it negotiates from.
    pub local: Ipv4Addr,
    /// Its clock identity.
    pub identity: ClockIdentity,
    /// remote-server1 and remote-server2.
    pub servers: [Option<Ipv4Addr>; 2],
    /// The PTP domain.
    pub domain: u8,
    /// What it recovers.
    pub mode: RecoveryMode,
    /// DSCP of every packet.
    pub dscp: u8,
    /// Requested Announce interval.
    pub announce_interval: LogInterval,
    /// Requested Sync interval.
    pub sync_interval: LogInterval,
    /// Requested Delay_Resp interval (which sets the Delay_Req rate).
    pub delay_resp_interval: LogInterval,
    /// Requested grant durations for Announce, Sync and Delay_Resp, seconds.
    pub durations: [u32; 3],
    /// Announce intervals without Announce before a server is declared failed.
    pub receipt_timeout: u8,
    /// Per-server static asymmetry: how much longer the server→client path is than the way back.
    pub asymmetry: [Duration; 2],
    /// How long a preferred server must stay healthy before the client returns to it.
    pub wait_to_restore: Duration,
    /// The servo.
    pub servo: ServoKind,
    /// An initial offset above this is stepped; below it, slewed.
    pub step_threshold: Duration,
    /// Lightweight synchronization (`ptp lite-sync sub-ms enable`): no PTSF alarms (a failed
    /// server is still left). The servo keeps its own budget: a looser one only made it
    /// declare lock before it knew the frequency.
    pub lite_sync: bool,
}

impl ClientConfig {
    /// The vendor's defaults: announce 2 s (VRP 11), sync 1/8 s (VRP 7), delay-resp 1/128 s
    /// (VRP 3), durations 300 s, receipt timeout 3, DSCP 56; wait-to-restore 300 s (G.781's
    /// default), step threshold 1 ms.
    #[must_use]
    pub fn new(local: Ipv4Addr, identity: ClockIdentity, server1: Ipv4Addr, domain: u8) -> Self {
        Self {
            local,
            identity,
            servers: [Some(server1), None],
            domain,
            mode: RecoveryMode::Atr,
            dscp: 56,
            announce_interval: vrp_interval_to_log(11),
            sync_interval: vrp_interval_to_log(7),
            delay_resp_interval: vrp_interval_to_log(3),
            durations: [DEFAULT_DURATION; 3],
            receipt_timeout: 3,
            asymmetry: [Duration::ZERO; 2],
            wait_to_restore: Duration::from_secs(300),
            servo: ServoKind::Selection,
            step_threshold: Duration::from_millis(1),
            lite_sync: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrp_interval_encoding() {
        // 2^n / 1024 s: 11 → 2 s, 7 → 1/8 s, 3 → 1/128 s.
        assert_eq!(vrp_interval_to_log(11), LogInterval(1));
        assert_eq!(vrp_interval_to_log(7), LogInterval(-3));
        assert_eq!(vrp_interval_to_log(3), LogInterval(-7));
        assert_eq!(Profile::Time.default_domain(), 44);
        assert_eq!(Profile::Frequency.domain_range(), (4, 23));
    }
}
