//! One NTP association: the peer's variables, the on-wire state and the clock filter.

use std::net::Ipv4Addr;

use super::config::{AssociationConfig, AssociationKind};
use crate::engine::{Instant, TxToken};
use crate::ntp::{Header, LeapIndicator, ReferenceId};
use crate::time::{Duration, NtpTimestamp, Timestamp};

/// Frequency tolerance: how fast dispersion grows, s/s (15 ppm).
pub const PHI: f64 = 15e-6;
/// Dispersion of an empty filter stage, s.
pub const MAXDISP: f64 = 16.0;
/// Minimum root-distance contribution of delay, s.
pub const MINDISP: f64 = 0.01;
/// Clock filter stages.
pub const NSTAGE: usize = 8;
/// A dynamic (passive) association expires after this many of its peer's polls of silence.
pub const PASSIVE_SILENT_POLLS: i64 = 8;
/// The longest peer poll a passive association's expiry follows, log2 s (1024 s): however slowly
/// a peer claims to poll, its association is gone within 8 × 1024 s of silence.
pub const PASSIVE_MAXPOLL: i8 = 10;
/// Popcorn spike gate, in units of jitter.
const SGATE: f64 = 3.0;

/// One filter stage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FilterSample {
    /// θ, seconds.
    pub offset: f64,
    /// δ, seconds.
    pub delay: f64,
    /// ε when taken, seconds (it grows with age at PHI).
    pub dispersion: f64,
    /// When it was taken (local monotonic).
    pub at: Instant,
}

/// Why received packets were dropped, per association.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssociationCounters {
    /// Packets sent.
    pub sent: u64,
    /// Packets received and accepted.
    pub received: u64,
    /// Duplicates (transmit timestamp seen before).
    pub duplicate: u64,
    /// Bogus: origin timestamp not what we sent (spoofing or a stale reply).
    pub bogus: u64,
    /// Failed or missing authentication.
    pub auth: u64,
    /// Peer unsynchronized (LI 3 / stratum 16).
    pub unsynchronized: u64,
    /// Zero or impossible timestamps, excessive distance.
    pub invalid: u64,
    /// Kiss-o'-Death packets.
    pub kod: u64,
    /// Samples taken in interleaved mode (the server's real transmit timestamp).
    pub interleaved: u64,
}

/// An exchange answered, kept so the next request can name it: a server in interleaved mode
/// then sends the real transmit timestamp of its reply, which completes it (RFC 9769).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// Our real transmit time of the request.
    pub t1: Timestamp,
    /// The reply's receive timestamp as sent: the next request's origin names the reply by it.
    pub receive_wire: NtpTimestamp,
    /// The server's receive time.
    pub t2: Timestamp,
    /// Our receive time of the reply.
    pub t4: Timestamp,
    /// When the reply arrived (local monotonic): the time the sample is of.
    pub at: Instant,
}

/// An association.
#[derive(Clone, Debug)]
pub struct Association {
    /// Its configuration (synthesized for passive ones).
    pub config: AssociationConfig,
    /// Created on demand (symmetric passive).
    pub dynamic: bool,
    /// The local address it uses.
    pub local: Ipv4Addr,
    /// Peer variables from the last accepted packet.
    pub leap: LeapIndicator,
    /// The peer's stratum.
    pub stratum: u8,
    /// The peer's poll.
    pub ppoll: i8,
    /// The peer's root delay, s.
    pub root_delay: f64,
    /// The peer's root dispersion, s.
    pub root_dispersion: f64,
    /// The peer's reference ID.
    pub refid: ReferenceId,
    /// The peer's reference time.
    pub reftime: NtpTimestamp,
    /// What we put in our last transmit (random in client mode): the reply must echo it.
    pub org_wire: NtpTimestamp,
    /// Our real transmit time of that packet (T1).
    pub t1: Option<Timestamp>,
    /// The token of our last transmit, to learn its real time.
    pub token: Option<TxToken>,
    /// The peer's last transmit timestamp (duplicate detection, and our next origin in
    /// symmetric mode).
    pub last_xmt: NtpTimestamp,
    /// When we received the peer's last packet (our next receive field in symmetric mode).
    pub last_rec: Option<Timestamp>,
    /// Interleaved client mode: the last exchange answered, if the last request was.
    pub previous: Option<Exchange>,
    /// Interleaved client mode: the receive field of our last request (random, never zero;
    /// zero when it named no exchange). An interleaved reply echoes it as its origin.
    pub rec_wire: NtpTimestamp,
    /// Reachability register.
    pub reach: u8,
    /// Current poll, log2 s.
    pub poll: i8,
    /// Packets left in the current burst.
    pub burst: u8,
    /// When the next packet goes.
    pub next_poll: Instant,
    /// The clock filter, newest first.
    pub filter: [Option<FilterSample>; NSTAGE],
    /// The filter's output: offset, s.
    pub offset: f64,
    /// Delay of the chosen sample, s.
    pub delay: f64,
    /// Peer dispersion, s.
    pub dispersion: f64,
    /// Peer jitter, s.
    pub jitter: f64,
    /// When the filter last produced a sample.
    pub update: Option<Instant>,
    /// Whether the filter has a sample the system has not seen yet.
    pub fresh: bool,
    /// When the peer was last heard (local monotonic).
    pub heard: Option<Instant>,
    /// A DENY or RSTR kiss: never used again.
    pub denied: bool,
    /// When it was created (a dynamic one that is never heard expires from here).
    pub created: Instant,
    /// Whether it may become a selection candidate: configured ones, and passive ones that are
    /// authenticated or allowed to peer by an ACL. Others are answered but never followed.
    pub selectable: bool,
    /// Preemption mode: when an error took it out of selection (cleared when it is let back).
    pub preempted: Option<Instant>,
    /// Drop counters.
    pub counters: AssociationCounters,
}

impl Association {
    /// A new association starting to poll at `now`.
    #[must_use]
    pub fn new(config: AssociationConfig, local: Ipv4Addr, dynamic: bool, now: Instant) -> Self {
        Self {
            local,
            dynamic,
            leap: LeapIndicator::Unsynchronized,
            stratum: 16,
            ppoll: config.minpoll,
            root_delay: 0.0,
            root_dispersion: 0.0,
            refid: ReferenceId::default(),
            reftime: NtpTimestamp::ZERO,
            org_wire: NtpTimestamp::ZERO,
            t1: None,
            token: None,
            last_xmt: NtpTimestamp::ZERO,
            last_rec: None,
            previous: None,
            rec_wire: NtpTimestamp::ZERO,
            reach: 0,
            poll: config.minpoll,
            burst: 0,
            next_poll: now,
            filter: [None; NSTAGE],
            offset: 0.0,
            delay: 0.0,
            dispersion: MAXDISP,
            jitter: 0.0,
            update: None,
            fresh: false,
            heard: None,
            denied: false,
            created: now,
            selectable: true,
            preempted: None,
            counters: AssociationCounters::default(),
            config,
        }
    }

    /// The association's mode as sent.
    #[must_use]
    pub fn kind(&self) -> AssociationKind {
        self.config.kind
    }

    /// Root synchronization distance λ at `now`, s.
    #[must_use]
    pub fn root_distance(&self, now: Instant) -> f64 {
        let age = self
            .update
            .map_or(0.0, |u| now.duration_since(u).as_secs_f64());
        (self.root_delay + self.delay).max(MINDISP) / 2.0
            + self.root_dispersion
            + self.dispersion
            + PHI * age
            + self.jitter
    }

    /// Adds a sample to the clock filter; returns whether it produced a new output. As in
    /// RFC 5905, the output is the minimum-delay sample, released only if it is newer than the
    /// last one used; dispersion ages at PHI from each sample's own time.
    pub fn filter_sample(&mut self, s: FilterSample) -> bool {
        self.filter.rotate_right(1);
        self.filter[0] = Some(s);
        let now = s.at;
        let aged = |x: &FilterSample| {
            (x.dispersion + PHI * now.duration_since(x.at).as_secs_f64()).min(MAXDISP)
        };
        let mut sorted: Vec<FilterSample> = self.filter.iter().flatten().copied().collect();
        sorted.sort_by(|a, b| {
            a.delay
                .total_cmp(&b.delay)
                .then(aged(a).total_cmp(&aged(b)))
        });
        let best = sorted[0];
        // Peer dispersion: the stages weighted by 1/2, 1/4, …; empty stages count as MAXDISP.
        let mut dispersion = 0.0;
        for i in 0..NSTAGE {
            let d = sorted.get(i).map_or(MAXDISP, aged);
            dispersion += d / 2f64.powi(i as i32 + 1);
        }
        let n = sorted.len();
        let jitter = if n > 1 {
            (sorted
                .iter()
                .skip(1)
                .map(|x| (x.offset - best.offset).powi(2))
                .sum::<f64>()
                / (n - 1) as f64)
                .sqrt()
        } else {
            0.0
        };
        self.dispersion = dispersion;
        self.jitter = jitter.max(1e-9);
        if self.update.is_some_and(|u| best.at <= u) {
            return false; // nothing newer than what the system already used
        }
        // Popcorn spike: an offset far outside the jitter, soon after the last update, is held
        // once the filter has enough samples to know its jitter.
        let spike = self.update.is_some_and(|u| {
            (best.offset - self.offset).abs() > SGATE * jitter.max(1e-6)
                && best.at.duration_since(u).as_secs_f64() < 2.0 * 2f64.powi(self.poll as i32)
        });
        if spike && n >= NSTAGE / 2 {
            return false;
        }
        self.offset = best.offset;
        self.delay = best.delay;
        self.update = Some(best.at);
        self.fresh = true;
        true
    }

    /// Our clock was stepped by `step` seconds: every stored offset moves by as much, so the
    /// filter keeps its history instead of starting over, and the transmit time of a request
    /// still in flight is restated on the stepped clock (else its reply would carry the whole
    /// step as offset, and as a negative delay that makes it look like the best sample).
    pub fn shift(&mut self, step: f64) {
        for stage in self.filter.iter_mut().flatten() {
            stage.offset -= step;
        }
        self.offset -= step;
        let step = Duration::from_secs_f64(step);
        self.t1 = self.t1.map(|t| t + step);
        if let Some(p) = &mut self.previous {
            p.t1 += step;
            p.t4 += step;
        }
        self.fresh = false;
    }

    /// Clears the filter (the peer became unreachable).
    pub fn clear_filter(&mut self) {
        self.filter = [None; NSTAGE];
        self.dispersion = MAXDISP;
        self.update = None;
        self.fresh = false;
    }

    /// When a dynamic association expires: [`PASSIVE_SILENT_POLLS`] of its peer's polls (bounded
    /// to [`PASSIVE_MAXPOLL`]) after it was last heard, or after it was created if it never was
    /// (a half-built one whose first packet failed the checks). `None` for configured ones.
    #[must_use]
    pub fn expiry(&self) -> Option<Instant> {
        if !self.dynamic {
            return None;
        }
        let poll = Duration::from_log2_secs(self.ppoll.clamp(4, PASSIVE_MAXPOLL));
        let quiet = poll
            .checked_mul(PASSIVE_SILENT_POLLS)
            .unwrap_or(Duration::MAX);
        Some(self.heard.unwrap_or(self.created).after(quiet))
    }

    /// Whether the reachability register shows any of the last eight polls answered.
    #[must_use]
    pub fn reachable(&self) -> bool {
        self.reach != 0
    }

    /// Preemption mode: a reply to our outstanding request failed authentication. Only such a
    /// reply counts (its origin is our random transmit field): an off-path sender cannot take
    /// the server out of selection with forged packets.
    pub fn connection_error(&mut self, h: &Header, now: Instant) {
        if self.config.preempt && self.t1.is_some() && h.origin_timestamp == self.org_wire {
            self.preempted = Some(now);
        }
    }

    /// Preemption mode: clean replies came after the error (a sample newer than it).
    #[must_use]
    pub fn clean_since_error(&self) -> bool {
        matches!((self.preempted, self.update), (Some(e), Some(u)) if u > e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: f64) -> Instant {
        Instant::from_origin(Duration::from_secs_f64(s))
    }

    #[test]
    fn filter_picks_the_minimum_delay_sample() {
        let mut a = Association::new(
            AssociationConfig::server([10, 0, 0, 1].into()),
            [10, 0, 0, 2].into(),
            false,
            at(0.0),
        );
        let samples = [(0.010, 0.050), (0.001, 0.010), (0.020, 0.080)];
        for (i, (o, d)) in samples.iter().enumerate() {
            a.filter_sample(FilterSample {
                offset: *o,
                delay: *d,
                dispersion: 0.0,
                at: at(i as f64),
            });
        }
        assert_eq!((a.offset, a.delay), (0.001, 0.010));
        assert!(a.jitter > 0.0);
        // Five empty stages still weigh in at MAXDISP.
        assert!(a.dispersion > MAXDISP / 16.0);
        for i in 3..8 {
            a.filter_sample(FilterSample {
                offset: 0.001,
                delay: 0.011,
                dispersion: 0.0,
                at: at(i as f64),
            });
        }
        assert!(a.dispersion < 0.001, "{}", a.dispersion);
    }

    #[test]
    fn root_distance_grows_with_age() {
        let mut a = Association::new(
            AssociationConfig::server([10, 0, 0, 1].into()),
            [10, 0, 0, 2].into(),
            false,
            at(0.0),
        );
        a.filter_sample(FilterSample {
            offset: 0.0,
            delay: 0.02,
            dispersion: 0.0,
            at: at(0.0),
        });
        let d0 = a.root_distance(at(0.0));
        assert!(a.root_distance(at(1000.0)) - d0 > 0.0149);
    }
}
