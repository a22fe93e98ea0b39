//! Single hostile packets and forged peers against the NTP engine. Each test failed before the
//! edge bounds, the passive-association rules or the reaping were in.

use std::net::{Ipv4Addr, SocketAddrV4};

use super::config::{AssociationConfig, NtpConfig, RefClock};
use super::*;
use crate::engine::{Datagram, Engine, Input, Instant, Now, Output, Transmit};
use crate::ntp::{Header, LeapIndicator, Mode, Packet, ReferenceId};
use crate::time::{Duration, NtpShort, NtpTimestamp, Timestamp};

const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const UPSTREAM: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn at(s: f64) -> Now {
    Now {
        instant: Instant::from_origin(Duration::from_secs_f64(s)),
        clock: Timestamp::from_secs(1_800_000_000) + Duration::from_secs_f64(s),
    }
}

fn client_of_upstream() -> NtpNode {
    client_of_upstream_with(false)
}

fn client_of_upstream_with(iburst: bool) -> NtpNode {
    let mut c = NtpConfig::new(ME);
    c.associations.push(AssociationConfig {
        minpoll: 4,
        maxpoll: 6,
        iburst,
        ..AssociationConfig::server(UPSTREAM)
    });
    NtpNode::new(c, vec![ME], Instant::ZERO, 7)
}

fn drain(n: &mut NtpNode) -> (Vec<Transmit>, Vec<ClockAdjustment>) {
    let (mut tx, mut adj) = (Vec::new(), Vec::new());
    while let Some(o) = n.poll_output() {
        match o {
            Output::Transmit(t) => tx.push(t),
            Output::AdjustClock(a) => adj.push(a),
            Output::Event(_) => {}
        }
    }
    (tx, adj)
}

fn deliver(
    n: &mut NtpNode,
    now: Now,
    from: Ipv4Addr,
    h: Header,
) -> (Vec<Transmit>, Vec<ClockAdjustment>) {
    let bytes = Packet::new(h).to_vec();
    n.handle(
        now,
        Input::Datagram(Datagram {
            from: SocketAddrV4::new(from, 123),
            to: SocketAddrV4::new(ME, 123),
            bytes: &bytes,
            rx_timestamp: now.clock,
        }),
    );
    drain(n)
}

fn header(mode: Mode, stratum: u8) -> Header {
    Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode,
        stratum,
        poll: 6,
        precision: -20,
        root_delay: NtpShort(0),
        root_dispersion: NtpShort(0),
        reference_id: ReferenceId::from_ascii(b"GPS\0"),
        reference_timestamp: NtpTimestamp::ZERO,
        origin_timestamp: NtpTimestamp::ZERO,
        receive_timestamp: NtpTimestamp::ZERO,
        transmit_timestamp: NtpTimestamp::ZERO,
    }
}

/// An honest answer to `request` sent at `now`: a server whose clock is `offset` s ahead of ours
/// and 1 ms away each way.
fn answer(request: &Transmit, now: Now, offset: f64, mode: Mode) -> Header {
    let req = Packet::parse(&request.bytes).unwrap().header;
    let theirs = |t: Timestamp| (t + Duration::from_secs_f64(offset)).to_ntp();
    Header {
        origin_timestamp: req.transmit_timestamp,
        receive_timestamp: theirs(now.clock + Duration::from_millis(1)),
        transmit_timestamp: theirs(now.clock + Duration::from_millis(1)),
        reference_timestamp: theirs(now.clock - Duration::from_secs(10)),
        ..header(mode, 1)
    }
}

/// Runs `n` to `end` s as a driver would; every packet to the upstream is answered honestly,
/// 2 ms later; `each` runs every `period` s (the other parties' schedule). Returns the number of
/// requests to the upstream.
fn run(
    n: &mut NtpNode,
    from: f64,
    end: f64,
    period: f64,
    mut each: impl FnMut(&mut NtpNode, Now),
) -> usize {
    let mut sent_upstream = 0;
    let mut cur = at(from).instant;
    let period = Duration::from_secs_f64(period);
    let mut next_each = cur.after(period);
    let clock = |t: Instant| at(0.0).clock + t.since_origin();
    for _ in 0..1_000_000 {
        // Instants straight from the engine: a round trip through f64 could land a tick early.
        let t = n
            .poll_timeout()
            .map_or(next_each, |t| t.max(cur).min(next_each));
        if t > at(end).instant {
            break;
        }
        cur = t;
        let now = Now {
            instant: t,
            clock: clock(t),
        };
        if t == next_each {
            next_each = next_each.after(period);
            each(n, now);
            continue;
        }
        n.handle(now, Input::Timeout);
        let (tx, _) = drain(n);
        for tx in tx.iter().filter(|t| *t.to.ip() == UPSTREAM) {
            sent_upstream += 1;
            let later = t.after(Duration::from_millis(2));
            let reply = answer(tx, now, 0.0, Mode::Server);
            deliver(
                n,
                Now {
                    instant: later,
                    clock: clock(later),
                },
                UPSTREAM,
                reply,
            );
        }
        assert!(
            n.poll_timeout().is_none_or(|d| d > cur),
            "timer due again at {cur:?}"
        );
    }
    sent_upstream
}

#[test]
fn a_rate_kiss_with_poll_127_slows_the_client_down_instead_of_flooding() {
    // With iburst, so the kiss also has a burst to stop.
    let mut n = client_of_upstream_with(true);
    n.handle(at(0.0), Input::Timeout);
    let (tx, _) = drain(&mut n);
    let req = Packet::parse(&tx[0].bytes).unwrap().header;
    let kiss = Header {
        leap: LeapIndicator::Unsynchronized,
        stratum: 0,
        poll: 127,
        reference_id: ReferenceId(*b"RATE"),
        origin_timestamp: req.transmit_timestamp,
        transmit_timestamp: req.transmit_timestamp,
        ..header(Mode::Server, 0)
    };
    deliver(&mut n, at(0.01), UPSTREAM, kiss);
    assert_eq!(
        n.associations()[0].poll,
        6,
        "raised to its maxpoll, no further"
    );
    // 600 s at 2^6 s: about ten requests, not tens of thousands.
    // The next request waits a whole 2^6 s: the burst does not go on at 2-s spacing.
    assert!(n.poll_timeout().is_some_and(|t| t >= at(64.0).instant));
    // Then one iburst (8 at 2 s: still unreachable) and every 2^6 s: tens, not tens of
    // thousands.
    let sent = run(&mut n, 0.01, 600.0, 1000.0, |_, _| {});
    assert!((8..=18).contains(&sent), "{sent} requests in 600 s");
}

#[test]
fn forged_symmetric_peers_are_answered_but_never_steer_the_clock() {
    let mut n = client_of_upstream();
    let forgers = [198, 199, 200].map(|h| Ipv4Addr::new(203, 0, 113, h));
    // Each forger opens with a mode-1 packet, then answers our passive replies as a perfect
    // peer would — 100 ms ahead of true time.
    for f in forgers {
        let open = Header {
            transmit_timestamp: (at(0.5).clock + Duration::from_millis(100)).to_ntp(),
            ..header(Mode::SymmetricActive, 1)
        };
        deliver(&mut n, at(0.5), f, open);
    }
    let mut steps = Vec::new();
    let mut replies_to_forgers = 0;
    // Every 16 s each forger sends again, echoing our last transmit to it.
    run(&mut n, 0.5, 300.0, 16.0, |n, now| {
        let s = now.instant.since_origin().as_secs_f64();
        {
            for f in forgers {
                let Some(a) = n.associations().iter().find(|a| a.config.address == f) else {
                    continue;
                };
                let h = Header {
                    origin_timestamp: a.org_wire,
                    // Our reply arrived 1 ms after we sent it, on a clock 100 ms ahead.
                    receive_timestamp: (a.t1.unwrap_or(now.clock) + Duration::from_millis(101))
                        .to_ntp(),
                    transmit_timestamp: (now.clock + Duration::from_millis(101)).to_ntp(),
                    ..header(Mode::SymmetricActive, 1)
                };
                let (tx, adj) = deliver(n, at(s + 0.001), f, h);
                replies_to_forgers += tx.len();
                steps.extend(adj);
            }
        }
    });
    assert!(replies_to_forgers > 0, "forged peers are still answered");
    assert_eq!(n.server.passive_untrusted, 3);
    assert_eq!(n.system().reference, Reference::Peer(UPSTREAM));
    for a in steps {
        if let ClockAdjustment::Step(d) = a {
            assert!(d.abs() < Duration::from_millis(10), "stepped {d}");
        }
    }
}

#[test]
fn spoofed_passive_associations_expire_even_on_a_server_only_device() {
    let mut c = NtpConfig::new(ME);
    c.refclock = Some(RefClock {
        unit: 0,
        stratum: 2,
    });
    c.serve_on.insert(ME);
    let mut n = NtpNode::new(c, vec![ME], Instant::ZERO, 1);
    for i in 0..100u8 {
        let from = Ipv4Addr::new(198, 51, 100, i);
        // Half of them fail the checks on their first packet (a zero transmit timestamp).
        let xmt = if i % 2 == 0 {
            (at(1.0).clock).to_ntp()
        } else {
            NtpTimestamp::ZERO
        };
        let h = Header {
            transmit_timestamp: xmt,
            poll: 17,
            ..header(Mode::SymmetricActive, 3)
        };
        deliver(&mut n, at(1.0), from, h);
    }
    assert_eq!(n.associations().len(), 100, "every dynamic slot taken");
    let another = Header {
        transmit_timestamp: at(2.0).clock.to_ntp(),
        ..header(Mode::SymmetricActive, 3)
    };
    deliver(&mut n, at(2.0), Ipv4Addr::new(203, 0, 113, 1), another);
    assert_eq!(n.drops.passive_refused, 1);
    // A deadline exists although nothing polls, and it is at most 8 × 2^10 s away.
    let due = n.poll_timeout().expect("an expiry deadline");
    assert!(due <= at(1.0 + 8.0 * 1024.0).instant, "{due:?}");
    let mut cur = due;
    for _ in 0..10 {
        n.handle(at(cur.since_origin().as_secs_f64()), Input::Timeout);
        match n.poll_timeout() {
            Some(d) => cur = d.max(cur),
            None => break,
        }
    }
    assert!(
        n.associations().is_empty(),
        "{} left",
        n.associations().len()
    );
    assert_eq!(n.server.passive_expired, 100);
    // And the slots are free again.
    deliver(
        &mut n,
        at(cur.since_origin().as_secs_f64() + 1.0),
        Ipv4Addr::new(203, 0, 113, 1),
        another,
    );
    assert_eq!(n.associations().len(), 1);
}

#[test]
fn reaping_keeps_the_system_peer_pointing_at_the_same_association() {
    // A configured upstream after two dynamic associations would not happen (configured ones come
    // first), so check the other direction: reaping a dynamic association before a later one
    // keeps tokens and the system peer consistent.
    let mut n = client_of_upstream();
    let a = Ipv4Addr::new(203, 0, 113, 5);
    let b = Ipv4Addr::new(203, 0, 113, 6);
    for f in [a, b] {
        let h = Header {
            transmit_timestamp: at(1.0).clock.to_ntp(),
            ..header(Mode::SymmetricActive, 3)
        };
        deliver(&mut n, at(1.0), f, h);
    }
    assert_eq!(n.associations().len(), 3);
    // Keep b alive, let a fall silent; the upstream keeps answering.
    run(&mut n, 1.0, 2000.0, 64.0, |n, now| {
        let h = Header {
            transmit_timestamp: now.clock.to_ntp(),
            ..header(Mode::SymmetricActive, 3)
        };
        deliver(n, now, b, h);
    });
    let addrs: Vec<Ipv4Addr> = n.associations().iter().map(|a| a.config.address).collect();
    assert_eq!(addrs, vec![UPSTREAM, b]);
    assert_eq!(n.system().peer, Some(0));
    assert_eq!(n.system().reference, Reference::Peer(UPSTREAM));
}
