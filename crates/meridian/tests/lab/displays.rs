//! What the devices' `display` commands show after a lab run, in the seeds' formats.

use super::*;

/// Seed 004's `display ntp-service status` on DeviceD, as printed in the seed.
const SEED_STATUS: &str = " clock status: synchronized
 clock stratum: 3
 reference clock ID: 10.0.1.31
 nominal frequency: 64.0029 Hz
 actual frequency: 64.0029 Hz
 clock precision: 2^7
 clock offset: 0.0000 ms
 root delay: 62.50 ms
 root dispersion: 0.20 ms
 peer dispersion: 7.81 ms
 reference time: 06:52:33.465 UTC Mar 7 2006(C7B7AC31.773E89A8)
 synchronization state: clock synchronized
";

/// The shape of a display line: month names and runs of hex-digit characters collapsed, so two
/// lines with the same fields, order, units and number formats compare equal. A minus sign
/// before a number is part of its value (the seed's offset was 0.0000 ms, a run's may be
/// -0.0007 ms), not of the layout.
fn shape(line: &str) -> String {
    let line = line.replace(" -", " ");
    let mut s = line;
    for m in [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ] {
        s = s.replace(&format!(" {m} "), " Mon ");
    }
    let mut out = String::new();
    let mut in_run = false;
    for c in s.chars() {
        let hex = c.is_ascii_hexdigit();
        if hex && !in_run {
            out.push('#');
        } else if !hex {
            out.push(c);
        }
        in_run = hex;
    }
    out
}

#[test]
fn ntp_status_layout_matches_seed_004_with_simulated_values() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ntp-peer-mode");
    let out = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args(["lab", dir])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let block: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("<DeviceD> display ntp-service status"))
        .skip(1)
        .take(12)
        .collect();
    let seed: Vec<&str> = SEED_STATUS.lines().collect();
    assert_eq!(block.len(), seed.len(), "{text}");
    for (ours, theirs) in block.iter().zip(&seed) {
        assert_eq!(
            shape(ours),
            shape(theirs),
            "\n ours: {ours}\n seed: {theirs}"
        );
    }
    // The values are DeviceD's own: stratum 3 on DeviceC.
    assert_eq!(block[1], " clock stratum: 3");
    assert_eq!(block[2], " reference clock ID: 10.0.1.31");
}

/// Runs `meridian lab EXAMPLE --shell DEVICE` with `commands` on stdin; returns stdout.
pub(crate) fn shell(example: &str, device: &str, commands: &str) -> String {
    use std::io::Write;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meridian"))
        .args([
            "lab",
            &format!("{dir}{example}"),
            "--json",
            "/dev/null",
            "--shell",
            device,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    stdout_of(child.wait_with_output().unwrap())
}

/// The standard output of a run that must have succeeded.
pub(crate) fn stdout_of(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Seed 004's chain as the router prints it (`display ntp-service trace` in the command
/// reference): the device itself as `server 127.0.0.1`, each reference by the address it was
/// asked at, offsets in seconds to 6 decimals, distances to 5, each line ending in a comma,
/// then the primary's reference.
#[test]
fn ntp_trace_walks_the_chain_to_the_local_reference() {
    let out = shell("ntp-peer-mode", "DeviceE", "display ntp-service trace\n");
    let hops: Vec<(String, u8, f64, f64)> = out
        .lines()
        .filter(|l| l.starts_with(" server "))
        .map(|l| trace_line(l).unwrap_or_else(|| panic!("not the router's format: {l:?}")))
        .collect();
    let servers: Vec<(&str, u8)> = hops.iter().map(|h| (h.0.as_str(), h.1)).collect();
    assert_eq!(
        servers,
        [("127.0.0.1", 4), ("10.0.1.32", 3), ("10.0.1.31", 2)],
        "{out}"
    );
    // Synchronized hops: sub-millisecond offsets, distances that grow away from the source.
    assert!(hops.iter().all(|h| h.2.abs() < 1e-3), "{out}");
    assert!(hops[0].3 > hops[1].3 && hops[1].3 > hops[2].3, "{out}");
    assert!(out.ends_with(" refid 127.127.1.0\n"), "{out}");
}

/// ` server ADDR, stratum N, offset S.SSSSSS, synch distance S.SSSSS,` → its fields.
fn trace_line(l: &str) -> Option<(String, u8, f64, f64)> {
    let rest = l.strip_prefix(" server ")?.strip_suffix(',')?;
    let mut parts = rest.split(", ");
    let server = parts.next()?.to_string();
    let stratum = parts.next()?.strip_prefix("stratum ")?.parse().ok()?;
    let offset = parts.next()?.strip_prefix("offset ")?;
    let distance = parts.next()?.strip_prefix("synch distance ")?;
    let decimals = |v: &str| v.split_once('.').map(|(_, d)| d.len());
    if decimals(offset) != Some(6) || decimals(distance) != Some(5) || parts.next().is_some() {
        return None;
    }
    Some((
        server,
        stratum,
        offset.parse().ok()?,
        distance.parse().ok()?,
    ))
}

#[test]
fn reset_ptp_statistics_clears_the_counters() {
    let out = shell(
        "acr-dual-server",
        "DeviceC",
        "display ptp-adaptive server 1\nreset ptp-adaptive statistics\ndisplay ptp-adaptive server 1\n",
    );
    let sync_rows: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.trim_start().starts_with("Sync ")
                && l.split_whitespace()
                    .nth(1)
                    .is_some_and(|t| t.parse::<u64>().is_ok())
        })
        .collect();
    assert_eq!(sync_rows.len(), 2, "{out}");
    let received = |row: &str| {
        row.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(received(sync_rows[0]) > 1000, "{out}");
    assert_eq!(received(sync_rows[1]), 0, "{out}");
    assert!(out.contains("Grandmaster ID"), "{out}");
}
