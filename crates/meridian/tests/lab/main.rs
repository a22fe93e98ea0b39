//! Every example runs with `meridian lab` and its `--json` report holds what the example shows.

use std::process::Command;

use serde_json::Value;

mod displays;
use displays::{shell, stdout_of};
mod outputs;
mod seeds;

fn lab(example: &str) -> Value {
    lab_at(&format!(
        "{}/../../examples/{example}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// `meridian lab DIR --json -`, which must succeed: its report.
fn lab_at(dir: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", dir, "--json", "-"])
        .output()
        .expect("run meridian lab");
    assert!(
        out.status.success(),
        "{dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{dir}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Replaces `from` by `to` in the file at `path` (a scratch copy's configuration).
fn replace_in(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: no {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// [`lab_at`] on a scratch copy, which is removed afterwards.
fn lab_once(dir: &std::path::Path) -> Value {
    let r = lab_at(&dir.display().to_string());
    std::fs::remove_dir_all(dir).ok();
    r
}

fn device<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn events(r: &Value, device: &str, kind: &str) -> Vec<String> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["device"] == device && e["kind"] == kind)
        .map(|e| e["detail"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn ntp_peer_mode_reproduces_seed_004() {
    let r = lab("ntp-peer-mode");
    let (d, e) = (device(&r, "DeviceD"), device(&r, "DeviceE"));
    assert_eq!(d["ntp"]["stratum"], 3);
    assert_eq!(d["ntp"]["reference_id"], "10.0.1.31");
    assert_eq!(e["ntp"]["stratum"], 4);
    assert_eq!(e["ntp"]["reference_id"], "10.0.1.32");
    assert_eq!(device(&r, "DeviceC")["ntp"]["reference_id"], "LOCAL(0)");
    assert!(d["ptp"].is_null());
    for x in [d, e] {
        assert!(x["te_ns"]["p99"].as_f64().unwrap() < 100_000.0, "{x}");
        // NTP recovers time, but no standard budget applies: judged only against one the
        // topology sets (1588 clients default to G.8271.1's).
        assert_eq!(x["role"], "time");
        assert!(x["budget"].is_null(), "{x}");
    }
    assert_eq!(device(&r, "DeviceC")["role"], "reference");
    assert_eq!(
        events(&r, "DeviceD", "ntp-sync").last().map(String::as_str),
        Some("synchronized to 10.0.1.31")
    );
}

#[test]
fn a_topology_budget_judges_ntp_devices_too() {
    let (dir, topo) = example_copy("ntp-peer-mode", "budget");
    let topo = topo.replacen("duration = ", "te_budget_ns = 20000\nduration = ", 1);
    std::fs::write(dir.join("topology.toml"), topo).unwrap();
    let r = lab_at(&dir.display().to_string());
    std::fs::remove_dir_all(&dir).ok();
    let d = device(&r, "DeviceD");
    assert_eq!(d["budget"]["quantity"], "te_ns");
    assert_eq!(d["budget"]["limit"], 20000.0);
    assert_eq!(d["budget"]["met"], true, "{d}");
}

#[test]
fn acr_dual_server_fails_over_and_returns() {
    let r = lab("acr-dual-server");
    let c = device(&r, "DeviceC");
    assert_eq!(c["ptp"]["trace_source"], "server1");
    assert_eq!(c["ptp"]["servers"][0]["ip"], "1.1.1.1");
    assert_eq!(c["ptp"]["servers"][0]["negotiate_state"], "Nego success");
    let switches = events(&r, "DeviceC", "ptp-server-switch");
    assert_eq!(
        switches,
        vec!["local (no usable server)", "server1", "server2", "server1"],
        "{switches:?}"
    );
    // ACR recovers frequency: its error stays within G.8265.1's 16 ppb after the warm-up, and
    // that, not its servo's phase test, is what the report judges it by.
    assert!(c["freq_error_ppb"]["p99"].as_f64().unwrap() < 16.0, "{c}");
    assert_eq!(c["role"], "frequency");
    assert_eq!(c["budget"]["quantity"], "freq_error_ppb");
    assert_eq!(c["budget"]["limit"], 16.0);
    assert_eq!(c["budget"]["met"], true, "{c}");
    for server in ["DeviceA", "DeviceB"] {
        assert_eq!(device(&r, server)["role"], "reference");
        assert!(device(&r, server)["budget"].is_null());
    }
    assert!(!r["ntp"].is_object());
}

#[test]
fn atr_time_profile_locks_through_queueing() {
    let r = lab("atr-time-profile");
    let c = device(&r, "Client");
    assert_eq!(c["ptp"]["state"], "locked");
    assert!(c["te_ns"]["p99"].as_f64().unwrap() < 1_100.0, "{c}");
    // The signed mean and the count are reported beside the |TE| percentiles.
    let te = &c["te_ns"];
    assert!(
        te["mean"].as_f64().unwrap().abs() <= te["max"].as_f64().unwrap(),
        "{c}"
    );
    assert_eq!(te["samples"], 1801, "{c}");
    assert_eq!(c["budget"]["met"], true, "{c}");
    assert_eq!(c["holdover_s"], 0.0, "{c}");
}

/// The kernel-stack example: the phase is held from the first exchanges while the frequency is
/// still being measured (the servo used to hold ~90 µs here until its measurement ended), and
/// "locked" is reported only once the error is within the 1-µs budget.
#[test]
fn atr_with_software_timestamps_holds_the_phase_while_learning_the_frequency() {
    let r = lab("atr-software-timestamps");
    let c = device(&r, "Client");
    assert_eq!(c["ptp"]["state"], "locked");
    let te = &c["te_ns"];
    assert!(te["p99"].as_f64().unwrap() < 1_000.0, "{c}");
    assert!(te["mean"].as_f64().unwrap().abs() < 500.0, "{c}");
    let servo = events(&r, "Client", "ptp-servo");
    assert!(servo.iter().any(|e| e == "locked"), "{servo:?}");
}

#[test]
fn server_and_client_chain() {
    let r = lab("server-and-client");
    for name in ["Boundary", "Client"] {
        let x = device(&r, name);
        assert_eq!(x["ptp"]["state"], "locked", "{x}");
        assert!(x["te_ns"]["p99"].as_f64().unwrap() < 100.0, "{x}");
    }
}

#[test]
fn bad_configuration_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("meridian-lab-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("topology.toml"), "duration = 10\n").unwrap();
    std::fs::write(
        dir.join("R1.cfg"),
        "#\nsysname R1\n#\nntp-service unicast-servr 10.0.0.1\n#\nreturn\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", dir.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("R1.cfg:4:")
            && err.contains("Error: Unrecognized command found at '^' position."),
        "{err}"
    );
}

/// A scratch copy of `example` (named for `tag` and this process), and its topology text.
fn example_copy(example: &str, tag: &str) -> (std::path::PathBuf, String) {
    let src = format!("{}/../../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("meridian-lab-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in std::fs::read_dir(src).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join(f.file_name().unwrap())).unwrap();
    }
    let topo = std::fs::read_to_string(dir.join("topology.toml")).unwrap();
    (dir, topo)
}

/// A `[[commit]]` in topology.toml is applied on the running device at its time, logged as an
/// event, and shown in later displays; one the device would refuse stops the lab before it
/// runs, naming the line.
#[test]
fn timed_commits_apply_on_the_running_device() {
    let (dir, topo) = example_copy("server-and-client", "commit");
    let commits = "\n[[commit]]\nat = 400\ndevice = \"Boundary\"\nlines = [\"sysname Edge\"]\n\
        [[commit]]\nat = 500\ndevice = \"Boundary\"\nlines = [\"ptp-adaptive dscp 46\"]\n\
        [[display]]\ndevice = \"Boundary\"\ncommand = \"display current-configuration\"\nat = 600\n";
    std::fs::write(dir.join("topology.toml"), topo.clone() + commits).unwrap();
    let run = |json: bool| {
        let mut args = vec![
            "lab".to_string(),
            dir.display().to_string(),
            "--duration".into(),
            "700".into(),
        ];
        if json {
            args.extend(["--json".into(), "-".into()]);
        }
        Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(&args)
            .output()
            .unwrap()
    };
    let out = run(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        events(&r, "Boundary", "commit"),
        [
            "1 line(s) committed; no engine affected",
            "1 line(s) committed; engines reconfigured in place"
        ]
    );
    let text = String::from_utf8_lossy(&run(false).stdout).into_owned();
    assert!(
        text.contains("<Edge> display current-configuration"),
        "{text}"
    );
    assert!(text.contains("ptp-adaptive dscp 46"), "{text}");
    assert_eq!(device(&r, "Client")["ptp"]["state"], "locked");

    let bad =
        "\n[[commit]]\nat = 400\ndevice = \"Boundary\"\nlines = [\"ptp-adaptive domain 300\"]\n";
    std::fs::write(dir.join("topology.toml"), topo.clone() + bad).unwrap();
    let out = run(false);
    std::fs::remove_dir_all(&dir).ok();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = topo.lines().count() + 4;
    assert!(
        err.contains(&format!(
            "topology.toml:{line}: commit at 400 s on Boundary: \"ptp-adaptive domain 300\": Error:"
        )),
        "{err}"
    );
}

/// A run shorter than the file's warm-up says so, and a summary over few samples warns.
#[test]
fn short_runs_say_their_statistics_are_thin() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/atr-time-profile"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", dir, "--duration", "60"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ends before the warm-up (1800 s)"), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning: statistics over 46 samples only"),
        "{text}"
    );
}

/// The dual-server ACR example with its link failure replaced by an operator shutting
/// DeviceA's interface at 600 s and bringing it back at 1500 s: a shut interface carries
/// nothing, so DeviceC fails over to server2 and returns as it does when the link fails.
#[test]
fn a_shut_interface_carries_nothing() {
    let (dir, topo) = example_copy("acr-dual-server", "shutdown");
    let (head, rest) = topo.split_once("[[failures]]").unwrap();
    let tail = &rest[rest.find("[[display]]").unwrap()..];
    let commits = "[[commit]]\nat = 600\ndevice = \"DeviceA\"\n\
        lines = [\"interface GigabitEthernet0/1/0\", \"shutdown\"]\n\
        [[commit]]\nat = 1500\ndevice = \"DeviceA\"\n\
        lines = [\"interface GigabitEthernet0/1/0\", \"undo shutdown\"]\n";
    std::fs::write(dir.join("topology.toml"), format!("{head}{commits}{tail}")).unwrap();
    let r = lab_once(&dir);
    assert_eq!(
        events(&r, "DeviceA", "commit"),
        [
            "2 line(s) committed; no engine affected; link 0 down",
            "2 line(s) committed; no engine affected; link 0 up"
        ]
    );
    assert_eq!(
        events(&r, "DeviceC", "ptp-server-switch"),
        vec!["local (no usable server)", "server1", "server2", "server1"]
    );
    assert_eq!(device(&r, "DeviceC")["ptp"]["trace_source"], "server1");
}

/// `(time, detail)` of each of `device`'s events of `kind`.
fn timed_events(r: &Value, device: &str, kind: &str) -> Vec<(u64, String)> {
    r["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["device"] == device && e["kind"] == kind)
        .map(|e| {
            let t = e["t_s"].as_u64().unwrap();
            (t, e["detail"].as_str().unwrap().to_string())
        })
        .collect()
}

/// The clock-source example: NTP (priority 10) drives the clock until an operator gives PTP
/// priority 5 at 600 s; the Grandmaster link fails at 1800 s (back to NTP within the announce
/// timeout) and returns at 2400 s (PTP again).
#[test]
fn clock_source_selection_follows_priorities_and_availability() {
    let r = lab("clock-source");
    let follows: Vec<(u64, String)> = timed_events(&r, "Client", "clock-source");
    let sources: Vec<&str> = follows
        .iter()
        .map(|(_, d)| d.strip_prefix("the clock follows ").unwrap())
        .collect();
    // PTP first (negotiated within the first second), NTP once synchronized, then as above.
    assert_eq!(sources, ["ptp", "ntp", "ptp", "ntp", "ptp"], "{follows:?}");
    let at: Vec<u64> = follows.iter().map(|f| f.0).collect();
    assert!(at[1] < 30, "{follows:?}");
    assert_eq!(at[2], 600, "{follows:?}");
    assert!((1800..1810).contains(&at[3]), "{follows:?}");
    assert!((2400..2410).contains(&at[4]), "{follows:?}");
    // The PTP servo re-acquires each time it is handed the clock.
    let servo = timed_events(&r, "Client", "ptp-servo");
    for from in [600, 2400] {
        let locked = servo
            .iter()
            .find(|(t, d)| *t >= from && d == "locked")
            .unwrap_or_else(|| panic!("{servo:?}"));
        assert!(locked.0 < from + 60, "{servo:?}");
    }
    // The report adds up the servo's holdover: the PTP path was down from 1800 s to 2400 s,
    // and a servo that had learned its frequency when NTP took the clock at start-up (a race
    // with NTP's first fix, which the draw decides) held over until 600 s too.
    let c = device(&r, "Client");
    let held = c["holdover_s"].as_f64().unwrap();
    let spans: Vec<(u64, u64)> = servo
        .windows(2)
        .filter(|w| w[0].1 == "holdover")
        .map(|w| (w[0].0, w[1].0))
        .collect();
    assert!(
        spans
            .iter()
            .any(|&(from, to)| (1800..1810).contains(&from) && (2400..2410).contains(&to)),
        "{servo:?}"
    );
    let counted: u64 = spans.iter().map(|(from, to)| to - from).sum();
    assert!(
        (held - counted as f64).abs() <= 2.0 * spans.len() as f64,
        "holdover {held} s against the servo's events {servo:?}"
    );
    assert!(
        servo
            .iter()
            .any(|(t, d)| (1800..1810).contains(t) && d == "holdover"),
        "{servo:?}"
    );
    // A time-recovering device judged against the time budget: the failure took it outside.
    assert_eq!(c["role"], "time");
    assert_eq!(c["budget"]["quantity"], "te_ns");
    assert_eq!(c["budget"]["met"], false, "{c}");
    assert_eq!(device(&r, "NtpServer")["role"], "reference");
    assert_eq!(device(&r, "NtpServer")["holdover_s"], 0.0);
}

/// The same device, both engines running, over the same 1200 s: with NTP's priority better it
/// is NTP's accuracy the clock shows, with PTP's better PTP's: the selected source alone drives
/// the clock, and the device's NTP serves what drives it.
#[test]
fn the_selected_source_alone_drives_the_clock() {
    let run = |ptp_priority: u8| {
        let (dir, topo) = example_copy("clock-source", &format!("priority{ptp_priority}"));
        let steady = topo[..topo.find("[[commit]]").unwrap()]
            .replace("duration = 3000", "duration = 1200")
            .replace("warmup = 1200", "warmup = 600");
        std::fs::write(dir.join("topology.toml"), steady).unwrap();
        replace_in(
            &dir.join("Client.cfg"),
            "clock source ptp priority 20",
            &format!("clock source ptp priority {ptp_priority}"),
        );
        let r = lab_once(&dir);
        let follows = events(&r, "Client", "clock-source");
        let client = device(&r, "Client");
        let p99 = client["te_ns"]["p99"].as_f64().unwrap();
        let ntp = &client["ntp"];
        let served = (
            ntp["stratum"].as_u64().unwrap(),
            ntp["reference_id"].to_string(),
        );
        (follows.last().cloned().unwrap(), p99, served)
    };
    let (ntp, ntp_p99, ntp_served) = run(20);
    let (ptp, ptp_p99, ptp_served) = run(5);
    // What the device's NTP serves follows the clock: its NTP server's time at stratum 2, or
    // the PTP-driven clock as a primary source.
    assert_eq!(ntp_served, (2, "\"198.51.100.2\"".to_string()));
    assert_eq!(ptp_served, (1, "\"PTP\"".to_string()));
    eprintln!("p99 |TE| 600–1200 s: NTP driving {ntp_p99:.0} ns, PTP driving {ptp_p99:.0} ns");
    assert_eq!(ntp, "the clock follows ntp");
    assert_eq!(ptp, "the clock follows ptp");
    // NTP over a path with 50 µs of queueing one way; PTP with hardware timestamps.
    assert!(ntp_p99 > 1_000.0, "{ntp_p99}");
    assert!(ptp_p99 < 200.0, "{ptp_p99}");
}

/// `ptp-adaptive atr hop-by-hop`: a client directly attached to its server (one 1-µs link, no
/// queueing) needs no packet selection, so it follows every sample: locked within 2 s, where
/// the default selection servo waits out its windows (14 s), and no less accurate.
#[test]
fn hop_by_hop_locks_at_once_on_a_direct_link() {
    let run = |hop_by_hop: bool| {
        let r = direct_link(
            &format!("hbh{hop_by_hop}"),
            if hop_by_hop {
                "ptp-adaptive atr hop-by-hop"
            } else {
                ""
            },
        );
        let locked = timed_events(&r, "Client", "ptp-servo")
            .into_iter()
            .find(|(_, d)| d == "locked")
            .map(|(t, _)| t)
            .expect("locked");
        let p99 = device(&r, "Client")["te_ns"]["p99"].as_f64().unwrap();
        (locked, p99)
    };
    let (plain_lock, plain_p99) = run(false);
    let (hbh_lock, hbh_p99) = run(true);
    eprintln!(
        "direct link: locked at {plain_lock} s, p99 |TE| {plain_p99:.1} ns; \
         hop-by-hop {hbh_lock} s, {hbh_p99:.1} ns"
    );
    assert!(
        hbh_lock <= 2 && hbh_lock < plain_lock,
        "{hbh_lock} {plain_lock}"
    );
    // Both are the timestamps' white noise (~3 ns p99): "no less accurate" within a quarter of
    // it, as one run's p99 is one draw.
    assert!(
        hbh_p99 <= 1.25 * plain_p99 && hbh_p99 < 10.0,
        "{hbh_p99} {plain_p99}"
    );
}

/// `ptp lite-sync sub-ms enable` (example `lite-sync`): only PTP is configured as a clock
/// source, over a network that is not 1588-aware; when the PTP path fails the device finds the
/// NTP source running beside it on its own and holds the sub-millisecond budget; without
/// lite-sync the clock is left to its oscillator.
#[test]
fn lite_sync_finds_a_source_on_its_own_and_holds_the_sub_ms_budget() {
    let run = |lite: bool| {
        let (dir, _) = example_copy("lite-sync", &format!("lite{lite}"));
        if !lite {
            replace_in(&dir.join("Client.cfg"), "ptp lite-sync sub-ms enable\n", "");
        }
        let r = lab_once(&dir);
        let follows: Vec<(u64, String)> = timed_events(&r, "Client", "clock-source")
            .into_iter()
            .map(|(t, d)| (t, d.trim_start_matches("the clock follows ").to_string()))
            .collect();
        let te = device(&r, "Client")["te_ns"]["max"].as_f64().unwrap();
        (follows, te)
    };
    let (lite, lite_max) = run(true);
    let (plain, plain_max) = run(false);
    eprintln!("max |TE| from 300 s: lite-sync {lite_max:.0} ns, without {plain_max:.0} ns");
    let sources = |f: &[(u64, String)]| f.iter().map(|e| e.1.clone()).collect::<Vec<_>>();
    assert_eq!(sources(&lite), ["ptp", "ntp", "ptp"], "{lite:?}");
    assert_eq!(sources(&plain), ["ptp", "local", "ptp"], "{plain:?}");
    assert!((600..610).contains(&lite[1].0), "{lite:?}");
    assert!((1200..1210).contains(&lite[2].0), "{lite:?}");
    assert!(
        lite_max < 1e6 / 10.0,
        "{lite_max} ns: the sub-ms budget with margin"
    );
    assert!(lite_max < plain_max, "{lite_max} {plain_max}");
}

/// Interface `ptp-adaptive atr enable` is what makes the router stamp 1588 ATR packets at the
/// interface; without it on any interface, the client of the ATR time-profile example stamps
/// in software (1 µs of noise per timestamp instead of 10 ns) and its time error grows, as the
/// vendor warns. Taking it away by a commit at 600 s does the same for the statistics from
/// 1800 s.
#[test]
fn atr_enable_on_the_interface_stamps_ptp_packets_in_hardware() {
    let run = |variant: &str| {
        let (dir, topo) = example_copy("atr-time-profile", &format!("atr-{variant}"));
        match variant {
            "off" => {
                replace_in(&dir.join("Client.cfg"), " ptp-adaptive atr enable\n", "");
            }
            "commit" => {
                let commit = "[[commit]]\nat = 600\ndevice = \"Client\"\n\
                    lines = [\"interface GigabitEthernet0/1/0\", \"undo ptp-adaptive atr enable\"]\n";
                let (head, tail) = topo.split_at(topo.find("[[display]]").unwrap());
                std::fs::write(dir.join("topology.toml"), format!("{head}{commit}{tail}")).unwrap();
            }
            _ => {}
        }
        let r = lab_once(&dir);
        device(&r, "Client")["te_ns"]["p99"].as_f64().unwrap()
    };
    let (on, off, committed) = (run("on"), run("off"), run("commit"));
    eprintln!(
        "p99 |TE|: ATR enabled {on:.0} ns, not enabled {off:.0} ns, disabled by a commit {committed:.0} ns"
    );
    assert!(off > 3.0 * on, "{on} {off}");
    assert!(committed > 3.0 * on, "{on} {committed}");
}

/// `meridian lab DIR`'s text output (its displays and summary), which must succeed.
fn lab_text(dir: &std::path::Path) -> String {
    stdout_of(
        Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(["lab", &dir.display().to_string()])
            .output()
            .expect("run meridian lab"),
    )
}

/// Runs the clock-source example's copy in `dir` with `topo` cut to 1200 s (NTP drives the clock
/// until 600 s, PTP after) and returns the two outputs of `header` it must print.
fn two_displays(dir: &std::path::Path, topo: &str, header: &str) -> Vec<String> {
    let topo = topo
        .replace("duration = 3000", "duration = 1200")
        .replace("warmup = 1200", "warmup = 900");
    std::fs::write(dir.join("topology.toml"), topo).unwrap();
    let out = lab_text(dir);
    std::fs::remove_dir_all(dir).ok();
    let shows: Vec<String> = out.split(header).skip(1).map(str::to_string).collect();
    assert_eq!(shows.len(), 2, "{out}");
    shows
}

/// The value of a display's `name : value` row.
fn field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(name)?.trim().strip_prefix(':'))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// A PTP client whose clock another source drives is on standby, not in holdover: its
/// server is fine. The clock-source example's Client, NTP driving until 600 s, PTP after.
/// (Its servo did say "holdover" — the alarm of a lost server — from NTP's first fix on.)
#[test]
fn a_client_not_driving_the_clock_is_on_standby() {
    let (dir, topo) = example_copy("clock-source", "standby");
    let head = &topo[..topo.find("[[failures]]").unwrap()];
    let topo = format!(
        "{head}[[display]]\ndevice = \"Client\"\ncommand = \"display ptp-adaptive all\"\nat = 300\n\
         [[display]]\ndevice = \"Client\"\ncommand = \"display ptp-adaptive all\"\n"
    );
    let shows = two_displays(&dir, &topo, "<Client> display ptp-adaptive all");
    let state = |text: &str| field(text, "Servo state");
    // NTP has had the clock since its first fix, within the first 30 s.
    let standby = state(&shows[0]);
    let held: u64 = standby
        .strip_prefix("standby (")
        .and_then(|r| r.strip_suffix("s)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", shows[0]));
    assert!((270..=300).contains(&held), "{}", shows[0]);
    // PTP has had the clock since 600 s, and locked.
    assert!(state(&shows[1]).starts_with("locked ("), "{}", shows[1]);
}

/// What a server-and-client forwards follows its clock's source: the clock-source example's
/// Client made a server-and-client for a Downstream client announces NTP as its time source
/// (class 248, one step) while NTP drives its clock, and the Grandmaster's GNSS data (class
/// 6, steps removed 1) once PTP does.
#[test]
fn a_server_forwards_the_time_source_its_clock_follows() {
    let (dir, topo) = example_copy("clock-source", "forwarding");
    let cfg = std::fs::read_to_string(dir.join("Client.cfg")).unwrap();
    let cfg = cfg
        .replace(
            "ptp-adaptive device-type client",
            "ptp-adaptive device-type server-and-client",
        )
        .replace(
            "interface LoopBack0",
            "interface GigabitEthernet0/1/2\n undo shutdown\n ip address 203.0.113.3 255.255.255.0\n ptp-adaptive atr enable\n#\ninterface LoopBack0",
        );
    std::fs::write(dir.join("Client.cfg"), cfg).unwrap();
    let downstream = std::fs::read_to_string(dir.join("Client.cfg"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("clock source") && !l.starts_with("ntp-service"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("sysname Client", "sysname Downstream")
        .replace(
            "ptp-adaptive device-type server-and-client",
            "ptp-adaptive device-type client",
        )
        .replace("remote-server1-ip 1.1.1.1", "remote-server1-ip 3.3.3.3")
        .replace("local-ip 3.3.3.3", "local-ip 4.4.4.4")
        .replace(" ip address 3.3.3.3 ", " ip address 4.4.4.4 ")
        .replace(" ip address 192.0.2.3 ", " ip address 192.0.2.4 ")
        .replace(" ip address 198.51.100.3 ", " ip address 198.51.100.4 ")
        .replace(" ip address 203.0.113.3 ", " ip address 203.0.113.4 ");
    std::fs::write(dir.join("Downstream.cfg"), downstream + "\n").unwrap();
    let head = &topo[..topo.find("[[commit]]").unwrap()];
    let topo = format!(
        "{head}[[links]]\na = \"Client:GigabitEthernet0/1/2\"\nb = \"Downstream:GigabitEthernet0/1/2\"\n\
         delay_us = 10\n\
         [[commit]]\nat = 600\ndevice = \"Client\"\nlines = [\"clock source ptp priority 5\"]\n\
         [[display]]\ndevice = \"Downstream\"\ncommand = \"display ptp-adaptive server 1\"\nat = 300\n\
         [[display]]\ndevice = \"Downstream\"\ncommand = \"display ptp-adaptive server 1\"\n"
    );
    let shows = two_displays(&dir, &topo, "<Downstream> display ptp-adaptive server 1");
    assert_eq!(field(&shows[0], "Time source"), "0x50", "{}", shows[0]);
    assert_eq!(field(&shows[0], "Clock class"), "248", "{}", shows[0]);
    assert_eq!(field(&shows[0], "Steps removed"), "0", "{}", shows[0]);
    assert_eq!(field(&shows[1], "Time source"), "0x20", "{}", shows[1]);
    assert_eq!(field(&shows[1], "Clock class"), "6", "{}", shows[1]);
    assert_eq!(field(&shows[1], "Steps removed"), "1", "{}", shows[1]);
}

/// The ATR time-profile example's Server and Client on one 1-µs link with hardware timestamps,
/// for 600 s (statistics from 120 s), `extra` added to Client's configuration after its
/// profile: the report.
fn direct_link(tag: &str, extra: &str) -> Value {
    let (dir, _) = example_copy("atr-time-profile", tag);
    let topo = "seed = 1\nduration = 600\nwarmup = 120\n\
        [devices.Server]\nnoise_ns = 10\n\
        [devices.Client]\nphase_us = 1000\nppb = 5000\nwander_ppb = 0.05\nnoise_ns = 10\n\
        [[links]]\na = \"Server:GigabitEthernet0/1/0\"\nb = \"Client:GigabitEthernet0/1/0\"\n\
        delay_us = 1\n";
    std::fs::write(dir.join("topology.toml"), topo).unwrap();
    replace_in(
        &dir.join("Client.cfg"),
        "ptp-adaptive time profile\n",
        &format!("ptp-adaptive time profile\n{extra}\n"),
    );
    lab_once(&dir)
}

/// `ptp-adaptive atr server1 asymmetry-correction`: on a symmetric link, declaring the path
/// from the server 2 µs longer (positive) or shorter (negative) moves the client's time by
/// half of it, one way or the other: the correction is applied, with its sign.
#[test]
fn asymmetry_correction_moves_the_time_by_half_the_declared_asymmetry() {
    let mean = |extra: &str, tag: &str| {
        device(&direct_link(tag, extra), "Client")["te_ns"]["mean"]
            .as_f64()
            .unwrap()
    };
    let none = mean("", "asym0");
    let positive = mean(
        "ptp-adaptive atr server1 asymmetry-correction positive 2000",
        "asym+",
    );
    let negative = mean(
        "ptp-adaptive atr server1 asymmetry-correction negative 2000",
        "asym-",
    );
    eprintln!(
        "mean TE: none {none:.1} ns, positive 2000 {positive:.1} ns, negative 2000 {negative:.1} ns"
    );
    assert!(none.abs() < 20.0, "{none}");
    // A longer path from the server than measured: the client puts its clock later by half.
    assert!((positive - none - 1000.0).abs() < 20.0, "{positive}");
    assert!((negative - none + 1000.0).abs() < 20.0, "{negative}");
}

/// `display ptp-adaptive client [ID]` and `config` on a server: each client's grants and
/// counters, one by ID, a clear word for an unknown ID, and the configuration sections.
#[test]
fn a_server_displays_its_clients_and_their_grants() {
    let out = shell(
        "server-and-client",
        "Grandmaster",
        "display ptp-adaptive client\ndisplay ptp-adaptive client 0\n\
         display ptp-adaptive client 9\ndisplay ptp-adaptive config\n",
    );
    let clients: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with(" Client ID 0: 2.2.2.2"))
        .collect();
    assert_eq!(clients.len(), 2, "{out}");
    assert!(
        out.contains("  Sync        interval -3 duration 300s"),
        "{out}"
    );
    assert!(out.contains("Info: no such client."), "{out}");
    assert!(out.contains("  Device type             :server"), "{out}");
    assert!(out.contains("  0    2.2.2.2         "), "{out}");
}
