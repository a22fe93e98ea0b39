//! UDP sockets with kernel timestamps (SO_TIMESTAMPING): receive timestamps with every datagram,
//! transmit timestamps from the error queue matched to their packets by the kernel's per-socket
//! packet counter (SOF_TIMESTAMPING_OPT_ID). Where timestamping is unavailable the socket says
//! so and the driver falls back to reading the clock.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use nix::cmsg_space;
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, MultiHeaders, RecvMsg, SockaddrIn,
    TimestampingFlag, recvmmsg, recvmsg, sendmmsg, setsockopt, sockopt,
};
use nix::sys::time::TimeSpec;

/// A kernel timestamp and its timescale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelTime {
    /// CLOCK_REALTIME, taken in software.
    Software(TimeSpec),
    /// The NIC's PTP hardware clock, taken in hardware.
    Hardware(TimeSpec),
}

/// A datagram as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Bytes received (into the caller's buffer).
    pub len: usize,
    /// The sender.
    pub from: SocketAddrV4,
    /// The kernel's receive timestamp (hardware where enabled and given), if it gave one.
    pub timestamp: Option<KernelTime>,
}

/// A UDP socket bound to one address and port, with kernel timestamps.
#[derive(Debug)]
pub struct TimestampedSocket {
    socket: UdpSocket,
    local: SocketAddrV4,
    /// Whether SO_TIMESTAMPING is active.
    pub timestamping: bool,
    /// The PHC whose hardware timestamps the socket asked for, if any.
    pub phc: Option<u32>,
    /// The device (VRF) it is bound to, if any.
    pub device: Option<String>,
    /// The kernel's counter of packets sent (the OPT_ID of the next one).
    next_id: u32,
    tos: u8,
}

impl TimestampedSocket {
    /// Binds to `local`, optionally to a VRF or interface device, non-blocking, with software RX
    /// and TX timestamping, or hardware ones from `phc` (its interface already switched to
    /// hardware timestamping; software receive timestamps stay on for packets it misses).
    pub fn bind(local: SocketAddrV4, device: Option<&str>, phc: Option<u32>) -> io::Result<Self> {
        Self::open(UdpSocket::bind(local)?, local, device, phc, true)
    }

    /// Like [`TimestampedSocket::bind`], as a member of a `SO_REUSEPORT` group: every socket
    /// of the group binds the same address, and the kernel (or the group's steering program)
    /// hands each datagram to one of them.
    pub fn bind_shared(
        local: SocketAddrV4,
        device: Option<&str>,
        phc: Option<u32>,
    ) -> io::Result<Self> {
        Self::shared(local, device, phc, true)
    }

    /// Like [`TimestampedSocket::bind_shared`] with software receive timestamps only: no
    /// transmit timestamps are queued for what it sends (each costs the kernel a queued copy
    /// and the reader a system call).
    pub fn bind_shared_receive_only(local: SocketAddrV4, device: Option<&str>) -> io::Result<Self> {
        Self::shared(local, device, None, false)
    }

    fn shared(
        local: SocketAddrV4,
        device: Option<&str>,
        phc: Option<u32>,
        transmit_timestamps: bool,
    ) -> io::Result<Self> {
        use nix::sys::socket::{AddressFamily, SockFlag, SockType, bind, socket};
        let fd = socket(
            AddressFamily::Inet,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        setsockopt(&fd, sockopt::ReusePort, &true)?;
        bind(fd.as_raw_fd(), &SockaddrIn::from(local))?;
        Self::open(UdpSocket::from(fd), local, device, phc, transmit_timestamps)
    }

    fn open(
        socket: UdpSocket,
        local: SocketAddrV4,
        device: Option<&str>,
        phc: Option<u32>,
        transmit_timestamps: bool,
    ) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        if let Some(dev) = device {
            setsockopt(
                &socket,
                sockopt::BindToDevice,
                &std::ffi::OsString::from(dev),
            )
            .map_err(io::Error::from)?;
        }
        let mut flags = TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE
            | TimestampingFlag::SOF_TIMESTAMPING_RX_SOFTWARE;
        // One transmit timestamp per packet: the error queue would otherwise hold a software
        // and a hardware one under the same id.
        flags |= if !transmit_timestamps {
            TimestampingFlag::empty()
        } else if phc.is_some() {
            TimestampingFlag::SOF_TIMESTAMPING_RX_HARDWARE
                | TimestampingFlag::SOF_TIMESTAMPING_TX_HARDWARE
                | TimestampingFlag::SOF_TIMESTAMPING_RAW_HARDWARE
                | TimestampingFlag::SOF_TIMESTAMPING_OPT_ID
                | TimestampingFlag::SOF_TIMESTAMPING_OPT_TSONLY
        } else {
            TimestampingFlag::SOF_TIMESTAMPING_TX_SOFTWARE
                | TimestampingFlag::SOF_TIMESTAMPING_OPT_ID
                | TimestampingFlag::SOF_TIMESTAMPING_OPT_TSONLY
        };
        let timestamping = setsockopt(&socket, sockopt::Timestamping, &flags).is_ok();
        let local = match socket.local_addr()? {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => local,
        };
        Ok(Self {
            socket,
            local,
            timestamping,
            phc: phc.filter(|_| timestamping),
            device: device.map(str::to_string),
            next_id: 0,
            tos: 0,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// Sends `bytes` to `to` with DSCP `dscp`; returns the packet's id for its transmit
    /// timestamp.
    pub fn send(&mut self, to: SocketAddrV4, bytes: &[u8], dscp: u8) -> io::Result<u32> {
        self.set_dscp(dscp)?;
        self.socket.send_to(bytes, to)?;
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        Ok(id)
    }

    /// Receives one datagram, if one is waiting.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let mut iov = [IoSliceMut::new(buf)];
        let mut cmsg = cmsg_space!(nix::sys::socket::Timestamps);
        let msg = match recvmsg::<SockaddrIn>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(received(&msg, msg.bytes)))
    }

    /// Receives up to [`RX_BATCH`] waiting datagrams in one call (`recvmmsg`) into `bufs`:
    /// datagram `i` is `bufs.datagram(i, &got[i])`. Returns how many (0: none waiting); fewer
    /// than [`RX_BATCH`] means the socket is empty now. `got` is replaced.
    pub fn recv_many(&self, bufs: &mut RxBuffers, got: &mut Vec<Received>) -> io::Result<usize> {
        got.clear();
        // Headers per call, as for the error queue: they hold raw pointers.
        let mut headers: MultiHeaders<SockaddrIn> =
            MultiHeaders::preallocate(RX_BATCH, Some(cmsg_space!(nix::sys::socket::Timestamps)));
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = bufs
            .0
            .iter_mut()
            .map(|b| [IoSliceMut::new(&mut b[..])])
            .collect();
        let results = match recvmmsg(
            self.socket.as_raw_fd(),
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Ok(r) => r,
            Err(nix::errno::Errno::EAGAIN) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        // A datagram longer than the buffer is cut to it (and fails its parser).
        got.extend(results.map(|msg| received(&msg, msg.bytes.min(RX_BUFFER))));
        Ok(got.len())
    }

    /// Reads one transmit timestamp from the error queue: (packet id, time), if one is waiting.
    pub fn recv_tx_timestamp(&self) -> io::Result<Option<(u32, KernelTime)>> {
        let mut buf = [0u8; 64];
        let mut iov = [IoSliceMut::new(&mut buf)];
        let mut cmsg = cmsg_space!(nix::sys::socket::Timestamps, libc_sock_extended_err);
        let msg = match recvmsg::<SockaddrIn>(
            self.socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(msg.cmsgs().ok().and_then(tx_stamp))
    }
}

/// Transmit timestamps read from the error queue in one call at most.
pub const TX_BATCH: usize = 64;

/// Datagrams received in one call at most.
pub const RX_BATCH: usize = 32;

/// Room for one datagram: more than any PTP or NTP message the engines take.
pub const RX_BUFFER: usize = 2048;

/// The caller's buffers for [`TimestampedSocket::recv_many`], reused from call to call.
pub struct RxBuffers(Box<[[u8; RX_BUFFER]; RX_BATCH]>);

impl Default for RxBuffers {
    fn default() -> Self {
        Self(Box::new([[0; RX_BUFFER]; RX_BATCH]))
    }
}

impl std::fmt::Debug for RxBuffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RxBuffers({RX_BATCH} × {RX_BUFFER} bytes)")
    }
}

impl RxBuffers {
    /// The bytes of the `i`-th datagram of the last [`TimestampedSocket::recv_many`].
    #[must_use]
    pub fn datagram(&self, i: usize, r: &Received) -> &[u8] {
        &self.0[i][..r.len]
    }
}

impl TimestampedSocket {
    /// Reads up to [`TX_BATCH`] transmit timestamps from the error queue in one call
    /// (`recvmmsg`), in the kernel's order, into `found` (`None` for an entry without a
    /// timestamp or id); returns how many entries were read: fewer than [`TX_BATCH`] means the
    /// queue is empty now. A server sending a burst of Syncs reads their timestamps in one
    /// system call instead of one each and a last that finds nothing.
    pub fn recv_tx_timestamps(
        &self,
        found: &mut [Option<(u32, KernelTime)>; TX_BATCH],
    ) -> io::Result<usize> {
        // Headers per call: they hold raw pointers, and a socket must stay `Send`.
        let mut headers: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(
            TX_BATCH,
            Some(cmsg_space!(
                nix::sys::socket::Timestamps,
                libc_sock_extended_err
            )),
        );
        let mut bufs = [[0u8; 64]; TX_BATCH];
        let mut slices: [[IoSliceMut<'_>; 1]; TX_BATCH] = {
            let mut it = bufs.iter_mut();
            std::array::from_fn(|_| {
                [IoSliceMut::new(
                    it.next().map_or(&mut [][..], |b| &mut b[..]),
                )]
            })
        };
        let results = match recvmmsg(
            self.socket.as_raw_fd(),
            &mut headers,
            slices.iter_mut(),
            MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
            None,
        ) {
            Ok(r) => r,
            Err(nix::errno::Errno::EAGAIN) => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut n = 0;
        for (f, r) in found.iter_mut().zip(results) {
            *f = r.cmsgs().ok().and_then(tx_stamp);
            n += 1;
        }
        Ok(n)
    }
}

/// A received datagram of `len` bytes: its sender and kernel receive timestamp.
fn received(msg: &RecvMsg<'_, '_, SockaddrIn>, len: usize) -> Received {
    let timestamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
        cmsgs.find_map(|c| match c {
            ControlMessageOwned::ScmTimestampsns(ts) => Some(kernel_time(&ts)),
            _ => None,
        })
    });
    let from = msg
        .address
        .map_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0), |a| {
            SocketAddrV4::new(a.ip(), a.port())
        });
    Received {
        len,
        from,
        timestamp,
    }
}

/// An error-queue message's packet id and transmit timestamp, if it carries both.
fn tx_stamp(cmsgs: impl Iterator<Item = ControlMessageOwned>) -> Option<(u32, KernelTime)> {
    let (mut ts, mut id) = (None, None);
    for c in cmsgs {
        match c {
            ControlMessageOwned::ScmTimestampsns(t) => ts = Some(kernel_time(&t)),
            ControlMessageOwned::Ipv4RecvErr(err, _) => id = Some(err.ee_data),
            _ => {}
        }
    }
    id.zip(ts)
}

/// The hardware timestamp where the kernel gave one, else the software one.
fn kernel_time(ts: &nix::sys::socket::Timestamps) -> KernelTime {
    let zero = TimeSpec::new(0, 0);
    if ts.hw_raw != zero {
        KernelTime::Hardware(ts.hw_raw)
    } else {
        KernelTime::Software(ts.system)
    }
}

/// Room for the extended error in the error-queue control buffer.
#[allow(non_camel_case_types)]
type libc_sock_extended_err = [u8; 16 + 16];

impl TimestampedSocket {
    /// The socket itself, for batched I/O.
    #[must_use]
    pub fn udp(&self) -> &UdpSocket {
        &self.socket
    }

    /// Marks what the socket sends from now on with DSCP `dscp` (a system call only when it
    /// changes).
    fn set_dscp(&mut self, dscp: u8) -> io::Result<()> {
        let tos = dscp << 2;
        if tos != self.tos {
            setsockopt(&self.socket, sockopt::Ipv4Tos, &i32::from(tos)).map_err(io::Error::from)?;
            self.tos = tos;
        }
        Ok(())
    }

    /// Sends each `(destination, bytes)` of `msgs` in order with DSCP `dscp`, as many per
    /// system call as the kernel takes (`sendmmsg`, at most [`TX_BATCH`]); `result[i]` is
    /// the packet id of `msgs[i]` (for its transmit timestamp) or why it was not sent. A
    /// message the kernel refuses is skipped, the rest still go. Returns the system calls made.
    pub fn send_many(
        &mut self,
        msgs: &[(SocketAddrV4, &[u8])],
        dscp: u8,
        results: &mut Vec<io::Result<u32>>,
    ) -> io::Result<usize> {
        self.set_dscp(dscp)?;
        // Headers per call, as for the error queue: they hold raw pointers.
        let mut headers: MultiHeaders<SockaddrIn> =
            MultiHeaders::preallocate(msgs.len().min(TX_BATCH), None);
        let (mut done, mut calls) = (0, 0);
        while done < msgs.len() {
            calls += 1;
            let chunk = &msgs[done..msgs.len().min(done + TX_BATCH)];
            let slices: Vec<[IoSlice<'_>; 1]> =
                chunk.iter().map(|(_, b)| [IoSlice::new(b)]).collect();
            let addrs: Vec<Option<SockaddrIn>> = chunk
                .iter()
                .map(|(to, _)| Some(SockaddrIn::from(*to)))
                .collect();
            let cmsgs: [ControlMessage<'_>; 0] = [];
            match sendmmsg(
                self.socket.as_raw_fd(),
                &mut headers,
                slices.iter(),
                &addrs,
                cmsgs,
                MsgFlags::MSG_DONTWAIT,
            )
            .map(Iterator::count)
            {
                Ok(n) if n > 0 => {
                    let sent = n.min(chunk.len());
                    let first = self.count_sent(sent as u32);
                    results.extend((0..sent as u32).map(|i| Ok(first.wrapping_add(i))));
                    done += sent;
                }
                Ok(_) => {
                    results.push(Err(io::ErrorKind::WouldBlock.into()));
                    done += 1;
                }
                // The first message of the rest failed (the kernel reports only that): it
                // is not sent and takes no id.
                Err(e) => {
                    results.push(Err(e.into()));
                    done += 1;
                }
            }
        }
        Ok(calls)
    }

    /// Counts `n` packets sent outside [`TimestampedSocket::send`] (batched sends), keeping
    /// the transmit timestamp ids in step with the kernel's.
    pub fn count_sent(&mut self, n: u32) -> u32 {
        let first = self.next_id;
        self.next_id = self.next_id.wrapping_add(n);
        first
    }
}

impl AsFd for TimestampedSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn wait<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
        for _ in 0..500 {
            if let Some(x) = f() {
                return Some(x);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        None
    }

    #[test]
    fn loopback_datagrams_carry_rx_and_tx_timestamps() {
        let a =
            TimestampedSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None, None).unwrap();
        let mut b =
            TimestampedSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None, None).unwrap();
        assert!(
            a.timestamping && b.timestamping,
            "SO_TIMESTAMPING is available on Linux"
        );
        let mut buf = [0u8; 64];
        // The kernel switches software timestamping on asynchronously: the first packets may
        // come without; within a few they carry one.
        for k in 0..50u8 {
            let id = b.send(a.local(), &[k; 5], 46).unwrap();
            assert_eq!(id, u32::from(k), "ids count packets sent");
            let r = wait(|| a.recv(&mut buf).unwrap()).expect("datagram");
            assert_eq!((&buf[..r.len], r.from), (&[k; 5][..], b.local()));
            let tx = wait(|| b.recv_tx_timestamp().unwrap());
            if let (Some(KernelTime::Software(rx)), Some((tx_id, KernelTime::Software(tx_ts)))) =
                (r.timestamp, tx)
            {
                assert_eq!(tx_id, id, "the TX timestamp names its packet");
                assert!(tx_ts <= rx, "sent before received");
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("no packet carried both timestamps");
    }

    /// A receiver and a sender whose transmit timestamps already flow (the kernel switches
    /// them on asynchronously, see above), with nothing queued on either.
    fn stamping_pair() -> (TimestampedSocket, TimestampedSocket) {
        let a =
            TimestampedSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None, None).unwrap();
        let mut b =
            TimestampedSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None, None).unwrap();
        let mut found = [None; TX_BATCH];
        for _ in 0..50 {
            b.send(a.local(), &[0; 5], 0).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(2));
            let n = b.recv_tx_timestamps(&mut found).unwrap();
            if found[..n].iter().any(Option::is_some) {
                break;
            }
        }
        while b.recv_tx_timestamps(&mut found).unwrap() > 0 {}
        let mut buf = [0u8; 64];
        while a.recv(&mut buf).unwrap().is_some() {}
        (a, b)
    }

    #[test]
    fn a_burst_has_its_transmit_timestamps_read_in_one_call_in_order() {
        let (a, mut b) = stamping_pair();
        let mut found = [None; TX_BATCH];
        let first = b.send(a.local(), &[1; 5], 0).unwrap();
        for k in 1..70u8 {
            b.send(a.local(), &[k; 5], 0).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        // 70 queued: a full batch, then the rest, then nothing.
        let n = b.recv_tx_timestamps(&mut found).unwrap();
        assert_eq!(n, TX_BATCH);
        let ids: Vec<u32> = found.iter().map(|f| f.expect("stamped").0).collect();
        assert_eq!(ids, (first..first + TX_BATCH as u32).collect::<Vec<_>>());
        let n = b.recv_tx_timestamps(&mut found).unwrap();
        assert_eq!(n, 70 - TX_BATCH);
        assert_eq!(found[0].map(|f| f.0), Some(first + TX_BATCH as u32));
        assert_eq!(b.recv_tx_timestamps(&mut found).unwrap(), 0);
    }

    #[test]
    fn a_batch_goes_in_order_skips_what_the_kernel_refuses_and_ids_match_the_timestamps() {
        let (a, mut b) = stamping_pair();
        let mut found = [None; TX_BATCH];
        let mut buf = [0u8; 64];
        // 70 messages (more than one call takes); the 10th to port 0, which UDP refuses.
        let refused = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
        let payloads: Vec<[u8; 3]> = (0..70u8).map(|k| [k, k, k]).collect();
        let msgs: Vec<(SocketAddrV4, &[u8])> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| (if i == 10 { refused } else { a.local() }, &p[..]))
            .collect();
        let mut results = Vec::new();
        // A call for the first 10 (the 10th fails), one for the next 64, one for the rest.
        assert_eq!(b.send_many(&msgs, 46, &mut results).unwrap(), 3);
        assert_eq!(results.len(), 70);
        assert!(results[10].is_err(), "port 0 is refused");
        let ids: Vec<u32> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        let first = ids[0];
        assert_eq!(
            ids,
            (first..first + 69).collect::<Vec<_>>(),
            "one id per packet sent"
        );
        for k in (0..70u8).filter(|&k| k != 10) {
            let r = wait(|| a.recv(&mut buf).unwrap()).expect("datagram");
            assert_eq!(&buf[..r.len], &[k, k, k], "in order");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut stamped = Vec::new();
        loop {
            let n = b.recv_tx_timestamps(&mut found).unwrap();
            stamped.extend(found[..n].iter().flatten().map(|f| f.0));
            if n < TX_BATCH {
                break;
            }
        }
        assert_eq!(stamped, ids, "each packet's timestamp carries its id");
    }

    #[test]
    fn waiting_datagrams_come_in_batches_in_order_with_their_senders_and_timestamps() {
        let (a, mut b) = stamping_pair();
        let mut c =
            TimestampedSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), None, None).unwrap();
        let (mut bufs, mut got) = (RxBuffers::default(), Vec::new());
        assert_eq!(
            a.recv_many(&mut bufs, &mut got).unwrap(),
            0,
            "nothing waiting"
        );
        // 40 datagrams (more than a batch) from two senders, one longer than the buffer.
        let long = vec![7u8; RX_BUFFER + 100];
        for k in 0..40u8 {
            let (from, payload) = if k.is_multiple_of(2) {
                (&mut b, vec![k; 1 + k as usize])
            } else {
                (&mut c, vec![k; 3])
            };
            from.send(a.local(), if k == 33 { &long } else { &payload }, 0)
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut seen = Vec::new();
        loop {
            let n = a.recv_many(&mut bufs, &mut got).unwrap();
            assert!(n <= RX_BATCH);
            for (i, r) in got.iter().enumerate() {
                let bytes = bufs.datagram(i, r);
                assert!(
                    matches!(r.timestamp, Some(KernelTime::Software(_))),
                    "{r:?}"
                );
                seen.push((bytes.to_vec(), r.from));
            }
            if n < RX_BATCH {
                break;
            }
        }
        assert_eq!(seen.len(), 40);
        for (k, (bytes, from)) in seen.iter().enumerate() {
            let k = k as u8;
            let (sender, want) = match k {
                33 => (c.local(), vec![7u8; RX_BUFFER]),
                _ if k.is_multiple_of(2) => (b.local(), vec![k; 1 + k as usize]),
                _ => (c.local(), vec![k; 3]),
            };
            assert_eq!((bytes, *from), (&want, sender), "datagram {k}");
        }
        assert_eq!(a.recv_many(&mut bufs, &mut got).unwrap(), 0, "all read");
    }
}
