//! Interleaved client/server mode, server side (RFC 9769).
//!
//! A basic reply must carry its transmit timestamp before it leaves, so it can only be an
//! estimate; the kernel's timestamp of the packet leaving is known only afterwards. A client in
//! interleaved mode names our previous reply to it by echoing that reply's receive timestamp as
//! its origin, and we answer with the previous reply's real transmit timestamp.
//!
//! Every reply marks its receive timestamp with the lowest bit set and its transmit timestamp
//! with it clear (as chrony does), so a request whose origin has the bit set comes from an
//! interleaved client: only those exchanges are remembered, in a bounded table keyed by the
//! receive timestamp as sent. An entry answers once (a replayed request gets a basic reply).

use std::collections::BTreeMap;

use crate::engine::TxToken;
use crate::time::{NtpTimestamp, Timestamp};

/// Exchanges remembered at most: at a 16-s poll, the last exchange of every one of 4096
/// interleaved clients polling at once.
pub(super) const CAPACITY: usize = 4096;

/// One remembered exchange: the transmit timestamp of our reply, once the driver reports it.
#[derive(Clone, Copy, Debug)]
struct Saved {
    token: TxToken,
    transmit: Option<Timestamp>,
}

/// The table of remembered exchanges.
#[derive(Debug, Default)]
pub(super) struct Interleave {
    /// Our receive timestamp as sent (flag bit set) → the exchange.
    saved: BTreeMap<u64, Saved>,
    /// Token → receive timestamp key, for every saved exchange. Tokens only grow, so the first
    /// entry is the oldest exchange (the one evicted).
    by_token: BTreeMap<TxToken, u64>,
}

/// The receive timestamp written into a reply: flag bit set.
#[must_use]
pub(super) fn mark_receive(t: NtpTimestamp) -> NtpTimestamp {
    NtpTimestamp(t.0 | 1)
}

/// The transmit timestamp written into a reply: flag bit clear.
#[must_use]
pub(super) fn mark_transmit(t: NtpTimestamp) -> NtpTimestamp {
    NtpTimestamp(t.0 & !1)
}

/// Whether a request comes from a client in interleaved mode: version 4, an origin carrying our
/// receive flag, and receive and transmit fields that differ (RFC 9769's test).
#[must_use]
pub(super) fn wants_interleaved(
    version: u8,
    origin: NtpTimestamp,
    receive: NtpTimestamp,
    transmit: NtpTimestamp,
) -> bool {
    version == 4 && origin.0 & 1 == 1 && receive != transmit
}

impl Interleave {
    /// The real transmit timestamp of the reply whose receive timestamp was `origin`, if known;
    /// the entry is used up.
    pub(super) fn take(&mut self, origin: NtpTimestamp) -> Option<Timestamp> {
        let s = self.saved.remove(&origin.0)?;
        self.by_token.remove(&s.token);
        s.transmit
    }

    /// Remembers the reply sent with receive timestamp `receive` (as sent) under `token`.
    pub(super) fn save(&mut self, receive: NtpTimestamp, token: TxToken) {
        while self.saved.len() >= CAPACITY {
            let Some((_, old)) = self.by_token.pop_first() else {
                break;
            };
            self.saved.remove(&old);
        }
        let saved = Saved {
            token,
            transmit: None,
        };
        if let Some(s) = self.saved.insert(receive.0, saved) {
            self.by_token.remove(&s.token);
        }
        self.by_token.insert(token, receive.0);
    }

    /// The driver reports when a remembered reply left; `false` if the token is not ours.
    pub(super) fn transmitted(&mut self, token: TxToken, at: Timestamp) -> bool {
        let Some(key) = self.by_token.get(&token) else {
            return false;
        };
        if let Some(s) = self.saved.get_mut(key) {
            s.transmit = Some(at);
        }
        true
    }

    /// Exchanges remembered.
    #[cfg(test)]
    #[must_use]
    pub(super) fn len(&self) -> usize {
        self.saved.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_stays_bounded_and_answers_once() {
        let mut t = Interleave::default();
        for k in 0..(3 * CAPACITY as u64) {
            t.save(mark_receive(NtpTimestamp(k << 1)), TxToken(k));
            assert!(t.transmitted(TxToken(k), Timestamp::from_secs(k as i64)));
        }
        assert_eq!(t.len(), CAPACITY);
        assert_eq!(t.by_token.len(), CAPACITY);
        let last = 3 * CAPACITY as u64 - 1;
        let key = mark_receive(NtpTimestamp(last << 1));
        assert_eq!(t.take(key), Some(Timestamp::from_secs(last as i64)));
        assert_eq!(t.take(key), None, "used up");
        // The oldest were evicted.
        assert_eq!(t.take(mark_receive(NtpTimestamp(0))), None);
        assert!(!t.transmitted(TxToken(0), Timestamp::from_secs(1)));
    }

    #[test]
    fn only_flagged_version_4_requests_are_interleaved() {
        let (o, r, x) = (NtpTimestamp(7), NtpTimestamp(10), NtpTimestamp(12));
        assert!(wants_interleaved(4, o, r, x));
        assert!(!wants_interleaved(3, o, r, x));
        assert!(!wants_interleaved(4, NtpTimestamp(6), r, x));
        assert!(!wants_interleaved(4, o, r, r));
        assert_eq!(mark_receive(NtpTimestamp(6)).0, 7);
        assert_eq!(mark_transmit(NtpTimestamp(7)).0, 6);
    }
}
