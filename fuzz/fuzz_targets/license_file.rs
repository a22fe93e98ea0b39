//! A license file's content: activation never panics; a configuration it permits saves and loads
//! back under it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| meridian_fuzzing::vrp::license_file(data));
