use proptest::prelude::*;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn server_reply() -> Header {
    Header {
        leap: LeapIndicator::NoWarning,
        version: 4,
        mode: Mode::Server,
        stratum: 2,
        poll: 6,
        precision: -20,
        root_delay: NtpShort(0x0000_0123),
        root_dispersion: NtpShort(0x0001_8000),
        reference_id: ReferenceId::from_ipv4(Ipv4Addr::new(10, 0, 1, 31)),
        reference_timestamp: NtpTimestamp(0xE000_0000_0000_0001),
        origin_timestamp: NtpTimestamp(0xE000_0001_8000_0000),
        receive_timestamp: NtpTimestamp(0xE000_0002_0000_0000),
        transmit_timestamp: NtpTimestamp(0xE000_0002_0000_1000),
    }
}

#[test]
fn exact_bytes() {
    let bytes = Packet::new(server_reply()).to_vec();
    assert_eq!(
        bytes,
        hex("24 02 06 ec 00000123 00018000 0a00011f
             e000000000000001 e000000180000000 e000000200000000 e000000200001000")
    );
    assert_eq!(Packet::parse(&bytes).unwrap(), Packet::new(server_reply()));
}

#[test]
fn kiss_codes() {
    let mut h = server_reply();
    h.stratum = 0;
    let mut buf = [0u8; 48];
    for (code, kiss) in [
        (b"DENY", KissCode::Deny),
        (b"RSTR", KissCode::Rstr),
        (b"RATE", KissCode::Rate),
    ] {
        h.reference_id = ReferenceId::from_ascii(code);
        Packet::new(h).serialize(&mut buf).unwrap();
        let p = Packet::parse(&buf).unwrap();
        assert_eq!(p.header.kiss_code(), Some(kiss));
        assert_eq!(kiss.code(), *code);
    }
    h.reference_id = ReferenceId::from_ascii(b"AUTH");
    assert_eq!(h.kiss_code(), Some(KissCode::Other(*b"AUTH")));
    assert_eq!(server_reply().kiss_code(), None);
}

#[test]
fn mac_trailers() {
    for len in [16, 20, 32] {
        let digest = vec![0x5A; len];
        let p = Packet {
            mac: Some(Mac {
                key_id: 42,
                digest: &digest,
            }),
            ..Packet::new(server_reply())
        };
        let bytes = p.to_vec();
        assert_eq!(bytes.len(), 48 + 4 + len);
        assert_eq!(&bytes[48..52], &42u32.to_be_bytes());
        assert_eq!(Packet::parse(&bytes).unwrap(), p);
    }
    let digest = [0u8; 8];
    let p = Packet {
        mac: Some(Mac {
            key_id: 1,
            digest: &digest,
        }),
        ..Packet::new(server_reply())
    };
    assert_eq!(p.serialize(&mut [0; 100]), Err(SerializeError));
}

#[test]
fn extension_fields_are_skipped() {
    let mut bytes = Packet::new(server_reply()).to_vec();
    bytes.extend(hex("0104 0010 00000000 00000000 00000000")); // 16-byte field
    bytes.extend(hex("0204 001c").into_iter().chain([0; 24])); // 28-byte field
    bytes.extend(hex("00000007").into_iter().chain([0xAB; 16])); // MD5 MAC
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(p.extension_fields, 2);
    assert_eq!(p.mac.unwrap().key_id, 7);
    assert_eq!(p.header, server_reply());
}

#[test]
fn versions_and_modes() {
    let mut bytes = Packet::new(server_reply()).to_vec();
    for v in 1..=4u8 {
        bytes[0] = v << 3 | 3;
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!((p.header.version, p.header.mode), (v, Mode::Client));
    }
    bytes[0] = 1 << 3; // NTPv1, no mode field: a client request
    assert_eq!(Packet::parse(&bytes).unwrap().header.mode, Mode::Client);
    bytes[0] = 4 << 3;
    assert_eq!(Packet::parse(&bytes), Err(ParseError::BadMode(0)));
    bytes[0] = 5 << 3 | 3;
    assert_eq!(Packet::parse(&bytes), Err(ParseError::BadVersion(5)));
    bytes[0] = 4 << 3 | 6;
    assert_eq!(Packet::parse(&bytes[..12]), Err(ParseError::NotHandled(6)));
    bytes[0] = 2 << 3 | 7;
    assert_eq!(Packet::parse(&bytes), Err(ParseError::NotHandled(7)));
}

#[test]
fn malformed_trailers() {
    let base = Packet::new(server_reply()).to_vec();
    assert_eq!(Packet::parse(&base[..47]), Err(ParseError::Truncated));
    let mut b = base.clone();
    b.extend([0; 5]);
    assert_eq!(Packet::parse(&b), Err(ParseError::BadTrailer(5)));
    let mut b = base.clone();
    b.extend(hex("0104 0012").into_iter().chain([0; 14]));
    assert_eq!(
        Packet::parse(&b),
        Err(ParseError::BadExtensionField {
            field_type: 0x104,
            length: 0x12
        })
    );
    let mut b = base.clone();
    b.extend(hex("0104 0040").into_iter().chain([0; 14]));
    assert_eq!(
        Packet::parse(&b),
        Err(ParseError::BadExtensionField {
            field_type: 0x104,
            length: 0x40
        })
    );
    // NTPv3 has no extension fields.
    let mut b = base.clone();
    b[0] = 3 << 3 | 4;
    b.extend([0; 16]);
    assert_eq!(Packet::parse(&b), Err(ParseError::BadTrailer(16)));
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (
            0u8..4,
            1u8..=4,
            1u8..=5,
            any::<u8>(),
            any::<i8>(),
            any::<i8>(),
        ),
        (any::<u32>(), any::<u32>(), any::<[u8; 4]>()),
        any::<[u64; 4]>(),
    )
        .prop_map(
            |((li, v, m, stratum, poll, precision), (rd, rdisp, refid), ts)| Header {
                leap: LeapIndicator::from_bits(li),
                version: v,
                mode: match m {
                    1 => Mode::SymmetricActive,
                    2 => Mode::SymmetricPassive,
                    3 => Mode::Client,
                    4 => Mode::Server,
                    _ => Mode::Broadcast,
                },
                stratum,
                poll,
                precision,
                root_delay: NtpShort(rd),
                root_dispersion: NtpShort(rdisp),
                reference_id: ReferenceId(refid),
                reference_timestamp: NtpTimestamp(ts[0]),
                origin_timestamp: NtpTimestamp(ts[1]),
                receive_timestamp: NtpTimestamp(ts[2]),
                transmit_timestamp: NtpTimestamp(ts[3]),
            },
        )
}

proptest! {
    #[test]
    fn parse_inverts_serialize(h in arb_header(), key: u32, dlen in prop::sample::select(vec![0usize, 16, 20, 32])) {
        let digest = vec![0xC3; dlen];
        let p = Packet { mac: (dlen > 0).then_some(Mac { key_id: key, digest: &digest }), ..Packet::new(h) };
        let bytes = p.to_vec();
        prop_assert_eq!(Packet::parse(&bytes), Ok(p));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        if let Ok(p) = Packet::parse(&bytes) {
            let again = p.to_vec();
            let reparsed = Packet::parse(&again).unwrap();
            prop_assert_eq!(reparsed.header, p.header);
            prop_assert_eq!(reparsed.mac, p.mac);
        }
    }
}
