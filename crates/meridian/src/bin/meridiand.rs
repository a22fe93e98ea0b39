//! `meridiand`, the daemon: runs a device's configuration (the same file the lab loads) on real
//! UDP sockets with kernel timestamps, disciplining the virtual clock by default.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, ValueEnum};
use meridian_os::clock::{Clock, SystemClock, VirtualClock};
use meridian_os::driver::{Daemon, Options};
use meridian_proto::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ClockKind {
    /// A software clock over CLOCK_REALTIME; the host clock is never touched.
    Virtual,
    /// CLOCK_REALTIME itself (needs CAP_SYS_TIME).
    System,
}

#[derive(Parser)]
#[command(
    name = "meridiand",
    version,
    about = "meridian time daemon (NTP and 1588 ATR/ACR)"
)]
struct Args {
    /// The device configuration (VRP syntax, as `display current-configuration` prints it).
    #[arg(long, short)]
    config: PathBuf,
    /// A license file to activate (the 1588 ATR/ACR features need one).
    #[arg(long)]
    license: Option<PathBuf>,
    /// Which clock to discipline.
    #[arg(long, value_enum, default_value_t = ClockKind::Virtual)]
    clock: ClockKind,
    /// Control socket for `meridian shell --control PATH`.
    #[arg(long)]
    control: Option<PathBuf>,
    /// The control socket's mode, octal: 600 (owner only) unless set; 660 with
    /// `--control-group` lets an operators' group in.
    #[arg(long, value_parser = parse_mode, default_value = "600")]
    control_mode: u32,
    /// The control socket's group.
    #[arg(long, value_name = "GROUP")]
    control_group: Option<String>,
    /// Local NTP port (peers are addressed on 123 unless the configuration says otherwise).
    #[arg(long, default_value_t = 123)]
    ntp_port: u16,
    /// Local PTP event and general ports, e.g. `10319,10320` (peers are assumed to use the same).
    #[arg(long, value_parser = parse_ports, default_value = "319,320")]
    ptp_ports: (u16, u16),
    /// Serve Prometheus text metrics on this loopback address, e.g. `127.0.0.1:9123`.
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// Threads answering NTP client requests in batches, each on its own socket of the served
    /// address (one per core to spare); 0: the time thread answers them itself (as it does on
    /// an address whose interface takes hardware timestamps: the workers stamp in software).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=64))]
    ntp_workers: u16,
    /// Log level: error, warn, info, debug or trace. Under systemd (JOURNAL_STREAM set) lines
    /// carry no timestamp of their own: the journal adds one.
    #[arg(long, default_value = "info")]
    log_level: tracing_subscriber::filter::LevelFilter,
    /// Start the virtual clock this many milliseconds off CLOCK_REALTIME (testing).
    #[arg(long, default_value_t = 0.0, hide = true)]
    virtual_offset_ms: f64,
    /// Run the virtual clock this many ppm fast (testing).
    #[arg(long, default_value_t = 0.0, hide = true)]
    virtual_ppm: f64,
    /// Append the virtual clock's offset from CLOCK_REALTIME as JSON lines every second (testing).
    #[arg(long, hide = true)]
    report: Option<PathBuf>,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "{s}: expected octal permission bits such as 600 or 660"
        )),
    }
}

fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once(',').ok_or("expected EVENT,GENERAL")?;
    let p = |v: &str| v.trim().parse::<u16>().map_err(|e| format!("{v}: {e}"));
    Ok((p(a)?, p(b)?))
}

/// Blocks SIGINT and SIGTERM in every thread and turns their arrival into `stop`, received by a
/// thread in `sigwait` (no handler, so no unsafe code).
fn watch_signals(stop: Arc<AtomicBool>) -> nix::Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block()?;
    std::thread::spawn(move || {
        if set.wait().is_ok() {
            stop.store(true, Ordering::Relaxed);
        }
    });
    Ok(())
}

fn run<C: Clock>(opts: Options, clock: C, stop: &Arc<AtomicBool>) -> Result<(), String> {
    let mut daemon = Daemon::new(opts, clock)?;
    daemon.run(stop).map_err(|e| e.to_string())
}

fn init_logging(level: tracing_subscriber::filter::LevelFilter) {
    let fmt = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_writer(std::io::stderr);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        fmt.without_time().init();
    } else {
        fmt.init();
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_level);
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = watch_signals(Arc::clone(&stop)) {
        eprintln!("meridiand: signals: {e}");
        return ExitCode::FAILURE;
    }
    let opts = Options {
        config_path: args.config,
        control: args.control,
        control_mode: args.control_mode,
        control_group: args.control_group,
        ntp_port: args.ntp_port,
        ptp_ports: args.ptp_ports,
        license: args.license,
        report: args.report,
        metrics: args.metrics,
        ntp_workers: args.ntp_workers.into(),
    };
    let result = match args.clock {
        ClockKind::Virtual => {
            let offset = Duration::from_secs_f64(args.virtual_offset_ms / 1e3);
            run(
                opts,
                VirtualClock::new(offset, args.virtual_ppm * 1e3),
                &stop,
            )
        }
        ClockKind::System => match SystemClock::new() {
            Ok(c) => run(opts, c, &stop),
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meridiand: {e}");
            ExitCode::FAILURE
        }
    }
}
