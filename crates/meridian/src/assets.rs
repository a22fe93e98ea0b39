//! Man pages and shell completions, generated from the same clap definitions that parse the
//! command lines, so they cannot drift from `--help`.

use std::io::Write;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::daemon_cli::Args;

/// The shells completion scripts are packaged for.
pub const PACKAGED_SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// Writes `meridian`'s completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) {
    clap_complete::generate(shell, &mut Cli::command(), "meridian", out);
}

/// Writes under `dir`: `man/` with section-1 pages of `meridian` (one per visible subcommand as
/// well, `meridian-lab.1` …) and `meridiand`, and `completions/` with both programs' scripts for
/// [`PACKAGED_SHELLS`] (clap_complete's file names: `meridian.bash`, `_meridian`,
/// `meridian.fish` …).
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    let man = dir.join("man");
    let comp = dir.join("completions");
    std::fs::create_dir_all(&man)?;
    std::fs::create_dir_all(&comp)?;
    for mut cmd in [Cli::command(), Args::command()] {
        cmd.build();
        write_pages(&cmd, &man)?;
        let name = cmd.get_name().to_string();
        for shell in PACKAGED_SHELLS {
            clap_complete::generate_to(shell, &mut cmd, &name, &comp)?;
        }
    }
    Ok(())
}

/// One page for `cmd`, named by its path (`meridian-bench-ptp.1`), then one per visible
/// subcommand.
fn write_pages(cmd: &clap::Command, dir: &Path) -> std::io::Result<()> {
    let name = cmd
        .get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .manual("meridian")
        .source(format!("meridian {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)?;
    std::fs::write(dir.join(format!("{name}.1")), page)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() != "help" {
            write_pages(sub, dir)?;
        }
    }
    Ok(())
}
