//! `display` renderers over engine snapshots, in the vendor's layout.

use std::fmt::Write;

use meridian_proto::engine::Instant;
use meridian_proto::ntp_service::config::AssociationKind;
use meridian_proto::ntp_service::snapshot::{Status, SyncState};
use meridian_proto::ntp_service::{NtpNode, Reference};
use meridian_proto::time::{NTP_UNIX_OFFSET_SECS, NtpTimestamp};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// (year, month 1–12, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `06:52:33.465 UTC Mar 7 2006(C7B7AC31.773E89A8)`.
#[must_use]
pub fn reference_time(t: NtpTimestamp) -> String {
    let secs = (t.0 >> 32) as i64 - NTP_UNIX_OFFSET_SECS as i64;
    let ms = ((t.0 & 0xFFFF_FFFF) * 1000) >> 32;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{ms:03} UTC {} {d} {y}({:08X}.{:08X})",
        s / 3600,
        s % 3600 / 60,
        s % 60,
        MONTHS[(m - 1) as usize],
        t.0 >> 32,
        t.0 & 0xFFFF_FFFF
    )
}

fn reference(r: Reference) -> String {
    match r {
        Reference::None => "none".into(),
        Reference::Peer(a) => a.to_string(),
        Reference::Local(u) => format!("LOCAL({u})"),
        Reference::Ptp => "PTP".into(),
    }
}

/// `display ntp-service status`.
#[must_use]
pub fn ntp_status(s: &Status) -> String {
    let state = match s.state {
        SyncState::Synchronized => "clock synchronized",
        SyncState::Unsynchronized => "clock not synchronized",
        SyncState::Spike => "spike (clock will be set when the spike persists)",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        " clock status: {}",
        if s.synchronized {
            "synchronized"
        } else {
            "unsynchronized"
        }
    );
    let _ = writeln!(out, " clock stratum: {}", s.stratum);
    let _ = writeln!(out, " reference clock ID: {}", reference(s.reference));
    let _ = writeln!(out, " nominal frequency: {:.4} Hz", s.nominal_frequency_hz);
    let _ = writeln!(out, " actual frequency: {:.4} Hz", s.actual_frequency_hz);
    // The vendor prints the magnitude of the (negative) log2 precision: "2^7".
    let _ = writeln!(out, " clock precision: 2^{}", s.precision.unsigned_abs());
    let _ = writeln!(out, " clock offset: {:.4} ms", s.offset * 1e3);
    let _ = writeln!(out, " root delay: {:.2} ms", s.root_delay * 1e3);
    let _ = writeln!(out, " root dispersion: {:.2} ms", s.root_dispersion * 1e3);
    let _ = writeln!(out, " peer dispersion: {:.2} ms", s.peer_dispersion * 1e3);
    let _ = writeln!(out, " reference time: {}", reference_time(s.reftime));
    let _ = writeln!(out, " synchronization state: {state}");
    out
}

/// `display ntp-service sessions [verbose]`.
#[must_use]
pub fn ntp_sessions(n: &NtpNode, now: Instant, verbose: bool) -> String {
    let mut out = String::new();
    for s in n.sessions(now) {
        let f = s.flags;
        let flags = [
            (f.configured, "configured", "dynamic"),
            (f.master, "master", ""),
            (f.selected, "selected", ""),
            (f.candidate, "candidate", ""),
            (f.sane, "sane", "insane"),
            (f.valid, "valid", "invalid"),
            (f.preempted, "preempted", ""),
        ]
        .iter()
        .filter_map(|(on, yes, no)| {
            let w = if *on { *yes } else { *no };
            (!w.is_empty()).then_some(w)
        })
        .collect::<Vec<_>>()
        .join(" ");
        // Primary and local references carry four ASCII letters; others an address.
        let ascii =
            s.refid.0.iter().all(|b| b.is_ascii_uppercase() || *b == 0) && s.refid.0[0] != 0;
        let refid = if ascii {
            String::from_utf8_lossy(&s.refid.0)
                .trim_end_matches('\0')
                .to_string()
        } else {
            s.refid.to_ipv4().to_string()
        };
        let _ = writeln!(out, " clock source: {}", s.source);
        let _ = writeln!(out, " clock stratum: {}", s.stratum);
        let _ = writeln!(out, " clock status: {flags}");
        let _ = writeln!(out, " reference clock ID: {refid}");
        let _ = writeln!(out, " reach: {}", s.reach);
        let _ = writeln!(out, " current poll: {}", s.poll_s);
        let _ = writeln!(
            out,
            " now: {}",
            s.now_s.map_or("-".into(), |n| n.to_string())
        );
        let _ = writeln!(out, " offset: {:.4} ms", s.offset * 1e3);
        let _ = writeln!(out, " delay: {:.2} ms", s.delay * 1e3);
        let _ = writeln!(out, " disper: {:.2} ms", s.dispersion * 1e3);
        if verbose {
            let mode = match s.local_mode {
                AssociationKind::Client => "client",
                AssociationKind::SymmetricActive => "sym_active",
                AssociationKind::SymmetricPassive => "sym_passive",
            };
            let _ = writeln!(out, " local mode: {mode}");
            if let Some(n) = s.interleaved {
                let _ = writeln!(out, " interleaved samples: {n}");
            }
            let _ = writeln!(
                out,
                " filter delay : {}",
                s.filter
                    .iter()
                    .map(|x| format!("{:.2}", x.delay * 1e3))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let _ = writeln!(
                out,
                " filter offset: {}",
                s.filter
                    .iter()
                    .map(|x| format!("{:.2}", x.offset * 1e3))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let _ = writeln!(
                out,
                " filter disp  : {}",
                s.filter
                    .iter()
                    .map(|x| format!("{:.2}", x.dispersion * 1e3))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_time_matches_the_seed() {
        // The seed's value: C7B7AC31.773E89A8 is 06:52:33.465 UTC on 7 March 2006.
        assert_eq!(
            reference_time(NtpTimestamp(0xC7B7_AC31_773E_89A8)),
            "06:52:33.465 UTC Mar 7 2006(C7B7AC31.773E89A8)"
        );
    }
}

/// One hop of `display ntp-service trace`.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceHop {
    /// The server at this hop, as it was asked (`127.0.0.1` for the device itself, as on the
    /// router).
    pub server: String,
    /// Its stratum.
    pub stratum: u8,
    /// Its offset, seconds.
    pub offset_s: f64,
    /// Its synchronization distance (root delay / 2 + root dispersion), seconds.
    pub distance_s: f64,
    /// Its reference as the router names it: an address, `127.127.1.u` for the local clock,
    /// or a primary source's identifier (`GPS`).
    pub refid: String,
}

impl TraceHop {
    /// The hop a status snapshot describes, at `server`.
    #[must_use]
    pub fn of(server: String, s: &Status) -> Self {
        Self {
            server,
            stratum: s.stratum,
            offset_s: s.offset,
            distance_s: s.root_delay / 2.0 + s.root_dispersion,
            refid: match s.reference {
                Reference::None => "none".into(),
                Reference::Peer(a) => a.to_string(),
                Reference::Local(u) => format!("127.127.1.{u}"),
                Reference::Ptp => "PTP".into(),
            },
        }
    }
}

/// `display ntp-service trace` in the router's format: a line per hop from the device itself
/// (`server 127.0.0.1`) towards the primary reference, offsets and distances in seconds, then
/// the last hop's reference (`refid 127.127.1.0`).
#[must_use]
pub fn ntp_trace(hops: &[TraceHop]) -> String {
    let mut out = String::new();
    for h in hops {
        let _ = writeln!(
            out,
            " server {}, stratum {}, offset {:.6}, synch distance {:.5},",
            h.server, h.stratum, h.offset_s, h.distance_s
        );
    }
    if let Some(last) = hops.last() {
        let _ = writeln!(out, " refid {}", last.refid);
    }
    out
}
