use std::net::{Ipv4Addr, SocketAddrV4};

use super::access::{AccessClass, Acl, AclRule};
use super::auth::{Key, KeyType};
use super::config::{NtpConfig, RefClock};
use super::*;
use crate::engine::{Datagram, Engine, Input, Instant, Now, Output};
use crate::ntp::{Header, KissCode, LeapIndicator, Mac, Mode, Packet, ReferenceId};
use crate::time::{Duration, NtpTimestamp, Timestamp};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 31);
const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 99);

fn now(s: f64) -> Now {
    Now {
        instant: Instant::from_origin(Duration::from_secs_f64(s)),
        clock: Timestamp::from_secs(1_800_000_000) + Duration::from_secs_f64(s),
    }
}

fn server(config: impl FnOnce(&mut NtpConfig)) -> NtpNode {
    let mut c = NtpConfig::new(SERVER);
    c.refclock = Some(RefClock {
        unit: 0,
        stratum: 2,
    });
    c.serve_on.insert(SERVER);
    config(&mut c);
    NtpNode::new(c, vec![SERVER], Instant::ZERO, 1)
}

fn request(version: u8, xmt: u64) -> Header {
    Header::client_request(version, 6, NtpTimestamp(xmt))
}

fn deliver(n: &mut NtpNode, at: Now, from: Ipv4Addr, to: Ipv4Addr, bytes: &[u8]) -> Vec<Vec<u8>> {
    let d = Datagram {
        from: SocketAddrV4::new(from, 123),
        to: SocketAddrV4::new(to, 123),
        bytes,
        rx_timestamp: at.clock,
    };
    n.handle(at, Input::Datagram(d));
    std::iter::from_fn(|| n.poll_output())
        .filter_map(|o| {
            if let Output::Transmit(t) = o {
                Some(t.bytes)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn server_reply_echoes_version_and_origin() {
    let mut s = server(|_| {});
    let at = now(10.0);
    let replies = deliver(
        &mut s,
        at,
        CLIENT,
        SERVER,
        &Packet::new(request(3, 0x1234_5678_9ABC_DEF0)).to_vec(),
    );
    assert_eq!(replies.len(), 1);
    let r = Packet::parse(&replies[0]).unwrap().header;
    assert_eq!((r.mode, r.version, r.stratum), (Mode::Server, 3, 2));
    assert_eq!(r.origin_timestamp, NtpTimestamp(0x1234_5678_9ABC_DEF0));
    // The receive timestamp carries the interleaved-mode flag in its lowest bit (2^-32 s).
    assert_eq!(r.receive_timestamp, NtpTimestamp(at.clock.to_ntp().0 | 1));
    assert_eq!(r.reference_id, ReferenceId(*b"LOCL"));
    assert_eq!(r.leap, LeapIndicator::NoWarning);
    assert_eq!(s.server.replies, 1);
}

#[test]
fn bad_input_is_dropped_and_counted_per_reason() {
    let mut s = server(|_| {});
    assert!(deliver(&mut s, now(1.0), CLIENT, SERVER, &[0x1b; 20]).is_empty());
    // A mode 6 control query is never answered over the network.
    let mut control = Packet::new(request(2, 1)).to_vec();
    control[0] = 2 << 3 | 6;
    assert!(deliver(&mut s, now(1.0), CLIENT, SERVER, &control).is_empty());
    // A request to an address the server does not listen on.
    let other = Ipv4Addr::new(10, 0, 2, 1);
    assert!(
        deliver(
            &mut s,
            now(1.0),
            CLIENT,
            other,
            &Packet::new(request(4, 1)).to_vec()
        )
        .is_empty()
    );
    // A server reply nobody asked for.
    let mut reply = request(4, 5);
    reply.mode = Mode::Server;
    assert!(
        deliver(
            &mut s,
            now(1.0),
            CLIENT,
            SERVER,
            &Packet::new(reply).to_vec()
        )
        .is_empty()
    );
    assert_eq!(
        (
            s.drops.malformed,
            s.drops.control,
            s.drops.not_serving,
            s.drops.no_association
        ),
        (1, 1, 1, 1)
    );
}

/// A server with authentication on and HMAC-SHA256 key 9 trusted; the key.
fn signing_server() -> (NtpNode, Key) {
    let key = Key {
        kind: KeyType::HmacSha256,
        secret: b"k".to_vec(),
    };
    let s = server(|c| {
        c.authentication = true;
        c.keys.insert(9, key.clone());
        c.trusted.insert(9);
    });
    (s, key)
}

#[test]
fn signed_requests_get_signed_replies_and_bad_signatures_nothing() {
    let (mut s, key) = signing_server();
    let h = request(4, 77);
    let body = Packet::new(h).to_vec();
    let digest = key.digest(&body);
    let signed = Packet {
        mac: Some(Mac {
            key_id: 9,
            digest: &digest,
        }),
        ..Packet::new(h)
    }
    .to_vec();
    let replies = deliver(&mut s, now(1.0), CLIENT, SERVER, &signed);
    let r = Packet::parse(&replies[0]).unwrap();
    let mac = r.mac.expect("signed reply");
    assert_eq!(mac.key_id, 9);
    assert!(key.verify(&replies[0][..48], mac.digest));
    let mut forged = signed.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert!(deliver(&mut s, now(2.0), CLIENT, SERVER, &forged).is_empty());
    assert_eq!(s.drops.auth, 1);
}

#[test]
fn denied_sources_get_deny_only_with_kod() {
    for kod in [false, true] {
        let mut s = server(|c| {
            c.access.kod = kod;
            c.access.classes.insert(
                AccessClass::Server,
                Acl {
                    rules: vec![AclRule {
                        id: 1,
                        permit: false,
                        source: CLIENT,
                        wildcard: Ipv4Addr::UNSPECIFIED,
                    }],
                },
            );
        });
        let replies = deliver(
            &mut s,
            now(1.0),
            CLIENT,
            SERVER,
            &Packet::new(request(4, 5)).to_vec(),
        );
        if kod {
            let r = Packet::parse(&replies[0]).unwrap().header;
            assert_eq!((r.stratum, r.kiss_code()), (0, Some(KissCode::Deny)));
            assert_eq!(r.origin_timestamp, NtpTimestamp(5));
        } else {
            assert!(replies.is_empty());
        }
        assert_eq!(s.drops.denied, 1);
    }
}

#[test]
fn limited_clients_polling_too_fast_get_rate() {
    let mut s = server(|c| {
        c.access.kod = true;
        c.access.classes.insert(
            AccessClass::Limited,
            Acl {
                rules: vec![AclRule {
                    id: 1,
                    permit: true,
                    source: CLIENT,
                    wildcard: Ipv4Addr::UNSPECIFIED,
                }],
            },
        );
    });
    let first = deliver(
        &mut s,
        now(1.0),
        CLIENT,
        SERVER,
        &Packet::new(request(4, 1)).to_vec(),
    );
    assert_eq!(Packet::parse(&first[0]).unwrap().header.mode, Mode::Server);
    let second = deliver(
        &mut s,
        now(1.5),
        CLIENT,
        SERVER,
        &Packet::new(request(4, 2)).to_vec(),
    );
    assert_eq!(
        Packet::parse(&second[0]).unwrap().header.kiss_code(),
        Some(KissCode::Rate)
    );
    assert_eq!(s.drops.rate_limited, 1);
}

/// An iburst client 5 ms and 20 ppm off against a server on a 100-µs path: when did it send,
/// and when was its clock stepped (true seconds)?
fn iburst_startup(seconds: f64) -> (Vec<f64>, Vec<f64>) {
    use super::config::AssociationConfig;
    use crate::engine::ClockAdjustment;
    let mut s = server(|_| {});
    let mut c = NtpConfig::new(CLIENT);
    c.associations.push(AssociationConfig {
        minpoll: 4,
        maxpoll: 6,
        iburst: true,
        ..AssociationConfig::server(SERVER)
    });
    let mut client = NtpNode::new(c, vec![CLIENT], Instant::ZERO, 3);
    let mut stepped = 0.0;
    let clock = |t: f64, stepped: f64| {
        let mut n = now(t);
        n.clock += Duration::from_secs_f64(0.005 + 20e-6 * t + stepped);
        n
    };
    let (mut sent, mut steps) = (Vec::new(), Vec::new());
    let mut t = 0.0;
    while t < seconds {
        if client.poll_timeout().is_some_and(|d| d <= now(t).instant) {
            client.handle(clock(t, stepped), Input::Timeout);
        }
        while let Some(o) = client.poll_output() {
            match o {
                Output::Transmit(tx) => {
                    sent.push(t);
                    for reply in deliver(&mut s, now(t + 50e-6), CLIENT, SERVER, &tx.bytes) {
                        let at = clock(t + 100e-6, stepped);
                        let d = Datagram {
                            from: SocketAddrV4::new(SERVER, 123),
                            to: SocketAddrV4::new(CLIENT, 123),
                            bytes: &reply,
                            rx_timestamp: at.clock,
                        };
                        client.handle(at, Input::Datagram(d));
                    }
                }
                Output::AdjustClock(ClockAdjustment::Step(d)) => {
                    stepped += d.as_secs_f64();
                    steps.push(t);
                }
                _ => {}
            }
        }
        t += 0.01;
    }
    (sent, steps)
}

#[test]
fn after_the_initial_step_an_iburst_peer_is_polled_every_2_s_for_the_first_fit() {
    let (sent, steps) = iburst_startup(60.0);
    let step = steps[0];
    let after: Vec<f64> = sent.iter().copied().filter(|&t| t > step).collect();
    // Four more samples within ten seconds of the step (the frequency measurement's first
    // fit), not the burst's remainder followed by a 16-s poll.
    assert!(
        after.len() >= 4 && after[3] - step <= 10.0,
        "step at {step:.2} s; requests at {sent:.2?}"
    );
}

/// A request of an interleaved client: our previous reply's receive timestamp as origin, the
/// client's own receive timestamp of it, a fresh transmit timestamp.
fn interleaved_request(version: u8, xmt: u64, origin: NtpTimestamp, receive: u64) -> Header {
    Header {
        origin_timestamp: origin,
        receive_timestamp: NtpTimestamp(receive),
        ..request(version, xmt)
    }
}

/// The replies (with their tokens) to one request.
fn serve_one(n: &mut NtpNode, at: Now, h: Header) -> Vec<(Header, Option<crate::engine::TxToken>)> {
    let bytes = Packet::new(h).to_vec();
    let d = Datagram {
        from: SocketAddrV4::new(CLIENT, 123),
        to: SocketAddrV4::new(SERVER, 123),
        bytes: &bytes,
        rx_timestamp: at.clock,
    };
    n.handle(at, Input::Datagram(d));
    std::iter::from_fn(|| n.poll_output())
        .filter_map(|o| match o {
            Output::Transmit(t) => Some((Packet::parse(&t.bytes).unwrap().header, t.token)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_interleaved_client_gets_the_previous_replys_real_transmit_timestamp() {
    let mut s = server(|_| {});
    // First request, basic: the reply flags its receive timestamp (lowest bit set) and its
    // transmit timestamp (clear); nothing is remembered for a basic client.
    let r1 = serve_one(&mut s, now(10.0), request(4, 0x1111_0000));
    let [(h1, None)] = r1[..] else {
        panic!("{r1:?}")
    };
    assert_eq!(h1.origin_timestamp, NtpTimestamp(0x1111_0000));
    assert_eq!(
        (h1.receive_timestamp.0 & 1, h1.transmit_timestamp.0 & 1),
        (1, 0)
    );
    // Second, interleaved (origin = our receive timestamp): no earlier exchange is known, so a
    // basic reply, but this one is remembered under a transmit token.
    let q2 = interleaved_request(4, 0x2222_0000, h1.receive_timestamp, 0x2222_1000);
    let r2 = serve_one(&mut s, now(26.0), q2);
    let [(h2, Some(token))] = r2[..] else {
        panic!("{r2:?}")
    };
    assert_eq!(h2.origin_timestamp, q2.transmit_timestamp);
    // The driver reports when reply 2 really left: 3.5 µs after its estimate.
    let left = now(26.0).clock + Duration::from_nanos(3_500);
    s.handle(
        now(26.0),
        Input::TxTimestamp {
            token,
            timestamp: left,
        },
    );
    // Third: the client names reply 2. The answer is interleaved: origin = the request's
    // receive field, receive = this exchange's, transmit = reply 2's real departure.
    let q3 = interleaved_request(4, 0x3333_0000, h2.receive_timestamp, 0x3333_1000);
    let r3 = serve_one(&mut s, now(42.0), q3);
    let [(h3, Some(_))] = r3[..] else {
        panic!("{r3:?}")
    };
    assert_eq!(h3.origin_timestamp, q3.receive_timestamp);
    assert_eq!(h3.transmit_timestamp, left.to_ntp());
    assert_eq!(h3.receive_timestamp.0 | 1, now(42.0).clock.to_ntp().0 | 1);
    assert_eq!(s.server.interleaved, 1);
    // The same request again (a replay) finds nothing left to interleave: basic.
    let r4 = serve_one(&mut s, now(43.0), q3);
    assert_eq!(r4[0].0.origin_timestamp, q3.transmit_timestamp);
    assert_eq!(s.server.interleaved, 1);
    // Version 3 never interleaves.
    let q5 = interleaved_request(3, 0x5555_0000, h3.receive_timestamp, 0x5555_1000);
    let r5 = serve_one(&mut s, now(44.0), q5);
    assert_eq!(r5[0], (r5[0].0, None));
    assert_eq!(r5[0].0.origin_timestamp, q5.transmit_timestamp);
}

#[test]
fn a_local_reference_is_never_later_than_the_flagged_transmit_timestamp() {
    // Clients drop a reply whose reference time is after its transmit time; clearing the
    // transmit timestamp's flag bit once made that true of every reply sent at an odd instant.
    let mut s = server(|_| {});
    for k in 0..64 {
        let at = now(10.0 + f64::from(k) * 1.37e-3);
        let replies = deliver(
            &mut s,
            at,
            CLIENT,
            SERVER,
            &Packet::new(request(4, 99)).to_vec(),
        );
        let h = Packet::parse(&replies[0]).unwrap().header;
        assert!(
            h.reference_timestamp.0 <= h.transmit_timestamp.0,
            "{k}: reference {:x} after transmit {:x}",
            h.reference_timestamp.0,
            h.transmit_timestamp.0
        );
    }
}

/// How the interleaved-client exchanges below go wrong, if they do.
#[derive(Clone, Copy, Default)]
struct Faults {
    /// The reply to this request (counting from 0) is lost.
    lose_reply: Option<usize>,
    /// The server never learns when its replies left (a driver without transmit timestamps):
    /// it can only answer basic.
    no_server_tx_timestamps: bool,
}

/// A client of a server on one exact clock, 100 µs each way, requests leaving 30 µs after the
/// client read its clock for them and replies 40 µs after their transmit timestamp was written
/// (a kernel stack's send path). Returns the
/// client's requests and its association after `polls` polls 16 s apart.
fn late_replies(interleave: bool, polls: usize, faults: Faults) -> (Vec<Header>, Association) {
    use super::config::AssociationConfig;
    let mut s = server(|_| {});
    let mut c = NtpConfig::new(CLIENT);
    // The client follows a stratum-1 local reference, never the server, so its clock is never
    // adjusted and every sample is measured against the exact clock.
    c.refclock = Some(RefClock {
        unit: 0,
        stratum: 1,
    });
    c.associations.push(AssociationConfig {
        version: 4,
        minpoll: 4,
        maxpoll: 4,
        interleave,
        ..AssociationConfig::server(SERVER)
    });
    let mut client = NtpNode::new(c, vec![CLIENT], Instant::ZERO, 7);
    fn datagram(from: Ipv4Addr, to: Ipv4Addr, bytes: &[u8], at: Now) -> Datagram<'_> {
        Datagram {
            from: SocketAddrV4::new(from, 123),
            to: SocketAddrV4::new(to, 123),
            bytes,
            rx_timestamp: at.clock,
        }
    }
    let mut requests = Vec::new();
    for k in 0..polls {
        let t = 16.0 * k as f64;
        client.handle(now(t), Input::Timeout);
        let outputs: Vec<Output> = std::iter::from_fn(|| client.poll_output()).collect();
        for o in outputs {
            let Output::Transmit(tx) = o else { continue };
            requests.push(Packet::parse(&tx.bytes).unwrap().header);
            // The request leaves 30 µs after the poll read the clock (the kernel's timestamp).
            let t = t + 30e-6;
            if let Some(token) = tx.token {
                let timestamp = now(t).clock;
                client.handle(now(t), Input::TxTimestamp { token, timestamp });
            }
            let at = now(t + 100e-6);
            s.handle(at, Input::Datagram(datagram(CLIENT, SERVER, &tx.bytes, at)));
            let replies: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
            for r in replies {
                let Output::Transmit(reply) = r else { continue };
                let left = now(t + 140e-6);
                if let Some(token) = reply.token
                    && !faults.no_server_tx_timestamps
                {
                    let timestamp = left.clock;
                    s.handle(left, Input::TxTimestamp { token, timestamp });
                }
                if faults.lose_reply == Some(k) {
                    continue;
                }
                let at = now(t + 240e-6);
                client.handle(
                    at,
                    Input::Datagram(datagram(SERVER, CLIENT, &reply.bytes, at)),
                );
            }
        }
    }
    (requests, client.associations()[0].clone())
}

/// Filter offsets and delays, newest first, in ns (rounded: the receive timestamp's flag bit is
/// worth 0.23 ns).
fn filter_ns(a: &Association) -> Vec<(i64, i64)> {
    a.filter
        .iter()
        .flatten()
        .map(|s| {
            (
                (s.offset * 1e9).round() as i64,
                (s.delay * 1e9).round() as i64,
            )
        })
        .collect()
}

#[test]
fn a_basic_client_sees_half_the_servers_send_latency_as_offset() {
    let (requests, a) = late_replies(false, 8, Faults::default());
    assert!(requests.iter().all(|q| q.origin_timestamp.is_zero()));
    assert_eq!(filter_ns(&a), vec![(-20_000, 240_000); 8]);
    assert_eq!(a.counters.interleaved, 0);
}

#[test]
fn an_interleaved_client_measures_with_the_servers_real_transmit_timestamps() {
    let (requests, a) = late_replies(true, 8, Faults::default());
    // The first request is basic; each later one names the previous reply by its receive
    // timestamp and carries a random receive field of its own.
    assert!(requests[0].origin_timestamp.is_zero() && requests[0].receive_timestamp.is_zero());
    for q in &requests[1..] {
        assert_eq!(
            q.origin_timestamp.0 & 1,
            1,
            "the server's flagged receive timestamp"
        );
        assert!(!q.receive_timestamp.is_zero() && q.receive_timestamp != q.transmit_timestamp);
        assert_eq!(q.version, 4);
    }
    // The server remembers only exchanges an interleaved request started, so replies 0 and 1
    // are basic; from reply 2 on each completes the exchange before it. The six interleaved
    // samples are exact (the true offset is zero, the path 2 × 100 µs).
    assert_eq!(a.counters.interleaved, 6);
    let f = filter_ns(&a);
    assert_eq!(f[..6], [(0, 200_000); 6]);
    assert_eq!(f[6..], [(-20_000, 240_000); 2]);
}

#[test]
fn a_lost_reply_leaves_interleaved_mode_until_the_next_answer() {
    let (requests, a) = late_replies(
        true,
        8,
        Faults {
            lose_reply: Some(3),
            ..Faults::default()
        },
    );
    // Request 4 has no answered exchange to name: basic. Request 5 names reply 4 again.
    assert!(requests[4].origin_timestamp.is_zero() && requests[4].receive_timestamp.is_zero());
    assert_eq!(requests[5].origin_timestamp.0 & 1, 1);
    // Samples, oldest first: exchanges 0 and 1 basic, 1 interleaved (reply 2); reply 3 lost;
    // 4 and 5 basic, 5 and 6 interleaved (replies 6 and 7).
    assert_eq!(a.counters.interleaved, 3);
    let (exact, basic) = ((0, 200_000), (-20_000, 240_000));
    assert_eq!(
        filter_ns(&a),
        [exact, exact, basic, basic, exact, basic, basic]
    );
}

#[test]
fn a_server_that_cannot_interleave_gets_basic_samples_used() {
    let (requests, a) = late_replies(
        true,
        6,
        Faults {
            no_server_tx_timestamps: true,
            ..Faults::default()
        },
    );
    // The client keeps asking; every answer is basic and every one is used.
    assert!(requests[1..].iter().all(|q| !q.receive_timestamp.is_zero()));
    assert_eq!(a.counters.interleaved, 0);
    assert_eq!(filter_ns(&a), vec![(-20_000, 240_000); 6]);
}

/// The transmits a request draws, whole.
fn transmits(n: &mut NtpNode, at: Now, bytes: &[u8]) -> Vec<crate::engine::Transmit> {
    let d = Datagram {
        from: SocketAddrV4::new(CLIENT, 123),
        to: SocketAddrV4::new(SERVER, 123),
        bytes,
        rx_timestamp: at.clock,
    };
    n.handle(at, Input::Datagram(d));
    std::iter::from_fn(|| n.poll_output())
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn only_unsigned_basic_replies_have_their_transmit_timestamp_written_at_send() {
    let (mut s, key) = signing_server();
    let late = |t: &[crate::engine::Transmit]| -> Vec<bool> {
        t.iter().map(|t| t.late_ntp_transmit).collect()
    };
    // A basic reply: marked, and what the driver writes lands in bytes 40–47, flag bit clear.
    let mut r = transmits(&mut s, now(1.0), &Packet::new(request(4, 1)).to_vec());
    assert_eq!(late(&r), vec![true]);
    let at = now(1.0).clock + Duration::from_nanos(7_777);
    stamp_transmit(&mut r[0].bytes, at);
    let h = Packet::parse(&r[0].bytes).unwrap().header;
    assert_eq!(h.transmit_timestamp, NtpTimestamp(at.to_ntp().0 & !1));
    assert_eq!(h.origin_timestamp, NtpTimestamp(1), "nothing else moves");
    // Too short to hold the field: left alone.
    let mut short = vec![0u8; 44];
    stamp_transmit(&mut short, at);
    assert_eq!(short, vec![0u8; 44]);
    // A signed reply: its MAC covers the field, so it leaves as signed.
    let body = Packet::new(request(4, 2)).to_vec();
    let digest = key.digest(&body);
    let signed = Packet {
        mac: Some(Mac {
            key_id: 9,
            digest: &digest,
        }),
        ..Packet::new(request(4, 2))
    };
    assert_eq!(
        late(&transmits(&mut s, now(2.0), &signed.to_vec())),
        vec![false]
    );
    // An interleaved reply carries the previous reply's real transmit time: never rewritten.
    let first = transmits(
        &mut s,
        now(3.0),
        &Packet::new(interleaved_request(4, 3, NtpTimestamp(1), 30)).to_vec(),
    );
    let h1 = Packet::parse(&first[0].bytes).unwrap().header;
    let token = first[0].token.expect("remembered for the next request");
    let timestamp = now(3.0).clock;
    s.handle(now(3.0), Input::TxTimestamp { token, timestamp });
    let q = interleaved_request(4, 4, h1.receive_timestamp, 40);
    let second = transmits(&mut s, now(4.0), &Packet::new(q).to_vec());
    assert_eq!(s.server.interleaved, 1);
    assert_eq!(late(&second), vec![false]);
}

/// A worker's shard and the engine answer the same requests with the same bytes: basic,
/// interleaved (after the engine and the shard learn the same transmit times), signed, forged,
/// denied and rate-limited ones, in any order.
mod shard_equivalence {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    /// One client action: (client number, kind, seconds since the previous action).
    fn actions() -> impl Strategy<Value = Vec<(u8, u8, u16)>> {
        proptest::collection::vec((0u8..4, 0u8..6, 0u16..3000), 1..60)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn a_shard_answers_like_the_engine(script in actions()) {
            let key = Key { kind: KeyType::HmacSha256, secret: b"k".to_vec() };
            let mut engine = server(|c| {
                c.keys.insert(9, key.clone());
                c.trusted.insert(9);
                c.access.kod = true;
                // Client 3 is limited (rate-limited, kissed); client 2 is denied (kissed).
                c.access.classes.insert(AccessClass::Limited, Acl { rules: vec![AclRule {
                    id: 1, permit: true, source: Ipv4Addr::new(10, 0, 1, 3),
                    wildcard: Ipv4Addr::UNSPECIFIED }] });
                let rule = |id, permit, last| AclRule {
                    id, permit, source: Ipv4Addr::new(10, 0, 1, last),
                    wildcard: Ipv4Addr::UNSPECIFIED };
                c.access.classes.insert(AccessClass::Server, Acl {
                    rules: vec![rule(2, false, 2), rule(3, true, 0), rule(4, true, 1)] });
            });
            let mut shard = ServerShard::new(Arc::new(engine.config().clone()), engine.served());
            // Per client: the last reply's receive and transmit fields, for interleaving.
            let mut last: [Option<(NtpTimestamp, NtpTimestamp)>; 4] = [None; 4];
            let mut t = 1.0;
            for (k, (client, kind, gap)) in script.into_iter().enumerate() {
                t += f64::from(gap) / 1000.0;
                let at = now(t);
                let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 1, client), 123);
                let xmt = 0x1000_0000 + k as u64;
                let h = match (kind, last[usize::from(client)]) {
                    (0 | 1, Some((rx, tx))) => interleaved_request(4, xmt, rx, tx.0 + 5),
                    (2, _) => request(3, xmt),
                    _ => request(4, xmt),
                };
                let mut bytes = Packet::new(h).to_vec();
                if kind >= 4 {
                    let digest = key.digest(&bytes);
                    bytes = Packet { mac: Some(Mac { key_id: 9, digest: &digest }), ..Packet::new(h) }
                        .to_vec();
                    if kind == 5 {
                        *bytes.last_mut().unwrap() ^= 1;
                    }
                }
                let d = Datagram { from, to: SocketAddrV4::new(SERVER, 123), bytes: &bytes, rx_timestamp: at.clock };
                engine.handle(at, Input::Datagram(d));
                let from_engine: Vec<_> = std::iter::from_fn(|| engine.poll_output())
                    .filter_map(|o| match o { Output::Transmit(t) => Some(t), _ => None })
                    .collect();
                let mut out = [0u8; REPLY_MAX];
                let reply = shard.answer(at, from, SocketAddrV4::new(SERVER, 123), &bytes, at.clock, &mut out);
                prop_assert_eq!(from_engine.len(), usize::from(reply.is_some()));
                if let (Some(e), Some(r)) = (from_engine.first(), reply) {
                    prop_assert_eq!(&e.bytes[..], &out[..r.len]);
                    prop_assert_eq!(e.late_ntp_transmit, r.late_transmit);
                    prop_assert_eq!(e.token.is_some(), r.token.is_some());
                    let p = Packet::parse(&out[..r.len]).unwrap().header;
                    if p.stratum != 0 {
                        last[usize::from(client)] = Some((p.receive_timestamp, p.transmit_timestamp));
                    }
                    // Both learn that the reply left 3 µs after it was built.
                    let left = at.clock + Duration::from_micros(3);
                    if let (Some(te), Some(ts)) = (e.token, r.token) {
                        engine.handle(at, Input::TxTimestamp { token: te, timestamp: left });
                        shard.transmitted(ts, left);
                    }
                }
                prop_assert_eq!(engine.server, shard.counters);
                prop_assert_eq!(engine.drops, shard.drops);
            }
        }
    }
}

/// A symmetric peer measures with our transmit timestamp, so it is written at send
/// (`late_ntp_transmit`); the driver reports the value written and the peer's echo of it is
/// what the association accepts. Before this, the timestamp was the engine's reading before the
/// driver's work and the scheduler's delay: a chronyd peer saw meridian 25 µs off idle and
/// ~300 µs off under load.
#[test]
fn a_symmetric_peers_echo_of_the_late_written_transmit_timestamp_is_accepted() {
    use super::config::AssociationConfig;
    use crate::engine::Transmit;
    let peer = Ipv4Addr::new(10, 0, 1, 77);
    let run = |report: bool| {
        let mut c = NtpConfig::new(CLIENT);
        c.associations.push(AssociationConfig {
            minpoll: 4,
            ..AssociationConfig::peer(peer)
        });
        let mut n = NtpNode::new(c, vec![CLIENT], Instant::ZERO, 3);
        n.handle(now(0.0), Input::Timeout);
        let sent: Vec<Transmit> = std::iter::from_fn(|| n.poll_output())
            .filter_map(|o| match o {
                Output::Transmit(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 1);
        let mut t = sent[0].clone();
        assert!(t.late_ntp_transmit, "a symmetric packet is written at send");
        // The driver writes the clock 40 µs later, reports it, then the kernel's timestamp.
        let written = now(0.0).clock + Duration::from_micros(40);
        stamp_transmit(&mut t.bytes, written);
        let token = t.token.expect("a token");
        if report {
            n.handle(now(0.0), Input::TransmitStamped { token, at: written });
        }
        n.handle(
            now(0.0),
            Input::TxTimestamp {
                token,
                timestamp: written + Duration::from_micros(5),
            },
        );
        // The peer answers, echoing what arrived.
        let ours = Packet::parse(&t.bytes).unwrap().header;
        let reply = Header {
            origin_timestamp: ours.transmit_timestamp,
            receive_timestamp: (now(0.001).clock).to_ntp(),
            transmit_timestamp: (now(0.0011).clock).to_ntp(),
            reference_timestamp: now(-10.0).clock.to_ntp(),
            ..Header {
                stratum: 2,
                leap: LeapIndicator::NoWarning,
                ..Header::client_request(4, 4, NtpTimestamp::ZERO)
            }
        };
        let reply = Header {
            mode: Mode::SymmetricActive,
            ..reply
        };
        deliver(
            &mut n,
            now(0.002),
            peer,
            CLIENT,
            &Packet::new(reply).to_vec(),
        );
        n.associations()[0].counters
    };
    let reported = run(true);
    assert_eq!((reported.received, reported.bogus), (1, 0));
    // Without the report the echo does not match what the engine wrote: bogus.
    let unreported = run(false);
    assert_eq!((unreported.received, unreported.bogus), (0, 1));
}
