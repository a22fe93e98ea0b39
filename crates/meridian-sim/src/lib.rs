//! A deterministic discrete-event network simulator for meridian's engines.
//!
//! True time belongs to the simulator. Each node has an [`oscillator`] (phase, frequency offset,
//! random-walk wander, timestamp noise) under a [`clock`] its engine steers; links add a floor
//! delay, asymmetry, [`pdv`] and [`loss`]; packets follow shortest paths between the addresses
//! nodes own ([`network`]). One master seed drives every random choice through per-node and
//! per-link streams ([`rng`]), so a scenario run twice produces the same [`trace`] hash. The
//! [`metrics`] module turns time-error samples into percentiles, MTIE and TDEV; [`pcap`] writes
//! the simulated traffic for Wireshark; [`plot`] draws TE and MTIE/TDEV charts.

pub mod clock;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod oscillator;
pub mod pcap;
pub mod pdv;
pub mod plot;
pub mod rng;
pub mod scenarios;
pub mod sim;
pub mod trace;
pub mod workload;

pub use network::{Direction, LinkId, LinkModel, NodeId, Reorder, SegmentId, Vertex};
pub use oscillator::OscillatorModel;
pub use sim::{EngineFactory, NetStats, NodeConfig, NodeContext, PacketRecord, Simulator};
