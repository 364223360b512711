//! What [`crate::Policy::evaluate`] answers about a call ([`Decision`]), from the facts the
//! trust step let through ([`crate::TrustedFacts`]). Plain data: no SIP text, no I/O.

use core::fmt;
use e911_location::Method;
use e911_location::lis::ElementKind;

use crate::model::{
    Conference, EmergencyNumber, Erl, Hop, LocationRequired, NotificationTarget, ServiceUrns,
    TrunkKind, Validation,
};

/// The request's method, as far as classification cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// An INVITE.
    Invite,
    /// Anything else (OPTIONS, MESSAGE, BYE, …): never a new emergency call.
    Other,
}

/// Whether the request starts a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialog {
    /// No To tag: a new call.
    OutOfDialog,
    /// A To tag: a re-INVITE or other in-dialog request, never a new emergency call.
    InDialog,
}

/// What kind of call this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A new emergency call.
    Emergency,
    /// A test call (933, `urn:service:test.sos`).
    Test,
    /// Not an emergency call: forward unchanged.
    None,
}

impl CallKind {
    /// `emergency`, `test` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Test => "test",
            Self::None => "none",
        }
    }
}

/// What made the call an emergency (or test) call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matched<'p> {
    /// A service URN, lower-cased (`urn:service:sos.fire`).
    ServiceUrn(String),
    /// One of the policy's emergency numbers: its dial string or one of its masks.
    Number {
        /// The number matched.
        number: &'p EmergencyNumber,
        /// The mask that was dialled, when a mask matched.
        mask: Option<&'p str>,
        /// The outside-line prefix that was stripped, if one was.
        prefix: Option<&'p str>,
    },
    /// One of the policy's test numbers.
    TestNumber {
        /// The test number.
        number: &'p str,
        /// The outside-line prefix that was stripped, if one was.
        prefix: Option<&'p str>,
    },
}

/// What a trunk receives in the Request-URI (DESIGN §3 step 7): what the caller dialled
/// after dial masks, never a number the trunk hard-codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound<'p> {
    /// A number in the user part: a dial string, a test number, or the route's `dial`
    /// (the ECRC's number).
    Number(&'p str),
    /// The service URN the caller dialled, and the number it stands for on a trunk that
    /// takes numbers only (the dial string for `sos`, the test number for `test.sos`).
    Urn {
        /// The URN, lower-cased.
        urn: String,
        /// Its number, if the policy has one.
        number: Option<&'p str>,
    },
}

/// The Request-URI for one trunk, and the `Route` to put on top, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget {
    /// The new Request-URI.
    pub uri: String,
    /// A `Route` value to push on top of the route set (RFC 3261 §16.6 step 7).
    pub route: Option<String>,
}

impl Outbound<'_> {
    /// The Request-URI (and `Route`) that sends this call to `hop`. A trunk that keeps
    /// service URNs gets the URN with a loose route to the trunk (RFC 3261 §16.12); any
    /// other trunk gets a number, and a URN with no number to stand for it stays a URN
    /// rather than become a real emergency number.
    pub fn request_target(&self, hop: &Hop) -> RequestTarget {
        let uri = hop.request_uri(Some(self));
        let route = if self.keeps_urn(hop) {
            Some(hop.loose_route())
        } else {
            hop.route_header.clone()
        };
        RequestTarget { uri, route }
    }

    /// The Request-URI alone, at the end of `out`: the trace, the report and each leg's
    /// target need it, not the `Route` value.
    fn push_uri(&self, hop: &Hop, out: &mut String) {
        match self {
            Self::Number(n) => hop.push_uri_for(n, out),
            Self::Urn { urn, .. } if self.keeps_urn(hop) => out.push_str(urn),
            Self::Urn {
                number: Some(n), ..
            } => hop.push_uri_for(n, out),
            Self::Urn { urn, number: None } => out.push_str(urn),
        }
    }

    /// Whether `hop` receives the service URN itself (with a loose route to the trunk):
    /// a trunk that keeps URNs, or a URN with no number to stand for it.
    fn keeps_urn(&self, hop: &Hop) -> bool {
        match self {
            Self::Number(_) => false,
            Self::Urn { number, .. } => hop.service_urns == ServiceUrns::Keep || number.is_none(),
        }
    }
}

impl Hop {
    /// The Request-URI this trunk receives for a call sent out as `outbound`; without an
    /// outbound form (nothing to dial), the trunk's own URI.
    pub fn request_uri(&self, outbound: Option<&Outbound<'_>>) -> String {
        // Room for a dial string or a URN in front of the trunk's URI.
        let mut uri = String::with_capacity(self.target.len() + 24);
        self.push_request_uri(outbound, &mut uri);
        uri
    }

    /// [`Hop::request_uri`] at the end of `out`.
    pub fn push_request_uri(&self, outbound: Option<&Outbound<'_>>, out: &mut String) {
        match outbound {
            Some(o) => o.push_uri(self, out),
            None => out.push_str(&self.target),
        }
    }
}

/// Why a policy applies (site beats caller beats tenant global, as in Lync).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyReason<'p> {
    /// The caller's IP is in a network site's subnet.
    Site {
        /// The site's id.
        site: &'p str,
    },
    /// The caller has a caller-specific assignment.
    Caller {
        /// The caller's identity key.
        identity: &'p str,
    },
    /// Neither: the tenant's global policy.
    Global,
}

/// The policy in effect and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyChoice<'p> {
    /// The policy's id.
    pub id: &'p str,
    /// Its index in [`crate::Policy::policies`].
    pub index: u32,
    /// Why it applies.
    pub reason: PolicyReason<'p>,
    /// The caller-specific policy a site's policy beat, if any.
    pub outranked: Option<&'p str>,
}

/// Where the location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationSource {
    /// The LIS network map.
    Network,
    /// The client's own PIDF-LO.
    Client,
    /// The caller's static location (analog DIDs).
    Static,
    /// The ERL of an ELIN a trusted client sent in its PIDF-LO (Lync's `NAM`), used on an
    /// ELIN route when the network gave no ELIN.
    ClientElin,
}

impl LocationSource {
    /// `network`, `client`, `static` or `client-elin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Client => "client",
            Self::Static => "static",
            Self::ClientElin => "client-elin",
        }
    }
}

/// Whether the client's location and the network's (or static) agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// Only one of them was there.
    NotCompared,
    /// Both present and they agree.
    Agrees,
    /// Both present and they differ: recorded for the audit trail.
    Differs,
}

impl Mismatch {
    /// `not-compared`, `agrees` or `differs`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotCompared => "not-compared",
            Self::Agrees => "agrees",
            Self::Differs => "differs",
        }
    }
}

/// The location chosen for the call.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationChoice<'p> {
    /// Where it came from.
    pub source: LocationSource,
    /// The ERL (absent when the client's own location was chosen).
    pub erl: Option<&'p Erl>,
    /// The ERL's index.
    pub erl_index: Option<u32>,
    /// The network element that matched, for network locations.
    pub element: Option<ElementKind>,
    /// How the location was determined (RFC 4119 method).
    pub method: Option<Method>,
    /// Whether it is MSAG-validated (a client location is, only when it agrees with a
    /// validated ERL).
    pub validation: Validation,
    /// Client versus network agreement.
    pub mismatch: Mismatch,
}

/// The kind of route taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteKind {
    /// SIP trunk to an E9-1-1 service provider.
    SipTrunk,
    /// ELIN gateway.
    ElinGateway,
    /// Local gateway (PS-ALI).
    LocalGateway,
    /// The provider's Emergency Call Relay Center.
    Ecrc,
}

impl RouteKind {
    /// `sip-trunk`, `elin-gateway`, `local-gateway` or `ecrc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SipTrunk => "sip-trunk",
            Self::ElinGateway => "elin-gateway",
            Self::LocalGateway => "local-gateway",
            Self::Ecrc => "ecrc",
        }
    }

    pub(crate) fn of(kind: TrunkKind) -> Self {
        match kind {
            TrunkKind::SipTrunk => Self::SipTrunk,
            TrunkKind::ElinGateway => Self::ElinGateway,
            TrunkKind::LocalGateway => Self::LocalGateway,
        }
    }
}

/// Why this route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteReason {
    /// The policy's route (PstnUsage).
    Policy,
    /// The route of the emergency number dialled (Teams `OnlinePSTNUsage` of the number).
    Number,
    /// No location: the ECRC route.
    NoLocation,
    /// The location is not validated and the policy sends such calls to the ECRC.
    Unvalidated,
    /// The route is an ELIN gateway but the location has no ELIN: the ECRC route.
    NoElin,
    /// Every trunk of the call's own route failed: the ECRC route.
    Failover,
}

impl RouteReason {
    /// A short phrase for traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "the policy's route",
            Self::Number => "the dialled number's own route",
            Self::NoLocation => "no location: the ECRC route",
            Self::Unvalidated => "location not validated: the ECRC route",
            Self::NoElin => "ELIN gateway but the location has no ELIN: the ECRC route",
            Self::Failover => "every trunk of the call's route failed: the ECRC route",
        }
    }
}

/// The route chosen: the first trunk, and every trunk in order for failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteChoice<'p> {
    /// The route's id.
    pub id: &'p str,
    /// Its kind (`ecrc` when it is the policy's ECRC route).
    pub kind: RouteKind,
    /// The first trunk.
    pub first: &'p Hop,
    /// Every trunk, first choice first.
    pub hops: &'p [Hop],
    /// The route's own number (the ECRC's), dialled instead of what the caller dialled.
    pub dial: Option<&'p str>,
    /// Why.
    pub reason: RouteReason,
}

/// The decision for one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'p> {
    /// Emergency, test, or neither.
    pub kind: CallKind,
    /// What matched.
    pub matched: Option<Matched<'p>>,
    /// The policy and why (absent only for requests that cannot be emergency calls).
    pub policy: Option<PolicyChoice<'p>>,
    /// Whether the policy has E9-1-1 handling on (Lync `EnhancedEmergencyServicesEnabled`).
    pub enabled: bool,
    /// Whether the peer is in a trusted network (so its headers were believed).
    pub trusted_peer: bool,
    /// The location.
    pub location: Option<LocationChoice<'p>>,
    /// The route (absent when not an emergency call, or E9-1-1 is disabled).
    pub route: Option<RouteChoice<'p>>,
    /// What the trunks receive in the Request-URI (absent when there is no route).
    pub outbound: Option<Outbound<'p>>,
    /// Where the call goes when every trunk of its route has failed (DESIGN §2.6): the
    /// policy's ECRC route and what its trunks receive. Absent for a test call, for a
    /// call already on the ECRC route, and when the policy has none.
    pub fallback: Option<(RouteChoice<'p>, Outbound<'p>)>,
    /// ELIN candidates of the ERL (the engine picks one: free, least used, idle longest).
    pub elins: &'p [String],
    /// Who to notify.
    pub notifications: &'p [NotificationTarget],
    /// The security desk conference.
    pub conference: Option<&'p Conference>,
    /// Lync `LocationRequired`.
    pub location_required: Option<LocationRequired>,
    /// How long an ELIN maps back to this caller, in seconds.
    pub callback_window_secs: u32,
    /// When that window closes (seconds since the Unix epoch).
    pub callback_until: u64,
}

impl Decision<'_> {
    /// The decision for a request that is not a new emergency call.
    pub fn none() -> Self {
        Self {
            kind: CallKind::None,
            matched: None,
            policy: None,
            enabled: false,
            trusted_peer: false,
            location: None,
            route: None,
            outbound: None,
            fallback: None,
            elins: &[],
            notifications: &[],
            conference: None,
            location_required: None,
            callback_window_secs: 0,
            callback_until: 0,
        }
    }

    /// Whether the engine must treat the call as an emergency (or test) call.
    pub fn is_emergency(&self) -> bool {
        self.kind != CallKind::None
    }
}

/// The word of each closed vocabulary a report carries, for traces and host output.
macro_rules! display_as_str {
    ($($ty:ty),+) => {
        $(impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        })+
    };
}

display_as_str!(LocationSource, Mismatch, RouteKind, RouteReason);

/// The decision trace for a person, one fact a line (the harness's `explain`).
impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.trace_lines()
            .iter()
            .try_for_each(|line| writeln!(f, "{line}"))
    }
}

/// `label` and then `pieces`, as one line.
fn line_of<'s>(label: &str, pieces: impl IntoIterator<Item = &'s str>) -> String {
    let mut line = String::with_capacity(96);
    line.push_str(label);
    line.extend(pieces);
    line
}

impl Decision<'_> {
    /// The trace's lines, each its own string: what a report keeps (no text to split).
    pub fn trace_lines(&self) -> Vec<String> {
        let mut lines = Vec::with_capacity(8);
        self.push_trace_lines(&mut lines);
        lines
    }

    /// [`Decision::trace_lines`] at the end of `lines` (a report's trace, which goes on
    /// with the rewrite's notes).
    pub fn push_trace_lines(&self, lines: &mut Vec<String>) {
        lines.push(["kind: ", self.kind.as_str()].concat());
        if let Some(matched) = &self.matched {
            lines.push(line_of("matched: ", matched.pieces()));
        }
        if let Some(p) = &self.policy {
            lines.push(line_of("policy: ", p.pieces()));
        }
        lines.extend(self.location_line());
        match &self.route {
            Some(r) => {
                // Room for the trunk's Request-URI too.
                let mut line = String::with_capacity(192);
                line.push_str("route: ");
                line.extend([r.id, " (", r.kind.as_str(), ") via ", &r.first.trunk, " "]);
                r.first.push_request_uri(self.outbound.as_ref(), &mut line);
                line.push_str(" — ");
                line.push_str(r.reason.as_str());
                lines.push(line);
            }
            None if self.is_emergency() && !self.enabled => {
                lines.push("route: none — E9-1-1 disabled by the policy".to_owned());
            }
            None => {}
        }
        if !self.elins.is_empty() {
            lines.push(["elins: ", &self.elins.join(", ")].concat());
        }
        for n in self.notifications {
            lines.push(["notify: ", &n.id].concat());
        }
    }

    fn location_line(&self) -> Option<String> {
        let Some(l) = &self.location else {
            return self.is_emergency().then(|| "location: none".to_owned());
        };
        // Room for the ERL's address: one allocation for the whole line.
        let mut line = String::with_capacity(160);
        line.push_str("location: ");
        line.push_str(l.source.as_str());
        if let Some(erl) = l.erl {
            line.push_str(" ERL ");
            line.push_str(&erl.id);
            line.push_str(" (");
            erl.push_summary(&mut line);
            line.push(')');
        }
        if let Some(kind) = l.element {
            line.push_str(" by ");
            line.push_str(kind.as_str());
        }
        if l.validation == Validation::NotValidated {
            line.push_str(", not validated");
        }
        if l.mismatch == Mismatch::Differs {
            line.push_str(", differs from the client's own location");
        }
        Some(line)
    }
}

// Both are text in pieces: every emergency call's trace has these lines, where `format!`
// with arguments cost more than the rest of the line.
impl Matched<'_> {
    /// The text for people ([`fmt::Display`]), in pieces.
    pub fn pieces(&self) -> [&str; 7] {
        let (what, value, mask, prefix) = match self {
            Self::ServiceUrn(urn) => ("service URN ", urn.as_str(), None, None),
            Self::Number {
                number,
                mask,
                prefix,
            } => ("dial string ", number.dial_string.as_str(), *mask, *prefix),
            Self::TestNumber { number, prefix } => ("test number ", *number, None, *prefix),
        };
        let (mask_open, mask, mask_close) = match mask {
            Some(mask) => (" (dial mask ", mask, ")"),
            None => ("", "", ""),
        };
        let (prefix_text, prefix) = match prefix {
            Some(prefix) => (" after outside-line prefix ", prefix),
            None => ("", ""),
        };
        [
            what,
            value,
            mask_open,
            mask,
            mask_close,
            prefix_text,
            prefix,
        ]
    }
}

impl fmt::Display for Matched<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.pieces().iter().try_for_each(|p| f.write_str(p))
    }
}

impl PolicyChoice<'_> {
    /// The text for people ([`fmt::Display`]), in pieces.
    pub fn pieces(&self) -> [&str; 8] {
        let reason: [&str; 3] = match self.reason {
            PolicyReason::Site { site } => ["network site `", site, "` (by the caller's subnet)"],
            PolicyReason::Caller { identity } => ["caller-specific assignment of ", identity, ""],
            PolicyReason::Global => ["tenant global policy", "", ""],
        };
        let (beats, lost, close) = match self.outranked {
            Some(lost) => ("; beats the caller's own policy `", lost, "`"),
            None => ("", "", ""),
        };
        let [r0, r1, r2] = reason;
        [self.id, " — ", r0, r1, r2, beats, lost, close]
    }
}

impl fmt::Display for PolicyChoice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.pieces().iter().try_for_each(|p| f.write_str(p))
    }
}
