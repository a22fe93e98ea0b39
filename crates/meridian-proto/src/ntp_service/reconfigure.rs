//! A commit applied to a running NTP service in place.

use std::net::Ipv4Addr;

use super::association::Association;
use super::config::{MAX_ASSOCIATIONS, NtpConfig};
use super::discipline::Discipline;
use super::{NtpNode, Reference};
use crate::engine::Now;

impl NtpNode {
    /// Applies a new configuration in place, as a router applies a commit: an association
    /// whose configuration is unchanged keeps every bit of its state (filter, reachability,
    /// poll, the system peer); a changed one starts afresh; a removed one goes. The clock
    /// discipline keeps its frequency and state unless its limits changed. Dynamic (passive)
    /// associations stay, re-judged against the new access rules. Returns whether anything
    /// changed.
    pub fn reconfigure(&mut self, now: Now, config: NtpConfig, addresses: Vec<Ipv4Addr>) -> bool {
        if config == self.config && addresses == self.addresses {
            return false;
        }
        let old = std::mem::take(&mut self.associations);
        let mut slots: Vec<Option<Association>> = old.into_iter().map(Some).collect();
        // Old index → new index, for transmit tokens and the system peer.
        let mut moved: Vec<Option<usize>> = vec![None; slots.len()];
        let source = config.source;
        for c in config.associations.iter().take(MAX_ASSOCIATIONS) {
            let local = c.source.unwrap_or(source);
            let same = slots.iter().position(|a| {
                a.as_ref()
                    .is_some_and(|a| !a.dynamic && a.config == *c && a.local == local)
            });
            let a = match same.and_then(|k| slots[k].take().map(|a| (k, a))) {
                Some((k, a)) => {
                    moved[k] = Some(self.associations.len());
                    a
                }
                None => Association::new(c.clone(), local, false, now.instant),
            };
            self.associations.push(a);
        }
        for (k, slot) in slots.into_iter().enumerate() {
            if let Some(mut a) = slot.filter(|a| a.dynamic)
                && self.associations.len() < MAX_ASSOCIATIONS
            {
                if a.config.key.is_none() {
                    a.selectable = config.access.explicitly_permits_peering(a.config.address);
                }
                moved[k] = Some(self.associations.len());
                self.associations.push(a);
            }
        }
        self.tokens = std::mem::take(&mut self.tokens)
            .into_iter()
            .filter_map(|(t, i)| Some((t, moved.get(i).copied().flatten()?)))
            .collect();
        self.sys.peer = self.sys.peer.and_then(|p| moved.get(p).copied().flatten());
        if self.sys.peer.is_none() && matches!(self.sys.reference, Reference::Peer(_)) {
            self.sys.reference = Reference::None;
        }
        if config.limits != self.config.limits {
            self.discipline = Discipline::new(config.limits, config.min_poll());
        }
        self.config = config;
        self.addresses = addresses;
        self.select(now, false);
        true
    }
}
