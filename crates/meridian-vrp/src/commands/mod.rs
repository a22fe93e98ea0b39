//! The command tree: one table from which parsing, `?` help, completion and
//! `display current-configuration` all derive.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::config::{AssociationOptions, Config, Interface, Rule, domains, profile_domains};
use crate::syntax::Value;

/// The kind of view a command is available in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViewKind {
    /// `<name>`.
    User,
    /// `[~name]`.
    System,
    /// `[~name-GigabitEthernet0/1/0]`.
    Interface,
    /// `[~name-acl4-basic-2000]`.
    Acl,
}

impl ViewKind {
    /// The name the daemon's control socket uses for this view.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::System => "system",
            Self::Interface => "interface",
            Self::Acl => "acl",
        }
    }

    /// The view named `name` (see [`ViewKind::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::User, Self::System, Self::Interface, Self::Acl]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

/// Arguments by parameter name (keyword-only optional groups appear as [`Value::Flag`] under
/// their first keyword).
pub type Args = BTreeMap<&'static str, Value>;

/// Where a command runs: the view's object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The interface of an interface view.
    pub interface: Option<String>,
    /// The ACL of an ACL view.
    pub acl: Option<u32>,
}

/// A configuration change; `Err` carries the message (nothing changes).
pub type SetFn = fn(&mut Config, &Context, &Args) -> Result<(), String>;

/// Commands that do something other than change the candidate configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exec {
    /// `system-view`.
    SystemView,
    /// `quit`.
    Quit,
    /// `return`.
    Return,
    /// `commit`.
    Commit,
    /// `save`.
    Save,
    /// `interface IF`.
    Interface,
    /// `acl number N`.
    Acl,
    /// `license active FILE`.
    License,
    /// `display current-configuration`.
    DisplayCurrent,
    /// `display this`.
    DisplayThis,
    /// `display ntp-service status`.
    NtpStatus,
    /// `display ntp-service sessions [verbose]`.
    NtpSessions,
    /// `display ntp-service trace`.
    NtpTrace,
    /// `display ptp-adaptive …`.
    Ptp,
    /// `reset ptp-adaptive statistics`.
    ResetPtp,
    /// `display clock source`.
    ClockSource,
}

/// What a command does.
#[derive(Clone, Copy)]
pub enum Action {
    /// Runs an exec command.
    Exec(Exec),
    /// Changes the candidate configuration.
    Set(SetFn),
}

/// How a command shows up in `display current-configuration`.
#[derive(Clone, Copy)]
pub enum Render {
    /// It does not (exec commands).
    None,
    /// System-view lines in section `u8` (0 sysname, 1 license, 2 clock, 3 ntp, 4 ptp, 5 acl).
    System(u8, fn(&Config) -> Vec<String>),
    /// Lines inside an interface block.
    Interface(fn(&str, &Interface) -> Vec<String>),
}

/// One command of the tree.
#[derive(Clone, Copy)]
pub struct Command {
    /// Views it is available in.
    pub views: &'static [ViewKind],
    /// Its syntax (see [`crate::syntax`]).
    pub syntax: &'static str,
    /// One-line help.
    pub help: &'static str,
    /// What it does.
    pub action: Action,
    /// Its `undo` form: syntax after `undo`, and the change, restoring the default.
    pub undo: Option<(&'static str, SetFn)>,
    /// Its rendering.
    pub render: Render,
}

const SYS: &[ViewKind] = &[ViewKind::System];
const IFACE: &[ViewKind] = &[ViewKind::Interface];
const ANY: &[ViewKind] = &[
    ViewKind::User,
    ViewKind::System,
    ViewKind::Interface,
    ViewKind::Acl,
];
const CONFIG_VIEWS: &[ViewKind] = &[ViewKind::System, ViewKind::Interface, ViewKind::Acl];

fn int(a: &Args, k: &str) -> Option<u64> {
    match a.get(k) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    }
}

fn ip(a: &Args, k: &str) -> Option<Ipv4Addr> {
    match a.get(k) {
        Some(Value::Ipv4(v)) => Some(*v),
        _ => None,
    }
}

fn text(a: &Args, k: &str) -> Option<String> {
    match a.get(k) {
        Some(Value::Text(v)) | Some(Value::Interface(v)) => Some(v.clone()),
        _ => None,
    }
}

fn choice(a: &Args, k: &str) -> Option<&'static str> {
    match a.get(k) {
        Some(Value::Choice(v)) => Some(v),
        _ => None,
    }
}

fn flag(a: &Args, k: &str) -> bool {
    a.contains_key(k)
}

fn mask(len: u8) -> Ipv4Addr {
    Ipv4Addr::from(if len == 0 { 0 } else { u32::MAX << (32 - len) })
}

fn iface<'a>(c: &'a mut Config, ctx: &Context) -> Result<&'a mut Interface, String> {
    let name = ctx
        .interface
        .as_deref()
        .ok_or("Not in an interface view.")?;
    Ok(c.interfaces
        .entry(name.to_string())
        .or_insert_with(|| Interface::new(name)))
}

fn assoc_line(addr: &Ipv4Addr, o: &AssociationOptions) -> String {
    let mut s = format!(
        "ntp-service {} {addr}",
        if o.peer {
            "unicast-peer"
        } else {
            "unicast-server"
        }
    );
    if let Some(v) = o.version {
        s += &format!(" version {v}");
    }
    if let Some(p) = o.port {
        s += &format!(" port {p}");
    }
    if let Some(k) = o.key {
        s += &format!(" authentication-keyid {k}");
    }
    if let Some(i) = &o.source_interface {
        s += &format!(" source-interface {i}");
    }
    if let Some(v) = &o.vpn_instance {
        s += &format!(" vpn-instance {v}");
    }
    for (on, word) in [(o.preference, "preference")] {
        if on {
            s += &format!(" {word}");
        }
    }
    if let Some(m) = o.minpoll {
        s += &format!(" minpoll {m}");
    }
    if let Some(m) = o.maxpoll {
        s += &format!(" maxpoll {m}");
    }
    for (on, word) in [
        (o.burst, "burst"),
        (o.iburst, "iburst"),
        (o.preempt, "preempt"),
        (o.interleave, "interleave"),
    ] {
        if on {
            s += &format!(" {word}");
        }
    }
    s
}

fn set_association(c: &mut Config, a: &Args, peer: bool) -> Result<(), String> {
    let addr = ip(a, "addr").ok_or("missing address")?;
    let o = AssociationOptions {
        peer,
        version: int(a, "version").map(|v| v as u8),
        port: int(a, "port").map(|v| v as u16),
        key: int(a, "key").map(|v| v as u32),
        source_interface: text(a, "if"),
        vpn_instance: text(a, "vpn"),
        preference: flag(a, "preference"),
        minpoll: int(a, "minpoll").map(|v| v as u8),
        maxpoll: int(a, "maxpoll").map(|v| v as u8),
        burst: flag(a, "burst"),
        iburst: flag(a, "iburst"),
        preempt: flag(a, "preempt"),
        interleave: flag(a, "interleave"),
    };
    if let (Some(lo), Some(hi)) = (o.minpoll, o.maxpoll)
        && lo > hi
    {
        return Err("minpoll must not exceed maxpoll.".into());
    }
    if o.interleave && o.version.is_some_and(|v| v != 4) {
        return Err("Interleaved mode needs NTP version 4.".into());
    }
    c.ntp.associations.insert(addr, o);
    Ok(())
}

fn opt_line<T: std::fmt::Display>(v: &Option<T>, prefix: &str) -> Vec<String> {
    v.iter().map(|v| format!("{prefix} {v}")).collect()
}

/// The `clock source` settings of the source the command names (created if new).
fn source<'a>(c: &'a mut Config, a: &Args) -> &'a mut crate::config::ClockSource {
    let name = choice(a, "src").unwrap_or("ptp");
    c.clock_sources.entry(name).or_default()
}

/// Forgets sources left with no settings, so `undo` restores the configuration exactly.
fn tidy_sources(c: &mut Config) {
    c.clock_sources
        .retain(|_, s| *s != crate::config::ClockSource::default());
}

/// `clock source SOURCE <what>` for each source that has `what` (PTP first).
fn sources_lines(
    c: &Config,
    what: impl Fn(&crate::config::ClockSource) -> Option<String>,
) -> Vec<String> {
    ["ptp", "ntp"]
        .iter()
        .filter_map(|n| {
            Some(format!(
                "clock source {n} {}",
                what(c.clock_sources.get(n)?)?
            ))
        })
        .collect()
}

fn on_line(on: bool, line: &str) -> Vec<String> {
    if on {
        vec![line.to_string()]
    } else {
        Vec::new()
    }
}

const DURATION_WORDS: [&str; 3] = ["announce-duration", "sync-duration", "delay-resp-duration"];
const INTERVAL_WORDS: [&str; 3] = ["announce-interval", "sync-interval", "delay-resp-interval"];

mod basics;
mod exec;
mod ntp;
mod ptp;

/// The command table: exec commands, basics, NTP, then PTP (the order of `display
/// current-configuration`).
#[must_use]
pub fn table() -> &'static [Command] {
    static TABLE: std::sync::LazyLock<Vec<Command>> = std::sync::LazyLock::new(|| {
        [
            exec::COMMANDS,
            basics::COMMANDS,
            ntp::COMMANDS,
            ptp::COMMANDS,
        ]
        .concat()
    });
    &TABLE
}
