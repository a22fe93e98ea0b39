//! A configuration file: if it loads, what save writes of it loads back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| meridian_fuzzing::vrp::config_file(data));
