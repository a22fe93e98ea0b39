//! One device's whole engine (NTP and PTP, as one of eight configurations makes it) driven by a script of datagrams, echoing replies, honest peer turns, transmit timestamps and time; see meridian_fuzzing::device.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| meridian_fuzzing::device::device(data));
