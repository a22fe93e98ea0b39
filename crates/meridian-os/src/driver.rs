//! The daemon's loop: sockets, clock and control socket around a device's engines.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use meridian_proto::engine::{Datagram, Engine, Input, Instant, Now, Output, TxToken};
use meridian_proto::time::{Duration, Timestamp};
use meridian_vrp::config::Config;
use meridian_vrp::device::{DeviceEngine, node_config, ntp_config};
use meridian_vrp::session::{Session, View};
use nix::poll::{PollFd, PollFlags, ppoll};

use meridian_proto::event::Event;
use meridian_proto::ntp_service::Reference;
use meridian_proto::ntp_service::discipline::DisciplineState;
use tracing::{debug, info, warn};

use crate::clock::{Clock, monotonic};
use crate::control_plane::{ControlPlane, Request};
use crate::hwts;
use crate::metrics::{self, MetricsServer};
use crate::ntp_workers::Workers;

mod control;
mod outputs;
use crate::socket::TimestampedSocket;
use crate::socket::{KernelTime, Received, TX_BATCH};
#[cfg(test)]
use control::save;

/// The standard ports the engines use; the daemon may bind others.
const NTP: u16 = 123;
const PTP_EVENT: u16 = 319;
const PTP_GENERAL: u16 = 320;

/// Datagrams read from one socket before the loop moves on.
const RX_ROUND: usize = 256;

/// How long to wait for a kernel transmit timestamp before using the clock reading at send.
const TX_TIMESTAMP_WAIT: Duration = Duration::from_millis(20);

/// Daemon options.
#[derive(Clone, Debug)]
pub struct Options {
    /// The configuration file.
    pub config_path: PathBuf,
    /// The control socket.
    pub control: Option<PathBuf>,
    /// The control socket's permission bits (0600 unless set: owner only).
    pub control_mode: u32,
    /// The control socket's group (e.g. an operators' group, with mode 0660).
    pub control_group: Option<String>,
    /// Local NTP port.
    pub ntp_port: u16,
    /// Local PTP event and general ports (peers are assumed to use the same).
    pub ptp_ports: (u16, u16),
    /// A license file to activate before loading (licenses live on the device, not in its
    /// configuration).
    pub license: Option<PathBuf>,
    /// Append a JSON line with the clock's offset from CLOCK_REALTIME every second (tests).
    pub report: Option<PathBuf>,
    /// Serve Prometheus metrics on this loopback address.
    pub metrics: Option<std::net::SocketAddr>,
    /// Threads answering NTP client requests in batches (0: the time thread answers them).
    pub ntp_workers: usize,
}

/// A packet waiting for its transmit timestamp.
struct PendingTx {
    token: TxToken,
    sent: Timestamp,
    deadline: Instant,
}

/// The running daemon.
pub struct Daemon<C: Clock> {
    opts: Options,
    /// The device's own session: the running configuration every control session starts from,
    /// and the license files it can read.
    session: Session,
    /// Control sessions by id, each with its own view and candidate (like VTY lines), and the
    /// running configuration its edits started from.
    sessions: BTreeMap<u64, (Session, meridian_vrp::config::Config)>,
    engine: DeviceEngine,
    clock: C,
    sockets: BTreeMap<(Ipv4Addr, u16), TimestampedSocket>,
    /// The sockets bound as the first member of a `SO_REUSEPORT` group (served NTP addresses
    /// while there are workers).
    shared_sockets: std::collections::BTreeSet<(Ipv4Addr, u16)>,
    /// The NTP server's workers, if any.
    workers: Option<Workers>,
    pending: BTreeMap<((Ipv4Addr, u16), u32), PendingTx>,
    /// Per interface: the PHC its sockets take hardware timestamps from, if any.
    interfaces: BTreeMap<String, Option<u32>>,
    /// The PHCs in use, by index.
    phcs: BTreeMap<u32, hwts::Phc>,
    next_phc_compare: Option<Instant>,
    /// The control socket and the metrics port, served off the time path.
    plane: ControlPlane,
    /// Where the metrics are served, for the log.
    metrics_addr: Option<std::net::SocketAddr>,
    /// Whether a missing TX timestamp was already logged.
    warned_tx: bool,
    /// Whether a datagram without a kernel receive timestamp was already logged.
    warned_rx: bool,
    /// Receive buffers, kept between wake-ups (taken while a batch is handled).
    rx_buffers: Option<crate::socket::RxBuffers>,
    /// Packets the engine asked for, not yet sent ([`Daemon::flush`] sends them).
    outbox: Vec<outputs::Outgoing>,
    /// Datagram system calls and datagrams, for the metrics.
    io: metrics::IoCounts,
    /// Failed sends and sends without a socket: a peer can cause them at packet rate.
    send_warnings: crate::log_limit::LogLimit,
}

/// Logs one of the engines' events as an operator wants to read it.
fn log_event(e: &Event) {
    match *e {
        Event::NtpFrequencyMeasured(f) => debug!(
            samples = f.samples,
            steered = f.steered,
            "NTP frequency measurement: {:.3} ± {:.3} ppm, phase {:.1} µs",
            f.frequency_ppb / 1e3,
            f.within_ppb / 1e3,
            f.phase * 1e6
        ),
        Event::NtpDiscipline {
            state,
            frequency_ppb,
        } => {
            let ppm = frequency_ppb / 1e3;
            match state {
                DisciplineState::Fset => info!("NTP clock set; measuring its frequency"),
                DisciplineState::Sync => info!(
                    frequency_ppm = ppm,
                    "NTP clock tracking, frequency correction {ppm:.3} ppm"
                ),
                DisciplineState::Spik => warn!("NTP offset beyond the step threshold; waiting"),
                DisciplineState::Nset => {}
            }
        }
        Event::NtpReference {
            synchronized,
            reference,
            stratum,
        } => match reference {
            Reference::Peer(a) if synchronized => {
                info!(peer = %a, stratum, "NTP synchronized to {a}");
            }
            Reference::Local(_) => info!(stratum, "NTP serving its local clock"),
            Reference::Ptp => info!(stratum, "NTP serving the clock PTP drives"),
            _ => warn!("NTP unsynchronized"),
        },
        Event::PtpTracking {
            server: Some((_, a)),
        } => info!(server = %a, "PTP tracking {a}"),
        Event::PtpTracking { server: None } => warn!("PTP: no usable server"),
        Event::PtpServo(state) => info!(?state, "PTP servo {state:?}"),
        Event::PtpNegotiation { addr, state, .. } => {
            debug!(server = %addr, ?state, "PTP negotiation with {addr}: {state:?}");
        }
        Event::PtpGrant {
            server,
            kind,
            change,
        } => debug!(server = server + 1, ?kind, ?change, "PTP grant"),
        Event::PtpRefused { count } => {
            info!(count, "PTP: requests refused, no free client slot");
        }
        Event::ClockSource(s) => info!(source = %s, "the clock follows {s}"),
    }
}

/// The sockets the configuration needs, each with the VRF device it must be bound to: the PTP
/// ports to `ptp-adaptive vpn-instance`, an NTP source address to the `vpn-instance` of the
/// associations sending from it (an address belongs to one VRF, so the first named wins).
fn binds(c: &Config) -> BTreeMap<(Ipv4Addr, u16), Option<String>> {
    let mut out: BTreeMap<(Ipv4Addr, u16), Option<String>> = BTreeMap::new();
    if let Some(n) = ntp_config(c) {
        out.insert((n.source, NTP), None);
        for a in &n.serve_on {
            out.entry((*a, NTP)).or_default();
        }
        for a in &n.associations {
            let device = out.entry((a.source.unwrap_or(n.source), NTP)).or_default();
            if device.is_none() {
                device.clone_from(&a.vpn_instance);
            }
        }
    }
    if c.ptp.enable
        && let Some(ip) = c
            .ptp
            .local_ip
            .or_else(|| meridian_vrp::device::addresses(c).first().copied())
    {
        out.insert((ip, PTP_EVENT), c.ptp.vpn_instance.clone());
        out.insert((ip, PTP_GENERAL), c.ptp.vpn_instance.clone());
    }
    out
}

impl<C: Clock> Daemon<C> {
    /// Loads the configuration and opens everything.
    pub fn new(opts: Options, clock: C) -> Result<Self, String> {
        let text = std::fs::read_to_string(&opts.config_path)
            .map_err(|e| format!("{}: {e}", opts.config_path.display()))?;
        let license = match &opts.license {
            Some(p) => {
                let name = p.file_name().map_or_else(
                    || "license.txt".into(),
                    |n| n.to_string_lossy().into_owned(),
                );
                Some((
                    name,
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?,
                ))
            }
            None => None,
        };
        let session = Session::load_licensed(
            &text,
            license.as_ref().map(|(n, c)| (n.as_str(), c.as_str())),
        )
        .map_err(|(line, msg)| format!("{}:{line}:\n{msg}", opts.config_path.display()))?;
        let engine = DeviceEngine::new(&node_config(&session.running), monotonic(), seed());
        let control = match &opts.control {
            Some(p) => {
                // Replace a stale socket of an earlier run, nothing else: a mistyped path must
                // not delete a file.
                match std::fs::symlink_metadata(p) {
                    Ok(m) if m.file_type().is_socket() => {
                        let _ = std::fs::remove_file(p);
                    }
                    Ok(_) => {
                        return Err(format!(
                            "{}: exists and is not a socket; not replacing it",
                            p.display()
                        ));
                    }
                    Err(_) => {}
                }
                let l = UnixListener::bind(p).map_err(|e| format!("{}: {e}", p.display()))?;
                if let Some(g) = &opts.control_group {
                    let group = nix::unistd::Group::from_name(g)
                        .map_err(|e| format!("--control-group {g}: {e}"))?
                        .ok_or_else(|| format!("--control-group {g}: no such group"))?;
                    nix::unistd::chown(p, None, Some(group.gid))
                        .map_err(|e| format!("{}: group {g}: {e}", p.display()))?;
                }
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(opts.control_mode))
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                Some(l)
            }
            None => None,
        };
        let metrics = opts.metrics.map(MetricsServer::bind).transpose()?;
        let metrics_addr = metrics.as_ref().and_then(|m| m.local_addr().ok());
        let plane = ControlPlane::start(control, metrics.map(MetricsServer::into_listener))
            .map_err(|e| format!("control plane: {e}"))?;
        let mut d = Self {
            opts,
            session,
            sessions: BTreeMap::new(),
            engine,
            clock,
            sockets: BTreeMap::new(),
            shared_sockets: std::collections::BTreeSet::new(),
            workers: None,
            pending: BTreeMap::new(),
            interfaces: BTreeMap::new(),
            phcs: BTreeMap::new(),
            next_phc_compare: None,
            plane,
            metrics_addr,
            warned_tx: false,
            warned_rx: false,
            rx_buffers: None,
            outbox: Vec::new(),
            io: metrics::IoCounts::default(),
            send_warnings: crate::log_limit::LogLimit::default(),
        };
        d.open_sockets()?;
        Ok(d)
    }

    fn local_port(&self, std: u16) -> u16 {
        match std {
            NTP => self.opts.ntp_port,
            PTP_EVENT => self.opts.ptp_ports.0,
            PTP_GENERAL => self.opts.ptp_ports.1,
            p => p,
        }
    }

    fn peer_port(&self, local: u16) -> u16 {
        // NTP peers keep their own port (a server answers the port it was asked from); PTP
        // peers are assumed to use the same remapped ports as this daemon.
        if local == self.opts.ptp_ports.0 {
            PTP_EVENT
        } else if local == self.opts.ptp_ports.1 {
            PTP_GENERAL
        } else {
            local
        }
    }

    fn open_sockets(&mut self) -> Result<(), String> {
        let want = binds(&self.session.running);
        let mut served: std::collections::BTreeSet<(Ipv4Addr, u16)> = if self.opts.ntp_workers > 0 {
            ntp_config(&self.session.running)
                .map(|n| n.serve_on.iter().map(|a| (*a, NTP)).collect())
                .unwrap_or_default()
        } else {
            Default::default()
        };
        // The workers stamp in software: an address with hardware timestamps is served by the
        // time thread, with them.
        served.retain(|(ip, _)| self.hardware_for(*ip).is_none());
        // A socket stays if still wanted on the same VRF and in the same kind of group; one
        // moved to another is reopened.
        let before = self.sockets.len();
        self.sockets.retain(|k, s| {
            want.get(k).is_some_and(|d| *d == s.device)
                && served.contains(k) == self.shared_sockets.contains(k)
        });
        let mut regroup = self.sockets.len() != before;
        self.shared_sockets.retain(|k| self.sockets.contains_key(k));
        for ((ip, std), device) in want {
            if self.sockets.contains_key(&(ip, std)) {
                continue;
            }
            let port = self.local_port(std);
            let phc = self.hardware_for(ip);
            let local = SocketAddrV4::new(ip, port);
            let shared = served.contains(&(ip, std));
            let s = if shared {
                regroup = true;
                TimestampedSocket::bind_shared(local, device.as_deref(), phc)
            } else {
                TimestampedSocket::bind(local, device.as_deref(), phc)
            }
            .map_err(|e| format!("bind {ip}:{port}: {e}"))?;
            if shared {
                self.shared_sockets.insert((ip, std));
            }
            if !s.timestamping {
                warn!("{ip}:{port}: kernel timestamps unavailable; using clock readings");
            }
            let vrf = device.map(|d| format!(" in VRF {d}")).unwrap_or_default();
            match s.phc {
                Some(n) => {
                    info!("listening on {ip}:{port}{vrf}, hardware timestamps (/dev/ptp{n})");
                }
                None => info!("listening on {ip}:{port}{vrf}, software timestamps"),
            }
            self.sockets.insert((ip, std), s);
        }
        let groups: Vec<(SocketAddrV4, Option<String>)> = served
            .iter()
            .filter_map(|k| {
                let s = self.sockets.get(k)?;
                Some((s.local(), s.device.clone()))
            })
            .collect();
        if regroup || self.workers.as_ref().map(|w| &w.groups) != Some(&groups) {
            // The workers' sockets join after the time thread's (index 0 of each group).
            self.workers = None;
            if let Some(ntp) = self.engine.ntp.as_ref()
                && !groups.is_empty()
            {
                match Workers::start(self.opts.ntp_workers, groups, ntp, self.clock.reader()) {
                    Ok(w) => self.workers = Some(w),
                    Err(e) => warn!("NTP server workers: {e}; the time thread answers alone"),
                }
            }
        }
        Ok(())
    }

    /// The PHC to take hardware timestamps from for sockets on `ip`, if its interface offers
    /// them and accepts being switched to them; decided (and logged) once per interface.
    fn hardware_for(&mut self, ip: Ipv4Addr) -> Option<u32> {
        let interface = hwts::interface_of(ip)?;
        if let Some(&known) = self.interfaces.get(&interface) {
            return known;
        }
        let phc = match self.switch_to_hardware(&interface) {
            Ok(Some(n)) => {
                info!("{interface}: hardware timestamps against /dev/ptp{n}");
                Some(n)
            }
            Ok(None) => {
                info!("{interface}: no hardware timestamping for all packets; software timestamps");
                None
            }
            Err(e) => {
                warn!("{interface}: hardware timestamping unavailable ({e}); software timestamps");
                None
            }
        };
        self.interfaces.insert(interface, phc);
        phc
    }

    /// Switches `interface` to hardware timestamps if it offers them, with its PHC compared to
    /// the system clock once already: the PHC's index, or `None` if it offers none.
    fn switch_to_hardware(&mut self, interface: &str) -> io::Result<Option<u32>> {
        let Some(hw) = hwts::TsInfo::query(interface)?.hardware() else {
            return Ok(None);
        };
        hwts::enable(interface, hw)?;
        if let std::collections::btree_map::Entry::Vacant(slot) = self.phcs.entry(hw.phc) {
            let mut phc = hwts::Phc::open(hw.phc)?;
            phc.compare()?;
            slot.insert(phc);
        }
        Ok(Some(hw.phc))
    }

    /// A kernel timestamp on the clock's timescale; `None` for a hardware timestamp whose PHC
    /// has no comparison with the system clock yet.
    fn kernel_reading(&self, t: KernelTime, phc: Option<u32>) -> Option<Timestamp> {
        match t {
            KernelTime::Software(ts) => Some(self.clock.reading_at(ts)),
            KernelTime::Hardware(ts) => {
                let sys = self.phcs.get(&phc?)?.to_system(ts)?;
                Some(self.clock.reading_at(sys))
            }
        }
    }

    /// Compares every PHC in use with the system clock, once a second.
    fn compare_phcs(&mut self) {
        let now = monotonic();
        if self.phcs.is_empty() || self.next_phc_compare.is_some_and(|t| t > now) {
            return;
        }
        self.next_phc_compare = Some(now.after(Duration::SECOND));
        for (n, phc) in &mut self.phcs {
            if let Err(e) = phc.compare() {
                warn!("/dev/ptp{n}: comparison with the system clock failed: {e}");
            }
        }
    }

    fn now(&self) -> Now {
        Now {
            instant: monotonic(),
            clock: self.clock.now(),
        }
    }

    /// Runs until `stop` is set; then cancels live grants.
    pub fn run(&mut self, stop: &Arc<AtomicBool>) -> io::Result<()> {
        let mut last_report = monotonic();
        if let Some(a) = self.metrics_addr {
            info!("metrics on http://{a}/metrics");
        }
        self.engine.handle(self.now(), Input::Timeout);
        self.flush()?;
        while !stop.load(Ordering::Relaxed) {
            let now = monotonic();
            let wake = self
                .engine
                .poll_timeout()
                .into_iter()
                .chain(self.pending.values().map(|p| p.deadline))
                .min();
            let wait = wake
                .map_or(Duration::from_millis(200), |w| {
                    w.duration_since(now).max(Duration::ZERO)
                })
                .min(Duration::from_millis(200));
            // To the microsecond (ppoll): rounding down to milliseconds turned every
            // sub-millisecond timer into a busy loop (10× ptp4l's CPU per packet), rounding up
            // made a 128-per-second Sync up to a millisecond late.
            let us = wait.as_nanos_floor().clamp(0, 200_000_000) / 1_000;
            let timeout = nix::sys::time::TimeSpec::new(us / 1_000_000, (us % 1_000_000) * 1_000);
            // The sockets with datagrams (POLLIN) or transmit timestamps (POLLERR) waiting:
            // only those are read, not every socket on every wake-up.
            let (mut readable, mut stamped) = (Vec::new(), Vec::new());
            {
                let mut fds: Vec<PollFd<'_>> = self
                    .sockets
                    .values()
                    .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN | PollFlags::POLLERR))
                    .collect();
                fds.push(PollFd::new(self.plane.as_fd(), PollFlags::POLLIN));
                if let Some(w) = &self.workers {
                    fds.push(PollFd::new(w.wake_fd(), PollFlags::POLLIN));
                }
                match ppoll(&mut fds, Some(timeout), None) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
                for (key, fd) in self.sockets.keys().zip(&fds) {
                    let events = fd.revents().unwrap_or(PollFlags::empty());
                    if events.contains(PollFlags::POLLIN) {
                        readable.push(*key);
                    }
                    if events.contains(PollFlags::POLLERR) {
                        stamped.push(*key);
                    }
                }
            }
            // Transmit timestamps first: a reply on a fast path can be in the same wake-up as
            // its request's timestamp, and must not be matched with the estimate taken at send.
            self.compare_phcs();
            for key in stamped {
                self.read_tx_timestamps_of(key)?;
            }
            self.tx_fallbacks()?;
            self.receive(&readable)?;
            self.hear_workers()?;
            if self.engine.poll_timeout().is_some_and(|t| t <= monotonic()) {
                self.engine.handle(self.now(), Input::Timeout);
            }
            self.flush()?;
            self.serve_jobs()?;
            self.publish_to_workers();
            if let Some(path) = &self.opts.report
                && monotonic().duration_since(last_report) >= Duration::SECOND
            {
                last_report = monotonic();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                let offset = self.clock.offset_from_realtime().as_nanos_f64();
                match self.clock.rate_error_ppb() {
                    Some(rate) => writeln!(
                        f,
                        "{{\"offset_ns\": {offset:.1}, \"rate_error_ppb\": {rate:.3}}}"
                    )?,
                    None => writeln!(f, "{{\"offset_ns\": {offset:.1}}}")?,
                }
            }
        }
        info!("stopping: cancelling live grants");
        if let Some(p) = self.engine.ptp.as_mut() {
            p.shutdown();
        }
        self.engine.handle(self.now(), Input::Timeout);
        self.flush()
    }

    /// What the workers forwarded (datagrams for associations) goes to the engine; their
    /// counts join the engine's; they learn what changed.
    fn hear_workers(&mut self) -> io::Result<()> {
        let Some(w) = self.workers.as_mut() else {
            return Ok(());
        };
        let (forwarded, (drops, counters)) = (w.forwarded(), w.take_counts());
        if let Some(ntp) = self.engine.ntp.as_mut() {
            ntp.drops.absorb(&drops);
            ntp.server.absorb(&counters);
        }
        for f in forwarded {
            let rx = f
                .timestamp
                .and_then(|t| self.kernel_reading(t, None))
                .unwrap_or_else(|| self.clock.now());
            let d = Datagram {
                from: f.from,
                to: SocketAddrV4::new(*f.to.ip(), NTP),
                bytes: &f.bytes,
                rx_timestamp: rx,
            };
            self.engine.handle(self.now(), Input::Datagram(d));
            self.flush()?;
        }
        self.publish_to_workers();
        Ok(())
    }

    /// Hands the workers the engine's configuration, what it serves and the clock, if changed.
    fn publish_to_workers(&mut self) {
        if let (Some(w), Some(ntp)) = (self.workers.as_mut(), self.engine.ntp.as_ref()) {
            w.publish(ntp, self.clock.reader());
        }
    }

    /// Reads the datagrams waiting on `ready` sockets, a batch per system call, and hands
    /// each to the engine.
    fn receive(&mut self, ready: &[(Ipv4Addr, u16)]) -> io::Result<()> {
        let mut bufs = self.rx_buffers.take().unwrap_or_default();
        let mut got = Vec::with_capacity(crate::socket::RX_BATCH);
        let result = (|| {
            for &key in ready {
                // A bounded number per socket and round: a flood on one socket must not starve
                // the others, the timers or the control socket.
                let mut left = RX_ROUND;
                while left > 0 {
                    let n = self.sockets[&key].recv_many(&mut bufs, &mut got)?;
                    self.io.receive_calls += 1;
                    self.io.received += n as u64;
                    for (i, r) in got.iter().enumerate() {
                        self.datagram(key, r, bufs.datagram(i, r))?;
                    }
                    // The batch's answers leave together.
                    self.flush()?;
                    if n < crate::socket::RX_BATCH {
                        break;
                    }
                    left = left.saturating_sub(n);
                }
            }
            Ok(())
        })();
        self.rx_buffers = Some(bufs);
        result
    }

    /// One datagram received on socket `key`, to the engine; what it answers waits in the
    /// outbox for the rest of the batch, unless a timer fell due meanwhile.
    fn datagram(&mut self, key: (Ipv4Addr, u16), r: &Received, bytes: &[u8]) -> io::Result<()> {
        let phc = self.sockets[&key].phc;
        let rx = match r.timestamp.and_then(|t| self.kernel_reading(t, phc)) {
            Some(t) => t,
            None => {
                if !self.warned_rx {
                    self.warned_rx = true;
                    warn!(
                        "{}:{}: a datagram came without a kernel receive timestamp; \
                         using the clock reading now",
                        key.0, key.1
                    );
                }
                self.clock.now()
            }
        };
        let from = SocketAddrV4::new(*r.from.ip(), self.peer_port(r.from.port()));
        let to = SocketAddrV4::new(key.0, key.1);
        let d = Datagram {
            from,
            to,
            bytes,
            rx_timestamp: rx,
        };
        self.engine.handle(self.now(), Input::Datagram(d));
        self.drain()?;
        // A long batch must not hold back a timer (a Sync due now).
        if self.engine.poll_timeout().is_some_and(|t| t <= monotonic()) {
            self.engine.handle(self.now(), Input::Timeout);
            self.flush()?;
        }
        Ok(())
    }
}

/// A seed for the engines' random choices (back-off jitter, and the random NTP transmit
/// timestamps that defeat off-path spoofing): from the kernel's generator; the time and PID
/// (a few guessable bits) only if that cannot be read.
fn seed() -> u64 {
    use std::io::Read;
    let mut b = [0u8; 8];
    match std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b)) {
        Ok(()) => u64::from_le_bytes(b),
        Err(e) => {
            warn!("/dev/urandom: {e}; seeding from the clock and PID");
            let t = crate::clock::realtime().ticks() as u64;
            t ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_keeps_the_mode_and_leaves_nothing_behind_on_failure() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("meridian-save-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.cfg");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        save(&path, "sysname new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "sysname new\n");
        assert_eq!(
            std::fs::metadata(&path).unwrap().mode() & 0o777,
            0o600,
            "a key file stays 0600"
        );
        assert!(!dir.join("d.cfg.tmp").exists());
        // A save that cannot complete (the target is a directory) fails, cleans up, and leaves
        // what was there.
        let blocked = dir.join("blocked.cfg");
        std::fs::create_dir(&blocked).unwrap();
        std::fs::write(blocked.join("x"), "keep").unwrap();
        assert!(save(&blocked, "sysname new\n").is_err());
        assert!(!dir.join("blocked.cfg.tmp").exists());
        assert_eq!(std::fs::read_to_string(blocked.join("x")).unwrap(), "keep");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn binds_of(text: &str) -> BTreeMap<(Ipv4Addr, u16), Option<String>> {
        let license = include_str!("../../../examples/atr-time-profile/license.txt");
        let session = Session::load_licensed(text, Some(("license.txt", license)));
        binds(&session.expect("loads").running)
    }

    #[test]
    fn ntp_associations_bind_their_source_to_their_vpn_instance() {
        let b = binds_of(
            "sysname D\n\
             ntp-service unicast-server 198.51.100.1 source-interface GigabitEthernet0/1/1 vpn-instance blue iburst\n\
             ntp-service unicast-server 203.0.113.1\n\
             interface GigabitEthernet0/1/0\n undo shutdown\n ip address 192.0.2.2 255.255.255.0\n\
             interface GigabitEthernet0/1/1\n undo shutdown\n ip address 198.51.100.2 255.255.255.0\n\
             return\n",
        );
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            b.into_iter().collect::<Vec<_>>(),
            vec![
                ((ip("192.0.2.2"), NTP), None),
                ((ip("198.51.100.2"), NTP), Some("blue".to_string())),
            ]
        );
    }

    #[test]
    fn a_shut_interface_is_neither_served_nor_bound() {
        let config = |shut: &str| {
            format!(
                "sysname S\nntp-service refclock-master 2\n\
                 ntp-service server source-interface GigabitEthernet0/1/0\n\
                 ntp-service server source-interface LoopBack1\n\
                 interface GigabitEthernet0/1/0\n {shut}\n ip address 192.0.2.2 255.255.255.0\n\
                 interface LoopBack1\n ip address 198.51.100.7 255.255.255.255\nreturn\n"
            )
        };
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let up = binds_of(&config("undo shutdown"));
        assert!(up.contains_key(&(ip("192.0.2.2"), NTP)), "{up:?}");
        let shut = binds_of(&config("shutdown"));
        assert!(!shut.contains_key(&(ip("192.0.2.2"), NTP)), "{shut:?}");
        assert!(shut.contains_key(&(ip("198.51.100.7"), NTP)), "{shut:?}");
    }

    #[test]
    fn ptp_ports_bind_to_the_ptp_vpn_instance() {
        let b = binds_of(
            "sysname A\nptp-adaptive enable\nptp-adaptive local-ip 192.0.2.2\n\
             ptp-adaptive vpn-instance red\n\
             interface GigabitEthernet0/1/0\n ip address 192.0.2.2 255.255.255.0\nreturn\n",
        );
        let red = Some("red".to_string());
        let ip = Ipv4Addr::new(192, 0, 2, 2);
        assert_eq!(b.get(&(ip, PTP_EVENT)), Some(&red));
        assert_eq!(b.get(&(ip, PTP_GENERAL)), Some(&red));
    }
}
