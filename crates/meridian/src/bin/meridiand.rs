//! `meridiand`, the daemon. It arrives with the daemon issue; until then it says so and exits
//! with a failure status rather than pretending to run.

fn main() -> std::process::ExitCode {
    eprintln!("meridiand: the daemon is not implemented yet (see README, Status)");
    std::process::ExitCode::FAILURE
}
