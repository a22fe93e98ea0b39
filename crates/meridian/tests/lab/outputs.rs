//! The lab's files beside the report: the per-second series and the plots.

use super::*;

#[test]
fn the_series_holds_every_devices_samples_and_agrees_with_the_report() {
    // atr-time-profile: warm-up 1800 s of a 3600-s run, cut to 2000 s (200 samples after it).
    let dir = format!(
        "{}/../../examples/atr-time-profile",
        env!("CARGO_MANIFEST_DIR")
    );
    let csv = std::env::temp_dir().join(format!("meridian-series-{}.csv", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", &dir, "--duration", "2000", "--json", "-", "--series"])
        .arg(&csv)
        .output()
        .expect("run meridian lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let _ = std::fs::remove_file(&csv);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("device,t_s,te_ns,freq_error_ppb,up"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for d in report["devices"].as_array().unwrap() {
        let name = d["name"].as_str().unwrap();
        let mine: Vec<&Vec<&str>> = rows.iter().filter(|r| r[0] == name).collect();
        // One row a second of the run.
        assert!(
            (1999..=2001).contains(&mine.len()),
            "{name}: {} rows",
            mine.len()
        );
        let after: Vec<f64> = mine
            .iter()
            .filter(|r| r[1].parse::<f64>().unwrap() >= 1800.0 && r[4] == "1")
            .map(|r| r[2].parse::<f64>().unwrap())
            .collect();
        assert_eq!(
            after.len() as u64,
            d["te_ns"]["samples"].as_u64().unwrap(),
            "{name}"
        );
        let mean = after.iter().sum::<f64>() / after.len() as f64;
        let reported = d["te_ns"]["mean"].as_f64().unwrap();
        assert!(
            (mean - reported).abs() <= 1e-3 * reported.abs().max(1.0),
            "{name}: series mean {mean} ns, report {reported} ns"
        );
    }
}

/// The text elements of an SVG file, trimmed.
fn svg_texts(path: &std::path::Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    meridian_sim::plot::svg_texts(&svg)
}

/// `meridian lab EXAMPLE --duration D --json - --plot DIR/p.svg`: the report, what the plot
/// step said on standard error, and the directory (removed by the caller).
fn lab_plot(example: &str, duration: &str) -> (Value, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("meridian-plots-{example}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ex = format!("{}/../../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", &ex, "--duration", duration, "--json", "-", "--plot"])
        .arg(dir.join("p.svg"))
        .output()
        .expect("run meridian lab");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr, dir)
}

fn font_present() -> bool {
    let there = meridian_sim::plot::font_available();
    if !there {
        assert!(
            std::env::var("MERIDIAN_REQUIRE_PEERS").is_err(),
            "no DejaVu font: .ci/run installs fonts-dejavu-core"
        );
        eprintln!("SKIPPED: no DejaVu font for plots (install fonts-dejavu-core)");
    }
    there
}

#[test]
fn a_time_recovery_plot_shows_the_steady_state_against_the_time_budget() {
    if !font_present() {
        return;
    }
    // atr-time-profile cut to 2400 s: warm-up 1800 s, 600 steady samples.
    let (report, said, dir) = lab_plot("atr-time-profile", "2400");
    let te = svg_texts(&dir.join("p.svg"));
    let wander = svg_texts(&dir.join("p-wander.svg"));
    std::fs::remove_dir_all(&dir).ok();
    let has = |texts: &[String], t: &str| texts.iter().any(|x| x == t);
    for t in [
        "atr-time-profile: time error",
        "whole run (start-up)",
        "warm-up ends (1800 s)",
        "after the warm-up (1800 s on)",
        "time error (ns)",
        "Client",
        "budget ±1.5 µs (G.8271.1 end application): off scale",
    ] {
        assert!(has(&te, t), "no {t:?} in {te:?}");
    }
    // The reference (the server) is left out of every chart; time recovery gets the time
    // budget's bound, not the G.8263 frequency mask.
    assert!(!has(&te, "Server") && !has(&wander, "Server"), "{te:?}");
    assert!(
        has(&wander, "atr-time-profile (after the warm-up): MTIE"),
        "{wander:?}"
    );
    assert!(
        has(
            &wander,
            "2 × 1.5 µs (G.8271.1 end application): peak-to-peak"
        ),
        "{wander:?}"
    );
    assert!(!wander.iter().any(|t| t.contains("G.8263")), "{wander:?}");
    // The steady panel's range is the report's: its extremes are the largest |TE| after the
    // warm-up, in ns.
    let line = said
        .lines()
        .find(|l| l.contains("p.svg: time error after the warm-up"))
        .unwrap_or_else(|| panic!("{said}"));
    let max = device(&report, "Client")["te_ns"]["max"].as_f64().unwrap();
    let ns = |s: &str| -> f64 {
        let (v, unit) = s.trim().split_once(' ').unwrap();
        let v: f64 = v.parse().unwrap();
        match unit {
            "ns" => v,
            "µs" => v * 1e3,
            other => panic!("unit {other} in {line}"),
        }
    };
    let range = line.split("warm-up ").nth(1).unwrap();
    let (lo, rest) = range.split_once(" … ").unwrap();
    let hi = rest.split(" (").next().unwrap();
    let largest = ns(lo).abs().max(ns(hi).abs());
    assert!(
        (largest - max).abs() <= 0.01 * max,
        "plot {largest} ns, report max {max} ns: {line}"
    );
    assert!(max < 500.0, "{line}");
}

#[test]
fn a_frequency_recovery_plot_shows_frequency_error_and_the_g8263_mask() {
    if !font_present() {
        return;
    }
    let (_, said, dir) = lab_plot("acr-dual-server", "1000");
    let fe = svg_texts(&dir.join("p.svg"));
    let wander = svg_texts(&dir.join("p-wander.svg"));
    std::fs::remove_dir_all(&dir).ok();
    let has = |texts: &[String], t: &str| texts.iter().any(|x| x == t);
    for t in [
        "acr-dual-server: frequency error",
        "frequency error (ppb)",
        "DeviceC",
        "link 0 down",
        "budget ±16 ppb (frequency recovery): off scale",
    ] {
        assert!(has(&fe, t), "no {t:?} in {fe:?}");
    }
    // Both servers are references: neither is drawn.
    assert!(!has(&fe, "DeviceA") && !has(&fe, "DeviceB"), "{fe:?}");
    assert!(has(&wander, "G.8263 MTIE mask (0.1–1000 s)"), "{wander:?}");
    assert!(!wander.iter().any(|t| t.contains("G.8271.1")), "{wander:?}");
    assert!(
        said.contains("frequency error after the warm-up") && said.contains("ppb"),
        "{said}"
    );
}
