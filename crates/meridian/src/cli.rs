//! The `meridian` command line: one definition drives parsing, `--help`, the man pages and the
//! shell completions.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// `meridian`'s arguments.
#[derive(Parser)]
#[command(
    name = "meridian",
    version,
    about = "meridian time-synchronization suite"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `meridian`'s subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Runs seed 004's three-router LAN in the simulator with free-running clocks and PDV, and
    /// reports time error, MTIE and TDEV (with plots and a pcap).
    Demo {
        /// Master seed: same seed, same numbers.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Simulated seconds.
        #[arg(long, default_value_t = 600)]
        duration: u64,
        /// Directory for te.png, wander.png and demo.pcap.
        #[arg(long, default_value = "out")]
        out: PathBuf,
    },
    /// Runs a directory of device configurations (`<device>.cfg`) over the simulated network of
    /// its `topology.toml`, printing the requested displays and a report.
    Lab {
        /// The lab directory.
        dir: PathBuf,
        /// Simulated seconds (overrides the topology).
        #[arg(long)]
        duration: Option<i64>,
        /// Master seed (overrides the topology).
        #[arg(long)]
        seed: Option<u64>,
        /// Write the JSON report to FILE, or `-` for standard output.
        #[arg(long, value_name = "FILE|-")]
        json: Option<String>,
        /// Plot TE (and MTIE/TDEV beside it) to FILE.png or FILE.svg.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Write every device's time and frequency error, one row a second, to FILE.csv.
        #[arg(long, value_name = "FILE.csv")]
        series: Option<PathBuf>,
        /// Write the simulated traffic as pcap.
        #[arg(long)]
        pcap: Option<PathBuf>,
        /// Open the VRP shell of this device at the end of the run.
        #[arg(long, value_name = "DEVICE")]
        shell: Option<String>,
        /// Run the lab under N seeds (the master seed and the N − 1 after it) and report each
        /// device's p99 per seed, the worst, the median and how often its budget was met.
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        seeds: u64,
        /// Runs at once with `--seeds` (each run is deterministic: the figures do not change
        /// with this, the wall time does).
        #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, std::num::NonZero::get))]
        threads: usize,
    },
    /// The VRP shell of a running `meridiand`, over its control socket.
    Shell {
        /// The daemon's control socket.
        #[arg(long)]
        control: PathBuf,
        /// Run these commands (in order, in one session) instead of an interactive session.
        #[arg(short = 'c', long = "command", value_name = "LINE")]
        commands: Vec<String>,
    },
    /// A UDP relay between one client and one server that delays each datagram by a floor
    /// plus packet delay variation (the simulator's models), for impairing real daemons.
    Relay {
        /// The relay's address (the one the client is configured to use as its server).
        #[arg(long)]
        listen: std::net::Ipv4Addr,
        /// The client.
        #[arg(long)]
        client: std::net::Ipv4Addr,
        /// The server.
        #[arg(long)]
        server: std::net::Ipv4Addr,
        /// UDP ports to relay, e.g. `123` or `319,320`.
        #[arg(long, value_delimiter = ',', required = true)]
        ports: Vec<u16>,
        /// Fixed one-way delay, µs (both directions unless --floor-back-us).
        #[arg(long, default_value_t = 0.0)]
        floor_us: f64,
        /// Server → client fixed delay, µs.
        #[arg(long)]
        floor_back_us: Option<f64>,
        /// PDV model as in topology.toml, e.g. `{ model = "exponential", mean_us = 50 }`.
        #[arg(long, default_value = "{ model = \"constant\" }")]
        pdv: String,
        /// Server → client PDV model (default: as --pdv).
        #[arg(long)]
        pdv_back: Option<String>,
        /// Seed of the PDV draws.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Prints a completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Writes man pages and completion scripts of `meridian` and `meridiand` under DIR (man/,
    /// completions/), for packaging.
    #[command(hide = true)]
    PackageAssets {
        /// Where to write.
        dir: PathBuf,
    },
    /// Measures performance.
    Bench {
        #[command(subcommand)]
        what: BenchKind,
    },
}

/// `meridian bench`'s subcommands.
#[derive(Subcommand)]
pub enum BenchKind {
    /// Simulator speed: events per wall-clock second on one core.
    Sim {
        /// Number of nodes.
        #[arg(long, default_value_t = 100)]
        nodes: usize,
        /// Packets per second each node sends.
        #[arg(long, default_value_t = 128)]
        rate: u32,
        /// Simulated seconds.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
        /// Do not hash the run's events (as the lab runs): no determinism check, a few percent
        /// faster.
        #[arg(long)]
        no_trace_hash: bool,
    },
    /// The 1588 ATR/ACR scenarios at full length, with their numbers.
    Ptp {
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Scenarios run at once (each is one deterministic simulation: the figures do not
        /// change, the wall time does).
        #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, std::num::NonZero::get))]
        threads: usize,
        /// Shorter runs (the lengths the tests use).
        #[arg(long)]
        quick: bool,
    },
    /// NTP server capacity on real sockets (loopback): meridiand against chronyd, replies per
    /// second, each server pinned away from the load generator.
    NtpServer {
        /// Measured seconds per run (after one of warm-up).
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Client sockets of the load generator.
        #[arg(long, default_value_t = 64)]
        sockets: usize,
        /// Requests in flight per socket (at most 64).
        #[arg(long, default_value_t = 16)]
        window: usize,
        /// meridiand's NTP server workers (`--ntp-workers`).
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// Rounds; the servers alternate within each.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The CPU the load generator runs on; the servers get the others.
        #[arg(long, default_value_t = 0)]
        load_cpu: usize,
    },
    /// PTP server capacity on real sockets (loopback): synthetic unicast clients negotiate and
    /// send Delay_Reqs; Syncs on time, CPU per message.
    PtpServer {
        /// Clients.
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Sync and Delay_Req rate, log2 s (−7: 128 per second).
        #[arg(long, default_value_t = -7, allow_negative_numbers = true)]
        log_rate: i8,
        /// Measured seconds (after three of negotiation).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// The CPU the clients run on; the server gets the others.
        #[arg(long, default_value_t = 0)]
        load_cpu: usize,
        /// Load linuxptp's ptp4l (as a unicast server on `lo`) instead of meridiand.
        #[arg(long)]
        ptp4l: bool,
    },
    /// Codec throughput: messages parsed per second.
    Codec {
        /// Parses per message kind.
        #[arg(long, default_value_t = 2_000_000)]
        iterations: u64,
    },
    /// The three capacity figures in one run, each against its target: NTP replies/s against
    /// chronyd's, PTP server CPU per message against ptp4l's for the same clients, simulator
    /// events/s and wall seconds per simulated hour of 1000 clients at 16 pps.
    All {
        /// Shorter runs (one NTP round of 3 s, 3-s PTP runs, the hour extrapolated from 60 s).
        #[arg(long)]
        quick: bool,
        /// PTP clients (128 per second each).
        #[arg(long, default_value_t = 256)]
        ptp_clients: usize,
    },
}
