//! The contract between protocol engines and whatever drives them (the simulator or the daemon).
//!
//! An engine is a state machine in the quinn-proto style: the driver feeds it [`Input`]s with the
//! current time, then drains [`Output`]s with [`Engine::poll_output`] and sleeps until
//! [`Engine::poll_timeout`]. Engines never read a clock, a socket or OS randomness themselves, so
//! the same inputs always give the same outputs.

use std::net::SocketAddrV4;

use crate::time::{Duration, Timestamp};

/// A point on the driver's monotonic timeline (nanosecond-and-below resolution, arbitrary
/// origin). Deadlines live here so stepping the disciplined clock never moves them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The origin of the timeline.
    pub const ZERO: Self = Self(Duration::ZERO);

    /// The instant `d` after the origin.
    #[must_use]
    pub const fn from_origin(d: Duration) -> Self {
        Self(d)
    }

    /// Time since the origin.
    #[must_use]
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// `self + d`, saturating at the end of the timeline (a hostile interval cannot wrap it).
    #[must_use]
    pub fn after(self, d: Duration) -> Self {
        Self(self.0 + d)
    }

    /// `self - earlier`.
    #[must_use]
    pub fn duration_since(self, earlier: Self) -> Duration {
        self.0 - earlier.0
    }
}

/// What the driver knows about "now" when it calls an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// The monotonic instant, for deadlines.
    pub instant: Instant,
    /// The disciplined clock's reading, for timestamps the engine must put in packets.
    pub clock: Timestamp,
}

/// Identifies a transmitted packet so its transmit timestamp can be reported back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxToken(pub u64);

/// A datagram received from the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Sender address and port.
    pub from: SocketAddrV4,
    /// Local address and port it arrived on.
    pub to: SocketAddrV4,
    /// The UDP payload.
    pub bytes: &'a [u8],
    /// The disciplined clock's time when the datagram arrived.
    pub rx_timestamp: Timestamp,
}

/// Something that happened that the engine must react to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A datagram arrived.
    Datagram(Datagram<'a>),
    /// The transmit timestamp of a packet sent with a token.
    TxTimestamp {
        /// The token the engine attached to the transmit.
        token: TxToken,
        /// When the packet left, on the disciplined clock.
        timestamp: Timestamp,
    },
    /// A packet sent with a token and marked `late_ntp_transmit` left with its transmit
    /// timestamp rewritten to the clock's reading `at` ([`crate::ntp_service::stamp_transmit`]):
    /// the driver says so at once, before the packet's [`Input::TxTimestamp`], so the engine
    /// knows what its peer will echo.
    TransmitStamped {
        /// The token the engine attached to the transmit.
        token: TxToken,
        /// The clock reading written into the packet.
        at: Timestamp,
    },
    /// The deadline from [`Engine::poll_timeout`] passed.
    Timeout,
}

/// A datagram to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Local address and port to send from.
    pub from: SocketAddrV4,
    /// Destination address and port.
    pub to: SocketAddrV4,
    /// DSCP code point (0–63) for the IP header.
    pub dscp: u8,
    /// The UDP payload.
    pub bytes: Vec<u8>,
    /// Ask the driver to report the transmit timestamp under this token.
    pub token: Option<TxToken>,
    /// An unsigned NTP packet whose transmit timestamp the peer uses as a measurement (a
    /// server's basic reply, a symmetric peer's packet): the driver rewrites it with the
    /// clock's reading just before sending ([`crate::ntp_service::stamp_transmit`]), so it
    /// misses only the kernel's own send path, not the engine's and the driver's work (or the
    /// scheduler's, under load); with a token, it reports the value written
    /// ([`Input::TransmitStamped`]).
    pub late_ntp_transmit: bool,
}

/// A change the engine asks the driver to make to the disciplined clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ClockAdjustment {
    /// Add this offset to the clock at once.
    Step(Duration),
    /// Run the clock at this fractional frequency correction (parts per billion) relative to its
    /// free-running oscillator, replacing the previous correction.
    Frequency(f64),
}

/// Something an engine wants done.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Output {
    /// Send a datagram.
    Transmit(Transmit),
    /// Adjust the disciplined clock.
    AdjustClock(ClockAdjustment),
    /// Something an operator wants to know happened (for logs and reports; a driver may drop it).
    Event(crate::event::Event),
}

/// A protocol engine driven by a simulator or a daemon. `Any` lets a driver that knows the
/// concrete type read its state (for displays and tests) through `&dyn Engine`.
pub trait Engine: std::any::Any {
    /// Processes one input at `now`.
    fn handle(&mut self, now: Now, input: Input<'_>);

    /// The next output, if any; drain until `None` after every `handle`.
    fn poll_output(&mut self) -> Option<Output>;

    /// When the engine next wants [`Input::Timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
}
