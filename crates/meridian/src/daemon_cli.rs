//! The `meridiand` command line (kept in the library so `meridian package-assets` can write its
//! man page and completions from the same definition).

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Which clock the daemon disciplines.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ClockKind {
    /// A software clock over CLOCK_REALTIME; the host clock is never touched.
    Virtual,
    /// CLOCK_REALTIME itself (needs CAP_SYS_TIME).
    System,
}

/// `meridiand`'s arguments.
#[derive(Parser)]
#[command(
    name = "meridiand",
    version,
    about = "meridian time daemon (NTP and 1588 ATR/ACR)"
)]
pub struct Args {
    /// The device configuration (VRP syntax, as `display current-configuration` prints it).
    #[arg(long, short)]
    pub config: PathBuf,
    /// A license file to activate (the 1588 ATR/ACR features need one).
    #[arg(long)]
    pub license: Option<PathBuf>,
    /// Which clock to discipline.
    #[arg(long, value_enum, default_value_t = ClockKind::Virtual)]
    pub clock: ClockKind,
    /// Control socket for `meridian shell --control PATH`.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// The control socket's mode, octal: 600 (owner only) unless set; 660 with
    /// `--control-group` lets an operators' group in.
    #[arg(long, value_parser = parse_mode, default_value = "600")]
    pub control_mode: u32,
    /// The control socket's group.
    #[arg(long, value_name = "GROUP")]
    pub control_group: Option<String>,
    /// Local NTP port (peers are addressed on 123 unless the configuration says otherwise).
    #[arg(long, default_value_t = 123)]
    pub ntp_port: u16,
    /// Local PTP event and general ports, e.g. `10319,10320` (peers are assumed to use the same).
    #[arg(long, value_parser = parse_ports, default_value = "319,320")]
    pub ptp_ports: (u16, u16),
    /// Serve Prometheus text metrics on this loopback address, e.g. `127.0.0.1:9123`.
    #[arg(long)]
    pub metrics: Option<std::net::SocketAddr>,
    /// Threads answering NTP client requests in batches, each on its own socket of the served
    /// address (one per core to spare); 0: the time thread answers them itself (as it does on
    /// an address whose interface takes hardware timestamps: the workers stamp in software).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub ntp_workers: u16,
    /// Log level: error, warn, info, debug or trace. Under systemd (JOURNAL_STREAM set) lines
    /// carry no timestamp of their own: the journal adds one.
    #[arg(long, default_value = "info")]
    pub log_level: tracing_subscriber::filter::LevelFilter,
    /// Start the virtual clock this many milliseconds off CLOCK_REALTIME (testing).
    #[arg(long, default_value_t = 0.0, hide = true)]
    pub virtual_offset_ms: f64,
    /// Run the virtual clock this many ppm fast (testing).
    #[arg(long, default_value_t = 0.0, hide = true)]
    pub virtual_ppm: f64,
    /// Append the virtual clock's offset from CLOCK_REALTIME as JSON lines every second (testing).
    #[arg(long, hide = true)]
    pub report: Option<PathBuf>,
}

/// Parses `--control-mode`: octal permission bits.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    match u32::from_str_radix(s.trim_start_matches("0o"), 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "{s}: expected octal permission bits such as 600 or 660"
        )),
    }
}

/// Parses `--ptp-ports`: `EVENT,GENERAL`.
pub fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once(',').ok_or("expected EVENT,GENERAL")?;
    let p = |v: &str| v.trim().parse::<u16>().map_err(|e| format!("{v}: {e}"));
    Ok((p(a)?, p(b)?))
}
