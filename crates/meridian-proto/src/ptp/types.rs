//! The small value types PTP messages are built from.

use core::fmt;

use crate::time::Duration;

/// The messageType nibble.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// Sync (event).
    Sync,
    /// Delay_Req (event).
    DelayReq,
    /// Pdelay_Req (event; peer delay, recognised and skipped).
    PdelayReq,
    /// Pdelay_Resp (event; peer delay, recognised and skipped).
    PdelayResp,
    /// Follow_Up (general).
    FollowUp,
    /// Delay_Resp (general).
    DelayResp,
    /// Pdelay_Resp_Follow_Up (general; recognised and skipped).
    PdelayRespFollowUp,
    /// Announce (general).
    Announce,
    /// Signaling (general).
    Signaling,
    /// Management (general; recognised and skipped).
    Management,
}

impl MessageType {
    /// The 4-bit wire value.
    #[must_use]
    pub const fn nibble(self) -> u8 {
        match self {
            Self::Sync => 0x0,
            Self::DelayReq => 0x1,
            Self::PdelayReq => 0x2,
            Self::PdelayResp => 0x3,
            Self::FollowUp => 0x8,
            Self::DelayResp => 0x9,
            Self::PdelayRespFollowUp => 0xA,
            Self::Announce => 0xB,
            Self::Signaling => 0xC,
            Self::Management => 0xD,
        }
    }

    /// The type for a 4-bit wire value, `None` for reserved values.
    #[must_use]
    pub const fn from_nibble(v: u8) -> Option<Self> {
        Some(match v {
            0x0 => Self::Sync,
            0x1 => Self::DelayReq,
            0x2 => Self::PdelayReq,
            0x3 => Self::PdelayResp,
            0x8 => Self::FollowUp,
            0x9 => Self::DelayResp,
            0xA => Self::PdelayRespFollowUp,
            0xB => Self::Announce,
            0xC => Self::Signaling,
            0xD => Self::Management,
            _ => return None,
        })
    }

    /// Event messages are timestamped and travel on port 319.
    #[must_use]
    pub const fn is_event(self) -> bool {
        matches!(
            self,
            Self::Sync | Self::DelayReq | Self::PdelayReq | Self::PdelayResp
        )
    }

    /// The deprecated controlField value still sent for compatibility with PTPv1 hardware.
    #[must_use]
    pub const fn control_field(self) -> u8 {
        match self {
            Self::Sync => 0,
            Self::DelayReq => 1,
            Self::FollowUp => 2,
            Self::DelayResp => 3,
            Self::Management => 4,
            _ => 5,
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sync => "Sync",
            Self::DelayReq => "Delay_Req",
            Self::PdelayReq => "Pdelay_Req",
            Self::PdelayResp => "Pdelay_Resp",
            Self::FollowUp => "Follow_Up",
            Self::DelayResp => "Delay_Resp",
            Self::PdelayRespFollowUp => "Pdelay_Resp_Follow_Up",
            Self::Announce => "Announce",
            Self::Signaling => "Signaling",
            Self::Management => "Management",
        })
    }
}

/// An 8-byte clockIdentity (usually an EUI-64).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockIdentity(pub [u8; 8]);

impl ClockIdentity {
    /// All ones: matches any clock in a target port identity.
    pub const WILDCARD: Self = Self([0xFF; 8]);

    /// The EUI-64 built from a 48-bit MAC address by inserting `FF:FE` in the middle.
    #[must_use]
    pub const fn from_mac(mac: [u8; 6]) -> Self {
        Self([mac[0], mac[1], mac[2], 0xFF, 0xFE, mac[3], mac[4], mac[5]])
    }
}

impl fmt::Display for ClockIdentity {
    /// The form linuxptp and Wireshark print: `001122.fffe.334455`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}.{:02x}{:02x}.{:02x}{:02x}{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
        )
    }
}

/// A portIdentity: clock identity plus port number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortIdentity {
    /// The clock the port belongs to.
    pub clock_identity: ClockIdentity,
    /// The port number, 1-based; 0xFFFF in a wildcard.
    pub port_number: u16,
}

impl PortIdentity {
    /// All ones: the target of a first unicast request, before the server's identity is known.
    pub const WILDCARD: Self = Self {
        clock_identity: ClockIdentity::WILDCARD,
        port_number: 0xFFFF,
    };

    /// Whether `self`, used as a target, addresses `port` (wildcards match anything).
    #[must_use]
    pub fn matches(self, port: PortIdentity) -> bool {
        (self.clock_identity == ClockIdentity::WILDCARD
            || self.clock_identity == port.clock_identity)
            && (self.port_number == 0xFFFF || self.port_number == port.port_number)
    }
}

impl fmt::Display for PortIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.clock_identity, self.port_number)
    }
}

/// A 16-bit sequenceId with wrapping (serial-number) comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SequenceId(pub u16);

impl SequenceId {
    /// The next id, wrapping from 65535 to 0.
    #[must_use]
    pub const fn next(self) -> Self {
        Self(self.0.wrapping_add(1))
    }

    /// Whether `self` comes after `other`, treating ids less than half the space apart as ordered.
    #[must_use]
    pub const fn is_after(self, other: Self) -> bool {
        let d = self.0.wrapping_sub(other.0);
        d != 0 && d < 0x8000
    }
}

/// A log2 message interval in seconds, as in logMessageInterval and logInterMessagePeriod.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogInterval(pub i8);

impl LogInterval {
    /// The value sent in logMessageInterval where no interval applies (unicast messages).
    pub const UNSPECIFIED: Self = Self(0x7F);

    /// The interval as a duration, `None` for [`Self::UNSPECIFIED`].
    #[must_use]
    pub const fn to_duration(self) -> Option<Duration> {
        if self.0 == 0x7F {
            None
        } else {
            Some(Duration::from_log2_secs(self.0))
        }
    }

    /// Messages per second, e.g. 16 for `-4`.
    #[must_use]
    pub fn rate_per_second(self) -> f64 {
        2f64.powi(-(self.0 as i32))
    }
}

/// The 16-bit flagField. Byte 0 is the high byte on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags(pub u16);

impl Flags {
    /// alternateMasterFlag.
    pub const ALTERNATE_MASTER: Self = Self(0x0100);
    /// twoStepFlag: a Follow_Up carries the precise origin timestamp.
    pub const TWO_STEP: Self = Self(0x0200);
    /// unicastFlag.
    pub const UNICAST: Self = Self(0x0400);
    /// PTP profile specific 1.
    pub const PROFILE_SPECIFIC_1: Self = Self(0x2000);
    /// PTP profile specific 2.
    pub const PROFILE_SPECIFIC_2: Self = Self(0x4000);
    /// leap61.
    pub const LEAP61: Self = Self(0x0001);
    /// leap59.
    pub const LEAP59: Self = Self(0x0002);
    /// currentUtcOffsetValid.
    pub const UTC_OFFSET_VALID: Self = Self(0x0004);
    /// ptpTimescale.
    pub const PTP_TIMESCALE: Self = Self(0x0008);
    /// timeTraceable.
    pub const TIME_TRACEABLE: Self = Self(0x0010);
    /// frequencyTraceable.
    pub const FREQUENCY_TRACEABLE: Self = Self(0x0020);
    /// synchronizationUncertain (2019).
    pub const SYNC_UNCERTAIN: Self = Self(0x0040);

    /// Whether every bit of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The timeSource enumeration of an Announce message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TimeSource(pub u8);

impl TimeSource {
    /// ATOMIC_CLOCK.
    pub const ATOMIC_CLOCK: Self = Self(0x10);
    /// GNSS (GPS in 2008).
    pub const GNSS: Self = Self(0x20);
    /// TERRESTRIAL_RADIO.
    pub const TERRESTRIAL_RADIO: Self = Self(0x30);
    /// PTP.
    pub const PTP: Self = Self(0x40);
    /// NTP.
    pub const NTP: Self = Self(0x50);
    /// HAND_SET.
    pub const HAND_SET: Self = Self(0x60);
    /// OTHER.
    pub const OTHER: Self = Self(0x90);
    /// INTERNAL_OSCILLATOR.
    pub const INTERNAL_OSCILLATOR: Self = Self(0xA0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_ids_wrap() {
        assert!(SequenceId(0).is_after(SequenceId(65535)));
        assert!(!SequenceId(65535).is_after(SequenceId(0)));
        assert!(!SequenceId(7).is_after(SequenceId(7)));
        assert_eq!(SequenceId(65535).next(), SequenceId(0));
    }

    #[test]
    fn every_nibble_round_trips() {
        for v in 0..16u8 {
            if let Some(t) = MessageType::from_nibble(v) {
                assert_eq!(t.nibble(), v);
            }
        }
    }

    #[test]
    fn wildcard_matching() {
        let p = PortIdentity {
            clock_identity: ClockIdentity([1; 8]),
            port_number: 1,
        };
        assert!(PortIdentity::WILDCARD.matches(p));
        assert!(p.matches(p));
        assert!(
            !PortIdentity {
                port_number: 2,
                ..p
            }
            .matches(p)
        );
        assert_eq!(p.clock_identity.to_string(), "010101.0101.010101");
    }
}
