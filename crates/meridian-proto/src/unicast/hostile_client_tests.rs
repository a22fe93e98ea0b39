//! Single hostile packets from (or spoofing) the configured server: the client neither crashes
//! nor floods. Each test failed before the grant's values were bounded at the edge.

use super::client_tests::*;
use super::*;
use crate::engine::{Instant, Output};
use crate::ptp::{Body, Message, MessageType};

/// Drives the client through its own deadlines for `secs` seconds as a driver would (a deadline
/// in the past fires now) and counts the Delay_Reqs it sends; panics if a deadline is due at or
/// before the instant just handled (a timer that would spin).
fn run_counting_delay_reqs(c: &mut Client, start: f64, secs: f64) -> usize {
    let mut delay_reqs = 0;
    let mut cur = now(start).instant;
    let end = now(start + secs).instant;
    for _ in 0..1_000_000 {
        let Some(t) = c.poll_timeout() else { break };
        cur = cur.max(t);
        if cur > end {
            break;
        }
        c.handle_timeout(crate::engine::Now {
            instant: cur,
            clock: now(cur.since_origin().as_secs_f64()).clock,
        });
        while let Some(o) = c.poll_output() {
            if let Output::Transmit(tx) = o
                && matches!(
                    Message::parse(&tx.bytes).map(|m| m.body),
                    Ok(Body::DelayReq { .. })
                )
            {
                delay_reqs += 1;
            }
        }
        let next = c.poll_timeout();
        assert!(
            next.is_none_or(|n| n > cur),
            "due again at {next:?} after {cur:?}"
        );
    }
    delay_reqs
}

fn locked_onto_s1(c: &mut Client, delay_resp_log: i8, announce_log: i8) {
    c.handle_timeout(now(0.0));
    let g = grant_msg(1, &[(MessageType::Announce, announce_log, 300)]);
    c.handle_message(now(0.1), from(S1, 320), &g, now(0.1).clock);
    c.handle_message(now(0.2), from(S1, 320), &announce_msg(1, 6), now(0.2).clock);
    c.handle_timeout(now(0.2));
    let g = grant_msg(
        1,
        &[
            (MessageType::Sync, -3, 300),
            (MessageType::DelayResp, delay_resp_log, 300),
        ],
    );
    c.handle_message(now(0.3), from(S1, 320), &g, now(0.3).clock);
}

#[test]
fn an_announce_grant_with_log_interval_100_then_an_announce_does_not_crash() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    locked_onto_s1(&mut c, -7, 100);
    c.handle_message(now(1.0), from(S1, 320), &announce_msg(1, 6), now(1.0).clock);
    // The receipt timeout is bounded: three of the slowest interval (2^7 s).
    let deadline = c.poll_timeout().expect("a deadline");
    assert!(deadline <= now(1.0 + 3.0 * 128.0).instant, "{deadline:?}");
    run_counting_delay_reqs(&mut c, 1.0, 600.0);
}

#[test]
fn a_delay_resp_grant_of_log_interval_minus_128_keeps_the_configured_rate() {
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    // The client asks for Delay_Resp every 2^-7 s by default; the hostile grant says 2^-128.
    locked_onto_s1(&mut c, -128, 1);
    // (5 s: no Sync comes in this test, so at 6 s the server is declared failed.)
    let sent = run_counting_delay_reqs(&mut c, 0.3, 5.0);
    assert!(
        (5 * 128 - 2..=5 * 128 + 2).contains(&sent),
        "{sent} Delay_Req in 5 s"
    );
}

#[test]
fn a_server_in_the_year_10000_is_dropped_not_followed() {
    use crate::ptp::{Flags, Header, SequenceId};
    use crate::time::PtpTimestamp;
    let mut c = Client::new(config([Some(S1), None]), Instant::ZERO, 1);
    locked_onto_s1(&mut c, -7, 1);
    // Two-way exchanges at 8/s for 20 s with a server whose clock reads the year 10000.
    let far =
        |t: f64| PtpTimestamp::new(253_402_300_800 + t as u64, ((t.fract()) * 1e9) as u32).unwrap();
    let msg = |seq: u16, body: Body| Message {
        header: Header {
            flags: Flags::UNICAST,
            ..Header::new(server_port(1), 44, SequenceId(seq))
        },
        body,
    };
    let mut adjustments = 0;
    for k in 0..160u16 {
        let t = 1.0 + f64::from(k) / 8.0;
        c.handle_message(
            now(t),
            from(S1, 319),
            &msg(
                k,
                Body::Sync {
                    origin_timestamp: far(t),
                },
            ),
            now(t).clock,
        );
        c.handle_timeout(now(t));
        while let Some(o) = c.poll_output() {
            match o {
                Output::AdjustClock(_) => adjustments += 1,
                Output::Event(_) => {}
                Output::Transmit(tx) => {
                    let Ok(m) = Message::parse(&tx.bytes) else {
                        continue;
                    };
                    if let (Body::DelayReq { .. }, Some(token)) = (m.body, tx.token) {
                        c.handle_tx_timestamp(token, now(t).clock);
                        let resp = Body::DelayResp {
                            receive_timestamp: far(t + 0.001),
                            requesting_port: m.header.source_port,
                        };
                        let at = now(t + 0.002);
                        c.handle_message(
                            at,
                            from(S1, 320),
                            &msg(m.header.sequence_id.0, resp),
                            at.clock,
                        );
                    }
                }
            }
        }
    }

    assert_eq!(
        adjustments, 0,
        "the clock was adjusted toward the year 10000"
    );
}
