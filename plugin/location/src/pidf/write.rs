//! The strict PIDF-LO writer.
//!
//! Every document it returns validates against the RFC schemas
//! (`shared/conformance/schemas`): values are checked or cleaned first
//! ([`Plan`]), then written in the schemas' element order straight into one
//! pre-sized `String` ([`Doc`]), indented by two spaces per level.

use core::fmt;
use std::borrow::Cow;

use super::lexical::{
    DEFAULT_ID, is_language, is_uri, push_escaped, push_token, rfc3339, to_ncname, tokens,
};
use super::markup::CivicMarkup;
use super::ns;
use crate::civic::{CivicAddress, CivicElement};
use crate::error::WriteError;
use crate::geodetic::{SRS_2D, SRS_3D, Shape, ShapeError, UOM_METRE};
use crate::model::{LocationRef, Placement};
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
    /// Lync/Skype for Business's `msftE911PidfExtn`, for providers that take it.
    pub msft_extension: Option<MsftExtension>,
}

/// Lync's E9-1-1 PIDF extension ([MS-SIPRE] §9, Appendix D), which tells the provider
/// whom to conference into the call. [MS-SIPRE] §2.2.23 puts it in the tuple's `status`,
/// after `gp:geopriv`, so it is written only with [`Placement::Tuple`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MsftExtension {
    /// `NotificationUri`: the security desk told by IM (as Lync clients send it, before
    /// the conference; Appendix D's schema does not list it).
    pub notification_uri: Option<String>,
    /// `ConferenceUri`: who is conferenced in (required by Appendix D).
    pub conference_uri: String,
    /// `ConferenceMode`: `twoway` when the conferenced party may speak, else `oneway`.
    pub two_way: bool,
    /// `LocationPolicyTagID`: the location policy the call was placed under.
    pub policy_tag: Option<String>,
}

impl WriteOptions {
    /// Options for `entity`, with the defaults above.
    pub fn new(entity: impl Into<String>) -> Self {
        Self {
            entity: entity.into(),
            placement: Placement::default(),
            id: None,
            device_id: None,
            msft_extension: None,
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

    /// Adds Lync's `msftE911PidfExtn` (written in a tuple only).
    #[must_use]
    pub fn with_msft_extension(mut self, extension: MsftExtension) -> Self {
        self.msft_extension = Some(extension);
        self
    }
}

/// Writes `location` as a PIDF-LO document (UTF-8, with XML declaration).
///
/// Errors name the value that would make the document invalid: a non-URI
/// entity or device id, a country that is not two letters, a bad `xml:lang`,
/// a timestamp that is not RFC 3339, a shape out of range or other than
/// Point and Circle, or a location with nothing in it. `provided_by` and
/// `elins` are not written (see [`crate::Location`]).
pub fn write_pidf_lo<'a>(
    location: impl Into<LocationRef<'a>>,
    options: &WriteOptions,
) -> Result<String, WriteError> {
    let plan = Plan::new(location.into(), options)?;
    let mut doc = Doc::with_capacity(plan.size_hint());
    doc.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    write_presence(&mut doc, &plan)?;
    doc.raw("\n");
    Ok(doc.out)
}

/// Everything checked and cleaned, ready to write.
struct Plan<'a> {
    location: LocationRef<'a>,
    entity: &'a str,
    placement: Placement,
    id: Cow<'a, str>,
    device_id: Option<&'a str>,
    msft_extension: Option<&'a MsftExtension>,
    civic: Option<Civic<'a>>,
    timestamp: Option<Cow<'a, str>>,
    retention_expiry: Option<Cow<'a, str>>,
}

/// A civic address whose `xml:lang` and `country` are checked; the other
/// values are collapsed as they are written.
struct Civic<'a> {
    address: &'a CivicAddress,
    lang: Option<&'a str>,
    /// `country` upper-cased (RFC 5139 §4: `[A-Z]{2}`).
    country: Option<[u8; 2]>,
}

impl<'a> Plan<'a> {
    fn new(location: LocationRef<'a>, options: &'a WriteOptions) -> Result<Self, WriteError> {
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
        check_shape(location.shape)?;
        let rules = location.usage_rules;
        if let Some(r) = rules.external_ruleset.as_deref().filter(|r| !is_uri(r)) {
            return Err(WriteError::Ruleset(r.to_owned()));
        }
        let placement = match (options.placement, device_id) {
            (Placement::Device, None) => Placement::Tuple,
            (p, _) => p,
        };
        let msft_extension = options
            .msft_extension
            .as_ref()
            .filter(|_| placement == Placement::Tuple);
        if let Some(ext) = msft_extension {
            let uris = [
                Some(ext.conference_uri.as_str()),
                ext.notification_uri.as_deref(),
            ];
            if let Some(bad) = uris.into_iter().flatten().find(|uri| !is_uri(uri)) {
                return Err(WriteError::ExtensionUri(bad.to_owned()));
            }
        }
        Ok(Self {
            location,
            entity: &options.entity,
            placement,
            id: options
                .id
                .as_deref()
                .map_or(Cow::Borrowed(DEFAULT_ID), to_ncname),
            device_id: device_id.filter(|_| placement != Placement::Person),
            msft_extension,
            civic: location.civic.map(plan_civic).transpose()?,
            timestamp: timestamp("timestamp", location.timestamp)?,
            retention_expiry: timestamp("retention-expiry", rules.retention_expiry.as_deref())?,
        })
    }

    /// Whether `dm:` is used: by `dm:device`, `dm:person` or `dm:deviceID`.
    fn uses_data_model(&self) -> bool {
        self.placement != Placement::Tuple || self.device_id.is_some()
    }

    /// About the document's length, so the buffer is allocated once: the
    /// skeleton (declaration, namespaces, containers, usage rules) is under
    /// 1 KiB, a civic element adds its value and about 40 bytes of markup.
    fn size_hint(&self) -> usize {
        let rules = self.location.usage_rules;
        let civic = self
            .civic
            .as_ref()
            .map_or(0, |c| c.address.elements().map(|(_, v)| v.len() + 40).sum());
        let text = [
            rules.external_ruleset.as_deref(),
            rules.note_well.as_deref(),
            self.device_id,
        ];
        1024 + self.entity.len()
            + civic
            + text.iter().flatten().map(|t| t.len() + 64).sum::<usize>()
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

fn timestamp<'a>(
    field: &'static str,
    value: Option<&'a str>,
) -> Result<Option<Cow<'a, str>>, WriteError> {
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
/// elements `xs:token` (whitespace collapsed when written; empty ones
/// dropped).
fn plan_civic(address: &CivicAddress) -> Result<Civic<'_>, WriteError> {
    let lang = address
        .lang
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Some(l) = lang.filter(|l| !is_language(l)) {
        return Err(WriteError::Language(l.to_owned()));
    }
    let country = address.country.as_deref().map(country_code).transpose()?;
    Ok(Civic {
        address,
        lang,
        country,
    })
}

/// The collapsed value upper-cased if it is two ASCII letters; otherwise
/// the error names that cleaned, upper-cased value.
fn country_code(value: &str) -> Result<[u8; 2], WriteError> {
    let mut parts = tokens(value);
    if let (Some(code), None) = (parts.next(), parts.next())
        && let [a, b] = *code.as_bytes()
        && a.is_ascii_alphabetic()
        && b.is_ascii_alphabetic()
    {
        return Ok([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
    }
    let mut cleaned = tokens(value).collect::<Vec<_>>().join(" ");
    cleaned.make_ascii_uppercase();
    Err(WriteError::Country(cleaned))
}

/// RFC 3863 §4.1: `presence` with its `entity`, declaring only the
/// namespaces the document uses.
fn write_presence(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    doc.open("presence");
    doc.constant_attr("xmlns", ns::PIDF);
    if plan.uses_data_model() {
        doc.constant_attr("xmlns:dm", ns::DATA_MODEL);
    }
    doc.constant_attr("xmlns:gp", ns::GEOPRIV);
    doc.constant_attr("xmlns:gbp", ns::BASIC_POLICY);
    if plan.civic.is_some() {
        doc.constant_attr("xmlns:ca", ns::CIVIC);
    }
    if plan.msft_extension.is_some() {
        doc.constant_attr("xmlns:ms", ns::MSFT_E911);
    }
    if let Some(shape) = plan.location.shape {
        doc.constant_attr("xmlns:gml", ns::GML);
        if matches!(shape, Shape::Circle(_)) {
            doc.constant_attr("xmlns:gs", ns::GEO_SHAPE);
        }
    }
    doc.attr("entity", plan.entity);
    doc.close_open();
    write_container(doc, plan)?;
    doc.end("presence");
    Ok(())
}

/// `tuple` (RFC 3863: geopriv inside `status`), `dm:device` or `dm:person`
/// (RFC 4479 §3.4), each in its schema's child order.
fn write_container(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    let (name, timestamp) = match plan.placement {
        Placement::Tuple => ("tuple", "timestamp"),
        Placement::Device => ("dm:device", "dm:timestamp"),
        Placement::Person => ("dm:person", "dm:timestamp"),
    };
    doc.open(name);
    doc.checked_attr("id", &plan.id);
    doc.close_open();
    if plan.placement == Placement::Tuple {
        doc.start("status");
        write_geopriv(doc, plan)?;
        if let Some(extension) = plan.msft_extension {
            write_msft_extension(doc, extension);
        }
        doc.end("status");
    } else {
        write_geopriv(doc, plan)?;
    }
    if let Some(device_id) = plan.device_id {
        doc.leaf("dm:deviceID", device_id);
    }
    if let Some(ts) = &plan.timestamp {
        doc.checked_leaf(timestamp, ts);
    }
    doc.end(name);
    Ok(())
}

/// [MS-SIPRE] Appendix D's sequence: `ConferenceUri`, `ConferenceMode`, then elements of
/// other namespaces (`LocationPolicyTagID`); `NotificationUri` first, where Lync clients
/// put it.
fn write_msft_extension(doc: &mut Doc, extension: &MsftExtension) {
    doc.start("ms:msftE911PidfExtn");
    if let Some(uri) = &extension.notification_uri {
        doc.token("ms:NotificationUri", uri);
    }
    doc.token("ms:ConferenceUri", &extension.conference_uri);
    doc.token(
        "ms:ConferenceMode",
        if extension.two_way {
            "twoway"
        } else {
            "oneway"
        },
    );
    if let Some(tag) = &extension.policy_tag {
        doc.open("LocationPolicyTagID");
        doc.constant_attr("xmlns", ns::MSFT_POLICY_TAG);
        doc.close_open();
        doc.text(tag);
        doc.end("LocationPolicyTagID");
    }
    doc.end("ms:msftE911PidfExtn");
}

/// RFC 4119 §2.2: `location-info`, `usage-rules`, then `method`.
fn write_geopriv(doc: &mut Doc, plan: &Plan<'_>) -> Result<(), WriteError> {
    doc.start("gp:geopriv");
    doc.start("gp:location-info");
    if let Some(civic) = &plan.civic {
        write_civic(doc, civic, plan.location.civic_markup);
    }
    if let Some(shape) = plan.location.shape {
        write_shape(doc, shape)?;
    }
    doc.end("gp:location-info");
    write_usage_rules(doc, plan);
    if let Some(method) = plan.location.method {
        doc.token("gp:method", method.as_str());
    }
    doc.end("gp:geopriv");
    Ok(())
}

/// RFC 5139 §4: `civicAddress`, its elements in the schema's sequence order
/// ([`CivicAddress::elements`]).
///
/// An address written before at the same depth is copied from its [`CivicMarkup`]: the
/// element always follows `<gp:location-info>` (a new line), and its text depends on the
/// address and the depth alone.
fn write_civic(doc: &mut Doc, civic: &Civic<'_>, markup: Option<&CivicMarkup>) {
    let before = doc.mark();
    let (_, depth, line_break) = before;
    let markup = markup.filter(|_| line_break);
    if let Some(kept) = markup.and_then(|m| m.at_depth(depth)) {
        doc.copy(kept);
        return;
    }
    write_civic_elements(doc, civic);
    if let Some(markup) = markup {
        markup.keep(depth, doc.written_since(before));
    }
}

fn write_civic_elements(doc: &mut Doc, civic: &Civic<'_>) {
    doc.open("ca:civicAddress");
    if let Some(lang) = civic.lang {
        doc.attr("xml:lang", lang);
    }
    doc.close_open();
    for (element, value) in civic.address.elements() {
        let name = element.name();
        match (element, civic.country) {
            (CivicElement::Country, Some([a, b])) => {
                doc.start_civic(name);
                doc.text_ascii(&[a, b]);
                doc.end_civic(name);
            }
            _ => doc.civic_token(name, value),
        }
    }
    doc.end("ca:civicAddress");
}

/// RFC 5491 §5.2.1 Point (EPSG 4326, or 4979 with altitude) and §5.2.3 Circle.
fn write_shape(doc: &mut Doc, shape: &Shape) -> Result<(), WriteError> {
    match shape {
        Shape::Point(p) => {
            let srs = if p.altitude.is_some() { SRS_3D } else { SRS_2D };
            doc.open("gml:Point");
            doc.constant_attr("srsName", srs);
            doc.close_open();
            doc.start("gml:pos");
            match p.altitude {
                None => doc.text_fmt(format_args!("{} {}", p.latitude, p.longitude))?,
                Some(a) => doc.text_fmt(format_args!("{} {} {a}", p.latitude, p.longitude))?,
            }
            doc.end("gml:pos");
            doc.end("gml:Point");
        }
        Shape::Circle(c) => {
            doc.open("gs:Circle");
            doc.constant_attr("srsName", SRS_2D);
            doc.close_open();
            doc.start("gml:pos");
            doc.text_fmt(format_args!("{} {}", c.latitude, c.longitude))?;
            doc.end("gml:pos");
            doc.open("gs:radius");
            doc.constant_attr("uom", UOM_METRE);
            doc.close_open();
            doc.text_fmt(format_args!("{}", c.radius_m))?;
            doc.end("gs:radius");
            doc.end("gs:Circle");
        }
        Shape::Other(_) => return Err(ShapeError::Unsupported.into()),
    }
    Ok(())
}

/// RFC 4119 §2.2.2, in the basicPolicy schema's order.
fn write_usage_rules(doc: &mut Doc, plan: &Plan<'_>) {
    let rules = plan.location.usage_rules;
    doc.start("gp:usage-rules");
    let allowed = if rules.retransmission_allowed {
        "true"
    } else {
        "false"
    };
    doc.checked_leaf("gbp:retransmission-allowed", allowed);
    if let Some(expiry) = &plan.retention_expiry {
        doc.checked_leaf("gbp:retention-expiry", expiry);
    }
    if let Some(ruleset) = &rules.external_ruleset {
        doc.leaf("gbp:external-ruleset", ruleset);
    }
    if let Some(note) = &rules.note_well {
        doc.leaf("gbp:note-well", note);
    }
    doc.end("gp:usage-rules");
}

/// A line break and spaces for up to 16 levels; deeper levels (none in a
/// PIDF-LO) get two spaces at a time.
const NEW_LINE: &str = "\n                                ";

/// The document being written, indented as quick-xml's indenting writer
/// (which this replaces) did: a start or end tag goes on a new line, two
/// spaces per open element, unless it directly follows text. So a leaf is
/// `<a>text</a>` on one line, and an element with nothing in it is
/// `<a>`, newline, `</a>`.
pub(crate) struct Doc {
    out: String,
    depth: usize,
    /// False right after text (and before the first tag).
    line_break: bool,
}

impl Doc {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            depth: 0,
            line_break: false,
        }
    }

    /// The document written.
    pub(crate) fn finish(self) -> String {
        self.out
    }

    /// Appends markup as is.
    pub(crate) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
        self.line_break = true;
    }

    pub(crate) fn new_line(&mut self) {
        if !self.line_break {
            return;
        }
        match NEW_LINE.get(..1 + 2 * self.depth) {
            Some(indent) => self.out.push_str(indent),
            None => {
                self.out.push('\n');
                (0..self.depth).for_each(|_| self.out.push_str("  "));
            }
        }
    }

    /// `<name`: a start tag whose attributes follow; [`Doc::close_open`]
    /// ends it.
    pub(crate) fn open(&mut self, name: &str) {
        self.new_line();
        self.out.push('<');
        self.out.push_str(name);
    }

    /// ` key="value"`, the value cleaned and escaped.
    pub(crate) fn attr(&mut self, key: &str, value: &str) {
        self.out.push(' ');
        self.out.push_str(key);
        self.out.push_str("=\"");
        push_escaped(&mut self.out, value);
        self.out.push('"');
    }

    /// ` key="value"` for a value known to need no escaping (a namespace,
    /// CRS or unit URN).
    pub(crate) fn constant_attr(&mut self, key: &str, value: &'static str) {
        self.checked_attr(key, value);
    }

    /// ` key="value"` for a value the [`Plan`] made safe (an NCName id).
    pub(crate) fn checked_attr(&mut self, key: &str, value: &str) {
        self.out.push(' ');
        self.out.push_str(key);
        self.out.push_str("=\"");
        self.out.push_str(value);
        self.out.push('"');
    }

    /// `>`: the start tag is complete; what follows is inside it.
    pub(crate) fn close_open(&mut self) {
        self.out.push('>');
        self.depth += 1;
        self.line_break = true;
    }

    /// `<name>`.
    pub(crate) fn start(&mut self, name: &str) {
        self.open(name);
        self.close_open();
    }

    /// `</name>`.
    pub(crate) fn end(&mut self, name: &str) {
        self.before_end_tag();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Closes the element: one level less, and the end tag on a new line
    /// unless it follows text; after it, a tag goes on a new line.
    pub(crate) fn before_end_tag(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.new_line();
        self.line_break = true;
    }

    /// `<ca:name>`: RFC 5139 elements are all in the civic namespace.
    pub(crate) fn start_civic(&mut self, name: &str) {
        self.open("ca:");
        self.out.push_str(name);
        self.close_open();
    }

    /// `</ca:name>`.
    pub(crate) fn end_civic(&mut self, name: &str) {
        self.before_end_tag();
        self.out.push_str("</ca:");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// Text, cleaned and escaped.
    pub(crate) fn text(&mut self, text: &str) {
        push_escaped(&mut self.out, text);
        self.line_break = false;
    }

    /// Text known to be ASCII letters or digits (the country code).
    pub(crate) fn text_ascii(&mut self, text: &[u8]) {
        self.out.extend(text.iter().map(|&b| char::from(b)));
        self.line_break = false;
    }

    /// Numbers (`gml:pos`, `gs:radius`), which need no escaping.
    pub(crate) fn text_fmt(&mut self, args: fmt::Arguments<'_>) -> Result<(), WriteError> {
        fmt::Write::write_fmt(&mut self.out, args).map_err(|e| WriteError::Xml(e.to_string()))?;
        self.line_break = false;
        Ok(())
    }

    /// `<name>text</name>` for text the [`Plan`] made safe: an RFC 3339
    /// timestamp (digits, `-`, `:`, `.`, `+`, `T`, `Z`) or a boolean.
    pub(crate) fn checked_leaf(&mut self, name: &str, text: &str) {
        self.start(name);
        self.out.push_str(text);
        self.line_break = false;
        self.end(name);
    }

    /// `<name>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.start(name);
        self.text(text);
        self.end(name);
    }

    /// `<name>token</name>` with `value` collapsed as an `xs:token`
    /// ([`push_token`]); nothing when that leaves it empty.
    pub(crate) fn token(&mut self, name: &str, value: &str) {
        let before = self.mark();
        self.start(name);
        if push_token(&mut self.out, value) {
            self.line_break = false;
            self.end(name);
        } else {
            self.undo(before);
        }
    }

    /// [`Doc::token`] for `<ca:name>`.
    pub(crate) fn civic_token(&mut self, name: &str, value: &str) {
        let before = self.mark();
        self.start_civic(name);
        if push_token(&mut self.out, value) {
            self.line_break = false;
            self.end_civic(name);
        } else {
            self.undo(before);
        }
    }

    /// Markup written earlier at this depth by the same calls as now ([`CivicMarkup`]):
    /// a whole element, so after it, as after any end tag, a tag goes on a new line.
    pub(crate) fn copy(&mut self, markup: &str) {
        self.out.push_str(markup);
        self.line_break = true;
    }

    /// What was written since `mark`.
    pub(crate) fn written_since(&self, (len, _, _): (usize, usize, bool)) -> &str {
        self.out.get(len..).unwrap_or_default()
    }

    /// Where the document is, for [`Doc::undo`].
    pub(crate) fn mark(&self) -> (usize, usize, bool) {
        (self.out.len(), self.depth, self.line_break)
    }

    /// Takes back what was written since `mark` (a start tag whose element
    /// turned out empty).
    pub(crate) fn undo(&mut self, (len, depth, line_break): (usize, usize, bool)) {
        // `String::truncate` asserts a char boundary; `len` always is one (`mark` read
        // it), but the assertion's panic would still be linked into the Envoy module,
        // where any panic site is a way to trap a worker's VM. Popping cannot panic.
        while self.out.len() > len {
            self.out.pop();
        }
        self.depth = depth;
        self.line_break = line_break;
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
