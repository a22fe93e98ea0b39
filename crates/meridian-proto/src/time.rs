//! Fixed-point time: [`Timestamp`] and [`Duration`] in units of 2^-32 ns.
//!
//! One unit (a *tick*) is 2^-32 ns ≈ 0.23 attoseconds. The unit is chosen so every wire format
//! converts into it exactly: PTP nanoseconds (2^32 ticks), the PTP correctionField (2^-16 ns =
//! 2^16 ticks) and the NTP fraction (2^-32 s = 10^9 ticks). An `i128` of ticks spans about
//! ±1.25·10^12 years, so no value decoded from the wire (48-bit PTP seconds, 64-bit corrections,
//! NTP eras) can overflow when added or subtracted. Values a peer controls can still be combined
//! into extremes (a log interval of 127, a correction of 2^63), so the operators saturate at the
//! range instead of panicking or wrapping: no arithmetic on hostile input can crash the engine.
//! The `checked_*` methods return `None` where overflow must be seen.

use core::fmt;
use core::ops::{Add, AddAssign, Neg, Sub, SubAssign};

/// Ticks in one nanosecond.
const TICKS_PER_NS: i128 = 1 << 32;
/// Ticks in one second.
const TICKS_PER_SEC: i128 = 1_000_000_000 * TICKS_PER_NS;
/// Ticks in one NTP fraction unit (2^-32 s).
const TICKS_PER_NTP_UNIT: i128 = 1_000_000_000;
/// Seconds from the NTP prime epoch (1900-01-01) to the PTP/Unix epoch (1970-01-01).
pub const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;
/// The largest seconds value a PTP timestamp carries (48 bits).
pub const PTP_MAX_SECONDS: u64 = (1 << 48) - 1;

/// A signed span of time with a resolution of 2^-32 ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(i128);

impl Duration {
    /// No time at all.
    pub const ZERO: Self = Self(0);
    /// The largest representable duration.
    pub const MAX: Self = Self(i128::MAX);
    /// One nanosecond.
    pub const NANOSECOND: Self = Self(TICKS_PER_NS);
    /// One second.
    pub const SECOND: Self = Self(TICKS_PER_SEC);

    /// A duration of `ticks` units of 2^-32 ns.
    #[must_use]
    pub const fn from_ticks(ticks: i128) -> Self {
        Self(ticks)
    }

    /// The duration in units of 2^-32 ns.
    #[must_use]
    pub const fn ticks(self) -> i128 {
        self.0
    }

    /// Whole nanoseconds.
    #[must_use]
    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos as i128 * TICKS_PER_NS)
    }

    /// Whole microseconds.
    #[must_use]
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros as i128 * 1000 * TICKS_PER_NS)
    }

    /// Whole milliseconds.
    #[must_use]
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis as i128 * 1_000_000 * TICKS_PER_NS)
    }

    /// Whole seconds.
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs as i128 * TICKS_PER_SEC)
    }

    /// Seconds as a float, rounded to the nearest tick; non-finite input gives zero and values
    /// beyond the range saturate.
    #[must_use]
    #[inline]
    pub fn from_secs_f64(secs: f64) -> Self {
        Self::from_nanos_f64(secs * 1e9)
    }

    /// Nanoseconds as a float, rounded to the nearest tick; non-finite input gives zero and
    /// values beyond the range saturate.
    #[must_use]
    #[inline]
    pub fn from_nanos_f64(nanos: f64) -> Self {
        if !nanos.is_finite() {
            return Self::ZERO;
        }
        // The simulator converts every PDV sample: in 64 bits where it fits, with the same
        // truncation and rounding as below but no library calls (test
        // `from_nanos_f64_in_64_bits_is_exactly_the_wide_one`).
        if nanos.abs() < 9e18 {
            let whole = nanos as i64;
            let frac = nanos - whole as f64;
            let frac_ticks = round_i64(frac * TICKS_PER_NS as f64);
            return Self(i128::from(whole) * TICKS_PER_NS + i128::from(frac_ticks));
        }
        Self::from_nanos_f64_wide(nanos)
    }

    /// [`Duration::from_nanos_f64`] for any finite value, in 128 bits.
    #[inline(never)]
    fn from_nanos_f64_wide(nanos: f64) -> Self {
        // Split so the fractional nanosecond keeps its full precision.
        let whole = nanos.trunc();
        let frac = nanos - whole;
        let frac_ticks = (frac * TICKS_PER_NS as f64).round() as i128;
        // `as` saturates for floats out of range, which is the documented behaviour.
        let whole_ticks = (whole as i128).saturating_mul(TICKS_PER_NS);
        Self(whole_ticks.saturating_add(frac_ticks))
    }

    /// A power-of-two interval, `2^log2` seconds (PTP logMessageInterval, NTP poll).
    #[must_use]
    pub const fn from_log2_secs(log2: i8) -> Self {
        if log2 >= 0 {
            let shift = if log2 > 64 { 64 } else { log2 as u32 };
            Self(TICKS_PER_SEC << shift)
        } else {
            let shift = if log2 < -64 {
                64
            } else {
                (-(log2 as i32)) as u32
            };
            Self(TICKS_PER_SEC >> shift)
        }
    }

    /// The duration in nanoseconds as a float.
    #[must_use]
    #[inline]
    pub fn as_nanos_f64(self) -> f64 {
        let whole = self.0 >> 32;
        let frac = (self.0 & 0xFFFF_FFFF) as i64;
        // The same conversions in 64 bits where the value fits (this target converts 128-bit
        // integers in software).
        let whole = match i64::try_from(whole) {
            Ok(w) => w as f64,
            Err(_) => wide_to_f64(whole),
        };
        whole + frac as f64 / TICKS_PER_NS as f64
    }

    /// The duration in seconds as a float.
    #[must_use]
    pub fn as_secs_f64(self) -> f64 {
        // Whole seconds and the remainder from whole nanoseconds and sub-nanosecond ticks in
        // 64 bits where they fit: the same values as the 128-bit division, far cheaper.
        if let Ok(ns) = i64::try_from(self.0 >> 32) {
            let whole = ns.div_euclid(1_000_000_000);
            let frac = ns.rem_euclid(1_000_000_000) << 32 | (self.0 & 0xFFFF_FFFF) as i64;
            return whole as f64 + frac as f64 / TICKS_PER_SEC as f64;
        }
        let whole = self.0.div_euclid(TICKS_PER_SEC);
        let frac = self.0.rem_euclid(TICKS_PER_SEC);
        whole as f64 + frac as f64 / TICKS_PER_SEC as f64
    }

    /// Whole nanoseconds, rounded toward negative infinity, saturating at the `i64` range.
    #[must_use]
    pub fn as_nanos_floor(self) -> i64 {
        let n = self.0.div_euclid(TICKS_PER_NS);
        n.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// The absolute value.
    #[must_use]
    pub const fn abs(self) -> Self {
        Self(self.0.abs())
    }

    /// Whether the duration is below zero.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// `self + rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, rhs: Self) -> Option<Self> {
        match self.0.checked_add(rhs.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - rhs`, or `None` on overflow.
    #[must_use]
    pub const fn checked_sub(self, rhs: Self) -> Option<Self> {
        match self.0.checked_sub(rhs.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self * k`, or `None` on overflow.
    #[must_use]
    pub const fn checked_mul(self, k: i64) -> Option<Self> {
        match self.0.checked_mul(k as i128) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self / k` rounded toward zero, or `None` when `k` is zero.
    #[must_use]
    pub const fn checked_div(self, k: i64) -> Option<Self> {
        match self.0.checked_div(k as i128) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Scales by a float factor (for frequency corrections), rounding to the nearest tick.
    #[must_use]
    #[inline]
    pub fn mul_f64(self, factor: f64) -> Self {
        // Under a second (an oscillator's segment, a clock's time since its last adjustment:
        // nearly every product the simulator takes), inline: the whole-seconds product is zero
        // and the remainder is the duration itself.
        if let Ok(ticks) = i64::try_from(self.0)
            && (0..TICKS_PER_SEC as i64).contains(&ticks)
        {
            let b = ticks as f64 * factor;
            if b.abs() < 9e18 {
                return Self(i128::from(round_i64(b)));
            }
        }
        self.mul_f64_split(factor)
    }

    /// [`Duration::mul_f64`] beyond a second.
    #[inline(never)]
    fn mul_f64_split(self, factor: f64) -> Self {
        // The simulator's oscillators and clocks scale durations on every timestamp: the same
        // arithmetic as below in 64 bits wherever the values fit (the seconds and remainder
        // from whole nanoseconds and the sub-nanosecond ticks), without the 128-bit divisions
        // and conversions that were a third of a simulation's time.
        const TPS: i64 = TICKS_PER_SEC as i64;
        if let Ok(ns) = i64::try_from(self.0 >> 32) {
            let secs = ns.div_euclid(1_000_000_000);
            let rem = ns.rem_euclid(1_000_000_000) << 32 | (self.0 & 0xFFFF_FFFF) as i64;
            let a = secs as f64 * factor;
            let b = rem as f64 * factor;
            if a.abs() < 1e15 && b.abs() < 9e18 {
                // `as i64` truncates like `trunc()` and `round_i64` rounds like `round()`,
                // without the library calls this target makes for them.
                let a_whole = a as i64;
                let frac = round_i64((a - a_whole as f64) * TPS as f64);
                let whole = i128::from(a_whole) * TICKS_PER_SEC;
                return Self((whole + i128::from(frac)).saturating_add(i128::from(round_i64(b))));
            }
        }
        self.mul_f64_wide(factor)
    }

    /// [`Duration::mul_f64`] for any duration, in 128 bits.
    fn mul_f64_wide(self, factor: f64) -> Self {
        // Split into whole seconds and the remainder so neither product loses precision.
        let secs = self.0.div_euclid(TICKS_PER_SEC);
        let rem = self.0.rem_euclid(TICKS_PER_SEC);
        let a = secs as f64 * factor;
        let a_whole = a.trunc();
        let a_ticks = (a_whole as i128).saturating_mul(TICKS_PER_SEC)
            + ((a - a_whole) * TICKS_PER_SEC as f64).round() as i128;
        let b_ticks = (rem as f64 * factor).round() as i128;
        Self(a_ticks.saturating_add(b_ticks))
    }
}

/// `x as f64` for a value beyond 64 bits, out of line: inline, the compiler computes the
/// 128-bit conversion (a library call on this target) on every path and discards it on most.
#[cold]
#[inline(never)]
fn wide_to_f64(x: i128) -> f64 {
    x as f64
}

/// `x.round() as i64` (half away from zero) for |x| < 2^63, without a library call: the
/// truncation is exact, and so is the difference (for |x| ≥ 2^53, x is an integer).
#[inline]
fn round_i64(x: f64) -> i64 {
    let t = x as i64;
    let d = x - t as f64;
    // Without branches: which way a random sample rounds cannot be predicted, and the
    // mispredictions were a tenth of a simulation's time.
    t + i64::from(d >= 0.5) - i64::from(d <= -0.5)
}

impl Add for Duration {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        Self(self.0.saturating_add(rhs.0))
    }
}

impl Sub for Duration {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        Self(self.0.saturating_sub(rhs.0))
    }
}

impl AddAssign for Duration {
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

impl SubAssign for Duration {
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}

impl Neg for Duration {
    type Output = Self;
    fn neg(self) -> Self {
        Self(self.0.checked_neg().unwrap_or(i128::MAX))
    }
}

impl fmt::Display for Duration {
    /// Seconds with nanosecond digits, e.g. `-0.000001250`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        let secs = a / TICKS_PER_SEC as u128;
        let nanos = (a % TICKS_PER_SEC as u128) / TICKS_PER_NS as u128;
        write!(f, "{sign}{secs}.{nanos:09}")
    }
}

/// A point in time on some clock's timescale, as a signed offset from 1970-01-01 00:00:00 (the
/// PTP and Unix epoch) with a resolution of 2^-32 ns.
///
/// Whether the scale is TAI (PTP) or UTC (NTP) is the caller's business: conversions move the
/// epoch, never leap seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i128);

impl Timestamp {
    /// The epoch itself.
    pub const EPOCH: Self = Self(0);

    /// A timestamp `ticks` units of 2^-32 ns after the epoch.
    #[must_use]
    pub const fn from_ticks(ticks: i128) -> Self {
        Self(ticks)
    }

    /// Units of 2^-32 ns since the epoch.
    #[must_use]
    pub const fn ticks(self) -> i128 {
        self.0
    }

    /// Whole seconds since the epoch.
    #[must_use]
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs as i128 * TICKS_PER_SEC)
    }

    /// The time since the epoch.
    #[must_use]
    pub const fn since_epoch(self) -> Duration {
        Duration(self.0)
    }

    /// `self + d`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, d: Duration) -> Option<Self> {
        match self.0.checked_add(d.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - d`, or `None` on overflow.
    #[must_use]
    pub const fn checked_sub(self, d: Duration) -> Option<Self> {
        match self.0.checked_sub(d.0) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// `self - earlier`, or `None` on overflow.
    #[must_use]
    pub const fn checked_duration_since(self, earlier: Self) -> Option<Duration> {
        match self.0.checked_sub(earlier.0) {
            Some(v) => Some(Duration(v)),
            None => None,
        }
    }

    /// A PTP timestamp plus a correction, exactly.
    #[must_use]
    pub fn from_ptp(ts: PtpTimestamp, correction: Correction) -> Self {
        Self(
            ts.seconds() as i128 * TICKS_PER_SEC
                + ts.nanoseconds() as i128 * TICKS_PER_NS
                + correction.0 as i128 * (1 << 16),
        )
    }

    /// Splits into a PTP timestamp (whole nanoseconds) and the sub-nanosecond rest as a
    /// correction in 2^-16 ns, truncated (error below 2^-16 ns ≈ 15 fs).
    ///
    /// `None` before the epoch or beyond the 48-bit seconds field.
    #[must_use]
    pub fn to_ptp(self) -> Option<(PtpTimestamp, Correction)> {
        if self.0 < 0 {
            return None;
        }
        let secs = self.0 / TICKS_PER_SEC;
        if secs > PTP_MAX_SECONDS as i128 {
            return None;
        }
        let rem = self.0 % TICKS_PER_SEC;
        let nanos = (rem / TICKS_PER_NS) as u32;
        let sub = (rem % TICKS_PER_NS) >> 16;
        let ts = PtpTimestamp::new(secs as u64, nanos)?;
        Some((ts, Correction(sub as i64)))
    }

    /// The PTP timestamp nearest below this instant, dropping the sub-nanosecond part
    /// (saturating at the format's range).
    #[must_use]
    pub fn to_ptp_truncated(self) -> PtpTimestamp {
        match self.to_ptp() {
            Some((ts, _)) => ts,
            None if self.0 < 0 => PtpTimestamp::ZERO,
            None => PtpTimestamp::MAX,
        }
    }

    /// The NTP timestamp of this instant, rounded to the nearest 2^-32 s (error ≤ 117 ps). The
    /// era number is dropped, as on the wire.
    #[must_use]
    pub fn to_ntp(self) -> NtpTimestamp {
        let offset = NTP_UNIX_OFFSET_SECS as i128 * TICKS_PER_SEC;
        let t = self.0 + offset;
        let units = (t + TICKS_PER_NTP_UNIT / 2).div_euclid(TICKS_PER_NTP_UNIT);
        NtpTimestamp(units as u64)
    }

    /// The instant an NTP timestamp names, choosing the era that puts it nearest to `pivot`
    /// (within ±68 years), exactly. This is how timestamps keep working across 2036.
    #[must_use]
    pub fn from_ntp(ntp: NtpTimestamp, pivot: Timestamp) -> Self {
        let offset = NTP_UNIX_OFFSET_SECS as i128 * TICKS_PER_SEC;
        let pivot_units = (pivot.0 + offset).div_euclid(TICKS_PER_NTP_UNIT);
        let diff = ntp.0.wrapping_sub(pivot_units as u64) as i64;
        let units = pivot_units + diff as i128;
        Self(units * TICKS_PER_NTP_UNIT - offset)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.0))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Self;
    fn sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.0))
    }
}

impl Sub for Timestamp {
    type Output = Duration;
    fn sub(self, rhs: Self) -> Duration {
        Duration(self.0.saturating_sub(rhs.0))
    }
}

impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.since_epoch(), f)
    }
}

/// The PTP wire timestamp: 48-bit seconds and 32-bit nanoseconds (below 10^9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PtpTimestamp {
    seconds: u64,
    nanoseconds: u32,
}

impl PtpTimestamp {
    /// The epoch.
    pub const ZERO: Self = Self {
        seconds: 0,
        nanoseconds: 0,
    };
    /// The last representable instant.
    pub const MAX: Self = Self {
        seconds: PTP_MAX_SECONDS,
        nanoseconds: 999_999_999,
    };

    /// `None` unless `seconds` fits 48 bits and `nanoseconds` is below 10^9.
    #[must_use]
    pub const fn new(seconds: u64, nanoseconds: u32) -> Option<Self> {
        if seconds > PTP_MAX_SECONDS || nanoseconds >= 1_000_000_000 {
            None
        } else {
            Some(Self {
                seconds,
                nanoseconds,
            })
        }
    }

    /// Seconds since the epoch.
    #[must_use]
    pub const fn seconds(self) -> u64 {
        self.seconds
    }

    /// Nanoseconds within the second.
    #[must_use]
    pub const fn nanoseconds(self) -> u32 {
        self.nanoseconds
    }
}

/// The PTP correctionField: signed nanoseconds scaled by 2^16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Correction(pub i64);

impl Correction {
    /// No correction.
    pub const ZERO: Self = Self(0);

    /// The correction as a duration (exact).
    #[must_use]
    pub const fn to_duration(self) -> Duration {
        Duration(self.0 as i128 * (1 << 16))
    }

    /// A duration as a correction, truncated to 2^-16 ns; `None` when it does not fit in 64 bits.
    #[must_use]
    pub fn from_duration(d: Duration) -> Option<Self> {
        i64::try_from(d.0 >> 16).ok().map(Self)
    }
}

/// An NTP 32.32 timestamp (seconds since the start of its era, which starts in 1900 for era 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The all-zero timestamp, which NTP reads as "not set".
    pub const ZERO: Self = Self(0);

    /// Whether this is the "not set" value.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// The NTP short format: unsigned 16.16 seconds (root delay and root dispersion).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtpShort(pub u32);

impl NtpShort {
    /// The value as a duration (exact).
    #[must_use]
    pub const fn to_duration(self) -> Duration {
        Duration(self.0 as i128 * TICKS_PER_NTP_UNIT * (1 << 16))
    }

    /// A duration rounded to 2^-16 s, clamped to the format's range (negative gives zero).
    #[must_use]
    pub fn from_duration(d: Duration) -> Self {
        let unit = TICKS_PER_NTP_UNIT * (1 << 16);
        let v = (d.0 + unit / 2).div_euclid(unit);
        Self(v.clamp(0, u32::MAX as i128) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_conversions_in_64_bits_are_exactly_the_wide_ones() {
        let wide_secs = |d: Duration| {
            let whole = d.0.div_euclid(TICKS_PER_SEC);
            let frac = d.0.rem_euclid(TICKS_PER_SEC);
            whole as f64 + frac as f64 / TICKS_PER_SEC as f64
        };
        let wide_ns = |d: Duration| {
            let whole = d.0.div_euclid(TICKS_PER_NS);
            let frac = d.0.rem_euclid(TICKS_PER_NS);
            whole as f64 + frac as f64 / TICKS_PER_NS as f64
        };
        let mut x: u64 = 0x1234_5678_9ABC_DEF1;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for d in [
                Duration((x as i128) << (x % 64)),
                Duration(-((x as i128) << (x % 64))),
                Duration((x as i64 >> (x % 50)) as i128),
            ] {
                assert_eq!(d.as_secs_f64().to_bits(), wide_secs(d).to_bits(), "{d:?}");
                assert_eq!(d.as_nanos_f64().to_bits(), wide_ns(d).to_bits(), "{d:?}");
            }
        }
    }

    #[test]
    fn round_i64_rounds_like_round() {
        // Halves either way, the floats on either side of them, and large integers.
        let mut cases = vec![0.0, -0.0, 2.0f64.powi(52) + 1.0, -(2.0f64.powi(62))];
        for k in [0.0f64, 1.0, 2.0, 7.0, 1e6, 4_294_967_296.0, 1e15] {
            for x in [k + 0.5, -(k + 0.5), k + 0.25, -(k + 0.75)] {
                cases.extend([x, x.next_up(), x.next_down()]);
            }
        }
        for x in cases {
            assert_eq!(round_i64(x), x.round() as i64, "{x}");
        }
    }

    #[test]
    fn from_nanos_f64_in_64_bits_is_exactly_the_wide_one() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Any magnitude from 1e-12 to 1e19 ns, either sign, and halves of ticks.
            let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
            let v = unit * 10f64.powi((x % 32) as i32 - 12);
            let half = ((x >> 20) % 1_000_000) as f64 + 0.5 / TICKS_PER_NS as f64;
            for n in [v, -v, half, -half, 8.99e18, -8.99e18] {
                assert_eq!(
                    Duration::from_nanos_f64(n),
                    Duration::from_nanos_f64_wide(n),
                    "{n}"
                );
            }
        }
    }

    #[test]
    fn mul_f64_in_64_bits_is_exactly_the_wide_product() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = Duration((x as i64 >> (x % 40)) as i128);
            let long = Duration((x as i128) << (x % 60));
            let f0 = (x >> 11) as f64 / (1u64 << 53) as f64 * 2e-4 - 1e-4;
            assert_eq!(long.mul_f64(f0), long.mul_f64_wide(f0), "{long:?} × {f0}");
            assert_eq!(
                (-long).mul_f64(f0),
                (-long).mul_f64_wide(f0),
                "{long:?} × {f0}"
            );
            let f = (x >> 11) as f64 / (1u64 << 53) as f64 * 2e-4 - 1e-4;
            assert_eq!(d.mul_f64(f), d.mul_f64_wide(f), "{d:?} × {f}");
            let sub_second = Duration((x % (TICKS_PER_SEC as u64 + 2)) as i128);
            assert_eq!(
                sub_second.mul_f64(f),
                sub_second.mul_f64_wide(f),
                "{sub_second:?} × {f}"
            );
            let big = (x % 7) as f64 - 3.0;
            assert_eq!(d.mul_f64(big), d.mul_f64_wide(big), "{d:?} × {big}");
        }
    }
    use proptest::prelude::*;

    /// Any instant a PTP timestamp can name, in ticks.
    fn ptp_range() -> impl Strategy<Value = i128> {
        0..=(PTP_MAX_SECONDS as i128 * TICKS_PER_SEC + TICKS_PER_SEC - 1)
    }

    proptest! {
        #[test]
        fn ptp_round_trip_error_below_one_femtosecond_scale(t in ptp_range()) {
            let ts = Timestamp::from_ticks(t);
            let (p, c) = ts.to_ptp().unwrap();
            let back = Timestamp::from_ptp(p, c);
            let err = ts - back;
            prop_assert!(err >= Duration::ZERO);
            // Truncation to 2^-16 ns: < 15.3 fs, far inside the 1 ps requirement.
            prop_assert!(err.ticks() < 1 << 16);
        }

        #[test]
        fn ptp_to_timestamp_is_exact(s in 0..=PTP_MAX_SECONDS, n in 0u32..1_000_000_000, c in 0i64..(1 << 16)) {
            let p = PtpTimestamp::new(s, n).unwrap();
            let ts = Timestamp::from_ptp(p, Correction(c));
            prop_assert_eq!(ts.to_ptp(), Some((p, Correction(c))));
        }

        #[test]
        fn ntp_round_trip_is_exact(v: u64, pivot_secs in -2_208_988_800i64..6_000_000_000) {
            // Any NTP value converts to an instant within ±68 years of the pivot and back exactly.
            let pivot = Timestamp::from_secs(pivot_secs);
            let t = Timestamp::from_ntp(NtpTimestamp(v), pivot);
            prop_assert_eq!(t.to_ntp(), NtpTimestamp(v));
            prop_assert!((t - pivot).abs() <= Duration::from_secs(1 << 31));
        }

        #[test]
        fn timestamp_to_ntp_error_is_half_a_unit(t in 0i128..(4_000_000_000i128 * TICKS_PER_SEC)) {
            let ts = Timestamp::from_ticks(t);
            let back = Timestamp::from_ntp(ts.to_ntp(), ts);
            // NTP's resolution is 2^-32 s; rounding keeps the error within half of it (≤ 117 ps).
            prop_assert!((ts - back).abs().ticks() <= TICKS_PER_NTP_UNIT / 2);
        }

        #[test]
        fn float_nanos_round_trip(ns in -1e15f64..1e15) {
            let d = Duration::from_nanos_f64(ns);
            prop_assert!((d.as_nanos_f64() - ns).abs() <= ns.abs() * 1e-15 + 1e-9);
        }

        #[test]
        fn ntp_short_round_trip(v: u32) {
            prop_assert_eq!(NtpShort::from_duration(NtpShort(v).to_duration()), NtpShort(v));
        }
    }

    #[test]
    fn ntp_era_boundary_2036() {
        // 2036-02-07 06:28:16 UTC is where era 0 ends: NTP seconds wrap to zero.
        let era1_start = Timestamp::from_secs((1i64 << 32) - NTP_UNIX_OFFSET_SECS as i64);
        assert_eq!(era1_start.to_ntp(), NtpTimestamp(0));
        let before = era1_start - Duration::from_secs(1);
        assert_eq!(before.to_ntp(), NtpTimestamp(u64::MAX - (1 << 32) + 1));
        // A timestamp from just after the wrap, read near the wrap, lands in era 1 and vice versa.
        let after = era1_start + Duration::from_secs(5);
        assert_eq!(Timestamp::from_ntp(after.to_ntp(), before), after);
        assert_eq!(Timestamp::from_ntp(before.to_ntp(), after), before);
    }

    #[test]
    fn known_ntp_value() {
        // 1970-01-01 in NTP is 2208988800 seconds into era 0.
        assert_eq!(
            Timestamp::EPOCH.to_ntp(),
            NtpTimestamp(NTP_UNIX_OFFSET_SECS << 32)
        );
        // Half a second is 2^31 in the fraction.
        let half = Timestamp::EPOCH + Duration::from_millis(500);
        assert_eq!(half.to_ntp().0 & 0xFFFF_FFFF, 1 << 31);
    }

    #[test]
    fn correction_is_exact_and_signed() {
        let c = Correction(-3 << 16 | 0x8000);
        assert_eq!(c.to_duration().as_nanos_f64(), -2.5);
        assert_eq!(Correction::from_duration(c.to_duration()), Some(c));
    }

    #[test]
    fn out_of_range_ptp() {
        assert_eq!(Timestamp::from_ticks(-1).to_ptp(), None);
        assert_eq!(PtpTimestamp::new(1, 1_000_000_000), None);
        assert_eq!(PtpTimestamp::new(1 << 48, 0), None);
    }

    #[test]
    fn log2_intervals() {
        assert_eq!(Duration::from_log2_secs(0), Duration::SECOND);
        assert_eq!(Duration::from_log2_secs(-7).as_secs_f64(), 1.0 / 128.0);
        assert_eq!(Duration::from_log2_secs(4), Duration::from_secs(16));
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        assert_eq!(Duration::MAX.checked_add(Duration::NANOSECOND), None);
        assert_eq!(Duration::SECOND.checked_div(0), None);
    }

    #[test]
    fn operators_saturate_instead_of_wrapping_or_panicking() {
        assert_eq!(Duration::MAX + Duration::NANOSECOND, Duration::MAX);
        assert_eq!(
            Duration::from_ticks(i128::MIN) - Duration::SECOND,
            Duration::from_ticks(i128::MIN)
        );
        assert_eq!(-Duration::from_ticks(i128::MIN), Duration::MAX);
        // A hostile log interval times a receipt-timeout count stays finite.
        let huge = Duration::from_log2_secs(100);
        assert_eq!(huge + huge + huge, Duration::MAX);
        let far = Timestamp::from_ticks(i128::MAX);
        assert_eq!(far + Duration::SECOND, far);
        assert_eq!(far - Timestamp::from_ticks(i128::MIN), Duration::MAX);
    }

    #[test]
    fn display() {
        assert_eq!(Duration::from_nanos(-1250).to_string(), "-0.000001250");
        assert_eq!(Duration::from_secs(3).to_string(), "3.000000000");
    }

    #[test]
    fn mul_f64_is_precise() {
        let d = Duration::from_secs(1000);
        let scaled = d.mul_f64(1e-6);
        assert_eq!(scaled, Duration::from_millis(1));
    }
}
