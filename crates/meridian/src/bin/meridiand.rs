//! `meridiand`, the daemon: runs a device's configuration (the same file the lab loads) on real
//! UDP sockets with kernel timestamps, disciplining the virtual clock by default.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use meridian::daemon_cli::{Args, ClockKind};
use meridian_os::clock::{Clock, SystemClock, VirtualClock};
use meridian_os::driver::{Daemon, Options};
use meridian_proto::time::Duration;

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
