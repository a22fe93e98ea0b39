//! `meridian lab DIR --seeds N`: the same lab under several seeds, run side by side.

use super::*;

fn atr_profile() -> String {
    format!(
        "{}/../../examples/atr-time-profile",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `meridian lab` on atr-time-profile cut to 2000 s (200 samples after its warm-up) with
/// `args`: its standard output, which must be a success.
fn run(args: &[&str]) -> String {
    stdout_of(
        Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(["lab", &atr_profile(), "--duration", "2000"])
            .args(args)
            .output()
            .expect("run meridian lab"),
    )
}

#[test]
fn each_seed_is_its_own_run_and_the_threads_change_nothing() {
    let one = run(&["--seeds", "3", "--threads", "1", "--json", "-"]);
    let three = run(&["--seeds", "3", "--threads", "3", "--json", "-"]);
    assert_eq!(one, three, "the report depends on the threads");
    let r: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(
        r["seeds"],
        serde_json::json!([1, 2, 3]),
        "from the topology's seed up"
    );
    // Each run is the single run with that seed, to the last digit.
    let single: Value = serde_json::from_str(&run(&["--seed", "2", "--json", "-"])).unwrap();
    assert_eq!(r["runs"][1]["seed"], 2);
    assert_eq!(r["runs"][1]["report"], single);
    // The Client (the only device recovering time) across the runs: each run's p99, the
    // worst, the median, the budget met.
    let devices = r["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 1, "{devices:?}");
    let c = &devices[0];
    assert_eq!(
        (c["name"].as_str(), c["quantity"].as_str()),
        (Some("Client"), Some("te_ns"))
    );
    let p99: Vec<f64> = (0..3)
        .map(|i| {
            device(&r["runs"][i]["report"], "Client")["te_ns"]["p99"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert_eq!(c["p99"], serde_json::json!(p99));
    assert!(
        p99[0] != p99[1] && p99[1] != p99[2],
        "the seeds made no difference: {p99:?}"
    );
    let mut sorted = p99.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(c["worst_p99"].as_f64(), Some(sorted[2]));
    assert_eq!(c["median_p99"].as_f64(), Some(sorted[1]));
    assert_eq!(c["limit"].as_f64(), Some(1500.0));
    let met = p99.iter().filter(|p| **p <= 1500.0).count();
    assert_eq!(c["met"].as_u64(), Some(met as u64));
}

#[test]
fn the_table_lists_every_seed_then_the_spread_and_the_budget() {
    let text = run(&["--seeds", "2", "--seed", "7", "--threads", "2"]);
    let r: Value =
        serde_json::from_str(&run(&["--seeds", "2", "--seed", "7", "--json", "-"])).unwrap();
    let p99 = |i: usize| r["devices"][0]["p99"][i].as_f64().unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |label: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&label))
            .unwrap_or_else(|| panic!("no row {label}:\n{text}"))
            .clone()
    };
    assert_eq!(row("seed"), ["seed", "Client"], "{text}");
    assert_eq!(row("7"), ["7", &format!("{:.0}", p99(0)), "ns"], "{text}");
    assert_eq!(row("8"), ["8", &format!("{:.0}", p99(1)), "ns"], "{text}");
    assert_eq!(
        row("worst"),
        ["worst", &format!("{:.0}", p99(0).max(p99(1))), "ns"]
    );
    assert_eq!(
        row("median"),
        ["median", &format!("{:.0}", (p99(0) + p99(1)) / 2.0), "ns"]
    );
    assert_eq!(row("budget"), ["budget", "±1500", "ns"], "{text}");
    assert_eq!(
        row("met"),
        ["met", &format!("{}/2", r["devices"][0]["met"])],
        "{text}"
    );
    // The displays belong to a single run: none printed here.
    assert!(!text.contains("display"), "{text}");
}

#[test]
fn what_shows_one_run_is_refused_with_several_seeds() {
    for extra in [
        &["--plot", "x.svg"][..],
        &["--series", "x.csv"],
        &["--pcap", "x.pcap"],
        &["--shell", "Client"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
            .args(["lab", &atr_profile(), "--duration", "10", "--seeds", "2"])
            .args(extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} accepted");
        assert!(
            err.contains("leave them out with --seeds"),
            "{extra:?}: {err}"
        );
        assert!(
            out.stdout.is_empty(),
            "{extra:?} ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !std::path::Path::new(extra[1]).exists(),
            "{extra:?} wrote a file"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", &atr_profile(), "--seeds", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "--seeds 0 accepted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seeds"));
}
