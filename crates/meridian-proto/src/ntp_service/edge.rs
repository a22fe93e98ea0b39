//! The one place where the values an NTP peer controls are bounded, before any association,
//! server or discipline code sees them. `docs/hostile-input.md` tables each field.
//!
//! Timestamps are not bounded here: the on-wire checks (origin echo, duplicates, zero fields)
//! and the era-aware conversion around our own clock decide what they mean.

use crate::ntp::Header;
use crate::time::{Duration, NtpShort};

/// The shortest poll a peer may ask of us or claim, log2 s (8 s; RFC 5905's MINPOLL is 4).
pub const MINPOLL: i8 = 3;
/// The longest poll, log2 s (36.4 h, RFC 5905's MAXPOLL).
pub const MAXPOLL: i8 = 17;
/// The finest precision a clock can claim, log2 s (about 0.2 ns).
pub const FINEST_PRECISION: i8 = -32;
/// Stratum meaning "unsynchronized"; anything above is taken as this.
pub const UNSYNCHRONIZED: u8 = 16;
/// The largest root delay or dispersion taken from a peer, s: RFC 5905's MAXDISP. Anything
/// larger already fails the distance test, so bounding it loses nothing.
const MAX_ROOT: Duration = Duration::from_secs(16);

/// The header with every peer-controlled scalar brought into its range.
#[must_use]
pub fn bounded(h: Header) -> Header {
    let cap = NtpShort::from_duration(MAX_ROOT);
    Header {
        poll: h.poll.clamp(MINPOLL, MAXPOLL),
        precision: h.precision.clamp(FINEST_PRECISION, 0),
        stratum: h.stratum.min(UNSYNCHRONIZED),
        root_delay: NtpShort(h.root_delay.0.min(cap.0)),
        root_dispersion: NtpShort(h.root_dispersion.0.min(cap.0)),
        ..h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntp::{LeapIndicator, Mode, ReferenceId};
    use crate::time::NtpTimestamp;

    #[test]
    fn extremes_are_brought_into_range() {
        let h = Header {
            leap: LeapIndicator::NoWarning,
            version: 4,
            mode: Mode::Server,
            stratum: 255,
            poll: 127,
            precision: -128,
            root_delay: NtpShort(u32::MAX),
            root_dispersion: NtpShort(u32::MAX),
            reference_id: ReferenceId::default(),
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: NtpTimestamp::ZERO,
        };
        let b = bounded(h);
        assert_eq!((b.poll, b.precision, b.stratum), (17, -32, 16));
        assert_eq!(b.root_delay.to_duration(), Duration::from_secs(16));
        assert_eq!(b.root_dispersion.to_duration(), Duration::from_secs(16));
        assert_eq!(bounded(Header { poll: -128, ..h }).poll, 3);
        // In range: untouched.
        let fine = Header {
            stratum: 2,
            poll: 6,
            precision: -20,
            root_delay: NtpShort(100),
            ..h
        };
        assert_eq!(
            bounded(fine),
            Header {
                root_dispersion: b.root_dispersion,
                ..fine
            }
        );
    }
}
