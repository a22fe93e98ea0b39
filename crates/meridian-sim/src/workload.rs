//! A small engine that exercises the simulator without a full protocol: it sends timestamped
//! PTP Sync messages to its peers at a fixed rate and nudges its clock toward what it hears.
//! Used by the determinism tests and the simulator benchmark.

use std::collections::VecDeque;
use std::net::SocketAddrV4;

use meridian_proto::engine::{
    ClockAdjustment, Engine, Input, Instant, Now, Output, Transmit, TxToken,
};
use meridian_proto::ptp::{self, Body, ClockIdentity, Header, Message, PortIdentity, SequenceId};
use meridian_proto::time::{Duration, Timestamp};

/// Sends a Sync every `interval` to each peer in turn; on each Sync received, steers its
/// frequency by a small fraction of the apparent offset.
#[derive(Debug)]
pub struct Pinger {
    local: SocketAddrV4,
    peers: Vec<SocketAddrV4>,
    interval: Duration,
    next: Option<Instant>,
    sequence: SequenceId,
    next_peer: usize,
    identity: PortIdentity,
    out: VecDeque<Output>,
    freq_ppb: f64,
    steer: bool,
    /// Datagrams received and parsed.
    pub received: u64,
    /// Transmit timestamps reported back.
    pub tx_timestamps: u64,
}

impl Pinger {
    /// A pinger at `local` sending to `peers`, one message every `interval`.
    #[must_use]
    pub fn new(
        local: SocketAddrV4,
        peers: Vec<SocketAddrV4>,
        interval: Duration,
        seed: u64,
    ) -> Self {
        Self {
            local,
            peers,
            interval,
            next: None,
            sequence: SequenceId(0),
            next_peer: 0,
            identity: PortIdentity {
                clock_identity: ClockIdentity(seed.to_be_bytes()),
                port_number: 1,
            },
            out: VecDeque::new(),
            freq_ppb: 0.0,
            steer: true,
            received: 0,
            tx_timestamps: 0,
        }
    }
}

impl Pinger {
    /// Leaves the clock free-running: only traffic, no adjustments.
    #[must_use]
    pub fn without_steering(mut self) -> Self {
        self.steer = false;
        self
    }
}

impl Engine for Pinger {
    fn handle(&mut self, now: Now, input: Input<'_>) {
        match input {
            Input::Timeout => {
                if self.next.is_none_or(|t| now.instant >= t) {
                    if let Some(&to) = self.peers.get(self.next_peer) {
                        let msg = Message {
                            header: Header::new(self.identity, 0, self.sequence),
                            body: Body::Sync {
                                origin_timestamp: now.clock.to_ptp_truncated(),
                            },
                        };
                        self.out.push_back(Output::Transmit(Transmit {
                            from: self.local,
                            to: SocketAddrV4::new(*to.ip(), ptp::EVENT_PORT),
                            dscp: 46,
                            bytes: msg.to_vec(),
                            token: Some(TxToken(self.sequence.0 as u64)),
                            late_ntp_transmit: false,
                        }));
                        self.sequence = self.sequence.next();
                        self.next_peer = (self.next_peer + 1) % self.peers.len();
                    }
                    self.next = Some(now.instant.after(self.interval));
                }
            }
            Input::Datagram(d) => {
                if let Ok(Message {
                    body: Body::Sync { origin_timestamp },
                    ..
                }) = Message::parse(d.bytes)
                {
                    self.received += 1;
                    if !self.steer {
                        return;
                    }
                    let sent = Timestamp::from_ptp(origin_timestamp, Default::default());
                    let offset_ns = (d.rx_timestamp - sent).as_nanos_f64();
                    // A deliberately crude loop: enough to make clock adjustments part of the trace.
                    self.freq_ppb = (self.freq_ppb - offset_ns * 1e-3).clamp(-1e5, 1e5);
                    self.out
                        .push_back(Output::AdjustClock(ClockAdjustment::Frequency(
                            self.freq_ppb,
                        )));
                }
            }
            Input::TxTimestamp { .. } => self.tx_timestamps += 1,
            Input::TransmitStamped { .. } => {}
        }
    }

    fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next.unwrap_or(Instant::ZERO))
    }
}
