//! The strict PIDF-LO writer.
//!
//! Every document it returns validates against the RFC schemas
//! (`shared/conformance/schemas`): values are checked or cleaned first
//! ([`Plan`]), then written in the schemas' element order.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::lexical::{DEFAULT_ID, collapse, is_language, is_uri, rfc3339, to_ncname, xml_chars};
use super::ns;
use crate::civic::{CivicAddress, CivicElement};
use crate::error::WriteError;
use crate::geodetic::{SRS_2D, SRS_3D, Shape, ShapeError, UOM_METRE};
use crate::model::{Location, Placement};

/// Who the document is about and where in it the location goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// `presence/@entity`: the presentity's URI, e.g. `pres:alice@example.com`
    /// or the caller's SIP URI (RFC 3863 §4.1.1).
    pub entity: String,
    /// Where the `geopriv` goes; `dm:device` by default (RFC 5491 §3.4 gives
    /// a device's location priority).
    pub placement: Placement,
    /// `id` of the tuple, device or person. Turned into a valid `xs:ID` if it
    /// is not one (`0` becomes `id-0`); `location` when absent.
    pub id: Option<String>,
    /// `dm:deviceID`, a URN such as `mac:00000a0b0c0d` (RFC 4479 §3.4.2).
    /// RFC 4479 makes it mandatory in `dm:device`: without one, a
    /// [`Placement::Device`] location is written in a `tuple` instead.
    /// Written in device and tuple; a person has no device id.
    pub device_id: Option<String>,
}

impl WriteOptions {
    /// Options for `entity`, with the defaults above.
    pub fn new(entity: impl Into<String>) -> Self {
        Self {
            entity: entity.into(),
            placement: Placement::default(),
            id: None,
            device_id: None,
        }
    }

    /// Sets the placement.
    #[must_use]
    pub fn with_placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Sets the element id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the device id.
    #[must_use]
    pub fn with_device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }
}

/// Writes `location` as a PIDF-LO document (UTF-8, with XML declaration).
///
/// Errors name the value that would make the document invalid: a non-URI
/// entity or device id, a country that is not two letters, a bad `xml:lang`,
/// a timestamp that is not RFC 3339, a shape out of range or other than
/// Point and Circle, or a location with nothing in it. `provided_by` and
/// `elins` are not written (see [`Location`]).
pub fn write_pidf_lo(location: &Location, options: &WriteOptions) -> Result<String, WriteError> {
    let plan = Plan::new(location, options)?;
    let mut doc = Doc(Writer::new_with_indent(Vec::new(), b' ', 2));
    doc.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    doc.start("presence", &plan.namespaces())?;
    write_container(&mut doc, &plan)?;
    doc.end("presence")?;
    let mut bytes = doc.0.into_inner();
    bytes.push(b'\n');
    String::from_utf8(bytes).map_err(|e| WriteError::Xml(e.to_string()))
}

/// Everything checked and cleaned, ready to write.
struct Plan<'a> {
    location: &'a Location,
    entity: &'a str,
    placement: Placement,
    id: String,
    device_id: Option<&'a str>,
    civic: Option<Civic>,
    timestamp: Option<String>,
    retention_expiry: Option<String>,
}

/// A civic address's cleaned values, in schema order.
struct Civic {
    lang: Option<String>,
    elements: Vec<(CivicElement, String)>,
}

impl<'a> Plan<'a> {
    fn new(location: &'a Location, options: &'a WriteOptions) -> Result<Self, WriteError> {
        if !location.has_position() {
            return Err(WriteError::EmptyLocation);
        }
        if !is_uri(&options.entity) {
            return Err(WriteError::Entity(options.entity.clone()));
        }
        let device_id = options.device_id.as_deref();
        if let Some(id) = device_id.filter(|id| !is_uri(id)) {
            return Err(WriteError::DeviceId(id.to_owned()));
        }
        check_shape(location.shape.as_ref())?;
        let rules = &location.usage_rules;
        if let Some(r) = rules.external_ruleset.as_deref().filter(|r| !is_uri(r)) {
            return Err(WriteError::Ruleset(r.to_owned()));
        }
        let placement = match (options.placement, device_id) {
            (Placement::Device, None) => Placement::Tuple,
            (p, _) => p,
        };
        Ok(Self {
            location,
            entity: &options.entity,
            placement,
            id: options
                .id
                .as_deref()
                .map_or_else(|| DEFAULT_ID.to_owned(), to_ncname),
            device_id: device_id.filter(|_| placement != Placement::Person),
            civic: location.civic.as_ref().map(plan_civic).transpose()?,
            timestamp: timestamp("timestamp", location.timestamp.as_deref())?,
            retention_expiry: timestamp("retention-expiry", rules.retention_expiry.as_deref())?,
        })
    }

    /// Declares only the namespaces the document uses, then the entity.
    fn namespaces(&self) -> Vec<(&'static str, &'a str)> {
        let mut attrs = vec![("xmlns", ns::PIDF)];
        if self.placement != Placement::Tuple || self.device_id.is_some() {
            attrs.push(("xmlns:dm", ns::DATA_MODEL));
        }
        attrs.push(("xmlns:gp", ns::GEOPRIV));
        attrs.push(("xmlns:gbp", ns::BASIC_POLICY));
        if self.civic.is_some() {
            attrs.push(("xmlns:ca", ns::CIVIC));
        }
        if let Some(shape) = &self.location.shape {
            attrs.push(("xmlns:gml", ns::GML));
            if matches!(shape, Shape::Circle(_)) {
                attrs.push(("xmlns:gs", ns::GEO_SHAPE));
            }
        }
        attrs.push(("entity", self.entity));
        attrs
    }
}

fn check_shape(shape: Option<&Shape>) -> Result<(), WriteError> {
    match shape {
        None => Ok(()),
        Some(Shape::Point(p)) => Ok(p.check()?),
        Some(Shape::Circle(c)) => Ok(c.check()?),
        Some(Shape::Other(_)) => Err(ShapeError::Unsupported.into()),
    }
}

fn timestamp(field: &'static str, value: Option<&str>) -> Result<Option<String>, WriteError> {
    value
        .map(|v| {
            rfc3339(v).ok_or_else(|| WriteError::Timestamp {
                field,
                value: v.to_owned(),
            })
        })
        .transpose()
}

/// RFC 5139 §4 types: `country` is `[A-Z]{2}` (upper-cased here), the other
/// elements `xs:token` (whitespace collapsed; empty ones dropped).
fn plan_civic(civic: &CivicAddress) -> Result<Civic, WriteError> {
    let lang = civic
        .lang
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Some(l) = lang.filter(|l| !is_language(l)) {
        return Err(WriteError::Language(l.to_owned()));
    }
    let mut elements = Vec::new();
    for (element, value) in civic.elements() {
        let mut value = collapse(&xml_chars(value));
        if element == CivicElement::Country {
            value.make_ascii_uppercase();
            if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(WriteError::Country(value));
            }
        }
        if !value.is_empty() {
            elements.push((element, value));
        }
    }
    Ok(Civic {
        lang: lang.map(str::to_owned),
        elements,
    })
}

/// `tuple` (RFC 3863: geopriv inside `status`), `dm:device` or `dm:person`
/// (RFC 4479 §3.4), each in its schema's child order.
fn write_container(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    let id = [("id", plan.id.as_str())];
    let (name, timestamp) = match plan.placement {
        Placement::Tuple => ("tuple", "timestamp"),
        Placement::Device => ("dm:device", "dm:timestamp"),
        Placement::Person => ("dm:person", "dm:timestamp"),
    };
    doc.start(name, &id)?;
    if plan.placement == Placement::Tuple {
        doc.start("status", &[])?;
        write_geopriv(doc, plan)?;
        doc.end("status")?;
    } else {
        write_geopriv(doc, plan)?;
    }
    if let Some(device_id) = plan.device_id {
        doc.leaf("dm:deviceID", &[], device_id)?;
    }
    if let Some(ts) = &plan.timestamp {
        doc.leaf(timestamp, &[], ts)?;
    }
    doc.end(name)
}

/// RFC 4119 §2.2: `location-info`, `usage-rules`, then `method`.
fn write_geopriv(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    doc.start("gp:geopriv", &[])?;
    doc.start("gp:location-info", &[])?;
    if let Some(civic) = &plan.civic {
        write_civic(doc, civic)?;
    }
    if let Some(shape) = &plan.location.shape {
        write_shape(doc, shape)?;
    }
    doc.end("gp:location-info")?;
    write_usage_rules(doc, plan)?;
    let method = plan
        .location
        .method
        .as_ref()
        .map(|m| collapse(&xml_chars(m.as_str())));
    if let Some(method) = method.filter(|m| !m.is_empty()) {
        doc.leaf("gp:method", &[], &method)?;
    }
    doc.end("gp:geopriv")
}

fn write_civic(doc: &mut Doc, civic: &Civic) -> Result<(), WriteError> {
    let lang: Vec<(&str, &str)> = civic
        .lang
        .iter()
        .map(|l| ("xml:lang", l.as_str()))
        .collect();
    doc.start("ca:civicAddress", &lang)?;
    for (element, value) in &civic.elements {
        doc.leaf(&format!("ca:{}", element.name()), &[], value)?;
    }
    doc.end("ca:civicAddress")
}

/// RFC 5491 §5.2.1 Point (EPSG 4326, or 4979 with altitude) and §5.2.3 Circle.
fn write_shape(doc: &mut Doc, shape: &Shape) -> Result<(), WriteError> {
    match shape {
        Shape::Point(p) => {
            let (srs, pos) = match p.altitude {
                None => (SRS_2D, format!("{} {}", p.latitude, p.longitude)),
                Some(a) => (SRS_3D, format!("{} {} {a}", p.latitude, p.longitude)),
            };
            doc.start("gml:Point", &[("srsName", srs)])?;
            doc.leaf("gml:pos", &[], &pos)?;
            doc.end("gml:Point")
        }
        Shape::Circle(c) => {
            doc.start("gs:Circle", &[("srsName", SRS_2D)])?;
            doc.leaf("gml:pos", &[], &format!("{} {}", c.latitude, c.longitude))?;
            doc.leaf("gs:radius", &[("uom", UOM_METRE)], &c.radius_m.to_string())?;
            doc.end("gs:Circle")
        }
        Shape::Other(_) => Err(ShapeError::Unsupported.into()),
    }
}

/// RFC 4119 §2.2.2, in the basicPolicy schema's order.
fn write_usage_rules(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    let rules = &plan.location.usage_rules;
    doc.start("gp:usage-rules", &[])?;
    let allowed = if rules.retransmission_allowed {
        "true"
    } else {
        "false"
    };
    doc.leaf("gbp:retransmission-allowed", &[], allowed)?;
    if let Some(expiry) = &plan.retention_expiry {
        doc.leaf("gbp:retention-expiry", &[], expiry)?;
    }
    if let Some(ruleset) = &rules.external_ruleset {
        doc.leaf("gbp:external-ruleset", &[], ruleset)?;
    }
    if let Some(note) = rules.note_well.as_deref().map(xml_chars) {
        doc.leaf("gbp:note-well", &[], &note)?;
    }
    doc.end("gp:usage-rules")
}

/// quick-xml's writer over a buffer, with errors mapped so nothing unwraps.
struct Doc(Writer<Vec<u8>>);

impl Doc {
    fn event(&mut self, event: Event<'_>) -> Result<(), WriteError> {
        self.0
            .write_event(event)
            .map_err(|e| WriteError::Xml(e.to_string()))
    }

    /// Attribute values are escaped by quick-xml (`&`, `<`, `>`, quotes).
    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), WriteError> {
        let mut tag = BytesStart::new(name);
        for (key, value) in attrs {
            tag.push_attribute((*key, xml_chars(value).as_ref()));
        }
        self.event(Event::Start(tag))
    }

    fn end(&mut self, name: &str) -> Result<(), WriteError> {
        self.event(Event::End(BytesEnd::new(name)))
    }

    /// An element with text only; the text is escaped by `BytesText::new`.
    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> Result<(), WriteError> {
        self.start(name, attrs)?;
        self.event(Event::Text(BytesText::new(&xml_chars(text))))?;
        self.end(name)
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
