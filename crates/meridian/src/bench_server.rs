//! Server capacity on real sockets: meridiand's NTP server against chronyd's, in the same run,
//! each a process pinned to its own core, under a batched load generator (recvmmsg/sendmmsg
//! over many client sockets from many loopback addresses) pinned to another. The generator
//! is first measured against a reflector that answers without doing anything, so its own
//! ceiling is known: a server figure well below it is the server's. Reads the wall clock:
//! binaries only.
#![allow(clippy::disallowed_methods)]

use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrIn, recvmmsg, sendmmsg};

/// Datagrams per system call, both ways.
const BATCH: usize = 64;

/// What to measure.
pub(crate) struct NtpBench {
    /// Measured seconds per round (after one of warm-up).
    pub seconds: u64,
    /// Client sockets of the generator.
    pub sockets: usize,
    /// Requests in flight per socket.
    pub window: usize,
    /// meridiand's server workers.
    pub workers: usize,
    /// Rounds (servers alternate within each).
    pub rounds: usize,
    /// The CPU the generator runs on; servers get the others.
    pub load_cpu: usize,
}

/// One measurement.
#[derive(Clone, Copy, Debug)]
struct Load {
    replies_per_s: f64,
    answered: f64,
    /// CPU the generator used, share of one core.
    generator_cpu: f64,
    /// CPU the server used, in cores (its process, every thread).
    server_cpu: Option<f64>,
    /// The kernel's share of the server's CPU time (system calls, the network stack).
    server_kernel_share: Option<f64>,
}

/// Pins the calling thread to `cpu`.
pub(crate) fn pin(cpu: usize) -> Result<(), String> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).map_err(|e| e.to_string())?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|e| e.to_string())
}

/// Nanoseconds on CPU of every thread of process `pid` (`/proc/PID/task/*/schedstat`).
pub(crate) fn process_cpu_ns(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// User and kernel CPU time of process `pid` so far, in clock ticks (`/proc/PID/stat`).
pub(crate) fn process_user_system_ticks(pid: u32) -> Option<(u64, u64)> {
    user_system_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A share (0–1) as a whole percentage.
pub(crate) fn percent(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

/// The kernel's share of the CPU time a process used between two readings of
/// [`process_user_system_ticks`].
pub(crate) fn kernel_share(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> Option<f64> {
    let ((u0, s0), (u1, s1)) = before.zip(after)?;
    let (u, s) = (u1.saturating_sub(u0), s1.saturating_sub(s0));
    (u + s > 0).then(|| s as f64 / (u + s) as f64)
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line; the command name before
/// them may hold spaces and parentheses, so fields are counted from the last `)`.
fn user_system_ticks(stat: &str) -> Option<(u64, u64)> {
    let mut fields = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .skip(11);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}

/// Nanoseconds on CPU of the calling thread.
pub(crate) fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A server process, killed on drop.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The CPUs servers may use: every one but the generator's (`taskset` list).
pub(crate) fn server_cpus(load_cpu: usize) -> String {
    let n = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let others: Vec<String> = (0..n.max(2))
        .filter(|c| *c != load_cpu)
        .map(|c| c.to_string())
        .collect();
    others.join(",")
}

/// `program` pinned to `cpus`, its output (both streams) to `log`.
pub(crate) fn spawn(cpus: &str, program: &[&str], log: &Path) -> Result<Server, String> {
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let child = Command::new("taskset")
        .args(["-c", cpus])
        .args(program)
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("taskset {}: {e}", program.join(" ")))?;
    Ok(Server(child))
}

/// Waits (bounded) until `target` answers a request.
fn wait_answering(target: SocketAddrV4) -> Result<(), String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    let mut request = [0u8; 48];
    request[0] = 0x23;
    let mut buf = [0u8; 128];
    for _ in 0..100 {
        let _ = s.send_to(&request, target);
        if s.recv_from(&mut buf).is_ok() {
            return Ok(());
        }
    }
    Err(format!("{target} did not answer within 10 s"))
}

/// Answers every request as fast as it can, doing nothing else: the generator's ceiling.
fn reflector(socket: UdpSocket, cpu: usize, stop: Arc<AtomicBool>) {
    let _ = pin(cpu);
    let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
    let fd = socket.as_raw_fd();
    let mut rx: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(BATCH, None);
    let mut tx: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(BATCH, None);
    let mut bufs = [[0u8; 64]; BATCH];
    while !stop.load(Ordering::Relaxed) {
        let mut from = [None::<SockaddrIn>; BATCH];
        let mut lens = [0usize; BATCH];
        let n = {
            let mut it = bufs.iter_mut();
            let mut slices: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
                [IoSliceMut::new(
                    it.next().map_or(&mut [][..], |b| &mut b[..]),
                )]
            });
            // Blocking for the first datagram (up to the read timeout), then whatever waits.
            let Ok(r) = recvmmsg(
                fd,
                &mut rx,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            ) else {
                continue;
            };
            let mut n = 0;
            for (k, m) in r.enumerate() {
                from[k] = m.address;
                lens[k] = m.bytes;
                n += 1;
            }
            n
        };
        for b in &mut bufs[..n] {
            b[0] = (b[0] & !7) | 4;
            b[1] = 1;
        }
        let slices: [[IoSlice<'_>; 1]; BATCH] =
            std::array::from_fn(|k| [IoSlice::new(&bufs[k][..lens[k].min(64)])]);
        let cmsgs: [ControlMessage<'_>; 0] = [];
        let _ = sendmmsg(
            fd,
            &mut tx,
            slices[..n].iter(),
            &from[..n],
            cmsgs,
            MsgFlags::empty(),
        );
    }
}

/// Loads `target` for a second of warm-up and `seconds` measured, from `sockets` sockets with
/// `window` requests in flight each; `server` is the process whose CPU is counted.
fn load(
    target: SocketAddrV4,
    seconds: u64,
    sockets: usize,
    window: usize,
    server: Option<u32>,
) -> Result<Load, String> {
    let window = window.min(BATCH);
    // Clients from many addresses, as a server's real clients are (and as its steering by
    // source address needs to spread them).
    let socks: Vec<UdpSocket> = (0..sockets)
        .map(|i| {
            let s = UdpSocket::bind((Ipv4Addr::new(127, 0, 1, 1 + (i % 250) as u8), 0))?;
            s.set_nonblocking(true)?;
            s.connect(target)?;
            Ok(s)
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e: std::io::Error| e.to_string())?;
    let mut rx: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(BATCH, None);
    let mut tx: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(BATCH, None);
    let mut bufs = [[0u8; 128]; BATCH];
    let mut requests = [[0u8; 48]; BATCH];
    for r in &mut requests {
        r[0] = 0x23;
    }
    let mut outstanding = vec![0usize; sockets];
    let mut heard = vec![false; sockets];
    let (mut sent, mut replies, mut counter) = (0u64, 0u64, 0u64);
    let warm = Instant::now() + Duration::from_secs(1);
    let end = warm + Duration::from_secs(seconds);
    let mut next_check = Instant::now();
    let (mut started, mut cpu0, mut server0, mut ticks0) = (None, 0, 0, None);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if started.is_none() && now >= warm {
            started = Some(now);
            (sent, replies) = (0, 0);
            cpu0 = thread_cpu_ns();
            server0 = server.map_or(0, process_cpu_ns);
            ticks0 = server.and_then(process_user_system_ticks);
        }
        for ((s, n), h) in socks.iter().zip(&mut outstanding).zip(&mut heard) {
            let fd = s.as_raw_fd();
            let got = if *n == 0 {
                0
            } else {
                let mut it = bufs.iter_mut();
                let mut slices: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
                    [IoSliceMut::new(
                        it.next().map_or(&mut [][..], |b| &mut b[..]),
                    )]
                });
                recvmmsg(
                    fd,
                    &mut rx,
                    slices[..*n].iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_or(0, Iterator::count)
            };
            for b in &bufs[..got] {
                // A mode-4 reply from a synchronized server, not a kiss.
                if b[0] & 7 == 4 && b[1] != 0 {
                    replies += 1;
                }
            }
            if got > 0 {
                *h = true;
            }
            *n = n.saturating_sub(got);
            let want = window - *n;
            if want > 0 {
                for r in &mut requests[..want] {
                    counter += 1;
                    r[40..48].copy_from_slice(&counter.to_be_bytes());
                }
                let slices: [[IoSlice<'_>; 1]; BATCH] =
                    std::array::from_fn(|k| [IoSlice::new(&requests[k])]);
                let to = [None::<SockaddrIn>; BATCH];
                let cmsgs: [ControlMessage<'_>; 0] = [];
                let k = sendmmsg(
                    fd,
                    &mut tx,
                    slices[..want].iter(),
                    &to[..want],
                    cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                )
                .map_or(0, Iterator::count);
                *n += k;
                sent += k as u64;
            }
        }
        // Requests lost (or dropped by a full socket) must not shrink a window for good: a
        // socket that heard nothing for 100 ms starts its window over.
        if now >= next_check {
            next_check = now + Duration::from_millis(100);
            for (n, h) in outstanding.iter_mut().zip(&mut heard) {
                if !*h {
                    *n = 0;
                }
                *h = false;
            }
        }
    }
    let started = started.ok_or("no measured interval")?;
    let elapsed = started.elapsed().as_secs_f64();
    let ns = elapsed * 1e9;
    Ok(Load {
        replies_per_s: replies as f64 / elapsed,
        answered: replies as f64 / sent.max(1) as f64,
        generator_cpu: thread_cpu_ns().saturating_sub(cpu0) as f64 / ns,
        // A server that died meanwhile reads 0: no wrap-around.
        server_cpu: server.map(|p| process_cpu_ns(p).saturating_sub(server0) as f64 / ns),
        server_kernel_share: kernel_share(ticks0, server.and_then(process_user_system_ticks)),
    })
}

fn describe(who: &str, l: &Load) {
    let cpu = l
        .server_cpu
        .map(|c| format!("; server CPU {:.0} % of a core", c * 100.0))
        .unwrap_or_default();
    let kernel = l
        .server_kernel_share
        .map(|k| format!(", {} of it the kernel's", percent(k)))
        .unwrap_or_default();
    println!(
        "  {who:<24} {:>9.0} replies/s ({:.1} % answered{cpu}{kernel}; generator {:.0} %)",
        l.replies_per_s,
        100.0 * l.answered,
        100.0 * l.generator_cpu
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// meridiand, next to this binary.
pub(crate) fn meridiand() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let d = exe.with_file_name("meridiand");
    if d.exists() {
        Ok(d)
    } else {
        Err(format!("{}: not found (build both binaries)", d.display()))
    }
}

/// The medians of the comparison, replies per second.
pub(crate) struct NtpFigures {
    pub(crate) meridiand: f64,
    /// `None` where chronyd is not installed.
    pub(crate) chronyd: Option<f64>,
    /// What the generator reaches against a server that does nothing: no ratio above
    /// `ceiling / chronyd` can show.
    pub(crate) ceiling: f64,
    /// The kernel's share of meridiand's CPU time (median over the rounds).
    pub(crate) kernel_share: Option<f64>,
}

/// Runs the comparison and prints it.
pub(crate) fn ntp(o: &NtpBench) -> Result<NtpFigures, String> {
    let dir = std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = run(o, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(o: &NtpBench, dir: &Path) -> Result<NtpFigures, String> {
    pin(o.load_cpu)?;
    let cpus = server_cpus(o.load_cpu);
    let s = |p: &Path| p.to_string_lossy().into_owned();
    println!(
        "NTP server capacity on loopback: generator on CPU {}, servers on CPU {cpus}; {} sockets × {} in flight, {} s per run",
        o.load_cpu, o.sockets, o.window, o.seconds
    );
    // The generator's ceiling.
    let refl_addr = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 7), 11192);
    let stop = Arc::new(AtomicBool::new(false));
    let refl = {
        let socket = UdpSocket::bind(refl_addr).map_err(|e| e.to_string())?;
        let (stop, cpu) = (Arc::clone(&stop), (o.load_cpu + 1) % 2);
        std::thread::spawn(move || reflector(socket, cpu, stop))
    };
    let ceiling = load(refl_addr, o.seconds, o.sockets, o.window, None);
    stop.store(true, Ordering::Relaxed);
    let _ = refl.join();
    let ceiling = ceiling?;
    describe("reflector (no work)", &ceiling);

    let cfg = dir.join("server.cfg");
    std::fs::write(
        &cfg,
        "sysname Bench\nntp-service refclock-master 1\n\
         ntp-service server source-interface LoopBack1\ninterface LoopBack1\n\
         \x20ip address 127.0.0.9 255.255.255.255\nreturn\n",
    )
    .map_err(|e| e.to_string())?;
    let conf = dir.join("chrony.conf");
    std::fs::write(
        &conf,
        format!(
            "port 11191\nbindaddress 127.0.0.8\nlocal stratum 1\nallow\ncmdport 0\n\
             pidfile {}/chronyd.pid\n",
            dir.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let have_chronyd = Command::new("chronyd")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    let workers = o.workers.to_string();
    let (mut ours, mut theirs, mut kernel) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=o.rounds {
        println!("round {round}");
        let md = meridiand()?;
        let server = spawn(
            &cpus,
            &[
                &s(&md),
                "--config",
                &s(&cfg),
                "--ntp-port",
                "11190",
                "--ntp-workers",
                &workers,
            ],
            &dir.join("meridiand.log"),
        )?;
        let target = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), 11190);
        wait_answering(target)?;
        let l = load(target, o.seconds, o.sockets, o.window, Some(server.0.id()))?;
        describe(&format!("meridiand ({} workers)", o.workers), &l);
        ours.push(l.replies_per_s);
        kernel.extend(l.server_kernel_share);
        drop(server);
        if have_chronyd {
            // Without the right to adjust any clock, never touching it (-x).
            let server = spawn(
                &cpus,
                &[
                    "setpriv",
                    "--bounding-set",
                    "-sys_time",
                    "--inh-caps",
                    "-sys_time",
                    "--",
                    "chronyd",
                    "-x",
                    "-d",
                    "-u",
                    "root",
                    "-f",
                    &s(&conf),
                ],
                &dir.join("chronyd.log"),
            )?;
            let target = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 8), 11191);
            wait_answering(target)?;
            // setpriv execs chronyd: the same process.
            let l = load(target, o.seconds, o.sockets, o.window, Some(server.0.id()))?;
            describe("chronyd", &l);
            theirs.push(l.replies_per_s);
        }
    }
    let (m, c) = (median(ours), median(theirs));
    println!(
        "median: meridiand {m:.0} replies/s{}; generator ceiling {:.0} ({:.1}× meridiand)",
        if have_chronyd {
            format!(", chronyd {c:.0}: meridiand / chronyd = {:.2}", m / c)
        } else {
            " (chronyd not installed: no comparison)".into()
        },
        ceiling.replies_per_s,
        ceiling.replies_per_s / m
    );
    Ok(NtpFigures {
        meridiand: m,
        chronyd: have_chronyd.then_some(c),
        ceiling: ceiling.replies_per_s,
        kernel_share: (!kernel.is_empty()).then(|| median(kernel)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_read_after_the_command_name() {
        // A command name with a space and a parenthesis (a thread may be called anything).
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 \
                    177 3021 0 0 20 0 3 0 123456 1000000 500 18446744073709551615";
        assert_eq!(user_system_ticks(stat), Some((177, 3021)));
        assert_eq!(user_system_ticks("4242 (cut) S 1 2"), None);
        assert_eq!(user_system_ticks("no parenthesis"), None);
        assert_eq!(kernel_share(Some((10, 20)), Some((13, 47))), Some(0.9));
        assert_eq!(kernel_share(Some((10, 20)), Some((10, 20))), None);
        assert_eq!(kernel_share(None, Some((10, 20))), None);
        // This process's own line parses.
        assert!(process_user_system_ticks(std::process::id()).is_some());
    }
}
