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

/// The command table.
#[must_use]
pub fn table() -> &'static [Command] {
    TABLE
}

static TABLE: &[Command] = &[
    // ------------------------------------------------------------------ exec
    Command {
        views: &[ViewKind::User],
        syntax: "system-view",
        help: "Enter the system view",
        action: Action::Exec(Exec::SystemView),
        undo: None,
        render: Render::None,
    },
    Command {
        views: CONFIG_VIEWS,
        syntax: "quit",
        help: "Exit from the current view",
        action: Action::Exec(Exec::Quit),
        undo: None,
        render: Render::None,
    },
    Command {
        views: CONFIG_VIEWS,
        syntax: "return",
        help: "Return to the user view",
        action: Action::Exec(Exec::Return),
        undo: None,
        render: Render::None,
    },
    Command {
        views: CONFIG_VIEWS,
        syntax: "commit",
        help: "Commit the candidate configuration",
        action: Action::Exec(Exec::Commit),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "save",
        help: "Save the running configuration",
        action: Action::Exec(Exec::Save),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display current-configuration",
        help: "Display the running configuration",
        action: Action::Exec(Exec::DisplayCurrent),
        undo: None,
        render: Render::None,
    },
    Command {
        views: CONFIG_VIEWS,
        syntax: "display this",
        help: "Display the configuration of the current view",
        action: Action::Exec(Exec::DisplayThis),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display ntp-service status",
        help: "Display the NTP status",
        action: Action::Exec(Exec::NtpStatus),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display ntp-service sessions [ verbose ]",
        help: "Display NTP sessions",
        action: Action::Exec(Exec::NtpSessions),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display ntp-service trace",
        help: "Display the path to the reference clock",
        action: Action::Exec(Exec::NtpTrace),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display clock source",
        help: "Display the clock's sources and the one it follows",
        action: Action::Exec(Exec::ClockSource),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "display ptp-adaptive <what:all|config|server|client> [ <id:0-511> ]",
        help: "Display 1588 ATR/ACR information",
        action: Action::Exec(Exec::Ptp),
        undo: None,
        render: Render::None,
    },
    Command {
        views: ANY,
        syntax: "reset ptp-adaptive statistics",
        help: "Clear 1588 ATR/ACR statistics",
        action: Action::Exec(Exec::ResetPtp),
        undo: None,
        render: Render::None,
    },
    Command {
        views: SYS,
        syntax: "interface <if:interface>",
        help: "Enter an interface view",
        action: Action::Exec(Exec::Interface),
        undo: None,
        render: Render::None,
    },
    Command {
        views: SYS,
        syntax: "acl number <acl:2000-3999>",
        help: "Enter an ACL view",
        action: Action::Exec(Exec::Acl),
        undo: None,
        render: Render::None,
    },
    Command {
        views: SYS,
        syntax: "license active <file:text255>",
        help: "Activate a license file",
        action: Action::Exec(Exec::License),
        undo: None,
        render: Render::None,
    },
    // ------------------------------------------------------------------ basics
    Command {
        views: SYS,
        syntax: "sysname <name:text246>",
        help: "Set the device name",
        action: Action::Set(|c, _, a| {
            c.sysname = text(a, "name").unwrap_or_default();
            Ok(())
        }),
        undo: Some(("sysname", |c, _, _| {
            c.sysname = "HUAWEI".into();
            Ok(())
        })),
        render: Render::System(0, |c| vec![format!("sysname {}", c.sysname)]),
    },
    Command {
        views: IFACE,
        syntax: "shutdown",
        help: "Shut the interface down",
        action: Action::Set(|c, x, _| {
            iface(c, x)?.shutdown = true;
            Ok(())
        }),
        undo: Some(("shutdown", |c, x, _| {
            iface(c, x)?.shutdown = false;
            Ok(())
        })),
        render: Render::Interface(|name, i| {
            let default = Interface::new(name).shutdown;
            match (i.shutdown, default) {
                (false, true) => vec![" undo shutdown".into()],
                (true, false) => vec![" shutdown".into()],
                _ => vec![],
            }
        }),
    },
    Command {
        views: IFACE,
        syntax: "ip address <addr:ipv4> <mask:mask>",
        help: "Set the interface address",
        action: Action::Set(|c, x, a| {
            let Some(Value::Prefix(len)) = a.get("mask") else {
                return Err("missing mask".into());
            };
            iface(c, x)?.ip = Some((ip(a, "addr").ok_or("missing address")?, *len));
            Ok(())
        }),
        undo: Some(("ip address", |c, x, _| {
            iface(c, x)?.ip = None;
            Ok(())
        })),
        render: Render::Interface(|_, i| {
            i.ip.iter()
                .map(|(a, l)| format!(" ip address {a} {}", mask(*l)))
                .collect()
        }),
    },
    Command {
        views: IFACE,
        syntax: "ptp-adaptive atr enable",
        help: "Enable 1588 ATR on the interface",
        action: Action::Set(|c, x, _| {
            iface(c, x)?.atr_enable = true;
            Ok(())
        }),
        undo: Some(("ptp-adaptive atr enable", |c, x, _| {
            iface(c, x)?.atr_enable = false;
            Ok(())
        })),
        render: Render::Interface(|_, i| on_line(i.atr_enable, " ptp-adaptive atr enable")),
    },
    Command {
        views: &[ViewKind::Acl],
        syntax: "rule [ <id:0-4294967294> ] <action:permit|deny> source <src:ipv4> <wild:ipv4>",
        help: "Add an ACL rule",
        action: Action::Set(|c, x, a| {
            let acl = c
                .acls
                .entry(x.acl.ok_or("Not in an ACL view.")?)
                .or_default();
            let id = int(a, "id")
                .map(|v| v as u32)
                .unwrap_or_else(|| acl.keys().next_back().map_or(5, |k| k + 5));
            let rule = Rule {
                permit: choice(a, "action") == Some("permit"),
                source: ip(a, "src").ok_or("missing source")?,
                wildcard: ip(a, "wild").ok_or("missing wildcard")?,
            };
            acl.insert(id, rule);
            Ok(())
        }),
        undo: Some(("rule <id:0-4294967294>", |c, x, a| {
            if let Some(acl) = c.acls.get_mut(&x.acl.unwrap_or_default()) {
                acl.remove(&(int(a, "id").unwrap_or_default() as u32));
            }
            Ok(())
        })),
        render: Render::System(5, |c| {
            let mut out = Vec::new();
            for (n, rules) in &c.acls {
                out.push(format!("acl number {n}"));
                for (id, r) in rules {
                    out.push(format!(
                        " rule {id} {} source {} {}",
                        if r.permit { "permit" } else { "deny" },
                        r.source,
                        r.wildcard
                    ));
                }
            }
            out
        }),
    },
    // ------------------------------------------------------------------ NTP
    Command {
        views: SYS,
        syntax: "ntp-service refclock-master [ <ref:ipv4> ] [ <stratum:1-15> ]",
        help: "Use the local clock as the reference",
        action: Action::Set(|c, _, a| {
            let unit = match ip(a, "ref") {
                Some(r) if r.octets()[..3] == [127, 127, 1] && r.octets()[3] <= 3 => {
                    Some(r.octets()[3])
                }
                Some(_) => {
                    return Err(
                        "The reference clock address must be 127.127.1.u with u from 0 to 3."
                            .into(),
                    );
                }
                None => None,
            };
            c.ntp.refclock = Some((unit, int(a, "stratum").map(|s| s as u8)));
            Ok(())
        }),
        undo: Some(("ntp-service refclock-master", |c, _, _| {
            c.ntp.refclock = None;
            Ok(())
        })),
        render: Render::System(3, |c| {
            c.ntp
                .refclock
                .iter()
                .map(|(u, s)| {
                    let mut l = "ntp-service refclock-master".to_string();
                    if let Some(u) = u {
                        l += &format!(" 127.127.1.{u}");
                    }
                    if let Some(s) = s {
                        l += &format!(" {s}");
                    }
                    l
                })
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service server source-interface <if:interface>",
        help: "Serve NTP on an interface",
        action: Action::Set(|c, _, a| {
            c.ntp
                .server_source_interfaces
                .insert(text(a, "if").unwrap_or_default());
            Ok(())
        }),
        undo: Some((
            "ntp-service server source-interface <if:interface>",
            |c, _, a| {
                c.ntp
                    .server_source_interfaces
                    .remove(&text(a, "if").unwrap_or_default());
                Ok(())
            },
        )),
        render: Render::System(3, |c| {
            c.ntp
                .server_source_interfaces
                .iter()
                .map(|i| format!("ntp-service server source-interface {i}"))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service source-interface <if:interface>",
        help: "Send NTP from an interface's address",
        action: Action::Set(|c, _, a| {
            c.ntp.source_interface = text(a, "if");
            Ok(())
        }),
        undo: Some(("ntp-service source-interface", |c, _, _| {
            c.ntp.source_interface = None;
            Ok(())
        })),
        render: Render::System(3, |c| {
            opt_line(&c.ntp.source_interface, "ntp-service source-interface")
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service unicast-server <addr:ipv4> [ version <version:1-4> ] [ port <port:1-65535> ] [ authentication-keyid <key:1-4294967295> ] [ source-interface <if:interface> ] [ vpn-instance <vpn:text31> ] [ preference ] [ minpoll <minpoll:4-17> ] [ maxpoll <maxpoll:10-17> ] [ burst ] [ iburst ] [ preempt ] [ interleave ]",
        help: "Configure an NTP server (client mode)",
        action: Action::Set(|c, _, a| set_association(c, a, false)),
        undo: Some(("ntp-service unicast-server <addr:ipv4>", |c, _, a| {
            c.ntp
                .associations
                .retain(|k, v| Some(*k) != ip(a, "addr") || v.peer);
            Ok(())
        })),
        render: Render::System(3, |c| {
            c.ntp
                .associations
                .iter()
                .filter(|(_, o)| !o.peer)
                .map(|(k, o)| assoc_line(k, o))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service unicast-peer <addr:ipv4> [ version <version:1-4> ] [ port <port:1-65535> ] [ authentication-keyid <key:1-4294967295> ] [ source-interface <if:interface> ] [ vpn-instance <vpn:text31> ] [ preference ] [ minpoll <minpoll:4-17> ] [ maxpoll <maxpoll:10-17> ] [ preempt ]",
        help: "Configure a symmetric active peer",
        action: Action::Set(|c, _, a| set_association(c, a, true)),
        undo: Some(("ntp-service unicast-peer <addr:ipv4>", |c, _, a| {
            c.ntp
                .associations
                .retain(|k, v| Some(*k) != ip(a, "addr") || !v.peer);
            Ok(())
        })),
        render: Render::System(3, |c| {
            c.ntp
                .associations
                .iter()
                .filter(|(_, o)| o.peer)
                .map(|(k, o)| assoc_line(k, o))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service authentication enable",
        help: "Enable NTP authentication",
        action: Action::Set(|c, _, _| {
            c.ntp.authentication = true;
            Ok(())
        }),
        undo: Some(("ntp-service authentication enable", |c, _, _| {
            c.ntp.authentication = false;
            Ok(())
        })),
        render: Render::System(3, |c| {
            on_line(c.ntp.authentication, "ntp-service authentication enable")
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service authentication-keyid <key:1-4294967295> authentication-mode <mode:md5|hmac-sha256> [ cipher ] <password:text600>",
        help: "Configure an NTP authentication key",
        action: Action::Set(|c, _, a| {
            // A key is typed in clear or pasted in cipher text (from a saved file); it is kept
            // in clear for the engines and only ever shown in cipher text.
            let typed = text(a, "password").unwrap_or_default();
            let key = crate::cipher::decode(&typed).unwrap_or(typed);
            if key.chars().count() > 255 {
                return Err("The key is longer than 255 characters.".into());
            }
            c.ntp.keys.insert(
                int(a, "key").unwrap_or_default() as u32,
                (choice(a, "mode") == Some("hmac-sha256"), key, true),
            );
            Ok(())
        }),
        undo: Some((
            "ntp-service authentication-keyid <key:1-4294967295>",
            |c, _, a| {
                c.ntp
                    .keys
                    .remove(&(int(a, "key").unwrap_or_default() as u32));
                Ok(())
            },
        )),
        render: Render::System(3, |c| {
            c.ntp
                .keys
                .iter()
                .map(|(k, (sha, pw, _))| {
                    format!(
                        "ntp-service authentication-keyid {k} authentication-mode {} cipher {}",
                        if *sha { "hmac-sha256" } else { "md5" },
                        crate::cipher::encode(pw)
                    )
                })
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service reliable authentication-keyid <key:1-4294967295>",
        help: "Trust an NTP authentication key",
        action: Action::Set(|c, _, a| {
            c.ntp
                .reliable
                .insert(int(a, "key").unwrap_or_default() as u32);
            Ok(())
        }),
        undo: Some((
            "ntp-service reliable authentication-keyid <key:1-4294967295>",
            |c, _, a| {
                c.ntp
                    .reliable
                    .remove(&(int(a, "key").unwrap_or_default() as u32));
                Ok(())
            },
        )),
        render: Render::System(3, |c| {
            c.ntp
                .reliable
                .iter()
                .map(|k| format!("ntp-service reliable authentication-keyid {k}"))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service access <class:peer|server|synchronization|query|limited> <acl:2000-3999>",
        help: "Control access to the NTP service",
        action: Action::Set(|c, _, a| {
            c.ntp.access.insert(
                choice(a, "class").unwrap_or("peer"),
                int(a, "acl").unwrap_or_default() as u32,
            );
            Ok(())
        }),
        undo: Some((
            "ntp-service access <class:peer|server|synchronization|query|limited>",
            |c, _, a| {
                c.ntp.access.remove(choice(a, "class").unwrap_or("peer"));
                Ok(())
            },
        )),
        render: Render::System(3, |c| {
            let order = ["peer", "server", "synchronization", "query", "limited"];
            order
                .iter()
                .filter_map(|k| {
                    c.ntp
                        .access
                        .get(k)
                        .map(|n| format!("ntp-service access {k} {n}"))
                })
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service kod-enable",
        help: "Send Kiss-o'-Death packets",
        action: Action::Set(|c, _, _| {
            c.ntp.kod = true;
            Ok(())
        }),
        undo: Some(("ntp-service kod-enable", |c, _, _| {
            c.ntp.kod = false;
            Ok(())
        })),
        render: Render::System(3, |c| on_line(c.ntp.kod, "ntp-service kod-enable")),
    },
    Command {
        views: SYS,
        syntax: "ntp-service discard [ min-interval <min:1-8> ] [ avg-interval <avg:1-16> ]",
        help: "Rate-limit limited clients",
        action: Action::Set(|c, _, a| {
            if let Some(m) = int(a, "min") {
                c.ntp.discard_min = Some(m as u8);
            }
            if let Some(m) = int(a, "avg") {
                c.ntp.discard_avg = Some(m as u8);
            }
            Ok(())
        }),
        undo: Some(("ntp-service discard", |c, _, _| {
            c.ntp.discard_min = None;
            c.ntp.discard_avg = None;
            Ok(())
        })),
        render: Render::System(3, |c| {
            let mut l = String::from("ntp-service discard");
            if let Some(m) = c.ntp.discard_min {
                l += &format!(" min-interval {m}");
            }
            if let Some(m) = c.ntp.discard_avg {
                l += &format!(" avg-interval {m}");
            }
            if c.ntp.discard_min.is_some() || c.ntp.discard_avg.is_some() {
                vec![l]
            } else {
                vec![]
            }
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service max-dynamic-sessions <n:0-100>",
        help: "Limit dynamic (passive) sessions",
        action: Action::Set(|c, _, a| {
            c.ntp.max_dynamic_sessions = int(a, "n").map(|v| v as u8);
            Ok(())
        }),
        undo: Some(("ntp-service max-dynamic-sessions", |c, _, _| {
            c.ntp.max_dynamic_sessions = None;
            Ok(())
        })),
        render: Render::System(3, |c| {
            opt_line(
                &c.ntp.max_dynamic_sessions,
                "ntp-service max-dynamic-sessions",
            )
        }),
    },
    Command {
        views: SYS,
        syntax: "ntp-service max-distance <s:1-16>",
        help: "Ignore servers farther than this (seconds)",
        action: Action::Set(|c, _, a| {
            c.ntp.max_distance = int(a, "s").map(|v| v as u8);
            Ok(())
        }),
        undo: Some(("ntp-service max-distance", |c, _, _| {
            c.ntp.max_distance = None;
            Ok(())
        })),
        render: Render::System(3, |c| {
            opt_line(&c.ntp.max_distance, "ntp-service max-distance")
        }),
    },
    // ------------------------------------------------------------------ PTP
    Command {
        views: SYS,
        syntax: "ptp-adaptive enable",
        help: "Enable 1588 ATR/ACR",
        action: Action::Set(|c, _, _| {
            c.ptp.enable = true;
            Ok(())
        }),
        undo: Some(("ptp-adaptive enable", |c, _, _| {
            c.ptp.enable = false;
            Ok(())
        })),
        render: Render::System(4, |c| on_line(c.ptp.enable, "ptp-adaptive enable")),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive device-type <type:client|server|server-and-client>",
        help: "Set the 1588 ATR/ACR role",
        action: Action::Set(|c, _, a| {
            c.ptp.device_type = choice(a, "type");
            Ok(())
        }),
        undo: Some(("ptp-adaptive device-type", |c, _, _| {
            c.ptp.device_type = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            opt_line(&c.ptp.device_type, "ptp-adaptive device-type")
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive <profile:frequency|time> profile",
        help: "Use the G.8265.1 (frequency) or G.8275.2 (time) profile",
        action: Action::Set(|c, _, a| {
            c.ptp.profile = choice(a, "profile");
            // A profile resets the domain to its default.
            c.ptp.domain = None;
            Ok(())
        }),
        undo: Some((
            "ptp-adaptive <profile:frequency|time> profile",
            |c, _, _| {
                c.ptp.profile = None;
                c.ptp.domain = None;
                Ok(())
            },
        )),
        render: Render::System(4, |c| {
            c.ptp
                .profile
                .iter()
                .map(|p| format!("ptp-adaptive {p} profile"))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive atr hop-by-hop",
        // Before `domain`: a saved configuration must name the wider range first.
        help: "The client is directly attached to its server",
        action: Action::Set(|c, _, _| {
            c.ptp.hop_by_hop = true;
            Ok(())
        }),
        undo: Some(("ptp-adaptive atr hop-by-hop", |c, _, _| {
            c.ptp.hop_by_hop = false;
            // Back to the profile's domains: one outside them returns to the default.
            let (lo, hi) = profile_domains(c.ptp.profile);
            if c.ptp.domain.is_some_and(|d| !(lo..=hi).contains(&d)) {
                c.ptp.domain = None;
            }
            Ok(())
        })),
        render: Render::System(4, |c| {
            on_line(c.ptp.hop_by_hop, "ptp-adaptive atr hop-by-hop")
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive domain <domain:0-255>",
        help: "Set the PTP domain",
        action: Action::Set(|c, _, a| {
            let d = int(a, "domain").unwrap_or_default() as u8;
            let (lo, hi) = domains(&c.ptp);
            if !(lo..=hi).contains(&d) {
                return Err(format!(
                    "The domain must be in the range {lo}-{hi} for the configured profile."
                ));
            }
            c.ptp.domain = Some(d);
            Ok(())
        }),
        undo: Some(("ptp-adaptive domain", |c, _, _| {
            c.ptp.domain = None;
            Ok(())
        })),
        render: Render::System(4, |c| opt_line(&c.ptp.domain, "ptp-adaptive domain")),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive local-ip <addr:ipv4>",
        help: "Set the local address for negotiation",
        action: Action::Set(|c, _, a| {
            c.ptp.local_ip = ip(a, "addr");
            Ok(())
        }),
        undo: Some(("ptp-adaptive local-ip", |c, _, _| {
            c.ptp.local_ip = None;
            Ok(())
        })),
        render: Render::System(4, |c| opt_line(&c.ptp.local_ip, "ptp-adaptive local-ip")),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive vpn-instance <vpn:text31>",
        help: "Carry PTP in a VPN instance",
        action: Action::Set(|c, _, a| {
            c.ptp.vpn_instance = text(a, "vpn");
            Ok(())
        }),
        undo: Some(("ptp-adaptive vpn-instance", |c, _, _| {
            c.ptp.vpn_instance = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            opt_line(&c.ptp.vpn_instance, "ptp-adaptive vpn-instance")
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive <which:remote-server1-ip|remote-server2-ip> <addr:ipv4>",
        help: "Configure a remote clock server",
        action: Action::Set(|c, _, a| {
            let i = usize::from(choice(a, "which") == Some("remote-server2-ip"));
            c.ptp.servers[i] = ip(a, "addr");
            Ok(())
        }),
        undo: Some((
            "ptp-adaptive <which:remote-server1-ip|remote-server2-ip>",
            |c, _, a| {
                let i = usize::from(choice(a, "which") == Some("remote-server2-ip"));
                c.ptp.servers[i] = None;
                Ok(())
            },
        )),
        render: Render::System(4, |c| {
            c.ptp
                .servers
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.map(|s| format!("ptp-adaptive remote-server{}-ip {s}", i + 1))
                })
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive acr [ <dir:one-way|two-way> ] unicast-negotiate enable",
        help: "Negotiate 1588 ACR (frequency)",
        action: Action::Set(|c, _, a| {
            c.ptp.negotiate = Some(if choice(a, "dir") == Some("two-way") {
                "acr two-way"
            } else {
                "acr one-way"
            });
            Ok(())
        }),
        undo: Some(("ptp-adaptive acr", |c, _, _| {
            c.ptp.negotiate = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            c.ptp
                .negotiate
                .filter(|n| n.starts_with("acr"))
                .iter()
                .map(|n| format!("ptp-adaptive {n} unicast-negotiate enable"))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive atr unicast-negotiate enable",
        help: "Negotiate 1588 ATR (time)",
        action: Action::Set(|c, _, _| {
            c.ptp.negotiate = Some("atr");
            Ok(())
        }),
        undo: Some(("ptp-adaptive atr", |c, _, _| {
            c.ptp.negotiate = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            on_line(
                c.ptp.negotiate == Some("atr"),
                "ptp-adaptive atr unicast-negotiate enable",
            )
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive client-acl <acl:2000-3999>",
        help: "Grant only the clients an ACL permits (server)",
        action: Action::Set(|c, _, a| {
            c.ptp.client_acl = int(a, "acl").map(|v| v as u32);
            Ok(())
        }),
        undo: Some(("ptp-adaptive client-acl", |c, _, _| {
            c.ptp.client_acl = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            opt_line(&c.ptp.client_acl, "ptp-adaptive client-acl")
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive dscp <dscp:0-63>",
        help: "Set the DSCP of PTP packets",
        action: Action::Set(|c, _, a| {
            c.ptp.dscp = int(a, "dscp").map(|v| v as u8);
            Ok(())
        }),
        undo: Some(("ptp-adaptive dscp", |c, _, _| {
            c.ptp.dscp = None;
            Ok(())
        })),
        render: Render::System(4, |c| opt_line(&c.ptp.dscp, "ptp-adaptive dscp")),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive <which:announce-duration|sync-duration|delay-resp-duration> <s:60-1000>",
        help: "Set a requested grant duration",
        action: Action::Set(|c, _, a| {
            let w = choice(a, "which").unwrap_or_default();
            let i = DURATION_WORDS.iter().position(|x| *x == w).unwrap_or(0);
            c.ptp.durations[i] = int(a, "s").map(|v| v as u32);
            Ok(())
        }),
        undo: Some((
            "ptp-adaptive <which:announce-duration|sync-duration|delay-resp-duration>",
            |c, _, a| {
                let w = choice(a, "which").unwrap_or_default();
                let i = DURATION_WORDS.iter().position(|x| *x == w).unwrap_or(0);
                c.ptp.durations[i] = None;
                Ok(())
            },
        )),
        render: Render::System(4, |c| {
            c.ptp
                .durations
                .iter()
                .zip(DURATION_WORDS)
                .filter_map(|(d, w)| d.map(|d| format!("ptp-adaptive {w} {d}")))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive request <which:announce-interval|sync-interval|delay-resp-interval> <n:0-20>",
        help: "Set a requested message interval (2^n/1024 s)",
        action: Action::Set(|c, _, a| {
            let w = choice(a, "which").unwrap_or_default();
            let i = INTERVAL_WORDS.iter().position(|x| *x == w).unwrap_or(0);
            let n = int(a, "n").unwrap_or_default() as u8;
            let (lo, hi) = crate::config::interval_range(i, c.ptp.profile);
            if !(lo..=hi).contains(&n) {
                return Err(format!("The interval must be in the range {lo}-{hi}."));
            }
            c.ptp.intervals[i] = Some(n);
            Ok(())
        }),
        undo: Some((
            "ptp-adaptive request <which:announce-interval|sync-interval|delay-resp-interval>",
            |c, _, a| {
                let w = choice(a, "which").unwrap_or_default();
                let i = INTERVAL_WORDS.iter().position(|x| *x == w).unwrap_or(0);
                c.ptp.intervals[i] = None;
                Ok(())
            },
        )),
        render: Render::System(4, |c| {
            c.ptp
                .intervals
                .iter()
                .zip(INTERVAL_WORDS)
                .filter_map(|(n, w)| n.map(|n| format!("ptp-adaptive request {w} {n}")))
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive announce receipt-timeout <n:2-255>",
        help: "Announce intervals before a server is lost",
        action: Action::Set(|c, _, a| {
            c.ptp.receipt_timeout = int(a, "n").map(|v| v as u8);
            Ok(())
        }),
        undo: Some(("ptp-adaptive announce receipt-timeout", |c, _, _| {
            c.ptp.receipt_timeout = None;
            Ok(())
        })),
        render: Render::System(4, |c| {
            opt_line(
                &c.ptp.receipt_timeout,
                "ptp-adaptive announce receipt-timeout",
            )
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp-adaptive atr <server:server1|server2> asymmetry-correction <sign:positive|negative> <ns:0-2000000>",
        help: "Compensate a static path asymmetry",
        action: Action::Set(|c, _, a| {
            let i = usize::from(choice(a, "server") == Some("server2"));
            let ns = int(a, "ns").unwrap_or_default() as i64;
            c.ptp.asymmetry[i] = Some(if choice(a, "sign") == Some("negative") {
                -ns
            } else {
                ns
            });
            Ok(())
        }),
        undo: Some((
            "ptp-adaptive atr <server:server1|server2> asymmetry-correction",
            |c, _, a| {
                c.ptp.asymmetry[usize::from(choice(a, "server") == Some("server2"))] = None;
                Ok(())
            },
        )),
        render: Render::System(4, |c| {
            c.ptp
                .asymmetry
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    v.map(|v| {
                        format!(
                            "ptp-adaptive atr server{} asymmetry-correction {} {}",
                            i + 1,
                            if v < 0 { "negative" } else { "positive" },
                            v.unsigned_abs()
                        )
                    })
                })
                .collect()
        }),
    },
    Command {
        views: SYS,
        syntax: "clock source <src:ptp|ntp> synchronization enable",
        help: "Offer this source to the clock's source selection",
        action: Action::Set(|c, _, a| {
            source(c, a).enabled = true;
            Ok(())
        }),
        undo: Some((
            "clock source <src:ptp|ntp> synchronization enable",
            |c, _, a| {
                source(c, a).enabled = false;
                tidy_sources(c);
                Ok(())
            },
        )),
        render: Render::System(2, |c| {
            sources_lines(c, |s| s.enabled.then(|| "synchronization enable".into()))
        }),
    },
    Command {
        views: SYS,
        syntax: "clock source <src:ptp|ntp> priority <p:1-255>",
        help: "Priority of this clock source (a smaller value wins)",
        action: Action::Set(|c, _, a| {
            let p = int(a, "p").map(|v| v as u8);
            source(c, a).priority = p;
            Ok(())
        }),
        undo: Some(("clock source <src:ptp|ntp> priority", |c, _, a| {
            source(c, a).priority = None;
            tidy_sources(c);
            Ok(())
        })),
        render: Render::System(2, |c| {
            sources_lines(c, |s| s.priority.map(|p| format!("priority {p}")))
        }),
    },
    Command {
        views: SYS,
        syntax: "clock source <src:ptp|ntp> ssm <ql:prc|ssua|ssub|sec|dnu|unk>",
        help: "Quality level of this clock source",
        action: Action::Set(|c, _, a| {
            let ql = choice(a, "ql");
            source(c, a).ssm = ql;
            Ok(())
        }),
        undo: Some(("clock source <src:ptp|ntp> ssm", |c, _, a| {
            source(c, a).ssm = None;
            tidy_sources(c);
            Ok(())
        })),
        render: Render::System(2, |c| {
            sources_lines(c, |s| s.ssm.map(|q| format!("ssm {q}")))
        }),
    },
    Command {
        views: SYS,
        syntax: "ptp lite-sync sub-ms enable",
        help: "Lightweight (sub-millisecond) time synchronization",
        action: Action::Set(|c, _, _| {
            c.ptp.lite_sync = true;
            Ok(())
        }),
        undo: Some(("ptp lite-sync sub-ms enable", |c, _, _| {
            c.ptp.lite_sync = false;
            Ok(())
        })),
        render: Render::System(4, |c| {
            on_line(c.ptp.lite_sync, "ptp lite-sync sub-ms enable")
        }),
    },
];
