//! `meridian`: benchmarks and the simulator demo today; the VRP shell and `meridian lab` arrive
//! with the command-language issue.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod bench;
mod bench_ptp;
mod demo;

#[derive(Parser)]
#[command(
    name = "meridian",
    version,
    about = "meridian time-synchronization suite"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Measures performance.
    Bench {
        #[command(subcommand)]
        what: BenchKind,
    },
}

#[derive(Subcommand)]
enum BenchKind {
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
    },
    /// The 1588 ATR/ACR scenarios at full length, with their numbers.
    Ptp {
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Shorter runs (the lengths the tests use).
        #[arg(long)]
        quick: bool,
    },
    /// Codec throughput: messages parsed per second.
    Codec {
        /// Parses per message kind.
        #[arg(long, default_value_t = 2_000_000)]
        iterations: u64,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo {
            seed,
            duration,
            out,
        } => demo::run(seed, duration, &out),
        Command::Bench {
            what:
                BenchKind::Sim {
                    nodes,
                    rate,
                    seconds,
                },
        } => {
            bench::sim(nodes, rate, seconds);
            Ok(())
        }
        Command::Bench {
            what: BenchKind::Ptp { seed, quick },
        } => {
            bench_ptp::run(seed, quick);
            Ok(())
        }
        Command::Bench {
            what: BenchKind::Codec { iterations },
        } => {
            bench::codec(iterations);
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
