//! Access control (`ntp-service access … ACL`) and rate limiting of `limited` clients with a
//! bounded per-source table.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use crate::engine::Instant;
use crate::time::Duration;

/// One ACL rule: `rule [ID] permit|deny source ADDR WILDCARD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AclRule {
    /// Rule number; rules are matched in ascending order.
    pub id: u32,
    /// Permit or deny.
    pub permit: bool,
    /// Source address.
    pub source: Ipv4Addr,
    /// Wildcard mask: set bits are "don't care".
    pub wildcard: Ipv4Addr,
}

impl AclRule {
    /// Whether `addr` matches.
    #[must_use]
    pub fn matches(&self, addr: Ipv4Addr) -> bool {
        let care = !u32::from(self.wildcard);
        u32::from(addr) & care == u32::from(self.source) & care
    }
}

/// An ACL: rules in ascending id order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Acl {
    /// The rules.
    pub rules: Vec<AclRule>,
}

impl Acl {
    /// The first matching rule's verdict: `Some(true)` permit, `Some(false)` deny.
    #[must_use]
    pub fn decide(&self, addr: Ipv4Addr) -> Option<bool> {
        let mut rules: Vec<&AclRule> = self.rules.iter().collect();
        rules.sort_by_key(|r| r.id);
        rules
            .into_iter()
            .find(|r| r.matches(addr))
            .map(|r| r.permit)
    }
}

/// Access classes, most permissive first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessClass {
    /// Everything, including symmetric peering.
    Peer,
    /// Time service and queries.
    Server,
    /// Time service only.
    Synchronization,
    /// Control queries only (never answered over the network here).
    Query,
    /// Time service, rate limited.
    Limited,
}

impl AccessClass {
    /// All classes, most permissive first.
    pub const ALL: [Self; 5] = [
        Self::Peer,
        Self::Server,
        Self::Synchronization,
        Self::Query,
        Self::Limited,
    ];

    /// Whether this class may get time from us.
    #[must_use]
    pub const fn time_service(self) -> bool {
        !matches!(self, Self::Query)
    }

    /// Whether this class may peer symmetrically with us.
    #[must_use]
    pub const fn peering(self) -> bool {
        matches!(self, Self::Peer)
    }
}

/// What a source may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It is in this class.
    Allowed(AccessClass),
    /// Denied (or matched nothing while access control is configured).
    Denied,
}

/// The access configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessControl {
    /// ACL per class; none configured means everyone has `Peer` access.
    pub classes: BTreeMap<AccessClass, Acl>,
    /// `kod-enable`: answer denied sources with DENY and over-eager `limited` ones with RATE.
    pub kod: bool,
    /// `discard min-interval`, log2 s (default 1).
    pub discard_min: i8,
    /// `discard avg-interval`, log2 s (default 5).
    pub discard_avg: i8,
}

impl Default for AccessControl {
    fn default() -> Self {
        Self {
            classes: BTreeMap::new(),
            kod: false,
            discard_min: 1,
            discard_avg: 5,
        }
    }
}

impl AccessControl {
    /// Whether an ACL explicitly lets `addr` peer with us (the default "everyone is a peer" of
    /// an unconfigured device does not count: it answers peers but does not follow them).
    #[must_use]
    pub fn explicitly_permits_peering(&self, addr: Ipv4Addr) -> bool {
        !self.classes.is_empty() && self.classify(addr) == Verdict::Allowed(AccessClass::Peer)
    }

    /// The class of `addr`: the most permissive class whose ACL permits it first; a deny, or no
    /// match anywhere, denies.
    #[must_use]
    pub fn classify(&self, addr: Ipv4Addr) -> Verdict {
        if self.classes.is_empty() {
            return Verdict::Allowed(AccessClass::Peer);
        }
        for class in AccessClass::ALL {
            match self.classes.get(&class).and_then(|acl| acl.decide(addr)) {
                Some(true) => return Verdict::Allowed(class),
                Some(false) => return Verdict::Denied,
                None => {}
            }
        }
        Verdict::Denied
    }
}

#[derive(Clone, Copy, Debug)]
struct RateEntry {
    last: Instant,
    /// Exponentially averaged interval between requests, seconds.
    average: f64,
}

/// Per-source request history for rate limiting, in a table of fixed capacity: when it is full
/// the source seen longest ago is forgotten, so a flood of sources cannot grow memory.
#[derive(Clone, Debug)]
pub struct RateTable {
    capacity: usize,
    entries: BTreeMap<Ipv4Addr, RateEntry>,
    by_age: BTreeSet<(Instant, Ipv4Addr)>,
}

impl RateTable {
    /// A table holding at most `capacity` sources.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            by_age: BTreeSet::new(),
        }
    }

    /// How many sources are remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records a request from `addr` at `now`; `false` if it breaks the minimum or average
    /// interval.
    pub fn admit(&mut self, addr: Ipv4Addr, now: Instant, min: Duration, avg: Duration) -> bool {
        let (min, avg) = (min.as_secs_f64(), avg.as_secs_f64());
        let (gap, average) = match self.entries.get(&addr).copied() {
            Some(e) => {
                self.by_age.remove(&(e.last, addr));
                let gap = now.duration_since(e.last).as_secs_f64();
                // An 8-sample exponential average, like ntpd's.
                (gap, e.average + (gap - e.average) / 8.0)
            }
            None => {
                if self.entries.len() >= self.capacity
                    && let Some(oldest) = self.by_age.pop_first()
                {
                    self.entries.remove(&oldest.1);
                }
                (f64::INFINITY, avg)
            }
        };
        self.entries.insert(addr, RateEntry { last: now, average });
        self.by_age.insert((now, addr));
        gap >= min && average >= avg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(rules: &[(u32, bool, [u8; 4], [u8; 4])]) -> Acl {
        Acl {
            rules: rules
                .iter()
                .map(|&(id, permit, s, w)| AclRule {
                    id,
                    permit,
                    source: s.into(),
                    wildcard: w.into(),
                })
                .collect(),
        }
    }

    #[test]
    fn classes_from_most_to_least_permissive() {
        let mut a = AccessControl::default();
        assert_eq!(
            a.classify([1, 2, 3, 4].into()),
            Verdict::Allowed(AccessClass::Peer)
        );
        a.classes.insert(
            AccessClass::Limited,
            acl(&[(5, true, [0, 0, 0, 0], [255, 255, 255, 255])]),
        );
        a.classes.insert(
            AccessClass::Peer,
            acl(&[(5, true, [10, 0, 1, 0], [0, 0, 0, 255])]),
        );
        a.classes.insert(
            AccessClass::Server,
            acl(&[(1, false, [10, 0, 2, 7], [0, 0, 0, 0])]),
        );
        assert_eq!(
            a.classify([10, 0, 1, 9].into()),
            Verdict::Allowed(AccessClass::Peer)
        );
        assert_eq!(a.classify([10, 0, 2, 7].into()), Verdict::Denied);
        assert_eq!(
            a.classify([192, 0, 2, 1].into()),
            Verdict::Allowed(AccessClass::Limited)
        );
        a.classes.remove(&AccessClass::Limited);
        assert_eq!(
            a.classify([192, 0, 2, 1].into()),
            Verdict::Denied,
            "no match denies"
        );
    }

    #[test]
    fn rules_match_in_id_order() {
        let a = acl(&[
            (10, true, [10, 0, 0, 0], [0, 255, 255, 255]),
            (5, false, [10, 1, 0, 0], [0, 0, 255, 255]),
        ]);
        assert_eq!(a.decide([10, 1, 2, 3].into()), Some(false));
        assert_eq!(a.decide([10, 2, 2, 3].into()), Some(true));
        assert_eq!(a.decide([11, 0, 0, 1].into()), None);
    }

    #[test]
    fn rate_table_limits_and_stays_bounded() {
        let at = |s: f64| Instant::from_origin(Duration::from_secs_f64(s));
        let (min, avg) = (Duration::from_secs(2), Duration::from_secs(32));
        let mut t = RateTable::new(3);
        let ip: Ipv4Addr = [10, 0, 0, 1].into();
        assert!(t.admit(ip, at(0.0), min, avg));
        assert!(
            !t.admit(ip, at(1.0), min, avg),
            "under the minimum interval"
        );
        // Polling every 4 s passes the minimum but drags the average below 32 s.
        let mut ok = true;
        for k in 1..20 {
            ok &= t.admit(ip, at(1.0 + 4.0 * k as f64), min, avg);
        }
        assert!(!ok);
        for n in 0..100_000u32 {
            t.admit(Ipv4Addr::from(n), at(100.0 + n as f64), min, avg);
        }
        assert_eq!(t.len(), 3);
    }
}
