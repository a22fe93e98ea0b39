//! Linux I/O for meridian: UDP sockets with SO_TIMESTAMPING, DSCP and VRF binding; the system and
//! virtual clocks; the tokio driver loop; the control socket. Unlike the core crates it may read
//! clocks and touch sockets. Its contents arrive with the daemon issue.
