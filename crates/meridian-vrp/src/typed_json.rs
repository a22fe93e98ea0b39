//! `display … | json` for the engines' displays, built from their typed state (numbers in SI
//! units, named by unit: `offset_s`, `delay_s`), not from the display's text. Displays without
//! engine state behind them (configuration, clock) use the text conversion of [`crate::json`].

use meridian_proto::engine::Instant;
use meridian_proto::ntp_service::snapshot::{Status, SyncState};
use meridian_proto::ntp_service::{NtpNode, Reference};
use meridian_proto::servo::ServoState;
use meridian_proto::time::Duration;
use meridian_proto::unicast::PtpNode;
use meridian_proto::unicast::server::MessageCounters;
use serde_json::{Value, json};

use crate::device::{activity_words, negotiate_state};
use crate::display::TraceHop;

fn reference(r: Reference) -> Value {
    match r {
        Reference::None => Value::Null,
        Reference::Peer(a) => json!(a.to_string()),
        Reference::Local(u) => json!(format!("LOCAL({u})")),
        Reference::Ptp => json!("PTP"),
    }
}

/// `display ntp-service status | json`.
#[must_use]
pub fn ntp_status(s: &Status) -> Value {
    json!({
        "synchronized": s.synchronized,
        "stratum": s.stratum,
        "reference": reference(s.reference),
        "nominal_frequency_hz": s.nominal_frequency_hz,
        "actual_frequency_hz": s.actual_frequency_hz,
        "precision_log2_s": s.precision,
        "offset_s": s.offset,
        "root_delay_s": s.root_delay,
        "root_dispersion_s": s.root_dispersion,
        "peer_dispersion_s": s.peer_dispersion,
        "reference_time_ntp": s.reftime.0,
        "state": match s.state {
            SyncState::Synchronized => "synchronized",
            SyncState::Unsynchronized => "unsynchronized",
            SyncState::Spike => "spike",
        },
    })
}

/// `display ntp-service sessions | json`: one object per association.
#[must_use]
pub fn ntp_sessions(n: &NtpNode, now: Instant) -> Value {
    Value::Array(
        n.sessions(now)
            .iter()
            .map(|s| {
                let f = s.flags;
                json!({
                    "source": s.source.to_string(),
                    "stratum": s.stratum,
                    "configured": f.configured,
                    "master": f.master,
                    "selected": f.selected,
                    "candidate": f.candidate,
                    "preempted": f.preempted,
                    "sane": f.sane,
                    "valid": f.valid,
                    "reference_id": s.refid.to_ipv4().to_string(),
                    "reach": s.reach,
                    "poll_s": s.poll_s,
                    "since_last_s": s.now_s,
                    "offset_s": s.offset,
                    "delay_s": s.delay,
                    "dispersion_s": s.dispersion,
                    "mode": format!("{:?}", s.local_mode).to_lowercase(),
                    "interleaved_samples": s.interleaved,
                    "filter": s.filter.iter().map(|x| json!({
                        "offset_s": x.offset, "delay_s": x.delay, "dispersion_s": x.dispersion
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// `display ntp-service trace | json`: the hops, then the last one's reference.
#[must_use]
pub fn ntp_trace(hops: &[TraceHop]) -> Value {
    json!({
        "hops": hops.iter().map(|h| json!({
            "server": h.server,
            "stratum": h.stratum,
            "offset_s": h.offset_s,
            "distance_s": h.distance_s,
        })).collect::<Vec<_>>(),
        "reference": hops.last().map_or(Value::Null, |h| Value::from(h.refid.clone())),
    })
}

fn counters(k: &MessageCounters) -> Value {
    json!({"received": k.received, "sent": k.sent, "discarded": k.discarded})
}

fn seconds(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_secs_f64()))
}

/// `display ptp-adaptive all | config | server [N] | client [N] | json`, at `now`.
#[must_use]
pub fn ptp(p: &PtpNode, what: &str, id: Option<u64>, now: Instant) -> Value {
    let client = p.client().map(|c| {
        let cfg = c.config();
        let (activity, since) = c.activity();
        json!({
            "mode": format!("{:?}", cfg.mode).to_lowercase(),
            "domain": cfg.domain,
            "dscp": cfg.dscp,
            "local_ip": cfg.local.to_string(),
            "announce_log_interval": cfg.announce_interval.0,
            "sync_log_interval": cfg.sync_interval.0,
            "delay_resp_log_interval": cfg.delay_resp_interval.0,
            "trace_source": c.selected().map(|i| format!("server{}", i + 1)),
            "servo": {
                "state": activity_words(activity),
                "steering": c.steering(),
                "locked": c.servo_state() == ServoState::Locked,
                "for_s": now.duration_since(since).max(Duration::ZERO).as_secs_f64(),
                "frequency_ppb": c.frequency_ppb(),
            },
            "servers": c.servers().iter().enumerate().map(|(i, s)| json!({
                "server": i + 1,
                "ip": s.addr.to_string(),
                "negotiation": negotiate_state(&s.negotiations),
                "clock_class": s.announce.map(|a| a.clock_quality.clock_class),
                "grandmaster": s.announce.map(|a| a.grandmaster_identity.to_string()),
                "steps_removed": s.announce.map(|a| a.steps_removed),
                "ptsf": c.ptsf_reported(i),
                "t2_minus_t1_s": seconds(s.t21.realtime),
                "t4_minus_t3_s": seconds(s.t43.realtime),
                "announce": counters(&s.counters[0]),
                "sync": counters(&s.counters[1]),
                "delay": counters(&s.counters[2]),
                "signaling": counters(&s.signaling),
            })).collect::<Vec<_>>(),
        })
    });
    let server = p.server().map(|s| {
        json!({
            "clients": s.clients().filter(|c| id.is_none_or(|i| c.id as u64 == i)).map(|c| json!({
                "id": c.id,
                "ip": c.addr.to_string(),
                "clock_id": c.port.clock_identity.to_string(),
                "grants": c.grants.map(|g| g.map(|g| json!({
                    "log_interval": g.log_interval.0, "duration_s": g.duration
                }))),
                "announce": counters(&c.counters[0]),
                "sync": counters(&c.counters[1]),
                "delay": counters(&c.counters[2]),
                "signaling": counters(&c.signaling),
            })).collect::<Vec<_>>(),
            "refused_for_capacity": s.refused_capacity,
        })
    });
    match (what, client, server) {
        ("server", Some(mut c), _) => {
            // One server: the list narrowed to it.
            let n = id.unwrap_or(1);
            if let Some(list) = c["servers"].as_array_mut() {
                list.retain(|s| s["server"] == n);
            }
            c
        }
        ("client", _, Some(s)) => s,
        (_, c, s) => json!({
            "role": match (&c, &s) {
                (Some(_), Some(_)) => "server-and-client",
                (Some(_), None) => "client",
                _ => "server",
            },
            "client": c,
            "server": s,
        }),
    }
}
