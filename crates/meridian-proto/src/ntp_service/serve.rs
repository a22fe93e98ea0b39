//! The server side of an NTP service: answering client requests (basic and interleaved) and
//! kissing those it will not serve.
//!
//! One [`Responder`] does it for the engine (on the time thread) and for the daemon's server
//! workers ([`ServerShard`], one per socket of a `SO_REUSEPORT` group): it reads the request
//! and writes the reply into the caller's buffer, so the fast path allocates nothing.

use std::net::SocketAddrV4;
use std::sync::Arc;

use super::access::{AccessClass, RateTable, Verdict};
use super::config::NtpConfig;
use super::interleave::{self, Interleave};
use super::{NtpDrops, NtpNode, RATE_TABLE_CAPACITY, ServerCounters};
use crate::engine::{Now, TxToken};
use crate::ntp::{self, Header, KissCode, LeapIndicator, Mac, Mode, Packet, ReferenceId};
use crate::time::{Duration, NtpShort, NtpTimestamp, Timestamp};

/// The longest reply: a header and the longest MAC (key id and a 32-byte digest).
pub const REPLY_MAX: usize = 48 + 4 + 32;

/// Writes `at` into a serialized NTP packet as its transmit timestamp (bytes 40–47), its lowest
/// bit clear as every reply's is (see `interleave`): what the driver does for a
/// [`crate::engine::Transmit`] marked `late_ntp_transmit` just before sending it. A packet too
/// short to hold the field is left alone.
pub fn stamp_transmit(bytes: &mut [u8], at: Timestamp) {
    if let Some(field) = bytes.get_mut(40..48) {
        field.copy_from_slice(&interleave::mark_transmit(at.to_ntp()).0.to_be_bytes());
    }
}

/// Whether a datagram is for the server (a client request, mode 3, or NTPv1's mode 0): what a
/// worker answers itself; everything else goes to the engine.
#[must_use]
pub fn is_request(bytes: &[u8]) -> bool {
    bytes
        .first()
        .is_some_and(|b| b & 7 == 3 || (b & 7 == 0 && (b >> 3) & 7 == 1))
}

/// Decodes a datagram; what cannot be is counted by reason (mode 6/7 queries apart).
pub(super) fn parse_counted<'a>(bytes: &'a [u8], drops: &mut NtpDrops) -> Option<Packet<'a>> {
    match Packet::parse(bytes) {
        Ok(p) => Some(p),
        Err(ntp::ParseError::NotHandled(_)) => {
            drops.control += 1;
            None
        }
        Err(_) => {
            drops.malformed += 1;
            None
        }
    }
}

/// What a reply says about the server: the system variables as served.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Served {
    /// Leap indicator.
    pub leap: LeapIndicator,
    /// Stratum (16: unsynchronized).
    pub stratum: u8,
    /// Precision, log2 s.
    pub precision: i8,
    /// Root delay.
    pub root_delay: NtpShort,
    /// Root dispersion.
    pub root_dispersion: NtpShort,
    /// Reference identifier.
    pub reference_id: ReferenceId,
    /// When the clock was last updated.
    pub reftime: NtpTimestamp,
    /// The reference is always current (a local reference clock, a PTP-driven clock): the
    /// reference time is the reply's own transmit time.
    pub always_current: bool,
}

/// A reply written into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Reply {
    /// Its length.
    pub len: usize,
    /// The transmit timestamp the caller writes just before sending (an unsigned basic reply:
    /// see [`stamp_transmit`]).
    pub late_transmit: bool,
    /// The caller reports when this reply left ([`ServerShard::transmitted`]): an interleaved
    /// client's next request asks for it.
    pub token: Option<TxToken>,
    /// The transmit timestamp written (before any late stamp).
    pub transmit: NtpTimestamp,
}

/// The server's state that answering touches, borrowed from its owner (the engine or a shard).
pub(super) struct Responder<'a> {
    pub config: &'a NtpConfig,
    pub served: Served,
    pub rate: &'a mut RateTable,
    pub interleave: &'a mut Interleave,
    pub next_token: &'a mut u64,
    pub drops: &'a mut NtpDrops,
    pub counters: &'a mut ServerCounters,
}

impl Responder<'_> {
    /// Checks a packet's MAC: `Ok(Some(key))` authenticated, `Ok(None)` no MAC, `Err` failure.
    pub(super) fn authenticate(
        config: &NtpConfig,
        bytes: &[u8],
        packet: &Packet<'_>,
    ) -> Result<Option<u32>, ()> {
        let Some(mac) = packet.mac else {
            return Ok(None);
        };
        let Some(key) = config.keys.get(&mac.key_id) else {
            return Err(());
        };
        if !config.trusted.contains(&mac.key_id) {
            return Err(());
        }
        let signed = &bytes[..bytes.len() - 4 - mac.digest.len()];
        if key.verify(signed, mac.digest) {
            Ok(Some(mac.key_id))
        } else {
            Err(())
        }
    }

    /// Answers a client request (mode 3) with a server reply (mode 4) in `out`, subject to
    /// where we serve, access control, rate limiting and authentication; `None` if nothing is
    /// to be sent (counted).
    #[allow(clippy::too_many_arguments)] // one request's facts, each used once
    pub(super) fn answer(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        req: &Header,
        auth: Result<Option<u32>, ()>,
        rx: Timestamp,
        out: &mut [u8; REPLY_MAX],
    ) -> Option<Reply> {
        if !self.config.serve_on.contains(to.ip()) {
            self.drops.not_serving += 1;
            return None;
        }
        let Ok(key) = auth else {
            self.drops.auth += 1;
            return None;
        };
        match self.config.access.classify(*from.ip()) {
            Verdict::Denied => {
                self.drops.denied += 1;
                return self
                    .config
                    .access
                    .kod
                    .then(|| self.kiss(req, KissCode::Deny, key, out))
                    .flatten();
            }
            Verdict::Allowed(class) if !class.time_service() => {
                self.drops.denied += 1;
                return None;
            }
            Verdict::Allowed(AccessClass::Limited) => {
                let a = &self.config.access;
                let (min, avg) = (
                    Duration::from_log2_secs(a.discard_min),
                    Duration::from_log2_secs(a.discard_avg),
                );
                if !self.rate.admit(*from.ip(), now.instant, min, avg) {
                    self.drops.rate_limited += 1;
                    return self
                        .config
                        .access
                        .kod
                        .then(|| self.kiss(req, KissCode::Rate, key, out))
                        .flatten();
                }
            }
            Verdict::Allowed(_) => {}
        }
        let transmit = interleave::mark_transmit(now.clock.to_ntp());
        if self.served.always_current {
            // Never later than the transmit timestamp with its flag bit cleared (clients drop
            // replies whose reference time is after their transmit time).
            self.served.reftime = transmit;
        }
        let mut h = self.header(req);
        h.origin_timestamp = req.transmit_timestamp;
        h.receive_timestamp = interleave::mark_receive(rx.to_ntp());
        h.transmit_timestamp = transmit;
        let mut token = None;
        let mut basic = true;
        if interleave::wants_interleaved(
            req.version,
            req.origin_timestamp,
            req.receive_timestamp,
            req.transmit_timestamp,
        ) {
            // The client names our previous reply by its receive timestamp: send that reply's
            // real transmit timestamp, and remember this exchange for the next request.
            if let Some(sent) = self.interleave.take(req.origin_timestamp) {
                h.origin_timestamp = req.receive_timestamp;
                h.transmit_timestamp = sent.to_ntp();
                self.counters.interleaved += 1;
                basic = false;
            }
            let t = TxToken(*self.next_token);
            *self.next_token += 1;
            self.interleave.save(h.receive_timestamp, t);
            token = Some(t);
        }
        let len = self.write(h, key, out)?;
        self.counters.replies += 1;
        Some(Reply {
            len,
            // A MAC covers the transmit timestamp: a signed packet leaves as signed.
            late_transmit: basic && key.is_none(),
            token,
            transmit: h.transmit_timestamp,
        })
    }

    /// A reply header carrying what we serve.
    fn header(&self, req: &Header) -> Header {
        let s = &self.served;
        Header {
            leap: s.leap,
            version: req.version,
            mode: Mode::Server,
            stratum: s.stratum,
            poll: req.poll,
            precision: s.precision,
            root_delay: s.root_delay,
            root_dispersion: s.root_dispersion,
            reference_id: s.reference_id,
            reference_timestamp: s.reftime,
            origin_timestamp: NtpTimestamp::ZERO,
            receive_timestamp: NtpTimestamp::ZERO,
            transmit_timestamp: NtpTimestamp::ZERO,
        }
    }

    fn kiss(
        &mut self,
        req: &Header,
        code: KissCode,
        key: Option<u32>,
        out: &mut [u8; REPLY_MAX],
    ) -> Option<Reply> {
        let mut h = self.header(req);
        h.leap = LeapIndicator::Unsynchronized;
        h.stratum = 0;
        h.reference_id = ReferenceId(code.code());
        h.origin_timestamp = req.transmit_timestamp;
        h.transmit_timestamp = req.transmit_timestamp;
        let len = self.write(h, key, out)?;
        self.counters.kod_sent += 1;
        Some(Reply {
            len,
            late_transmit: false,
            token: None,
            transmit: h.transmit_timestamp,
        })
    }

    /// Serializes `h`, signed with `key` if given.
    fn write(&self, h: Header, key: Option<u32>, out: &mut [u8; REPLY_MAX]) -> Option<usize> {
        let digest = key
            .and_then(|id| self.config.keys.get(&id).map(|k| (id, k)))
            .map(|(id, k)| {
                let mut plain = [0u8; 48];
                let _ = Packet::new(h).serialize(&mut plain);
                (id, k.digest(&plain))
            });
        let packet = Packet {
            mac: digest.as_ref().map(|(key_id, d)| Mac {
                key_id: *key_id,
                digest: d,
            }),
            ..Packet::new(h)
        };
        packet.serialize(out).ok()
    }
}

/// A server worker's share of the service: the configuration and what is served, shared with
/// the time thread, and its own rate-limiting and interleave tables and counters. Requests
/// from one client address always reach the same worker (the daemon steers them by source
/// address), so per-worker tables are exact.
#[derive(Debug)]
pub struct ServerShard {
    config: Arc<NtpConfig>,
    served: Served,
    rate: RateTable,
    interleave: Interleave,
    next_token: u64,
    /// Datagrams dropped, by reason.
    pub drops: NtpDrops,
    /// Replies sent.
    pub counters: ServerCounters,
}

impl ServerShard {
    /// A shard serving `served` under `config`.
    #[must_use]
    pub fn new(config: Arc<NtpConfig>, served: Served) -> Self {
        Self {
            config,
            served,
            rate: RateTable::new(RATE_TABLE_CAPACITY),
            interleave: Interleave::default(),
            next_token: 0,
            drops: NtpDrops::default(),
            counters: ServerCounters::default(),
        }
    }

    /// What the time thread now serves (the system variables changed).
    pub fn set_served(&mut self, served: Served) {
        self.served = served;
    }

    /// A new configuration: the tables start afresh only if the access rules changed.
    pub fn set_config(&mut self, config: Arc<NtpConfig>) {
        if config.access != self.config.access {
            self.rate = RateTable::new(RATE_TABLE_CAPACITY);
        }
        self.config = config;
    }

    /// Answers the client request in `bytes` (see [`is_request`]) received at `rx` into `out`.
    pub fn answer(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        bytes: &[u8],
        rx: Timestamp,
        out: &mut [u8; REPLY_MAX],
    ) -> Option<Reply> {
        let packet = parse_counted(bytes, &mut self.drops)?;
        let auth = Responder::authenticate(&self.config, bytes, &packet);
        let header = super::edge::bounded(packet.header);
        if header.mode != Mode::Client {
            self.drops.malformed += 1;
            return None;
        }
        let mut responder = Responder {
            config: &self.config,
            served: self.served,
            rate: &mut self.rate,
            interleave: &mut self.interleave,
            next_token: &mut self.next_token,
            drops: &mut self.drops,
            counters: &mut self.counters,
        };
        let reply = responder.answer(now, from, to, &header, auth, rx, out);
        // An always-current reference time moves with each reply (a later kiss carries it).
        self.served = responder.served;
        reply
    }

    /// A reply with a token left at `at`.
    pub fn transmitted(&mut self, token: TxToken, at: Timestamp) {
        let _ = self.interleave.transmitted(token, at);
    }
}

impl NtpNode {
    /// What replies say about us now.
    #[must_use]
    pub fn served(&self) -> Served {
        let sys = self.advertised();
        Served {
            leap: sys.leap,
            stratum: sys.stratum,
            precision: super::PRECISION,
            root_delay: NtpShort::from_duration(Duration::from_secs_f64(sys.root_delay)),
            root_dispersion: NtpShort::from_duration(Duration::from_secs_f64(sys.root_dispersion)),
            reference_id: self.refid(),
            reftime: sys.reftime,
            always_current: self.follows_ptp || matches!(sys.reference, super::Reference::Local(_)),
        }
    }

    /// Answers a client request on the time thread.
    pub(super) fn serve(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        req: &Header,
        auth: Result<Option<u32>, ()>,
        rx: Timestamp,
    ) {
        let mut out = [0u8; REPLY_MAX];
        let mut responder = Responder {
            config: &self.config,
            served: self.served(),
            rate: &mut self.rate,
            interleave: &mut self.interleave,
            next_token: &mut self.next_token,
            drops: &mut self.drops,
            counters: &mut self.server,
        };
        let reply = responder.answer(now, from, to, req, auth, rx, &mut out);
        if responder.served.always_current {
            self.sys.reftime = responder.served.reftime;
        }
        let Some(r) = reply else { return };
        self.out
            .push_back(crate::engine::Output::Transmit(crate::engine::Transmit {
                from: SocketAddrV4::new(*to.ip(), ntp::PORT),
                to: from,
                dscp: 0,
                bytes: out[..r.len].to_vec(),
                token: r.token,
                late_ntp_transmit: r.late_transmit,
            }));
    }
}
