//! Rendering a configuration and loading it again gives the same configuration, for generated
//! configurations in the vendor's order: ACL rules with and without ids, keys pasted in cipher
//! text, every `ptp-adaptive` form of the seeds, on a licensed device. 10 000 cases (set
//! `PROPTEST_CASES` for more or fewer).

use meridian_vrp::cipher;
use meridian_vrp::render::current_configuration;
use meridian_vrp::session::{NoEngines, Session, View};
use proptest::prelude::*;

/// One configuration command (or a small block), as typed in system view.
fn command() -> impl Strategy<Value = Vec<String>> {
    let one = |s: String| vec![s];
    prop_oneof![
        (1u32..999).prop_map(move |n| one(format!("sysname R{n}"))),
        (prop::option::of(0u8..4), prop::option::of(1u8..16)).prop_map(move |(u, s)| {
            let mut l = "ntp-service refclock-master".to_string();
            if let Some(u) = u {
                l += &format!(" 127.127.1.{u}");
            }
            if let Some(s) = s {
                l += &format!(" {s}");
            }
            one(l)
        }),
        (
            0u8..4,
            1u8..250,
            prop::option::of(1u8..5),
            prop::option::of(4u8..11),
            any::<bool>(),
            any::<bool>(),
            prop::option::of(1u32..9),
            any::<bool>()
        )
            .prop_map(move |(a, b, v, m, ib, pref, k, il)| {
                let mut l = format!("ntp-service unicast-server 10.0.{a}.{b}");
                if let Some(v) = v {
                    l += &format!(" version {v}");
                }
                if let Some(k) = k {
                    l += &format!(" authentication-keyid {k}");
                }
                if pref {
                    l += " preference";
                }
                if let Some(m) = m {
                    l += &format!(" minpoll {m}");
                }
                if ib {
                    l += " iburst";
                }
                // Interleaved mode only with version 4 (or none: then it implies 4).
                if il && v.is_none_or(|v| v == 4) {
                    l += " interleave";
                }
                one(l)
            }),
        (0u8..4, 1u8..250, prop::option::of(10u8..18)).prop_map(move |(a, b, m)| {
            one(format!(
                "ntp-service unicast-peer 10.1.{a}.{b}{}",
                m.map_or(String::new(), |m| format!(" maxpoll {m}"))
            ))
        }),
        Just(one("ntp-service authentication enable".into())),
        (1u32..9, any::<bool>(), 1u32..99).prop_map(move |(k, sha, p)| {
            one(format!(
                "ntp-service authentication-keyid {k} authentication-mode {} secret{p}",
                if sha { "hmac-sha256" } else { "md5" }
            ))
        }),
        (1u32..9, any::<bool>(), 1u32..99).prop_map(move |(k, sha, p)| {
            one(format!(
                "ntp-service authentication-keyid {k} authentication-mode {} cipher {}",
                if sha { "hmac-sha256" } else { "md5" },
                cipher::encode(&format!("Key{p}!x"))
            ))
        }),
        (1u32..9).prop_map(move |k| one(format!("ntp-service reliable authentication-keyid {k}"))),
        Just(one("ntp-service kod-enable".into())),
        (
            prop::sample::select(vec![
                "peer",
                "server",
                "synchronization",
                "query",
                "limited"
            ]),
            2000u32..2010
        )
            .prop_map(move |(c, n)| one(format!("ntp-service access {c} {n}"))),
        Just(one("ptp-adaptive enable".into())),
        (0u8..=255).prop_map(move |d| one(format!("ptp-adaptive domain {d}"))),
        (1u8..9).prop_map(move |v| one(format!("ptp-adaptive vpn-instance vpn{v}"))),
        (1u8..250).prop_map(move |x| one(format!("ptp-adaptive remote-server2-ip 2.2.2.{x}"))),
        prop::sample::select(vec![
            "ptp-adaptive atr unicast-negotiate enable",
            "ptp-adaptive acr unicast-negotiate enable",
            "ptp-adaptive acr one-way unicast-negotiate enable",
            "ptp-adaptive acr two-way unicast-negotiate enable",
        ])
        .prop_map(move |l| one(l.to_string())),
        (
            prop::sample::select(vec![
                "announce-interval",
                "sync-interval",
                "delay-resp-interval"
            ]),
            0u8..=20
        )
            .prop_map(move |(w, n)| one(format!("ptp-adaptive request {w} {n}"))),
        (
            prop::sample::select(vec![
                "announce-duration",
                "sync-duration",
                "delay-resp-duration"
            ]),
            60u32..=1000
        )
            .prop_map(move |(w, d)| one(format!("ptp-adaptive {w} {d}"))),
        (2000u32..2010).prop_map(move |n| one(format!("ptp-adaptive client-acl {n}"))),
        (1u8..9, 1u8..17).prop_map(move |(a, b)| one(format!(
            "ntp-service discard min-interval {a} avg-interval {b}"
        ))),
        (0u8..101).prop_map(move |n| one(format!("ntp-service max-dynamic-sessions {n}"))),
        (1u8..17).prop_map(move |n| one(format!("ntp-service max-distance {n}"))),
        prop::sample::select(vec!["client", "server", "server-and-client"])
            .prop_map(move |t| one(format!("ptp-adaptive device-type {t}"))),
        prop::sample::select(vec!["frequency", "time"])
            .prop_map(move |p| one(format!("ptp-adaptive {p} profile"))),
        (1u8..250).prop_map(move |x| one(format!("ptp-adaptive local-ip 3.3.3.{x}"))),
        (1u8..250).prop_map(move |x| one(format!("ptp-adaptive remote-server1-ip 1.1.1.{x}"))),
        (0u8..64).prop_map(move |d| one(format!("ptp-adaptive dscp {d}"))),
        (60u32..1001).prop_map(move |d| one(format!("ptp-adaptive sync-duration {d}"))),
        (2u8..=255).prop_map(move |n| one(format!("ptp-adaptive announce receipt-timeout {n}"))),
        (any::<bool>(), 0u32..2_000_001).prop_map(move |(neg, ns)| {
            one(format!(
                "ptp-adaptive atr server2 asymmetry-correction {} {ns}",
                if neg { "negative" } else { "positive" }
            ))
        }),
        Just(one("ptp-adaptive atr hop-by-hop".into())),
        (prop::sample::select(vec!["ptp", "ntp"]), 1u8..=255)
            .prop_map(move |(s, p)| one(format!("clock source {s} priority {p}"))),
        (
            prop::sample::select(vec!["ptp", "ntp"]),
            prop::sample::select(vec!["prc", "ssua", "ssub", "sec", "dnu", "unk"])
        )
            .prop_map(move |(s, q)| one(format!("clock source {s} ssm {q}"))),
        prop::sample::select(vec!["ptp", "ntp"])
            .prop_map(move |s| one(format!("clock source {s} synchronization enable"))),
        (0u8..4, 1u8..250, 8u8..31).prop_map(|(i, a, len)| {
            vec![
                format!("interface GigabitEthernet0/1/{i}"),
                "undo shutdown".into(),
                format!("ip address 10.9.{a}.1 {len}"),
                "quit".into(),
            ]
        }),
        (0u8..4).prop_map(|i| vec![
            format!("interface GigabitEthernet0/1/{i}"),
            "ptp-adaptive atr enable".into(),
            "quit".into()
        ]),
        (0u8..4).prop_map(move |i| one(format!(
            "ntp-service server source-interface GigabitEthernet0/1/{i}"
        ))),
        (
            2000u32..2010,
            prop::option::of(0u32..100),
            any::<bool>(),
            0u8..255
        )
            .prop_map(|(n, id, permit, net)| {
                vec![
                    format!("acl number {n}"),
                    format!(
                        "rule{} {} source 10.{net}.0.0 0.0.0.255",
                        id.map_or(String::new(), |i| format!(" {i}")),
                        if permit { "permit" } else { "deny" }
                    ),
                    "quit".into(),
                ]
            }),
        (0u8..4, 1u8..250).prop_map(|(i, a)| {
            vec![
                format!("interface LoopBack{i}"),
                format!("ip address 4.4.{a}.{i} 255.255.255.255"),
                "quit".into(),
            ]
        }),
    ]
}

const LICENSE: Option<(&str, &str)> = Some(("license.txt", "clock-synchronization\n"));

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn render_then_load_is_identity(blocks in prop::collection::vec(command(), 0..24)) {
        let mut s = Session::load_licensed("", LICENSE).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        s.view = View::System;
        for block in &blocks {
            // A block the generator got wrong for the current state (a domain out of the
            // profile's range, an ACL not yet defined) is taken back, as an operator would
            // before committing; rejections themselves are tested elsewhere.
            let before = s.candidate.clone();
            for line in block {
                let _ = s.execute(line, &mut NoEngines);
            }
            s.view = View::System;
            if s.candidate.validate().is_err() {
                s.candidate = before;
            }
        }
        prop_assert!(s.commit().is_ok());
        let text = current_configuration(&s.running);
        let loaded = Session::load_licensed(&text, LICENSE)
            .map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(&loaded.running, &s.running, "{}", text);
        // What was loaded saves to the same text.
        prop_assert_eq!(current_configuration(&loaded.running), text);
    }
}

/// Found by the property above: an Announce interval valid without a profile, then the time
/// profile (which allows 7–10), committed a configuration whose saved file could not load.
#[test]
fn a_profile_that_outlaws_a_configured_interval_cannot_be_committed() {
    let mut s = Session::load_licensed("", LICENSE).unwrap();
    s.view = View::System;
    s.execute("ptp-adaptive request announce-interval 11", &mut NoEngines)
        .unwrap();
    s.execute("ptp-adaptive time profile", &mut NoEngines)
        .unwrap();
    let e = s.commit().unwrap_err();
    assert_eq!(
        e,
        "The interval must be in the range 7-10 for the configured profile."
    );
}
