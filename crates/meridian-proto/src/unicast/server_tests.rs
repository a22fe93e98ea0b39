use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::engine::{Instant, Now, Output, Transmit, TxToken};
use crate::ptp::{
    Body, ClockIdentity, Flags, GrantTlv, Header, LogInterval, Message, MessageType, PortIdentity,
    RequestTlv, SequenceId, Signaling, SignalingTlv,
};
use crate::time::{Duration, Timestamp};

pub(super) const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(super) const GM: ClockIdentity = ClockIdentity([0xAA; 8]);

pub(super) fn client_addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, n)
}

pub(super) fn client_port(n: u8) -> PortIdentity {
    PortIdentity {
        clock_identity: ClockIdentity([n; 8]),
        port_number: 1,
    }
}

pub(super) fn now(s: f64) -> Now {
    Now {
        instant: Instant::from_origin(Duration::from_secs_f64(s)),
        clock: Timestamp::from_secs(1_800_000_000) + Duration::from_secs_f64(s),
    }
}

pub(super) fn request(n: u8, seq: u16, tlvs: Vec<SignalingTlv>) -> Message {
    Message {
        header: Header {
            flags: Flags::UNICAST,
            ..Header::new(client_port(n), 44, SequenceId(seq))
        },
        body: Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs,
        }),
    }
}

pub(super) fn req(t: MessageType, log: i8, duration: u32) -> SignalingTlv {
    SignalingTlv::Request(RequestTlv {
        message_type: t,
        log_period: LogInterval(log),
        duration,
    })
}

pub(super) fn from(n: u8) -> SocketAddrV4 {
    SocketAddrV4::new(client_addr(n), 320)
}

pub(super) fn drain(s: &mut Server) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_output())
        .map(|o| match o {
            Output::Transmit(t) => t,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

pub(super) fn parse(t: &Transmit) -> Message {
    Message::parse(&t.bytes).unwrap()
}

/// TAI − UTC: how far the PTP timescale on the wire runs ahead of the server's UTC clock.
const TAI_AHEAD: Duration = Duration::from_secs(37);

pub(super) fn server() -> Server {
    let mut c = ServerConfig::new(SERVER, GM, 44);
    c.capacity = 2;
    Server::new(c)
}

/// Sends `m` twice from client `n` at `t`: the first message opens a slot on probation, the
/// second proves the client. Returns the replies to the second.
pub(super) fn as_proven(s: &mut Server, n: u8, t: f64, m: &Message) -> Vec<Transmit> {
    s.handle_message(now(t), from(n), m, now(t).clock);
    drain(s);
    s.handle_message(now(t), from(n), m, now(t).clock);
    drain(s)
}

pub(super) fn grants(m: &Message) -> Vec<GrantTlv> {
    match &m.body {
        Body::Signaling(s) => s
            .tlvs
            .iter()
            .filter_map(|t| {
                if let SignalingTlv::Grant(g) = t {
                    Some(*g)
                } else {
                    None
                }
            })
            .collect(),
        _ => vec![],
    }
}

#[test]
fn grants_a_multi_tlv_request_in_one_reply_exact_bytes() {
    let mut s = server();
    let m = request(
        1,
        5,
        vec![
            req(MessageType::Sync, -4, 300),
            req(MessageType::DelayResp, -4, 300),
        ],
    );
    s.handle_message(now(0.0), from(1), &m, now(0.0).clock);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].to, SocketAddrV4::new(client_addr(1), 320));
    assert_eq!(out[0].from, SocketAddrV4::new(SERVER, 320));
    assert_eq!(out[0].dscp, 56);
    let mut expected = vec![0x0c, 0x02, 0x00, 0x44, 44, 0, 0x04, 0x00];
    expected.extend([0; 8]); // correction
    expected.extend([0; 4]);
    expected.extend([0xAA; 8]);
    expected.extend([0x00, 0x01, 0x00, 0x05, 0x05, 0x7F]); // port 1, seq 5 echoed, control, log
    expected.extend([0x01; 8]);
    expected.extend([0x00, 0x01]); // target = the client's port
    // A newcomer is on probation: 10 s instead of the 300 asked.
    expected.extend([
        0x00, 0x05, 0x00, 0x08, 0x00, 0xFC, 0, 0, 0x00, 0x0A, 0x00, 0x01,
    ]);
    expected.extend([
        0x00, 0x05, 0x00, 0x08, 0x90, 0xFC, 0, 0, 0x00, 0x0A, 0x00, 0x01,
    ]);
    assert_eq!(out[0].bytes, expected);
    assert_eq!(s.clients().count(), 1);
    // Its next message (here the renewal) proves it: the whole 300 s.
    s.handle_message(now(7.5), from(1), &m, now(7.5).clock);
    let renewed = drain(&mut s);
    let g = grants(&parse(&renewed[0]));
    assert_eq!((g[0].duration, g[1].duration), (300, 300));
}

#[test]
fn policy_clamps_rate_and_duration_and_refuses_pdelay() {
    let mut s = server();
    let m = request(
        1,
        1,
        vec![
            req(MessageType::Sync, -9, 30),
            req(MessageType::Announce, 0, 5000),
            req(MessageType::PdelayResp, 0, 300),
        ],
    );
    let g = grants(&parse(&as_proven(&mut s, 1, 0.0, &m)[0]));
    assert_eq!(
        (g[0].log_period, g[0].duration),
        (LogInterval(-7), 60),
        "fastest 1/128 s, at least 60 s"
    );
    assert_eq!(
        (g[1].log_period, g[1].duration),
        (LogInterval(0), 1000),
        "at most 1000 s"
    );
    assert_eq!(g[2].duration, 0, "no peer-delay service");
}

#[test]
fn capacity_refuses_with_duration_zero() {
    let mut s = server();
    for n in 1..=3 {
        s.handle_message(
            now(0.0),
            from(n),
            &request(n, 1, vec![req(MessageType::Sync, 0, 300)]),
            now(0.0).clock,
        );
    }
    let out = drain(&mut s);
    let durations: Vec<u32> = out.iter().map(|t| grants(&parse(t))[0].duration).collect();
    assert_eq!(
        durations,
        vec![10, 10, 0],
        "newcomers on probation; the third refused"
    );
    assert_eq!(s.refused_capacity, 1);
    let ids: Vec<usize> = s.clients().map(|c| c.id).collect();
    assert_eq!(ids, vec![0, 1]);
}

#[test]
fn serves_at_the_granted_interval_and_stops_when_the_grant_lapses() {
    let mut s = server();
    let m = request(1, 1, vec![req(MessageType::Announce, 0, 60)]);
    as_proven(&mut s, 1, 0.0, &m);
    let mut announces = 0;
    let mut t = 0.0;
    while t < 70.0 {
        if s.poll_timeout().is_some_and(|d| d <= now(t).instant) {
            s.handle_timeout(now(t));
            for tx in drain(&mut s) {
                let m = parse(&tx);
                assert_eq!(m.message_type(), MessageType::Announce);
                assert_eq!(m.header.sequence_id, SequenceId(announces));
                assert_eq!(m.header.log_message_interval, LogInterval(0));
                announces += 1;
            }
        }
        t += 0.25;
    }
    // One per second from t = 0 up to, not past, the 60-s lapse; then the slot is free.
    assert_eq!(announces, 60);
    assert_eq!(s.clients().count(), 0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn two_step_sync_sends_follow_up_with_the_tx_timestamp() {
    let mut s = server();
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Sync, -4, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    s.handle_timeout(now(0.0));
    let sync = drain(&mut s);
    assert_eq!(sync.len(), 1);
    assert_eq!(sync[0].to.port(), 319);
    let m = parse(&sync[0]);
    assert!(m.header.flags.contains(Flags::TWO_STEP));
    let token = sync[0]
        .token
        .expect("a two-step Sync asks for its TX timestamp");
    let t1 = now(0.0).clock + Duration::from_ticks(123 << 32 | 0x8000_0000); // 123.5 ns later
    s.handle_tx_timestamp(token, t1);
    let fu = parse(&drain(&mut s)[0]);
    let Body::FollowUp {
        precise_origin_timestamp,
    } = fu.body
    else {
        panic!()
    };
    assert_eq!(fu.header.sequence_id, m.header.sequence_id);
    // The server's clock keeps UTC; the wire carries the PTP timescale, 37 s ahead.
    assert_eq!(
        Timestamp::from_ptp(precise_origin_timestamp, fu.header.correction),
        t1 + TAI_AHEAD
    );
    // An unknown token is ignored.
    s.handle_tx_timestamp(TxToken(42), t1);
    assert!(s.poll_output().is_none());
}

#[test]
fn one_step_sync_carries_the_time_in_origin_plus_correction() {
    let mut c = ServerConfig::new(SERVER, GM, 44);
    c.two_step = false;
    let mut s = Server::new(c);
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Sync, -4, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    let at = now(0.0);
    s.handle_timeout(at);
    let out = drain(&mut s);
    let m = parse(&out[0]);
    assert!(out[0].token.is_none());
    let Body::Sync { origin_timestamp } = m.body else {
        panic!()
    };
    assert_eq!(
        Timestamp::from_ptp(origin_timestamp, m.header.correction),
        at.clock + TAI_AHEAD
    );
}

#[test]
fn delay_req_needs_a_grant_and_the_reply_carries_t4_exactly() {
    let mut s = server();
    let dreq = Message {
        header: Header::new(client_port(1), 44, SequenceId(77)),
        body: Body::DelayReq {
            origin_timestamp: Default::default(),
        },
    };
    let ev = SocketAddrV4::new(client_addr(1), 319);
    s.handle_message(now(0.0), ev, &dreq, now(0.0).clock);
    assert!(s.poll_output().is_none());
    assert_eq!(s.drops.delay_req_without_grant, 1);

    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::DelayResp, -7, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    let t4 = now(1.0).clock + Duration::from_ticks(0x4000_0000); // + 0.25 ns
    s.handle_message(now(1.0), ev, &dreq, t4);
    let out = drain(&mut s);
    assert_eq!(out[0].to, SocketAddrV4::new(client_addr(1), 320));
    let m = parse(&out[0]);
    let Body::DelayResp {
        receive_timestamp,
        requesting_port,
    } = m.body
    else {
        panic!()
    };
    assert_eq!(requesting_port, client_port(1));
    assert_eq!(m.header.sequence_id, SequenceId(77));
    // t4 = receiveTimestamp − correction.
    let back = Timestamp::from_ptp(receive_timestamp, Default::default())
        - m.header.correction.to_duration();
    assert_eq!(back, t4 + TAI_AHEAD);
}

#[test]
fn cancel_is_acknowledged_and_frees_the_slot() {
    let mut s = server();
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Sync, -4, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    s.handle_message(
        now(1.0),
        from(1),
        &request(1, 2, vec![SignalingTlv::Cancel(MessageType::Sync)]),
        now(1.0).clock,
    );
    let reply = parse(&drain(&mut s)[0]);
    assert_eq!(
        reply.body,
        Body::Signaling(Signaling {
            target_port: client_port(1),
            tlvs: vec![SignalingTlv::AcknowledgeCancel(MessageType::Sync)]
        })
    );
    assert_eq!(s.clients().count(), 0);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn wrong_domain_and_other_targets_are_dropped() {
    let mut s = server();
    let mut m = request(1, 1, vec![req(MessageType::Sync, -4, 300)]);
    m.header.domain = 45;
    s.handle_message(now(0.0), from(1), &m, now(0.0).clock);
    let mut m = request(1, 1, vec![req(MessageType::Sync, -4, 300)]);
    if let Body::Signaling(sig) = &mut m.body {
        sig.target_port = client_port(9);
    }
    s.handle_message(now(0.0), from(1), &m, now(0.0).clock);
    assert!(s.poll_output().is_none());
    assert_eq!((s.drops.wrong_domain, s.drops.not_for_us), (1, 1));
}

#[test]
fn renewal_extends_without_restarting_the_cadence() {
    let mut s = server();
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Announce, 0, 60)]),
        now(0.0).clock,
    );
    s.handle_message(
        now(45.5),
        from(1),
        &request(1, 2, vec![req(MessageType::Announce, 0, 60)]),
        now(45.5).clock,
    );
    let g = s.clients().next().unwrap().grants[GrantedType::Announce as usize].unwrap();
    assert_eq!(g.expires, now(105.5).instant);
    assert_eq!(
        s.poll_timeout(),
        Some(now(0.0).instant),
        "first Announce still due at 0"
    );
}

#[test]
fn announce_carries_the_time_properties() {
    let mut s = server();
    let mut p = *s.properties();
    p.steps_removed = 1;
    p.clock_quality.clock_class = 7;
    s.set_properties(p);
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Announce, 1, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    s.handle_timeout(now(0.0));
    let m = parse(&drain(&mut s)[0]);
    let Body::Announce(a) = m.body else { panic!() };
    assert_eq!(
        (
            a.steps_removed,
            a.clock_quality.clock_class,
            a.grandmaster_identity
        ),
        (1, 7, GM)
    );
    assert!(
        m.header
            .flags
            .contains(Flags::PTP_TIMESCALE | Flags::UNICAST)
    );
}

#[test]
fn an_arbitrary_timescale_is_served_as_the_clock_reads() {
    let mut c = ServerConfig::new(SERVER, GM, 44);
    c.two_step = false;
    let mut s = Server::new(c);
    let mut p = *s.properties();
    p.flags = Flags(0);
    s.set_properties(p);
    s.handle_message(
        now(0.0),
        from(1),
        &request(1, 1, vec![req(MessageType::Sync, -4, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    let at = now(0.0);
    s.handle_timeout(at);
    let m = parse(&drain(&mut s)[0]);
    let Body::Sync { origin_timestamp } = m.body else {
        panic!()
    };
    assert_eq!(
        Timestamp::from_ptp(origin_timestamp, m.header.correction),
        at.clock
    );
}

#[test]
fn shutdown_cancels_every_live_grant() {
    let mut s = server();
    s.handle_message(
        now(0.0),
        from(1),
        &request(
            1,
            1,
            vec![
                req(MessageType::Announce, 1, 300),
                req(MessageType::DelayResp, -4, 300),
            ],
        ),
        now(0.0).clock,
    );
    s.handle_message(
        now(0.0),
        from(2),
        &request(2, 1, vec![req(MessageType::Sync, -4, 300)]),
        now(0.0).clock,
    );
    drain(&mut s);
    s.cancel_all();
    let out = drain(&mut s);
    let cancels: Vec<_> = out.iter().map(|t| (t.to, parse(t).body)).collect();
    assert_eq!(
        cancels,
        vec![
            (
                SocketAddrV4::new(client_addr(1), 320),
                Body::Signaling(Signaling {
                    target_port: client_port(1),
                    tlvs: vec![
                        SignalingTlv::Cancel(MessageType::Announce),
                        SignalingTlv::Cancel(MessageType::DelayResp)
                    ]
                })
            ),
            (
                SocketAddrV4::new(client_addr(2), 320),
                Body::Signaling(Signaling {
                    target_port: client_port(2),
                    tlvs: vec![SignalingTlv::Cancel(MessageType::Sync)]
                })
            )
        ]
    );
    assert_eq!(s.clients().count(), 0);
    assert_eq!(s.poll_timeout(), None);
}
