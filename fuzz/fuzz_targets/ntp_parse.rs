//! Any bytes: parsing never panics, and whatever parses survives a serialize/parse round trip
//! (extension fields are skipped on parsing and not written back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meridian_proto::ntp::Packet;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let bytes = p.to_vec();
        let again = Packet::parse(&bytes).expect("re-parse");
        assert_eq!(again.header, p.header);
        assert_eq!(again.mac, p.mac);
    }
});
