use std::net::{Ipv4Addr, SocketAddrV4};

use super::*;
use crate::engine::{Instant, Now, Output, Transmit, TxToken};
use crate::ptp::{
    Announce, Body, ClockIdentity, ClockQuality, Flags, GrantTlv, Header, LogInterval, Message,
    MessageType, PortIdentity, SequenceId, Signaling, SignalingTlv, TimeSource,
};
use crate::time::{Duration, Timestamp};

pub(super) const S1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub(super) const S2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub(super) const ME: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

pub(super) fn server_port(n: u8) -> PortIdentity {
    PortIdentity {
        clock_identity: ClockIdentity([n; 8]),
        port_number: 1,
    }
}

pub(super) fn my_port() -> PortIdentity {
    PortIdentity {
        clock_identity: ClockIdentity([0x77; 8]),
        port_number: 1,
    }
}

pub(super) fn now(s: f64) -> Now {
    Now {
        instant: Instant::from_origin(Duration::from_secs_f64(s)),
        clock: Timestamp::from_secs(1_800_000_000) + Duration::from_secs_f64(s),
    }
}

pub(super) fn config(servers: [Option<Ipv4Addr>; 2]) -> ClientConfig {
    let mut c = ClientConfig::new(ME, ClockIdentity([0x77; 8]), S1, 44);
    c.servers = servers;
    c
}

pub(super) fn transmits(c: &mut Client) -> Vec<Transmit> {
    std::iter::from_fn(|| c.poll_output())
        .filter_map(|o| {
            if let Output::Transmit(t) = o {
                Some(t)
            } else {
                None
            }
        })
        .collect()
}

pub(super) fn tlvs(t: &Transmit) -> (PortIdentity, Vec<SignalingTlv>) {
    match Message::parse(&t.bytes).unwrap().body {
        Body::Signaling(s) => (s.target_port, s.tlvs),
        other => panic!("not signaling: {other:?}"),
    }
}

pub(super) fn from(addr: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(addr, port)
}

pub(super) fn grant_msg(n: u8, grants: &[(MessageType, i8, u32)]) -> Message {
    Message {
        header: Header {
            flags: Flags::UNICAST,
            ..Header::new(server_port(n), 44, SequenceId(1))
        },
        body: Body::Signaling(Signaling {
            target_port: my_port(),
            tlvs: grants
                .iter()
                .map(|&(t, l, d)| {
                    SignalingTlv::Grant(GrantTlv {
                        message_type: t,
                        log_period: LogInterval(l),
                        duration: d,
                        renewal_invited: true,
                    })
                })
                .collect(),
        }),
    }
}

pub(super) fn announce_msg(n: u8, class: u8) -> Message {
    Message {
        header: Header {
            flags: Flags::UNICAST,
            log_message_interval: LogInterval(1),
            ..Header::new(server_port(n), 44, SequenceId(0))
        },
        body: Body::Announce(Announce {
            origin_timestamp: Default::default(),
            current_utc_offset: 37,
            priority1: 128,
            clock_quality: ClockQuality {
                clock_class: class,
                clock_accuracy: 0x21,
                offset_scaled_log_variance: 0x4E5D,
            },
            priority2: 128,
            grandmaster_identity: ClockIdentity([0xAA; 8]),
            steps_removed: 0,
            time_source: TimeSource::GNSS,
        }),
    }
}

pub(super) fn req(t: MessageType, l: i8, d: u32) -> SignalingTlv {
    SignalingTlv::Request(crate::ptp::RequestTlv {
        message_type: t,
        log_period: LogInterval(l),
        duration: d,
    })
}

#[test]
fn first_request_asks_announce_from_the_wildcard_port_exact_bytes() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_timeout(now(0.0));
    let out = transmits(&mut c);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].from, out[0].to, out[0].dscp),
        (from(ME, 320), from(S1, 320), 56)
    );
    let mut expected = vec![0x0c, 0x02, 0x00, 0x36, 44, 0, 0x04, 0x00];
    expected.extend([0; 12]);
    expected.extend([0x77; 8]);
    expected.extend([0x00, 0x01, 0x00, 0x00, 0x05, 0x7F]);
    expected.extend([0xFF; 10]);
    // REQUEST Announce, every 2 s (VRP 11 → log 1), 300 s.
    expected.extend([0x00, 0x04, 0x00, 0x06, 0xB0, 0x01, 0x00, 0x00, 0x01, 0x2C]);
    assert_eq!(out[0].bytes, expected);
}

#[test]
fn after_announce_sync_and_delay_resp_are_asked_together_from_the_server_identity() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    c.handle_message(
        now(0.1),
        from(S1, 320),
        &grant_msg(1, &[(MessageType::Announce, 1, 300)]),
        now(0.1).clock,
    );
    c.handle_message(now(0.2), from(S1, 320), &announce_msg(1, 6), now(0.2).clock);
    assert_eq!(c.selected(), Some(0));
    c.handle_timeout(now(0.2));
    let out = transmits(&mut c);
    let (target, t) = tlvs(&out[0]);
    assert_eq!(target, server_port(1));
    assert_eq!(
        t,
        vec![
            req(MessageType::Sync, -3, 300),
            req(MessageType::DelayResp, -7, 300)
        ]
    );
}

#[test]
fn one_way_acr_asks_no_delay_resp_and_refusals_back_off() {
    let mut cfg = config([Some(S1), None]);
    cfg.mode = RecoveryMode::AcrOneWay;
    let mut c = Client::new(cfg, Instant::ZERO, 1);
    c.handle_message(
        now(0.0),
        from(S1, 320),
        &announce_msg(1, 84),
        now(0.0).clock,
    );
    c.handle_timeout(now(0.0));
    let out = transmits(&mut c);
    let (_, t) = tlvs(&out[0]);
    assert_eq!(
        t,
        vec![
            req(MessageType::Announce, 1, 300),
            req(MessageType::Sync, -3, 300)
        ]
    );
    // The server refuses Sync: the next request waits (back-off), it is not re-sent at once.
    c.handle_message(
        now(0.1),
        from(S1, 320),
        &grant_msg(1, &[(MessageType::Sync, -3, 0)]),
        now(0.1).clock,
    );
    c.handle_timeout(now(0.2));
    assert!(transmits(&mut c).is_empty());
    let retry = c.poll_timeout().unwrap();
    assert!(
        retry > now(0.5).instant && retry < now(2.0).instant,
        "{retry:?}"
    );
}

#[test]
fn renews_before_expiry_and_answers_cancel() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 6), now(0.0).clock);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    let g = grant_msg(
        1,
        &[
            (MessageType::Announce, 1, 60),
            (MessageType::Sync, -3, 60),
            (MessageType::DelayResp, -7, 60),
        ],
    );
    c.handle_message(now(0.1), from(S1, 320), &g, now(0.1).clock);
    // All three renew together at 3/4 of 60 s, in one message.
    let renew = c.servers()[0]
        .negotiations
        .iter()
        .filter_map(|n| n.deadline())
        .min()
        .unwrap();
    assert_eq!(renew, now(45.1).instant);
    // Keep the server alive meanwhile: Announce and one-step Sync every second.
    let sync = Message {
        header: Header {
            flags: Flags::UNICAST,
            ..Header::new(server_port(1), 44, SequenceId(0))
        },
        body: Body::Sync {
            origin_timestamp: Default::default(),
        },
    };
    for k in 1..=45 {
        let t = k as f64;
        c.handle_message(now(t), from(S1, 320), &announce_msg(1, 6), now(t).clock);
        c.handle_message(now(t), from(S1, 319), &sync, now(t).clock);
    }
    transmits(&mut c);
    c.handle_timeout(now(45.1));
    let out: Vec<_> = transmits(&mut c)
        .into_iter()
        .filter(|t| t.to.port() == 320)
        .collect();
    let (_, t) = tlvs(&out[0]);
    assert_eq!(t.len(), 3, "{t:?}");
    // A server CANCEL of Sync is acknowledged.
    let cancel = Message {
        header: Header::new(server_port(1), 44, SequenceId(9)),
        body: Body::Signaling(Signaling {
            target_port: my_port(),
            tlvs: vec![SignalingTlv::Cancel(MessageType::Sync)],
        }),
    };
    c.handle_message(now(46.0), from(S1, 320), &cancel, now(46.0).clock);
    let (_, t) = tlvs(&transmits(&mut c)[0]);
    assert_eq!(t, vec![SignalingTlv::AcknowledgeCancel(MessageType::Sync)]);
}

#[test]
fn delay_req_carries_a_token_and_matches_the_response() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 6), now(0.0).clock);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    c.handle_message(
        now(0.1),
        from(S1, 320),
        &grant_msg(1, &[(MessageType::DelayResp, -7, 300)]),
        now(0.1).clock,
    );
    c.handle_timeout(now(0.1));
    let out = transmits(&mut c);
    let dreq = out
        .iter()
        .find(|t| t.to.port() == 319)
        .expect("Delay_Req on the event port");
    let token = dreq.token.expect("asks for its TX timestamp");
    let m = Message::parse(&dreq.bytes).unwrap();
    assert_eq!(m.message_type(), MessageType::DelayReq);
    let t3 = now(0.1).clock;
    c.handle_tx_timestamp(token, t3);
    let t4 = t3 + Duration::from_micros(50);
    let (ts, frac) = t4.to_ptp().unwrap();
    let resp = Message {
        header: Header {
            correction: crate::time::Correction(-frac.0),
            ..Header::new(server_port(1), 44, m.header.sequence_id)
        },
        body: Body::DelayResp {
            receive_timestamp: ts,
            requesting_port: my_port(),
        },
    };
    c.handle_message(now(0.2), from(S1, 320), &resp, now(0.2).clock);
    assert_eq!(c.servers()[0].t43.realtime, Some(Duration::from_micros(50)));
    // A response for someone else is discarded.
    let other = Message {
        body: Body::DelayResp {
            receive_timestamp: ts,
            requesting_port: server_port(9),
        },
        ..resp
    };
    c.handle_message(now(0.3), from(S1, 320), &other, now(0.3).clock);
    assert_eq!(c.drops.unmatched, 1);
    let _ = TxToken(0);
}

/// `ptp lite-sync sub-ms enable`: a failed server is still left for the other, but its PTSF
/// alarm is not reported (the vendor clears and suppresses PTSF alarms in lightweight mode).
#[test]
fn lite_sync_fails_over_without_reporting_ptsf() {
    for lite in [false, true] {
        let mut cfg = config([Some(S1), Some(S2)]);
        cfg.lite_sync = lite;
        let mut c = Client::new(cfg, Instant::ZERO, 1);
        for t in [0.0, 2.0, 4.0] {
            c.handle_message(now(t), from(S1, 320), &announce_msg(1, 6), now(t).clock);
            c.handle_message(now(t), from(S2, 320), &announce_msg(2, 6), now(t).clock);
        }
        let mut t = 6.0;
        while t < 14.0 {
            c.handle_message(now(t), from(S2, 320), &announce_msg(2, 6), now(t).clock);
            c.handle_timeout(now(t));
            t += 2.0;
        }
        assert_eq!(c.selected(), Some(1), "lite {lite}");
        assert_eq!(c.ptsf_reported(0), !lite);
        assert!(!c.ptsf_reported(1));
    }
}

#[test]
fn fails_over_to_server2_and_returns_after_wait_to_restore() {
    let mut cfg = config([Some(S1), Some(S2)]);
    cfg.wait_to_restore = Duration::from_secs(60);
    let mut c = Client::new(cfg, Instant::ZERO, 1);
    for t in [0.0, 2.0, 4.0] {
        c.handle_message(now(t), from(S1, 320), &announce_msg(1, 6), now(t).clock);
        c.handle_message(now(t), from(S2, 320), &announce_msg(2, 6), now(t).clock);
    }
    assert_eq!(c.selected(), Some(0), "equal quality: server1 first");
    // Server1 falls silent: after 3 announce intervals and a half (7 s) it is PTSF and server2
    // takes over.
    let mut t = 6.0;
    while t < 14.0 {
        c.handle_message(now(t), from(S2, 320), &announce_msg(2, 6), now(t).clock);
        c.handle_timeout(now(t));
        t += 2.0;
    }
    assert!(c.servers()[0].ptsf);
    assert_eq!(c.selected(), Some(1));
    let cancels: Vec<_> = transmits(&mut c)
        .into_iter()
        .filter(|tx| tx.to.ip() == &S1)
        .collect();
    assert!(
        cancels.iter().all(|tx| tlvs(tx)
            .1
            .iter()
            .all(|t| matches!(t, SignalingTlv::Request(_)))),
        "re-negotiating with server1"
    );
    // Server1 returns; the client stays on server2 until server1 has been healthy for 60 s.
    while t < 80.0 {
        c.handle_message(now(t), from(S1, 320), &announce_msg(1, 6), now(t).clock);
        c.handle_message(now(t), from(S2, 320), &announce_msg(2, 6), now(t).clock);
        c.handle_timeout(now(t));
        if t < 14.0 + 59.0 {
            assert_eq!(c.selected(), Some(1), "t = {t}");
        }
        t += 2.0;
    }
    assert_eq!(c.selected(), Some(0));
}

#[test]
fn a_better_clock_class_wins_over_priority() {
    let mut c = Client::new(config([Some(S1), Some(S2)]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 7), now(0.0).clock);
    c.handle_message(now(0.0), from(S2, 320), &announce_msg(2, 6), now(0.0).clock);
    assert_eq!(c.selected(), Some(1));
}

#[test]
fn wrong_domain_and_strangers_are_counted() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    let mut a = announce_msg(1, 6);
    a.header.domain = 4;
    c.handle_message(now(0.0), from(S1, 320), &a, now(0.0).clock);
    c.handle_message(
        now(0.0),
        from(Ipv4Addr::new(203, 0, 113, 9), 320),
        &announce_msg(9, 6),
        now(0.0).clock,
    );
    assert_eq!((c.drops.wrong_domain, c.drops.unknown_source), (1, 1));
    assert_eq!(c.selected(), None);
}

#[test]
fn cancel_all_sends_cancel_for_live_grants() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 6), now(0.0).clock);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    let g = grant_msg(
        1,
        &[
            (MessageType::Announce, 1, 300),
            (MessageType::Sync, -3, 300),
        ],
    );
    c.handle_message(now(0.1), from(S1, 320), &g, now(0.1).clock);
    c.cancel_all();
    let (_, t) = tlvs(&transmits(&mut c)[0]);
    assert_eq!(
        t,
        vec![
            SignalingTlv::Cancel(MessageType::Announce),
            SignalingTlv::Cancel(MessageType::Sync)
        ]
    );
}

#[test]
fn partial_grants_set_the_delay_req_rate_and_the_renewal_time() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 6), now(0.0).clock);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    // Asked for 1/128 s and 300 s; granted 1/32 s and 120 s.
    c.handle_message(
        now(0.0),
        from(S1, 320),
        &grant_msg(1, &[(MessageType::DelayResp, -5, 120)]),
        now(0.0).clock,
    );
    let mut sent = 0;
    let mut t = 0.0;
    while t < 1.0 {
        c.handle_timeout(now(t));
        sent += transmits(&mut c)
            .iter()
            .filter(|tx| tx.to.port() == 319)
            .count();
        t += 1.0 / 256.0;
    }
    assert_eq!(sent, 32, "Delay_Req at the granted rate");
    let n = c.servers()[0].negotiations[GrantedType::DelayResp as usize];
    assert_eq!(
        n.deadline(),
        Some(now(90.0).instant),
        "renewal at 3/4 of the granted 120 s"
    );
}

#[test]
fn ptp_timescale_stamps_are_taken_back_to_utc() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    let mut ann = announce_msg(1, 6);
    ann.header.flags = Flags::UNICAST | Flags::PTP_TIMESCALE | Flags::UTC_OFFSET_VALID;
    c.handle_message(now(0.0), from(S1, 320), &ann, now(0.0).clock);
    assert_eq!(c.servers()[0].ahead_of_utc(), Duration::from_secs(37));
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    c.handle_message(
        now(0.1),
        from(S1, 320),
        &grant_msg(1, &[(MessageType::Sync, -4, 300)]),
        now(0.1).clock,
    );
    // A one-step Sync stamped on TAI, 30 µs before it arrives by the client's UTC clock.
    let rx = now(0.2).clock;
    let t1_tai = rx - Duration::from_micros(30) + Duration::from_secs(37);
    let (ts, frac) = t1_tai.to_ptp().unwrap();
    let sync = Message {
        header: Header {
            flags: Flags::UNICAST,
            correction: frac,
            ..Header::new(server_port(1), 44, SequenceId(5))
        },
        body: Body::Sync {
            origin_timestamp: ts,
        },
    };
    c.handle_message(now(0.2), from(S1, 319), &sync, rx);
    assert_eq!(c.servers()[0].t21.realtime, Some(Duration::from_micros(30)));

    // An arbitrary timescale is taken as it comes.
    ann.header.flags = Flags::UNICAST;
    c.handle_message(now(0.3), from(S1, 320), &ann, now(0.3).clock);
    assert_eq!(c.servers()[0].ahead_of_utc(), Duration::ZERO);
    // A PTP timescale without a valid offset is taken to be TAI − UTC as of 2017.
    ann.header.flags = Flags::UNICAST | Flags::PTP_TIMESCALE;
    if let Body::Announce(a) = &mut ann.body {
        a.current_utc_offset = 0;
    }
    c.handle_message(now(0.4), from(S1, 320), &ann, now(0.4).clock);
    assert_eq!(c.servers()[0].ahead_of_utc(), Duration::from_secs(37));
}

/// Delay_Reqs sent over `seconds` with Syncs granted at 2^`sync_log` s arriving 3 ms into each
/// interval and Delay_Resp granted at 2^`delay_log` s: (sent on a Sync's heels, sent from the
/// timer, smallest and largest gap between two after the second, s).
fn delay_reqs_around_syncs(sync_log: i8, delay_log: i8, seconds: f64) -> (usize, usize, f64, f64) {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    c.handle_message(now(0.0), from(S1, 320), &announce_msg(1, 6), now(0.0).clock);
    c.handle_timeout(now(0.0));
    transmits(&mut c);
    let grants = [
        (MessageType::Sync, sync_log, 300),
        (MessageType::DelayResp, delay_log, 300),
    ];
    c.handle_message(
        now(0.0),
        from(S1, 320),
        &grant_msg(1, &grants),
        now(0.0).clock,
    );
    let delay_reqs = |c: &mut Client| transmits(c).iter().filter(|t| t.to.port() == 319).count();
    let sync_period = 2f64.powi(sync_log.into());
    let (mut on_sync, mut on_timer, mut sent_at) = (0, 0, Vec::new());
    let (mut t, mut next_sync, mut seq) = (0.0, 0.003, 0u16);
    while t < seconds {
        if t >= next_sync {
            let sync = Message {
                header: Header {
                    flags: Flags::UNICAST,
                    ..Header::new(server_port(1), 44, SequenceId(seq))
                },
                body: Body::Sync {
                    origin_timestamp: now(t).clock.to_ptp().unwrap().0,
                },
            };
            c.handle_message(now(t), from(S1, 319), &sync, now(t).clock);
            let n = delay_reqs(&mut c);
            on_sync += n;
            sent_at.extend(std::iter::repeat_n(t, n));
            (next_sync, seq) = (next_sync + sync_period, seq.wrapping_add(1));
        }
        if c.poll_timeout().is_some_and(|d| d <= now(t).instant) {
            c.handle_timeout(now(t));
            let n = delay_reqs(&mut c);
            on_timer += n;
            sent_at.extend(std::iter::repeat_n(t, n));
        }
        t += 1.0 / 1024.0;
    }
    // The first Delay_Req goes from the timer at the grant; the second may follow it by half an
    // interval (the first Sync inside the window); the gaps after that are the steady state.
    let gaps: Vec<f64> = sent_at.windows(2).skip(1).map(|w| w[1] - w[0]).collect();
    let min = gaps.iter().copied().fold(f64::INFINITY, f64::min);
    let max = gaps.iter().copied().fold(0.0, f64::max);
    (on_sync, on_timer, min, max)
}

#[test]
fn delay_reqs_leave_on_a_syncs_heels_at_the_granted_rate() {
    // Equal rates (128/s): after the first, every Delay_Req follows a Sync.
    let (on_sync, on_timer, min, max) = delay_reqs_around_syncs(-7, -7, 10.0);
    assert!(
        on_timer <= 1 && on_sync >= 1279,
        "{on_sync} on Syncs, {on_timer} on the timer"
    );
    assert!(min > 0.0078 && max < 0.0079, "gaps {min}–{max} s");
    // Delay_Req at 4/s, Syncs arriving at 16/s (faster than granted): one Delay_Req every
    // fourth Sync, the rate held (a schedule that followed the Syncs ran at 5.3/s).
    let (on_sync, on_timer, min, max) = delay_reqs_around_syncs(-4, -2, 10.0);
    assert!(
        (40..=41).contains(&(on_sync + on_timer)),
        "{on_sync}, {on_timer}"
    );
    assert!(on_timer <= 1, "{on_sync}, {on_timer}");
    assert!(min > 0.24 && max < 0.26, "gaps {min}–{max} s");
    // Delay_Req faster than Syncs (16/s against 4/s): the timer sends the ones between,
    // the slack (1/32 s) after their due time.
    let (on_sync, on_timer, min, max) = delay_reqs_around_syncs(-2, -4, 10.0);
    assert!((159..=161).contains(&(on_sync + on_timer)) && on_timer > 100);
    // Those on a Sync leave up to 1/32 s early; the schedule does not move.
    assert!(min > 0.03 && max < 0.095, "gaps {min}–{max} s");
}
