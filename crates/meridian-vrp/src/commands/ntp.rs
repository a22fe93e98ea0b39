//! The `ntp-service` commands.

use super::*;

pub(super) static COMMANDS: &[Command] = &[
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
];
