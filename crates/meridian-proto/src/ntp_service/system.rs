//! The system process (RFC 5905 §11.2): from the associations that survive selection and
//! clustering, the system peer and the combined offset; the discipline's update; the system
//! variables a server advertises.

use super::*;

impl NtpNode {
    /// The system process: select, cluster, combine, discipline, and the system variables.
    pub(super) fn select(&mut self, now: Now, discipline: bool) {
        let max_distance = to_secs(self.config.max_distance);
        let addresses = self.addresses.clone();
        let candidates_of = |associations: &[Association]| -> Vec<Candidate> {
            associations
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.preempted.is_none()
                        && !a.denied
                        && a.selectable
                        && a.reachable()
                        && a.update.is_some()
                        && a.stratum < 16
                        && a.leap != LeapIndicator::Unsynchronized
                        // A peer synchronized to us would form a loop.
                        && !addresses.iter().any(|ip| ReferenceId::from_ipv4(*ip) == a.refid)
                        && a.root_distance(now.instant) < max_distance + PHI * 2f64.powi(a.poll as i32)
                })
                .map(|(i, a)| Candidate {
                    index: i,
                    offset: a.offset,
                    distance: a.root_distance(now.instant),
                    stratum: a.stratum,
                    jitter: a.jitter,
                    prefer: a.config.prefer,
                })
                .collect()
        };
        let mut candidates = candidates_of(&self.associations);
        // Preemption mode: a server an error took out comes back only when no other server is
        // a candidate and its replies since the error were clean.
        if candidates.is_empty() && self.associations.iter().any(Association::clean_since_error) {
            for a in &mut self.associations {
                if a.clean_since_error() {
                    a.preempted = None;
                }
            }
            candidates = candidates_of(&self.associations);
        }
        let survivors = select::cluster(select::intersect(&candidates));
        let best = select::combine(&survivors, self.sys.peer);
        let refclock = self.config.refclock;
        // A configured server of lower stratum beats the local reference clock.
        let use_peer = best.filter(|(p, _, _)| refclock.is_none_or(|r| p.stratum < r.stratum));
        match (use_peer, refclock) {
            (Some((peer, offset, jitter)), _) => {
                let fresh = self.associations[peer.index].fresh;
                if !(discipline && fresh) {
                    return;
                }
                for s in &survivors {
                    self.associations[s.index].fresh = false;
                }
                let (minpoll, maxpoll) = self.poll_range();
                let then = self.associations[peer.index].update.unwrap_or(now.instant);
                let theta = self.discipline.bring_up_to_date(-offset, then, now.instant);
                let outcome = if self.steering {
                    self.discipline.update(
                        now.instant,
                        theta,
                        jitter,
                        (minpoll, maxpoll),
                        &mut self.scratch,
                    )
                } else {
                    Outcome::Slewed
                };
                if outcome == Outcome::Stepped {
                    // Stored samples stay valid once moved by the step.
                    for a in &mut self.associations {
                        a.shift(offset);
                    }
                    // The clock was just set and its frequency is still unknown: an iburst
                    // peer keeps answering every 2 s until the measurement has its first
                    // points, instead of leaving 20 ppm to run for a whole poll (350 µs on
                    // loopback when the step came late in the burst).
                    let a = &mut self.associations[peer.index];
                    if self.discipline.state == DisciplineState::Fset && a.config.iburst {
                        a.burst = a.burst.max(FSET_BURST);
                        a.next_poll = a.next_poll.min(now.instant.after(Duration::from_secs(2)));
                    }
                }
                let a = &self.associations[peer.index];
                self.sys = SystemVars {
                    leap: a.leap,
                    stratum: a.stratum.saturating_add(1).min(16),
                    reference: Reference::Peer(a.config.address),
                    root_delay: a.root_delay + a.delay,
                    root_dispersion: a.root_dispersion + a.dispersion + jitter + offset.abs(),
                    reftime: now.clock.to_ntp(),
                    peer: Some(peer.index),
                    offset: if outcome == Outcome::Stepped {
                        0.0
                    } else {
                        theta
                    },
                    jitter,
                };
                let poll = self.discipline.poll;
                for a in self.associations.iter_mut().filter(|a| !a.dynamic) {
                    a.poll = poll.clamp(a.config.minpoll, a.config.maxpoll.max(a.config.minpoll));
                }
                self.flush();
            }
            (None, Some(r)) => {
                self.sys = SystemVars {
                    leap: LeapIndicator::NoWarning,
                    stratum: r.stratum,
                    reference: Reference::Local(r.unit),
                    root_delay: 0.0,
                    root_dispersion: 0.0,
                    reftime: if now.clock == Timestamp::EPOCH {
                        NtpTimestamp::ZERO
                    } else {
                        now.clock.to_ntp()
                    },
                    peer: None,
                    offset: 0.0,
                    jitter: 0.0,
                };
            }
            (None, None) => {
                // Keep the last values for display, but advertise unsynchronized.
                self.sys.leap = LeapIndicator::Unsynchronized;
                self.sys.stratum = 16;
                self.sys.reference = Reference::None;
                self.sys.peer = None;
            }
        }
    }
}
