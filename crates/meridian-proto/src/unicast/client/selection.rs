//! Which server the client tracks: failure detection (Announce and Sync receipt timeouts, PTSF),
//! wait-to-restore, and the reselection that follows.

use super::Client;
use crate::engine::Instant;
use crate::ptp::SignalingTlv;
use crate::time::Duration;
use crate::unicast::GrantedType;
use crate::unicast::server_link::ServerLink;

impl Client {
    /// How long without Announce (or Sync) before a server is declared failed: the configured
    /// number of Announce intervals, plus half an interval so that a late packet does not race
    /// the last one (a failure declared at exactly 3 intervals tripped on 5 % loss).
    pub(super) fn receipt_timeout(&self, s: &ServerLink) -> Duration {
        let log = s.announce_interval.unwrap_or(self.config.announce_interval);
        let interval = log.to_duration().unwrap_or(Duration::SECOND);
        let margin = interval.checked_div(2).unwrap_or_default();
        interval
            .checked_mul(self.config.receipt_timeout.max(1) as i64)
            .unwrap_or(Duration::MAX)
            + margin
    }

    /// When server `i` is declared failed for want of Announce and for want of Sync. For the
    /// tracked server any Sync also shows it alive: a few lost Announces among steady Syncs are
    /// loss, not failure.
    pub(super) fn failure_deadlines(&self, i: usize) -> (Option<Instant>, Option<Instant>) {
        let s = &self.servers[i];
        let timeout = self.receipt_timeout(s);
        let selected = self.selected == Some(i);
        // `None` orders below any instant: the later of the two that exist.
        let heard = s.last_announce.max(s.last_sync.filter(|_| selected));
        let announce = s.healthy_since.and(heard).map(|t| t.after(timeout));
        let sync = selected
            .then(|| s.last_sync.or(s.sync_granted_at).map(|t| t.after(timeout)))
            .flatten()
            .filter(|_| !s.ptsf);
        (announce, sync)
    }

    pub(super) fn health_deadline(&self, i: usize, s: &ServerLink) -> Option<Instant> {
        let (announce, sync) = self.failure_deadlines(i);
        // Only a better server waits to be restored; once restored it is selected at once.
        let better = self
            .selected
            .is_some_and(|sel| sel != i && s.rank(i) < self.servers[sel].rank(sel));
        let wtr = (better && s.usable())
            .then(|| {
                s.healthy_since
                    .map(|h| h.after(self.config.wait_to_restore))
            })
            .flatten();
        [announce, sync, wtr].into_iter().flatten().min()
    }

    /// Declares servers failed when Announce (or, for the tracked one, Sync) stops.
    pub(super) fn check_health(&mut self, now: Instant) {
        for i in 0..self.servers.len() {
            let (announce, sync) = self.failure_deadlines(i);
            let s = &self.servers[i];
            let announce_lost = s.healthy_since.is_some() && announce.is_none_or(|d| now >= d);
            let sync_lost = sync.is_some_and(|d| now >= d);
            if (announce_lost || sync_lost) && !s.ptsf {
                let s = &mut self.servers[i];
                s.ptsf = true;
                s.restoring = true;
                s.healthy_since = None;
                s.last_sync = None;
                s.sync_granted_at = None;
                // Start over with this server: ask for Announce again, drop the rest.
                s.negotiations[GrantedType::Announce as usize].lapsed(now);
                s.negotiations[GrantedType::Sync as usize].stop();
                s.negotiations[GrantedType::DelayResp as usize].stop();
            }
        }
    }

    /// Picks the server to track: the best usable one; a better one replaces a usable current
    /// one only after the wait-to-restore time.
    pub(super) fn reselect(&mut self, now: Instant) {
        let best = (0..self.servers.len())
            .filter(|&i| self.servers[i].usable())
            .min_by_key(|&i| self.servers[i].rank(i));
        let target = match (self.selected, best) {
            (Some(cur), Some(b)) if self.servers[cur].usable() => {
                let better = self.servers[b].rank(b) < self.servers[cur].rank(cur);
                if better && self.restored(b, now) {
                    Some(b)
                } else {
                    Some(cur)
                }
            }
            (_, b) => b,
        };
        if target == self.selected {
            return;
        }
        if let Some(old) = self.selected {
            let mut cancels = Vec::new();
            for kind in [GrantedType::Sync, GrantedType::DelayResp] {
                let s = &mut self.servers[old];
                if s.negotiations[kind as usize].stop() {
                    cancels.push(SignalingTlv::Cancel(kind.message_type()));
                }
                s.sync_granted_at = None;
                s.last_sync = None;
            }
            if !cancels.is_empty() {
                self.send_signaling(old, cancels);
            }
        }
        self.selected = target;
        self.syncs.clear();
        self.delay_req_t3.clear();
        self.delay_req_tokens.clear();
        self.next_delay_req = None;
        match target {
            Some(new) => {
                self.servo.path_changed();
                let s = &mut self.servers[new];
                s.negotiations[GrantedType::Sync as usize].want(now);
                if self.config.mode.two_way() {
                    s.negotiations[GrantedType::DelayResp as usize].want(now);
                }
            }
            None => self.servo.holdover(now, &mut self.scratch),
        }
    }

    /// Whether server `i` may be preferred: it never failed, or it has been healthy for the
    /// wait-to-restore time since it came back (which ends its restoring period).
    pub(super) fn restored(&mut self, i: usize, now: Instant) -> bool {
        let s = &mut self.servers[i];
        if s.restoring
            && s.healthy_since
                .is_some_and(|h| now >= h.after(self.config.wait_to_restore))
        {
            s.restoring = false;
        }
        !s.restoring
    }

    /// Whether server `i`'s PTSF is reported: never under lightweight synchronization, whose
    /// loosened budget clears and suppresses the alarm (the server is still left when it fails).
    #[must_use]
    pub fn ptsf_reported(&self, i: usize) -> bool {
        !self.config.lite_sync && self.servers.get(i).is_some_and(|s| s.ptsf)
    }
}
