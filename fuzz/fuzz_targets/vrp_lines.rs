//! Lines typed at a device, with help and completion at every prefix; a committed configuration must save and load back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| meridian_fuzzing::vrp::lines(data));
