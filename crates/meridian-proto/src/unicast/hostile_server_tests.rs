//! Spoofed and abusive clients against the unicast server: one packet cannot start a long
//! stream to a victim, spoofed requests cannot lock real clients out, and nothing grows without
//! bound. Each test failed before the admission rules.

use super::server::{MAX_TLVS, SIGNALING_PER_SECOND};
use super::server_tests::*;
use super::*;
use crate::engine::Now;
use crate::ptp::{MessageType, SignalingTlv};

/// Runs the server's timers from `from` to `to` s, reporting a transmit timestamp for every
/// two-step Sync if `timestamps`; returns the bytes it sent.
fn run_with(s: &mut Server, from: f64, to: f64, timestamps: bool) -> usize {
    let mut bytes = 0;
    let mut cur = now(from).instant;
    for _ in 0..10_000_000 {
        let Some(t) = s.poll_timeout() else { break };
        cur = cur.max(t);
        if cur > now(to).instant {
            break;
        }
        s.handle_timeout(Now {
            instant: cur,
            clock: now(cur.since_origin().as_secs_f64()).clock,
        });
        let clock = now(cur.since_origin().as_secs_f64()).clock;
        for tx in drain(s) {
            bytes += tx.bytes.len();
            if let Some(token) = tx.token.filter(|_| timestamps) {
                s.handle_tx_timestamp(token, clock);
                bytes += drain(s).iter().map(|t| t.bytes.len()).sum::<usize>();
            }
        }
        assert!(
            s.poll_timeout().is_none_or(|d| d > cur),
            "due again at {cur:?}"
        );
    }
    bytes
}

fn run(s: &mut Server, from: f64, to: f64) -> usize {
    run_with(s, from, to, false)
}

fn everything_fast() -> Message {
    request(
        9,
        1,
        vec![
            req(MessageType::Announce, -3, 1000),
            req(MessageType::Sync, -7, 1000),
            req(MessageType::DelayResp, -7, 1000),
        ],
    )
}

/// Bytes sent to a victim per byte of one spoofed REQUEST naming it.
fn amplification(s: &mut Server) -> f64 {
    let m = everything_fast();
    let sent_in = m.to_vec().len();
    s.handle_message(now(0.0), from(9), &m, now(0.0).clock);
    let grant_bytes: usize = drain(s).iter().map(|t| t.bytes.len()).sum();
    let stream = run_with(s, 0.0, 2000.0, true);
    (grant_bytes + stream) as f64 / sent_in as f64
}

#[test]
fn one_spoofed_request_starts_a_short_slow_stream_only() {
    let mut s = server();
    let factor = amplification(&mut s);
    // On probation: 10 s at one message per second per type (Announce, Sync, Follow_Up), about
    // 30 messages for one 74-byte request; it was 1000 s at 128 Syncs/s (≈ 2.6·10^5 messages).
    println!("amplification of one spoofed REQUEST: {factor:.1}× bytes");
    assert!(factor < 30.0, "{factor}");
    assert_eq!(s.clients().count(), 0, "the slot lapsed");
}

#[test]
fn spoofed_requests_filling_every_slot_do_not_lock_a_real_client_out() {
    let mut c = ServerConfig::new(
        std::net::Ipv4Addr::new(192, 0, 2, 1),
        crate::ptp::ClockIdentity([0xAA; 8]),
        44,
    );
    c.capacity = 16;
    let mut s = Server::new(c);
    for n in 100..116 {
        s.handle_message(
            now(0.0),
            from(n),
            &request(n, 1, vec![req(MessageType::Sync, -7, 1000)]),
            now(0.0).clock,
        );
    }
    drain(&mut s);
    assert_eq!(s.clients().count(), 16);
    // A real client a second later is refused (the spoofed slots are too young to take)...
    let real = request(1, 1, vec![req(MessageType::Announce, 1, 300)]);
    s.handle_message(now(1.0), from(1), &real, now(1.0).clock);
    assert_eq!(grants(&parse(&drain(&mut s)[0]))[0].duration, 0);
    // ...but when it retries after the eviction age, it takes a spoofed slot and keeps it.
    run(&mut s, 1.0, 5.0);
    s.handle_message(now(5.0), from(1), &real, now(5.0).clock);
    assert_eq!(grants(&parse(&drain(&mut s)[0]))[0].duration, 10);
    assert_eq!(s.drops.evicted, 1);
    s.handle_message(now(6.0), from(1), &real, now(6.0).clock);
    assert_eq!(grants(&parse(&drain(&mut s)[0]))[0].duration, 300);
    // The spoofed slots lapse at 10 s; the real one stays.
    run(&mut s, 6.0, 20.0);
    let left: Vec<_> = s.clients().map(|c| c.addr).collect();
    assert_eq!(left, vec![client_addr(1)]);
}

#[test]
fn a_client_signaling_too_fast_is_dropped_over_its_rate() {
    let mut s = server();
    let m = request(1, 1, vec![req(MessageType::Announce, 1, 300)]);
    let mut replies = 0;
    for k in 0..100 {
        let t = f64::from(k) * 0.001;
        s.handle_message(now(t), from(1), &m, now(t).clock);
        replies += drain(&mut s).len();
    }
    assert_eq!(replies, SIGNALING_PER_SECOND as usize);
    assert_eq!(s.drops.rate_limited, 100 - u64::from(SIGNALING_PER_SECOND));
}

#[test]
fn a_signaling_with_120_tlvs_gets_a_bounded_reply_never_an_empty_one() {
    let mut s = server();
    let tlvs: Vec<SignalingTlv> = (0..120)
        .map(|_| req(MessageType::Announce, 1, 300))
        .collect();
    s.handle_message(now(0.0), from(1), &request(1, 1, tlvs), now(0.0).clock);
    let out = drain(&mut s);
    assert_eq!(out.len(), 1);
    assert!(!out[0].bytes.is_empty());
    assert_eq!(grants(&parse(&out[0])).len(), MAX_TLVS);
    assert_eq!(s.drops.excess_tlvs, 120 - MAX_TLVS as u64);
}

#[test]
fn follow_ups_waiting_for_timestamps_that_never_come_are_bounded() {
    let mut s = server();
    as_proven(
        &mut s,
        1,
        0.0,
        &request(1, 1, vec![req(MessageType::Sync, -7, 1000)]),
    );
    // 100 s at 128 Syncs/s, and not one transmit timestamp (every send failed).
    run(&mut s, 0.0, 100.0);
    assert!(s.pending_follow_ups() <= 8, "{}", s.pending_follow_ups());
    assert!(s.drops.follow_up_lost > 12_000);
}

#[test]
fn a_client_acl_leaves_everyone_else_unanswered() {
    use crate::ntp_service::access::{Acl, AclRule};
    let mut c = ServerConfig::new(
        std::net::Ipv4Addr::new(192, 0, 2, 1),
        crate::ptp::ClockIdentity([0xAA; 8]),
        44,
    );
    c.client_acl = Some(Acl {
        rules: vec![AclRule {
            id: 5,
            permit: true,
            source: client_addr(0),
            wildcard: std::net::Ipv4Addr::new(0, 0, 0, 255),
        }],
    });
    let mut s = Server::new(c);
    let m = request(1, 1, vec![req(MessageType::Announce, 1, 300)]);
    // 198.51.100.1 is permitted (198.51.100.0/24)...
    s.handle_message(now(0.0), from(1), &m, now(0.0).clock);
    assert_eq!(drain(&mut s).len(), 1);
    // ...203.0.113.9 is not: no grant, no refusal, no slot.
    let stranger = std::net::SocketAddrV4::new(std::net::Ipv4Addr::new(203, 0, 113, 9), 320);
    s.handle_message(now(0.0), stranger, &m, now(0.0).clock);
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.drops.denied, 1);
    assert_eq!(s.clients().count(), 1);
}
