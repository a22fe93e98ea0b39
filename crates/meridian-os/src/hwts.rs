//! Hardware timestamps where the NIC offers them. The interface holding a socket's address is
//! asked what it can timestamp (ethtool's TS_INFO); if it timestamps every received packet and
//! transmitted ones in hardware and has a PTP hardware clock (PHC), the interface is switched to
//! hardware timestamping (SIOCSHWTSTAMP, which needs CAP_NET_ADMIN) and the socket asks for raw
//! hardware timestamps beside the software ones. Hardware timestamps are on the PHC's timescale:
//! [`PhcMap`] turns them into CLOCK_REALTIME from PHC/system clock comparisons (PTP_SYS_OFFSET),
//! so the rest of the daemon keeps one timescale. Whatever fails falls back to software
//! timestamps, logged once per interface by the caller.

use std::fs::File;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use nix::sys::time::TimeSpec;

/// SOF_TIMESTAMPING bits of ethtool's TS_INFO.
const TX_HARDWARE: u32 = 1 << 0;
const RX_HARDWARE: u32 = 1 << 2;
const RAW_HARDWARE: u32 = 1 << 6;
/// HWTSTAMP_TX_ON, HWTSTAMP_FILTER_ALL and HWTSTAMP_FILTER_NTP_ALL as bit positions in the
/// capability masks and as values for SIOCSHWTSTAMP.
const TX_ON: u32 = 1;
const FILTER_ALL: u32 = 1;
const FILTER_NTP_ALL: u32 = 15;

/// What an interface can timestamp (ethtool's `struct ethtool_ts_info`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TsInfo {
    /// SOF_TIMESTAMPING capabilities.
    pub so_timestamping: u32,
    /// The PHC's index (/dev/ptpN), −1 without one.
    pub phc_index: i32,
    /// Supported HWTSTAMP_TX types, one bit each.
    pub tx_types: u32,
    /// Supported HWTSTAMP_FILTER receive filters, one bit each.
    pub rx_filters: u32,
}

/// How to switch an interface to hardware timestamping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hardware {
    /// /dev/ptp`phc`.
    pub phc: u32,
    /// The receive filter to ask for.
    pub rx_filter: u32,
}

impl TsInfo {
    /// Asks the kernel about `interface`.
    ///
    /// # Errors
    /// The ioctl's error (for instance, no such interface).
    pub fn query(interface: &str) -> io::Result<Self> {
        sys::ts_info(interface)
    }

    /// Whether hardware timestamps are usable for NTP and PTP alike: transmit and receive
    /// timestamps in hardware, raw hardware timestamps reported, a PHC to read them against,
    /// and a receive filter that takes every packet (a PTP-only filter would leave NTP without).
    #[must_use]
    pub fn hardware(&self) -> Option<Hardware> {
        let caps = TX_HARDWARE | RX_HARDWARE | RAW_HARDWARE;
        if self.so_timestamping & caps != caps || self.tx_types & (1 << TX_ON) == 0 {
            return None;
        }
        let phc = u32::try_from(self.phc_index).ok()?;
        let rx_filter = [FILTER_ALL, FILTER_NTP_ALL]
            .into_iter()
            .find(|f| self.rx_filters & (1 << f) != 0)?;
        Some(Hardware { phc, rx_filter })
    }
}

/// Switches `interface` to hardware timestamping with `hw`'s receive filter.
///
/// # Errors
/// The ioctl's error (EPERM without CAP_NET_ADMIN).
pub fn enable(interface: &str, hw: Hardware) -> io::Result<()> {
    sys::set_hwtstamp(interface, TX_ON, hw.rx_filter)
}

/// The interface holding `ip`, if any.
#[must_use]
pub fn interface_of(ip: Ipv4Addr) -> Option<String> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|a| {
        let addr = a.address?;
        let sin = addr.as_sockaddr_in()?;
        (sin.ip() == ip).then_some(a.interface_name)
    })
}

/// One comparison of the PHC with the system clock: the system clock read before and after the
/// PHC, ns since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// CLOCK_REALTIME before.
    pub before: i128,
    /// The PHC.
    pub phc: i128,
    /// CLOCK_REALTIME after.
    pub after: i128,
}

/// The PHC's timescale against CLOCK_REALTIME, from the two latest comparisons: a hardware
/// timestamp is placed on the line through them (extrapolated past the latest).
#[derive(Clone, Debug, Default)]
pub struct PhcMap {
    /// The latest (PHC, system) ns pair, and the one before it.
    latest: Option<(i128, i128)>,
    previous: Option<(i128, i128)>,
}

impl PhcMap {
    /// Adds a batch of comparisons: the one read in the shortest window is kept (the others were
    /// interrupted or preempted), with the system time at the window's middle.
    pub fn add(&mut self, readings: &[Reading]) {
        let Some(best) = readings
            .iter()
            .filter(|r| r.after >= r.before)
            .min_by_key(|r| r.after - r.before)
        else {
            return;
        };
        self.previous = self.latest;
        self.latest = Some((best.phc, best.before + (best.after - best.before) / 2));
    }

    /// CLOCK_REALTIME, ns, of the PHC time `phc` (ns); `None` before any comparison.
    #[must_use]
    pub fn to_system(&self, phc: i128) -> Option<i128> {
        let (p1, s1) = self.latest?;
        let since = phc - p1;
        // The system clock's rate against the PHC's, from the two latest points, applied from
        // the latest.
        let rate_error = match self.previous {
            Some((p0, s0)) if p1 > p0 => since * ((s1 - s0) - (p1 - p0)) / (p1 - p0),
            _ => 0,
        };
        Some(s1 + since + rate_error)
    }
}

/// A PHC opened for comparisons with the system clock.
#[derive(Debug)]
pub struct Phc {
    file: File,
    /// Its timescale against CLOCK_REALTIME.
    pub map: PhcMap,
}

impl Phc {
    /// Opens /dev/ptp`index`.
    ///
    /// # Errors
    /// The open's error.
    pub fn open(index: u32) -> io::Result<Self> {
        Ok(Self {
            file: File::open(format!("/dev/ptp{index}"))?,
            map: PhcMap::default(),
        })
    }

    /// Compares the PHC with the system clock (nine readings) and updates the map.
    ///
    /// # Errors
    /// The ioctl's error.
    pub fn compare(&mut self) -> io::Result<()> {
        let readings = sys::sys_offset(&self.file, 9)?;
        self.map.add(&readings);
        Ok(())
    }

    /// A raw hardware timestamp on CLOCK_REALTIME.
    #[must_use]
    pub fn to_system(&self, ts: TimeSpec) -> Option<TimeSpec> {
        let ns = i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec());
        let s = self.map.to_system(ns)?;
        let (sec, nsec) = (s.div_euclid(1_000_000_000), s.rem_euclid(1_000_000_000));
        Some(TimeSpec::new(i64::try_from(sec).ok()?, nsec as i64))
    }
}

fn control_socket() -> io::Result<OwnedFd> {
    socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

/// The three ioctls, the only unsafe code of the daemon: each passes a pointer to a local,
/// properly sized `repr(C)` value that lives across the call.
#[allow(unsafe_code)]
mod sys {
    use super::{AsRawFd, File, Reading, TsInfo, control_socket, io};

    const ETHTOOL_GET_TS_INFO: u32 = 0x41;

    /// `struct ethtool_ts_info`.
    #[repr(C)]
    #[derive(Default)]
    struct EthtoolTsInfo {
        cmd: u32,
        so_timestamping: u32,
        phc_index: i32,
        tx_types: u32,
        tx_reserved: [u32; 3],
        rx_filters: u32,
        rx_reserved: [u32; 3],
    }

    fn ifreq(interface: &str, data: *mut libc::c_char) -> io::Result<libc::ifreq> {
        let name = interface.as_bytes();
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad interface name {interface:?}"),
            ));
        }
        let mut ifr_name = [0 as libc::c_char; libc::IFNAMSIZ];
        for (d, s) in ifr_name.iter_mut().zip(name) {
            *d = *s as libc::c_char;
        }
        Ok(libc::ifreq {
            ifr_name,
            ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_data: data },
        })
    }

    pub(super) fn ts_info(interface: &str) -> io::Result<TsInfo> {
        let fd = control_socket()?;
        let mut info = EthtoolTsInfo {
            cmd: ETHTOOL_GET_TS_INFO,
            ..EthtoolTsInfo::default()
        };
        let mut req = ifreq(interface, (&raw mut info).cast())?;
        // SAFETY: `req` points at `info`, both live across the call; the kernel writes at most
        // size_of::<EthtoolTsInfo>() bytes into it.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCETHTOOL as _, &raw mut req) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TsInfo {
            so_timestamping: info.so_timestamping,
            phc_index: info.phc_index,
            tx_types: info.tx_types,
            rx_filters: info.rx_filters,
        })
    }

    pub(super) fn set_hwtstamp(interface: &str, tx: u32, rx: u32) -> io::Result<()> {
        let fd = control_socket()?;
        let mut config = libc::hwtstamp_config {
            flags: 0,
            tx_type: tx as libc::c_int,
            rx_filter: rx as libc::c_int,
        };
        let mut req = ifreq(interface, (&raw mut config).cast())?;
        // SAFETY: as above; the kernel reads and rewrites `config`.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSHWTSTAMP as _, &raw mut req) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(super) fn sys_offset(phc: &File, n: u32) -> io::Result<Vec<Reading>> {
        let zero = libc::ptp_clock_time {
            sec: 0,
            nsec: 0,
            reserved: 0,
        };
        let mut off = libc::ptp_sys_offset {
            n_samples: n,
            rsv: [0; 3],
            ts: [zero; 51],
        };
        // SAFETY: `off` is the kernel's `struct ptp_sys_offset`, alive across the call; the
        // kernel fills 2n + 1 of its 51 entries (n ≤ 25).
        let r = unsafe { libc::ioctl(phc.as_raw_fd(), libc::PTP_SYS_OFFSET as _, &raw mut off) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let ns = |t: &libc::ptp_clock_time| i128::from(t.sec) * 1_000_000_000 + i128::from(t.nsec);
        // The kernel alternates: system, PHC, system, PHC, …, system.
        Ok((0..n.min(25) as usize)
            .map(|i| Reading {
                before: ns(&off.ts[2 * i]),
                phc: ns(&off.ts[2 * i + 1]),
                after: ns(&off.ts[2 * i + 2]),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_needs_both_directions_a_phc_and_a_filter_for_everything() {
        let full = TsInfo {
            so_timestamping: TX_HARDWARE | RX_HARDWARE | RAW_HARDWARE | 0x58,
            phc_index: 2,
            tx_types: 1 << TX_ON,
            rx_filters: (1 << FILTER_ALL) | (1 << 12),
        };
        assert_eq!(
            full.hardware(),
            Some(Hardware {
                phc: 2,
                rx_filter: FILTER_ALL
            })
        );
        // Only NTP_ALL among the all-packet filters: that one.
        let ntp = TsInfo {
            rx_filters: 1 << FILTER_NTP_ALL,
            ..full
        };
        assert_eq!(ntp.hardware().map(|h| h.rx_filter), Some(FILTER_NTP_ALL));
        // A PTP-only receive filter, no PHC, no TX in hardware: software.
        for broken in [
            TsInfo {
                rx_filters: 1 << 12,
                ..full
            },
            TsInfo {
                phc_index: -1,
                ..full
            },
            TsInfo {
                so_timestamping: RX_HARDWARE | RAW_HARDWARE,
                ..full
            },
            TsInfo {
                tx_types: 0,
                ..full
            },
        ] {
            assert_eq!(broken.hardware(), None, "{broken:?}");
        }
    }

    #[test]
    fn loopback_offers_software_timestamps_only() {
        let lo = TsInfo::query("lo").expect("lo exists");
        assert_eq!(lo.hardware(), None, "{lo:?}");
        assert!(TsInfo::query("no-such-if0").is_err());
        assert_eq!(interface_of(Ipv4Addr::LOCALHOST).as_deref(), Some("lo"));
    }

    #[test]
    fn the_phc_map_keeps_the_narrowest_reading_and_the_rate() {
        let mut m = PhcMap::default();
        assert_eq!(m.to_system(5), None);
        // The PHC reads 1000 ns ahead; the 30-ns window wins over the preempted 5-µs one.
        m.add(&[
            Reading {
                before: 10_000,
                phc: 14_000,
                after: 15_000,
            },
            Reading {
                before: 20_000,
                phc: 21_015,
                after: 20_030,
            },
        ]);
        assert_eq!(m.to_system(21_015), Some(20_015));
        // One second later the PHC is 1000 ns further ahead: it runs 1 ppm fast.
        m.add(&[Reading {
            before: 1_000_020_000,
            phc: 1_000_022_015,
            after: 1_000_020_030,
        }]);
        assert_eq!(m.to_system(1_000_022_015), Some(1_000_020_015));
        // Another second on, by the PHC: a microsecond less of system time has passed.
        assert_eq!(
            m.to_system(2_000_022_015),
            Some(1_000_020_015 + 1_000_000_000 - 999)
        );
    }
}
