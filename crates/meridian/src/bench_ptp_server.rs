//! `meridian bench ptp-server`: meridiand's 1588 unicast server under many clients on
//! loopback. Synthetic clients (one loopback address each, event and general sockets on the
//! daemon's ports) negotiate Announce, Sync and Delay_Resp at the asked rate, then send
//! Delay_Reqs at that rate; the bench counts what the server sends, how late its Syncs come
//! (a gap over the period + 1 ms), and the server's CPU per message. Reads the wall clock:
//! binaries only.
#![allow(clippy::disallowed_methods)]

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use meridian_proto::ptp::{
    Body, ClockIdentity, Flags, Header, LogInterval, Message, MessageType, PortIdentity,
    RequestTlv, SequenceId, Signaling, SignalingTlv,
};
use meridian_proto::time::PtpTimestamp;

const SERVER: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 20);
const DOMAIN: u8 = 44;

/// The server under load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Against {
    /// meridiand (on ports 11419/11420).
    Meridiand,
    /// linuxptp's ptp4l as a unicast server (`masterOnly`, `unicast_listen`) on `lo`, ports
    /// 319/320, software timestamps, without the right to adjust any clock.
    Ptp4l,
}

impl Against {
    fn ports(self) -> (u16, u16) {
        match self {
            Self::Meridiand => (11419, 11420),
            Self::Ptp4l => (319, 320),
        }
    }
}

/// What to measure.
pub(crate) struct PtpServerBench {
    /// Clients.
    pub clients: usize,
    /// Sync and Delay_Req rate, log2 s (−7: 128 per second).
    pub log_rate: i8,
    /// Measured seconds (after the negotiation).
    pub seconds: u64,
    /// The CPU the clients run on; the server gets the others.
    pub load_cpu: usize,
    /// The server.
    pub against: Against,
}

/// One synthetic client.
struct Client {
    event: UdpSocket,
    general: UdpSocket,
    port: PortIdentity,
    seq: SequenceId,
    granted: u32,
    /// When to ask again: half-way through the shortest grant held, as real clients renew (a
    /// new client's first grant lasts 10 s on a meridiand server; without renewing, its
    /// streams stopped there), or a second after a renewal that got no answer yet.
    renew_at: Option<Instant>,
    last_sync: Option<Duration>,
    syncs: u64,
    late: u64,
    max_gap: Duration,
    follow_ups: u64,
    delay_resps: u64,
}

fn address(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 10 + (k / 250) as u8, 1 + (k % 250) as u8)
}

fn header(port: PortIdentity, seq: SequenceId) -> Header {
    Header {
        flags: Flags::UNICAST,
        log_message_interval: LogInterval::UNSPECIFIED,
        ..Header::new(port, DOMAIN, seq)
    }
}

fn send(socket: &UdpSocket, to: u16, msg: &Message) {
    let _ = socket.send_to(&msg.to_vec(), SocketAddrV4::new(SERVER, to));
}

/// A client socket on `addr`:`port`, beside a server's wildcard socket on the same port
/// (ptp4l binds 0.0.0.0 with SO_REUSEADDR): datagrams to `addr` come here.
fn client_socket(addr: Ipv4Addr, port: u16) -> std::io::Result<UdpSocket> {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, bind, setsockopt, socket, sockopt,
    };
    use std::os::fd::AsRawFd;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(addr, port)),
    )?;
    Ok(UdpSocket::from(fd))
}

/// One datagram and its kernel receive time (CLOCK_REALTIME), if one is waiting.
fn recv_stamped(socket: &UdpSocket, buf: &mut [u8]) -> Option<(usize, Duration)> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrIn, recvmsg};
    use std::os::fd::AsRawFd;
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
    let msg = recvmsg::<SockaddrIn>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_DONTWAIT,
    )
    .ok()?;
    let at = msg.cmsgs().ok()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(t) => Some(Duration::new(
            t.tv_sec().max(0) as u64,
            t.tv_nsec().clamp(0, 999_999_999) as u32,
        )),
        _ => None,
    })?;
    Some((msg.bytes, at))
}

/// What one server run measured.
pub(crate) struct PtpFigures {
    /// Clients that got at least 90 % of the Syncs they asked for.
    pub(crate) served: usize,
    pub(crate) late_syncs: u64,
    /// The server's CPU per message it sent, µs.
    pub(crate) cpu_us_per_message: f64,
    /// The kernel's share of that CPU.
    pub(crate) kernel_share: Option<f64>,
}

/// Runs the bench and prints it.
pub(crate) fn run(o: &PtpServerBench) -> Result<PtpFigures, String> {
    let dir = std::env::temp_dir().join(format!("meridian-bench-ptp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let r = measure(o, &dir);
    if std::env::var_os("MERIDIAN_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    r
}

fn measure(o: &PtpServerBench, dir: &Path) -> Result<PtpFigures, String> {
    crate::bench_server::pin(o.load_cpu)?;
    let license = dir.join("license.txt");
    std::fs::write(
        &license,
        include_str!("../../../examples/atr-time-profile/license.txt"),
    )
    .map_err(|e| e.to_string())?;
    if o.against == Against::Ptp4l {
        return measure_ptp4l(o, dir);
    }
    let cfg = dir.join("server.cfg");
    std::fs::write(
        &cfg,
        format!(
            "sysname Bench\nptp-adaptive enable\nptp-adaptive time profile\n\
             ptp-adaptive domain {DOMAIN}\nptp-adaptive atr unicast-negotiate enable\n\
             ptp-adaptive device-type server\nptp-adaptive local-ip {SERVER}\n\
             interface LoopBack0\n ip address {SERVER} 255.255.255.255\nreturn\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let md = crate::bench_server::meridiand()?;
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let server = crate::bench_server::spawn(
        &crate::bench_server::server_cpus(o.load_cpu),
        &[
            &s(&md),
            "--config",
            &s(&cfg),
            "--license",
            &s(&license),
            "--ptp-ports",
            "11419,11420",
        ],
        &dir.join("meridiand.log"),
    )?;
    drive(o, server.0.id())
}

/// ptp4l as the server, pinned like meridiand, without clock rights.
fn measure_ptp4l(o: &PtpServerBench, dir: &Path) -> Result<PtpFigures, String> {
    let conf = dir.join("ptp4l.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]\ndomainNumber {DOMAIN}\nnetwork_transport UDPv4\ntime_stamping software\n\
             delay_mechanism E2E\ntwoStepFlag 1\nmasterOnly 1\nunicast_listen 1\n\
             inhibit_multicast_service 1\nhybrid_e2e 1\nfree_running 1\nclockClass 6\n\
             logSyncInterval {r}\nlogMinDelayReqInterval {r}\nuds_address {d}/ptp4l.sock\n\
             [lo]\n",
            r = o.log_rate,
            d = dir.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let server = crate::bench_server::spawn(
        &crate::bench_server::server_cpus(o.load_cpu),
        &[
            "setpriv",
            "--bounding-set",
            "-sys_time",
            "--inh-caps",
            "-sys_time",
            "--",
            "ptp4l",
            "-f",
            &s(&conf),
            "-m",
        ],
        &dir.join("ptp4l.log"),
    )?;
    // ptp4l serves once it has taken the master role (its announce receipt timeout, ~6 s).
    std::thread::sleep(Duration::from_secs(7));
    drive(o, server.0.id())
}

fn drive(o: &PtpServerBench, pid: u32) -> Result<PtpFigures, String> {
    let (event_port, general_port) = o.against.ports();
    std::thread::sleep(Duration::from_millis(500));
    let period = Duration::from_secs_f64(2f64.powi(o.log_rate.into()));
    let mut clients: Vec<Client> = (0..o.clients)
        .map(|k| {
            let a = address(k);
            let event = client_socket(a, event_port)?;
            // Sync arrivals are judged by the kernel's receive time, not by when this loop
            // got round to the socket.
            nix::sys::socket::setsockopt(
                &event,
                nix::sys::socket::sockopt::ReceiveTimestampns,
                &true,
            )
            .map_err(std::io::Error::from)?;
            let general = client_socket(a, general_port)?;
            event.set_nonblocking(true)?;
            general.set_nonblocking(true)?;
            let mut id = [0x4d, 0x42, 0, 0, 0, 0, 0, 0];
            id[4..8].copy_from_slice(&(k as u32).to_be_bytes());
            Ok(Client {
                event,
                general,
                port: PortIdentity {
                    clock_identity: ClockIdentity(id),
                    port_number: 1,
                },
                seq: SequenceId(0),
                granted: 0,
                renew_at: None,
                last_sync: None,
                syncs: 0,
                late: 0,
                max_gap: Duration::ZERO,
                follow_ups: 0,
                delay_resps: 0,
            })
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e: std::io::Error| format!("client sockets: {e}"))?;
    let request = |m: MessageType, log: i8| {
        SignalingTlv::Request(RequestTlv {
            message_type: m,
            log_period: LogInterval(log),
            duration: 300,
        })
    };
    let tlvs = vec![
        request(MessageType::Announce, 0),
        request(MessageType::Sync, o.log_rate),
        request(MessageType::DelayResp, o.log_rate),
    ];
    let mut buf = [0u8; 512];
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(3);
    let end = measure_from + Duration::from_secs(o.seconds);
    let (mut cpu0, mut gen0, mut ticks0, mut begun) = (0, 0, None, false);
    // Clients start over the first second (as clients of a real server do not all start in
    // the same millisecond), so their Syncs' phases spread over the period.
    let next_req: Vec<Instant> = (0..clients.len())
        .map(|k| start + Duration::from_secs_f64(k as f64 / clients.len().max(1) as f64))
        .collect();
    let mut next_req = next_req;
    while Instant::now() < end {
        let now = Instant::now();
        if !begun && now >= measure_from {
            begun = true;
            cpu0 = crate::bench_server::process_cpu_ns(pid);
            ticks0 = crate::bench_server::process_user_system_ticks(pid);
            gen0 = crate::bench_server::thread_cpu_ns();
            for c in &mut clients {
                (c.syncs, c.late, c.follow_ups, c.delay_resps) = (0, 0, 0, 0);
                c.max_gap = Duration::ZERO;
                c.last_sync = None;
            }
        }
        for (c, due) in clients.iter_mut().zip(&mut next_req) {
            while let Some((n, t)) = recv_stamped(&c.event, &mut buf) {
                if let Ok(m) = Message::parse(&buf[..n])
                    && matches!(m.body, Body::Sync { .. })
                {
                    if let Some(last) = c.last_sync {
                        let gap = t - last;
                        c.max_gap = c.max_gap.max(gap);
                        if gap > period + Duration::from_millis(1) {
                            c.late += 1;
                        }
                    }
                    c.last_sync = Some(t);
                    c.syncs += 1;
                }
            }
            while let Ok(n) = c.general.recv(&mut buf) {
                match Message::parse(&buf[..n]).map(|m| m.body) {
                    Ok(Body::FollowUp { .. }) => c.follow_ups += 1,
                    Ok(Body::DelayResp { .. }) => c.delay_resps += 1,
                    Ok(Body::Signaling(s)) => {
                        let mut shortest = None;
                        for t in s.tlvs {
                            if let SignalingTlv::Grant(g) = t
                                && g.duration > 0
                            {
                                c.granted += 1;
                                shortest =
                                    Some(shortest.map_or(g.duration, |s: u32| s.min(g.duration)));
                            }
                        }
                        if let Some(d) = shortest {
                            c.renew_at = Some(now + Duration::from_secs(u64::from(d)) / 2);
                        }
                    }
                    _ => {}
                }
            }
            let ask = |c: &mut Client| {
                let msg = Message {
                    header: header(c.port, c.seq),
                    body: Body::Signaling(Signaling {
                        target_port: PortIdentity::WILDCARD,
                        tlvs: tlvs.clone(),
                    }),
                };
                c.seq = c.seq.next();
                send(&c.general, general_port, &msg);
            };
            if c.renew_at.is_some_and(|r| now >= r) {
                c.renew_at = Some(now + Duration::from_secs(1));
                ask(c);
            }
            if now >= *due && c.granted < 3 && !begun {
                // Not (yet) granted: ask again, as a real client would, once a period later.
                *due += Duration::from_millis(500);
                ask(c);
            } else if now >= *due && c.granted >= 3 {
                *due += period;
                let msg = Message {
                    header: header(c.port, c.seq),
                    body: Body::DelayReq {
                        origin_timestamp: PtpTimestamp::ZERO,
                    },
                };
                c.seq = c.seq.next();
                send(&c.event, event_port, &msg);
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let secs = o.seconds as f64;
    // A server that died meanwhile (ptp4l faults under load) reads 0: no wrap-around.
    let cpu = crate::bench_server::process_cpu_ns(pid).saturating_sub(cpu0) as f64 / 1e9;
    let generator = crate::bench_server::thread_cpu_ns().saturating_sub(gen0) as f64 / 1e9;
    let kernel = crate::bench_server::kernel_share(
        ticks0,
        crate::bench_server::process_user_system_ticks(pid),
    );
    let served = clients.iter().filter(|c| c.granted >= 3).count();
    // Clients that got at least 90 % of the Syncs they asked for.
    let expected = secs / period.as_secs_f64();
    let full = clients
        .iter()
        .filter(|c| c.syncs as f64 >= 0.9 * expected)
        .count();
    let (syncs, fups, resps, late): (u64, u64, u64, u64) =
        clients.iter().fold((0, 0, 0, 0), |a, c| {
            (
                a.0 + c.syncs,
                a.1 + c.follow_ups,
                a.2 + c.delay_resps,
                a.3 + c.late,
            )
        });
    let max_gap = clients.iter().map(|c| c.max_gap).max().unwrap_or_default();
    let sent = syncs + fups + resps;
    println!(
        "{:?} PTP server, {} clients at 2^{} s ({:.0}/s each), {} s: {served} granted, {full} served at the rate asked; \
         {:.0} Sync, {:.0} Follow_Up, {:.0} Delay_Resp per second; {late} late Syncs \
         (gap > period + 1 ms), longest gap {:.2} ms; server CPU {:.1} % of a core{}, \
         {:.2} µs per message sent ({:.0} messages/s in and out); clients' CPU {:.0} %",
        o.against,
        o.clients,
        o.log_rate,
        1.0 / period.as_secs_f64(),
        o.seconds,
        syncs as f64 / secs,
        fups as f64 / secs,
        resps as f64 / secs,
        max_gap.as_secs_f64() * 1e3,
        100.0 * cpu / secs,
        kernel
            .map(|k| format!(" ({} of it the kernel's)", crate::bench_server::percent(k)))
            .unwrap_or_default(),
        cpu * 1e6 / sent.max(1) as f64,
        (sent + resps) as f64 / secs,
        100.0 * generator / secs
    );
    Ok(PtpFigures {
        served: full,
        late_syncs: late,
        cpu_us_per_message: cpu * 1e6 / sent.max(1) as f64,
        kernel_share: kernel,
    })
}
