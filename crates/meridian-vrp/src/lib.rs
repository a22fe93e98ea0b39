//! The router command language (VRP) of meridian: one declarative command tree
//! ([`commands::table`]) from which parsing, `?` help, Tab completion and
//! `display current-configuration` rendering derive; candidate and running configurations with
//! two-stage commit ([`session`]); `display` renderers over engine snapshots ([`display`]).
//!
//! This crate is I/O-free like `meridian-proto`: it never reads files or clocks; callers hand it
//! text and snapshots.
#![warn(missing_docs)]

pub mod cipher;
pub mod commands;
pub mod config;
pub mod device;
pub mod display;
pub mod json;
pub mod parse;
pub mod render;
pub mod session;
pub mod syntax;
pub mod typed_json;
