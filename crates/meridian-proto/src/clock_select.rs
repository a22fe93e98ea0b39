//! The device clock's source selection (`clock source …`): one clock, several engines that could
//! steer it (the PTP client, the NTP service) and the local oscillator as the last resort. Only
//! the selected source's corrections reach the clock; the others keep measuring it.
//!
//! As on the router: a source takes part once `synchronization enable` is set and it has a
//! priority (1–255, lower wins; none means it stays out). When quality levels are configured
//! for any source (`ssm`), they come first (PRC > SSU-A > SSU-B > SEC > UNK; a source whose
//! level is DNU — the default when SSM selection is on and none is set — is never selected) and
//! the priority breaks ties. With no `clock source` settings at all, an available PTP client
//! wins over NTP, which wins over the local oscillator. Lightweight synchronization
//! (`ptp lite-sync sub-ms enable`) identifies sources automatically: every running source takes
//! part, those without settings after the configured ones.

use std::fmt;

/// A synchronization status message quality level (ITU-T G.781 option I), best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QualityLevel {
    /// Primary reference clock (G.811).
    Prc,
    /// Transit node clock (G.812 type A).
    Ssua,
    /// Local node clock (G.812 type B).
    Ssub,
    /// SDH equipment clock.
    Sec,
    /// Quality unknown.
    Unk,
    /// Do not use for synchronization.
    Dnu,
}

impl QualityLevel {
    /// The level named as the command language names it (`prc`, `ssua`, …).
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "prc" => Self::Prc,
            "ssua" => Self::Ssua,
            "ssub" => Self::Ssub,
            "sec" => Self::Sec,
            "unk" => Self::Unk,
            "dnu" => Self::Dnu,
            _ => return None,
        })
    }

    /// Its name in the command language.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Prc => "prc",
            Self::Ssua => "ssua",
            Self::Ssub => "ssub",
            Self::Sec => "sec",
            Self::Unk => "unk",
            Self::Dnu => "dnu",
        }
    }
}

/// What can drive the device clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Source {
    /// The PTP client's recovered clock.
    Ptp,
    /// The NTP service's system peer.
    Ntp,
    /// Nothing: the oscillator runs free (or in holdover).
    #[default]
    Local,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ptp => "ptp",
            Self::Ntp => "ntp",
            Self::Local => "local",
        })
    }
}

/// One source's `clock source` settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SourceSettings {
    /// `synchronization enable`.
    pub enabled: bool,
    /// `priority N` (1–255).
    pub priority: Option<u8>,
    /// `ssm QL`.
    pub ssm: Option<QualityLevel>,
}

impl SourceSettings {
    fn configured(&self) -> bool {
        *self != Self::default()
    }
}

/// The device's `clock source` settings for PTP and NTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockSources {
    /// `clock source ptp …`.
    pub ptp: SourceSettings,
    /// `clock source ntp …` (meridian's extension, the same words for NTP).
    pub ntp: SourceSettings,
    /// Automatic identification (`ptp lite-sync sub-ms enable`): no source is left out for
    /// want of `synchronization enable` or a priority.
    pub automatic: bool,
}

/// Why a source is or is not selectable, as `display clock source` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// The device runs no such engine.
    Absent,
    /// It runs, but has nothing to offer (not locked, not synchronized).
    Unavailable,
    /// It takes no part in selection (not enabled, no priority, or DNU).
    Excluded,
    /// It could be selected.
    Candidate,
}

/// A source's place in the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ranked {
    /// Which source.
    pub source: Source,
    /// Its standing.
    pub standing: Standing,
    /// Its quality level in the comparison (`None` when SSM takes no part).
    pub ql: Option<QualityLevel>,
    /// Its priority in the comparison.
    pub priority: Option<u8>,
}

impl ClockSources {
    /// Whether quality levels take part (any source has one configured).
    #[must_use]
    pub fn ssm_mode(&self) -> bool {
        self.ptp.ssm.is_some() || self.ntp.ssm.is_some()
    }

    /// Each source's standing, given which engines run (`present`) and which have something to
    /// offer (`available`), PTP then NTP.
    #[must_use]
    pub fn rank(&self, present: [bool; 2], available: [bool; 2]) -> [Ranked; 2] {
        let explicit = self.ptp.configured() || self.ntp.configured();
        let ssm = self.ssm_mode();
        let one = |i: usize, source: Source, s: &SourceSettings| {
            let ql = ssm.then(|| s.ssm.unwrap_or(QualityLevel::Dnu));
            let standing = if !present[i] {
                Standing::Absent
            } else if ql == Some(QualityLevel::Dnu) && (s.ssm.is_some() || !self.automatic)
                || explicit && !self.automatic && (!s.enabled || s.priority.is_none())
            {
                Standing::Excluded
            } else if !available[i] {
                Standing::Unavailable
            } else {
                Standing::Candidate
            };
            Ranked {
                source,
                standing,
                ql,
                priority: s.priority,
            }
        };
        [
            one(0, Source::Ptp, &self.ptp),
            one(1, Source::Ntp, &self.ntp),
        ]
    }

    /// The source that drives the clock: the best candidate, or the local oscillator.
    #[must_use]
    pub fn select(&self, present: [bool; 2], available: [bool; 2]) -> Source {
        Self::best(&self.rank(present, available))
    }

    /// The best candidate of a ranking ([`ClockSources::rank`]), or the local oscillator.
    #[must_use]
    pub fn best(ranked: &[Ranked; 2]) -> Source {
        ranked
            .iter()
            .filter(|r| r.standing == Standing::Candidate)
            // Quality first (a level left unset under automatic identification counts as
            // unknown), then priority (none: after every configured one); PTP before NTP on a
            // tie (the order of the array).
            .min_by_key(|r| {
                let ql = r.ql.map(|q| q.min(QualityLevel::Unk));
                (ql, r.priority.map_or(256, u16::from))
            })
            .map_or(Source::Local, |r| r.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(priority: u8, ssm: Option<QualityLevel>) -> SourceSettings {
        SourceSettings {
            enabled: true,
            priority: Some(priority),
            ssm,
        }
    }

    #[test]
    fn without_settings_ptp_wins_then_ntp_then_the_oscillator() {
        let c = ClockSources::default();
        assert_eq!(c.select([true, true], [true, true]), Source::Ptp);
        assert_eq!(c.select([true, true], [false, true]), Source::Ntp);
        assert_eq!(c.select([true, true], [false, false]), Source::Local);
        assert_eq!(c.select([false, true], [false, true]), Source::Ntp);
    }

    #[test]
    fn priorities_choose_and_an_unavailable_source_gives_way() {
        let c = ClockSources {
            ptp: settings(20, None),
            ntp: settings(10, None),
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Ntp);
        assert_eq!(c.select([true, true], [true, false]), Source::Ptp);
        // A source with settings but not enabled, or without a priority, stays out.
        let c = ClockSources {
            ptp: SourceSettings {
                enabled: false,
                ..settings(1, None)
            },
            ntp: SourceSettings {
                priority: None,
                ..settings(1, None)
            },
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Local);
        assert_eq!(
            c.rank([true, true], [true, true])[0].standing,
            Standing::Excluded
        );
    }

    #[test]
    fn automatic_identification_lets_every_running_source_in_after_the_configured_ones() {
        // NTP configured, PTP not: without lite-sync PTP stays out even when NTP has nothing.
        let ntp_only = ClockSources {
            ntp: settings(10, None),
            ..ClockSources::default()
        };
        assert_eq!(ntp_only.select([true, true], [true, false]), Source::Local);
        let lite = ClockSources {
            automatic: true,
            ..ntp_only
        };
        assert_eq!(lite.select([true, true], [true, false]), Source::Ptp);
        // The configured source first while it has something to offer.
        assert_eq!(lite.select([true, true], [true, true]), Source::Ntp);
        // A level set to DNU still keeps a source out.
        let dnu = ClockSources {
            ptp: SourceSettings {
                ssm: Some(QualityLevel::Dnu),
                ..SourceSettings::default()
            },
            ..lite
        };
        assert_eq!(dnu.select([true, true], [true, false]), Source::Local);
    }

    #[test]
    fn quality_levels_come_before_priorities_and_dnu_is_never_used() {
        let c = ClockSources {
            ptp: settings(20, Some(QualityLevel::Prc)),
            ntp: settings(10, Some(QualityLevel::Ssub)),
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Ptp);
        // Equal levels: the priority decides.
        let c = ClockSources {
            ptp: settings(20, Some(QualityLevel::Sec)),
            ntp: settings(10, Some(QualityLevel::Sec)),
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Ntp);
        // SSM selection on: a source without a level is DNU.
        let c = ClockSources {
            ptp: settings(20, Some(QualityLevel::Dnu)),
            ntp: settings(10, None),
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Local);
        // Equal level and priority: PTP.
        let c = ClockSources {
            ptp: settings(10, None),
            ntp: settings(10, None),
            automatic: false,
        };
        assert_eq!(c.select([true, true], [true, true]), Source::Ptp);
    }
}
