//! The common header, the message bodies, parsing and serialization.

use core::fmt;

use super::tlv::{SignalingTlv, parse_tlvs};
use super::types::{
    ClockIdentity, Flags, LogInterval, MessageType, PortIdentity, SequenceId, TimeSource,
};
use crate::time::{Correction, PtpTimestamp};
use crate::wire::{Reader, Writer};

/// Length of the common header.
const HEADER_LEN: usize = 34;
/// The largest message this codec writes or accepts (an Ethernet MTU's worth of UDP payload).
pub const MAX_MESSAGE_LEN: usize = 1472;

/// Why a datagram was not accepted. Callers count these per variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The datagram ends inside a field.
    Truncated,
    /// versionPTP is not 2.
    BadVersion(u8),
    /// messageLength is shorter than the header or longer than the datagram.
    LengthMismatch {
        /// messageLength as sent.
        declared: u16,
        /// Bytes actually received.
        available: usize,
    },
    /// messageLength is too short for the message type's body.
    BodyTooShort(MessageType),
    /// The messageType nibble is reserved.
    UnknownMessageType(u8),
    /// A well-formed message type this codec recognises but does not decode (Management and the
    /// peer-delay family): skip it and count it.
    NotHandled(MessageType),
    /// A TLV's lengthField runs past the message, or does not match its known type.
    BadTlvLength {
        /// The tlvType.
        tlv_type: u16,
        /// The lengthField.
        length: u16,
    },
    /// A unicast TLV names a reserved message type.
    BadTlvMessageType(u8),
    /// A timestamp's nanoseconds field is 10^9 or more.
    BadTimestamp,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "truncated message"),
            Self::BadVersion(v) => write!(f, "unsupported versionPTP {v}"),
            Self::LengthMismatch {
                declared,
                available,
            } => {
                write!(
                    f,
                    "messageLength {declared} does not fit the {available}-byte datagram"
                )
            }
            Self::BodyTooShort(t) => write!(f, "messageLength too short for {t}"),
            Self::UnknownMessageType(t) => write!(f, "reserved messageType {t:#x}"),
            Self::NotHandled(t) => write!(f, "{t} messages are not handled"),
            Self::BadTlvLength { tlv_type, length } => {
                write!(f, "TLV {tlv_type:#06x} has bad lengthField {length}")
            }
            Self::BadTlvMessageType(t) => write!(f, "TLV names reserved messageType {t:#x}"),
            Self::BadTimestamp => write!(f, "timestamp nanoseconds out of range"),
        }
    }
}

impl std::error::Error for ParseError {}

/// The caller's buffer is too small for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SerializeError;

impl fmt::Display for SerializeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small for the PTP message")
    }
}

impl std::error::Error for SerializeError {}

/// The common header fields a sender chooses. messageType, messageLength and controlField follow
/// from the body and are filled in on serialization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// transportSpecific (2008) / majorSdoId (2019), 4 bits.
    pub sdo_id: u8,
    /// minorVersionPTP: 0 for 1588-2008, 1 for 1588-2019.
    pub minor_version: u8,
    /// domainNumber.
    pub domain: u8,
    /// minorSdoId (2019; reserved in 2008).
    pub minor_sdo_id: u8,
    /// flagField.
    pub flags: Flags,
    /// correctionField.
    pub correction: Correction,
    /// messageTypeSpecific (2019; reserved in 2008).
    pub message_type_specific: u32,
    /// sourcePortIdentity.
    pub source_port: PortIdentity,
    /// sequenceId.
    pub sequence_id: SequenceId,
    /// logMessageInterval.
    pub log_message_interval: LogInterval,
}

impl Header {
    /// A PTPv2.0 header with zero correction and the given source, domain and sequence.
    #[must_use]
    pub fn new(source_port: PortIdentity, domain: u8, sequence_id: SequenceId) -> Self {
        Self {
            sdo_id: 0,
            minor_version: 0,
            domain,
            minor_sdo_id: 0,
            flags: Flags::default(),
            correction: Correction::ZERO,
            message_type_specific: 0,
            source_port,
            sequence_id,
            log_message_interval: LogInterval::UNSPECIFIED,
        }
    }
}

/// grandmasterClockQuality.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClockQuality {
    /// clockClass.
    pub clock_class: u8,
    /// clockAccuracy.
    pub clock_accuracy: u8,
    /// offsetScaledLogVariance.
    pub offset_scaled_log_variance: u16,
}

/// The body of an Announce message: the time-source information a server advertises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Announce {
    /// originTimestamp (approximate).
    pub origin_timestamp: PtpTimestamp,
    /// currentUtcOffset, TAI − UTC in seconds.
    pub current_utc_offset: i16,
    /// grandmasterPriority1.
    pub priority1: u8,
    /// grandmasterClockQuality.
    pub clock_quality: ClockQuality,
    /// grandmasterPriority2.
    pub priority2: u8,
    /// grandmasterIdentity.
    pub grandmaster_identity: ClockIdentity,
    /// stepsRemoved.
    pub steps_removed: u16,
    /// timeSource.
    pub time_source: TimeSource,
}

/// The body of a Signaling message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signaling {
    /// targetPortIdentity; [`PortIdentity::WILDCARD`] addresses any port.
    pub target_port: PortIdentity,
    /// The unicast-negotiation TLVs, in wire order. Other TLVs are skipped on parsing.
    pub tlvs: Vec<SignalingTlv>,
}

/// A message body; the variant determines messageType.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Sync with its originTimestamp (zero or approximate on two-step servers).
    Sync {
        /// originTimestamp.
        origin_timestamp: PtpTimestamp,
    },
    /// Delay_Req with its originTimestamp.
    DelayReq {
        /// originTimestamp.
        origin_timestamp: PtpTimestamp,
    },
    /// Follow_Up carrying the precise transmit time of the Sync with the same sequenceId.
    FollowUp {
        /// preciseOriginTimestamp.
        precise_origin_timestamp: PtpTimestamp,
    },
    /// Delay_Resp carrying the receive time of a Delay_Req.
    DelayResp {
        /// receiveTimestamp.
        receive_timestamp: PtpTimestamp,
        /// requestingPortIdentity.
        requesting_port: PortIdentity,
    },
    /// Announce.
    Announce(Announce),
    /// Signaling.
    Signaling(Signaling),
}

impl Body {
    /// The messageType this body is sent as.
    #[must_use]
    pub const fn message_type(&self) -> MessageType {
        match self {
            Self::Sync { .. } => MessageType::Sync,
            Self::DelayReq { .. } => MessageType::DelayReq,
            Self::FollowUp { .. } => MessageType::FollowUp,
            Self::DelayResp { .. } => MessageType::DelayResp,
            Self::Announce(_) => MessageType::Announce,
            Self::Signaling(_) => MessageType::Signaling,
        }
    }

    fn wire_len(&self) -> usize {
        match self {
            Self::Sync { .. } | Self::DelayReq { .. } | Self::FollowUp { .. } => 10,
            Self::DelayResp { .. } => 20,
            Self::Announce(_) => 30,
            Self::Signaling(s) => 10 + s.tlvs.iter().map(SignalingTlv::wire_len).sum::<usize>(),
        }
    }
}

/// A decoded PTP message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The common header.
    pub header: Header,
    /// The message-type-specific body.
    pub body: Body,
}

fn read_timestamp(r: &mut Reader<'_>) -> Result<PtpTimestamp, ParseError> {
    let seconds = r.u48().ok_or(ParseError::Truncated)?;
    let nanos = r.u32().ok_or(ParseError::Truncated)?;
    PtpTimestamp::new(seconds, nanos).ok_or(ParseError::BadTimestamp)
}

fn read_port(r: &mut Reader<'_>) -> Result<PortIdentity, ParseError> {
    Ok(PortIdentity {
        clock_identity: ClockIdentity(r.array().ok_or(ParseError::Truncated)?),
        port_number: r.u16().ok_or(ParseError::Truncated)?,
    })
}

fn write_timestamp(w: &mut Writer<'_>, ts: PtpTimestamp) {
    w.u48(ts.seconds());
    w.u32(ts.nanoseconds());
}

fn write_port(w: &mut Writer<'_>, p: PortIdentity) {
    w.bytes(&p.clock_identity.0);
    w.u16(p.port_number);
}

impl Message {
    /// The messageType.
    #[must_use]
    pub const fn message_type(&self) -> MessageType {
        self.body.message_type()
    }

    /// The messageLength this message has on the wire.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + self.body.wire_len()
    }

    /// Decodes one datagram. Bytes after messageLength (link padding) are ignored; TLVs after a
    /// fixed body are walked and skipped.
    pub fn parse(buf: &[u8]) -> Result<Self, ParseError> {
        let mut r = Reader::new(buf);
        let b0 = r.u8().ok_or(ParseError::Truncated)?;
        let b1 = r.u8().ok_or(ParseError::Truncated)?;
        if b1 & 0x0F != 2 {
            return Err(ParseError::BadVersion(b1 & 0x0F));
        }
        let declared = r.u16().ok_or(ParseError::Truncated)?;
        if (declared as usize) < HEADER_LEN || declared as usize > buf.len() {
            return Err(ParseError::LengthMismatch {
                declared,
                available: buf.len(),
            });
        }
        let nibble = b0 & 0x0F;
        let message_type =
            MessageType::from_nibble(nibble).ok_or(ParseError::UnknownMessageType(nibble))?;
        // From here on, read only inside messageLength.
        let mut r = Reader::new(&buf[4..declared as usize]);
        let domain = r.u8().ok_or(ParseError::Truncated)?;
        let minor_sdo_id = r.u8().ok_or(ParseError::Truncated)?;
        let flags = Flags(r.u16().ok_or(ParseError::Truncated)?);
        let correction = Correction(r.i64().ok_or(ParseError::Truncated)?);
        let message_type_specific = r.u32().ok_or(ParseError::Truncated)?;
        let source_port = read_port(&mut r)?;
        let sequence_id = SequenceId(r.u16().ok_or(ParseError::Truncated)?);
        let _control = r.u8().ok_or(ParseError::Truncated)?;
        let log_message_interval = LogInterval(r.i8().ok_or(ParseError::Truncated)?);
        let header = Header {
            sdo_id: b0 >> 4,
            minor_version: b1 >> 4,
            domain,
            minor_sdo_id,
            flags,
            correction,
            message_type_specific,
            source_port,
            sequence_id,
            log_message_interval,
        };

        let short = |e: ParseError| match e {
            ParseError::Truncated => ParseError::BodyTooShort(message_type),
            other => other,
        };
        let body = match message_type {
            MessageType::Sync => Body::Sync {
                origin_timestamp: read_timestamp(&mut r).map_err(short)?,
            },
            MessageType::DelayReq => Body::DelayReq {
                origin_timestamp: read_timestamp(&mut r).map_err(short)?,
            },
            MessageType::FollowUp => Body::FollowUp {
                precise_origin_timestamp: read_timestamp(&mut r).map_err(short)?,
            },
            MessageType::DelayResp => Body::DelayResp {
                receive_timestamp: read_timestamp(&mut r).map_err(short)?,
                requesting_port: read_port(&mut r).map_err(short)?,
            },
            MessageType::Announce => Body::Announce(read_announce(&mut r).map_err(short)?),
            MessageType::Signaling => {
                let target_port = read_port(&mut r).map_err(short)?;
                let mut tlvs = Vec::new();
                parse_tlvs(&mut r, &mut tlvs)?;
                return Ok(Self {
                    header,
                    body: Body::Signaling(Signaling { target_port, tlvs }),
                });
            }
            t @ (MessageType::PdelayReq
            | MessageType::PdelayResp
            | MessageType::PdelayRespFollowUp
            | MessageType::Management) => return Err(ParseError::NotHandled(t)),
        };
        // Suffix TLVs (e.g. PATH_TRACE on Announce) must still be well formed.
        parse_tlvs(&mut r, &mut Vec::new())?;
        Ok(Self { header, body })
    }

    /// Encodes into `buf`, returning the number of bytes written.
    pub fn serialize(&self, buf: &mut [u8]) -> Result<usize, SerializeError> {
        let len = self.wire_len();
        if len > buf.len() || len > MAX_MESSAGE_LEN {
            return Err(SerializeError);
        }
        let h = &self.header;
        let t = self.message_type();
        let mut w = Writer::new(buf);
        w.u8((h.sdo_id & 0x0F) << 4 | t.nibble());
        w.u8((h.minor_version & 0x0F) << 4 | 2);
        w.u16(len as u16);
        w.u8(h.domain);
        w.u8(h.minor_sdo_id);
        w.u16(h.flags.0);
        w.i64(h.correction.0);
        w.u32(h.message_type_specific);
        write_port(&mut w, h.source_port);
        w.u16(h.sequence_id.0);
        w.u8(t.control_field());
        w.u8(h.log_message_interval.0 as u8);
        match &self.body {
            Body::Sync {
                origin_timestamp: ts,
            }
            | Body::DelayReq {
                origin_timestamp: ts,
            }
            | Body::FollowUp {
                precise_origin_timestamp: ts,
            } => write_timestamp(&mut w, *ts),
            Body::DelayResp {
                receive_timestamp,
                requesting_port,
            } => {
                write_timestamp(&mut w, *receive_timestamp);
                write_port(&mut w, *requesting_port);
            }
            Body::Announce(a) => {
                write_timestamp(&mut w, a.origin_timestamp);
                w.u16(a.current_utc_offset as u16);
                w.u8(0);
                w.u8(a.priority1);
                w.u8(a.clock_quality.clock_class);
                w.u8(a.clock_quality.clock_accuracy);
                w.u16(a.clock_quality.offset_scaled_log_variance);
                w.u8(a.priority2);
                w.bytes(&a.grandmaster_identity.0);
                w.u16(a.steps_removed);
                w.u8(a.time_source.0);
            }
            Body::Signaling(s) => {
                write_port(&mut w, s.target_port);
                for tlv in &s.tlvs {
                    tlv.write(&mut w);
                }
            }
        }
        debug_assert_eq!(w.position(), len);
        w.finish().ok_or(SerializeError)
    }

    /// Encodes into a new vector.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialized on the stack when it fits (the usual messages, up to a few TLVs), then
        // copied into an allocation of exactly its length, never zeroed first.
        let mut small = [0u8; 128];
        let mut large = Vec::new();
        let buf: &mut [u8] = if self.wire_len() <= small.len() {
            &mut small
        } else {
            large.resize(self.wire_len(), 0);
            &mut large
        };
        match self.serialize(buf) {
            Ok(n) => buf[..n].to_vec(),
            // Only a Signaling message with hundreds of TLVs can exceed the MTU.
            Err(SerializeError) => Vec::new(),
        }
    }
}

fn read_announce(r: &mut Reader<'_>) -> Result<Announce, ParseError> {
    let origin_timestamp = read_timestamp(r)?;
    let current_utc_offset = r.u16().ok_or(ParseError::Truncated)? as i16;
    let _reserved = r.u8().ok_or(ParseError::Truncated)?;
    let priority1 = r.u8().ok_or(ParseError::Truncated)?;
    let clock_quality = ClockQuality {
        clock_class: r.u8().ok_or(ParseError::Truncated)?,
        clock_accuracy: r.u8().ok_or(ParseError::Truncated)?,
        offset_scaled_log_variance: r.u16().ok_or(ParseError::Truncated)?,
    };
    Ok(Announce {
        origin_timestamp,
        current_utc_offset,
        priority1,
        clock_quality,
        priority2: r.u8().ok_or(ParseError::Truncated)?,
        grandmaster_identity: ClockIdentity(r.array().ok_or(ParseError::Truncated)?),
        steps_removed: r.u16().ok_or(ParseError::Truncated)?,
        time_source: TimeSource(r.u8().ok_or(ParseError::Truncated)?),
    })
}
