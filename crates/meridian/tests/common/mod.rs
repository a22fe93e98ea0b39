//! Helpers for tests that run `meridiand` (and third-party peers) as real processes.
// Wall-clock deadlines bound every wait: these tests drive real processes, not the core.
#![allow(clippy::disallowed_methods, dead_code, unreachable_pub, unused_imports)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[path = "../../../meridian-sim/tests/common/mod.rs"]
mod peers;
pub mod probe;
pub use peers::tool_available;

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("meridiand-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("MERIDIAN_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A daemon we started; killed on drop if still running.
pub struct Daemon(pub Child);

impl Daemon {
    pub fn start(args: &[&str]) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_meridiand"))
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("start meridiand");
        Self(child)
    }

    /// Like [`Daemon::start`], with standard error (the log) written to `log`.
    pub fn start_logged(args: &[&str], log: &Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_meridiand"))
            .args(args)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start meridiand");
        Self(child)
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// Its resident set size, kB.
    pub fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then the exit status within 5 s.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "meridiand ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// An operator's commit of the sysname and of an ACL nothing uses, from user view back to it.
pub const UNRELATED_COMMIT: [&str; 7] = [
    "system-view",
    "sysname Renamed",
    "acl number 2500",
    "rule 5 deny source 198.51.100.0 0.0.0.255",
    "quit",
    "commit",
    "return",
];

/// One command through the control socket, as `meridian shell -c` runs it (a session of its
/// own: it starts in user view).
pub fn shell(control: &Path, line: &str) -> String {
    shell_lines(control, &[line])
}

/// Commands typed in order in one session (one connection), as `meridian shell -c L1 -c L2 …`
/// runs them; their output, concatenated.
pub fn shell_lines(control: &Path, lines: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meridian"));
    cmd.args(["shell", "--control"]).arg(control);
    for l in lines {
        cmd.args(["-c", l]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One number of every line of the daemon's `--report` so far.
fn report_values(report: &Path, key: &str) -> Vec<f64> {
    std::fs::read_to_string(report)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[key].as_f64())
        .collect()
}

/// The client's reported offsets from CLOCK_REALTIME so far, ns.
pub fn offsets(report: &Path) -> Vec<f64> {
    report_values(report, "offset_ns")
}

/// The virtual clock's rate errors against CLOCK_REALTIME so far, one a second, ppb: the
/// oscillator the test gave it and the discipline's correction together.
pub fn rate_errors(report: &Path) -> Vec<f64> {
    report_values(report, "rate_error_ppb")
}

/// Waits (bounded) until the last `n` reported offsets are all within `bound_ns`.
pub fn wait_settled(report: &Path, n: usize, bound_ns: f64, limit: Duration) -> Vec<f64> {
    let deadline = Instant::now() + limit;
    loop {
        let v = offsets(report);
        if v.len() >= n && v[v.len() - n..].iter().all(|x| x.abs() < bound_ns) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "not within {bound_ns} ns after {limit:?}: {:?}",
            v.iter().map(|x| (x / 1e3).round()).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A third-party daemon started without CAP_SYS_TIME in its bounding and inheritable sets
/// (`setpriv`, util-linux), so neither it nor anything it runs can step, slew or adjust any
/// clock; killed on drop.
pub fn start_peer(program: &str, args: &[&str], log: &Path) -> Daemon {
    let out = std::fs::File::create(log).unwrap();
    let child = Command::new("setpriv")
        .args([
            "--bounding-set",
            "-sys_time",
            "--inh-caps",
            "-sys_time",
            "--",
        ])
        .arg(program)
        .args(args)
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("start {program} under setpriv: {e}"));
    Daemon(child)
}

/// `program args` without clock rights (as [`start_peer`]) inside network namespace `ns`, its output to `log`.
pub fn start_in(ns: &str, program: &str, args: &[&str], log: &Path) -> Daemon {
    let mut all = vec!["netns", "exec", ns, program];
    all.extend_from_slice(args);
    start_peer("ip", &all, log)
}

/// tshark on `dev` inside namespace `ns` (BPF `filter` if any) writing `pcap`, given the two
/// seconds it needs before it captures.
pub fn capture_in(ns: &str, dev: &str, filter: Option<&str>, pcap: &Path, log: &Path) -> Daemon {
    let mut args = vec!["-q", "-i", dev];
    if let Some(f) = filter {
        args.extend(["-f", f]);
    }
    args.extend(["-w", pcap.to_str().unwrap()]);
    let tshark = start_in(ns, "tshark", &args, log);
    std::thread::sleep(Duration::from_secs(2));
    tshark
}

/// One field of the frames of `pcap` matching `filter`, a line per frame (`decode_as` like
/// `udp.port==11123,ntp` for a non-standard port).
pub fn tshark_fields(
    pcap: &Path,
    decode_as: Option<&str>,
    filter: &str,
    field: &str,
) -> Vec<String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    if let Some(d) = decode_as {
        cmd.args(["-d", d]);
    }
    let out = cmd
        .args(["-Y", filter, "-T", "fields", "-e", field])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Asserts that no frame of `pcap` is malformed or carries an error-level expert item.
pub fn assert_well_formed(pcap: &Path, decode_as: Option<&str>) {
    let bad = tshark_fields(
        pcap,
        decode_as,
        "_ws.malformed || _ws.expert.severity >= \"error\"",
        "frame.number",
    );
    assert!(bad.is_empty(), "malformed or erroneous frames: {bad:?}");
}

/// Two network namespaces joined by a veth pair: `a` holds 192.0.2.1, `b` 192.0.2.2; or
/// ([`Namespaces::switched`]) three, `c` holding 192.0.2.3, each joined by its own veth pair to
/// a bridge in a fourth. Removed on drop.
pub struct Namespaces {
    pub a: String,
    pub b: String,
    /// The veth ends inside `a` and `b`.
    pub veth_a: String,
    pub veth_b: String,
    /// The third host and its veth end, and the switch's namespace, when switched.
    pub c: Option<(String, String)>,
    switch: Option<String>,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Namespaces {
    /// `tag` (one letter) tells apart the tests of one process, which run in parallel.
    pub fn new(tag: char) -> Self {
        let id = std::process::id() % 100_000;
        let ns = Self {
            a: format!("mrdA{tag}{id}"),
            b: format!("mrdB{tag}{id}"),
            veth_a: format!("mva{tag}{id}"),
            veth_b: format!("mvb{tag}{id}"),
            c: None,
            switch: None,
        };
        let (va, vb) = (&ns.veth_a, &ns.veth_b);
        ip(&["netns", "add", &ns.a]);
        ip(&["netns", "add", &ns.b]);
        ip(&["link", "add", va, "type", "veth", "peer", "name", vb]);
        ip(&["link", "set", va, "netns", &ns.a]);
        ip(&["link", "set", vb, "netns", &ns.b]);
        for (n, v, addr) in [(&ns.a, va, "192.0.2.1/24"), (&ns.b, vb, "192.0.2.2/24")] {
            ip(&["-n", n, "addr", "add", addr, "dev", v]);
            ip(&["-n", n, "link", "set", v, "up"]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ns
    }
}

impl Namespaces {
    /// Three hosts on one switch: `a` (192.0.2.1), `b` (.2) and `c` (.3), each with a veth pair
    /// to a bridge in a namespace of its own, so that two clients meet one server over the same
    /// kind of path.
    pub fn switched(tag: char) -> Self {
        let id = std::process::id() % 100_000;
        let switch = format!("mrdS{tag}{id}");
        let ns = Self {
            a: format!("mrdA{tag}{id}"),
            b: format!("mrdB{tag}{id}"),
            veth_a: format!("mva{tag}{id}"),
            veth_b: format!("mvb{tag}{id}"),
            c: Some((format!("mrdC{tag}{id}"), format!("mvc{tag}{id}"))),
            switch: Some(switch.clone()),
        };
        ip(&["netns", "add", &switch]);
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &switch, "link", "set", "br0", "up"]);
        let (c, vc) = ns.c.clone().unwrap();
        for (i, (host, veth)) in [(&ns.a, &ns.veth_a), (&ns.b, &ns.veth_b), (&c, &vc)]
            .into_iter()
            .enumerate()
        {
            let port = format!("ms{}{tag}{id}", i + 1);
            ip(&["netns", "add", host]);
            ip(&["link", "add", veth, "type", "veth", "peer", "name", &port]);
            ip(&["link", "set", veth, "netns", host]);
            ip(&["link", "set", &port, "netns", &switch]);
            ip(&["-n", &switch, "link", "set", &port, "master", "br0"]);
            ip(&["-n", &switch, "link", "set", &port, "up"]);
            let addr = format!("192.0.2.{}/24", i + 1);
            ip(&["-n", host, "addr", "add", &addr, "dev", veth]);
            ip(&["-n", host, "link", "set", veth, "up"]);
            ip(&["-n", host, "link", "set", "lo", "up"]);
        }
        ns
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and with it the other end.
        let c = self.c.as_ref().map(|c| &c.0);
        for n in [Some(&self.a), Some(&self.b), c, self.switch.as_ref()]
            .into_iter()
            .flatten()
        {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// Whether `program args` runs and exits successfully.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether root (for network namespaces) and `ip` are at hand.
pub fn namespace_needs() -> [(&'static str, bool); 2] {
    [
        ("root", nix::unistd::geteuid().is_root()),
        ("ip", runs("ip", &["-V"])),
    ]
}

/// Whether `test` can run: every need present. Otherwise it skips with a visible message, or
/// fails under `MERIDIAN_REQUIRE_PEERS=1` (CI installs everything and sets it).
pub fn require(test: &str, needs: &[(&str, bool)]) -> bool {
    if needs.iter().all(|n| n.1) {
        return true;
    }
    let why: Vec<String> = needs.iter().map(|(n, ok)| format!("{n} {ok}")).collect();
    let why = why.join(", ");
    assert!(
        !std::env::var("MERIDIAN_REQUIRE_PEERS").is_ok_and(|v| v == "1"),
        "{test} is required (MERIDIAN_REQUIRE_PEERS=1) but cannot run: {why}"
    );
    eprintln!("SKIPPED: {test} needs {why}");
    false
}

/// Waits (bounded by `limit`) until `report` holds `n` one-a-second offsets; returns them.
pub fn wait_reports(report: &Path, n: usize, limit: Duration) -> Vec<f64> {
    let deadline = Instant::now() + limit;
    loop {
        let v = offsets(report);
        if v.len() >= n {
            return v;
        }
        assert!(Instant::now() < deadline, "{} reports of {n}", v.len());
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A clock started 5 ms off, as `label` saw it: prints its time error every 10 s and the worst
/// over 60–65 s, and checks that the 5 ms were there and that |TE| is under the issue's 50 µs
/// after 60 s.
pub fn check_te_after_60s(label: &str, v: &[f64]) {
    let us = |x: f64| (x / 100.0).round() / 10.0;
    eprintln!(
        "{label}, TE (µs) every 10 s: {:?}",
        v.iter().step_by(10).map(|&x| us(x)).collect::<Vec<_>>()
    );
    assert!(v[0] > 4e6, "the client did not start 5 ms off: {}", v[0]);
    let worst = v[60..65].iter().fold(0f64, |m, x| m.max(x.abs()));
    eprintln!("|TE| over 60–65 s: at most {:.1} µs", worst / 1e3);
    assert!(
        worst < 50e3,
        "|TE| {worst} ns after 60 s; µs: {:?}",
        v.iter().map(|&x| us(x)).collect::<Vec<_>>()
    );
}

/// One HTTP GET on loopback, the whole response.
pub fn scrape(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics port");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(c, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    c.read_to_string(&mut out).unwrap();
    out
}

/// The value of one sample line of a scrape.
pub fn metric(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{scrape}"))
}

/// chronyd on `conf`, in the foreground, never touching the host clock (`-x`), logging to `log`.
pub fn chronyd(conf: &Path, log: &Path) -> Daemon {
    let conf = conf.to_str().unwrap();
    start_peer("chronyd", &["-x", "-d", "-u", "root", "-f", conf], log)
}

/// meridiand on `cfg` as an NTP client whose virtual clock starts 5 ms ahead and 20 ppm fast,
/// with a control socket and a once-a-second report; `extra` arguments after those.
pub fn offset_client(
    cfg: &Path,
    ntp_port: &str,
    control: &Path,
    report: &Path,
    extra: &[&str],
) -> Daemon {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (cfg, control, report) = (s(cfg), s(control), s(report));
    let mut args = vec![
        "--config",
        &cfg,
        "--ntp-port",
        ntp_port,
        "--control",
        &control,
        "--virtual-offset-ms",
        "5",
        "--virtual-ppm",
        "20",
        "--report",
        &report,
    ];
    args.extend_from_slice(extra);
    Daemon::start(&args)
}

/// Waits until `ready()` holds, checking every 500 ms; panics naming `what` after `limit`.
pub fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}
