//! IEEE 1588 unicast negotiation engines over UDP/IPv4 ("1588 ATR / ACR"): a [`Server`] that
//! grants and serves, a [`Client`] that negotiates with one or two servers and recovers time or
//! frequency, and [`PtpNode`], which runs either or both on one address (server-and-client mode).
//!
//! All of it is I/O-free: inputs come through [`crate::engine::Engine`], outputs are transmits and
//! clock adjustments.

pub mod client;
pub mod config;
pub mod negotiation;
pub mod node;
pub mod server;
mod server_link;

pub use client::{Activity, Client};
pub use config::{ClientConfig, Profile, RecoveryMode, ServerConfig, ServoKind, TimeProperties};
pub use node::PtpNode;
pub use server::Server;

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::engine::{Output, Transmit, TxToken};
use crate::ptp::{self, Message, MessageType};

/// The message types a unicast grant covers, usable as an array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantedType {
    /// Announce.
    Announce = 0,
    /// Sync (and Follow_Up).
    Sync = 1,
    /// Delay_Resp (which licenses Delay_Req).
    DelayResp = 2,
}

impl GrantedType {
    /// All three, in index order.
    pub const ALL: [Self; 3] = [Self::Announce, Self::Sync, Self::DelayResp];

    /// The type a grant for `t` covers; `None` for types this implementation does not serve.
    #[must_use]
    pub const fn from_message_type(t: MessageType) -> Option<Self> {
        match t {
            MessageType::Announce => Some(Self::Announce),
            MessageType::Sync => Some(Self::Sync),
            MessageType::DelayResp => Some(Self::DelayResp),
            _ => None,
        }
    }

    /// The message type named in TLVs.
    #[must_use]
    pub const fn message_type(self) -> MessageType {
        match self {
            Self::Announce => MessageType::Announce,
            Self::Sync => MessageType::Sync,
            Self::DelayResp => MessageType::DelayResp,
        }
    }
}

/// A transmit of `msg` from `local` to `to` on the port its type uses; `None` if it does not
/// serialize (never an empty datagram).
fn transmit(
    local: Ipv4Addr,
    to: Ipv4Addr,
    dscp: u8,
    msg: &Message,
    token: Option<TxToken>,
) -> Option<Output> {
    let port = if msg.message_type().is_event() {
        ptp::EVENT_PORT
    } else {
        ptp::GENERAL_PORT
    };
    let bytes = msg.to_vec();
    (!bytes.is_empty()).then(|| {
        Output::Transmit(Transmit {
            from: SocketAddrV4::new(local, port),
            to: SocketAddrV4::new(to, port),
            dscp,
            bytes,
            token,
            late_ntp_transmit: false,
        })
    })
}

#[cfg(test)]
mod server_tests;

#[cfg(test)]
mod client_tests;

#[cfg(test)]
mod hostile_client_tests;

#[cfg(test)]
mod hostile_server_tests;
