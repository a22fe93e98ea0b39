//! What the NTP service counts: datagrams it dropped, by reason, and what its server did.

/// Datagrams dropped before reaching an association, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NtpDrops {
    /// Malformed.
    pub malformed: u64,
    /// Control (mode 6) and private (mode 7) queries: never answered over the network.
    pub control: u64,
    /// Denied by access control.
    pub denied: u64,
    /// `limited` clients over the rate.
    pub rate_limited: u64,
    /// Requests to an address we do not serve on.
    pub not_serving: u64,
    /// Failed authentication (bad or untrusted key, wrong digest).
    pub auth: u64,
    /// Replies with no matching association.
    pub no_association: u64,
    /// Symmetric active peers refused a passive association (limits or access).
    pub passive_refused: u64,
    /// Broadcast packets (not supported).
    pub broadcast: u64,
    /// Datagrams a server worker could not hand to the time thread (its queue was full).
    pub overload: u64,
}

impl NtpDrops {
    /// Adds another's counts (a server worker's) to these.
    pub fn absorb(&mut self, o: &Self) {
        self.malformed += o.malformed;
        self.control += o.control;
        self.denied += o.denied;
        self.rate_limited += o.rate_limited;
        self.not_serving += o.not_serving;
        self.auth += o.auth;
        self.no_association += o.no_association;
        self.passive_refused += o.passive_refused;
        self.broadcast += o.broadcast;
        self.overload += o.overload;
    }
}

impl ServerCounters {
    /// Adds another's counts (a server worker's) to these.
    pub fn absorb(&mut self, o: &Self) {
        self.replies += o.replies;
        self.kod_sent += o.kod_sent;
        self.passive_untrusted += o.passive_untrusted;
        self.passive_expired += o.passive_expired;
        self.interleaved += o.interleaved;
    }
}

/// Server counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerCounters {
    /// Client requests answered.
    pub replies: u64,
    /// Kiss-o'-Death packets sent.
    pub kod_sent: u64,
    /// Passive associations mobilized for peers that are neither authenticated nor allowed to
    /// peer by an ACL: answered, never selected.
    pub passive_untrusted: u64,
    /// Dynamic associations removed after their peer fell silent (or never passed the checks).
    pub passive_expired: u64,
    /// Replies in interleaved mode (carrying the previous reply's real transmit timestamp).
    pub interleaved: u64,
}
