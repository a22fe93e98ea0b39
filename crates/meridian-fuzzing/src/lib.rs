//! Stateful fuzz targets: each takes arbitrary bytes, reads them as a script of operations
//! against a whole component, and panics if an invariant breaks.
//!
//! The bytes are read structurally (an operation code, then its fields), so random input
//! reaches deep state: replies that echo the engine's own origin timestamps and sequence ids get
//! past the on-wire checks into the filters, selection, servos and discipline. The same
//! functions run under libFuzzer (`fuzz/`, nightly, coverage-guided, for hours) and under the
//! stable, time-bounded random runner in this crate's tests (CI).
//!
//! Invariants checked by every target:
//! - no panic (the target itself is the check);
//! - no empty datagram is ever sent;
//! - no datagram to a stranger (an address not configured as a peer) is larger than the
//!   datagram it answers, but for PTP GRANTs, which are 2 bytes longer per TLV than the
//!   REQUESTs they answer (at most [`meridian_proto::unicast::server::MAX_TLVS`] TLVs);
//! - no timer is due at or before the instant just handled twice in a row (no spin);
//! - every display and the metrics renderer work on whatever state the engine is in;
//! - a lab topology is refused in one line or runs, bounded.

pub mod device;
pub mod lab;
pub mod reader;
pub mod runner;
pub mod vrp;
