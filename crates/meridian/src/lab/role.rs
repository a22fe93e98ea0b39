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

/// The time-error budget a time-recovering device is judged against: the topology's, else
/// G.8271.1's for a 1588 client; NTP alone has none unless the topology sets one.
pub(crate) fn te_budget(engine: Option<&DeviceEngine>, set: Option<f64>) -> Option<f64> {
    let ptp_client = engine
        .and_then(|e| e.ptp.as_ref())
        .is_some_and(|p| p.client().is_some());
    set.or(ptp_client.then_some(meridian_lab::topology::DEFAULT_TE_BUDGET_NS))
}
