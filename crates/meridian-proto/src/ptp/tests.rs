use proptest::prelude::*;

use super::*;
use crate::time::{Correction, PtpTimestamp};

fn port(b: u8, n: u16) -> PortIdentity {
    PortIdentity {
        clock_identity: ClockIdentity([b; 8]),
        port_number: n,
    }
}

fn header(seq: u16) -> Header {
    Header::new(port(0xAA, 1), 44, SequenceId(seq))
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn multi_tlv_request_exact_bytes() {
    let msg = Message {
        header: Header {
            flags: Flags::UNICAST,
            ..header(7)
        },
        body: Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs: vec![
                SignalingTlv::Request(RequestTlv {
                    message_type: MessageType::Sync,
                    log_period: LogInterval(-4),
                    duration: 300,
                }),
                SignalingTlv::Request(RequestTlv {
                    message_type: MessageType::DelayResp,
                    log_period: LogInterval(-4),
                    duration: 300,
                }),
            ],
        }),
    };
    let expected = hex(
        "0c 02 0040 2c 00 0400 0000000000000000 00000000 aaaaaaaaaaaaaaaa 0001 0007 05 7f
         ffffffffffffffff ffff
         0004 0006 00 fc 0000012c
         0004 0006 90 fc 0000012c",
    );
    assert_eq!(msg.to_vec(), expected);
    assert_eq!(Message::parse(&expected).unwrap(), msg);
}

#[test]
fn grant_and_cancel_exact_bytes() {
    let body = Body::Signaling(Signaling {
        target_port: port(0xBB, 1),
        tlvs: vec![
            SignalingTlv::Grant(GrantTlv {
                message_type: MessageType::Announce,
                log_period: LogInterval(1),
                duration: 60,
                renewal_invited: true,
            }),
            SignalingTlv::Cancel(MessageType::Sync),
            SignalingTlv::AcknowledgeCancel(MessageType::DelayResp),
        ],
    });
    let bytes = Message {
        header: header(1),
        body,
    }
    .to_vec();
    assert_eq!(bytes.len(), 34 + 10 + 12 + 6 + 6);
    assert_eq!(
        &bytes[44..],
        &hex("0005 0008 b0 01 0000003c 00 01  0006 0002 00 00  0007 0002 90 00")[..]
    );
}

#[test]
fn event_and_general_bodies_exact_bytes() {
    let ts = PtpTimestamp::new(0x0102_0304_0506, 0x0708_090A).unwrap();
    let mut h = header(0x1234);
    h.correction = Correction(-1);
    h.log_message_interval = LogInterval(-7);
    h.flags = Flags::TWO_STEP | Flags::UNICAST;
    let sync = Message {
        header: h,
        body: Body::Sync {
            origin_timestamp: ts,
        },
    }
    .to_vec();
    assert_eq!(
        sync,
        hex(
            "00 02 002c 2c 00 0600 ffffffffffffffff 00000000 aaaaaaaaaaaaaaaa 0001 1234 00 f9
             010203040506 0708090a"
        )
    );
    let resp = Message {
        header: header(9),
        body: Body::DelayResp {
            receive_timestamp: ts,
            requesting_port: port(0x11, 2),
        },
    }
    .to_vec();
    assert_eq!(resp.len(), 54);
    assert_eq!(resp[0], 0x09);
    assert_eq!(resp[32], 3);
    assert_eq!(&resp[44..], &hex("1111111111111111 0002")[..]);
}

fn sample_announce() -> Announce {
    Announce {
        origin_timestamp: PtpTimestamp::new(1_700_000_000, 5).unwrap(),
        current_utc_offset: 37,
        priority1: 128,
        clock_quality: ClockQuality {
            clock_class: 6,
            clock_accuracy: 0x21,
            offset_scaled_log_variance: 0x4E5D,
        },
        priority2: 127,
        grandmaster_identity: ClockIdentity([1, 2, 3, 0xFF, 0xFE, 4, 5, 6]),
        steps_removed: 1,
        time_source: TimeSource::GNSS,
    }
}

#[test]
fn announce_exact_bytes() {
    let bytes = Message {
        header: header(3),
        body: Body::Announce(sample_announce()),
    }
    .to_vec();
    assert_eq!(bytes.len(), 64);
    assert_eq!(
        &bytes[34..],
        &hex("00006553f100 00000005 0025 00 80 06 21 4e5d 7f 010203fffe040506 0001 20")[..]
    );
}

#[test]
fn minor_version_one_is_accepted() {
    let mut bytes = Message {
        header: header(3),
        body: Body::Announce(sample_announce()),
    }
    .to_vec();
    bytes[1] = 0x12; // linuxptp 4.x sends PTP 2.1
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.minor_version, 1);
    assert_eq!(m.to_vec(), bytes);
}

#[test]
fn unknown_tlvs_are_skipped_by_length() {
    let mut bytes = Message {
        header: header(3),
        body: Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs: vec![],
        }),
    }
    .to_vec();
    // An unknown TLV (odd length, padded), then a CANCEL.
    bytes.extend(hex("8001 0003 aabbcc 00  0006 0002 b0 00"));
    let len = bytes.len() as u16;
    bytes[2..4].copy_from_slice(&len.to_be_bytes());
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(
        m.body,
        Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs: vec![SignalingTlv::Cancel(MessageType::Announce)]
        })
    );
}

#[test]
fn suffix_tlv_on_announce_is_skipped() {
    let mut bytes = Message {
        header: header(3),
        body: Body::Announce(sample_announce()),
    }
    .to_vec();
    bytes.extend(hex("0008 0008 0102030405060708")); // PATH_TRACE
    bytes[2..4].copy_from_slice(&76u16.to_be_bytes());
    assert_eq!(
        Message::parse(&bytes).unwrap().body,
        Body::Announce(sample_announce())
    );
}

#[test]
fn typed_errors() {
    let good = Message {
        header: header(3),
        body: Body::DelayResp {
            receive_timestamp: PtpTimestamp::ZERO,
            requesting_port: port(1, 1),
        },
    }
    .to_vec();
    assert_eq!(
        Message::parse(&good[..20]),
        Err(ParseError::LengthMismatch {
            declared: 54,
            available: 20
        })
    );
    assert_eq!(Message::parse(&good[..1]), Err(ParseError::Truncated));
    let mut v1 = good.clone();
    v1[1] = 0x01;
    assert_eq!(Message::parse(&v1), Err(ParseError::BadVersion(1)));
    let mut short = good.clone();
    short[2..4].copy_from_slice(&44u16.to_be_bytes());
    assert_eq!(
        Message::parse(&short),
        Err(ParseError::BodyTooShort(MessageType::DelayResp))
    );
    let mut reserved = good.clone();
    reserved[0] = 0x05;
    assert_eq!(
        Message::parse(&reserved),
        Err(ParseError::UnknownMessageType(5))
    );
    let mut mgmt = good.clone();
    mgmt[0] = 0x0D;
    assert_eq!(
        Message::parse(&mgmt),
        Err(ParseError::NotHandled(MessageType::Management))
    );
    let mut pdelay = good.clone();
    pdelay[0] = 0x02;
    assert_eq!(
        Message::parse(&pdelay),
        Err(ParseError::NotHandled(MessageType::PdelayReq))
    );
    let mut bad_ns = good.clone();
    bad_ns[40..44].copy_from_slice(&1_000_000_000u32.to_be_bytes());
    assert_eq!(Message::parse(&bad_ns), Err(ParseError::BadTimestamp));
    // Padding after messageLength is ignored.
    let mut padded = good.clone();
    padded.extend([0; 10]);
    assert!(Message::parse(&padded).is_ok());
}

#[test]
fn bad_tlv_lengths() {
    let base = Message {
        header: header(3),
        body: Body::Signaling(Signaling {
            target_port: PortIdentity::WILDCARD,
            tlvs: vec![],
        }),
    }
    .to_vec();
    for (tlv, err) in [
        // REQUEST with a 4-byte value.
        (
            hex("0004 0004 00 fc 0000"),
            ParseError::BadTlvLength {
                tlv_type: 4,
                length: 4,
            },
        ),
        // Length running past the message.
        (
            hex("8000 0040 0000"),
            ParseError::BadTlvLength {
                tlv_type: 0x8000,
                length: 0x40,
            },
        ),
        // A reserved message type in a CANCEL.
        (hex("0006 0002 40 00"), ParseError::BadTlvMessageType(4)),
    ] {
        let mut b = base.clone();
        b.extend(&tlv);
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(Message::parse(&b), Err(err));
    }
}

#[test]
fn small_buffer_is_an_error() {
    let m = Message {
        header: header(3),
        body: Body::Announce(sample_announce()),
    };
    assert_eq!(m.serialize(&mut [0; 63]), Err(SerializeError));
    assert_eq!(m.serialize(&mut [0; 64]), Ok(64));
}

// ---- property tests: generated messages round-trip; arbitrary bytes never panic ----

fn arb_port() -> impl Strategy<Value = PortIdentity> {
    (any::<[u8; 8]>(), any::<u16>()).prop_map(|(c, n)| PortIdentity {
        clock_identity: ClockIdentity(c),
        port_number: n,
    })
}

fn arb_ts() -> impl Strategy<Value = PtpTimestamp> {
    (0..=crate::time::PTP_MAX_SECONDS, 0u32..1_000_000_000)
        .prop_map(|(s, n)| PtpTimestamp::new(s, n).unwrap())
}

fn arb_type() -> impl Strategy<Value = MessageType> {
    (0u8..16).prop_filter_map("reserved", MessageType::from_nibble)
}

fn arb_tlv() -> impl Strategy<Value = SignalingTlv> {
    prop_oneof![
        (arb_type(), any::<i8>(), any::<u32>()).prop_map(|(t, p, d)| SignalingTlv::Request(
            RequestTlv {
                message_type: t,
                log_period: LogInterval(p),
                duration: d
            }
        )),
        (arb_type(), any::<i8>(), any::<u32>(), any::<bool>()).prop_map(|(t, p, d, r)| {
            SignalingTlv::Grant(GrantTlv {
                message_type: t,
                log_period: LogInterval(p),
                duration: d,
                renewal_invited: r,
            })
        }),
        arb_type().prop_map(SignalingTlv::Cancel),
        arb_type().prop_map(SignalingTlv::AcknowledgeCancel),
    ]
}

fn arb_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        arb_ts().prop_map(|t| Body::Sync {
            origin_timestamp: t
        }),
        arb_ts().prop_map(|t| Body::DelayReq {
            origin_timestamp: t
        }),
        arb_ts().prop_map(|t| Body::FollowUp {
            precise_origin_timestamp: t
        }),
        (arb_ts(), arb_port()).prop_map(|(t, p)| Body::DelayResp {
            receive_timestamp: t,
            requesting_port: p
        }),
        (
            arb_ts(),
            any::<(i16, u8, u8, u8, u16, u8, [u8; 8], u16, u8)>()
        )
            .prop_map(|(ts, (off, p1, class, acc, var, p2, gm, steps, src))| {
                Body::Announce(Announce {
                    origin_timestamp: ts,
                    current_utc_offset: off,
                    priority1: p1,
                    clock_quality: ClockQuality {
                        clock_class: class,
                        clock_accuracy: acc,
                        offset_scaled_log_variance: var,
                    },
                    priority2: p2,
                    grandmaster_identity: ClockIdentity(gm),
                    steps_removed: steps,
                    time_source: TimeSource(src),
                })
            }),
        (arb_port(), proptest::collection::vec(arb_tlv(), 0..8)).prop_map(|(p, tlvs)| {
            Body::Signaling(Signaling {
                target_port: p,
                tlvs,
            })
        }),
    ]
}

/// Any message this codec can produce.
pub(crate) fn arb_message() -> impl Strategy<Value = Message> {
    (
        (0u8..16, 0u8..16, any::<u8>(), any::<u8>(), any::<u16>()),
        (
            any::<i64>(),
            any::<u32>(),
            arb_port(),
            any::<u16>(),
            any::<i8>(),
        ),
        arb_body(),
    )
        .prop_map(
            |((sdo, minor, domain, msdo, flags), (corr, mts, src, seq, lmi), body)| Message {
                header: Header {
                    sdo_id: sdo,
                    minor_version: minor,
                    domain,
                    minor_sdo_id: msdo,
                    flags: Flags(flags),
                    correction: Correction(corr),
                    message_type_specific: mts,
                    source_port: src,
                    sequence_id: SequenceId(seq),
                    log_message_interval: LogInterval(lmi),
                },
                body,
            },
        )
}

proptest! {
    #[test]
    fn parse_inverts_serialize(m in arb_message()) {
        let bytes = m.to_vec();
        prop_assert_eq!(bytes.len(), m.wire_len());
        prop_assert_eq!(Message::parse(&bytes), Ok(m));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(m) = Message::parse(&bytes) {
            // Whatever parses re-serializes to something that parses to the same message.
            prop_assert_eq!(Message::parse(&m.to_vec()), Ok(m));
        }
    }

    #[test]
    fn mutated_messages_never_panic(m in arb_message(), idx: usize, val: u8, cut: usize) {
        let mut bytes = m.to_vec();
        let i = idx % bytes.len();
        bytes[i] = val;
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(m) = Message::parse(&bytes) {
            prop_assert_eq!(Message::parse(&m.to_vec()), Ok(m));
        }
    }
}
