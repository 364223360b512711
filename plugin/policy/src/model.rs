//! The compiled policy's data: ERLs, location policies, routes, sites, callers, settings.
//!
//! These are what a bundle carries and what decisions borrow from. References between them
//! are resolved at compile time (a policy holds its route index and copies of its
//! notification targets), so evaluation never looks a name up.

use core::fmt;

use serde::{Deserialize, Serialize};

use e911_location::{CivicAddress, CivicMarkup, Point};

use crate::civic::Inside;
use crate::profile::{ProviderInfo, ProviderProfile};

/// An Emergency Response Location: a dispatchable address and how calls from it go out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Erl {
    /// Stable id (from `erls.csv`, a Teams `LocationId`, or derived from a Lync address).
    pub id: String,
    /// Free text for people.
    pub description: String,
    /// The civic address (RFC 5139 elements).
    #[serde(with = "crate::civic::civic_serde")]
    pub civic: CivicAddress,
    /// An optional geodetic point.
    #[serde(with = "crate::civic::point_serde")]
    pub point: Option<Point>,
    /// Emergency Location Identification Numbers, E.164, for ELIN gateways.
    pub elins: Vec<String>,
    /// Whether the address was validated against the MSAG (Lync `MSAGValid`, Teams
    /// `ValidationStatus`).
    pub validation: Validation,
    /// Which parts of where in the building a person is told, worked out when the
    /// policy is assembled (not stored in a bundle: it follows from `civic`).
    #[serde(skip)]
    pub(crate) inside: Option<Inside>,
    /// The address's PIDF-LO `civicAddress` element, written on the first emergency call
    /// from this ERL and copied on the next ones (not stored in a bundle either).
    #[serde(skip)]
    pub(crate) civic_markup: CivicMarkup,
}

impl Erl {
    /// Which parts of where in the building a person is told ([`Inside`]): worked out
    /// once for every ERL of a [`crate::Policy`], on the spot for any other.
    pub fn inside(&self) -> Inside {
        self.inside.unwrap_or_else(|| Inside::of(&self.civic))
    }

    /// Where the writer keeps this ERL's `civicAddress` element
    /// ([`e911_location::LocationRef::civic_markup`]).
    pub fn civic_markup(&self) -> &CivicMarkup {
        &self.civic_markup
    }

    /// The address in one line for a person ([`crate::civic::summary`]), at the end of
    /// `text`.
    pub fn push_summary(&self, text: &mut String) {
        crate::civic::push_summary(text, &self.civic, self.inside());
    }
}

/// Whether an address is known to be dispatchable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Validation {
    /// MSAG-validated.
    Validated,
    /// Not validated (or not known to be).
    NotValidated,
}

/// How a trunk treats an emergency call (DESIGN §3 step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrunkKind {
    /// To an E9-1-1 service provider: the engine inserts PIDF-LO.
    SipTrunk,
    /// A PSTN gateway: the engine substitutes an ELIN for the caller ID.
    ElinGateway,
    /// A PSTN gateway with PS-ALI: the call leaves unchanged.
    LocalGateway,
}

impl TrunkKind {
    /// The name used in sources and output: `sip-trunk`, `elin-gateway`, `local-gateway`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SipTrunk => "sip-trunk",
            Self::ElinGateway => "elin-gateway",
            Self::LocalGateway => "local-gateway",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        [Self::SipTrunk, Self::ElinGateway, Self::LocalGateway]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

impl fmt::Display for TrunkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a trunk receives a call the caller placed to a service URN (`urn:service:sos`,
/// RFC 5031) rather than a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceUrns {
    /// The URN is the Request-URI and a `Route` names the trunk (RFC 3261 §16.12 loose
    /// routing; how NG9-1-1 ESInets and i3 providers take calls, RFC 6881 §9).
    Keep,
    /// The URN becomes a number: the policy's dial string for `sos`, its test number for
    /// `test.sos` (what a PSTN gateway or a provider that routes on numbers needs).
    DialString,
}

impl ServiceUrns {
    pub(crate) const NAMES: [(&'static str, Self); 2] =
        [("keep", Self::Keep), ("dial-string", Self::DialString)];
}

/// One trunk of a route, resolved: where the call goes. A trunk names a destination, never
/// a number: what the provider receives in the Request-URI's user part is what the caller
/// dialled (after dial masks), or the route's `dial` (the ECRC's number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The trunk's id in `routes.toml`.
    pub trunk: String,
    /// What the trunk does with the call.
    pub kind: TrunkKind,
    /// The trunk's SIP URI without a user part: `sip:esp.example.net;transport=tcp`.
    pub target: String,
    /// A `Route` header value to add, if the trunk has one.
    pub route_header: Option<String>,
    /// What the trunk receives for a call placed to a service URN.
    pub service_urns: ServiceUrns,
    /// What the provider receives beyond the PIDF-LO (sip-trunks only).
    pub profile: ProviderProfile,
}

impl Hop {
    /// The trunk's URI with `user` as its user part, at the end of `out`:
    /// `sip:911@esp.example.net;transport=tcp`.
    pub fn push_uri_for(&self, user: &str, out: &mut String) {
        // The scheme is a few bytes at the front: a plain scan finds its colon sooner than
        // `split_once`'s searcher is set up, and this runs several times per emergency call.
        let (scheme, rest) = match self.target.bytes().position(|b| b == b':') {
            Some(at) => (
                self.target.get(..at).unwrap_or("sip"),
                self.target.get(at + 1..).unwrap_or_default(),
            ),
            None => ("sip", self.target.as_str()),
        };
        out.reserve(scheme.len() + user.len() + rest.len() + 2);
        out.push_str(scheme);
        out.push(':');
        out.push_str(user);
        out.push('@');
        out.push_str(rest);
    }

    /// The trunk as a loose-routing `Route` value (RFC 3261 §19.1.1 `lr`): the route
    /// header configured for it, else its own URI with `;lr`.
    pub fn loose_route(&self) -> String {
        match &self.route_header {
            Some(route) => route.clone(),
            None => ["<", &self.target, ";lr>"].concat(),
        }
    }
}

/// A route (Lync: a PSTN usage): trunks in order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The route's id.
    pub id: String,
    /// Trunks, first choice first; never empty in a compiled policy.
    pub hops: Vec<Hop>,
    /// A number every call on this route dials instead of what the caller dialled (the
    /// ECRC's number).
    pub dial: Option<String>,
}

/// Where security staff are told about an emergency call (Lync `NotificationUri`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationTarget {
    /// The target's id.
    pub id: String,
    /// An HTTP(S) URL the host POSTs a JSON notification to.
    pub webhook: Option<String>,
    /// A SIP URI the host sends a MESSAGE to.
    pub sip: Option<String>,
}

/// Lync `LocationRequired`: what a client without a location is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LocationRequired {
    /// `no`: no prompt.
    No,
    /// `yes`: the user is prompted and may dismiss it.
    Yes,
    /// `disclaimer`: the user must acknowledge a disclaimer.
    Disclaimer,
}

/// Lync `ConferenceMode`: whether the conferenced security desk can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConferenceMode {
    /// Listen only.
    OneWay,
    /// Listen and speak.
    TwoWay,
}

/// How a client's own location and the network's are combined (DESIGN §3 step 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Combine {
    /// Network (or static) location when there is one, else the client's.
    PreferNetwork,
    /// The client's location when it sent one, else the network's.
    PreferClient,
    /// Only the network's (or a static) location.
    NetworkOnly,
    /// Only the client's location.
    ClientOnly,
}

impl Combine {
    pub(crate) const NAMES: [(&'static str, Self); 4] = [
        ("prefer-network", Self::PreferNetwork),
        ("prefer-client", Self::PreferClient),
        ("network-only", Self::NetworkOnly),
        ("client-only", Self::ClientOnly),
    ];

    /// The name used in sources.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, c)| *c == self)
            .map_or("", |(n, _)| n)
    }
}

/// One emergency number of a location policy (Skype for Business `EmergencyNumbers`,
/// Teams emergency numbers): the dial string the provider receives, the masks that mean
/// it (Lync `EmergencyDialMask`: `112` dialled goes out as `911`), and its own route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmergencyNumber {
    /// What the provider receives (`EmergencyDialString`).
    pub dial_string: String,
    /// Other numbers callers dial for it (`EmergencyDialMask`).
    pub masks: Vec<String>,
    /// Index of this number's route (Teams `OnlinePSTNUsage`); `None`: the policy's.
    pub route: Option<u32>,
}

/// The security desk conference (Lync `ConferenceUri` and `ConferenceMode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conference {
    /// Who is conferenced in.
    pub uri: String,
    /// Whether they may speak.
    pub mode: ConferenceMode,
}

/// A location policy, after Lync's `Set-CsLocationPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationPolicy {
    /// The policy's id.
    pub id: String,
    /// Free text for people.
    pub description: String,
    /// `EnhancedEmergencyServicesEnabled`: when off, calls are recognised but left alone.
    pub enabled: bool,
    /// The emergency numbers, in the order written (the single-string form becomes one
    /// number per dial string, the masks on the first).
    pub numbers: Vec<EmergencyNumber>,
    /// Test numbers (933): recognised as test calls.
    pub test_numbers: Vec<String>,
    /// Outside-line access prefixes (9) stripped before matching.
    pub outside_line_prefixes: Vec<String>,
    /// `PstnUsage`: index of the route of numbers without their own, and of test calls.
    pub route: Option<u32>,
    /// Index of the route to the provider's ECRC.
    pub ecrc_route: Option<u32>,
    /// Whether a location that is not MSAG-validated goes to the ECRC route.
    pub unvalidated_to_ecrc: bool,
    /// `LocationRequired`.
    pub location_required: LocationRequired,
    /// `NotificationUri`, resolved.
    pub notifications: Vec<NotificationTarget>,
    /// Who hears of a test call: `None` means the same targets as a real one.
    pub test_notifications: Option<Vec<NotificationTarget>>,
    /// `ConferenceUri` and `ConferenceMode`.
    pub conference: Option<Conference>,
    /// How long an ELIN maps back to its caller for PSAP callbacks, in seconds.
    pub callback_window_secs: u32,
    /// Where a PSAP callback goes after the window closes (the site's security desk).
    pub callback_fallback: Option<String>,
    /// How client and network locations combine.
    pub combine: Combine,
}

impl LocationPolicy {
    /// Every dial string, in order.
    pub fn dial_strings(&self) -> impl Iterator<Item = &str> {
        self.numbers.iter().map(|n| n.dial_string.as_str())
    }

    /// The route of calls that dial no number of their own (test numbers, service URNs):
    /// the policy's, else its first number's.
    pub fn default_route(&self) -> Option<u32> {
        self.route
            .or_else(|| self.numbers.iter().find_map(|n| n.route))
    }
}

/// A network site: subnets whose callers get the site's policy (Lync network sites).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The site's id.
    pub id: String,
    /// Free text for people.
    pub description: String,
    /// Index of the site's location policy.
    pub policy: u32,
}

/// A caller-specific assignment: a policy, a static location, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The caller as configured (`+14255550142`, `sip:alice@contoso.com`).
    pub identity: String,
    /// Free text for people.
    pub description: String,
    /// Index of the caller's location policy.
    pub policy: Option<u32>,
    /// Index of the caller's static ERL (analog DIDs, PS-ALI records).
    pub location: Option<u32>,
}

/// Header names the engine reads facts from; set in `bundle.toml` `[headers]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderNames {
    /// The LLDP chassis ID header a trusted edge adds.
    pub lldp_chassis: Option<String>,
    /// The LLDP port ID header.
    pub lldp_port: Option<String>,
    /// A header carrying the client's IP when calls arrive through another proxy.
    pub client_ip: Option<String>,
}

/// Tenant-wide settings from `bundle.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// The tenant.
    pub tenant: String,
    /// The bundle revision.
    pub revision: String,
    /// Index of the tenant's global location policy.
    pub global_policy: u32,
    /// Header names.
    pub headers: HeaderNames,
    /// Trusted networks, as written (for traces).
    pub trusted_networks: Vec<String>,
    /// The carriers' networks, as written: where PSAP callbacks come from. Empty: any
    /// peer outside the trusted networks.
    pub carrier_networks: Vec<String>,
    /// The tenant as a data provider (RFC 7852 `ProviderInfo`), for trunks whose profile
    /// sends it.
    pub provider: Option<ProviderInfo>,
}

/// How much a bundle holds; shown by hosts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// ERLs.
    pub erls: u32,
    /// IP subnets.
    pub subnets: u32,
    /// BSSIDs, exact and wildcard.
    pub bssids: u32,
    /// Switch chassis.
    pub chassis: u32,
    /// Switch ports.
    pub ports: u32,
    /// Location policies.
    pub policies: u32,
    /// Network sites.
    pub sites: u32,
    /// Routes.
    pub routes: u32,
    /// Caller assignments.
    pub callers: u32,
}

impl Counts {
    /// All network elements.
    pub fn elements(&self) -> u64 {
        [self.subnets, self.bssids, self.chassis, self.ports]
            .iter()
            .map(|&n| u64::from(n))
            .sum()
    }
}
