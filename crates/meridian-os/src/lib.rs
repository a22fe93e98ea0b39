//! Linux I/O for meridian: UDP sockets with SO_TIMESTAMPING, DSCP and VRF binding; the virtual
//! and system clocks; the driver loop running a device's engines; the control socket. Unlike the
//! core crates it reads clocks and touches sockets.

pub mod clock;
pub mod control_plane;
pub mod driver;
pub mod hwts;
pub mod log_limit;
pub mod metrics;
pub mod ntp_trace;
pub mod ntp_workers;
pub mod socket;
