//! NTPv4 (RFC 5905) wire codec: the 48-byte header, Kiss-o'-Death codes, extension fields
//! (RFC 7822, skipped by length) and the MAC trailer (key ID plus a 16-, 20- or 32-byte digest).
//!
//! Versions 1–4 are accepted. Control (mode 6) and private (mode 7) messages are recognised and
//! reported as [`ParseError::NotHandled`]: a server must not answer them over the network.

use core::fmt;
use std::net::Ipv4Addr;

use crate::time::{NtpShort, NtpTimestamp};
use crate::wire::{Reader, Writer};

/// The NTP UDP port.
pub const PORT: u16 = 123;
/// Length of the fixed header.
pub const HEADER_LEN: usize = 48;

/// The association mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Symmetric active (1).
    SymmetricActive,
    /// Symmetric passive (2).
    SymmetricPassive,
    /// Client (3).
    Client,
    /// Server (4).
    Server,
    /// Broadcast (5).
    Broadcast,
}

impl Mode {
    /// The 3-bit wire value.
    #[must_use]
    pub const fn bits(self) -> u8 {
        match self {
            Self::SymmetricActive => 1,
            Self::SymmetricPassive => 2,
            Self::Client => 3,
            Self::Server => 4,
            Self::Broadcast => 5,
        }
    }
}

/// The leap indicator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LeapIndicator {
    /// No leap second pending.
    #[default]
    NoWarning,
    /// The last minute of the day has 61 seconds.
    Leap61,
    /// The last minute of the day has 59 seconds.
    Leap59,
    /// The clock is not synchronized.
    Unsynchronized,
}

impl LeapIndicator {
    const fn bits(self) -> u8 {
        match self {
            Self::NoWarning => 0,
            Self::Leap61 => 1,
            Self::Leap59 => 2,
            Self::Unsynchronized => 3,
        }
    }

    const fn from_bits(v: u8) -> Self {
        match v & 3 {
            0 => Self::NoWarning,
            1 => Self::Leap61,
            2 => Self::Leap59,
            _ => Self::Unsynchronized,
        }
    }
}

/// The 4-byte reference identifier: an IPv4 address, an ASCII source code (stratum 1) or a
/// Kiss-o'-Death code (stratum 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReferenceId(pub [u8; 4]);

impl ReferenceId {
    /// The reference ID of a server synchronized to the upstream `addr`.
    #[must_use]
    pub const fn from_ipv4(addr: Ipv4Addr) -> Self {
        Self(addr.octets())
    }

    /// The ID read as an IPv4 address.
    #[must_use]
    pub const fn to_ipv4(self) -> Ipv4Addr {
        let [a, b, c, d] = self.0;
        Ipv4Addr::new(a, b, c, d)
    }

    /// An ASCII code such as `LOCL` or `DENY` (shorter codes are padded with zero bytes).
    #[must_use]
    pub const fn from_ascii(code: &[u8; 4]) -> Self {
        Self(*code)
    }
}

/// A Kiss-o'-Death code carried in the reference ID of a stratum-0 packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KissCode {
    /// Access denied: stop using this server.
    Deny,
    /// Access restricted: stop using this server.
    Rstr,
    /// Rate exceeded: reduce the poll rate.
    Rate,
    /// Any other code, kept verbatim.
    Other([u8; 4]),
}

impl KissCode {
    /// The four ASCII bytes.
    #[must_use]
    pub const fn code(self) -> [u8; 4] {
        match self {
            Self::Deny => *b"DENY",
            Self::Rstr => *b"RSTR",
            Self::Rate => *b"RATE",
            Self::Other(c) => c,
        }
    }

    /// Reads a code.
    #[must_use]
    pub const fn from_code(c: [u8; 4]) -> Self {
        match &c {
            b"DENY" => Self::Deny,
            b"RSTR" => Self::Rstr,
            b"RATE" => Self::Rate,
            _ => Self::Other(c),
        }
    }
}

/// The fixed 48-byte NTP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Version number, 1–4.
    pub version: u8,
    /// Association mode.
    pub mode: Mode,
    /// Stratum: 0 KoD, 1 primary, 2–15 secondary, 16 unsynchronized.
    pub stratum: u8,
    /// Poll interval, log2 seconds.
    pub poll: i8,
    /// Clock precision, log2 seconds.
    pub precision: i8,
    /// Total round-trip delay to the reference clock.
    pub root_delay: NtpShort,
    /// Total dispersion to the reference clock.
    pub root_dispersion: NtpShort,
    /// Reference identifier.
    pub reference_id: ReferenceId,
    /// When the system clock was last set or corrected.
    pub reference_timestamp: NtpTimestamp,
    /// T1: the transmit timestamp of the request this packet answers.
    pub origin_timestamp: NtpTimestamp,
    /// T2: when the request arrived at the sender of this packet.
    pub receive_timestamp: NtpTimestamp,
    /// T3: when this packet left its sender.
    pub transmit_timestamp: NtpTimestamp,
}

impl Header {
    /// A client request (mode 3) of `version` polling at 2^`poll` s, carrying only `transmit`
    /// (no leap warning, stratum 0, precision 2^-20 s, every other field zero).
    #[must_use]
    pub fn client_request(version: u8, poll: i8, transmit: NtpTimestamp) -> Self {
        Self {
            leap: LeapIndicator::NoWarning,
            version,
            mode: Mode::Client,
            stratum: 0,
            poll,
            precision: -20,
            root_delay: NtpShort(0),
            root_dispersion: NtpShort(0),
            reference_id: ReferenceId::default(),
            reference_timestamp: NtpTimestamp::ZERO,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: transmit,
        }
    }

    /// The Kiss-o'-Death code, if this is a KoD packet (stratum 0).
    #[must_use]
    pub const fn kiss_code(&self) -> Option<KissCode> {
        if self.stratum == 0 {
            Some(KissCode::from_code(self.reference_id.0))
        } else {
            None
        }
    }
}

/// The message authentication code trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac<'a> {
    /// The key identifier.
    pub key_id: u32,
    /// The digest: 16 bytes (MD5), 20 (SHA-1) or 32 (HMAC-SHA256).
    pub digest: &'a [u8],
}

/// A decoded NTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The fixed header.
    pub header: Header,
    /// Extension fields that were present and skipped.
    pub extension_fields: u8,
    /// The MAC trailer, if any.
    pub mac: Option<Mac<'a>>,
}

/// Why a datagram was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Shorter than the 48-byte header.
    Truncated,
    /// Version 0 or above 4.
    BadVersion(u8),
    /// Mode 0 (reserved) outside NTPv1.
    BadMode(u8),
    /// Control (6) or private (7) mode: recognised, never answered over the network.
    NotHandled(u8),
    /// An extension field's length is below 16, not a multiple of 4, or runs past the packet.
    BadExtensionField {
        /// Its Field Type.
        field_type: u16,
        /// Its Length.
        length: u16,
    },
    /// Bytes after the header that are neither extension fields nor a MAC.
    BadTrailer(usize),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "shorter than the NTP header"),
            Self::BadVersion(v) => write!(f, "unsupported NTP version {v}"),
            Self::BadMode(m) => write!(f, "reserved mode {m}"),
            Self::NotHandled(m) => write!(f, "mode {m} packets are not handled"),
            Self::BadExtensionField { field_type, length } => {
                write!(
                    f,
                    "extension field {field_type:#06x} has bad length {length}"
                )
            }
            Self::BadTrailer(n) => write!(f, "{n} trailing bytes are neither extension nor MAC"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The caller's buffer is too small, or the MAC digest has an unsupported length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SerializeError;

impl fmt::Display for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot serialize the NTP packet into the buffer")
    }
}

impl std::error::Error for SerializeError {}

/// Digest lengths a MAC may carry (MD5, SHA-1, HMAC-SHA256).
const DIGEST_LENS: [usize; 3] = [16, 20, 32];

impl<'a> Packet<'a> {
    /// A packet with no extension fields and no MAC.
    #[must_use]
    pub const fn new(header: Header) -> Self {
        Self {
            header,
            extension_fields: 0,
            mac: None,
        }
    }

    /// Decodes one datagram.
    pub fn parse(buf: &'a [u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        let b0 = r.u8().ok_or(ParseError::Truncated)?;
        let version = (b0 >> 3) & 7;
        let mode_bits = b0 & 7;
        if !(1..=4).contains(&version) {
            return Err(ParseError::BadVersion(version));
        }
        let mode = match mode_bits {
            1 => Mode::SymmetricActive,
            2 => Mode::SymmetricPassive,
            3 => Mode::Client,
            4 => Mode::Server,
            5 => Mode::Broadcast,
            6 | 7 => return Err(ParseError::NotHandled(mode_bits)),
            // NTPv1 had no mode field; RFC 5905 reads its zero as a client request.
            _ if version == 1 => Mode::Client,
            m => return Err(ParseError::BadMode(m)),
        };
        let t = |r: &mut Reader<'_>| r.u64().map(NtpTimestamp).ok_or(ParseError::Truncated);
        let header = Header {
            leap: LeapIndicator::from_bits(b0 >> 6),
            version,
            mode,
            stratum: r.u8().ok_or(ParseError::Truncated)?,
            poll: r.i8().ok_or(ParseError::Truncated)?,
            precision: r.i8().ok_or(ParseError::Truncated)?,
            root_delay: NtpShort(r.u32().ok_or(ParseError::Truncated)?),
            root_dispersion: NtpShort(r.u32().ok_or(ParseError::Truncated)?),
            reference_id: ReferenceId(r.array().ok_or(ParseError::Truncated)?),
            reference_timestamp: t(&mut r)?,
            origin_timestamp: t(&mut r)?,
            receive_timestamp: t(&mut r)?,
            transmit_timestamp: t(&mut r)?,
        };
        let mut extension_fields = 0u8;
        let mac = loop {
            let rest = r.remaining();
            // A trailer of exactly a MAC's size is a MAC (RFC 7822 §7.5 disambiguation).
            if DIGEST_LENS.iter().any(|d| rest == 4 + d) {
                let key_id = r.u32().ok_or(ParseError::Truncated)?;
                let digest = r.bytes(rest - 4).ok_or(ParseError::Truncated)?;
                break Some(Mac { key_id, digest });
            }
            match rest {
                0 => break None,
                n if version == 4 && n >= 16 => {
                    let field_type = r.u16().ok_or(ParseError::Truncated)?;
                    let length = r.u16().ok_or(ParseError::Truncated)?;
                    let bad = ParseError::BadExtensionField { field_type, length };
                    if length < 16 || length % 4 != 0 {
                        return Err(bad);
                    }
                    r.bytes(length as usize - 4).ok_or(bad)?;
                    extension_fields = extension_fields.saturating_add(1);
                }
                n => return Err(ParseError::BadTrailer(n)),
            }
        };
        Ok(Self {
            header,
            extension_fields,
            mac,
        })
    }

    /// Bytes this packet takes on the wire (extension fields are not written).
    #[must_use]
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + self.mac.map_or(0, |m| 4 + m.digest.len())
    }

    /// Encodes the header and MAC into `buf`, returning the number of bytes written.
    pub fn serialize(&self, buf: &mut [u8]) -> Result<usize, SerializeError> {
        let h = &self.header;
        let mut w = Writer::new(buf);
        w.u8(h.leap.bits() << 6 | (h.version & 7) << 3 | h.mode.bits());
        w.u8(h.stratum);
        w.u8(h.poll as u8);
        w.u8(h.precision as u8);
        w.u32(h.root_delay.0);
        w.u32(h.root_dispersion.0);
        w.bytes(&h.reference_id.0);
        for ts in [
            h.reference_timestamp,
            h.origin_timestamp,
            h.receive_timestamp,
            h.transmit_timestamp,
        ] {
            w.u64(ts.0);
        }
        if let Some(mac) = self.mac {
            if !DIGEST_LENS.contains(&mac.digest.len()) {
                return Err(SerializeError);
            }
            w.u32(mac.key_id);
            w.bytes(mac.digest);
        }
        w.finish().ok_or(SerializeError)
    }

    /// Encodes into a new vector.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut buf = vec![0; self.wire_len()];
        match self.serialize(&mut buf) {
            Ok(n) => buf.truncate(n),
            Err(SerializeError) => buf.clear(),
        }
        buf
    }
}

#[cfg(test)]
mod tests;
