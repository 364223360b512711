//! The lenient PIDF-LO reader.
//!
//! Strict about XML (malformed input is an error), forgiving about PIDF-LO:
//! location in `tuple`, `dm:device`, `dm:person` or none of them; elements in
//! any order (usage rules before location info, `HNO` before `RD`); any
//! prefixes; RFC 4119-era namespaces and GML 3.0; unknown extensions such as
//! Lync's `msftE911PidfExtn` skipped; lower-case country codes upper-cased;
//! `retransmission-allowed` written `yes`/`no`.

use super::lexical::{collapse, rfc3339};
use super::tree::{self, Element, Ns};
use super::{FoundLocation, MAX_INPUT_BYTES, Origin, PidfLo};
use crate::civic::{CivicAddress, CivicElement};
use crate::elin::elin_from_text;
use crate::error::ReadError;
use crate::geodetic::{
    Circle, Crs, OtherShape, Point, Shape, UOM_METRE, mean_point, parse_coordinates, parse_pos,
    parse_pos_list,
};
use crate::model::{Location, Method, Placement, UsageRules};

/// Reads every location in a PIDF-LO document.
///
/// Errors: input over [`MAX_INPUT_BYTES`], not UTF-8, not well-formed, nested
/// deeper than [`super::MAX_DEPTH`], or whose root is not PIDF's `presence`.
/// A well-formed PIDF document without a usable location is not an error: it
/// yields an empty [`PidfLo::locations`].
pub fn read_pidf_lo(input: &[u8]) -> Result<PidfLo, ReadError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(ReadError::TooLarge {
            len: input.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    let text = core::str::from_utf8(input).map_err(|e| ReadError::NotUtf8 {
        at: e.valid_up_to(),
    })?;
    // A UTF-8 byte order mark is legal before the XML declaration (XML 1.0 §4.3.3).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = tree::parse(text)?;
    if !root.is(Ns::Pidf, "presence") {
        return Err(ReadError::NotPidf {
            root: root.name.into_owned(),
        });
    }
    let mut locations = Vec::new();
    walk(&root, &Container::default(), text, &mut locations);
    Ok(PidfLo {
        entity: root.attr("entity").map(str::to_owned),
        locations,
    })
}

/// The `tuple`, `dm:device` or `dm:person` around a `geopriv`.
#[derive(Default)]
struct Container {
    placement: Option<Placement>,
    id: Option<String>,
    device_id: Option<String>,
    timestamp: Option<String>,
}

impl Container {
    /// RFC 4479 puts `device` and `person` in the data-model namespace and
    /// `tuple` in PIDF's; one library wrote `dm:tuple`, so either is accepted.
    fn of(element: &Element) -> Option<Self> {
        if !matches!(element.ns, Ns::Pidf | Ns::DataModel) {
            return None;
        }
        let placement = match element.name.as_ref() {
            "tuple" => Placement::Tuple,
            "device" => Placement::Device,
            "person" => Placement::Person,
            _ => return None,
        };
        // deviceID belongs to device (RFC 4479 §3.4.2); Asterisk puts it in a tuple.
        let device_id = element
            .child(|e| e.is(Ns::DataModel, "deviceID"))
            .map(|e| collapse(&e.text()))
            .filter(|s| !s.is_empty());
        // dm:timestamp (RFC 4479 §3.4.4) in device and person, PIDF's in tuple.
        let timestamp = element
            .child(|e| e.name == "timestamp" && matches!(e.ns, Ns::DataModel | Ns::Pidf))
            .map(|e| collapse(&e.text()))
            .filter(|s| !s.is_empty())
            .map(date_time);
        Some(Self {
            placement: Some(placement),
            id: element.attr("id").map(str::to_owned),
            device_id,
            timestamp,
        })
    }
}

/// Depth-first over the tree; recursion is bounded by `MAX_DEPTH`.
fn walk(element: &Element, container: &Container, source: &str, out: &mut Vec<FoundLocation>) {
    for child in element.elements() {
        if let Some(inner) = Container::of(child) {
            walk(child, &inner, source, out);
        } else if child.is(Ns::Geopriv, "geopriv") {
            read_geopriv(child, container, source, out);
        } else {
            walk(child, container, source, out);
        }
    }
}

/// One `gp:geopriv` (RFC 4119 §2.2): its children in any order. More than one
/// `location-info` is not allowed by the schema, but seen; each becomes a
/// location sharing the geopriv's method and rules.
fn read_geopriv(
    geopriv: &Element,
    container: &Container,
    source: &str,
    out: &mut Vec<FoundLocation>,
) {
    let mut usage_rules = geopriv
        .child(|e| e.is(Ns::Geopriv, "usage-rules"))
        .map(read_usage_rules)
        .unwrap_or_default();
    if usage_rules.note_well.is_none() {
        // Asterisk writes note-well directly in geopriv.
        usage_rules.note_well = geopriv
            .child(|e| e.name == "note-well" && matches!(e.ns, Ns::Geopriv | Ns::BasicPolicy))
            .and_then(|e| trimmed(&e.text()));
    }
    // `method` belongs to GEOPRIV; some documents leave it in the default (PIDF) namespace.
    let method = geopriv
        .child(|e| e.name == "method" && matches!(e.ns, Ns::Geopriv | Ns::Pidf | Ns::None))
        .map(|e| collapse(&e.text()))
        .filter(|s| !s.is_empty())
        .map(|s| Method::from_token(&s));
    let provided_by = geopriv
        .child(|e| e.is(Ns::Geopriv, "provided-by"))
        .and_then(|e| source.get(e.span.clone()))
        .map(str::to_owned);
    for info in geopriv
        .elements()
        .filter(|e| e.is(Ns::Geopriv, "location-info"))
    {
        let (civic, shape) = read_location_info(info);
        let elins = civic.as_ref().map(elins_of).unwrap_or_default();
        let location = Location {
            civic,
            shape,
            method: method.clone(),
            timestamp: container.timestamp.clone(),
            usage_rules: usage_rules.clone(),
            provided_by: provided_by.clone(),
            elins,
        };
        if location.has_position() {
            out.push(FoundLocation {
                origin: Origin {
                    placement: container.placement,
                    id: container.id.clone(),
                    device_id: container.device_id.clone(),
                },
                location,
            });
        }
    }
}

/// RFC 4119 §2.2.2 basic policy. Lenient: the rules are also read in the
/// GEOPRIV namespace (RFC 4119's own examples), and `yes`/`no` count as
/// booleans (several RFCs' examples wrote them; the IETF draft
/// draft-ietf-sipcore-retransmission-allowed-fixes corrects them to
/// `true`/`false`, the schema's `xs:boolean`). Anything not recognisably "allowed" keeps RFC 4119's default,
/// which forbids retransmission.
fn read_usage_rules(rules: &Element) -> UsageRules {
    let mut out = UsageRules::default();
    for child in rules
        .elements()
        .filter(|e| matches!(e.ns, Ns::BasicPolicy | Ns::Geopriv))
    {
        let text = child.text();
        match child.name.as_ref() {
            "retransmission-allowed" => {
                let value = collapse(&text).to_ascii_lowercase();
                out.retransmission_allowed = matches!(value.as_str(), "true" | "1" | "yes");
            }
            "retention-expiry" => out.retention_expiry = trimmed(&text).map(date_time),
            "external-ruleset" | "ruleset-reference" => out.external_ruleset = trimmed(&text),
            "note-well" => out.note_well = trimmed(&text),
            _ => {}
        }
    }
    out
}

/// The first civic address and the first shape among `location-info`'s
/// children. RFC 5491 §3.2 shows a civic `FLR` refining a geodetic point in
/// the same `location-info`, so both are kept. Siblings this model has no
/// place for are skipped: RFC 7459 `con:confidence`, RFC 5962
/// `dyn:Dynamic`, relative locations.
fn read_location_info(info: &Element) -> (Option<CivicAddress>, Option<Shape>) {
    let mut civic = None;
    let mut shape = None;
    for child in info.elements() {
        if civic.is_none() && child.name == "civicAddress" {
            civic = read_civic(child);
        } else if shape.is_none() {
            shape = read_shape(child);
        }
    }
    (civic, shape)
}

/// RFC 5139 civic address, elements in any order; first occurrence wins.
fn read_civic(element: &Element) -> Option<CivicAddress> {
    if !matches!(element.ns, Ns::Civic | Ns::CivicLoc) {
        return None;
    }
    let mut civic = CivicAddress::new();
    civic.lang = element
        .attr_in(Ns::Xml, "lang")
        .map(collapse)
        .filter(|s| !s.is_empty());
    for child in element.elements().filter(|e| e.ns == element.ns) {
        let Some(kind) = CivicElement::from_name(&child.name) else {
            continue;
        };
        let value = collapse(&child.text());
        if !value.is_empty() && civic.get(kind).is_none() {
            civic.set(kind, value);
        }
    }
    // RFC 5139 §3.1: ISO 3166 alpha-2, upper case; lower case is seen.
    civic.country = civic.country.map(|c| c.to_ascii_uppercase());
    (!civic.is_empty()).then_some(civic)
}

fn elins_of(civic: &CivicAddress) -> Vec<String> {
    civic
        .nam
        .as_deref()
        .and_then(|nam| elin_from_text(nam, civic.country.as_deref()))
        .into_iter()
        .collect()
}

/// An RFC 5491 shape in WGS 84, or `None` (not a shape, another CRS, or no
/// usable coordinates).
fn read_shape(element: &Element) -> Option<Shape> {
    if !matches!(element.ns, Ns::Gml | Ns::Gml30 | Ns::GeoShape) {
        return None;
    }
    if element.is(Ns::Gml30, "location") {
        // RFC 4119 §2.2.1's example wraps the point in gml:location.
        return element.elements().find_map(read_shape);
    }
    let crs = Crs::from_srs_name(element.attr("srsName"))?;
    match element.name.as_ref() {
        "Point" => read_point(element).map(Shape::Point),
        // gs:Circle; one library writes it in the GML namespace.
        "Circle" => read_circle(element),
        "Polygon" | "Prism" => {
            let mut points = Vec::new();
            collect_positions(element, crs, &mut points);
            Some(other(element, mean_point(&points)))
        }
        "Ellipse" | "ArcBand" | "Sphere" | "Ellipsoid" => Some(other(
            element,
            position_child(element).and_then(|p| parse_pos(&p)),
        )),
        _ => None,
    }
}

fn other(element: &Element, reference: Option<Point>) -> Shape {
    Shape::Other(OtherShape {
        kind: element.name.to_string(),
        reference,
    })
}

fn is_gml(element: &Element) -> bool {
    matches!(element.ns, Ns::Gml | Ns::Gml30)
}

fn position_child(element: &Element) -> Option<String> {
    element
        .child(|e| is_gml(e) && e.name == "pos")
        .map(|e| e.text().into_owned())
}

fn read_point(element: &Element) -> Option<Point> {
    if let Some(pos) = position_child(element) {
        return parse_pos(&pos);
    }
    element
        .child(|e| is_gml(e) && e.name == "coordinates")
        .and_then(|e| parse_coordinates(&e.text()))
}

/// RFC 5491 §5.2.3. The circle is 2D: an altitude on its centre is dropped. A
/// radius without `uom` is read as metres, the only unit RFC 5491 allows; a
/// radius in another unit, or none, leaves an [`OtherShape`] with the centre.
fn read_circle(element: &Element) -> Option<Shape> {
    let centre = parse_pos(&position_child(element)?)?;
    let radius = element
        .child(|e| e.name == "radius" && matches!(e.ns, Ns::GeoShape | Ns::Gml))
        .filter(|e| e.attr("uom").is_none_or(|u| u.trim() == UOM_METRE))
        .and_then(|e| collapse(&e.text()).parse::<f64>().ok());
    let circle = radius.map(|r| Circle::new(centre.latitude, centre.longitude, r));
    Some(match circle.filter(|c| c.check().is_ok()) {
        Some(c) => Shape::Circle(c),
        None => other(element, Some(Point::new(centre.latitude, centre.longitude))),
    })
}

/// Every `gml:pos` and `gml:posList` below `element`; bounded by `MAX_DEPTH`.
fn collect_positions(element: &Element, crs: Crs, out: &mut Vec<Point>) {
    for child in element.elements() {
        match child.name.as_ref() {
            "pos" if is_gml(child) => out.extend(parse_pos(&child.text())),
            "posList" if is_gml(child) => {
                out.extend(parse_pos_list(&child.text(), crs).unwrap_or_default());
            }
            _ => collect_positions(child, crs, out),
        }
    }
}

/// An RFC 3339 date-time in the form the writer writes it (`T` and `Z` upper case,
/// RFC 3339 §5.6 allows either), so a location reads the same after a round trip;
/// anything else as written.
fn date_time(text: String) -> String {
    match rfc3339(&text) {
        Some(canonical) => canonical.into_owned(),
        None => text,
    }
}

fn trimmed(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
