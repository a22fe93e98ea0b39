//! Runs every fuzz target on random inputs for a fixed time (`MERIDIAN_FUZZ_SECONDS`, default
//! 3 s each; CI sets more), then replays the regression inputs in `tests/regressions/`. A
//! failing input is written under the cargo target directory for replay.

use std::path::PathBuf;
use std::time::Duration;

use meridian_fuzzing::runner::{Rng, TARGETS, input};

fn seconds() -> f64 {
    std::env::var("MERIDIAN_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0)
}

#[allow(clippy::disallowed_methods)] // wall-clock bound of the run
fn fuzz(name: &str) {
    let (_, target, kind) = TARGETS.iter().find(|(n, ..)| *n == name).unwrap();
    let seed = std::env::var("MERIDIAN_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6d65_7269_6469_616e);
    let mut rng = Rng::new(seed ^ name.len() as u64);
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(seconds()) {
        let data = input(&mut rng, *kind);
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{name}-{seed:x}-{n}.bin"));
            std::fs::write(&path, &data).unwrap();
            panic!("{name}: input {n} fails; saved to {}", path.display());
        }
        n += 1;
    }
    println!("{name}: {n} inputs in {:.1} s, no failure", seconds());
}

/// A configuration file that must load (the round-trip target skips those that do not).
fn loads(path: &std::path::Path, data: &[u8]) {
    let text = std::str::from_utf8(data).unwrap();
    if let Err((line, e)) = meridian_vrp::session::Session::load_licensed(
        text,
        Some(("license.txt", "clock-synchronization\n")),
    ) {
        panic!("{}:{line}: {e}", path.display());
    }
}

/// Every saved regression input of `name` still passes.
fn regressions(name: &str) {
    let (_, target, _) = TARGETS.iter().find(|(n, ..)| *n == name).unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(name);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for e in entries {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "cfg") {
            loads(&path, &data);
        }
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            panic!("regression {} fails again", path.display());
        }
    }
}

#[test]
fn device_engines() {
    regressions("device");
    fuzz("device");
}

#[test]
fn vrp_lines() {
    regressions("vrp_lines");
    fuzz("vrp_lines");
}

#[test]
fn config_files() {
    regressions("config_file");
    fuzz("config_file");
}

#[test]
fn topologies() {
    regressions("topology");
    fuzz("topology");
}

#[test]
fn license_files() {
    regressions("license_file");
    fuzz("license_file");
}

/// Every example's configuration files save and load back unchanged (an ACR device, ACLs and
/// keys could not: optional groups were accepted only at the end of a command).
#[test]
fn every_example_configuration_round_trips() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for dir in std::fs::read_dir(&examples).unwrap() {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_some_and(|e| e == "cfg") {
                let data = std::fs::read(&path).unwrap();
                loads(&path, &data);
                if std::panic::catch_unwind(|| meridian_fuzzing::vrp::config_file(&data)).is_err() {
                    panic!("{} does not round-trip", path.display());
                }
                n += 1;
            }
        }
    }
    assert!(n >= 10, "{n} configuration files");
}
