//! From a device's configuration to what its node ([`meridian_proto::node::Node`]) runs, and the
//! PTP displays rendered from the node's state.

use std::net::Ipv4Addr;

use meridian_proto::clock_select::{ClockSources, QualityLevel, SourceSettings};
use meridian_proto::engine::Instant;
use meridian_proto::ntp_service::access::{AccessClass, AccessControl, Acl, AclRule};
use meridian_proto::ntp_service::auth::{Key, KeyType};
use meridian_proto::ntp_service::config::{
    AssociationConfig, AssociationKind, NtpConfig, RefClock,
};
use meridian_proto::ptp::ClockIdentity;
use meridian_proto::time::Duration;
use meridian_proto::unicast::config::ServoKind;
use meridian_proto::unicast::config::vrp_interval_to_log;
use meridian_proto::unicast::{
    Activity, Client, ClientConfig, Profile, PtpNode, RecoveryMode, Server, ServerConfig,
};

use crate::config::Config;

/// A device's engines (the node), as this layer calls it.
pub use meridian_proto::node::Node as DeviceEngine;
use meridian_proto::node::NodeConfig;

/// Every address configured on the device's interfaces, shut or not.
#[must_use]
pub fn configured_addresses(c: &Config) -> Vec<Ipv4Addr> {
    c.interfaces
        .values()
        .filter_map(|i| i.ip.map(|(a, _)| a))
        .collect()
}

/// Every address the device can use: those of its interfaces that are not shut down.
#[must_use]
pub fn addresses(c: &Config) -> Vec<Ipv4Addr> {
    c.interfaces
        .values()
        .filter(|i| !i.shutdown)
        .filter_map(|i| i.ip.map(|(a, _)| a))
        .collect()
}

/// A clock identity derived from the device's first configured address (EUI-64 from a locally
/// administered MAC), shut or not: shutting an interface does not change who the device is.
#[must_use]
pub fn clock_identity(c: &Config) -> ClockIdentity {
    let [a, b, cc, d] = configured_addresses(c)
        .first()
        .map_or([0; 4], Ipv4Addr::octets);
    ClockIdentity::from_mac([0x02, 0x00, a, b, cc, d])
}

/// The NTP service the configuration describes, or `None` if it configures none.
#[must_use]
pub fn ntp_config(c: &Config) -> Option<NtpConfig> {
    let n = &c.ntp;
    if n.associations.is_empty() && n.refclock.is_none() && n.server_source_interfaces.is_empty() {
        return None;
    }
    let source = n
        .source_interface
        .as_deref()
        .and_then(|i| c.interface_address(i))
        .or_else(|| addresses(c).first().copied())
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let mut cfg = NtpConfig::new(source);
    cfg.serve_on = n
        .server_source_interfaces
        .iter()
        .filter_map(|i| c.interface_address(i))
        .collect();
    cfg.refclock = n.refclock.map(|(u, s)| RefClock {
        unit: u.unwrap_or(0),
        stratum: s.unwrap_or(8),
    });
    for (addr, o) in &n.associations {
        let base = if o.peer {
            AssociationConfig::peer(*addr)
        } else {
            AssociationConfig::server(*addr)
        };
        cfg.associations.push(AssociationConfig {
            kind: if o.peer {
                AssociationKind::SymmetricActive
            } else {
                AssociationKind::Client
            },
            version: o.version.unwrap_or(if o.interleave { 4 } else { 3 }),
            port: o.port.unwrap_or(base.port),
            minpoll: o.minpoll.map_or(base.minpoll, |v| v as i8),
            maxpoll: o.maxpoll.map_or(base.maxpoll, |v| v as i8),
            burst: o.burst,
            iburst: o.iburst,
            interleave: o.interleave,
            prefer: o.preference,
            preempt: o.preempt,
            key: o.key,
            source: o
                .source_interface
                .as_deref()
                .and_then(|i| c.interface_address(i)),
            vpn_instance: o.vpn_instance.clone(),
            ..base
        });
    }
    cfg.authentication = n.authentication;
    for (id, (sha, password, _)) in &n.keys {
        let kind = if *sha {
            KeyType::HmacSha256
        } else {
            KeyType::Md5
        };
        cfg.keys.insert(
            *id,
            Key {
                kind,
                secret: password.as_bytes().to_vec(),
            },
        );
    }
    cfg.trusted = n.reliable.clone();
    let mut access = AccessControl {
        kod: n.kod,
        ..AccessControl::default()
    };
    access.discard_min = n.discard_min.map_or(access.discard_min, |v| v as i8);
    access.discard_avg = n.discard_avg.map_or(access.discard_avg, |v| v as i8);
    for (class, acl) in &n.access {
        let class = match *class {
            "peer" => AccessClass::Peer,
            "server" => AccessClass::Server,
            "synchronization" => AccessClass::Synchronization,
            "query" => AccessClass::Query,
            _ => AccessClass::Limited,
        };
        access.classes.insert(class, acl_of(c, *acl));
    }
    cfg.access = access;
    cfg.max_dynamic_sessions = n.max_dynamic_sessions.map_or(100, usize::from);
    cfg.max_distance = Duration::from_secs(n.max_distance.map_or(1, i64::from));
    Some(cfg)
}

/// ACL `n` of the configuration as the engines take it (empty if it does not exist).
fn acl_of(c: &Config, n: u32) -> Acl {
    let rules = c.acls.get(&n).map_or_else(Vec::new, |r| {
        r.iter()
            .map(|(id, r)| AclRule {
                id: *id,
                permit: r.permit,
                source: r.source,
                wildcard: r.wildcard,
            })
            .collect()
    });
    Acl { rules }
}

/// The PTP parts the configuration describes: a client, a server, both, or neither (unless
/// `ptp-adaptive enable` and a role).
#[must_use]
pub fn ptp_configs(c: &Config) -> (Option<ClientConfig>, Option<ServerConfig>) {
    let p = &c.ptp;
    let (Some(role), true) = (p.device_type, p.enable) else {
        return (None, None);
    };
    let Some(local) = p.local_ip.or_else(|| addresses(c).first().copied()) else {
        return (None, None);
    };
    let profile = match p.profile {
        Some("frequency") => Profile::Frequency,
        Some("time") => Profile::Time,
        _ => Profile::None,
    };
    // Hop-by-hop mode widens the domains to 0–255, default 0.
    let domain = p.domain.unwrap_or(if p.hop_by_hop {
        0
    } else {
        profile.default_domain()
    });
    let mode = match p.negotiate {
        Some("acr one-way") => RecoveryMode::AcrOneWay,
        Some("acr two-way") => RecoveryMode::AcrTwoWay,
        _ => RecoveryMode::Atr,
    };
    let identity = clock_identity(c);
    let client = matches!(role, "client" | "server-and-client").then(|| {
        let server1 = p.servers[0]
            .or(p.servers[1])
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mut cc = ClientConfig::new(local, identity, server1, domain);
        cc.servers = p.servers;
        cc.mode = mode;
        cc.dscp = p.dscp.unwrap_or(56);
        let defaults = [if profile == Profile::Time { 10 } else { 11 }, 7, 3];
        cc.announce_interval = vrp_interval_to_log(p.intervals[0].unwrap_or(defaults[0]));
        cc.sync_interval = vrp_interval_to_log(p.intervals[1].unwrap_or(defaults[1]));
        cc.delay_resp_interval = vrp_interval_to_log(p.intervals[2].unwrap_or(defaults[2]));
        cc.durations = [0, 1, 2].map(|i| p.durations[i].unwrap_or(300));
        cc.receipt_timeout = p.receipt_timeout.unwrap_or(3);
        cc.asymmetry = [0, 1].map(|i| Duration::from_nanos(p.asymmetry[i].unwrap_or(0)));
        cc.lite_sync = p.lite_sync;
        if p.hop_by_hop {
            // Directly attached: no queueing to select packets from, so a loop that follows
            // every sample (no selection window to wait for).
            cc.servo = ServoKind::Pi;
        }
        cc
    });
    let server = matches!(role, "server" | "server-and-client").then(|| {
        let mut sc = ServerConfig::new(local, identity, domain);
        sc.mode = mode;
        sc.client_acl = p.client_acl.map(|n| acl_of(c, n));
        sc.dscp = p.dscp.unwrap_or(56);
        if role == "server-and-client" {
            sc.properties = meridian_proto::unicast::TimeProperties::free_running(identity);
        }
        sc
    });
    (client, server)
}

/// The clock's source selection the configuration describes (`clock source …`).
#[must_use]
pub fn clock_sources(c: &Config) -> ClockSources {
    let settings = |name: &str| {
        c.clock_sources
            .get(name)
            .map_or(SourceSettings::default(), |s| SourceSettings {
                enabled: s.enabled,
                priority: s.priority,
                ssm: s.ssm.and_then(QualityLevel::from_name),
            })
    };
    ClockSources {
        ptp: settings("ptp"),
        ntp: settings("ntp"),
        automatic: c.ptp.lite_sync,
    }
}

/// Everything the configuration makes the device run, as the node takes it.
#[must_use]
pub fn node_config(c: &Config) -> NodeConfig {
    let (ptp_client, ptp_server) = ptp_configs(c);
    NodeConfig {
        ntp: ntp_config(c),
        addresses: addresses(c),
        ptp_client,
        ptp_server,
        clock_sources: clock_sources(c),
    }
}

/// The PTP node the configuration describes (`None` unless `ptp-adaptive enable` and a role).
#[must_use]
pub fn ptp_node(c: &Config, now: Instant, seed: u64) -> Option<PtpNode> {
    match ptp_configs(c) {
        (None, None) => None,
        (client, server) => Some(PtpNode::new(
            client.map(|cc| Client::new(cc, now, seed)),
            server.map(Server::new),
        )),
    }
}

use std::fmt::Write as _;

use meridian_proto::event::NegotiationState;
use meridian_proto::servo::ServoState;
use meridian_proto::unicast::negotiation::Negotiation;

use crate::session::{Displays, NtpDisplay};

/// The vendor's name for a negotiation's state.
#[must_use]
pub fn negotiate_state(n: &[Negotiation; 3]) -> &'static str {
    negotiation_words(NegotiationState::of(n))
}

/// How the displays name a servo state.
#[must_use]
pub fn servo_words(s: ServoState) -> &'static str {
    match s {
        ServoState::Unlocked => "free-run",
        ServoState::Locking => "acquiring",
        ServoState::Locked => "locked",
        ServoState::Holdover => "holdover",
        ServoState::Reacquiring => "re-acquiring",
    }
}

/// How the displays and `| json` name what a client does for the clock: its servo's state, or
/// `standby` (not "holdover", the alarm of a lost server: see [`Client::activity`]).
#[must_use]
pub fn activity_words(a: Activity) -> &'static str {
    match a {
        Activity::Steering(s) => servo_words(s),
        Activity::Standby => "standby",
    }
}

/// The vendor's words for a negotiation state.
#[must_use]
pub fn negotiation_words(s: NegotiationState) -> &'static str {
    match s {
        NegotiationState::Success => "Nego success",
        NegotiationState::Announce => "Nego announce",
        NegotiationState::Fail => "Nego fail",
        NegotiationState::Init => "Nego init",
    }
}

/// `display ptp-adaptive all`, in sections as the vendor prints them.
fn ptp_all(node: &DeviceEngine) -> Option<String> {
    let p = node.ptp.as_ref()?;
    let mut out = String::new();
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "  {k:<24}:{v}");
    };
    let _ = writeln!(
        out,
        " Device config info\n ------------------------------------------------------------"
    );
    let role = match (p.client().is_some(), p.server().is_some()) {
        (true, true) => "server-and-client",
        (true, false) => "client",
        _ => "server",
    };
    row(&mut out, "Adaptive state", "enable".into());
    row(&mut out, "Device type", role.into());
    if let Some(c) = p.client() {
        let cfg = c.config();
        row(
            &mut out,
            "Sync mode",
            if cfg.mode == RecoveryMode::Atr {
                "time".into()
            } else {
                "frequency".into()
            },
        );
        row(&mut out, "Packet dscp", cfg.dscp.to_string());
        row(&mut out, "Domain value", cfg.domain.to_string());
        row(
            &mut out,
            "Announce interval",
            (cfg.announce_interval.0 + 10).to_string(),
        );
        row(
            &mut out,
            "Sync interval",
            (cfg.sync_interval.0 + 10).to_string(),
        );
        row(
            &mut out,
            "Delay-resp interval",
            (cfg.delay_resp_interval.0 + 10).to_string(),
        );
        row(
            &mut out,
            "Announce duration",
            format!("{}s", cfg.durations[0]),
        );
        row(
            &mut out,
            "Announce timeout",
            cfg.receipt_timeout.to_string(),
        );
        row(&mut out, "Local ip", cfg.local.to_string());
        let _ = writeln!(
            out,
            "\n BMCA run info\n ------------------------------------------------------------"
        );
        let source = match c.selected() {
            Some(i) => format!("server{}", i + 1),
            None => "local".into(),
        };
        row(&mut out, "Current trace source", source);
        // Not in the vendor's output: the servo's state and how long it has held it, so
        // holdover is visible where the negotiation still reads "success".
        let (activity, since) = c.activity();
        let state = activity_words(activity);
        let held = node.now().duration_since(since).max(Duration::ZERO);
        row(
            &mut out,
            "Servo state",
            format!("{state} ({}s)", held.as_secs_f64() as u64),
        );
        let _ = writeln!(
            out,
            "\n Time performance statistics\n ------------------------------------------------------------"
        );
        if let Some(s) = c.selected().map(|i| &c.servers()[i]) {
            let fmt = |d: Option<meridian_proto::time::Duration>| {
                d.map_or("-".into(), |d| {
                    let ns = d.as_nanos_floor();
                    format!(
                        "{}{}s, {}ns",
                        if ns < 0 { "-" } else { "+" },
                        // unsigned_abs: a hostile T2−T1 saturates at i64::MIN.
                        (ns.unsigned_abs() / 1_000_000_000),
                        ns.unsigned_abs() % 1_000_000_000
                    )
                })
            };
            row(&mut out, "Realtime(T2-T1)", fmt(s.t21.realtime));
            row(&mut out, "Max(T2-T1)", fmt(s.t21.max));
            row(&mut out, "Min(T2-T1)", fmt(s.t21.min));
            row(&mut out, "Realtime(T4-T3)", fmt(s.t43.realtime));
            row(&mut out, "Max(T4-T3)", fmt(s.t43.max));
            row(&mut out, "Min(T4-T3)", fmt(s.t43.min));
        }
        let _ = writeln!(
            out,
            "\n Remote server info\n ------------------------------------------------------------"
        );
        let _ = writeln!(
            out,
            "  {:<16}{:<16}{:<8}{:<10}PTSF",
            "Server IP", "Nego state", "Class", "Priority"
        );
        for (i, s) in c.servers().iter().enumerate() {
            let class = s
                .announce
                .map_or("-".into(), |a| a.clock_quality.clock_class.to_string());
            let _ = writeln!(
                out,
                "  {:<16}{:<16}{:<8}{:<10}{}",
                s.addr.to_string(),
                negotiate_state(&s.negotiations),
                class,
                i + 1,
                if c.ptsf_reported(i) { "yes" } else { "no" }
            );
        }
    }
    if let Some(s) = p.server() {
        let _ = writeln!(
            out,
            "\n Client info\n ------------------------------------------------------------"
        );
        let _ = writeln!(
            out,
            "  {:<5}{:<16}{:<18}{:<9}Announce Sync Delay_resp",
            "ID", "IP address", "Clock ID", "Mode"
        );
        for c in s.clients() {
            let log = |k: usize| c.grants[k].map_or("-".into(), |g| g.log_interval.0.to_string());
            let mode = if c.grants[2].is_some() {
                "two-way"
            } else {
                "one-way"
            };
            let id: String = c
                .port
                .clock_identity
                .0
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let _ = writeln!(
                out,
                "  {:<5}{:<16}{:<18}{:<9}{}  {}  {}",
                c.id,
                c.addr.to_string(),
                id,
                mode,
                log(0),
                log(1),
                log(2)
            );
        }
    }
    Some(out)
}

/// `display clock source`: each source's standing, priority and quality level, and the one
/// the clock follows.
fn clock_source_display(node: &DeviceEngine) -> String {
    use meridian_proto::clock_select::Standing;
    let (present, available) = node.source_offers();
    let selected = node.clock_source();
    let mut out = String::new();
    let _ = writeln!(
        out,
        " Clock source selection\n ------------------------------------------------------------"
    );
    let _ = writeln!(out, "  {:<8}{:<14}{:<10}SSM", "Source", "State", "Priority");
    for r in node.clock_sources().rank(present, available) {
        let state = match r.standing {
            _ if r.source == selected => "selected",
            Standing::Absent => "not running",
            Standing::Unavailable => "unavailable",
            Standing::Excluded => "excluded",
            Standing::Candidate => "candidate",
        };
        let _ = writeln!(
            out,
            "  {:<8}{:<14}{:<10}{}",
            r.source.to_string(),
            state,
            r.priority.map_or("-".into(), |p| p.to_string()),
            r.ql.map_or("-", QualityLevel::name)
        );
    }
    let _ = writeln!(out, "  {:<24}:{selected}", "Clock follows");
    out
}

/// `display ptp-adaptive server N` on a client: what server N announces, and the counters.
fn ptp_server(node: &DeviceEngine, n: u64) -> Option<String> {
    let c = node.ptp.as_ref()?.client()?;
    let Some(s) = c.servers().get((n as usize).checked_sub(1)?) else {
        return Some(format!("Info: remote server {n} is not configured.\n"));
    };
    let mut out = String::new();
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "  {k:<28}:{v}");
    };
    let _ = writeln!(
        out,
        " Remote server{n} info ({})\n ------------------------------------------------------------",
        s.addr
    );
    if let Some(a) = s.announce {
        let gm: String = a
            .grandmaster_identity
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        row(&mut out, "Grandmaster ID", gm);
        row(&mut out, "Time source", format!("{:#04x}", a.time_source.0));
        row(&mut out, "Priority1", a.priority1.to_string());
        row(&mut out, "Priority2", a.priority2.to_string());
        row(
            &mut out,
            "Clock class",
            a.clock_quality.clock_class.to_string(),
        );
        row(
            &mut out,
            "Clock accuracy",
            format!("{:#04x}", a.clock_quality.clock_accuracy),
        );
        row(&mut out, "Steps removed", a.steps_removed.to_string());
        row(&mut out, "UTC offset", a.current_utc_offset.to_string());
    }
    if let Some(p) = s.identity {
        row(&mut out, "Parent port", p.to_string());
    }
    row(
        &mut out,
        "Negotiate state",
        negotiate_state(&s.negotiations).into(),
    );
    row(
        &mut out,
        "PTSF unusable",
        if c.ptsf_reported(n as usize - 1) {
            "yes"
        } else {
            "no"
        }
        .into(),
    );
    let _ = writeln!(
        out,
        "  {:<14}{:>10}{:>10}{:>10}",
        "Packet", "Receive", "Send", "Discard"
    );
    for (name, k) in [
        ("Announce", &s.counters[0]),
        ("Sync", &s.counters[1]),
        ("Delay", &s.counters[2]),
        ("Signaling", &s.signaling),
    ] {
        let _ = writeln!(
            out,
            "  {name:<14}{:>10}{:>10}{:>10}",
            k.received, k.sent, k.discarded
        );
    }
    Some(out)
}

/// `display ptp-adaptive client [ID]` on a server.
fn ptp_client(node: &DeviceEngine, id: Option<u64>) -> Option<String> {
    let srv = node.ptp.as_ref()?.server()?;
    let mut out = String::new();
    for c in srv
        .clients()
        .filter(|c| id.is_none_or(|i| c.id as u64 == i))
    {
        let clock: String = c
            .port
            .clock_identity
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(out, " Client ID {}: {} clock {clock}", c.id, c.addr);
        for (name, k, g) in [
            ("Announce", &c.counters[0], c.grants[0]),
            ("Sync", &c.counters[1], c.grants[1]),
            ("Delay_resp", &c.counters[2], c.grants[2]),
        ] {
            let grant = g.map_or("-".into(), |g| {
                format!("interval {} duration {}s", g.log_interval.0, g.duration)
            });
            let _ = writeln!(
                out,
                "  {name:<12}{grant:<28} receive {} send {} discard {}",
                k.received, k.sent, k.discarded
            );
        }
    }
    if out.is_empty() {
        out = "Info: no such client.\n".into();
    }
    Some(out)
}

/// A device's displays with `display ntp-service trace` answered by `trace` (its arguments:
/// the device, and whether JSON is wanted) where it has an answer, the device's own hop otherwise: the lab walks its
/// simulated devices, meridiand the network.
pub struct TraceBy<'a, F: Fn(&DeviceEngine, bool) -> Option<String>> {
    /// The device.
    pub engine: &'a mut DeviceEngine,
    /// The trace beyond the device.
    pub trace: F,
}

impl<F: Fn(&DeviceEngine, bool) -> Option<String>> Displays for TraceBy<'_, F> {
    fn ntp(&self, what: NtpDisplay) -> Option<String> {
        match what {
            NtpDisplay::Trace => (self.trace)(self.engine, false).or_else(|| self.engine.ntp(what)),
            _ => self.engine.ntp(what),
        }
    }
    fn ptp(&self, what: &str, id: Option<u64>) -> Option<String> {
        self.engine.ptp(what, id)
    }
    fn reset_ptp_statistics(&mut self) -> bool {
        self.engine.reset_ptp_statistics()
    }
    fn clock(&self) -> Option<String> {
        self.engine.clock()
    }
    fn ntp_json(&self, what: NtpDisplay) -> Option<String> {
        match what {
            NtpDisplay::Trace => {
                (self.trace)(self.engine, true).or_else(|| self.engine.ntp_json(what))
            }
            _ => self.engine.ntp_json(what),
        }
    }
    fn ptp_json(&self, what: &str, id: Option<u64>) -> Option<String> {
        self.engine.ptp_json(what, id)
    }
}

impl Displays for DeviceEngine {
    fn ntp(&self, what: NtpDisplay) -> Option<String> {
        let n = self.ntp.as_ref()?;
        Some(match what {
            NtpDisplay::Status => crate::display::ntp_status(&n.status()),
            NtpDisplay::Sessions(verbose) => crate::display::ntp_sessions(n, self.now(), verbose),
            // Alone, a device knows only its own hop; the lab and the daemon walk the chain.
            NtpDisplay::Trace => crate::display::ntp_trace(&[crate::display::TraceHop::of(
                "127.0.0.1".into(),
                &n.status(),
            )]),
        })
    }

    fn ptp(&self, what: &str, id: Option<u64>) -> Option<String> {
        match what {
            "server" => ptp_server(self, id.unwrap_or(1)),
            "client" => ptp_client(self, id),
            _ => ptp_all(self),
        }
    }

    fn reset_ptp_statistics(&mut self) -> bool {
        DeviceEngine::reset_ptp_statistics(self)
    }

    fn clock(&self) -> Option<String> {
        Some(clock_source_display(self))
    }

    fn ntp_json(&self, what: NtpDisplay) -> Option<String> {
        let n = self.ntp.as_ref()?;
        let v = match what {
            NtpDisplay::Status => crate::typed_json::ntp_status(&n.status()),
            NtpDisplay::Sessions(_) => crate::typed_json::ntp_sessions(n, self.now()),
            NtpDisplay::Trace => crate::typed_json::ntp_trace(&[crate::display::TraceHop::of(
                "127.0.0.1".into(),
                &n.status(),
            )]),
        };
        Some(v.to_string() + "\n")
    }

    fn ptp_json(&self, what: &str, id: Option<u64>) -> Option<String> {
        let p = self.ptp.as_ref()?;
        Some(crate::typed_json::ptp(p, what, id, self.now()).to_string() + "\n")
    }
}
