//! Warnings that cannot flood the log: a failure a peer can trigger at packet rate (a send to an
//! unroutable address it named, say) logs at most a few lines per window, then one line saying
//! how many were suppressed.

use meridian_proto::engine::Instant;
use meridian_proto::time::Duration;

/// Lines let through per window.
pub const LINES_PER_WINDOW: u32 = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(10);

/// What to do with one occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// Log it; `suppressed` earlier occurrences went unlogged since the last line.
    Log {
        /// How many were suppressed before this one.
        suppressed: u64,
    },
    /// Count it, do not log it.
    Suppress,
}

/// A rate limit for one kind of warning.
#[derive(Clone, Debug, Default)]
pub struct LogLimit {
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl LogLimit {
    /// Whether an occurrence at `now` is logged.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.window_start.is_none_or(|s| now >= s.after(WINDOW)) {
            self.window_start = Some(now);
            self.in_window = 0;
        }
        if self.in_window < LINES_PER_WINDOW {
            self.in_window += 1;
            let suppressed = std::mem::take(&mut self.suppressed);
            Verdict::Log { suppressed }
        } else {
            self.suppressed += 1;
            Verdict::Suppress
        }
    }
}

/// Logs a warning through `limit`: `warn_limited!(limit, now, "send to {}: {e}", to)`.
#[macro_export]
macro_rules! warn_limited {
    ($limit:expr, $now:expr, $($arg:tt)+) => {
        match $limit.check($now) {
            $crate::log_limit::Verdict::Log { suppressed: 0 } => tracing::warn!($($arg)+),
            $crate::log_limit::Verdict::Log { suppressed } => {
                tracing::warn!("({suppressed} similar warnings suppressed)");
                tracing::warn!($($arg)+)
            }
            $crate::log_limit::Verdict::Suppress => {}
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_logs_five_lines_per_window_then_says_how_many_it_held_back() {
        let mut l = LogLimit::default();
        let at = |ms: i64| Instant::from_origin(Duration::from_millis(ms));
        let logged: Vec<Verdict> = (0..12_800)
            .map(|i| l.check(at(i * 10_000 / 12_800)))
            .filter(|v| *v != Verdict::Suppress)
            .collect();
        assert_eq!(logged, vec![Verdict::Log { suppressed: 0 }; 5]);
        // The next window's first line reports the rest.
        assert_eq!(l.check(at(10_000)), Verdict::Log { suppressed: 12_795 });
        assert_eq!(l.check(at(10_001)), Verdict::Log { suppressed: 0 });
    }
}
