//! What the Debian package ships (packaging/): the unit's command line starts the daemon on the
//! default configuration, the dashboard asks only for metrics the daemon exports (and shows
//! them all), and the man pages and completions come from the programs' own definitions.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;
use common::{Daemon, Scratch, shell, wait_for};
use meridian::daemon_cli::Args;
use meridian_proto::engine::Instant;
use meridian_vrp::device::{DeviceEngine, node_config};
use meridian_vrp::session::Session;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The unit's `ExecStart=` words (no quoting in ours).
fn exec_start() -> Vec<String> {
    let unit = read("packaging/meridiand.service");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart in the unit");
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_units_command_line_is_the_daemons_and_the_default_configuration_loads() {
    let argv = exec_start();
    assert_eq!(argv[0], "/usr/bin/meridiand");
    let args = Args::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert_eq!(args.config, Path::new("/etc/meridian/meridian.cfg"));
    assert_eq!(
        args.control_mode, 0o660,
        "operators' group may use the shell"
    );
    assert_eq!(args.control_group.as_deref(), Some("meridian"));
    let unit = read("packaging/meridiand.service");
    for needed in [
        "User=meridian",
        "RuntimeDirectory=meridian",
        "ReadWritePaths=/etc/meridian",
    ] {
        assert!(unit.contains(needed), "unit lacks {needed}");
    }
    let cfg = read("packaging/meridian.cfg");
    Session::load(&cfg).unwrap_or_else(|(line, e)| panic!("meridian.cfg:{line}: {e}"));
}

#[test]
fn the_units_command_line_starts_the_daemon_and_its_shell_answers() {
    // The unit's own arguments, with the paths moved into a scratch directory and the group
    // one this user is in (the package's check runs the installed line as is).
    let dir = Scratch::new("unit");
    let cfg = dir.file("meridian.cfg", &read("packaging/meridian.cfg"));
    let control = dir.0.join("control.sock");
    let group = nix::unistd::Group::from_gid(nix::unistd::getgid())
        .unwrap()
        .expect("this process's group has a name")
        .name;
    let args: Vec<String> = exec_start()[1..]
        .iter()
        .map(|a| match a.as_str() {
            "/etc/meridian/meridian.cfg" => cfg.display().to_string(),
            "/run/meridian/control.sock" => control.display().to_string(),
            "meridian" => group.clone(),
            _ => a.clone(),
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut d = Daemon::start_logged(&args, &dir.0.join("log"));
    wait_for(&control);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&control).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let out = shell(&control, "display current-configuration");
    assert!(out.contains("sysname meridian"), "{out}");
    assert!(d.alive());
    assert!(d.terminate().success());
}

/// Metric names a PromQL expression uses.
fn metric_names(expr: &str) -> impl Iterator<Item = &str> {
    expr.match_indices("meridian_").map(|(i, _)| {
        let rest = &expr[i..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr" | "query", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_exprs(x, out)),
        _ => {}
    }
}

/// Every metric family the daemon can export: a device with an NTP client, server and peer and
/// a 1588 server-and-client.
fn exported_families() -> BTreeSet<String> {
    let text = "#\nsysname D\n#\n\
        ptp-adaptive enable\nptp-adaptive device-type server-and-client\n\
        ptp-adaptive time profile\nptp-adaptive local-ip 2.2.2.2\n\
        ptp-adaptive remote-server1-ip 1.1.1.1\nptp-adaptive atr unicast-negotiate enable\n\
        ntp-service unicast-server 192.0.2.1\nntp-service unicast-peer 192.0.2.3\n\
        ntp-service server source-interface LoopBack0\n#\n\
        interface LoopBack0\n ip address 2.2.2.2 255.255.255.255\n#\nreturn\n";
    let license = read("examples/server-and-client/license.txt");
    let s = Session::load_licensed(text, Some(("license.txt", &license)))
        .unwrap_or_else(|(l, e)| panic!("line {l}: {e}"));
    let engine = DeviceEngine::new(&node_config(&s.running), Instant::ZERO, 1);
    assert!(engine.ntp.is_some() && engine.ptp.is_some());
    meridian_os::metrics::render(&engine, Instant::ZERO, 0.0, 0.0, &Default::default())
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_dashboard_shows_every_exported_metric_and_no_other() {
    let dash: serde_json::Value =
        serde_json::from_str(&read("packaging/grafana/meridian.json")).expect("dashboard JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dash, &mut exprs);
    let used: BTreeSet<String> = exprs
        .iter()
        .flat_map(|e| metric_names(e))
        .map(str::to_string)
        .collect();
    let exported = exported_families();
    assert!(exported.len() >= 20, "{exported:?}");
    let unknown: Vec<_> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "the dashboard asks for {unknown:?}");
    let missing: Vec<_> = exported.difference(&used).collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
    // Every panel's query names its data source variable, so an import asks for one.
    let panels = dash["panels"].as_array().unwrap();
    for p in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
    }
}

#[test]
fn man_pages_and_completions_come_from_the_command_lines() {
    let dir = Scratch::new("assets");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meridian"))
        .arg("package-assets")
        .arg(&dir.0)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = |name: &str| std::fs::read_to_string(dir.0.join("man").join(name)).unwrap();
    let daemon = page("meridiand.1");
    assert!(daemon.starts_with(".ie \\n(.g .ds Aq") || daemon.contains(".TH"));
    assert!(daemon.contains(".TH MERIDIAND 1"), "{}", &daemon[..200]);
    for option in ["ntp\\-workers", "control\\-group", "metrics"] {
        assert!(daemon.contains(option), "meridiand.1 lacks --{option}");
    }
    // Hidden test options stay out of the page.
    assert!(!daemon.contains("virtual\\-offset"));
    let lab = page("meridian-lab.1");
    assert!(
        lab.contains("\\-\\-series"),
        "meridian-lab.1 lacks --series"
    );
    assert!(!dir.0.join("man/meridian-package-assets.1").exists());
    let bash = std::fs::read_to_string(dir.0.join("completions/meridian.bash")).unwrap();
    for word in ["lab", "shell", "bench", "ntp-server"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for f in [
        "_meridian",
        "meridian.fish",
        "meridiand.bash",
        "_meridiand",
        "meridiand.fish",
    ] {
        assert!(dir.0.join("completions").join(f).exists(), "{f}");
    }
}
