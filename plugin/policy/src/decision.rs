//! What the engine tells [`crate::Policy::evaluate`] about a call ([`CallFacts`]) and what
//! it gets back ([`Decision`]). Both are plain data: no SIP text, no I/O.

use core::fmt;
use core::net::IpAddr;

use e911_location::lis::ElementKind;
use e911_location::{Location, Method};

use crate::model::{
    Conference, Erl, Hop, LocationRequired, NotificationTarget, TrunkKind, Validation,
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

/// The facts of one request, extracted by the engine.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    /// INVITE or not.
    pub request: Request,
    /// New call or in-dialog.
    pub dialog: Dialog,
    /// A service URN from the Request-URI or To (`urn:service:sos.fire`), if any.
    pub service_urn: Option<&'a str>,
    /// The dialled user part of the Request-URI (or To), e.g. `9911`.
    pub dialed: Option<&'a str>,
    /// The caller: P-Asserted-Identity, else From (E.164 number or URI).
    pub caller: Option<&'a str>,
    /// The transport peer's address.
    pub peer_ip: Option<IpAddr>,
    /// The client's address from the bundle's client-IP header; used only when the peer is
    /// trusted.
    pub client_ip: Option<IpAddr>,
    /// The Wi-Fi BSSID (P-Access-Network-Info); used only when the peer is trusted.
    pub bssid: Option<&'a str>,
    /// The LLDP chassis ID header; used only when the peer is trusted.
    pub chassis: Option<&'a str>,
    /// The LLDP port ID header; used only when the peer is trusted.
    pub port: Option<&'a str>,
    /// The client's own location (its PIDF-LO), if it sent one.
    pub client_location: Option<&'a Location>,
    /// Now, in seconds since the Unix epoch (the crate has no clock).
    pub now: u64,
}

impl Default for CallFacts<'_> {
    fn default() -> Self {
        Self {
            request: Request::Invite,
            dialog: Dialog::OutOfDialog,
            service_urn: None,
            dialed: None,
            caller: None,
            peer_ip: None,
            client_ip: None,
            bssid: None,
            chassis: None,
            port: None,
            client_location: None,
            now: 0,
        }
    }
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
    /// A dial string, dial mask or test number of the policy.
    Number {
        /// The dial string (or test number) it means: `911` for a dialled `112`.
        dial_string: &'p str,
        /// The mask that was dialled, when a mask matched.
        mask: Option<&'p str>,
        /// The outside-line prefix that was stripped, if one was.
        prefix: Option<&'p str>,
    },
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
}

impl LocationSource {
    /// `network`, `client` or `static`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Client => "client",
            Self::Static => "static",
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
    /// No location: the ECRC route.
    NoLocation,
    /// The location is not validated and the policy sends such calls to the ECRC.
    Unvalidated,
    /// The route is an ELIN gateway but the location has no ELIN: the ECRC route.
    NoElin,
}

impl RouteReason {
    /// A short phrase for traces.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "the policy's route",
            Self::NoLocation => "no location: the ECRC route",
            Self::Unvalidated => "location not validated: the ECRC route",
            Self::NoElin => "ELIN gateway but the location has no ELIN: the ECRC route",
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

/// The decision trace for a person, one fact a line (the harness's `explain`).
impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "kind: {}", self.kind.as_str())?;
        if let Some(matched) = &self.matched {
            writeln!(f, "matched: {matched}")?;
        }
        if let Some(p) = &self.policy {
            writeln!(f, "policy: {p}")?;
        }
        self.fmt_location(f)?;
        match &self.route {
            Some(r) => writeln!(
                f,
                "route: {} ({}) via {} {} — {}",
                r.id,
                r.kind.as_str(),
                r.first.trunk,
                r.first.target,
                r.reason.as_str()
            )?,
            None if self.is_emergency() && !self.enabled => {
                writeln!(f, "route: none — E9-1-1 disabled by the policy")?
            }
            None => {}
        }
        if !self.elins.is_empty() {
            writeln!(f, "elins: {}", self.elins.join(", "))?;
        }
        for n in self.notifications {
            writeln!(f, "notify: {}", n.id)?;
        }
        Ok(())
    }
}

impl fmt::Display for Matched<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServiceUrn(urn) => write!(f, "service URN {urn}"),
            Self::Number {
                dial_string,
                mask,
                prefix,
            } => {
                write!(f, "dial string {dial_string}")?;
                if let Some(mask) = mask {
                    write!(f, " (dial mask {mask})")?;
                }
                if let Some(prefix) = prefix {
                    write!(f, " after outside-line prefix {prefix}")?;
                }
                Ok(())
            }
        }
    }
}

/// `wichita — network site `wichita` (by the caller's subnet); beats …`
impl fmt::Display for PolicyChoice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} — ", self.id)?;
        match self.reason {
            PolicyReason::Site { site } => {
                write!(f, "network site `{site}` (by the caller's subnet)")?
            }
            PolicyReason::Caller { identity } => {
                write!(f, "caller-specific assignment of {identity}")?
            }
            PolicyReason::Global => write!(f, "tenant global policy")?,
        }
        if let Some(lost) = self.outranked {
            write!(f, "; beats the caller's own policy `{lost}`")?;
        }
        Ok(())
    }
}

impl Decision<'_> {
    fn fmt_location(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(l) = &self.location else {
            if self.is_emergency() {
                writeln!(f, "location: none")?;
            }
            return Ok(());
        };
        write!(f, "location: {}", l.source.as_str())?;
        if let Some(erl) = l.erl {
            write!(f, " ERL {} ({})", erl.id, crate::civic::summary(&erl.civic))?;
        }
        if let Some(kind) = l.element {
            write!(f, " by {kind}")?;
        }
        if l.validation == Validation::NotValidated {
            write!(f, ", not validated")?;
        }
        if l.mismatch == Mismatch::Differs {
            write!(f, ", differs from the client's own location")?;
        }
        writeln!(f)
    }
}
