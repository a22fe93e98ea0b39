//! The device configuration the commands edit: a plain value, compared, cloned for the
//! candidate, validated as a whole at commit.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// An interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// Administratively down (`shutdown`); GigabitEthernet interfaces start down.
    pub shutdown: bool,
    /// `ip address A MASK`: address and prefix length.
    pub ip: Option<(Ipv4Addr, u8)>,
    /// `ptp-adaptive atr enable`.
    pub atr_enable: bool,
}

impl Interface {
    /// A new interface in its default state.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            shutdown: name.starts_with("GigabitEthernet"),
            ip: None,
            atr_enable: false,
        }
    }
}

/// One ACL rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Permit or deny.
    pub permit: bool,
    /// Source address.
    pub source: Ipv4Addr,
    /// Wildcard.
    pub wildcard: Ipv4Addr,
}

/// Options of an NTP association (`unicast-server` / `unicast-peer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssociationOptions {
    /// Symmetric active (`unicast-peer`) rather than client.
    pub peer: bool,
    /// `version N`.
    pub version: Option<u8>,
    /// `port P`.
    pub port: Option<u16>,
    /// `authentication-keyid K`.
    pub key: Option<u32>,
    /// `source-interface IF`.
    pub source_interface: Option<String>,
    /// `vpn-instance V`.
    pub vpn_instance: Option<String>,
    /// `preference`.
    pub preference: bool,
    /// `minpoll N`.
    pub minpoll: Option<u8>,
    /// `maxpoll N`.
    pub maxpoll: Option<u8>,
    /// `burst`.
    pub burst: bool,
    /// `iburst`.
    pub iburst: bool,
    /// `preempt`.
    pub preempt: bool,
    /// `interleave` (meridian's extension, `unicast-server` only): RFC 9769 interleaved client
    /// mode; NTP version 4 unless configured otherwise.
    pub interleave: bool,
}

/// NTP settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ntp {
    /// `refclock-master [127.127.1.u] [stratum]`.
    pub refclock: Option<(Option<u8>, Option<u8>)>,
    /// `server source-interface IF`.
    pub server_source_interfaces: BTreeSet<String>,
    /// `source-interface IF`.
    pub source_interface: Option<String>,
    /// Associations by address.
    pub associations: BTreeMap<Ipv4Addr, AssociationOptions>,
    /// `authentication enable`.
    pub authentication: bool,
    /// Keys: id → (hmac-sha256?, the key in clear, always true: shown in cipher text).
    pub keys: BTreeMap<u32, (bool, String, bool)>,
    /// `reliable authentication-keyid`.
    pub reliable: BTreeSet<u32>,
    /// `access CLASS ACL`.
    pub access: BTreeMap<&'static str, u32>,
    /// `kod-enable`.
    pub kod: bool,
    /// `discard min-interval N`.
    pub discard_min: Option<u8>,
    /// `discard avg-interval N`.
    pub discard_avg: Option<u8>,
    /// `max-dynamic-sessions N`.
    pub max_dynamic_sessions: Option<u8>,
    /// `max-distance S`.
    pub max_distance: Option<u8>,
}

/// One source's `clock source SOURCE …` settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockSource {
    /// `synchronization enable`.
    pub enabled: bool,
    /// `priority N`.
    pub priority: Option<u8>,
    /// `ssm QL`.
    pub ssm: Option<&'static str>,
}

/// PTP (1588 ATR/ACR) settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ptp {
    /// `ptp-adaptive enable`.
    pub enable: bool,
    /// `device-type`.
    pub device_type: Option<&'static str>,
    /// `frequency profile` / `time profile`.
    pub profile: Option<&'static str>,
    /// `domain N`.
    pub domain: Option<u8>,
    /// `local-ip`.
    pub local_ip: Option<Ipv4Addr>,
    /// `vpn-instance`.
    pub vpn_instance: Option<String>,
    /// `remote-server1-ip`, `remote-server2-ip`.
    pub servers: [Option<Ipv4Addr>; 2],
    /// `{acr [one-way|two-way] | atr} unicast-negotiate enable`: "atr", "acr one-way", "acr two-way".
    pub negotiate: Option<&'static str>,
    /// `dscp N`.
    pub dscp: Option<u8>,
    /// announce / sync / delay-resp durations.
    pub durations: [Option<u32>; 3],
    /// announce / sync / delay-resp request intervals (VRP encoding).
    pub intervals: [Option<u8>; 3],
    /// `announce receipt-timeout N`.
    pub receipt_timeout: Option<u8>,
    /// `atr server1|server2 asymmetry-correction positive|negative NS`: signed ns.
    pub asymmetry: [Option<i64>; 2],
    /// `atr hop-by-hop`.
    pub hop_by_hop: bool,
    /// `ptp lite-sync sub-ms enable`.
    pub lite_sync: bool,
    /// `ptp-adaptive client-acl N`: the clients a server grants (an extension of meridian's,
    /// not in the vendor's command set).
    pub client_acl: Option<u32>,
}

/// The whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `sysname`.
    pub sysname: String,
    /// `license active FILE`: the file, and the features it enables.
    pub license: Option<(String, BTreeSet<String>)>,
    /// Interfaces by canonical name.
    pub interfaces: BTreeMap<String, Interface>,
    /// ACLs by number.
    pub acls: BTreeMap<u32, BTreeMap<u32, Rule>>,
    /// NTP.
    pub ntp: Ntp,
    /// PTP.
    pub ptp: Ptp,
    /// `clock source ptp|ntp …`, by source (`ntp` is meridian's extension).
    pub clock_sources: BTreeMap<&'static str, ClockSource>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sysname: "HUAWEI".into(),
            license: None,
            interfaces: BTreeMap::new(),
            acls: BTreeMap::new(),
            ntp: Ntp::default(),
            ptp: Ptp::default(),
            clock_sources: BTreeMap::new(),
        }
    }
}

/// The feature a license must enable for `ptp-adaptive enable`.
pub const CLOCK_SYNC_FEATURE: &str = "clock-synchronization";

impl Config {
    /// The address of an interface, if it has one and is not shut down: a shut interface
    /// carries nothing, so nothing serves, sends or listens on its address.
    #[must_use]
    pub fn interface_address(&self, name: &str) -> Option<Ipv4Addr> {
        self.interfaces
            .get(name)
            .filter(|i| !i.shutdown)
            .and_then(|i| i.ip)
            .map(|(a, _)| a)
    }

    /// Cross-field rules checked at commit; the first broken one, as the reason.
    pub fn validate(&self) -> Result<(), String> {
        let p = &self.ptp;
        if p.enable
            && !self
                .license
                .as_ref()
                .is_some_and(|(_, f)| f.contains(CLOCK_SYNC_FEATURE))
        {
            return Err("The clock synchronization license is not activated; ptp-adaptive enable is not allowed.".into());
        }
        if p.hop_by_hop
            && (p.device_type != Some("client")
                || p.profile != Some("time")
                || p.negotiate.is_some_and(|m| m != "atr"))
        {
            return Err(
                "ptp-adaptive atr hop-by-hop needs ptp-adaptive device-type client, \
                        ptp-adaptive time profile and ATR."
                    .into(),
            );
        }
        if let Some(d) = p.domain {
            let (lo, hi) = domains(p);
            if !(lo..=hi).contains(&d) {
                return Err(format!(
                    "The domain must be in the range {lo}-{hi} for the configured profile."
                ));
            }
        }
        for (i, v) in p.intervals.iter().enumerate() {
            let (lo, hi) = interval_range(i, p.profile);
            if let Some(v) = v
                && !(lo..=hi).contains(v)
            {
                return Err(format!(
                    "The interval must be in the range {lo}-{hi} for the configured profile."
                ));
            }
        }
        if p.device_type == Some("server")
            && (p.servers.iter().any(Option::is_some) || self.clock_sources.contains_key("ptp"))
        {
            return Err(
                "Remote servers and clock source settings apply to a client, not to a server."
                    .into(),
            );
        }
        if let Some(local) = p.local_ip
            && p.servers.iter().flatten().any(|s| *s == local)
        {
            return Err("A remote server address must differ from the local IP address.".into());
        }
        if let [Some(a), Some(b)] = p.servers
            && a == b
        {
            return Err("remote-server1-ip and remote-server2-ip must differ.".into());
        }
        for iface in self
            .ntp
            .server_source_interfaces
            .iter()
            .chain(&self.ntp.source_interface)
        {
            if !self.interfaces.contains_key(iface) {
                return Err(format!("Interface {iface} does not exist."));
            }
        }
        for id in &self.ntp.reliable {
            if !self.ntp.keys.contains_key(id) {
                return Err(format!("Authentication key {id} is not configured."));
            }
        }
        if self.ntp.associations.len() > 128 {
            return Err("At most 128 NTP associations may be configured.".into());
        }
        for (class, acl) in &self.ntp.access {
            if !self.acls.contains_key(acl) {
                return Err(format!(
                    "ACL {acl} used by ntp-service access {class} does not exist."
                ));
            }
        }
        if let Some(acl) = self.ptp.client_acl
            && !self.acls.contains_key(&acl)
        {
            return Err(format!(
                "ACL {acl} used by ptp-adaptive client-acl does not exist."
            ));
        }
        Ok(())
    }
}

/// The domain range of a profile.
#[must_use]
pub fn profile_domains(profile: Option<&str>) -> (u8, u8) {
    match profile {
        Some("frequency") => (4, 23),
        Some("time") => (44, 63),
        _ => (0, 255),
    }
}

/// The domains the PTP settings allow: the profile's, or 0–255 (default 0) in hop-by-hop mode.
#[must_use]
pub fn domains(p: &Ptp) -> (u8, u8) {
    if p.hop_by_hop {
        (0, 255)
    } else {
        profile_domains(p.profile)
    }
}

/// The VRP values (2^n/1024 s) a requested interval may take: announce (0), sync (1) or
/// delay-resp (2), under `profile` (G.8275.2 allows Announce no slower than 1 s).
#[must_use]
pub fn interval_range(which: usize, profile: Option<&str>) -> (u8, u8) {
    match (which, profile) {
        (0, Some("time")) => (7, 10),
        (0, _) => (7, 14),
        (1, _) => (0, 20),
        _ => (3, 14),
    }
}
