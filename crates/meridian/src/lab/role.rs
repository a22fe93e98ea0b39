//! Which devices of a lab run recover time, which frequency, and which are references.

use meridian_vrp::device::DeviceEngine;

/// What a device does with time: what the report judges it by and the plots draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Recovers nothing (a grandmaster, an NTP reference): its error is its own oscillator's or
    /// zero; no budget applies and it would only crowd the charts.
    Reference,
    /// Recovers time (ATR, NTP): judged by time error.
    Time,
    /// Recovers frequency only (ACR): judged by frequency error; its phase is arbitrary.
    Frequency,
}

pub(crate) fn role(engine: Option<&DeviceEngine>) -> Role {
    let Some(e) = engine else {
        return Role::Reference;
    };
    if let Some(c) = e.ptp.as_ref().and_then(|p| p.client()) {
        return if c.mode().recovers_time() {
            Role::Time
        } else {
            Role::Frequency
        };
    }
    if e.ntp.as_ref().is_some_and(|n| !n.associations().is_empty()) {
        Role::Time
    } else {
        Role::Reference
    }
}

impl Role {
    /// The report's word for it.
    pub(crate) const fn word(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Time => "time",
            Self::Frequency => "frequency",
        }
    }
}
