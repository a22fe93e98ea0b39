//! The I/O-free core of meridian.
//!
//! Everything here is a pure function of its inputs: time and randomness are passed in by the
//! caller, nothing touches sockets, files or the host clock. That lets the same code run inside the
//! deterministic simulator and the real daemon (see `docs/architecture.md`).
//!
//! - [`time`]: fixed-point timestamps and durations with conversions to the PTP and NTP formats.
//! - [`ptp`]: the IEEE 1588-2008 (v2) wire codec for unicast negotiation over UDP.
//! - [`ntp`]: the NTPv4 (RFC 5905) wire codec.
//! - [`engine`]: the `handle` / `poll_output` / `poll_timeout` contract every protocol engine follows.
//! - [`event`]: typed events (reference, servo, negotiation changes) a device reports as they happen.
//! - [`clock_select`]: which source (PTP, NTP, the oscillator) drives a device's clock.

pub mod clock_select;
pub mod engine;
pub mod event;
mod fit;
pub mod node;
pub mod ntp;
pub mod ntp_service;
pub mod ptp;
pub mod rng;
pub mod servo;
pub mod time;
pub mod unicast;
mod wire;
