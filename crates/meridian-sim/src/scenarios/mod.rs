//! Scenarios as functions of their parameters, so tests can run short variants and the bench
//! commands the full ones. Each returns what it measured.

pub mod faults;
pub mod ntp;
pub mod ptp;

pub use ptp::*;
