//! PIDF-LO (RFC 4119, <https://www.rfc-editor.org/rfc/rfc4119>, profiled by
//! RFC 5491, <https://www.rfc-editor.org/rfc/rfc5491>): read leniently, write
//! strictly.
//!
//! [`write_pidf_lo`] turns a [`Location`] into a document that validates
//! against the RFC schemas; [`read_pidf_lo`] finds every location in a
//! document real systems sent and ranks them by RFC 5491 §3.4.

mod lexical;
mod markup;
mod read;
mod tree;
pub(crate) mod write;

pub use markup::CivicMarkup;
pub use read::read_pidf_lo;
pub use write::{MsftExtension, WriteOptions, write_pidf_lo};

use crate::model::{Location, Placement};

/// Largest input [`read_pidf_lo`] accepts. A PIDF-LO is a few KiB; the
/// threat is a peer sending megabytes to make the plugin allocate a large tree
/// (memory in the Wasm VM is shared by every connection on an Envoy worker).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// Deepest element nesting [`read_pidf_lo`] accepts. Real documents nest
/// about ten deep; the threat is nesting that exhausts the stack of the
/// recursive tree walk (a stack overflow traps the Wasm VM).
pub const MAX_DEPTH: usize = 32;

/// Namespace URIs, matched by the reader (never the prefixes) and declared by
/// the writer.
pub mod ns {
    /// RFC 3863 PIDF.
    pub const PIDF: &str = "urn:ietf:params:xml:ns:pidf";
    /// RFC 4479 data model.
    pub const DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";
    /// RFC 4119 GEOPRIV.
    pub const GEOPRIV: &str = "urn:ietf:params:xml:ns:pidf:geopriv10";
    /// RFC 4119 basic policy.
    pub const BASIC_POLICY: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy";
    /// RFC 5139 civic address.
    pub const CIVIC: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";
    /// RFC 4119's original civic namespace; read only.
    pub const CIVIC_LOC: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc";
    /// GML 3.1.1, as RFC 5491 uses it.
    pub const GML: &str = "http://www.opengis.net/gml";
    /// GML 3.0, as RFC 4119's examples used it; read only.
    pub const GML_30: &str = "urn:opengis:specification:gml:schema-xsd:feature:v3.0";
    /// OGC GeoShape for PIDF-LO (`gs:Circle`, RFC 5491 §5.2).
    pub const GEO_SHAPE: &str = "http://www.opengis.net/pidflo/1.0";
    /// Lync's E9-1-1 PIDF extension ([MS-SIPRE] Appendix D).
    pub const MSFT_E911: &str = "urn:schema:Rtc.LIS.msftE911PidfExtn.2008";
    /// Lync's location policy tag, inside the extension ([MS-SIPRE] Appendix D).
    pub const MSFT_POLICY_TAG: &str = "urn:schema:Rtc.Lis.LocationPolicyTagID.2008";
}

/// What [`read_pidf_lo`] found in a document.
#[derive(Clone, Debug, PartialEq)]
pub struct PidfLo {
    /// `presence/@entity`, which RFC 3863 requires and real documents omit.
    pub entity: Option<String>,
    /// Every location with a civic element or a shape, in document order.
    /// Empty when the document carries none (plain presence, or a
    /// `location-info` with nothing usable).
    pub locations: Vec<FoundLocation>,
}

/// A location and where it was in the document.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundLocation {
    /// The element that held it.
    pub origin: Origin,
    /// The location.
    pub location: Location,
}

/// Where a location was found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `tuple`, `dm:device` or `dm:person`; `None` for a `geopriv` outside
    /// all three (seen in test suites, not allowed by RFC 4479).
    pub placement: Option<Placement>,
    /// That element's `id`, as written (Lync writes `0`, not an `xs:ID`).
    pub id: Option<String>,
    /// Its `dm:deviceID` (RFC 4479 §3.4.2), e.g. `mac:00000a0b0c0d`.
    pub device_id: Option<String>,
}

impl PidfLo {
    /// The location RFC 5491 §3.4 says to use: "Where a PIDF document contains
    /// more than one `<geopriv>` element, the priority of interpretation is
    /// given to the first `<device>` element in the document containing a
    /// location. If no `<device>` element containing a location is present in
    /// the document, then priority is given to the first `<tuple>` element
    /// containing a location. Locations contained in `<person>` tuples SHOULD
    /// only be used as a last resort."
    /// (<https://www.rfc-editor.org/rfc/rfc5491#section-3.4>)
    pub fn preferred(&self) -> Option<&FoundLocation> {
        self.locations.iter().min_by_key(|f| rank(&f.origin))
    }

    /// All locations, most preferred first (RFC 5491 §3.4 order; document
    /// order within a rank).
    pub fn in_preference_order(&self) -> Vec<&FoundLocation> {
        let mut all: Vec<&FoundLocation> = self.locations.iter().collect();
        all.sort_by_key(|f| rank(&f.origin));
        all
    }
}

/// RFC 5491 §3.4's order. A `geopriv` in no container is not covered by the
/// RFC; it ranks before `person`, which the RFC makes the last resort.
fn rank(origin: &Origin) -> u8 {
    match origin.placement {
        Some(Placement::Device) => 0,
        Some(Placement::Tuple) => 1,
        None => 2,
        Some(Placement::Person) => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(placement: Option<Placement>, id: &str) -> FoundLocation {
        FoundLocation {
            origin: Origin {
                placement,
                id: Some(id.to_owned()),
                device_id: None,
            },
            location: Location::default(),
        }
    }

    fn ids(all: &[&FoundLocation]) -> Vec<String> {
        all.iter().filter_map(|f| f.origin.id.clone()).collect()
    }

    #[test]
    fn preference_is_device_then_tuple_then_unplaced_then_person() {
        let doc = PidfLo {
            entity: None,
            locations: vec![
                found(Some(Placement::Person), "p"),
                found(None, "n"),
                found(Some(Placement::Tuple), "t1"),
                found(Some(Placement::Device), "d1"),
                found(Some(Placement::Tuple), "t2"),
                found(Some(Placement::Device), "d2"),
            ],
        };
        assert_eq!(
            doc.preferred().and_then(|f| f.origin.id.as_deref()),
            Some("d1")
        );
        assert_eq!(
            ids(&doc.in_preference_order()),
            ["d1", "d2", "t1", "t2", "n", "p"]
        );
    }

    #[test]
    fn person_is_used_when_nothing_else_is_there() {
        let doc = PidfLo {
            entity: None,
            locations: vec![found(Some(Placement::Person), "p")],
        };
        assert_eq!(
            doc.preferred().and_then(|f| f.origin.id.as_deref()),
            Some("p")
        );
        let empty = PidfLo {
            entity: None,
            locations: vec![],
        };
        assert!(empty.preferred().is_none());
    }
}
