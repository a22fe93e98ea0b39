//! `preempt`: a server whose reply fails authentication leaves selection, and comes back only
//! when no other server is available and its replies since were clean.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::auth::{Key, KeyType};
use super::config::{AssociationConfig, NtpConfig};
use super::*;
use crate::engine::{Datagram, Engine, Input, Instant, Now, Output};
use crate::ntp::{Header, LeapIndicator, Mac, Mode, Packet, ReferenceId};
use crate::time::{Duration, NtpShort, NtpTimestamp, Timestamp};

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn key() -> Key {
    Key {
        kind: KeyType::HmacSha256,
        secret: b"shared".to_vec(),
    }
}

/// A client of A (stratum 1, `preempt` as given) and B (stratum 2), both signed with key 1.
fn client(preempt: bool) -> NtpNode {
    let mut c = NtpConfig::new(ME);
    c.authentication = true;
    c.keys.insert(1, key());
    c.trusted.insert(1);
    for (addr, preempt) in [(A, preempt), (B, false)] {
        c.associations.push(AssociationConfig {
            minpoll: 4,
            maxpoll: 4,
            key: Some(1),
            preempt,
            ..AssociationConfig::server(addr)
        });
    }
    NtpNode::new(c, vec![ME], Instant::ZERO, 3)
}

fn clock(t: Instant) -> Timestamp {
    Timestamp::from_secs(1_800_000_000) + t.since_origin()
}

/// The server's signed answer to `request` (a bad signature if `corrupt`).
fn answer(request: &[u8], from: Ipv4Addr, at: Timestamp, corrupt: bool) -> Vec<u8> {
    let req = Packet::parse(request).unwrap().header;
    let h = Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode: Mode::Server,
        stratum: if from == A { 1 } else { 2 },
        poll: 4,
        precision: -20,
        root_delay: NtpShort(0),
        root_dispersion: NtpShort(0),
        reference_id: ReferenceId::from_ascii(b"GPS\0"),
        reference_timestamp: (at - Duration::from_secs(10)).to_ntp(),
        origin_timestamp: req.transmit_timestamp,
        receive_timestamp: at.to_ntp(),
        transmit_timestamp: at.to_ntp(),
    };
    let mut digest = key().digest(&Packet::new(h).to_vec());
    if corrupt {
        digest[0] ^= 1;
    }
    Packet {
        mac: Some(Mac {
            key_id: 1,
            digest: &digest,
        }),
        ..Packet::new(h)
    }
    .to_vec()
}

/// Runs `n` from `from` to `to` s: A answers every request (its reply to the first request
/// after `corrupt_at` s badly signed), B only while `b_answers`.
fn run(n: &mut NtpNode, from: f64, to: f64, corrupt_at: Option<f64>, b_answers: bool) {
    let at = |s: f64| Instant::from_origin(Duration::from_secs_f64(s));
    let mut corrupt_at = corrupt_at.map(at);
    let mut t = at(from);
    while let Some(next) = n.poll_timeout().filter(|&d| d <= at(to)) {
        t = next.max(t);
        n.handle(
            Now {
                instant: t,
                clock: clock(t),
            },
            Input::Timeout,
        );
        let sent: Vec<_> = std::iter::from_fn(|| n.poll_output())
            .filter_map(|o| match o {
                Output::Transmit(x) => Some(x),
                _ => None,
            })
            .collect();
        for x in sent {
            let server = *x.to.ip();
            if server == B && !b_answers {
                continue;
            }
            let corrupt = server == A && corrupt_at.is_some_and(|c| t >= c);
            if corrupt {
                corrupt_at = None;
            }
            let back = t.after(Duration::from_millis(2));
            let bytes = answer(
                &x.bytes,
                server,
                clock(t.after(Duration::from_millis(1))),
                corrupt,
            );
            n.handle(
                Now {
                    instant: back,
                    clock: clock(back),
                },
                Input::Datagram(Datagram {
                    from: SocketAddrV4::new(server, 123),
                    to: SocketAddrV4::new(ME, 123),
                    bytes: &bytes,
                    rx_timestamp: clock(back),
                }),
            );
            while n.poll_output().is_some() {}
        }
    }
}

#[test]
fn preempt_takes_a_server_out_on_an_authentication_error_until_it_is_the_only_one_left() {
    for preempt in [true, false] {
        let mut n = client(preempt);
        run(&mut n, 0.0, 200.0, None, true);
        assert_eq!(n.status().reference, Reference::Peer(A), "stratum 1 first");
        // One badly signed reply from A at 200 s; every later one is clean.
        run(&mut n, 200.0, 500.0, Some(200.0), true);
        assert_eq!(n.associations()[0].counters.auth, 1);
        let expected = if preempt { B } else { A };
        assert_eq!(
            n.status().reference,
            Reference::Peer(expected),
            "preempt {preempt}: after the error, with B available"
        );
        let flags = n.sessions(Instant::from_origin(Duration::from_secs(500)))[0].flags;
        assert_eq!((flags.preempted, flags.candidate), (preempt, !preempt));
        // B goes silent: with no other server, a preempted A whose replies since were clean
        // is let back.
        run(&mut n, 500.0, 900.0, None, false);
        assert_eq!(
            n.status().reference,
            Reference::Peer(A),
            "preempt {preempt}"
        );
        assert!(n.associations()[0].preempted.is_none());
    }
}

#[test]
fn a_forged_bad_reply_does_not_preempt() {
    // A badly signed packet that answers no request of ours (an off-path forger cannot know
    // our random transmit field) changes nothing.
    let mut n = client(true);
    run(&mut n, 0.0, 200.0, None, true);
    let t = Instant::from_origin(Duration::from_secs(200));
    let forged = answer(
        &Packet::new(Header::client_request(4, 4, NtpTimestamp(0xdead_beef))).to_vec(),
        A,
        clock(t),
        true,
    );
    n.handle(
        Now {
            instant: t,
            clock: clock(t),
        },
        Input::Datagram(Datagram {
            from: SocketAddrV4::new(A, 123),
            to: SocketAddrV4::new(ME, 123),
            bytes: &forged,
            rx_timestamp: clock(t),
        }),
    );
    assert_eq!(n.associations()[0].counters.auth, 1);
    assert!(n.associations()[0].preempted.is_none());
    run(&mut n, 200.0, 400.0, None, true);
    assert_eq!(n.status().reference, Reference::Peer(A));
}
