//! The compiled policy's data: ERLs, location policies, routes, sites, callers, settings.
//!
//! These are what a bundle carries and what decisions borrow from. References between them
//! are resolved at compile time (a policy holds its route index and copies of its
//! notification targets), so evaluation never looks a name up.

use core::fmt;

use serde::{Deserialize, Serialize};

use e911_location::{CivicAddress, Point};

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

/// One trunk of a route, resolved: where the call goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The trunk's id in `routes.toml`.
    pub trunk: String,
    /// What the trunk does with the call.
    pub kind: TrunkKind,
    /// The Request-URI to send to (the route's `dial` number already in its user part).
    pub target: String,
    /// A `Route` header value to add, if the trunk has one.
    pub route_header: Option<String>,
}

/// A route (Lync: a PSTN usage): trunks in order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The route's id.
    pub id: String,
    /// Trunks, first choice first; never empty in a compiled policy.
    pub hops: Vec<Hop>,
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

/// A dial mask: a number that is translated to an emergency dial string (Lync
/// `EmergencyDialMask`, e.g. `112` → `911`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialMask {
    /// What the caller dials.
    pub mask: String,
    /// The dial string it stands for.
    pub dial: String,
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
    /// `EmergencyDialString`, several as in Teams.
    pub dial_strings: Vec<String>,
    /// `EmergencyDialMask`.
    pub dial_masks: Vec<DialMask>,
    /// Test numbers (933): recognised as test calls.
    pub test_numbers: Vec<String>,
    /// Outside-line access prefixes (9) stripped before matching.
    pub outside_line_prefixes: Vec<String>,
    /// `PstnUsage`: index of the route; `None` only when disabled.
    pub route: Option<u32>,
    /// Index of the route to the provider's ECRC.
    pub ecrc_route: Option<u32>,
    /// Whether a location that is not MSAG-validated goes to the ECRC route.
    pub unvalidated_to_ecrc: bool,
    /// `LocationRequired`.
    pub location_required: LocationRequired,
    /// `NotificationUri`, resolved.
    pub notifications: Vec<NotificationTarget>,
    /// `ConferenceUri` and `ConferenceMode`.
    pub conference: Option<Conference>,
    /// How long an ELIN maps back to its caller for PSAP callbacks, in seconds.
    pub callback_window_secs: u32,
    /// Where a PSAP callback goes after the window closes (the site's security desk).
    pub callback_fallback: Option<String>,
    /// How client and network locations combine.
    pub combine: Combine,
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
