//! A lab: a directory of device configurations and a `topology.toml`, checked before anything
//! runs, and built into a [`meridian_sim::Simulator`]. `meridian lab` runs and reports it; the
//! fuzz targets feed it hostile topology files.
//!
//! Every error is one line, `FILE:LINE: message` (or `FILE: message` where no line applies),
//! found before the simulation starts.

pub mod build;
pub mod devices;
pub mod error;
pub mod topology;

pub use build::{Lab, START, build};
pub use devices::{Device, load_devices};
pub use error::LabError;
pub use topology::Topology;
