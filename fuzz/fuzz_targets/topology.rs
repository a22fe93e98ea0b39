//! A lab topology: refused in one line, or built and run for a bounded time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| meridian_fuzzing::lab::topology(data));
