//! `display ntp-service trace` beyond the device's own hop: the daemon asks each server of the
//! chain in turn, by a client-mode exchange, for its stratum, its reference and its distance to
//! the primary source, until a primary or local reference, a loop, silence, or 16 hops.
//!
//! The walk runs on a thread of its own, bounded in time, so the time loop never waits on a
//! network answer; at most [`MAX_WALKS`] run at once. The router asks each server for its own
//! offset with a control query (mode 6), which chronyd does not answer; here each further hop's
//! offset is that server's clock minus this device's, measured by the walk's own exchange.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use meridian_proto::ntp::{Header, LeapIndicator, Packet};
use meridian_proto::ntp_service::Reference;
use meridian_proto::time::{Duration, Timestamp};
use meridian_vrp::device::DeviceEngine;
use meridian_vrp::display::{TraceHop, ntp_trace};

use crate::clock::realtime;

/// Hops walked at most (the device's own included), as NTP's own bound on strata.
pub const MAX_HOPS: usize = 16;
/// How long one server has to answer.
pub const HOP_TIMEOUT: StdDuration = StdDuration::from_secs(1);
/// The whole walk's budget: well inside the control client's wait for an answer.
pub const WALK_BUDGET: StdDuration = StdDuration::from_secs(6);
/// Walks in progress at most; more are refused with a message.
pub const MAX_WALKS: usize = 4;

static WALKS: AtomicUsize = AtomicUsize::new(0);

/// A trace to continue past the device's own hop.
#[derive(Clone, Debug, PartialEq)]
pub struct Walk {
    /// The hops so far (the device's own).
    pub hops: Vec<TraceHop>,
    /// The server to ask next.
    pub next: Ipv4Addr,
    /// The NTP port the chain's servers are asked at (the association's).
    pub port: u16,
    /// This device's clock minus CLOCK_REALTIME, seconds, when the walk began.
    pub device_offset: f64,
    /// Render as JSON (`| json`).
    pub json: bool,
}

/// Where a reply sends the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Ask(Ipv4Addr),
    End,
}

/// A server's reference as the trace names it: the identifier's text for a primary source
/// (`GPS`) or a local clock (`LOCL`), otherwise an address (a secondary server's, or the
/// `127.127.1.u` chronyd gives its local clock even at stratum 1).
fn refid(h: &Header) -> String {
    let id = h.reference_id.0;
    let text: Vec<u8> = id.iter().copied().take_while(|&b| b != 0).collect();
    let readable = !text.is_empty() && text.iter().all(u8::is_ascii_graphic);
    if (h.stratum <= 1 && readable) || &id == b"LOCL" {
        String::from_utf8_lossy(&text).into_owned()
    } else {
        Ipv4Addr::from(id).to_string()
    }
}

/// The next server to ask after `h`, or the end: a primary or unsynchronized server, a local
/// clock (127.127.0.0/16, or `LOCL`), or an address already walked (a loop).
fn next(h: &Header, walked: &[TraceHop]) -> Next {
    if h.stratum <= 1 || h.stratum >= 16 || h.leap == LeapIndicator::Unsynchronized {
        return Next::End;
    }
    let a = Ipv4Addr::from(h.reference_id.0);
    let local = a.octets()[..2] == [127, 127] || &h.reference_id.0 == b"LOCL";
    if local || a.is_unspecified() || walked.iter().any(|w| w.server == a.to_string()) {
        Next::End
    } else {
        Next::Ask(a)
    }
}

// The walk's deadlines are wall-clock bounds on waiting for a network, not protocol time.
#[allow(clippy::disallowed_methods)]
/// One client-mode exchange with `server`: its header and its clock minus CLOCK_REALTIME,
/// seconds; `None` if it did not answer within `timeout`.
fn ask(server: SocketAddrV4, timeout: StdDuration) -> Option<(Header, f64)> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    socket.connect(server).ok()?;
    let t1 = realtime();
    let request = Header::client_request(4, 6, t1.to_ntp());
    socket.send(&Packet::new(request).to_vec()).ok()?;
    let deadline = StdInstant::now() + timeout;
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.checked_duration_since(StdInstant::now())?;
        socket
            .set_read_timeout(Some(left.max(StdDuration::from_millis(1))))
            .ok()?;
        let Ok(len) = socket.recv(&mut buf) else {
            return None;
        };
        let t4 = realtime();
        // Anything but the answer to this request (a late one, a spoof) is ignored.
        let Ok(p) = Packet::parse(&buf[..len]) else {
            continue;
        };
        let h = p.header;
        if h.origin_timestamp != request.transmit_timestamp || h.stratum == 0 {
            continue;
        }
        let t2 = Timestamp::from_ntp(h.receive_timestamp, t1);
        let t3 = Timestamp::from_ntp(h.transmit_timestamp, t4);
        let secs = Duration::as_secs_f64;
        return Some((h, (secs(t2 - t1) + secs(t3 - t4)) / 2.0));
    }
}

/// Walks `w` to its end within `budget`: the trace's text (or JSON).
#[must_use]
#[allow(clippy::disallowed_methods)] // as in `ask`
pub fn walk(mut w: Walk, budget: StdDuration) -> String {
    let deadline = StdInstant::now() + budget;
    let mut silent = None;
    let mut next_hop = Next::Ask(w.next);
    while let Next::Ask(a) = next_hop
        && w.hops.len() < MAX_HOPS
    {
        let left = deadline.saturating_duration_since(StdInstant::now());
        let Some((h, offset)) = ask(SocketAddrV4::new(a, w.port), left.min(HOP_TIMEOUT)) else {
            silent = Some(a);
            break;
        };
        next_hop = next(&h, &w.hops);
        w.hops.push(TraceHop {
            server: a.to_string(),
            stratum: h.stratum,
            offset_s: offset - w.device_offset,
            distance_s: h.root_delay.to_duration().as_secs_f64() / 2.0
                + h.root_dispersion.to_duration().as_secs_f64(),
            refid: refid(&h),
        });
    }
    if w.json {
        return meridian_vrp::typed_json::ntp_trace(&w.hops).to_string() + "\n";
    }
    let mut out = ntp_trace(&w.hops);
    if let Some(a) = silent {
        out += &format!("Info: {a} did not answer; the trace stops there.\n");
    }
    out
}

/// Runs `w` on a thread of its own and sends `head` and the trace to `reply` when done.
/// Refused (an error sent at once) when [`MAX_WALKS`] are already running.
pub fn spawn(w: Walk, head: String, reply: SyncSender<String>) {
    if WALKS.fetch_add(1, Ordering::SeqCst) >= MAX_WALKS {
        WALKS.fetch_sub(1, Ordering::SeqCst);
        let _ = reply.try_send(format!(
            "{head}\nError: {MAX_WALKS} traces are in progress; try again shortly.\n"
        ));
        return;
    }
    let run = move || {
        let text = walk(w, WALK_BUDGET);
        let _ = reply.try_send(format!("{head}\n{text}"));
        WALKS.fetch_sub(1, Ordering::SeqCst);
    };
    if std::thread::Builder::new()
        .name("ntp-trace".into())
        .spawn(run)
        .is_err()
    {
        WALKS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The walk of `display ntp-service trace` from the device's own hop onwards (`json`:
/// rendered as JSON), for the daemon to run off the time loop; `None` unless the device
/// follows a server.
#[must_use]
pub fn start(engine: &DeviceEngine, device_offset: f64, json: bool) -> Option<Walk> {
    let n = engine.ntp.as_ref()?;
    let status = n.status();
    let own = TraceHop::of("127.0.0.1".into(), &status);
    let Reference::Peer(next) = status.reference else {
        return None;
    };
    let port = n
        .config()
        .associations
        .iter()
        .find(|a| a.address == next)
        .map_or(meridian_proto::ntp::PORT, |a| a.port);
    Some(Walk {
        hops: vec![own],
        next,
        port,
        device_offset,
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_proto::ntp::ReferenceId;
    use meridian_proto::time::NtpTimestamp;

    fn reply(stratum: u8, refid: [u8; 4]) -> Header {
        let mut h = Header::client_request(4, 6, NtpTimestamp(1));
        h.stratum = stratum;
        h.reference_id = ReferenceId(refid);
        h
    }

    fn hop(server: &str) -> TraceHop {
        TraceHop {
            server: server.into(),
            stratum: 3,
            offset_s: 0.0,
            distance_s: 0.0,
            refid: String::new(),
        }
    }

    #[test]
    fn the_walk_follows_secondary_servers_and_ends_at_a_source_a_loop_or_silence() {
        let walked = [hop("127.0.0.1"), hop("10.0.1.32")];
        // A secondary server's reference is the next server.
        assert_eq!(
            next(&reply(2, [10, 0, 1, 31]), &walked),
            Next::Ask(Ipv4Addr::new(10, 0, 1, 31))
        );
        // A primary, a local clock (either convention), an unsynchronized server, a loop.
        assert_eq!(next(&reply(1, *b"GPS\0"), &walked), Next::End);
        assert_eq!(next(&reply(2, [127, 127, 1, 0]), &walked), Next::End);
        assert_eq!(next(&reply(2, *b"LOCL"), &walked), Next::End);
        assert_eq!(next(&reply(16, [10, 0, 1, 31]), &walked), Next::End);
        let mut unsync = reply(3, [10, 0, 1, 31]);
        unsync.leap = LeapIndicator::Unsynchronized;
        assert_eq!(next(&unsync, &walked), Next::End);
        assert_eq!(next(&reply(4, [10, 0, 1, 32]), &walked), Next::End);
        // How the trace names each reference.
        assert_eq!(refid(&reply(1, *b"GPS\0")), "GPS");
        assert_eq!(refid(&reply(2, *b"LOCL")), "LOCL");
        assert_eq!(refid(&reply(2, [127, 127, 1, 1])), "127.127.1.1");
        assert_eq!(refid(&reply(1, [127, 127, 1, 1])), "127.127.1.1");
        assert_eq!(refid(&reply(1, [b'G', 0x07, 0, 0])), "71.7.0.0");
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // the walk's bound, measured on the wall clock
    fn a_silent_server_ends_the_walk_with_a_note_within_the_budget() {
        // A bound socket nobody reads from: the request is dropped, no answer comes.
        let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = silent.local_addr().unwrap().port();
        let w = Walk {
            hops: vec![hop("127.0.0.1")],
            next: Ipv4Addr::LOCALHOST,
            port,
            device_offset: 0.0,
            json: false,
        };
        let started = StdInstant::now();
        let out = walk(w, StdDuration::from_millis(300));
        assert!(started.elapsed() < StdDuration::from_secs(2), "{out}");
        assert_eq!(out.lines().filter(|l| l.starts_with(" server ")).count(), 1);
        assert!(
            out.ends_with("Info: 127.0.0.1 did not answer; the trace stops there.\n"),
            "{out}"
        );
    }
}
