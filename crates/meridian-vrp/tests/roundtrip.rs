//! Rendering a configuration and loading it again gives the same configuration, for generated
//! configurations.

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
            prop::option::of(1u32..9)
        )
            .prop_map(move |(a, b, v, m, ib, pref, k)| {
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
        Just(one("ntp-service kod-enable".into())),
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
        (1u8..=255).prop_map(move |p| one(format!("clock source ptp priority {p}"))),
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
        (2000u32..2010, 0u32..100, any::<bool>()).prop_map(|(n, id, permit)| {
            vec![
                format!("acl number {n}"),
                format!(
                    "rule {id} {} source 10.0.0.0 0.0.0.255",
                    if permit { "permit" } else { "deny" }
                ),
                "quit".into(),
                format!("ntp-service access limited {n}"),
            ]
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn render_then_load_is_identity(blocks in prop::collection::vec(command(), 0..24)) {
        let mut s = Session { view: View::System, ..Session::default() };
        for line in blocks.iter().flatten() {
            // Lines the generator got wrong for the current state (e.g. a domain out of a
            // profile's range) are rejected and change nothing; that is tested elsewhere.
            let _ = s.execute(line, &mut NoEngines);
        }
        prop_assume!(s.commit().is_ok());
        let text = current_configuration(&s.running);
        let loaded = Session::load(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(&loaded.running, &s.running, "{}", text);
    }
}
