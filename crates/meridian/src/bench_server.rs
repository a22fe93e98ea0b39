//! Server capacity on real sockets: meridiand's NTP server (the daemon's own poll loop, kernel
//! timestamps, access control) on loopback, driven by a load generator that keeps a window of
//! requests outstanding on many client sockets. Reads the wall clock: binaries only.
#![allow(clippy::disallowed_methods)]

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use meridian_os::clock::VirtualClock;
use meridian_os::driver::{Daemon, Options};

const SERVER: &str = "127.0.0.9";
const PORT: u16 = 11190;

/// Runs the server for `seconds` under `clients` sockets with `window` requests in flight each;
/// prints replies per second and the share of requests answered.
/// With `against`, the same load goes to another server (chronyd, ntpsec) instead, for
/// comparison on the same machine.
pub(crate) fn ntp(
    seconds: u64,
    clients: usize,
    window: usize,
    against: Option<std::net::SocketAddr>,
) -> Result<(), String> {
    let target = against.unwrap_or_else(|| {
        (
            SERVER
                .parse::<std::net::Ipv4Addr>()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
            PORT,
        )
            .into()
    });
    let dir = std::env::temp_dir().join(format!("meridian-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let cfg = dir.join("server.cfg");
    std::fs::write(
        &cfg,
        format!(
            "sysname Bench\nntp-service refclock-master 1\n\
             ntp-service server source-interface LoopBack1\ninterface LoopBack1\n\
             \x20ip address {SERVER} 255.255.255.255\nreturn\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let opts = Options {
        config_path: cfg,
        control: None,
        control_mode: 0o600,
        control_group: None,
        ntp_port: PORT,
        ptp_ports: (11319, 11320),
        license: None,
        report: None,
        metrics: None,
        ntp_workers: 0,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready) = std::sync::mpsc::channel();
    // The daemon lives on its own thread (it is not Send: it is built there).
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            match Daemon::new(opts, VirtualClock::new(Default::default(), 0.0)) {
                Ok(mut d) => {
                    let _ = ready_tx.send(Ok(()));
                    let _ = d.run(&stop);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })
    };
    if against.is_none() {
        ready.recv().map_err(|e| e.to_string())??;
    } else {
        stop.store(true, Ordering::Relaxed);
    }
    let sockets: Vec<UdpSocket> = (0..clients)
        .map(|_| {
            let s = UdpSocket::bind("127.0.0.10:0")?;
            s.set_nonblocking(true)?;
            s.connect(target)?;
            Ok(s)
        })
        .collect::<std::io::Result<_>>()
        .map_err(|e: std::io::Error| e.to_string())?;
    // A client request: version 4, mode 3, a transmit timestamp the reply echoes. Replies
    // count when they are mode 4 from the stratum-1 server (not a kiss-o'-death).
    let mut request = [0u8; 48];
    request[0] = 0x23;
    let mut outstanding = vec![0usize; clients];
    let mut heard = vec![false; clients];
    let mut next_check = Instant::now();
    let (mut sent, mut replies, mut bad) = (0u64, 0u64, 0u64);
    let mut buf = [0u8; 512];
    // Warm up for a second, then count.
    let warm = Instant::now() + Duration::from_secs(1);
    let end = warm + Duration::from_secs(seconds);
    let mut counting = false;
    let mut started = Instant::now();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if !counting && now >= warm {
            (counting, sent, replies, bad, started) = (true, 0, 0, 0, now);
        }
        for ((s, n), g) in sockets
            .iter()
            .zip(outstanding.iter_mut())
            .zip(heard.iter_mut())
        {
            while let Ok(len) = s.recv(&mut buf) {
                *n = n.saturating_sub(1);
                *g = true;
                if len >= 48 && buf[0] & 7 == 4 && buf[1] == 1 {
                    replies += 1;
                } else {
                    bad += 1;
                }
            }
            while *n < window {
                request[40..48].copy_from_slice(&sent.to_be_bytes());
                if s.send(&request).is_err() {
                    break;
                }
                *n += 1;
                sent += 1;
            }
        }
        // Requests lost (or dropped by a full socket) must not shrink the window for good: a
        // socket that heard nothing for 100 ms starts its window over.
        if now >= next_check {
            next_check = now + Duration::from_millis(100);
            for (n, g) in outstanding.iter_mut().zip(heard.iter_mut()) {
                if !*g {
                    *n = 0;
                }
                *g = false;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    let _ = std::fs::remove_dir_all(&dir);
    let who = against.map_or_else(|| "meridiand".to_string(), |a| a.to_string());
    println!(
        "{who} NTP server on loopback, {clients} clients × {window} in flight, {elapsed:.1} s: \
         {:.0} replies/s ({replies} of {sent} requests answered, {:.1} %; {bad} unexpected)",
        replies as f64 / elapsed,
        100.0 * replies as f64 / sent.max(1) as f64
    );
    Ok(())
}
