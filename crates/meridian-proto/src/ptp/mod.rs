//! IEEE 1588-2008 (PTPv2) wire codec for unicast negotiation over UDP/IPv4.
//!
//! [`Message::parse`] decodes one datagram into a typed [`Message`]; it never panics and reports
//! every problem as a [`ParseError`]. Management and peer-delay messages are recognised and
//! reported as [`ParseError::NotHandled`] so callers can count them apart from malformed input.
//! Unknown TLVs are skipped by their length. [`Message::serialize`] writes into a caller's buffer.

mod message;
mod tlv;
mod types;

pub use message::{
    Announce, Body, ClockQuality, Header, MAX_MESSAGE_LEN, Message, ParseError, SerializeError,
    Signaling,
};
pub use tlv::{GrantTlv, RequestTlv, SignalingTlv, tlv_type};
pub use types::{
    ClockIdentity, Flags, LogInterval, MessageType, PortIdentity, SequenceId, TimeSource,
};

/// UDP port for event messages (Sync, Delay_Req), which are timestamped.
pub const EVENT_PORT: u16 = 319;
/// UDP port for general messages (Announce, Follow_Up, Delay_Resp, Signaling, Management).
pub const GENERAL_PORT: u16 = 320;

#[cfg(test)]
mod tests;
