//! The `meridian` and `meridiand` command lines and what is generated from them (man pages,
//! shell completions). The programs themselves are the two binaries of this package.

pub mod assets;
pub mod cli;
pub mod daemon_cli;
