//! Trust, decided once (DESIGN §2.7): what a SIP request says about its caller becomes
//! what the policy may use, given who sent it.
//!
//! RFC 3325 §5 (<https://www.rfc-editor.org/rfc/rfc3325#section-5>): a proxy "MUST
//! remove" P-Asserted-Identity from requests it receives from a node outside its trust
//! domain, and §9.1 gives P-Asserted-Identity precedence over From only from a trusted
//! node. The same holds for everything a phone or an edge adds about where it is: a
//! BSSID, an LLDP port or a client IP in a header is a location claim, and a spoofed one
//! sends help to the wrong place.
//!
//! [`RawFacts`] is what the message says, from anyone. [`Policy::trust`] is the only way
//! to make [`TrustedFacts`], the only input [`Policy::evaluate`] takes; so an untrusted
//! BSSID cannot reach a lookup, and an untrusted identity cannot pick a policy or a
//! static location, whatever code is added later.

use core::net::IpAddr;

use e911_location::Location;

use crate::Policy;
use crate::decision::{Decision, Dialog, Request};

/// What one request says about itself, and who sent it: believed by nobody yet.
#[derive(Debug, Clone, Copy)]
pub struct RawFacts<'a> {
    /// The transport peer's address (not a header: what the socket says).
    pub peer_ip: Option<IpAddr>,
    /// INVITE or not.
    pub request: Request,
    /// New call or in-dialog.
    pub dialog: Dialog,
    /// A service URN from the Request-URI or To (`urn:service:sos.fire`), if any.
    pub service_urn: Option<&'a str>,
    /// The dialled user part of the Request-URI (or To), e.g. `9911`.
    pub dialed: Option<&'a str>,
    /// The first P-Asserted-Identity URI.
    pub asserted_identity: Option<&'a str>,
    /// The From URI.
    pub from: Option<&'a str>,
    /// The client's address from the bundle's client-IP header.
    pub client_ip: Option<IpAddr>,
    /// The Wi-Fi BSSID (P-Access-Network-Info).
    pub bssid: Option<&'a str>,
    /// The LLDP chassis ID header.
    pub chassis: Option<&'a str>,
    /// The LLDP port ID header.
    pub port: Option<&'a str>,
    /// The client's own location (its PIDF-LO), if it sent one.
    pub client_location: Option<&'a Location>,
    /// Now, in seconds since the Unix epoch (the crate has no clock).
    pub now: u64,
}

impl Default for RawFacts<'_> {
    fn default() -> Self {
        Self {
            peer_ip: None,
            request: Request::Invite,
            dialog: Dialog::OutOfDialog,
            service_urn: None,
            dialed: None,
            asserted_identity: None,
            from: None,
            client_ip: None,
            bssid: None,
            chassis: None,
            port: None,
            client_location: None,
            now: 0,
        }
    }
}

/// Who sent a request, as far as trust goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// In the bundle's trusted networks (`[trust] networks`): the enterprise's own phones,
    /// PBXs and edges. Their identities and location headers are believed.
    Enterprise,
    /// In the carriers' networks (`[trust] carriers`): delivers PSAP callbacks, and its
    /// P-Asserted-Identity is kept (RFC 3325 §2.3: the carrier's SBC is in the trust
    /// domain for the calls it delivers); nothing it says picks a policy or a location.
    Carrier,
    /// Anyone else: nothing it says about itself is believed, and its
    /// P-Asserted-Identity is removed. When the bundle names no carriers, such a peer may
    /// still deliver a PSAP callback (what bundles without `carriers` have always done).
    Untrusted,
}

impl Peer {
    /// `enterprise`, `carrier` or `untrusted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Carrier => "carrier",
            Self::Untrusted => "untrusted",
        }
    }
}

/// Where the caller's identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// P-Asserted-Identity from a trusted peer.
    Asserted,
    /// From, sent by a trusted peer that asserted nothing.
    From,
    /// From, sent by a peer that is not trusted: reported and reachable for a callback,
    /// never used to pick a policy or a location.
    Unverified,
}

/// The facts the policy may use: [`RawFacts`] after [`Policy::trust`].
#[derive(Debug, Clone, Copy)]
pub struct TrustedFacts<'a> {
    raw: RawFacts<'a>,
    peer: Peer,
    caller: Option<(&'a str, IdentitySource)>,
    callback_source: bool,
}

impl<'a> TrustedFacts<'a> {
    /// INVITE or not.
    pub fn request(&self) -> Request {
        self.raw.request
    }

    /// New call or in-dialog.
    pub fn dialog(&self) -> Dialog {
        self.raw.dialog
    }

    /// The service URN, if any.
    pub fn service_urn(&self) -> Option<&'a str> {
        self.raw.service_urn
    }

    /// The dialled user part, if any.
    pub fn dialed(&self) -> Option<&'a str> {
        self.raw.dialed
    }

    /// Now, in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        self.raw.now
    }

    /// The transport peer's address.
    pub fn peer_ip(&self) -> Option<IpAddr> {
        self.raw.peer_ip
    }

    /// How far the peer is trusted.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The caller to report, to map an ELIN back to and to name in the PIDF-LO, and
    /// where that identity came from.
    pub fn caller(&self) -> Option<(&'a str, IdentitySource)> {
        self.caller
    }

    /// The caller's identity when it may pick a caller policy or a static location: only
    /// what an enterprise peer says, since an assignment is a statement about our own
    /// phones.
    pub fn verified_caller(&self) -> Option<&'a str> {
        self.caller
            .filter(|_| self.peer == Peer::Enterprise)
            .map(|(uri, _)| uri)
    }

    /// The address that says where the caller is: the client-IP header from a trusted
    /// edge, else the transport peer.
    pub fn caller_ip(&self) -> Option<IpAddr> {
        match self.peer {
            Peer::Enterprise => self.raw.client_ip.or(self.raw.peer_ip),
            Peer::Carrier | Peer::Untrusted => self.raw.peer_ip,
        }
    }

    /// The BSSID, from a trusted peer only.
    pub fn bssid(&self) -> Option<&'a str> {
        self.raw.bssid.filter(|_| self.peer == Peer::Enterprise)
    }

    /// The LLDP chassis ID, from a trusted peer only.
    pub fn chassis(&self) -> Option<&'a str> {
        self.raw.chassis.filter(|_| self.peer == Peer::Enterprise)
    }

    /// The LLDP port ID, from a trusted peer only.
    pub fn port(&self) -> Option<&'a str> {
        self.raw.port.filter(|_| self.peer == Peer::Enterprise)
    }

    /// Whether the request carries a P-Asserted-Identity that must be removed before it
    /// is forwarded (RFC 3325 §5: it came from outside the trust domain).
    pub fn strips_asserted_identity(&self) -> bool {
        self.raw.asserted_identity.is_some() && self.peer == Peer::Untrusted
    }

    /// Whether an INVITE from this peer to one of our ELINs is a PSAP calling back: from
    /// a carrier network, or from outside the trusted networks when the bundle names no
    /// carriers. An enterprise phone dialling an ELIN is an ordinary call.
    pub fn may_be_callback(&self) -> bool {
        self.callback_source
    }

    /// The client's own location (its PIDF-LO), if it sent one.
    pub fn client_location(&self) -> Option<&'a Location> {
        self.raw.client_location
    }

    /// The same facts with the client's own location, when it is read after the trust
    /// step (the engine reads a PIDF-LO only once it knows the call is no callback).
    #[must_use]
    pub fn with_client_location(mut self, location: Option<&'a Location>) -> Self {
        self.raw.client_location = location;
        self
    }

    /// What the trust step did not believe, for the decision's trace: empty when the
    /// peer is trusted or said nothing it could not be believed about.
    pub fn not_believed(&self) -> Vec<&'static str> {
        if self.peer == Peer::Enterprise {
            return Vec::new();
        }
        let r = &self.raw;
        [
            (r.asserted_identity.is_some(), "P-Asserted-Identity"),
            (r.bssid.is_some(), "the BSSID"),
            (r.chassis.is_some() || r.port.is_some(), "the LLDP headers"),
            (r.client_ip.is_some(), "the client-IP header"),
        ]
        .into_iter()
        .filter_map(|(present, what)| present.then_some(what))
        .collect()
    }
}

impl Policy {
    /// The trust step: what `raw` says, given the transport peer, becomes what the policy
    /// may use. A peer in the trusted networks is believed (P-Asserted-Identity, else
    /// From; the location headers). A carrier's P-Asserted-Identity is kept for the
    /// record. Anyone else's caller is its From, unverified, and its location headers
    /// are ignored.
    pub fn trust<'a>(&self, raw: RawFacts<'a>) -> TrustedFacts<'a> {
        let peer = match raw.peer_ip {
            Some(ip) if self.is_trusted(ip) => Peer::Enterprise,
            Some(ip)
                if self
                    .carriers
                    .as_ref()
                    .is_some_and(|c| c.locate_ip(ip).is_some()) =>
            {
                Peer::Carrier
            }
            _ => Peer::Untrusted,
        };
        let asserted = raw
            .asserted_identity
            .map(|uri| (uri, IdentitySource::Asserted));
        let caller = match peer {
            Peer::Enterprise => asserted.or(raw.from.map(|uri| (uri, IdentitySource::From))),
            Peer::Carrier => asserted.or(raw.from.map(|uri| (uri, IdentitySource::Unverified))),
            Peer::Untrusted => raw.from.map(|uri| (uri, IdentitySource::Unverified)),
        };
        let callback_source = match peer {
            Peer::Enterprise => false,
            Peer::Carrier => true,
            Peer::Untrusted => self.carriers.is_none(),
        };
        TrustedFacts {
            raw,
            peer,
            caller,
            callback_source,
        }
    }

    /// [`Policy::trust`], then [`Policy::evaluate`]: the decision for what a request says.
    pub fn decide(&self, raw: RawFacts<'_>) -> Decision<'_> {
        self.evaluate(&self.trust(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{CallKind, LocationSource, RouteKind};
    use crate::testdata::{contoso, contoso_sources};

    fn call<'a>(from: &'a str, asserted: Option<&'a str>, peer: &str) -> RawFacts<'a> {
        RawFacts {
            peer_ip: peer.parse().ok(),
            dialed: Some("911"),
            from: Some(from),
            asserted_identity: asserted,
            now: 1_800_000_000,
            ..RawFacts::default()
        }
    }

    const LOBBY: &str = "tel:+14255550142";

    #[test]
    fn an_outsider_asserting_the_lobby_phone_gets_neither_its_policy_nor_its_location() {
        let policy = contoso();
        let facts = policy.trust(call("sip:mallory@example.org", Some(LOBBY), "198.51.100.7"));
        assert_eq!(facts.peer(), Peer::Untrusted);
        assert!(facts.strips_asserted_identity());
        assert_eq!(facts.verified_caller(), None);
        assert_eq!(
            facts.caller(),
            Some(("sip:mallory@example.org", IdentitySource::Unverified))
        );
        let d = policy.evaluate(&facts);
        assert_eq!(d.policy.map(|p| p.id), Some("redmond"));
        assert_eq!(d.location, None);
        assert_eq!(d.route.map(|r| r.kind), Some(RouteKind::Ecrc));
        // Nor does an outsider's From pick anything.
        let d = policy.decide(call(LOBBY, None, "198.51.100.7"));
        assert_eq!(d.policy.map(|p| p.id), Some("redmond"));
    }

    #[test]
    fn an_enterprise_peer_asserting_the_lobby_phone_gets_its_static_location() {
        let policy = contoso();
        let facts = policy.trust(call("sip:ata@contoso.com", Some(LOBBY), "10.1.9.2"));
        assert_eq!(facts.peer(), Peer::Enterprise);
        assert!(!facts.strips_asserted_identity());
        assert_eq!(facts.verified_caller(), Some(LOBBY));
        let d = policy.evaluate(&facts);
        assert_eq!(d.policy.map(|p| p.id), Some("analog-ps-ali"));
        assert_eq!(
            d.location.map(|l| (l.source, l.erl.map(|e| e.id.as_str()))),
            Some((LocationSource::Static, Some("redmond-b40-lobby")))
        );
        // From alone, from our own network, is believed too.
        let d = policy.decide(call(LOBBY, None, "10.1.9.2"));
        assert_eq!(d.policy.map(|p| p.id), Some("analog-ps-ali"));
    }

    #[test]
    fn location_headers_count_only_from_the_enterprise() {
        let policy = contoso();
        let wifi = |peer| RawFacts {
            bssid: Some("001122334455"),
            chassis: Some("00-aa-bb-cc-dd-ee"),
            port: Some("Gi1/0/7"),
            ..call("sip:bob@contoso.com", None, peer)
        };
        let inside = policy.trust(wifi("10.1.0.77"));
        assert_eq!(inside.bssid(), Some("001122334455"));
        assert!(inside.not_believed().is_empty());
        let outside = policy.trust(wifi("198.51.100.7"));
        assert_eq!((outside.bssid(), outside.port()), (None, None));
        assert_eq!(outside.not_believed(), ["the BSSID", "the LLDP headers"]);
    }

    #[test]
    fn callbacks_come_from_the_carriers_networks_only() {
        let policy = contoso();
        let carrier = policy.trust(call(
            "sip:psap@carrier.example",
            Some("tel:+13165550911"),
            "203.0.113.10",
        ));
        assert_eq!(carrier.peer(), Peer::Carrier);
        assert!(carrier.may_be_callback());
        assert!(!carrier.strips_asserted_identity());
        assert_eq!(carrier.verified_caller(), None);
        let stranger = policy.trust(call("sip:x@example.org", None, "198.51.100.7"));
        assert!(!stranger.may_be_callback());
        let phone = policy.trust(call("sip:bob@contoso.com", None, "10.1.0.25"));
        assert!(!phone.may_be_callback());
    }

    #[test]
    fn a_bundle_without_carriers_takes_any_outsider_for_a_carrier_calling_back() {
        let policy = contoso_sources("bundle.toml", "carriers = [\"203.0.113.0/24\"]", "")
            .compile()
            .unwrap();
        let stranger = policy.trust(call("sip:x@example.org", Some(LOBBY), "198.51.100.7"));
        assert!(stranger.may_be_callback());
        // It is still not trusted for anything else.
        assert_eq!(stranger.peer(), Peer::Untrusted);
        assert!(stranger.strips_asserted_identity());
        let unknown = policy.trust(RawFacts {
            peer_ip: None,
            ..call("sip:x@example.org", None, "")
        });
        assert!(unknown.may_be_callback());
        assert_eq!(
            policy.decide(call(LOBBY, None, "10.1.9.2")).kind,
            CallKind::Emergency
        );
    }
}
