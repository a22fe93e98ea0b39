//! The unicast-negotiation TLVs of Signaling messages (IEEE 1588-2008 clause 16.1).

use super::message::ParseError;
use super::types::{LogInterval, MessageType};
use crate::wire::{Reader, Writer};

/// tlvType codes this codec interprets.
pub mod tlv_type {
    /// REQUEST_UNICAST_TRANSMISSION.
    pub const REQUEST_UNICAST: u16 = 0x0004;
    /// GRANT_UNICAST_TRANSMISSION.
    pub const GRANT_UNICAST: u16 = 0x0005;
    /// CANCEL_UNICAST_TRANSMISSION.
    pub const CANCEL_UNICAST: u16 = 0x0006;
    /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION.
    pub const ACK_CANCEL_UNICAST: u16 = 0x0007;
}

/// A request for unicast transmission of one message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestTlv {
    /// The message type asked for (Announce, Sync, Delay_Resp or Pdelay_Resp).
    pub message_type: MessageType,
    /// The period asked for, log2 seconds.
    pub log_period: LogInterval,
    /// How long the service should last, seconds.
    pub duration: u32,
}

/// A grant (or, with duration 0, a refusal) of unicast transmission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantTlv {
    /// The message type granted.
    pub message_type: MessageType,
    /// The period granted, log2 seconds.
    pub log_period: LogInterval,
    /// Granted duration in seconds; 0 refuses the request.
    pub duration: u32,
    /// The grantor invites a renewal before the grant lapses.
    pub renewal_invited: bool,
}

/// One TLV of a Signaling message that this codec interprets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalingTlv {
    /// REQUEST_UNICAST_TRANSMISSION.
    Request(RequestTlv),
    /// GRANT_UNICAST_TRANSMISSION.
    Grant(GrantTlv),
    /// CANCEL_UNICAST_TRANSMISSION of one message type.
    Cancel(MessageType),
    /// ACKNOWLEDGE_CANCEL_UNICAST_TRANSMISSION of one message type.
    AcknowledgeCancel(MessageType),
}

impl SignalingTlv {
    /// The TLV type code.
    #[must_use]
    pub const fn tlv_type(&self) -> u16 {
        match self {
            Self::Request(_) => tlv_type::REQUEST_UNICAST,
            Self::Grant(_) => tlv_type::GRANT_UNICAST,
            Self::Cancel(_) => tlv_type::CANCEL_UNICAST,
            Self::AcknowledgeCancel(_) => tlv_type::ACK_CANCEL_UNICAST,
        }
    }

    const fn value_len(&self) -> u16 {
        match self {
            Self::Request(_) => 6,
            Self::Grant(_) => 8,
            Self::Cancel(_) | Self::AcknowledgeCancel(_) => 2,
        }
    }

    /// Bytes this TLV takes on the wire, header included.
    #[must_use]
    pub const fn wire_len(&self) -> usize {
        4 + self.value_len() as usize
    }

    pub(super) fn write(&self, w: &mut Writer<'_>) {
        w.u16(self.tlv_type());
        w.u16(self.value_len());
        match *self {
            Self::Request(r) => {
                w.u8(r.message_type.nibble() << 4);
                w.u8(r.log_period.0 as u8);
                w.u32(r.duration);
            }
            Self::Grant(g) => {
                w.u8(g.message_type.nibble() << 4);
                w.u8(g.log_period.0 as u8);
                w.u32(g.duration);
                w.u8(0);
                w.u8(u8::from(g.renewal_invited));
            }
            Self::Cancel(t) | Self::AcknowledgeCancel(t) => {
                w.u8(t.nibble() << 4);
                w.u8(0);
            }
        }
    }
}

/// Walks the TLVs in `r`, collecting the unicast-negotiation ones and skipping the rest by length.
pub(super) fn parse_tlvs(
    r: &mut Reader<'_>,
    out: &mut Vec<SignalingTlv>,
) -> Result<(), ParseError> {
    // Fewer than four bytes cannot hold a TLV header: treat them as padding, as peers do.
    while r.remaining() >= 4 {
        let tlv_type = r.u16().ok_or(ParseError::Truncated)?;
        let length = r.u16().ok_or(ParseError::Truncated)?;
        let value = r
            .bytes(length as usize)
            .ok_or(ParseError::BadTlvLength { tlv_type, length })?;
        if length % 2 == 1 {
            // Odd lengths are padded to even; the pad byte may be missing at the very end.
            let _ = r.bytes(1);
        }
        let expected = match tlv_type {
            tlv_type::REQUEST_UNICAST => 6,
            tlv_type::GRANT_UNICAST => 8,
            tlv_type::CANCEL_UNICAST | tlv_type::ACK_CANCEL_UNICAST => 2,
            _ => continue,
        };
        if length != expected {
            return Err(ParseError::BadTlvLength { tlv_type, length });
        }
        let mut v = Reader::new(value);
        let nibble = v.u8().ok_or(ParseError::Truncated)? >> 4;
        let message_type =
            MessageType::from_nibble(nibble).ok_or(ParseError::BadTlvMessageType(nibble))?;
        let tlv = match tlv_type {
            tlv_type::REQUEST_UNICAST => SignalingTlv::Request(RequestTlv {
                message_type,
                log_period: LogInterval(v.i8().ok_or(ParseError::Truncated)?),
                duration: v.u32().ok_or(ParseError::Truncated)?,
            }),
            tlv_type::GRANT_UNICAST => {
                let log_period = LogInterval(v.i8().ok_or(ParseError::Truncated)?);
                let duration = v.u32().ok_or(ParseError::Truncated)?;
                let _reserved = v.u8();
                let flags = v.u8().ok_or(ParseError::Truncated)?;
                SignalingTlv::Grant(GrantTlv {
                    message_type,
                    log_period,
                    duration,
                    renewal_invited: flags & 1 != 0,
                })
            }
            tlv_type::CANCEL_UNICAST => SignalingTlv::Cancel(message_type),
            _ => SignalingTlv::AcknowledgeCancel(message_type),
        };
        out.push(tlv);
    }
    Ok(())
}
