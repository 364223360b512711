//! The [`Location`] a PIDF-LO carries, independent of XML.

use crate::civic::CivicAddress;
use crate::geodetic::Shape;

/// One location: what a `gp:geopriv` element says (RFC 4119 §2.2).
///
/// A location has a civic address, a geodetic shape, or both (RFC 5491 §3.2
/// shows a geodetic point refined by a civic `FLR` in one `location-info`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Location {
    /// RFC 5139 civic address.
    pub civic: Option<CivicAddress>,
    /// RFC 5491 geodetic shape in WGS 84.
    pub shape: Option<Shape>,
    /// How the location was determined (RFC 4119 §2.2.3).
    pub method: Option<Method>,
    /// When the location was determined, RFC 3339 (`dm:timestamp`, RFC 4479
    /// §3.4.4, <https://www.rfc-editor.org/rfc/rfc4479>, or the PIDF tuple's
    /// `timestamp`). The caller supplies it: this
    /// crate has no clock.
    pub timestamp: Option<String>,
    /// The Rule Maker's usage rules (RFC 4119 §2.2.2).
    pub usage_rules: UsageRules,
    /// `gp:provided-by` (RFC 4119 §2.2.4) as raw XML text, when read. Its
    /// prefixes may be declared outside the text. The writer omits it.
    pub provided_by: Option<String>,
    /// ELINs in E.164 form (`+14255550100`) found in the document (see
    /// [`crate::elin`]). The writer never writes them: ELINs travel out of band.
    pub elins: Vec<String>,
}

impl Location {
    /// A location with only a civic address.
    pub fn from_civic(civic: CivicAddress) -> Self {
        Self {
            civic: Some(civic),
            ..Self::default()
        }
    }

    /// A location with only a geodetic shape.
    pub fn from_shape(shape: Shape) -> Self {
        Self {
            shape: Some(shape),
            ..Self::default()
        }
    }

    /// Adds or replaces the civic address.
    #[must_use]
    pub fn with_civic(mut self, civic: CivicAddress) -> Self {
        self.civic = Some(civic);
        self
    }

    /// Adds or replaces the geodetic shape.
    #[must_use]
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = Some(shape);
        self
    }

    /// Sets the method.
    #[must_use]
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Sets the timestamp (RFC 3339, e.g. `2024-05-01T12:00:00Z`).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.timestamp = Some(timestamp.into());
        self
    }

    /// Sets the usage rules.
    #[must_use]
    pub fn with_usage_rules(mut self, usage_rules: UsageRules) -> Self {
        self.usage_rules = usage_rules;
        self
    }

    /// True when there is something to dispatch to: a civic element or a
    /// shape.
    pub fn has_position(&self) -> bool {
        self.as_ref().has_position()
    }

    /// The parts the writer reads, borrowed.
    pub fn as_ref(&self) -> LocationRef<'_> {
        LocationRef {
            civic: self.civic.as_ref(),
            shape: self.shape.as_ref(),
            method: self.method.as_ref(),
            timestamp: self.timestamp.as_deref(),
            usage_rules: &self.usage_rules,
            civic_markup: None,
        }
    }
}

/// What [`crate::write_pidf_lo`] writes of a [`Location`], borrowed: a location
/// assembled for one call (a stored ERL's address, a timestamp of now) is written
/// without copying the address into a `Location` first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocationRef<'a> {
    /// RFC 5139 civic address.
    pub civic: Option<&'a CivicAddress>,
    /// RFC 5491 geodetic shape in WGS 84.
    pub shape: Option<&'a Shape>,
    /// How the location was determined (RFC 4119 §2.2.3).
    pub method: Option<&'a Method>,
    /// When the location was determined, RFC 3339.
    pub timestamp: Option<&'a str>,
    /// The Rule Maker's usage rules (RFC 4119 §2.2.2).
    pub usage_rules: &'a UsageRules,
    /// Where `civic`'s element is kept once written, for an address written again and
    /// again (a stored ERL's): the writer copies it from there.
    pub civic_markup: Option<&'a crate::CivicMarkup>,
}

impl<'a> From<&'a Location> for LocationRef<'a> {
    fn from(location: &'a Location) -> Self {
        location.as_ref()
    }
}

impl LocationRef<'_> {
    /// True when there is something to dispatch to: a civic element or a
    /// shape.
    pub fn has_position(&self) -> bool {
        self.civic.is_some_and(|c| !c.is_empty()) || self.shape.is_some()
    }
}

/// `gp:usage-rules` with the basic policy of RFC 4119 §2.2.2 (namespace
/// `urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageRules {
    /// `retransmission-allowed`. RFC 4119 §2.2.2: when absent, the recipient
    /// may not share the location; hence `false` by default. The writer always
    /// writes it so nobody has to remember the default.
    pub retransmission_allowed: bool,
    /// `retention-expiry`, RFC 3339: keep the location no longer than this.
    pub retention_expiry: Option<String>,
    /// `external-ruleset` (RFC 4119 prose: "ruleset-reference"): a URI of
    /// fuller rules.
    pub external_ruleset: Option<String>,
    /// `note-well`: free text for the human recipient.
    pub note_well: Option<String>,
}

impl UsageRules {
    /// Rules that allow the recipient to pass the location on, as an
    /// emergency call's location must be (the PSAP forwards it to responders).
    pub fn retransmission_allowed() -> Self {
        Self {
            retransmission_allowed: true,
            ..Self::default()
        }
    }
}

/// Where a location sits in a PIDF document (RFC 4479 §3, RFC 5491 §3.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Placement {
    /// `dm:device`: the device's location. RFC 5491 §3.4 gives it priority,
    /// so the writer uses it by default.
    #[default]
    Device,
    /// PIDF `tuple` (RFC 4119's original placement, in `status`).
    Tuple,
    /// `dm:person`: the user's location; RFC 5491 §3.4: "a last resort".
    Person,
}

/// How the location was determined: RFC 4119 §2.2.3's `method`, whose values
/// come from the IANA "Method Tokens" registry, plus Microsoft Teams' tokens.
///
/// [`Method::from_token`] matches exactly first, so every token written comes
/// back unchanged; unknown tokens are kept in [`Method::Other`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GPS`.
    Gps,
    /// `A-GPS`: GPS with assistance.
    AGps,
    /// `Cell`: location of the cellular antenna.
    Cell,
    /// `DHCP`: from DHCP (wireline access networks).
    Dhcp,
    /// `802.11`: from the Wi-Fi access point.
    Wifi,
    /// `Wiremap`: from the wire map of a switch port (the LIS case).
    Wiremap,
    /// `Triangulation`.
    Triangulation,
    /// `Manual`: entered by hand.
    Manual,
    /// `Derived`: geocoded from another location.
    Derived,
    /// `LIS`: Microsoft Teams, location from the tenant's LIS.
    TeamsLis,
    /// `CLS`: Microsoft Teams token.
    TeamsCls,
    /// `ASSIST`: Microsoft Teams token.
    TeamsAssist,
    /// `MANUAL`: Microsoft Teams, entered by the user.
    TeamsManual,
    /// Any other token, kept as received.
    Other(String),
}

impl Method {
    /// The IANA registry's tokens this crate names.
    const IANA: [Method; 9] = [
        Self::Gps,
        Self::AGps,
        Self::Cell,
        Self::Dhcp,
        Self::Wifi,
        Self::Wiremap,
        Self::Triangulation,
        Self::Manual,
        Self::Derived,
    ];

    /// Microsoft Teams' tokens (not in the IANA registry).
    const TEAMS: [Method; 4] = [
        Self::TeamsLis,
        Self::TeamsCls,
        Self::TeamsAssist,
        Self::TeamsManual,
    ];

    /// Reads a method token. Exact match first (so `MANUAL` is Teams' and
    /// `Manual` IANA's); then ASCII case-insensitively among the IANA tokens,
    /// because hand-made documents write `gps`.
    pub fn from_token(token: &str) -> Self {
        let token = token.trim();
        let mut known = Self::IANA.iter().chain(Self::TEAMS.iter());
        if let Some(m) = known.find(|m| m.as_str() == token) {
            return m.clone();
        }
        Self::IANA
            .iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(token))
            .cloned()
            .unwrap_or_else(|| Self::Other(token.to_owned()))
    }

    /// The token as written in `gp:method`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Gps => "GPS",
            Self::AGps => "A-GPS",
            Self::Cell => "Cell",
            Self::Dhcp => "DHCP",
            Self::Wifi => "802.11",
            Self::Wiremap => "Wiremap",
            Self::Triangulation => "Triangulation",
            Self::Manual => "Manual",
            Self::Derived => "Derived",
            Self::TeamsLis => "LIS",
            Self::TeamsCls => "CLS",
            Self::TeamsAssist => "ASSIST",
            Self::TeamsManual => "MANUAL",
            Self::Other(s) => s,
        }
    }
}

impl core::fmt::Display for Method {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::civic::CivicElement;
    use crate::geodetic::Point;

    #[test]
    fn every_known_method_token_round_trips() {
        for m in Method::IANA.into_iter().chain(Method::TEAMS) {
            assert_eq!(Method::from_token(m.as_str()), m);
        }
        assert_eq!(
            Method::from_token("OTDOA"),
            Method::Other("OTDOA".to_owned())
        );
    }

    #[test]
    fn teams_manual_and_iana_manual_stay_distinct() {
        assert_eq!(Method::from_token("MANUAL"), Method::TeamsManual);
        assert_eq!(Method::from_token("Manual"), Method::Manual);
        assert_eq!(Method::from_token("manual"), Method::Manual);
        assert_eq!(Method::from_token(" gps "), Method::Gps);
        assert_eq!(Method::from_token("lis"), Method::Other("lis".to_owned()));
    }

    #[test]
    fn has_position_needs_a_civic_element_or_a_shape() {
        assert!(!Location::default().has_position());
        assert!(!Location::from_civic(CivicAddress::new().with_lang("en")).has_position());
        let civic = CivicAddress::new().with(CivicElement::Country, "US");
        assert!(Location::from_civic(civic).has_position());
        assert!(Location::from_shape(Shape::Point(Point::new(1.0, 2.0))).has_position());
    }

    #[test]
    fn usage_rules_default_forbids_retransmission_as_rfc_4119_does() {
        assert!(!UsageRules::default().retransmission_allowed);
        assert!(UsageRules::retransmission_allowed().retransmission_allowed);
    }
}
