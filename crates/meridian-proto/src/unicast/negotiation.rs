//! The client's side of negotiating one message type with one server: request, grant or refusal,
//! renewal before the grant lapses, and back-off.

use super::config::{DURATION_RANGE, FASTEST_LOG_INTERVAL, SLOWEST_LOG_INTERVAL};
use crate::engine::Instant;
use crate::ptp::{GrantTlv, LogInterval};
use crate::time::Duration;

/// The first retry after an unanswered request or a refusal.
const BASE_RETRY: Duration = Duration::SECOND;
/// The longest back-off between attempts.
const MAX_RETRY: Duration = Duration::from_secs(64);
/// After an unanswered renewal, try again this soon (the grant is still running).
const RENEW_RETRY: Duration = Duration::SECOND;

/// Where the negotiation of one message type with one server stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negotiation {
    /// Not wanted.
    Idle,
    /// Asking; the next request goes out at `next_try`.
    Requesting {
        /// When to (re)send the request.
        next_try: Instant,
        /// Requests sent without an answer or answered with a refusal.
        attempts: u32,
    },
    /// Granted until `expires`; renewal requests start at `renew_at`.
    Granted {
        /// The granted interval.
        log_interval: LogInterval,
        /// The granted duration, seconds.
        duration: u32,
        /// When the grant lapses.
        expires: Instant,
        /// When to send the next renewal request.
        renew_at: Instant,
    },
}

/// What to do now for one negotiation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Nothing.
    Nothing,
    /// Send a REQUEST for it.
    Request,
    /// The grant lapsed without renewal: the service is gone.
    Lapsed,
}

/// A jitter factor in [0.5, 1.5) from a random word, so clients refused together do not retry
/// together.
fn jitter(d: Duration, random: u64) -> Duration {
    let f = 0.5 + (random >> 11) as f64 / (1u64 << 53) as f64;
    d.mul_f64(f)
}

/// Exponential back-off: 1, 2, 4, … 64 s, jittered.
fn backoff(attempts: u32, random: u64) -> Duration {
    let exp = BASE_RETRY
        .checked_mul(1 << attempts.min(6))
        .unwrap_or(MAX_RETRY);
    jitter(exp.min(MAX_RETRY), random)
}

impl Negotiation {
    /// Starts asking at `now` unless already asking or granted.
    pub fn want(&mut self, now: Instant) {
        if *self == Self::Idle {
            *self = Self::Requesting {
                next_try: now,
                attempts: 0,
            };
        }
    }

    /// Stops wanting the service (the caller sends CANCEL if it was granted).
    pub fn stop(&mut self) -> bool {
        let was_granted = matches!(self, Self::Granted { .. });
        *self = Self::Idle;
        was_granted
    }

    /// Whether the service is currently granted.
    #[must_use]
    pub fn is_granted(&self) -> bool {
        matches!(self, Self::Granted { .. })
    }

    /// The granted interval, if granted.
    #[must_use]
    pub fn granted_interval(&self) -> Option<LogInterval> {
        match self {
            Self::Granted { log_interval, .. } => Some(*log_interval),
            _ => None,
        }
    }

    /// The next instant this negotiation needs attention.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        match *self {
            Self::Idle => None,
            Self::Requesting { next_try, .. } => Some(next_try),
            Self::Granted {
                expires, renew_at, ..
            } => Some(renew_at.min(expires)),
        }
    }

    /// What is due at `now`.
    #[must_use]
    pub fn due(&self, now: Instant) -> Due {
        match *self {
            Self::Idle => Due::Nothing,
            Self::Requesting { next_try, .. } if now >= next_try => Due::Request,
            Self::Granted { expires, .. } if now >= expires => Due::Lapsed,
            Self::Granted { renew_at, .. } if now >= renew_at => Due::Request,
            _ => Due::Nothing,
        }
    }

    /// Records that a request was just sent, scheduling the retry if no grant comes.
    pub fn sent(&mut self, now: Instant, random: u64) {
        match self {
            Self::Requesting { next_try, attempts } => {
                *next_try = now.after(backoff(*attempts, random));
                *attempts += 1;
            }
            Self::Granted {
                renew_at, expires, ..
            } => {
                *renew_at = now.after(RENEW_RETRY).min(*expires);
            }
            Self::Idle => {}
        }
    }

    /// Brings a pending retry forward to `latest` at the latest (a request back-off must not
    /// outlast the outage that caused it).
    pub fn hasten(&mut self, latest: Instant) {
        if let Self::Requesting { next_try, .. } = self {
            *next_try = (*next_try).min(latest);
        }
    }

    /// The grant has lapsed: ask again at once.
    pub fn lapsed(&mut self, now: Instant) {
        *self = Self::Requesting {
            next_try: now,
            attempts: 0,
        };
    }

    /// Applies a GRANT TLV received at `now` for a request of interval `requested`. A refusal
    /// (duration 0) backs off.
    ///
    /// The grant's values come from the network and are bounded here, once: the interval is
    /// taken no faster than requested (so a grant cannot make us send Delay_Req faster than
    /// configured) and no slower than [`SLOWEST_LOG_INTERVAL`] (so timeouts derived from it
    /// stay finite); the duration is capped at the longest a server may grant.
    pub fn granted(&mut self, now: Instant, g: &GrantTlv, requested: LogInterval, random: u64) {
        if *self == Self::Idle {
            return; // not wanted any more; the caller cancels
        }
        if g.duration == 0 {
            // `attempts` counts requests sent; the k-th failure waits 2^(k−1) s.
            let attempts = match *self {
                Self::Requesting { attempts, .. } => attempts.max(1),
                _ => 1,
            };
            *self = Self::Requesting {
                next_try: now.after(backoff(attempts - 1, random)),
                attempts,
            };
            return;
        }
        let floor = requested
            .0
            .clamp(FASTEST_LOG_INTERVAL.0, SLOWEST_LOG_INTERVAL.0);
        let log_interval = LogInterval(g.log_period.0.clamp(floor, SLOWEST_LOG_INTERVAL.0));
        let granted_secs = g.duration.min(DURATION_RANGE.1);
        let duration = Duration::from_secs(i64::from(granted_secs));
        // Renew at three quarters of the grant, leaving a quarter for retries if requests are lost.
        let renew_in = duration.checked_div(4).map_or(duration, |q| duration - q);
        *self = Self::Granted {
            log_interval,
            duration: granted_secs,
            expires: now.after(duration),
            renew_at: now.after(renew_in),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ptp::MessageType;

    fn at(s: f64) -> Instant {
        Instant::from_origin(Duration::from_secs_f64(s))
    }

    fn grant(duration: u32) -> GrantTlv {
        GrantTlv {
            message_type: MessageType::Sync,
            log_period: LogInterval(-4),
            duration,
            renewal_invited: true,
        }
    }

    #[test]
    fn request_grant_renew_lapse() {
        let mut n = Negotiation::Idle;
        assert_eq!(n.due(at(0.0)), Due::Nothing);
        n.want(at(0.0));
        assert_eq!(n.due(at(0.0)), Due::Request);
        n.sent(at(0.0), 1 << 63); // jitter factor 1.0
        assert_eq!(n.deadline(), Some(at(1.0)));
        n.granted(at(0.2), &grant(60), LogInterval(-4), 0);
        assert_eq!(n.granted_interval(), Some(LogInterval(-4)));
        assert_eq!(n.deadline(), Some(at(45.2)), "renew at 3/4 of 60 s");
        assert_eq!(n.due(at(45.0)), Due::Nothing);
        assert_eq!(n.due(at(45.2)), Due::Request);
        n.sent(at(45.2), 0);
        // Renewal lost: retry one second later, still granted.
        assert_eq!(n.due(at(46.2)), Due::Request);
        assert!(n.is_granted());
        n.sent(at(46.2), 0);
        assert_eq!(n.due(at(60.2)), Due::Lapsed);
        n.lapsed(at(60.2));
        assert_eq!(n.due(at(60.2)), Due::Request);
    }

    #[test]
    fn refusals_back_off_exponentially_with_jitter_and_a_cap() {
        let mut n = Negotiation::Idle;
        n.want(at(0.0));
        let mut now = 0.0;
        let mut gaps = Vec::new();
        for _ in 0..10 {
            n.sent(at(now), 1 << 63);
            n.granted(at(now), &grant(0), LogInterval(-4), 1 << 63);
            let next = n.deadline().unwrap().since_origin().as_secs_f64();
            gaps.push(next - now);
            now = next;
        }
        // Each refusal doubles the wait (jitter 1.0 here), up to 64 s.
        assert_eq!(
            gaps,
            vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 64.0, 64.0, 64.0]
        );
        // Jitter spreads clients: factors 0.5 and ~1.5 of the same step.
        assert_eq!(jitter(Duration::from_secs(8), 0), Duration::from_secs(4));
        assert!(jitter(Duration::from_secs(8), u64::MAX) > Duration::from_millis(11_999));
    }

    #[test]
    fn hostile_grant_values_are_bounded_at_the_edge() {
        let hostile = |log: i8, duration: u32| GrantTlv {
            log_period: LogInterval(log),
            duration,
            ..grant(1)
        };
        let mut n = Negotiation::Idle;
        n.want(at(0.0));
        // −128 (a flood if obeyed) is taken as the requested −4.
        n.granted(at(0.0), &hostile(-128, 300), LogInterval(-4), 0);
        assert_eq!(n.granted_interval(), Some(LogInterval(-4)));
        // 100 (an overflow if multiplied out) is taken as the slowest, 2^7 s.
        n.granted(at(0.0), &hostile(100, 300), LogInterval(-4), 0);
        assert_eq!(n.granted_interval(), Some(SLOWEST_LOG_INTERVAL));
        // 0x7F (unspecified) too.
        n.granted(at(0.0), &hostile(0x7F, 300), LogInterval(-4), 0);
        assert_eq!(n.granted_interval(), Some(SLOWEST_LOG_INTERVAL));
        // A grant slower than asked is honoured.
        n.granted(at(0.0), &hostile(-2, 300), LogInterval(-4), 0);
        assert_eq!(n.granted_interval(), Some(LogInterval(-2)));
        // A duration of 2^32 − 1 s is capped at 1000 s: renewal comes at 750 s.
        n.granted(at(0.0), &hostile(-4, u32::MAX), LogInterval(-4), 0);
        assert_eq!(n.deadline(), Some(at(750.0)));
    }

    #[test]
    fn hasten_brings_a_retry_forward_only() {
        let mut n = Negotiation::Idle;
        n.hasten(at(1.0));
        assert_eq!(n, Negotiation::Idle);
        n.want(at(0.0));
        n.sent(at(0.0), 1 << 63);
        n.granted(at(0.0), &grant(0), LogInterval(-4), 1 << 63);
        n.sent(at(1.0), 1 << 63);
        let later = n.deadline().unwrap();
        n.hasten(at(100.0));
        assert_eq!(n.deadline(), Some(later), "never later");
        n.hasten(at(1.5));
        assert_eq!(n.deadline(), Some(at(1.5)));
    }

    #[test]
    fn stop_reports_whether_to_cancel() {
        let mut n = Negotiation::Idle;
        n.want(at(0.0));
        assert!(!n.stop());
        n.want(at(0.0));
        n.granted(at(0.0), &grant(300), LogInterval(-4), 0);
        assert!(n.stop());
        assert_eq!(n, Negotiation::Idle);
        // A grant arriving after the service was dropped is ignored.
        n.granted(at(1.0), &grant(300), LogInterval(-4), 0);
        assert_eq!(n, Negotiation::Idle);
    }
}
