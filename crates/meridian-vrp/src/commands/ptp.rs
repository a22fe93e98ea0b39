//! The 1588 ATR/ACR commands: `ptp`, `ptp-adaptive`, clock sources.

use super::*;

pub(super) static COMMANDS: &[Command] = &[
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
