//! The counters a verdict asks its host to increment, as one closed vocabulary: hosts map
//! each to a counter of their own (a proxy-wasm metric id, a Kamailio htable key) by its
//! [`Metric::as_str`] name, and no host interns a string. (The harness's proxy-wasm host
//! sees only the names the module defines, and reads each back with `Word::from_word`.)

use e911_policy::{CallKind, LocationSource, RouteKind};

/// One counter, incremented by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Every message a host hands the engine.
    Messages,
    /// An emergency call.
    Emergency,
    /// A test call (the policy's test number, answered by the provider).
    Test,
    /// A decision that went wrong somewhere and forwarded the message anyway.
    Degraded,
    /// A PSAP callback that found its caller.
    CallbackMatched,
    /// A PSAP callback after its window, sent to the policy's fallback.
    CallbackExpired,
    /// An emergency call routed to a SIP trunk of an E9-1-1 provider.
    RouteSipTrunk,
    /// An emergency call routed through an ELIN gateway.
    RouteElinGateway,
    /// An emergency call routed to a local gateway.
    RouteLocalGateway,
    /// An emergency call without a location, routed to the provider's ECRC.
    RouteEcrc,
    /// An emergency call the policy gave no route.
    RouteNone,
    /// A location from the network (LIS).
    LocationNetwork,
    /// A location the client sent (PIDF-LO).
    LocationClient,
    /// A location configured for the caller.
    LocationStatic,
    /// A client location matched to an ERL with ELINs.
    LocationClientElin,
    /// No location.
    LocationNone,
    /// A message that passed before any bundle was active.
    Unconfigured,
    /// The plugin trapped (counted by the host that ran it).
    Trap,
    /// The harness proxy's callback store did not answer in time.
    CallbackStoreDegraded,
}

impl Metric {
    /// The counter's name, as every host shows it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "e911.messages",
            Self::Emergency => "e911.emergency",
            Self::Test => "e911.test",
            Self::Degraded => "e911.degraded",
            Self::CallbackMatched => "e911.callback.matched",
            Self::CallbackExpired => "e911.callback.expired",
            Self::RouteSipTrunk => "e911.route.sip-trunk",
            Self::RouteElinGateway => "e911.route.elin-gateway",
            Self::RouteLocalGateway => "e911.route.local-gateway",
            Self::RouteEcrc => "e911.route.ecrc",
            Self::RouteNone => "e911.route.none",
            Self::LocationNetwork => "e911.location.network",
            Self::LocationClient => "e911.location.client",
            Self::LocationStatic => "e911.location.static",
            Self::LocationClientElin => "e911.location.client-elin",
            Self::LocationNone => "e911.location.none",
            Self::Unconfigured => "e911.unconfigured",
            Self::Trap => "e911.trap",
            Self::CallbackStoreDegraded => "callback_store.degraded",
        }
    }

    /// The counter of a call's kind.
    pub(crate) fn of_call(kind: CallKind) -> Self {
        match kind {
            CallKind::Test => Self::Test,
            _ => Self::Emergency,
        }
    }

    /// The counter of a route kind, or of no route.
    pub(crate) fn of_route(kind: Option<RouteKind>) -> Self {
        match kind {
            Some(RouteKind::SipTrunk) => Self::RouteSipTrunk,
            Some(RouteKind::ElinGateway) => Self::RouteElinGateway,
            Some(RouteKind::LocalGateway) => Self::RouteLocalGateway,
            Some(RouteKind::Ecrc) => Self::RouteEcrc,
            None => Self::RouteNone,
        }
    }

    /// The counter of a location's source, or of no location.
    pub(crate) fn of_location(source: Option<LocationSource>) -> Self {
        match source {
            Some(LocationSource::Network) => Self::LocationNetwork,
            Some(LocationSource::Client) => Self::LocationClient,
            Some(LocationSource::Static) => Self::LocationStatic,
            Some(LocationSource::ClientElin) => Self::LocationClientElin,
            None => Self::LocationNone,
        }
    }
}
