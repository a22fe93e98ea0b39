//! Basic device settings: the system name, interfaces (`shutdown`, addresses, ATR on a port)
//! and ACL rules.

use super::*;

pub(super) static COMMANDS: &[Command] = &[
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
];
