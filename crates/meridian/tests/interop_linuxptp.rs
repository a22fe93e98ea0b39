//! meridiand's 1588 ATR client against a linuxptp 3.1.1 grandmaster (`ptp4l` masterOnly with
//! unicast_listen) beside a ptp4l client of the same grandmaster, each in its own network
//! namespace on one bridge (TEST-NET-1); and ptp4l's client against meridiand's server over a
//! veth pair; software timestamps. ptp4l runs without CAP_SYS_TIME (setpriv) with
//! `free_running 1`; every namespace reads the one host clock, so the virtual clock's offset from
//! CLOCK_REALTIME is meridiand's true error and ptp4l's raw offsets are its measurement error.

use std::path::Path;
use std::time::Duration;

mod common;

use common::{
    Namespaces, Scratch, assert_well_formed, capture_in, shell, start_in, tshark_fields, wait_for,
    wait_settled,
};

/// The tests of this file measure time error with software timestamps on a two-core host:
/// they take turns so that one's load does not show up in the other's numbers.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether this test can run here: root (for namespaces), `ip` and `ptp4l`. Missing pieces skip
/// visibly, or fail under `MERIDIAN_REQUIRE_PEERS=1`.
fn available() -> bool {
    let [root, ip] = common::namespace_needs();
    common::require(
        "linuxptp interop",
        &[root, ip, ("ptp4l", common::runs("ptp4l", &["-v"]))],
    )
}

/// The ATR license file of the examples, copied into the scratch directory.
fn license(dir: &Scratch) -> std::path::PathBuf {
    dir.file(
        "license.txt",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/atr-time-profile/license.txt"
        ))
        .unwrap(),
    )
}

/// tshark on namespace `b`'s end of the link, writing `live.pcapng`; started before the
/// daemons so that it sees the whole negotiation.
fn capture(dir: &Scratch, ns: &Namespaces) -> (common::Daemon, std::path::PathBuf) {
    capture_on(dir, &ns.b, &ns.veth_b)
}

fn capture_on(dir: &Scratch, netns: &str, dev: &str) -> (common::Daemon, std::path::PathBuf) {
    let pcap = dir.0.join("live.pcapng");
    let tshark = capture_in(netns, dev, None, &pcap, &dir.0.join("tshark.log"));
    (tshark, pcap)
}

#[test]
fn atr_client_locks_to_ptp4l_and_renews_its_grants() {
    if !available() {
        return;
    }
    let _turn = take_turn();
    let dir = Scratch::new("linuxptp");
    let ns = Namespaces::switched('c');
    let (ns_c, veth_c) = ns.c.clone().unwrap();
    let d = dir.0.display();
    let gm = dir.file(
        "gm.cfg",
        &format!(
            "[global]\ndomainNumber 45\nnetwork_transport UDPv4\ntime_stamping software\n\
             delay_mechanism E2E\ntwoStepFlag 1\nmasterOnly 1\nunicast_listen 1\n\
             inhibit_multicast_service 1\nhybrid_e2e 1\nfree_running 1\nclockClass 6\n\
             logSyncInterval -3\nlogMinDelayReqInterval -3\nuds_address {d}/gm.sock\n[{}]\n",
            ns.veth_a
        ),
    );
    // The reference: ptp4l's own client of the same grandmaster, measuring only (its raw
    // offsets, one per Sync, are its error: the clocks are one).
    let reference = dir.file(
        "reference.cfg",
        &format!(
            "[global]\ndomainNumber 45\nnetwork_transport UDPv4\ntime_stamping software\n\
             delay_mechanism E2E\nslaveOnly 1\nfree_running 1\nunicast_req_duration 60\n\
             logSyncInterval -3\nlogMinDelayReqInterval -3\nsummary_interval -3\n\
             uds_address {d}/reference.sock\n[unicast_master_table]\ntable_id 1\n\
             logQueryInterval 0\nUDPv4 192.0.2.1\n[{veth_c}]\nunicast_master_table 1\n"
        ),
    );
    let license = license(&dir);
    // Grants of 60 s: the run outlasts two of them, so renewals must work.
    let client = dir.file(
        "client.cfg",
        "sysname Client\nptp-adaptive enable\nptp-adaptive device-type client\n\
         ptp-adaptive time profile\nptp-adaptive domain 45\nptp-adaptive local-ip 192.0.2.2\n\
         ptp-adaptive remote-server1-ip 192.0.2.1\nptp-adaptive atr unicast-negotiate enable\n\
         ptp-adaptive request sync-interval 3\nptp-adaptive announce-duration 60\n\
         ptp-adaptive sync-duration 60\nptp-adaptive delay-resp-duration 60\n\
         interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.2 255.255.255.0\n\
         return\n",
    );
    let (control, report) = (dir.0.join("c.sock"), dir.0.join("c.jsonl"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // tshark watches the client's side of the link for the whole run.
    let (mut capture, pcap) = capture(&dir, &ns);
    let _gm = start_in(
        &ns.a,
        "ptp4l",
        &["-f", &s(&gm), "-m"],
        &dir.0.join("ptp4l.log"),
    );
    let reference_log = dir.0.join("reference.log");
    let _reference = start_in(
        &ns_c,
        "ptp4l",
        &["-f", &s(&reference), "-m"],
        &reference_log,
    );
    // meridiand runs inside namespace b (without clock rights too: it needs none).
    let mut cli = start_in(
        &ns.b,
        env!("CARGO_BIN_EXE_meridiand"),
        &[
            "--config",
            &s(&client),
            "--license",
            &s(&license),
            "--control",
            &s(&control),
            "--virtual-offset-ms",
            "5",
            "--virtual-ppm",
            "20",
            "--report",
            &s(&report),
        ],
        &dir.0.join("meridiand.log"),
    );
    // ptp4l takes the master role after its announce timeout (~6 s); then acquisition (~30 s).
    wait_settled(&report, 10, 5e3, Duration::from_secs(120));
    let locked = common::offsets(&report).len();
    // An operator's commit of the sysname and of an ACL nothing uses, while locked: nothing
    // may change on the wire (checked in the capture: no new client negotiating from scratch)
    // and the lock holds (judged below with the rest of the run).
    wait_for(&control);
    let out = common::shell_lines(&control, &common::UNRELATED_COMMIT);
    assert!(!out.contains("Error"), "{out}");
    // Hold past two grant durations from the start (2 × 60 s), then judge the locked part.
    std::thread::sleep(Duration::from_secs(130u64.saturating_sub(locked as u64)));
    let v = common::offsets(&report);
    // Steady state: the last 60 s (the first lock may still carry a decaying residual).
    let from = locked.max(v.len().saturating_sub(60));
    let mut te: Vec<f64> = v[from..].iter().map(|x| x.abs()).collect();
    te.sort_by(f64::total_cmp);
    let p99 = te[(te.len() * 99 / 100).min(te.len() - 1)];
    eprintln!(
        "ptp4l grandmaster: locked after {locked} s; over the last {} s p99 |TE| {:.2} µs, max {:.2} µs",
        te.len(),
        p99 / 1e3,
        te.last().unwrap() / 1e3
    );
    assert!(
        v.len() >= 128,
        "the run did not outlast two grant durations"
    );
    let all_us = || {
        v.iter()
            .map(|x| (x / 100.0).round() / 10.0)
            .collect::<Vec<_>>()
    };
    assert!(p99 < 5e3, "p99 |TE| {p99} ns; µs: {:?}", all_us());
    // Against ptp4l's client on the same kind of path, same run, over the same last 60 s: the
    // mean within 1.5 µs (8 Syncs/s) and the RMS no worse than ptp4l's raw offsets'. Alone the
    // mean is −0.2…−0.5 µs; with the whole suite running beside it, the software timestamps'
    // asymmetry on veth has stepped by −1.0 µs mid-run (a mean of −1.05 µs, while ptp4l's own
    // client had an RMS of 4 µs): the bound leaves room for that, not for a servo error.
    let (mean, rms) = mean_rms(&v[from..]);
    // ptp4l logs one offset every 2 s while its servo only measures (free_running).
    let raw = reference_offsets(&reference_log, 60.0);
    assert!(raw.len() >= 20, "{} ptp4l offsets", raw.len());
    let (raw_mean, raw_rms) = mean_rms(&raw);
    eprintln!(
        "last 60 s: meridian mean {mean:.0} ns, RMS {rms:.0} ns; ptp4l client raw mean \
         {raw_mean:.0} ns, RMS {raw_rms:.0} ns ({} offsets)",
        raw.len()
    );
    assert!(mean.abs() <= 1.5e3, "mean {mean} ns; µs: {:?}", all_us());
    assert!(
        rms <= raw_rms,
        "RMS {rms} ns vs ptp4l's {raw_rms} ns; µs: {:?}",
        all_us()
    );
    wait_for(&control);
    let all = shell(&control, "display ptp-adaptive all");
    assert!(
        all.contains("192.0.2.1") && all.contains("Nego success"),
        "{all}"
    );
    assert!(cli.terminate().success());
    // Let the capture take in the last packets (the CANCELs sent at shutdown).
    std::thread::sleep(Duration::from_secs(2));
    capture.terminate();
    check_capture(&pcap);
    check_delay_req_origins(&pcap, &v[from..]);
    let log = std::fs::read_to_string(dir.0.join("meridiand.log")).unwrap();
    assert!(
        log.contains("configuration committed; no engine affected"),
        "{log}"
    );
    check_one_negotiating_client(&pcap);
}

/// Mean and RMS, ns.
fn mean_rms(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt())
}

/// ptp4l's raw offsets ("master offset", ns) logged over the last `seconds` of its log.
fn reference_offsets(log: &Path, seconds: f64) -> Vec<f64> {
    let text = std::fs::read_to_string(log).unwrap();
    let points: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let t = l.strip_prefix("ptp4l[")?.split(']').next()?.parse().ok()?;
            let x = l.split("master offset").nth(1)?.split_whitespace().next()?;
            Some((t, x.parse().ok()?))
        })
        .collect();
    let end = points.last().map_or(0.0, |p| p.0);
    points
        .iter()
        .filter(|p| p.0 > end - seconds)
        .map(|p| p.1)
        .collect()
}

/// The self-measurement confirmed on the wire: each Delay_Req carries the client's clock at
/// sending in its origin timestamp, and the capture stamps it on CLOCK_REALTIME moments later,
/// so origin − capture is the clock's error less the send latency (tens of µs at most). Its
/// median over the Delay_Reqs of the judged window must agree with the reported errors'.
fn check_delay_req_origins(pcap: &Path, reported: &[f64]) {
    let req = "ip.src == 192.0.2.2 && ptp.v2.messagetype == 0x1 && !icmp";
    let fields = |f: &str| tshark_fields(pcap, None, req, f);
    let (captured, secs, nanos) = (
        fields("frame.time_epoch"),
        fields("ptp.v2.sdr.origintimestamp.seconds"),
        fields("ptp.v2.sdr.origintimestamp.nanoseconds"),
    );
    let mut diffs: Vec<f64> = captured
        .iter()
        .zip(secs.iter().zip(&nanos))
        .filter_map(|(c, (s, n))| {
            let (cs, cf) = c.split_once('.')?;
            let capture_ns = cs.parse::<i128>().ok()? * 1_000_000_000
                + format!("{cf:0<9}")[..9].parse::<i128>().ok()?;
            let origin_ns = s.parse::<i128>().ok()? * 1_000_000_000 + n.parse::<i128>().ok()?;
            // Whole seconds apart would be a timescale (TAI − UTC), not an error.
            let d = (origin_ns - capture_ns).rem_euclid(1_000_000_000);
            Some(if d > 500_000_000 {
                d - 1_000_000_000
            } else {
                d
            } as f64)
        })
        .collect();
    let n = reported.len().min(diffs.len() / 8);
    let mut tail = diffs.split_off(diffs.len() - n * 8);
    tail.sort_by(f64::total_cmp);
    let mut rep = reported.to_vec();
    rep.sort_by(f64::total_cmp);
    let (wire, own) = (tail[tail.len() / 2], rep[rep.len() / 2]);
    eprintln!(
        "Delay_Req origin − capture: median {:.1} µs over {} requests; reported error median {:.2} µs",
        wire / 1e3,
        tail.len(),
        own / 1e3
    );
    assert!(
        (wire - own).abs() < 100e3 && wire <= own + 5e3,
        "the wire says {wire} ns, the report {own} ns"
    );
}

/// The client negotiated once from scratch and then only renewed: REQUESTs went to the wildcard
/// port only before it knew its server (a rebuilt client would forget it), and its Signaling
/// sequence ids never start over (a rebuilt client would begin again at 0).
fn check_one_negotiating_client(pcap: &Path) {
    // Not ICMP: an unreachable from a grandmaster not yet listening quotes the client's
    // REQUEST, and `ip.src` matches the quoted header too (a duplicate sequence id 0, once).
    let from_client = "ip.src == 192.0.2.2 && ptp.v2.messagetype == 0xc && !icmp";
    let targets = tshark_fields(pcap, None, from_client, "ptp.v2.sig.targetportidentity");
    // Until ptp4l takes the master role (~6 s) the first REQUESTs go unanswered and are retried
    // to the wildcard port; once the client knows the server, never again.
    let wildcard = |t: &String| t.trim_start_matches("0x").chars().all(|c| c == 'f');
    let known = targets
        .iter()
        .position(|t| !wildcard(t))
        .unwrap_or(targets.len());
    assert!(known >= 1, "{targets:?}");
    assert!(
        !targets[known..].iter().any(wildcard),
        "a REQUEST to the wildcard port after the server was known: {targets:?}"
    );
    let seqs: Vec<u32> = tshark_fields(pcap, None, from_client, "ptp.v2.sequenceid")
        .iter()
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    assert!(seqs.len() > 3, "{seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "Signaling sequence ids restart: {seqs:?}"
    );
}

#[test]
fn ptp4l_client_negotiates_with_the_atr_server_and_agrees_on_the_time() {
    if !available() {
        return;
    }
    let _turn = take_turn();
    let dir = Scratch::new("linuxptp-server");
    let ns = Namespaces::new('s');
    let d = dir.0.display();
    let server = dir.file(
        "server.cfg",
        "sysname Server\nptp-adaptive enable\nptp-adaptive device-type server\n\
         ptp-adaptive time profile\nptp-adaptive domain 45\nptp-adaptive local-ip 192.0.2.1\n\
         ptp-adaptive atr unicast-negotiate enable\n\
         interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.1 255.255.255.0\n\
         \x20ptp-adaptive atr enable\nreturn\n",
    );
    // free_running: ptp4l only measures. summary_interval equal to the Sync interval makes it
    // log every offset it computes; logging_level 7 logs the grants.
    let client = dir.file(
        "client.cfg",
        &format!(
            "[global]\nlogging_level 7\ndomainNumber 45\nnetwork_transport UDPv4\n\
             time_stamping software\ndelay_mechanism E2E\nslaveOnly 1\nfree_running 1\n\
             unicast_req_duration 60\nlogSyncInterval -3\nlogMinDelayReqInterval -3\n\
             summary_interval -3\nuds_address {d}/client.sock\n\
             [unicast_master_table]\ntable_id 1\nlogQueryInterval 0\nUDPv4 192.0.2.1\n\
             [{}]\nunicast_master_table 1\n",
            ns.veth_b
        ),
    );
    let license = license(&dir);
    let control = dir.0.join("s.sock");
    let (mut capture, pcap) = capture_on(&dir, &ns.a, &ns.veth_a);
    let mut srv = start_in(
        &ns.a,
        env!("CARGO_BIN_EXE_meridiand"),
        &[
            "--config",
            server.to_str().unwrap(),
            "--license",
            license.to_str().unwrap(),
            "--control",
            control.to_str().unwrap(),
        ],
        &dir.0.join("meridiand.log"),
    );
    wait_for(&control);
    let log = dir.0.join("ptp4l.log");
    let mut ptp4l = start_in(
        &ns.b,
        "ptp4l",
        &["-f", client.to_str().unwrap(), "-m"],
        &log,
    );
    // ptp4l selects the server after its announce receipt timeout, then asks Sync and
    // Delay_Resp; it logs an offset every 2 s (its frequency estimator's window).
    std::thread::sleep(Duration::from_secs(70));
    let clients = shell(&control, "display ptp-adaptive all");
    // meridiand stops first: its CANCELs reach the live ptp4l.
    assert!(srv.terminate().success());
    std::thread::sleep(Duration::from_secs(1));
    ptp4l.terminate();
    let text = std::fs::read_to_string(&log).unwrap();
    for kind in ["ANNOUNCE", "SYNC", "DELAY_RESP"] {
        assert!(
            text.contains(&format!("unicast {kind} granted for 60 sec")),
            "ptp4l logged no {kind} grant:\n{text}"
        );
    }
    let offsets: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split("master offset").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(offsets.len() >= 15, "{} offsets:\n{text}", offsets.len());
    // Software timestamps on a busy two-core host now and then stamp a packet tens of µs
    // late; such outliers (over 20 µs from the median, at most one in ten) are left out of the
    // mean and counted.
    let mut sorted = offsets.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let kept: Vec<f64> = offsets
        .iter()
        .copied()
        .filter(|x| (x - median).abs() < 20e3)
        .collect();
    let outliers = offsets.len() - kept.len();
    let mean = kept.iter().sum::<f64>() / kept.len() as f64;
    let sd = (kept.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / kept.len() as f64).sqrt();
    eprintln!(
        "ptp4l client: {} offsets, mean {mean:.0} ns, sd {sd:.0} ns, {outliers} outliers left out",
        offsets.len()
    );
    assert!(outliers * 10 <= offsets.len(), "{offsets:?}");
    assert!(mean.abs() < 2e3, "mean offset {mean} ns: {offsets:?}");
    assert!(clients.contains("192.0.2.2"), "{clients}");
    capture.terminate();
    check_capture(&pcap);
}

/// Every packet of the run decodes without a malformed or error-level expert item, and the
/// negotiation is on the wire: REQUEST, GRANT and (at meridiand's shutdown) CANCEL TLVs, and
/// the two-way exchange.
fn check_capture(pcap: &Path) {
    let fields = |filter: &str, field: &str| tshark_fields(pcap, None, filter, field);
    assert_well_formed(pcap, None);
    let tlvs = fields("ptp.v2.messagetype == 0xc", "ptp.v2.sig.tlv.tlvType").join(",");
    for (tlv, name) in [("4", "REQUEST"), ("5", "GRANT"), ("6", "CANCEL")] {
        assert!(
            tlvs.split(',')
                .any(|t| t.trim() == tlv || t.trim() == format!("0x000{tlv}")),
            "no {name} TLV captured: {tlvs}"
        );
    }
    let types = fields("ptp", "ptp.v2.messagetype");
    for (t, name) in [
        ("0x00", "Sync"),
        ("0x01", "Delay_Req"),
        ("0x09", "Delay_Resp"),
        ("0x0b", "Announce"),
    ] {
        let n = types
            .iter()
            .filter(|x| x.as_str() == t || x.as_str() == &t[3..])
            .count();
        assert!(n > 10, "{n} {name} messages captured");
    }
    eprintln!("tshark: {} PTP frames, none malformed", types.len());
}
