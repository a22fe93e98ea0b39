//! The server side of an NTP service: answering client requests (basic and interleaved) and
//! kissing those it will not serve.

use std::net::SocketAddrV4;

use super::access::{AccessClass, Verdict};
use super::{NtpNode, Reference, interleave};
use crate::engine::Now;
use crate::ntp::{Header, KissCode, LeapIndicator, Mode, ReferenceId};
use crate::time::{Duration, Timestamp};

/// Writes `at` into a serialized NTP packet as its transmit timestamp (bytes 40–47), its lowest
/// bit clear as every reply's is (see `interleave`): what the driver does for a
/// [`crate::engine::Transmit`] marked `late_ntp_transmit` just before sending it. A packet too
/// short to hold the field is left alone.
pub fn stamp_transmit(bytes: &mut [u8], at: Timestamp) {
    if let Some(field) = bytes.get_mut(40..48) {
        field.copy_from_slice(&interleave::mark_transmit(at.to_ntp()).0.to_be_bytes());
    }
}

impl NtpNode {
    /// Answers a client request (mode 3) with a server reply (mode 4), subject to where we serve,
    /// access control, rate limiting and authentication.
    pub(super) fn serve(
        &mut self,
        now: Now,
        from: SocketAddrV4,
        to: SocketAddrV4,
        req: &Header,
        auth: Result<Option<u32>, ()>,
        rx: Timestamp,
    ) {
        if !self.config.serve_on.contains(to.ip()) {
            self.drops.not_serving += 1;
            return;
        }
        let Ok(key) = auth else {
            self.drops.auth += 1;
            return;
        };
        match self.config.access.classify(*from.ip()) {
            Verdict::Denied => {
                self.drops.denied += 1;
                if self.config.access.kod {
                    self.kiss(to, from, req, KissCode::Deny, key);
                }
                return;
            }
            Verdict::Allowed(class) if !class.time_service() => {
                self.drops.denied += 1;
                return;
            }
            Verdict::Allowed(AccessClass::Limited) => {
                let a = &self.config.access;
                let (min, avg) = (
                    Duration::from_log2_secs(a.discard_min),
                    Duration::from_log2_secs(a.discard_avg),
                );
                if !self.rate.admit(*from.ip(), now.instant, min, avg) {
                    self.drops.rate_limited += 1;
                    if self.config.access.kod {
                        self.kiss(to, from, req, KissCode::Rate, key);
                    }
                    return;
                }
            }
            Verdict::Allowed(_) => {}
        }
        let transmit = interleave::mark_transmit(now.clock.to_ntp());
        if self.follows_ptp || matches!(self.sys.reference, Reference::Local(_)) {
            // The local reference clock is always current; never later than the transmit
            // timestamp with its flag bit cleared (clients drop replies whose reference time is
            // after their transmit time: half of them were, once the flag was introduced).
            self.sys.reftime = transmit;
        }
        let mut h = self.header(Mode::Server, req.version, req.poll);
        h.origin_timestamp = req.transmit_timestamp;
        h.receive_timestamp = interleave::mark_receive(rx.to_ntp());
        h.transmit_timestamp = transmit;
        let mut token = None;
        let mut basic = true;
        if interleave::wants_interleaved(
            req.version,
            req.origin_timestamp,
            req.receive_timestamp,
            req.transmit_timestamp,
        ) {
            // The client names our previous reply by its receive timestamp: send that reply's
            // real transmit timestamp, and remember this exchange for the next request.
            if let Some(sent) = self.interleave.take(req.origin_timestamp) {
                h.origin_timestamp = req.receive_timestamp;
                h.transmit_timestamp = sent.to_ntp();
                self.server.interleaved += 1;
                basic = false;
            }
            let t = self.fresh_token();
            self.interleave.save(h.receive_timestamp, t);
            token = Some(t);
        }
        self.server.replies += 1;
        self.send(*to.ip(), from, h, key, token, basic);
    }

    fn kiss(
        &mut self,
        local: SocketAddrV4,
        to: SocketAddrV4,
        req: &Header,
        code: KissCode,
        key: Option<u32>,
    ) {
        let mut h = self.header(Mode::Server, req.version, req.poll);
        h.leap = LeapIndicator::Unsynchronized;
        h.stratum = 0;
        h.reference_id = ReferenceId(code.code());
        h.origin_timestamp = req.transmit_timestamp;
        h.transmit_timestamp = req.transmit_timestamp;
        self.server.kod_sent += 1;
        self.send(*local.ip(), to, h, key, None, false);
    }
}
