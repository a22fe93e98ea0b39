//! Any bytes: parsing never panics, and whatever parses survives a serialize/parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meridian_proto::ptp::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::parse(data) {
        let bytes = msg.to_vec();
        assert_eq!(Message::parse(&bytes).as_ref(), Ok(&msg));
    }
});
