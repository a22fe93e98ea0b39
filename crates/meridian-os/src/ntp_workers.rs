//! The NTP server's fast path: worker threads that answer client requests in batches
//! (recvmmsg/sendmmsg, kernel timestamps per message, replies written into buffers allocated
//! once), while associations, the discipline and the clock stay on the time thread.
//!
//! Each served address is a `SO_REUSEPORT` group: the time thread's socket first (index 0),
//! then one receiving socket per worker. A classic BPF program steers each datagram by its
//! source address to worker `1 + source mod N`, so one client always reaches the same worker
//! and the per-worker rate-limiting and interleave tables are exact. The receiving sockets
//! take no transmit timestamps (a queued copy and a read per reply cost ~15 % of a worker):
//! each worker also has a socket, last in the group and never chosen by the program, that
//! sends the interleaved replies, whose kernel transmit timestamps a client will ask for. What a worker receives that is not
//! a client request (a server's reply to our association, a symmetric peer) goes to the time
//! thread through a bounded queue, with its kernel timestamp.

use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use meridian_proto::engine::{Now, TxToken};
use meridian_proto::ntp_service::config::NtpConfig;
use meridian_proto::ntp_service::{
    NtpDrops, NtpNode, REPLY_MAX, Served, ServerCounters, ServerShard, is_request, stamp_transmit,
};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrIn, recvmmsg, sendmmsg,
    setsockopt, sockopt,
};
use tracing::{info, warn};

use crate::clock::{ClockReader, monotonic};
use crate::socket::{KernelTime, TX_BATCH, TimestampedSocket};

/// Datagrams read or sent per system call.
const BATCH: usize = 64;
/// The longest datagram read whole (longer ones are truncated and dropped as malformed).
const DATAGRAM_MAX: usize = 2048;
/// Datagrams waiting for the time thread at most: a flood of non-requests cannot grow memory.
const FORWARD_MAX: usize = 4096;
/// Replies remembered while their transmit timestamps are outstanding.
const PENDING_MAX: usize = 4096;
/// How often a worker hands its counters over and looks at `stop`.
const TICK_MS: u16 = 100;

/// A datagram a worker received that the time thread must handle.
#[derive(Debug)]
pub struct Forwarded {
    /// The sender.
    pub from: SocketAddrV4,
    /// The address it was sent to.
    pub to: SocketAddrV4,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The kernel's receive timestamp.
    pub timestamp: Option<KernelTime>,
}

/// What the time thread gives the workers: the configuration, what replies say, the clock.
#[derive(Clone, Debug)]
struct Published {
    config: Arc<NtpConfig>,
    served: Served,
    clock: ClockReader,
}

/// State shared between the time thread and the workers.
#[derive(Debug)]
struct Shared {
    generation: AtomicU64,
    published: Mutex<Arc<Published>>,
    counts: Mutex<(NtpDrops, ServerCounters)>,
    forwarded: Mutex<VecDeque<Forwarded>>,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A worker that panicked cannot leave these half-updated: plain values and queues.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running workers of one set of served addresses.
#[derive(Debug)]
pub struct Workers {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    wake: UnixDatagram,
    /// The groups served: address (with the daemon's port) and VRF device.
    pub groups: Vec<(SocketAddrV4, Option<String>)>,
    last: Published,
}

/// The reuseport steering program: socket `1 + source address mod workers`.
fn steer_by_source(socket: &TimestampedSocket, workers: u32) -> io::Result<()> {
    let op = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let mut program = [
        op(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            (libc::SKF_NET_OFF + 12) as u32,
        ),
        op(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, workers),
        op(libc::BPF_ALU | libc::BPF_ADD | libc::BPF_K, 1),
        op(libc::BPF_RET | libc::BPF_A, 0),
    ];
    let fprog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    setsockopt(socket.udp(), sockopt::AttachReusePortCbpf, &fprog).map_err(io::Error::from)
}

impl Workers {
    /// Starts `n` workers on `groups`, whose time-thread sockets are already bound as
    /// `SO_REUSEPORT` group members.
    pub fn start(
        n: usize,
        groups: Vec<(SocketAddrV4, Option<String>)>,
        ntp: &NtpNode,
        clock: ClockReader,
    ) -> io::Result<Self> {
        let last = Published {
            config: Arc::new(ntp.config().clone()),
            served: ntp.served(),
            clock,
        };
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            published: Mutex::new(Arc::new(last.clone())),
            counts: Mutex::new(Default::default()),
            forwarded: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
        });
        let (wake, waker) = UnixDatagram::pair()?;
        wake.set_nonblocking(true)?;
        waker.set_nonblocking(true)?;
        let mut per_worker: Vec<Vec<Pair>> = (0..n).map(|_| Vec::new()).collect();
        for (addr, device) in &groups {
            // Receivers first (indices 1..=n), then the interleaved senders.
            let receivers = (0..n)
                .map(|_| TimestampedSocket::bind_shared_receive_only(*addr, device.as_deref()))
                .collect::<io::Result<Vec<_>>>()?;
            if let Some(first) = receivers.first() {
                steer_by_source(first, n as u32)?;
            }
            for (rx, sockets) in receivers.into_iter().zip(&mut per_worker) {
                let stamped = TimestampedSocket::bind_shared(*addr, device.as_deref(), None)?;
                sockets.push(Pair { rx, stamped });
            }
        }
        let mut threads = Vec::new();
        for (k, sockets) in per_worker.into_iter().enumerate() {
            let (shared, waker) = (Arc::clone(&shared), waker.try_clone()?);
            let t = std::thread::Builder::new()
                .name(format!("ntp-server-{k}"))
                .spawn(move || Worker::new(shared, sockets, waker).run())?;
            threads.push(t);
        }
        info!(
            "NTP server: {n} worker thread(s) on {}",
            groups
                .iter()
                .map(|(a, _)| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(Self {
            shared,
            threads,
            wake,
            groups,
            last,
        })
    }

    /// What the time thread polls: readable when datagrams were forwarded.
    #[must_use]
    pub fn wake_fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }

    /// Hands the workers the engine's configuration, what it serves and the clock, if any
    /// changed.
    pub fn publish(&mut self, ntp: &NtpNode, clock: ClockReader) {
        let served = ntp.served();
        // An always-current reference time moves with every reply: not a change.
        let same_served = served == self.last.served
            || (served.always_current
                && Served {
                    reftime: self.last.served.reftime,
                    ..served
                } == self.last.served);
        let same_config = *ntp.config() == *self.last.config;
        if same_served && clock == self.last.clock && same_config {
            return;
        }
        if !same_config {
            self.last.config = Arc::new(ntp.config().clone());
        }
        self.last.served = served;
        self.last.clock = clock;
        *lock(&self.shared.published) = Arc::new(self.last.clone());
        self.shared.generation.fetch_add(1, Ordering::Release);
    }

    /// The datagrams forwarded since the last call.
    pub fn forwarded(&self) -> VecDeque<Forwarded> {
        let mut buf = [0u8; 64];
        while self.wake.recv(&mut buf).is_ok() {}
        std::mem::take(&mut *lock(&self.shared.forwarded))
    }

    /// The workers' counts since the last call.
    pub fn take_counts(&self) -> (NtpDrops, ServerCounters) {
        std::mem::take(&mut *lock(&self.shared.counts))
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                warn!("an NTP server worker panicked");
            }
        }
    }
}

/// One reply of a batch, before it is sent.
#[derive(Clone, Copy)]
struct Out {
    to: SockaddrIn,
    len: usize,
    late: bool,
    token: Option<TxToken>,
}

/// A worker's sockets in one group.
struct Pair {
    /// Receives (the steering program's choice) and sends basic replies.
    rx: TimestampedSocket,
    /// Sends interleaved replies, with kernel transmit timestamps.
    stamped: TimestampedSocket,
}

/// A worker: its sockets (a pair per group), its shard of the server, its buffers.
struct Worker {
    shared: Arc<Shared>,
    sockets: Vec<Pair>,
    waker: UnixDatagram,
    shard: ServerShard,
    generation: u64,
    clock: ClockReader,
    rx: Vec<u8>,
    tx: Vec<[u8; REPLY_MAX]>,
    rx_headers: MultiHeaders<SockaddrIn>,
    tx_headers: MultiHeaders<SockaddrIn>,
    /// Per socket: (packet id, token) of replies whose transmit time an interleaved client
    /// will ask for.
    pending: Vec<VecDeque<(u32, TxToken)>>,
}

impl Worker {
    fn new(shared: Arc<Shared>, sockets: Vec<Pair>, waker: UnixDatagram) -> Self {
        let p = Arc::clone(&lock(&shared.published));
        let pending = sockets.iter().map(|_| VecDeque::new()).collect();
        Self {
            generation: shared.generation.load(Ordering::Acquire),
            shard: ServerShard::new(Arc::clone(&p.config), p.served),
            clock: p.clock,
            shared,
            sockets,
            waker,
            rx: vec![0; BATCH * DATAGRAM_MAX],
            tx: vec![[0; REPLY_MAX]; BATCH],
            rx_headers: MultiHeaders::preallocate(
                BATCH,
                Some(nix::cmsg_space!(nix::sys::socket::Timestamps)),
            ),
            tx_headers: MultiHeaders::preallocate(BATCH, None),
            pending,
        }
    }

    fn run(mut self) {
        let mut next_tick = monotonic();
        while !self.shared.stop.load(Ordering::Relaxed) {
            let ready: Vec<bool> = {
                let mut fds: Vec<PollFd<'_>> = self
                    .sockets
                    .iter()
                    .flat_map(|p| {
                        // The stamped socket is never chosen to receive: only its error
                        // queue (transmit timestamps) is of interest.
                        [
                            PollFd::new(p.rx.as_fd(), PollFlags::POLLIN),
                            PollFd::new(p.stamped.as_fd(), PollFlags::empty()),
                        ]
                    })
                    .collect();
                if let Err(e) = poll(&mut fds, PollTimeout::from(TICK_MS))
                    && e != nix::errno::Errno::EINTR
                {
                    warn!("NTP server worker: poll: {e}");
                    return;
                }
                fds.chunks(2)
                    .map(|f| f.iter().any(|f| f.any().unwrap_or(false)))
                    .collect::<Vec<_>>()
            };
            self.refresh();
            for (k, r) in ready.into_iter().enumerate() {
                if r {
                    self.drain_tx(k);
                    // A bounded number of batches per wake-up: `stop` and new publications
                    // are looked at between them.
                    for _ in 0..16 {
                        if self.batch(k) < BATCH {
                            break;
                        }
                    }
                }
            }
            let now = monotonic();
            if now >= next_tick {
                next_tick = now.after(meridian_proto::time::Duration::from_millis(TICK_MS.into()));
                let mut c = lock(&self.shared.counts);
                c.0.absorb(&std::mem::take(&mut self.shard.drops));
                c.1.absorb(&std::mem::take(&mut self.shard.counters));
            }
        }
        let mut c = lock(&self.shared.counts);
        c.0.absorb(&self.shard.drops);
        c.1.absorb(&self.shard.counters);
    }

    /// Takes up what the time thread published last, if it changed.
    fn refresh(&mut self) {
        let g = self.shared.generation.load(Ordering::Acquire);
        if g == self.generation {
            return;
        }
        self.generation = g;
        let p = Arc::clone(&lock(&self.shared.published));
        self.shard.set_config(Arc::clone(&p.config));
        self.shard.set_served(p.served);
        self.clock = p.clock;
    }

    /// Reads one batch from socket `k`, answers it, sends the answers; returns how many
    /// datagrams were read.
    fn batch(&mut self, k: usize) -> usize {
        let fd = self.sockets[k].rx.udp().as_raw_fd();
        let local = self.sockets[k].rx.local();
        let mut meta = [(
            0usize,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            None,
            false,
        ); BATCH];
        let n = {
            let mut chunks = self.rx.chunks_exact_mut(DATAGRAM_MAX);
            let mut slices: [[IoSliceMut<'_>; 1]; BATCH] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or_default())]);
            let Ok(results) = recvmmsg(
                fd,
                &mut self.rx_headers,
                slices.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            ) else {
                return 0;
            };
            let mut n = 0;
            for (m, r) in meta.iter_mut().zip(results) {
                let mut ts = None;
                if let Ok(cmsgs) = r.cmsgs() {
                    for c in cmsgs {
                        if let ControlMessageOwned::ScmTimestampsns(t) = c {
                            ts = Some(KernelTime::Software(t.system));
                        }
                    }
                }
                let from = r
                    .address
                    .map_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0), |a| {
                        SocketAddrV4::new(a.ip(), a.port())
                    });
                *m = (r.bytes, from, ts, r.flags.contains(MsgFlags::MSG_TRUNC));
                n += 1;
            }
            n
        };
        if n == 0 {
            return 0;
        }
        let now = Now {
            instant: monotonic(),
            clock: self.clock.now(),
        };
        let mut outs = [None::<Out>; BATCH];
        let mut m = 0;
        for (i, &(len, from, ts, truncated)) in meta[..n].iter().enumerate() {
            let bytes = &self.rx[i * DATAGRAM_MAX..i * DATAGRAM_MAX + len.min(DATAGRAM_MAX)];
            if truncated {
                self.shard.drops.malformed += 1;
                continue;
            }
            if !is_request(bytes) {
                let d = Forwarded {
                    from,
                    to: local,
                    bytes: bytes.to_vec(),
                    timestamp: ts,
                };
                forward(&self.shared, &self.waker, &mut self.shard.drops, d);
                continue;
            }
            let rx = match ts {
                Some(KernelTime::Software(t)) => self.clock.reading_at(t),
                _ => self.clock.now(),
            };
            if let Some(r) = self
                .shard
                .answer(now, from, local, bytes, rx, &mut self.tx[m])
            {
                outs[m] = Some(Out {
                    to: SockaddrIn::from(from),
                    len: r.len,
                    late: r.late_transmit,
                    token: r.token,
                });
                m += 1;
            }
        }
        if m > 0 {
            self.send(k, &outs[..m]);
        }
        n
    }

    /// Sends a batch's replies: the basic ones from the receiving socket, the interleaved
    /// ones from the stamped one.
    fn send(&mut self, k: usize, outs: &[Option<Out>]) {
        let t = self.clock.now();
        for (buf, o) in self.tx.iter_mut().zip(outs.iter().flatten()) {
            if o.late {
                stamp_transmit(&mut buf[..o.len], t);
            }
        }
        for stamped in [false, true] {
            let mut chosen = [None::<Out>; BATCH];
            let mut bufs = [0usize; BATCH];
            let mut m = 0;
            for (i, o) in outs.iter().enumerate() {
                if let Some(o) = o
                    && o.token.is_some() == stamped
                {
                    chosen[m] = Some(*o);
                    bufs[m] = i;
                    m += 1;
                }
            }
            if m > 0 {
                self.send_from(k, stamped, &chosen[..m], &bufs[..m]);
            }
        }
    }

    /// Sends replies `outs`, held in buffers `bufs`, from socket pair `k`'s stamped socket or
    /// its receiving one.
    fn send_from(&mut self, k: usize, stamped: bool, outs: &[Option<Out>], bufs: &[usize]) {
        let addrs: [Option<SockaddrIn>; BATCH] =
            std::array::from_fn(|i| outs.get(i).copied().flatten().map(|o| o.to));
        let slices: [[IoSlice<'_>; 1]; BATCH] = std::array::from_fn(|i| {
            let len = outs.get(i).copied().flatten().map_or(0, |o| o.len);
            let b = bufs.get(i).copied().unwrap_or(0);
            [IoSlice::new(&self.tx[b][..len])]
        });
        let pair = &mut self.sockets[k];
        let socket = if stamped {
            &mut pair.stamped
        } else {
            &mut pair.rx
        };
        let fd = socket.udp().as_raw_fd();
        let mut done = 0;
        while done < outs.len() {
            let cmsgs: [ControlMessage<'_>; 0] = [];
            let sent = match sendmmsg(
                fd,
                &mut self.tx_headers,
                slices[done..outs.len()].iter(),
                &addrs[done..outs.len()],
                cmsgs,
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(r) => r.count(),
                Err(_) => 0,
            };
            if sent == 0 {
                // The socket's buffer is full: the rest of the batch is lost, as a reply the
                // network dropped would be.
                break;
            }
            let first = socket.count_sent(sent as u32);
            for (j, o) in outs[done..done + sent].iter().flatten().enumerate() {
                if let Some(token) = o.token {
                    let p = &mut self.pending[k];
                    if p.len() >= PENDING_MAX {
                        p.pop_front();
                    }
                    p.push_back((first.wrapping_add(j as u32), token));
                }
            }
            done += sent;
        }
    }

    /// Reads socket `k`'s transmit timestamps; those of interleaved replies go to the shard.
    fn drain_tx(&mut self, k: usize) {
        loop {
            let mut found = [None::<(u32, KernelTime)>; TX_BATCH];
            let Ok(n) = self.sockets[k].stamped.recv_tx_timestamps(&mut found) else {
                return;
            };
            for (id, ts) in found[..n].iter().flatten() {
                let p = &mut self.pending[k];
                // Ids come in order: anything older than this one will not come any more.
                while p
                    .front()
                    .is_some_and(|(i, _)| i.wrapping_sub(*id) > u32::MAX / 2)
                {
                    p.pop_front();
                }
                if p.front().is_some_and(|(i, _)| i == id)
                    && let Some((_, token)) = p.pop_front()
                    && let KernelTime::Software(t) = ts
                {
                    self.shard.transmitted(token, self.clock.reading_at(*t));
                }
            }
            if n < TX_BATCH {
                return;
            }
        }
    }
}

/// Hands a datagram that is not a client request to the time thread.
fn forward(shared: &Shared, waker: &UnixDatagram, drops: &mut NtpDrops, d: Forwarded) {
    let was_empty = {
        let mut q = lock(&shared.forwarded);
        if q.len() >= FORWARD_MAX {
            drops.overload += 1;
            return;
        }
        q.push_back(d);
        q.len() == 1
    };
    if was_empty {
        // Full or not, the time thread will look: a lost wake-up byte is harmless.
        let _ = waker.send(&[1]);
    }
}
