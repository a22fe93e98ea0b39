//! The router command language (VRP) of meridian: one declarative command tree from which parsing,
//! `?` help, Tab completion and `display current-configuration` rendering derive; candidate and
//! running configurations with two-stage commit; `display` renderers over engine snapshots.
//!
//! This crate is I/O-free like `meridian-proto`. Its contents arrive with the command-language
//! issue; the workspace carries it now so the dependency graph of DESIGN.md is fixed from the
//! start.
#![warn(missing_docs)]
