//! `meridian relay`: a user-space UDP relay that delays each datagram by a floor plus a PDV
//! draw from the simulator's models, for impairing real daemons where the kernel has no netem.
//!
//! The relay stands between one client and one server: the client addresses the relay, the
//! relay forwards to the server from the same port (so the server sees the relay as its client)
//! and sends the server's answers back to the client. Both ends timestamp in their kernels, so
//! what the relay adds is exactly network delay. Reads the wall clock: binaries only.
#![allow(clippy::disallowed_methods)]

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use meridian_proto::time::{Duration, Timestamp};
use meridian_sim::pdv::{PdvModel, PdvState};
use meridian_sim::rng::{SimRng, Stream, stream};

/// One direction of the relay's impairment.
pub(crate) struct Direction {
    /// Fixed delay.
    pub(crate) floor: Duration,
    /// Variation above it.
    pub(crate) pdv: PdvModel,
}

/// What to relay.
pub(crate) struct RelayOptions {
    pub(crate) listen: Ipv4Addr,
    pub(crate) ports: Vec<u16>,
    pub(crate) client: Ipv4Addr,
    pub(crate) server: Ipv4Addr,
    /// Client → server.
    pub(crate) forth: Direction,
    /// Server → client.
    pub(crate) back: Direction,
    pub(crate) seed: u64,
}

/// A datagram waiting for its time.
struct Held {
    due: Instant,
    seq: u64,
    socket: usize,
    to: SocketAddrV4,
    bytes: Vec<u8>,
}

impl PartialEq for Held {
    fn eq(&self, o: &Self) -> bool {
        (self.due, self.seq) == (o.due, o.seq)
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Held {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(o.due, o.seq))
    }
}

/// Runs until `stop`; returns (datagrams relayed forth, back).
pub(crate) fn run(o: &RelayOptions, stop: &Arc<AtomicBool>) -> Result<(u64, u64), String> {
    let sockets: Vec<UdpSocket> = o
        .ports
        .iter()
        .map(|&p| {
            let s = UdpSocket::bind((o.listen, p)).map_err(|e| format!("{}:{p}: {e}", o.listen))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            Ok(s)
        })
        .collect::<Result<_, String>>()?;
    let start = Instant::now();
    let mut rng: SimRng = stream(o.seed, Stream::LinkDirection, 0, 0);
    let (mut forth_state, mut back_state) = (PdvState::default(), PdvState::default());
    // The client's source port per relayed port (it may differ from the relay's).
    let mut client_port: Vec<u16> = o.ports.clone();
    let mut held: BinaryHeap<Reverse<Held>> = BinaryHeap::new();
    let (mut seq, mut forth, mut back) = (0u64, 0u64, 0u64);
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let t = Timestamp::EPOCH + Duration::from_secs_f64(now.duration_since(start).as_secs_f64());
        for (i, s) in sockets.iter().enumerate() {
            while let Ok((len, from)) = s.recv_from(&mut buf) {
                let std::net::SocketAddr::V4(from) = from else {
                    continue;
                };
                let (to, dir, state) = if *from.ip() == o.server {
                    back += 1;
                    (
                        SocketAddrV4::new(o.client, client_port[i]),
                        &o.back,
                        &mut back_state,
                    )
                } else if *from.ip() == o.client {
                    forth += 1;
                    client_port[i] = from.port();
                    (
                        SocketAddrV4::new(o.server, o.ports[i]),
                        &o.forth,
                        &mut forth_state,
                    )
                } else {
                    continue;
                };
                let delay = dir.floor + dir.pdv.sample(t, state, &mut rng);
                let due =
                    now + std::time::Duration::from_nanos(delay.as_nanos_floor().max(0) as u64);
                seq += 1;
                held.push(Reverse(Held {
                    due,
                    seq,
                    socket: i,
                    to,
                    bytes: buf[..len].to_vec(),
                }));
            }
        }
        let now = Instant::now();
        while held.peek().is_some_and(|h| h.0.due <= now) {
            if let Some(Reverse(h)) = held.pop() {
                // A datagram the kernel will not take is lost, as on a congested link.
                let _ = sockets[h.socket].send_to(&h.bytes, h.to);
            }
        }
        // Sleep to the next due datagram, but look at the sockets at least every 100 µs.
        let wait = held
            .peek()
            .map_or(std::time::Duration::from_micros(100), |h| {
                h.0.due.saturating_duration_since(now)
            })
            .min(std::time::Duration::from_micros(100));
        std::thread::sleep(wait);
    }
    Ok((forth, back))
}
