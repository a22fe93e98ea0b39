//! Golden transcripts: commands in, exact text out.

use meridian_vrp::commands::ViewKind;
use meridian_vrp::parse::{complete, help};
use meridian_vrp::render::current_configuration;
use meridian_vrp::session::{NoEngines, Session};

/// Runs `lines`, returning the transcript as the device shows it: prompt, command, output.
fn transcript(s: &mut Session, lines: &[&str]) -> String {
    let mut out = String::new();
    for l in lines {
        let prompt = s.prompt();
        out += &format!("{prompt} {l}\n");
        match s.execute(l, &mut NoEngines) {
            Ok(text) => out += &text,
            Err(f) => out += &(f.render(&prompt) + "\n"),
        }
    }
    out
}

#[test]
fn seed_004_procedure_prompts() {
    // DeviceC, as in the seed: the prompt shows * while the sysname is uncommitted.
    let mut c = Session::default();
    let t = transcript(
        &mut c,
        &[
            "system-view",
            "sysname DeviceC",
            "commit",
            "ntp-service refclock-master 2",
            "ntp-service server source-interface gigabitethernet 0/1/0",
            "interface GigabitEthernet0/1/0",
            "undo shutdown",
            "ip address 10.0.1.31 255.255.255.0",
            "quit",
            "commit",
        ],
    );
    assert_eq!(
        t,
        "<HUAWEI> system-view
[~HUAWEI] sysname DeviceC
[*HUAWEI] commit
[~DeviceC] ntp-service refclock-master 2
[*DeviceC] ntp-service server source-interface gigabitethernet 0/1/0
[*DeviceC] interface GigabitEthernet0/1/0
[*DeviceC-GigabitEthernet0/1/0] undo shutdown
[*DeviceC-GigabitEthernet0/1/0] ip address 10.0.1.31 255.255.255.0
[*DeviceC-GigabitEthernet0/1/0] quit
[*DeviceC] commit
"
    );
    assert_eq!(c.prompt(), "[~DeviceC]");
    assert_eq!(
        current_configuration(&c.running),
        "#
sysname DeviceC
#
ntp-service refclock-master 2
ntp-service server source-interface GigabitEthernet0/1/0
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.31 255.255.255.0
#
return
"
    );
}

const DEVICE_C: &str = "#
sysname DeviceC
#
ntp-service refclock-master 2
ntp-service server source-interface gigabitethernet 0/1/0 
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.31 255.255.255.0
#
return
";

const DEVICE_D: &str = "#
sysname DeviceD
#
ntp-service unicast-server 10.0.1.31
ntp-service server source-interface gigabitethernet 0/1/0 
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.32 255.255.255.0
#
return
";

const DEVICE_E: &str = "#
sysname DeviceE
#
ntp-service unicast-peer 10.0.1.32
#
interface GigabitEthernet0/1/0
 undo shutdown
 ip address 10.0.1.33 255.255.255.0
#
return
";

#[test]
fn seed_004_configuration_files_load_unchanged_and_round_trip() {
    for (text, name) in [
        (DEVICE_C, "DeviceC"),
        (DEVICE_D, "DeviceD"),
        (DEVICE_E, "DeviceE"),
    ] {
        let s = Session::load(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(s.running.sysname, name);
        let rendered = current_configuration(&s.running);
        let again = Session::load(&rendered).unwrap();
        assert_eq!(again.running, s.running, "{rendered}");
    }
    let d = Session::load(DEVICE_D).unwrap();
    assert!(
        d.running
            .ntp
            .associations
            .contains_key(&"10.0.1.31".parse().unwrap())
    );
}

#[test]
fn bad_input_shows_the_error_and_changes_nothing() {
    let mut s = Session::default();
    transcript(&mut s, &["system-view", "sysname R1", "commit"]);
    let before = (s.running.clone(), s.candidate.clone());
    let t = transcript(
        &mut s,
        &[
            "ntp-service unicast-servr 10.0.0.1",
            "ntp-service unicast-server 10.0.0.1 version 7",
            "ntp-service max-distance",
            "ip address 10.0.0.1 24",
            "ptp-adaptive domain 300",
            "undo",
        ],
    );
    assert_eq!(
        t,
        "[~R1] ntp-service unicast-servr 10.0.0.1
                  ^
Error: Unrecognized command found at '^' position.
[~R1] ntp-service unicast-server 10.0.0.1 version 7
                                                  ^
Error: Wrong parameter found at '^' position.
[~R1] ntp-service max-distance
                               ^
Error: Incomplete command found at '^' position.
[~R1] ip address 10.0.0.1 24
      ^
Error: Unrecognized command found at '^' position.
[~R1] ptp-adaptive domain 300
                          ^
Error: Wrong parameter found at '^' position.
[~R1] undo
           ^
Error: Incomplete command found at '^' position.
"
    );
    assert_eq!((s.running.clone(), s.candidate.clone()), before);
}

#[test]
fn a_failing_commit_changes_nothing_and_says_why() {
    let mut s = Session::default();
    let t = transcript(&mut s, &["system-view", "ptp-adaptive enable", "commit"]);
    assert!(t.ends_with("Error: The clock synchronization license is not activated; ptp-adaptive enable is not allowed.\n"), "{t}");
    assert!(!s.running.ptp.enable);
    assert_eq!(s.prompt(), "[*HUAWEI]");
    // With the license, the same commit goes through.
    s.license_files
        .insert("lic.txt".into(), "clock-synchronization\n".into());
    let t = transcript(&mut s, &["license active lic.txt", "commit"]);
    assert_eq!(t, "[*HUAWEI] license active lic.txt\n[*HUAWEI] commit\n");
    assert!(s.running.ptp.enable);
}

/// `ptp-adaptive atr hop-by-hop` (vendor command reference): a time-profile client directly
/// attached to its server; the domains widen to 0–255 (default 0), back to the profile's on
/// `undo`; a saved configuration loads back (hop-by-hop is written before the domain).
#[test]
fn hop_by_hop_needs_a_time_client_and_widens_the_domains() {
    let mut s = Session::default();
    s.license_files
        .insert("lic".into(), "clock-synchronization\n".into());
    let t = transcript(
        &mut s,
        &[
            "system-view",
            "license active lic",
            "ptp-adaptive enable",
            "ptp-adaptive device-type server",
            "ptp-adaptive atr hop-by-hop",
            "commit",
        ],
    );
    assert!(
        t.contains("Error: ptp-adaptive atr hop-by-hop needs ptp-adaptive device-type client"),
        "{t}"
    );
    assert!(!s.running.ptp.hop_by_hop);
    let t = transcript(
        &mut s,
        &[
            "undo ptp-adaptive atr hop-by-hop",
            "ptp-adaptive device-type client",
            "ptp-adaptive time profile",
            "ptp-adaptive domain 0",
            "ptp-adaptive atr hop-by-hop",
            "ptp-adaptive domain 0",
            "commit",
        ],
    );
    assert_eq!(
        t.matches("Error: The domain must be in the range 44-63")
            .count(),
        1,
        "{t}"
    );
    assert!(s.running.ptp.hop_by_hop, "{t}");
    assert_eq!(s.running.ptp.domain, Some(0));
    let saved = current_configuration(&s.running);
    let loaded = Session::load_licensed(&saved, Some(("lic", "clock-synchronization\n")))
        .unwrap_or_else(|e| panic!("{e:?}\n{saved}"));
    assert_eq!(loaded.running.ptp, s.running.ptp, "{saved}");
    // Without hop-by-hop the profile's domains return, and a domain outside them its default.
    transcript(&mut s, &["undo ptp-adaptive atr hop-by-hop", "commit"]);
    assert_eq!(s.running.ptp.domain, None);
}

#[test]
fn profiles_reset_the_domain_and_bound_it() {
    let mut s = Session::default();
    transcript(
        &mut s,
        &[
            "system-view",
            "ptp-adaptive domain 10",
            "ptp-adaptive time profile",
        ],
    );
    assert_eq!(
        s.candidate.ptp.domain, None,
        "a profile resets the domain to its default"
    );
    let t = transcript(&mut s, &["ptp-adaptive domain 10"]);
    assert!(
        t.contains("Error: The domain must be in the range 44-63"),
        "{t}"
    );
    transcript(
        &mut s,
        &[
            "ptp-adaptive domain 45",
            "ptp-adaptive device-type server",
            "ptp-adaptive remote-server1-ip 192.0.2.1",
        ],
    );
    let t = transcript(&mut s, &["commit"]);
    assert!(t.contains("apply to a client, not to a server"), "{t}");
    assert!(s.running.ptp.domain.is_none());
}

#[test]
fn interleaved_mode_is_an_ntp_version_4_client_option() {
    let mut s = Session::default();
    let t = transcript(
        &mut s,
        &[
            "system-view",
            "ntp-service unicast-server 10.0.1.31 version 3 interleave",
        ],
    );
    assert!(t.contains("Interleaved mode needs NTP version 4"), "{t}");
    let t = transcript(&mut s, &["ntp-service unicast-peer 10.0.1.32 interleave"]);
    assert!(t.contains("Error"), "a client option only: {t}");
    transcript(
        &mut s,
        &[
            "ntp-service unicast-server 10.0.1.31 interleave iburst",
            "commit",
        ],
    );
    let o = &s.running.ntp.associations[&"10.0.1.31".parse().unwrap()];
    assert!(o.interleave && o.version.is_none());
    let n = meridian_vrp::device::ntp_config(&s.running).expect("NTP configured");
    assert_eq!(
        (n.associations[0].interleave, n.associations[0].version),
        (true, 4)
    );
    let saved = transcript(&mut s, &["display current-configuration"]);
    assert!(
        saved.contains("ntp-service unicast-server 10.0.1.31 iburst interleave"),
        "{saved}"
    );
}

#[test]
fn abbreviations_undo_help_and_completion() {
    let mut s = Session::default();
    transcript(
        &mut s,
        &["sys", "ntp-s unicast-s 10.0.1.31 ver 4 ib", "com"],
    );
    let o = &s.running.ntp.associations[&"10.0.1.31".parse().unwrap()];
    assert_eq!((o.version, o.iburst), (Some(4), true));
    transcript(
        &mut s,
        &["undo ntp-service unicast-server 10.0.1.31", "commit"],
    );
    assert!(s.running.ntp.associations.is_empty());
    let h: Vec<String> = help(ViewKind::System, "ntp-service ")
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert!(
        h.contains(&"unicast-server".to_string()) && h.contains(&"kod-enable".to_string()),
        "{h:?}"
    );
    assert_eq!(
        complete(ViewKind::System, "ntp-service unicast-s"),
        Some("ntp-service unicast-server ".into())
    );
    assert_eq!(complete(ViewKind::User, "disp"), Some("display ".into()));
    // Multibyte whitespace (U+0085 is two bytes) before the last word: the cut lands on a
    // character boundary (this panicked, slicing inside the character).
    assert_eq!(
        meridian_vrp::parse::last_word_start("ntp-service\u{85}unicast-s"),
        "ntp-service\u{85}".len()
    );
    let _ = complete(ViewKind::System, "ntp-service\u{85}unicast-s");
    let _ = complete(ViewKind::System, "\u{85}\u{85}");
    let t = transcript(&mut s, &["dis cur"]);
    assert!(t.contains("sysname HUAWEI"), "{t}");
}

/// A router after the seed's step 1: its interface up with its address.
fn after_step_one(addr: &str) -> Session {
    let text = format!(
        "#\ninterface GigabitEthernet0/1/0\n undo shutdown\n ip address {addr} 255.255.255.0\n#\nreturn\n"
    );
    Session::load(&text).unwrap()
}

#[test]
fn seed_004_device_d_and_e_procedures() {
    let mut d = after_step_one("10.0.1.32");
    let t = transcript(
        &mut d,
        &[
            "system-view",
            "sysname DeviceD",
            "commit",
            "ntp-service unicast-server 10.0.1.31",
            "commit",
            "ntp-service server source-interface gigabitethernet 0/1/0",
            "commit",
        ],
    );
    assert_eq!(
        t,
        "<HUAWEI> system-view
[~HUAWEI] sysname DeviceD
[*HUAWEI] commit
[~DeviceD] ntp-service unicast-server 10.0.1.31
[*DeviceD] commit
[~DeviceD] ntp-service server source-interface gigabitethernet 0/1/0
[*DeviceD] commit
"
    );
    let mut e = after_step_one("10.0.1.33");
    let t = transcript(
        &mut e,
        &[
            "system-view",
            "sysname DeviceE",
            "commit",
            "ntp-service unicast-peer 10.0.1.32",
            "commit",
        ],
    );
    assert_eq!(
        t,
        "<HUAWEI> system-view
[~HUAWEI] sysname DeviceE
[*HUAWEI] commit
[~DeviceE] ntp-service unicast-peer 10.0.1.32
[*DeviceE] commit
"
    );
    // What they committed is exactly the seed's configuration files.
    assert_eq!(d.running, Session::load(DEVICE_D).unwrap().running);
    assert_eq!(e.running, Session::load(DEVICE_E).unwrap().running);
}

/// Engines that answer `display ntp-service status` with fixed text.
struct Canned;

impl meridian_vrp::session::Displays for Canned {
    fn ntp(&self, _: meridian_vrp::session::NtpDisplay) -> Option<String> {
        Some(" clock status: synchronized\n clock stratum: 2\n".into())
    }

    fn ptp(&self, _: &str, _: Option<u64>) -> Option<String> {
        None
    }
}

#[test]
fn display_json_modifier() {
    let mut s = Session::default();
    let json = "[{\"clock status\":\"synchronized\",\"clock stratum\":\"2\",\
                \"values\":{\"clock stratum\":{\"value\":2}}}]\n";
    assert_eq!(
        s.run_line("display ntp-service status | json", &mut Canned),
        json
    );
    // Abbreviated, without spaces around the bar: the same.
    assert_eq!(s.run_line("dis ntp-service status|json", &mut Canned), json);
    // A bad display stays a VRP error; `| json` on anything else is refused.
    let bad = s.run_line("display ntp-service bogus | json", &mut Canned);
    assert!(bad.contains("Error:") && bad.contains('^'), "{bad}");
    let other = s.run_line("system-view | json", &mut Canned);
    assert!(other.contains("display commands only"), "{other}");
    assert_eq!(s.prompt(), "<HUAWEI>");
}

#[test]
fn a_ptp_server_grants_only_the_clients_its_acl_permits() {
    let mut s = Session::default();
    s.license_files
        .insert("lic.txt".into(), "clock-synchronization\n".into());
    let t = transcript(
        &mut s,
        &[
            "system-view",
            "license active lic.txt",
            "ptp-adaptive enable",
            "ptp-adaptive device-type server",
            "ptp-adaptive local-ip 192.0.2.1",
            "ptp-adaptive client-acl 2001",
            "commit",
        ],
    );
    // The ACL must exist.
    assert!(
        t.ends_with("Error: ACL 2001 used by ptp-adaptive client-acl does not exist.\n"),
        "{t}"
    );
    transcript(
        &mut s,
        &[
            "acl number 2001",
            "rule permit source 198.51.100.0 0.0.0.255",
            "quit",
            "commit",
        ],
    );
    assert_eq!(s.running.ptp.client_acl, Some(2001));
    let cfg = current_configuration(&s.running);
    assert!(cfg.contains("ptp-adaptive client-acl 2001"), "{cfg}");
    let node = meridian_vrp::device::ptp_node(&s.running, Default::default(), 1).unwrap();
    let acl = node.server().unwrap().config().client_acl.as_ref().unwrap();
    assert_eq!(acl.decide("198.51.100.7".parse().unwrap()), Some(true));
    assert_eq!(acl.decide("203.0.113.7".parse().unwrap()), None);
    // And it goes away with undo.
    transcript(&mut s, &["undo ptp-adaptive client-acl", "commit"]);
    assert_eq!(s.running.ptp.client_acl, None);
}

#[test]
fn optional_groups_where_the_vendor_writes_them() {
    let mut s = Session::default();
    s.license_files
        .insert("lic.txt".into(), "clock-synchronization\n".into());
    let t = transcript(
        &mut s,
        &[
            "system-view",
            "license active lic.txt",
            "acl number 2001",
            "rule 5 permit source 198.51.100.0 0.0.0.255",
            "rule deny source 203.0.113.0 0.0.0.255",
            "quit",
            "ntp-service authentication-keyid 7 authentication-mode hmac-sha256 cipher s3cret",
            // A password that reads like the keyword is still a password.
            "ntp-service authentication-keyid 8 authentication-mode md5 cipher",
            "ptp-adaptive enable",
            "ptp-adaptive device-type client",
            "ptp-adaptive acr two-way unicast-negotiate enable",
            "commit",
        ],
    );
    assert!(!t.contains("Error"), "{t}");
    let rules: Vec<u32> = s.running.acls[&2001].keys().copied().collect();
    assert_eq!(rules, vec![5, 10], "{t}");
    assert_eq!(s.running.ptp.negotiate, Some("acr two-way"));
    let cfg = current_configuration(&s.running);
    assert!(
        cfg.contains(" rule 5 permit source 198.51.100.0 0.0.0.255"),
        "{cfg}"
    );
}

#[test]
fn an_error_only_the_final_commit_finds_names_the_line_that_caused_it() {
    let text = "sysname D\n#\nntp-service unicast-server 192.0.2.1\n\
                ntp-service access peer 2001\n#\nreturn\n";
    let Err((line, e)) = Session::load(text) else {
        panic!("loaded a configuration naming a missing ACL");
    };
    assert_eq!(line, 4, "{e}");
    assert!(e.contains("ntp-service access peer 2001"), "{e}");
    assert!(e.contains("ACL 2001"), "{e}");
}
