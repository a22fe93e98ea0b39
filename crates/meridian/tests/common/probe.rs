//! An independent probe of an NTP server's clock: an interleaved-mode client (RFC 9769) with
//! kernel timestamps on both sides, so neither end's send path biases what it measures. Run
//! against a daemon on this host, its offset is that daemon's clock error against
//! CLOCK_REALTIME, read without asking the daemon.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use meridian_os::clock::{realtime as now, timespec};
use meridian_os::socket::{KernelTime, TimestampedSocket};
use meridian_proto::ntp::{Header, Packet};
use meridian_proto::time::{NtpTimestamp, Timestamp};

/// One exchange answered: what the next request names and completes.
#[derive(Clone, Copy)]
struct Exchange {
    t1: Timestamp,
    receive_wire: NtpTimestamp,
    t4: Timestamp,
}

/// A measurement of the server's clock.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// The server's clock minus CLOCK_REALTIME, ns.
    pub offset_ns: f64,
    /// Round-trip delay, ns.
    pub delay_ns: f64,
}

/// An interleaved-mode probe of one server.
pub struct Probe {
    socket: TimestampedSocket,
    server: SocketAddrV4,
    previous: Option<Exchange>,
    counter: u64,
}

fn realtime(k: KernelTime) -> Timestamp {
    let KernelTime::Software(ts) = k else {
        panic!("the probe asks for software timestamps only")
    };
    timespec(ts)
}

impl Probe {
    /// A probe of `server` from `local` (port 0: any).
    pub fn new(local: Ipv4Addr, server: SocketAddrV4) -> Self {
        let socket = TimestampedSocket::bind(SocketAddrV4::new(local, 0), None, None)
            .expect("bind the probe");
        assert!(socket.timestamping, "the probe needs kernel timestamps");
        Self {
            socket,
            server,
            previous: None,
            counter: 0,
        }
    }

    /// A burst of `n` exchanges back to back; the sample of least delay. The first packet
    /// after a pause takes the cold path through the kernel: on this loopback its timestamp
    /// lands up to 2 µs earlier before the wire than a warm one's (probing every 200 ms read a
    /// server on the host's own clock 0.9 µs off, back to back 0.1 µs), so a lone exchange
    /// measures the pause, not the server.
    pub fn measure(&mut self, n: usize) -> Option<Sample> {
        (0..n)
            .filter_map(|_| self.exchange())
            .min_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns))
    }

    /// One exchange: a request naming the previous reply, if there was one. Returns the
    /// completed previous exchange when the server answered in interleaved mode.
    pub fn exchange(&mut self) -> Option<Sample> {
        self.counter += 1;
        // Distinct, never-zero nonces for the transmit and receive fields.
        let transmit = NtpTimestamp(0x5000_0000_0000_0000 | self.counter << 1);
        let receive = NtpTimestamp(0x6000_0000_0000_0000 | self.counter << 1 | 1);
        let mut h = Header::client_request(4, 0, transmit);
        let named = self.previous.take();
        if let Some(p) = named {
            h.origin_timestamp = p.receive_wire;
            h.receive_timestamp = receive;
        }
        let id = self
            .socket
            .send(self.server, &Packet::new(h).to_vec(), 0)
            .ok()?;
        let deadline = Instant::now() + Duration::from_millis(200);
        let (mut t1, mut reply) = (None, None);
        let mut buf = [0u8; 512];
        while (t1.is_none() || reply.is_none()) && Instant::now() < deadline {
            if let Ok(Some((i, k))) = self.socket.recv_tx_timestamp()
                && i == id
            {
                t1 = Some(realtime(k));
            }
            if let Ok(Some(r)) = self.socket.recv(&mut buf)
                && r.from == self.server
                && let Ok(p) = Packet::parse(&buf[..r.len])
            {
                reply = Some((p.header, r.timestamp.map(realtime)?));
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        let (t1, (r, t4)) = (t1?, reply?);
        self.previous = Some(Exchange {
            t1,
            receive_wire: r.receive_timestamp,
            t4,
        });
        let p = named.filter(|_| r.origin_timestamp == receive)?;
        // The previous exchange, completed by its reply's real transmit timestamp.
        let pivot = now();
        let t2 = Timestamp::from_ntp(p.receive_wire, pivot);
        let t3 = Timestamp::from_ntp(r.transmit_timestamp, pivot);
        let ns = |d: meridian_proto::time::Duration| d.as_nanos_f64();
        Some(Sample {
            offset_ns: (ns(t2 - p.t1) + ns(t3 - p.t4)) / 2.0,
            delay_ns: ns(p.t4 - p.t1) - ns(t3 - t2),
        })
    }
}
