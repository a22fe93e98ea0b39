//! pcap output: every simulated packet framed as Ethernet/IPv4/UDP with its true send time, so
//! Wireshark and tshark show the simulated network as if captured on it.

use std::io::{self, Write};
use std::net::SocketAddrV4;

use meridian_proto::time::Timestamp;

/// Writes a nanosecond-resolution pcap stream (link type Ethernet).
pub struct PcapWriter<W: Write> {
    out: W,
    ip_id: u16,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xA1B2_3C4Du32.to_le_bytes())?; // nanosecond magic
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
        Ok(Self { out, ip_id: 0 })
    }

    /// Appends one UDP datagram sent at true time `at`.
    pub fn write_udp(
        &mut self,
        at: Timestamp,
        from: SocketAddrV4,
        to: SocketAddrV4,
        dscp: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        self.ip_id = self.ip_id.wrapping_add(1);
        let frame = udp_frame(from, to, dscp, self.ip_id, payload);
        let since = at.since_epoch();
        let secs = since
            .ticks()
            .div_euclid(meridian_proto::time::Duration::SECOND.ticks());
        let nanos =
            (since - meridian_proto::time::Duration::from_secs(secs as i64)).as_nanos_floor();
        self.out.write_all(&(secs as u32).to_le_bytes())?;
        self.out.write_all(&(nanos as u32).to_le_bytes())?;
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(&frame)
    }

    /// Flushes and returns the sink.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A locally administered MAC address derived from an IPv4 address.
fn mac_for(addr: &SocketAddrV4) -> [u8; 6] {
    let [a, b, c, d] = addr.ip().octets();
    [0x02, 0x00, a, b, c, d]
}

fn checksum_add(mut sum: u32, data: &[u8]) -> u32 {
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += word as u32;
    }
    sum
}

fn checksum_fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet frame carrying `payload` in IPv4/UDP with valid checksums.
#[must_use]
pub fn udp_frame(
    from: SocketAddrV4,
    to: SocketAddrV4,
    dscp: u8,
    ip_id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let ip_len = 20 + udp_len;
    let mut f = Vec::with_capacity(14 + ip_len);
    f.extend_from_slice(&mac_for(&to));
    f.extend_from_slice(&mac_for(&from));
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let ip_start = f.len();
    f.push(0x45);
    f.push(dscp << 2);
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&ip_id.to_be_bytes());
    f.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
    f.push(64);
    f.push(17);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&from.ip().octets());
    f.extend_from_slice(&to.ip().octets());
    let ip_sum = checksum_fold(checksum_add(0, &f[ip_start..ip_start + 20]));
    f[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());
    let udp_start = f.len();
    f.extend_from_slice(&from.port().to_be_bytes());
    f.extend_from_slice(&to.port().to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&from.ip().octets());
    pseudo.extend_from_slice(&to.ip().octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
    let sum = checksum_add(checksum_add(0, &pseudo), &f[udp_start..]);
    let udp_sum = match checksum_fold(sum) {
        0 => 0xFFFF,
        s => s,
    };
    f[udp_start + 6..udp_start + 8].copy_from_slice(&udp_sum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn frame_checksums_verify() {
        let from = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 319);
        let to = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 2), 319);
        let f = udp_frame(from, to, 46, 7, b"hello");
        assert_eq!(f.len(), 14 + 20 + 8 + 5);
        // Re-summing a header that contains its checksum gives zero.
        assert_eq!(checksum_fold(checksum_add(0, &f[14..34])), 0);
        assert_eq!(f[15], 46 << 2);
        let mut pseudo = vec![192, 0, 2, 1, 192, 0, 2, 2, 0, 17, 0, 13];
        pseudo.extend_from_slice(&f[34..]);
        assert_eq!(checksum_fold(checksum_add(0, &pseudo)), 0);
    }

    #[test]
    fn records_carry_nanoseconds() {
        let from = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 123);
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let t = Timestamp::from_secs(1_700_000_000)
            + meridian_proto::time::Duration::from_nanos(123_456_789);
        w.write_udp(t, from, from, 0, &[1, 2, 3]).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(&out[..4], &0xA1B2_3C4Du32.to_le_bytes());
        assert_eq!(&out[24..28], &1_700_000_000u32.to_le_bytes());
        assert_eq!(&out[28..32], &123_456_789u32.to_le_bytes());
    }
}
