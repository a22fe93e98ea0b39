//! Prometheus text metrics on a loopback HTTP port (`meridiand --metrics 127.0.0.1:9123`):
//! the clock's offset and frequency, NTP peers (reach, poll, delay, offset), PTP servers and
//! clients (message counters per grant type) and dropped packets by reason.
//!
//! The listener is served by the control plane's threads (`control_plane`): a scrape is
//! rendered by the time loop between two rounds of packets and never holds it up.

use std::fmt::Write as _;
use std::io;
use std::net::{SocketAddr, TcpListener};

use meridian_proto::servo::ServoState;
use meridian_proto::unicast::{Activity, GrantedType};
use meridian_vrp::device::DeviceEngine;

/// The metrics endpoint.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
}

impl MetricsServer {
    /// Listens on `addr`, which must be a loopback address: the metrics carry no
    /// authentication.
    pub fn bind(addr: SocketAddr) -> Result<Self, String> {
        if !addr.ip().is_loopback() {
            return Err(format!(
                "--metrics {addr}: metrics are served on a loopback address only"
            ));
        }
        let listener = TcpListener::bind(addr).map_err(|e| format!("--metrics {addr}: {e}"))?;
        Ok(Self { listener })
    }

    /// The bound address (the port, when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The listener, for the control plane to serve.
    #[must_use]
    pub fn into_listener(self) -> TcpListener {
        self.listener
    }
}

/// Text exposition builder: each metric family gets its HELP and TYPE once.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                // Label values here are addresses and fixed words: nothing to escape.
                let _ = write!(self.0, "{k}=\"{v}\"");
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn one(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

fn grant_name(k: GrantedType) -> &'static str {
    match k {
        GrantedType::Announce => "announce",
        GrantedType::Sync => "sync",
        GrantedType::DelayResp => "delay_resp",
    }
}

fn servo_state(a: Activity) -> f64 {
    match a {
        Activity::Steering(ServoState::Unlocked) => 0.0,
        Activity::Steering(ServoState::Locking) => 1.0,
        Activity::Steering(ServoState::Locked) => 2.0,
        Activity::Steering(ServoState::Holdover) => 3.0,
        Activity::Steering(ServoState::Reacquiring) => 4.0,
        Activity::Standby => 5.0,
    }
}

/// The time thread's datagram I/O: system calls (each a batch) and the datagrams they moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCounts {
    /// `recvmmsg` calls on the engines' sockets.
    pub receive_calls: u64,
    /// Datagrams they returned.
    pub received: u64,
    /// `sendmmsg` calls.
    pub send_calls: u64,
    /// Datagrams they sent.
    pub sent: u64,
}

/// The metrics of `engine`; `clock_offset_s` is the clock's offset from the host clock (the
/// virtual clock's correction; 0 when the host clock is steered).
#[must_use]
pub fn render(
    engine: &DeviceEngine,
    now: meridian_proto::engine::Instant,
    clock_offset_s: f64,
    clock_frequency_ppb: f64,
    io: &IoCounts,
) -> String {
    let mut e = Exposition(String::new());
    // Datagrams per call say how well a loaded server batches (1: one system call each).
    for (name, help, receive, send) in [
        (
            "meridian_io_calls_total",
            "System calls of the time thread receiving or sending datagrams (each one batch).",
            io.receive_calls,
            io.send_calls,
        ),
        (
            "meridian_io_datagrams_total",
            "Datagrams the time thread received or sent.",
            io.received,
            io.sent,
        ),
    ] {
        e.family(name, "counter", help);
        e.sample(name, &[("op", "receive")], receive as f64);
        e.sample(name, &[("op", "send")], send as f64);
    }
    e.one(
        "meridian_clock_offset_from_host_seconds",
        "gauge",
        "How far the served clock is from the host clock (CLOCK_REALTIME).",
        clock_offset_s,
    );
    e.one(
        "meridian_clock_frequency_ppb",
        "gauge",
        "The frequency correction in force on the served clock, ppb.",
        clock_frequency_ppb,
    );
    if let Some(ntp) = &engine.ntp {
        ntp_metrics(&mut e, ntp, now);
    }
    if let Some(ptp) = &engine.ptp {
        ptp_metrics(&mut e, ptp);
    }
    e.0
}

fn ntp_metrics(
    e: &mut Exposition,
    ntp: &meridian_proto::ntp_service::NtpNode,
    now: meridian_proto::engine::Instant,
) {
    let st = ntp.status();
    e.one(
        "meridian_ntp_synchronized",
        "gauge",
        "1 when the NTP clock is synchronized.",
        f64::from(u8::from(st.synchronized)),
    );
    e.one(
        "meridian_ntp_stratum",
        "gauge",
        "The NTP stratum.",
        f64::from(st.stratum),
    );
    e.one(
        "meridian_ntp_offset_seconds",
        "gauge",
        "The system offset (ours minus the reference) at the last update.",
        st.offset,
    );
    e.one(
        "meridian_ntp_root_delay_seconds",
        "gauge",
        "Root delay.",
        st.root_delay,
    );
    e.one(
        "meridian_ntp_root_dispersion_seconds",
        "gauge",
        "Root dispersion.",
        st.root_dispersion,
    );
    let sessions = ntp.sessions(now);
    type Field = fn(&meridian_proto::ntp_service::snapshot::Session) -> f64;
    let per_peer: [(&str, &str, Field); 5] = [
        ("meridian_ntp_peer_reach", "Reach register (8 bits).", |s| {
            f64::from(s.reach)
        }),
        ("meridian_ntp_peer_poll_seconds", "Poll interval.", |s| {
            f64::from(s.poll_s)
        }),
        (
            "meridian_ntp_peer_delay_seconds",
            "Round-trip delay.",
            |s| s.delay,
        ),
        (
            "meridian_ntp_peer_offset_seconds",
            "Offset (the peer minus us).",
            |s| s.offset,
        ),
        ("meridian_ntp_peer_stratum", "The peer's stratum.", |s| {
            f64::from(s.stratum)
        }),
    ];
    for (name, help, f) in per_peer {
        e.family(name, "gauge", help);
        for s in &sessions {
            let peer = s.source.to_string();
            e.sample(name, &[("peer", &peer)], f(s));
        }
    }
    let d = ntp.drops;
    e.family(
        "meridian_ntp_dropped_packets_total",
        "counter",
        "NTP packets dropped, by reason.",
    );
    for (reason, n) in [
        ("malformed", d.malformed),
        ("control", d.control),
        ("denied", d.denied),
        ("rate_limited", d.rate_limited),
        ("not_serving", d.not_serving),
        ("auth", d.auth),
        ("no_association", d.no_association),
        ("passive_refused", d.passive_refused),
        ("broadcast", d.broadcast),
        ("overload", d.overload),
    ] {
        e.sample(
            "meridian_ntp_dropped_packets_total",
            &[("reason", reason)],
            n as f64,
        );
    }
    let c = ntp.server;
    e.family(
        "meridian_ntp_server_packets_total",
        "counter",
        "Packets the NTP server sent: replies (of which interleaved) and kisses-o'-death.",
    );
    for (what, n) in [
        ("reply", c.replies),
        ("interleaved", c.interleaved),
        ("kod", c.kod_sent),
    ] {
        e.sample(
            "meridian_ntp_server_packets_total",
            &[("kind", what)],
            n as f64,
        );
    }
    e.family(
        "meridian_ntp_passive_associations_total",
        "counter",
        "Passive associations: mobilized for unauthenticated peers no ACL lets peer (answered, \
         never selected), and expired after their peer fell silent.",
    );
    for (what, n) in [
        ("untrusted", c.passive_untrusted),
        ("expired", c.passive_expired),
    ] {
        e.sample(
            "meridian_ntp_passive_associations_total",
            &[("event", what)],
            n as f64,
        );
    }
}

fn ptp_metrics(e: &mut Exposition, ptp: &meridian_proto::unicast::PtpNode) {
    e.family(
        "meridian_ptp_dropped_packets_total",
        "counter",
        "PTP packets dropped, by reason.",
    );
    let drop = |e: &mut Exposition, reason: &str, n: u64| {
        e.sample(
            "meridian_ptp_dropped_packets_total",
            &[("reason", reason)],
            n as f64,
        );
    };
    drop(e, "malformed", ptp.parse_drops.malformed);
    drop(e, "not_handled", ptp.parse_drops.not_handled);
    if let Some(c) = ptp.client() {
        drop(e, "client_wrong_domain", c.drops.wrong_domain);
        drop(e, "client_unknown_source", c.drops.unknown_source);
        drop(e, "client_not_selected", c.drops.not_selected);
        drop(e, "client_unmatched", c.drops.unmatched);
        drop(e, "client_implausible_time", c.drops.implausible);
    }
    if let Some(s) = ptp.server() {
        drop(e, "server_wrong_domain", s.drops.wrong_domain);
        drop(e, "server_not_for_us", s.drops.not_for_us);
        drop(
            e,
            "server_delay_req_without_grant",
            s.drops.delay_req_without_grant,
        );
        drop(e, "server_unexpected", s.drops.unexpected);
        drop(e, "server_refused_capacity", s.refused_capacity);
        drop(e, "server_rate_limited", s.drops.rate_limited);
        drop(e, "server_excess_tlvs", s.drops.excess_tlvs);
        drop(e, "server_evicted_probation", s.drops.evicted);
        drop(e, "server_follow_up_lost", s.drops.follow_up_lost);
        drop(e, "server_denied_by_acl", s.drops.denied);
    }
    if let Some(c) = ptp.client() {
        e.one(
            "meridian_ptp_client_servo_state",
            "gauge",
            "0 unlocked, 1 locking, 2 locked, 3 holdover, 4 re-acquiring, 5 standby (another clock source has the clock).",
            servo_state(c.activity().0),
        );
        e.one(
            "meridian_ptp_client_frequency_ppb",
            "gauge",
            "The client's frequency correction, ppb.",
            c.frequency_ppb(),
        );
        e.family(
            "meridian_ptp_server_selected",
            "gauge",
            "1 for the server the client tracks.",
        );
        for (i, s) in c.servers().iter().enumerate() {
            let server = s.addr.to_string();
            e.sample(
                "meridian_ptp_server_selected",
                &[("server", &server)],
                f64::from(u8::from(c.selected() == Some(i))),
            );
        }
        e.family(
            "meridian_ptp_client_messages_total",
            "counter",
            "Messages exchanged with each server, by grant type and direction.",
        );
        for s in c.servers() {
            let server = s.addr.to_string();
            for k in GrantedType::ALL {
                let n = s.counters[k as usize];
                for (dir, v) in [
                    ("received", n.received),
                    ("sent", n.sent),
                    ("discarded", n.discarded),
                ] {
                    e.sample(
                        "meridian_ptp_client_messages_total",
                        &[("server", &server), ("type", grant_name(k)), ("dir", dir)],
                        v as f64,
                    );
                }
            }
        }
        e.family(
            "meridian_ptp_client_path_seconds",
            "gauge",
            "The last T2 − T1 (forward) and T4 − T3 (reverse) per server.",
        );
        for s in c.servers() {
            let server = s.addr.to_string();
            for (way, d) in [("forward", s.t21.realtime), ("reverse", s.t43.realtime)] {
                if let Some(d) = d {
                    e.sample(
                        "meridian_ptp_client_path_seconds",
                        &[("server", &server), ("way", way)],
                        d.as_secs_f64(),
                    );
                }
            }
        }
    }
    if let Some(s) = ptp.server() {
        e.one(
            "meridian_ptp_server_clients",
            "gauge",
            "Clients holding at least one grant.",
            s.clients().count() as f64,
        );
        e.family(
            "meridian_ptp_server_messages_total",
            "counter",
            "Messages exchanged with each client, by grant type and direction.",
        );
        for c in s.clients() {
            let client = c.addr.to_string();
            for k in GrantedType::ALL {
                let n = c.counters[k as usize];
                for (dir, v) in [
                    ("received", n.received),
                    ("sent", n.sent),
                    ("discarded", n.discarded),
                ] {
                    e.sample(
                        "meridian_ptp_server_messages_total",
                        &[("client", &client), ("type", grant_name(k)), ("dir", dir)],
                        v as f64,
                    );
                }
            }
        }
    }
}
