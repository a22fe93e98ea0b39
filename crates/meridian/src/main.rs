//! `meridian`: the lab (`meridian lab DIR`), the VRP shell of a running daemon
//! (`meridian shell --control PATH`), the simulator demo, and benchmarks.

use clap::Parser;
use meridian::cli::{BenchKind, Cli, Command};

mod bench;
mod bench_all;
mod bench_ptp;
mod bench_ptp_server;
mod bench_server;
mod demo;
mod lab;
mod parallel;
mod relay;
mod shell;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Lab {
            dir,
            duration,
            seed,
            json,
            plot,
            series,
            pcap,
            shell,
            seeds,
            threads,
        } => lab::run(&lab::LabOptions {
            dir,
            duration,
            seed,
            json,
            plot,
            series,
            pcap,
            shell,
            seeds,
            threads,
        }),
        Command::Shell { control, commands } => {
            let mut remote = shell::Remote::new(control);
            if commands.is_empty() {
                shell::interactive(&mut remote)
            } else {
                commands.iter().try_for_each(|c| {
                    print!("{}", shell::Console::run(&mut remote, c)?);
                    Ok(())
                })
            }
        }
        Command::Completions { shell } => {
            meridian::assets::completions(shell, &mut std::io::stdout());
            Ok(())
        }
        Command::PackageAssets { dir } => meridian::assets::write_all(&dir).map_err(Into::into),
        Command::Demo {
            seed,
            duration,
            out,
        } => demo::run(seed, duration, &out),
        Command::Relay {
            listen,
            client,
            server,
            ports,
            floor_us,
            floor_back_us,
            pdv,
            pdv_back,
            seed,
        } => (|| {
            let us = |v: f64| meridian_proto::time::Duration::from_nanos_f64(v * 1e3);
            let forth = lab::pdv_from_toml(&pdv)?;
            let back = pdv_back.as_deref().map_or(Ok(forth), lab::pdv_from_toml)?;
            let o = relay::RelayOptions {
                listen,
                ports,
                client,
                server,
                forth: relay::Direction {
                    floor: us(floor_us),
                    pdv: forth,
                },
                back: relay::Direction {
                    floor: us(floor_back_us.unwrap_or(floor_us)),
                    pdv: back,
                },
                seed,
            };
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            relay::run(&o, &stop).map(|_| ())
        })()
        .map_err(Into::into),
        Command::Bench {
            what:
                BenchKind::Sim {
                    nodes,
                    rate,
                    seconds,
                    no_trace_hash,
                },
        } => {
            let _ = bench::sim(nodes, rate, seconds, !no_trace_hash);
            Ok(())
        }
        Command::Bench {
            what:
                BenchKind::Ptp {
                    seed,
                    quick,
                    threads,
                },
        } => {
            bench_ptp::run(seed, quick, threads);
            Ok(())
        }
        Command::Bench {
            what:
                BenchKind::NtpServer {
                    seconds,
                    sockets,
                    window,
                    workers,
                    rounds,
                    load_cpu,
                },
        } => bench_server::ntp(&bench_server::NtpBench {
            seconds,
            sockets,
            window,
            workers,
            rounds,
            load_cpu,
        })
        .map(drop)
        .map_err(Into::into),
        Command::Bench {
            what:
                BenchKind::PtpServer {
                    clients,
                    log_rate,
                    seconds,
                    load_cpu,
                    ptp4l,
                },
        } => bench_ptp_server::run(&bench_ptp_server::PtpServerBench {
            clients,
            log_rate,
            seconds,
            load_cpu,
            against: if ptp4l {
                bench_ptp_server::Against::Ptp4l
            } else {
                bench_ptp_server::Against::Meridiand
            },
        })
        .map(drop)
        .map_err(Into::into),
        Command::Bench {
            what: BenchKind::All { quick, ptp_clients },
        } => bench_all::run(quick, ptp_clients),
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
