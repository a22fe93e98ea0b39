//! Every class of bad topology gives one clear line naming the file and line, before anything
//! runs (these ran silently, or hung, before the checks).

use std::path::PathBuf;

use meridian_lab::devices::check;
use meridian_lab::{Device, LabError, Topology, load_devices};

fn example() -> Vec<Device> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/server-and-client");
    load_devices(&dir).unwrap()
}

/// A valid base: the server-and-client chain.
const BASE: &str = r#"seed = 1
duration = 100
[devices.Client]
ppb = 10
[[links]]
a = "Grandmaster"
b = "Boundary:GigabitEthernet0/1/0"
[[links]]
a = "Boundary:GigabitEthernet0/1/1"
b = "Client"
"#;

fn verdict(text: &str, devices: &[Device]) -> Result<(), LabError> {
    let topo = Topology::parse("topology.toml", text)?;
    check(&topo, "topology.toml", text, devices)
}

/// `text` fails at `line` with a message containing `needle`, in one line.
fn refused(text: &str, line: Option<usize>, needle: &str) {
    let e = verdict(text, &example()).expect_err(text);
    let shown = e.to_string();
    assert!(!shown.contains('\n'), "more than one line: {shown}");
    assert!(shown.contains(needle), "{shown:?} lacks {needle:?}");
    assert_eq!(e.line, line, "{shown}");
    assert!(shown.starts_with("topology.toml:"), "{shown}");
}

#[test]
fn the_base_is_valid() {
    verdict(BASE, &example()).unwrap();
}

#[test]
fn numbers_out_of_range_are_refused_at_their_line() {
    let link =
        |extra: &str| format!("{BASE}[[links]]\na = \"Grandmaster\"\nb = \"Client\"\n{extra}\n");
    for (extra, needle) in [
        ("delay_us = -1.0", "0 to 10000000 µs"),
        ("delay_us = nan", "found NaN"),
        ("delay_us = inf", "found inf"),
        ("loss = 1.5", "probability"),
        (
            "pdv = { model = \"queueing\", hops = 3, load = 1, service_us = 12 }",
            "utilisation",
        ),
        (
            "pdv = { model = \"queueing\", hops = 3, load = 1.5, service_us = 12 }",
            "utilisation",
        ),
        (
            "pdv = { model = \"queueing\", hops = 3, load = -0.5, service_us = 12 }",
            "utilisation",
        ),
        (
            "pdv = { model = \"queueing\", hops = 4000000000, load = 0.5, service_us = 12 }",
            "hops",
        ),
        ("pdv = { model = \"g8263\", load = 150 }", "percent"),
        ("pdv = { model = \"uniform\", max_us = -3 }", "µs"),
        (
            "pdv = { model = \"gamma\", shape = 0, scale_us = 3 }",
            "shape",
        ),
        ("pdv = { model = \"warp\" }", "warp"),
        ("colour = 3", "colour"),
    ] {
        refused(&link(extra), Some(14), needle);
    }
    refused(&link("asymmetry_us = -100"), Some(12), "negative");
    let osc = |field: &str| BASE.replace("ppb = 10", field);
    refused(&osc("noise_ns = -1"), Some(4), "0 to 1000000000 ns");
    refused(&osc("phase_us = 1e20"), Some(4), "µs");
    refused(&osc("ppb = 1e12"), Some(4), "ppb");
    refused(&osc("wander_ppb = -1"), Some(4), "ppb/√s");
    // Plot budgets: above zero and finite.
    let top = |field: &str| BASE.replace("duration = 100", &format!("duration = 100\n{field}"));
    refused(&top("te_budget_ns = 0"), Some(3), "budget above 0");
    refused(&top("te_budget_ns = nan"), Some(3), "budget above 0");
    refused(&top("freq_budget_ppb = -16"), Some(3), "budget above 0");
    let t = Topology::parse(
        "topology.toml",
        &top("te_budget_ns = 250\nfreq_budget_ppb = 4"),
    )
    .unwrap();
    assert_eq!((t.te_budget_ns(), t.freq_budget_ppb()), (Some(250.0), 4.0));
    let t = Topology::parse("topology.toml", BASE).unwrap();
    assert_eq!((t.te_budget_ns(), t.freq_budget_ppb()), (None, 16.0));
}

#[test]
fn times_out_of_the_run_are_refused() {
    refused(
        &BASE.replace("duration = 100", "duration = -5"),
        Some(2),
        "0 to",
    );
    refused(
        &BASE.replace("duration = 100", "duration = 0"),
        Some(2),
        "at least 1 s",
    );
    refused(&format!("warmup = 100\n{BASE}"), Some(1), "warm-up");
    refused(&format!("warmup = -1\n{BASE}"), Some(1), "0 to");
    refused(
        &format!("{BASE}[[failures]]\nat = -3\nlink = 0\n"),
        Some(12),
        "0 to",
    );
    refused(
        &format!("{BASE}[[failures]]\nat = 300\nlink = 0\n"),
        Some(12),
        "after the end",
    );
    refused(
        &format!("{BASE}[[failures]]\nat = 3\nlink = 7\n"),
        Some(13),
        "link 7 does not exist",
    );
    refused(
        &format!("{BASE}[[failures]]\nat = 3\n"),
        Some(12),
        "exactly one",
    );
    refused(
        &format!("{BASE}[[display]]\ndevice = \"Client\"\ncommand = \"display clock\"\nat = 101\n"),
        Some(14),
        "after the end",
    );
}

#[test]
fn names_that_do_not_resolve_are_refused_with_a_hint() {
    refused(
        &BASE.replace("[devices.Client]", "[devices.client]"),
        Some(3),
        "did you mean \"Client\"",
    );
    refused(
        &BASE.replace("b = \"Client\"", "b = \"Cliant\""),
        Some(10),
        "no device \"Cliant\"",
    );
    refused(
        &BASE.replace("Boundary:GigabitEthernet0/1/0", "Boundary:Gi9/9/9"),
        Some(7),
        "has no interface \"Gi9/9/9\"",
    );
    refused(
        &BASE.replace("b = \"Client\"", "b = \"Boundary\""),
        Some(10),
        "to itself",
    );
    refused(
        &format!("{BASE}[[display]]\ndevice = \"Nobody\"\ncommand = \"display clock\"\n"),
        Some(12),
        "no device \"Nobody\"",
    );
    refused(
        &format!("{BASE}[[failures]]\nat = 3\ndevice = \"Nobody\"\n"),
        Some(13),
        "no device",
    );
    refused(
        &format!("segments = [\"lan\", \"lan\"]\n{BASE}"),
        Some(1),
        "declared twice",
    );
}

#[test]
fn an_empty_topology_leaves_devices_unlinked() {
    let e = verdict("", &example()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "topology.toml: device Boundary has no link: add a [[links]] entry with a = \"Boundary\""
    );
}

#[test]
fn devices_that_share_an_address_are_refused() {
    let mut devices = example();
    let text = devices[2].text.replace("192.0.2.1 255", "198.51.100.3 255");
    devices[2] = Device::load(
        "Grandmaster",
        "Grandmaster.cfg",
        &text,
        Some(("license.txt", "clock-synchronization\n")),
    )
    .unwrap();
    let e = verdict(BASE, &devices).unwrap_err();
    assert_eq!(e.file, "Grandmaster.cfg");
    assert_eq!(e.line, Some(12));
    assert!(e.message.contains("198.51.100.3 is also Client's"), "{e}");
}

#[test]
fn configuration_errors_name_the_line_and_cut_the_echo_near_the_caret() {
    let long = format!(
        "sysname D\nntp-service {} bogus\n",
        "unicast-server 10.0.0.1 ".repeat(300)
    );
    let e = Device::load("D", "D.cfg", &long, None).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.message.starts_with("Error:"), "{e}");
    let detail = e.detail.clone().unwrap();
    assert!(detail.contains('^') && detail.len() < 400, "{detail}");
    let e = Device::load(
        "D",
        "D.cfg",
        "sysname D\n",
        Some(("my license.txt", "clock-synchronization\n")),
    )
    .unwrap_err();
    assert_eq!((e.file.as_str(), e.line), ("my license.txt", None), "{e}");
    // An error without a caret is one line (it used to repeat itself under the echo).
    let e = Device::load("D", "D.cfg", "sysname D\nptp-adaptive enable\n", None).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    assert!(e.detail.is_none() && !e.to_string().contains('\n'), "{e}");
    assert!(e.message.contains("license"), "{e}");
}

#[test]
fn a_configuration_file_cut_short_is_refused() {
    let dir = std::env::temp_dir().join(format!("meridian-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/atr-time-profile");
    for f in ["Client.cfg", "Server.cfg", "license.txt"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    load_devices(&dir).unwrap();
    let text = std::fs::read_to_string(dir.join("Client.cfg")).unwrap();
    let cut: String = text.lines().take(8).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.join("Client.cfg"), &cut).unwrap();
    let e = load_devices(&dir).unwrap_err();
    std::fs::remove_dir_all(&dir).ok();
    assert!(e.file.ends_with("Client.cfg"), "{e}");
    assert_eq!(e.line, Some(8), "{e}");
    assert!(e.message.contains("without `return`"), "{e}");
}

#[test]
fn a_second_with_too_many_events_stops_the_run() {
    let devices = example();
    let topo = Topology::parse("topology.toml", BASE).unwrap();
    let mut lab = meridian_lab::build(&topo, &devices, 1);
    lab.run_to(5).unwrap();
    lab.max_events_per_second = 10;
    let e = lab.run_to(10).unwrap_err();
    assert_eq!(
        e.to_string(),
        "lab: more than 10 events in simulated second 6: stopped (a runaway engine or topology)"
    );
}
