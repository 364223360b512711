//! What a trunk's provider profile adds to a forwarded emergency request, checked
//! structurally in every golden case's `expected.sip` (the bytes the plugin forwards),
//! by a checker written from the specifications rather than from the plugin's writer:
//!
//! - RFC 7852 additional data blocks sent by value: `ProviderInfo`, `ServiceInfo` and
//!   `DeviceInfo`, each a body part `application/EmergencyCallData.<Block>+xml` with a
//!   Content-ID and `Content-Disposition: by-reference;handling=optional`, named by a
//!   `Call-Info: <cid:…>;purpose=EmergencyCallData.<Block>`; the documents' elements
//!   (RFC 7852 §4.1–§4.3), in their schemas' order (RFC 7852 §6.1–§6.3), with registry
//!   values where a registry exists and `xs:token` text;
//! - NENA i3 call and incident identifiers (NENA-STA-010):
//!   `Call-Info: <urn:emergency:uid:callid:ID:ELEMENT>;purpose=emergency-CallId` and
//!   `…incidentid…;purpose=emergency-IncidentId`;
//! - `Resource-Priority: esnet.N`, N in 0..=4 (RFC 7135; RFC 9027);
//! - `Geolocation: <cid:…>;loc-src=HOST` (RFC 8787), naming a PIDF-LO body part;
//! - Lync's `msftE911PidfExtn` in the PIDF-LO: a child of `status` directly after
//!   `gp:geopriv` ([MS-SIPRE] §2.2.23), with `NotificationUri` (optional),
//!   `ConferenceUri`, `ConferenceMode` and then only foreign elements ([MS-SIPRE]
//!   Appendix D).
//!
//! The checker itself is tested on small hand-written bad documents, and each suite test
//! asserts that the golden cases exercised what it checks, so none passes vacuously. A
//! trunk without a profile must add none of this: its output stays what it was.

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

mod common;
use common::case::{case_dirs, read_case};
use common::repo_root;

// ---------------------------------------------------------------------------------------
// The specifications' tables
// ---------------------------------------------------------------------------------------

/// What the text of an element must be.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// `xs:token`: non-empty, no leading, trailing or repeated whitespace, no tab or
    /// line break.
    Token,
    /// An absolute URI (`scheme:rest`), as `xs:anyURI` holds in these documents.
    Uri,
    /// One value of an IANA registry (RFC 7852 §11) or of a schema enumeration.
    OneOf(&'static [&'static str]),
    /// Element content (`DataProviderContact`'s xCard): child elements, no text.
    Elements,
}

/// One child element of a block: name, occurrences, content, and a required attribute
/// with its allowed values.
#[derive(Debug)]
struct ChildDef {
    name: &'static str,
    min: usize,
    /// `None`: unbounded.
    max: Option<usize>,
    value: Value,
    attr: Option<(&'static str, &'static [&'static str])>,
}

const fn one(name: &'static str, value: Value) -> ChildDef {
    ChildDef {
        name,
        min: 1,
        max: Some(1),
        value,
        attr: None,
    }
}

const fn optional(name: &'static str, value: Value) -> ChildDef {
    ChildDef {
        name,
        min: 0,
        max: Some(1),
        value,
        attr: None,
    }
}

const fn many(name: &'static str, min: usize, value: Value) -> ChildDef {
    ChildDef {
        name,
        min,
        max: None,
        value,
        attr: None,
    }
}

/// An RFC 7852 block: its name (`EmergencyCallData.<block>` is the root element and the
/// media type), namespace and children in schema order.
#[derive(Debug)]
struct BlockDef {
    block: &'static str,
    ns: &'static str,
    children: &'static [ChildDef],
}

/// RFC 7852 §11.1.2, "Provider ID Series".
const PROVIDER_ID_SERIES: &[&str] = &["NENA", "EENA", "domain"];
/// RFC 7852 §11.1.3, "Type of Provider".
const TYPE_OF_PROVIDER: &[&str] = &[
    "Access Network Provider",
    "Service Provider",
    "Service Provider Subcontractor",
    "Telematics Provider",
    "Language Translation Provider",
    "Emergency Service Provider",
    "Emergency Modality Translation",
    "Relay Provider",
    "Other",
];
/// RFC 7852 §4.2.1 (registry §11.1.6), "Service Environment".
const SERVICE_ENVIRONMENT: &[&str] = &["Business", "Residence", "Unknown"];
/// RFC 7852 §4.2.2 (registry §11.1.5), "Service Type".
const SERVICE_TYPE: &[&str] = &[
    "wireless",
    "coin",
    "one-way",
    "temp",
    "MLTS-hosted",
    "MLTS-local",
    "sensor-unattended",
    "sensor-attended",
    "POTS",
    "VOIP",
    "remote",
    "relay",
];
/// RFC 7852 §4.2.3 (registry §11.1.7), "Service Mobility".
const SERVICE_MOBILITY: &[&str] = &["Mobile", "Fixed", "Nomadic", "Unknown"];
/// RFC 7852 §4.3.4 (registry §11.1.8), the `TypeOfDeviceID` of a `UniqueDeviceID`.
const TYPE_OF_DEVICE_ID: &[&str] = &[
    "MEID", "ESN", "MAC", "WiMAX", "IMEI", "IMSI", "UDI", "RFID", "SN",
];

/// RFC 7852 §4.1 (elements) and §6.1 (schema order): Data Provider Information.
const PROVIDER_INFO: BlockDef = BlockDef {
    block: "ProviderInfo",
    ns: "urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo",
    children: &[
        one("DataProviderReference", Value::Token),
        one("DataProviderString", Value::Token),
        one("ProviderID", Value::Token),
        one("ProviderIDSeries", Value::OneOf(PROVIDER_ID_SERIES)),
        one("TypeOfProvider", Value::OneOf(TYPE_OF_PROVIDER)),
        one("ContactURI", Value::Uri),
        many("Language", 0, Value::Token),
        optional("DataProviderContact", Value::Elements),
        optional("SubcontractorPrincipal", Value::Token),
        optional("SubcontractorPriority", Value::Token),
    ],
};

/// RFC 7852 §4.2 (elements) and §6.2 (schema order): Service Information.
const SERVICE_INFO: BlockDef = BlockDef {
    block: "ServiceInfo",
    ns: "urn:ietf:params:xml:ns:EmergencyCallData:ServiceInfo",
    children: &[
        one("DataProviderReference", Value::Token),
        one("ServiceEnvironment", Value::OneOf(SERVICE_ENVIRONMENT)),
        many("ServiceType", 1, Value::OneOf(SERVICE_TYPE)),
        one("ServiceMobility", Value::OneOf(SERVICE_MOBILITY)),
    ],
};

/// RFC 7852 §4.3 (elements) and §6.3 (schema order): Device Information.
const DEVICE_INFO: BlockDef = BlockDef {
    block: "DeviceInfo",
    ns: "urn:ietf:params:xml:ns:EmergencyCallData:DeviceInfo",
    children: &[
        one("DataProviderReference", Value::Token),
        optional("DeviceClassification", Value::Token),
        optional("DeviceMfgr", Value::Token),
        optional("DeviceModelNr", Value::Token),
        ChildDef {
            name: "UniqueDeviceID",
            min: 0,
            max: None,
            value: Value::Token,
            attr: Some(("TypeOfDeviceID", TYPE_OF_DEVICE_ID)),
        },
        optional("DeviceSpecificData", Value::Token),
        optional("DeviceSpecificType", Value::Token),
    ],
};

/// The blocks this checker knows. Another block in a golden case is a failure: add its
/// table rather than let it through unchecked.
const BLOCKS: [&BlockDef; 3] = [&PROVIDER_INFO, &SERVICE_INFO, &DEVICE_INFO];

/// RFC 3863 PIDF.
const PIDF_NS: &str = "urn:ietf:params:xml:ns:pidf";
/// RFC 4119 GEOPRIV.
const GEOPRIV_NS: &str = "urn:ietf:params:xml:ns:pidf:geopriv10";
/// [MS-SIPRE] Appendix D: `msftE911PidfExtn`'s namespace.
const MSFT_NS: &str = "urn:schema:Rtc.LIS.msftE911PidfExtn.2008";
/// [MS-SIPRE] Appendix D: `ConferenceMode`'s enumeration.
const CONFERENCE_MODES: &[&str] = &["oneway", "twoway"];

// ---------------------------------------------------------------------------------------
// SIP: header fields, parameters, multipart bodies
// ---------------------------------------------------------------------------------------

/// Header fields in wire order, folded lines joined.
#[derive(Debug, Default)]
struct Headers(Vec<(String, String)>);

impl Headers {
    fn parse(head: &str) -> Self {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with([' ', '\t']) {
                // RFC 3261 §7.3.1: a continuation line belongs to the previous field.
                if let Some((_, value)) = fields.last_mut() {
                    value.push(' ');
                    value.push_str(line.trim());
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        Self(fields)
    }

    /// Every value of the field `name` (compared without case; compact forms of RFC 3261
    /// §7.3.3 included), in wire order.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, _)| full_name(n).eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }
}

/// RFC 3261 §7.3.3's compact forms of the header fields this file reads.
fn full_name(name: &str) -> &str {
    match name {
        "c" | "C" => "Content-Type",
        "l" | "L" => "Content-Length",
        "e" | "E" => "Content-Encoding",
        _ => name,
    }
}

/// A forwarded message: header fields and body.
#[derive(Debug)]
struct Message {
    headers: Headers,
    body: String,
}

impl Message {
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
        let (head, body) = split_head(text).ok_or("no empty line ends the header")?;
        // The start line is not a header field.
        let head = head.split_once('\n').map_or("", |(_, rest)| rest);
        Ok(Self {
            headers: Headers::parse(head),
            body: body.to_owned(),
        })
    }

    /// The body's parts, nested multiparts flattened; a body that is not multipart is one
    /// part with the message's own Content-Type and Content-ID.
    fn parts(&self) -> Result<Vec<Part>, String> {
        let mut parts = Vec::new();
        if !self.body.is_empty() {
            collect_parts(&self.headers, &self.body, &mut parts, 0)?;
        }
        Ok(parts)
    }
}

/// One body part.
#[derive(Debug)]
struct Part {
    content_type: String,
    content_id: Option<String>,
    disposition: Option<String>,
    body: String,
}

impl Part {
    /// The media type (`type/subtype`), lower case.
    fn media_type(&self) -> String {
        media_type(&self.content_type)
    }

    /// `Block` of `application/EmergencyCallData.<Block>+xml`.
    fn block(&self) -> Option<&str> {
        let media = self.content_type.split(';').next().unwrap_or("").trim();
        let prefix = "application/emergencycalldata.";
        let head = media.get(..prefix.len())?;
        if !head.eq_ignore_ascii_case(prefix) {
            return None;
        }
        let rest = media.get(prefix.len()..)?;
        let name = rest.get(..rest.len().checked_sub(4)?)?;
        rest.get(name.len()..)?
            .eq_ignore_ascii_case("+xml")
            .then_some(name)
    }
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Header and body, split at the first empty line (CRLF or bare LF).
fn split_head(text: &str) -> Option<(&str, &str)> {
    let crlf = text.find("\r\n\r\n").map(|at| (at, 4));
    let lf = text.find("\n\n").map(|at| (at, 2));
    let (at, len) = match (crlf, lf) {
        (Some(c), Some(l)) => {
            if c.0 < l.0 {
                c
            } else {
                l
            }
        }
        (c, l) => c.or(l)?,
    };
    Some((&text[..at], &text[at + len..]))
}

fn collect_parts(
    headers: &Headers,
    body: &str,
    out: &mut Vec<Part>,
    depth: usize,
) -> Result<(), String> {
    let content_type = headers.one("Content-Type").unwrap_or("").to_owned();
    if media_type(&content_type).starts_with("multipart/") {
        if depth > 4 {
            return Err("multipart nested more than 4 deep".to_owned());
        }
        let boundary = params(&content_type)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("{content_type}: no boundary parameter"))?;
        for text in split_multipart(body, &boundary)? {
            // A part without header fields starts with its empty line.
            let bare = text
                .strip_prefix("\r\n")
                .or_else(|| text.strip_prefix('\n'));
            let (head, part_body) = match bare {
                Some(part_body) => ("", part_body),
                None => split_head(text).ok_or("a body part has no empty line after its header")?,
            };
            collect_parts(&Headers::parse(head), part_body, out, depth + 1)?;
        }
        return Ok(());
    }
    out.push(Part {
        content_type,
        content_id: headers.one("Content-ID").map(str::to_owned),
        disposition: headers.one("Content-Disposition").map(str::to_owned),
        body: body.to_owned(),
    });
    Ok(())
}

/// The parts of a `multipart/*` body (RFC 2046 §5.1.1): each delimiter is `--boundary`
/// at the start of a line, the CRLF before it belonging to the delimiter; the last one is
/// `--boundary--`. Preamble and epilogue are dropped.
fn split_multipart<'b>(body: &'b str, boundary: &str) -> Result<Vec<&'b str>, String> {
    let delimiter = format!("--{boundary}");
    let close = format!("{delimiter}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let content = line
            .trim_end_matches(['\r', '\n'])
            .trim_end_matches([' ', '\t']);
        let is_close = content == close;
        if content == delimiter || is_close {
            if let Some(from) = start {
                let before = &body[..at];
                let end = before
                    .strip_suffix("\r\n")
                    .or_else(|| before.strip_suffix('\n'))
                    .map_or(at, str::len)
                    .max(from);
                parts.push(&body[from..end]);
            }
            if is_close {
                return if parts.is_empty() {
                    Err(format!(
                        "multipart body with boundary {boundary} has no part"
                    ))
                } else {
                    Ok(parts)
                };
            }
            start = Some(at + line.len());
        }
        at += line.len();
    }
    Err(format!(
        "multipart body has no close delimiter --{boundary}--"
    ))
}

/// Splits at `sep` outside double quotes and angle brackets.
fn split_outside(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut from = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[from..i]);
                from = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[from..]);
    out
}

/// The `;name=value` parameters after the first item of `value` (unquoted values; a bare
/// `;flag` has an empty value).
fn params(value: &str) -> Vec<(String, String)> {
    split_outside(value, ';')
        .into_iter()
        .skip(1)
        .map(|p| {
            let (name, v) = p.split_once('=').unwrap_or((p, ""));
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (name.trim().to_owned(), v.to_owned())
        })
        .collect()
}

/// One `<uri>;params` value of a header field such as Call-Info or Geolocation.
#[derive(Debug)]
struct UriValue {
    uri: String,
    params: Vec<(String, String)>,
}

impl UriValue {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_param(&self, name: &str) -> bool {
        self.params
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// Every comma-separated `<uri>;params` value of the field `name`.
fn uri_values(headers: &Headers, name: &str) -> Result<Vec<UriValue>, String> {
    let mut out = Vec::new();
    for field in headers.all(name) {
        for value in split_outside(field, ',') {
            let value = value.trim();
            let uri = value
                .strip_prefix('<')
                .and_then(|v| v.split_once('>'))
                .map(|(uri, _)| uri.to_owned())
                .ok_or_else(|| format!("{name}: {value:?} is not <uri>;params"))?;
            out.push(UriValue {
                uri,
                params: params(value),
            });
        }
    }
    Ok(out)
}

/// The part whose Content-ID is `<cid>` (RFC 2392: the `cid:` URL is the Content-ID
/// without angle brackets, %-encoded).
fn part_by_cid<'p>(parts: &'p [Part], cid_uri: &str) -> Option<&'p Part> {
    let cid = percent_decode(cid_uri.get(4..)?);
    parts.iter().find(|p| {
        p.content_id
            .as_deref()
            .and_then(|id| id.trim().strip_prefix('<')?.strip_suffix('>'))
            .is_some_and(|id| id == cid)
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_cid(uri: &str) -> bool {
    uri.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("cid:"))
}

// ---------------------------------------------------------------------------------------
// Lexical checks
// ---------------------------------------------------------------------------------------

/// RFC 3261 §25.1: `hostname = *( domainlabel "." ) toplabel [ "." ]`, a domainlabel
/// alphanumerics and inner hyphens, a toplabel starting with a letter (so an IPv4
/// address is not a hostname); RFC 1035's 63-octet labels and 253-octet names.
fn is_hostname(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|top| top.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// `xs:token` as these documents need it: not empty, no whitespace at either end, no
/// tab or line break, no run of spaces (what the schema's whitespace collapse would
/// change).
fn token_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some("is empty")
    } else if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        Some("has leading or trailing whitespace (xs:token)")
    } else if text.contains(['\t', '\r', '\n']) || text.contains("  ") {
        Some("has a tab, line break or run of spaces (xs:token)")
    } else {
        None
    }
}

/// An absolute URI: RFC 3986 §3.1 `scheme ":" …`, nothing that cannot appear in one.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\'))
}

fn value_problem(value: Value, text: &str) -> Option<String> {
    match value {
        Value::Elements => None,
        Value::Token => token_problem(text).map(str::to_owned),
        Value::Uri => token_problem(text)
            .map(str::to_owned)
            .or_else(|| (!is_uri(text)).then(|| "is not an absolute URI".to_owned())),
        Value::OneOf(allowed) => (!allowed.contains(&text))
            .then(|| format!("{text:?} is not in the registry {allowed:?}")),
    }
}

// ---------------------------------------------------------------------------------------
// XML: a small namespace-resolved tree
// ---------------------------------------------------------------------------------------

/// An element: namespace URI (empty for none), local name, attributes in no namespace,
/// child elements and its own text.
#[derive(Debug)]
struct Element {
    ns: String,
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    text: String,
}

impl Element {
    fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn label(&self) -> String {
        if self.ns.is_empty() {
            format!("<{}>", self.name)
        } else {
            format!("<{{{}}}{}>", self.ns, self.name)
        }
    }
}

fn resolved_ns(result: &ResolveResult<'_>) -> Result<String, String> {
    match result {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(prefix) => Err(format!(
            "undeclared namespace prefix {:?}",
            String::from_utf8_lossy(prefix)
        )),
    }
}

fn open_element(
    reader: &NsReader<&[u8]>,
    ns: String,
    tag: &BytesStart<'_>,
) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolve_attribute(attr.key);
        if !resolved_ns(&resolved)?.is_empty() {
            continue;
        }
        let value = attr
            .unescape_value()
            .map_err(|e| format!("bad attribute value: {e}"))?;
        attrs.push((
            String::from_utf8_lossy(local.as_ref()).into_owned(),
            value.into_owned(),
        ));
    }
    Ok(Element {
        ns,
        name: String::from_utf8_lossy(tag.local_name().as_ref()).into_owned(),
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Parses a whole document: one root, nothing but whitespace around it.
fn parse_xml(input: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(input);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let attach = |stack: &mut Vec<Element>, root: &mut Option<Element>, e: Element| {
        match stack.last_mut() {
            Some(parent) => parent.children.push(e),
            None if root.is_none() => *root = Some(e),
            None => return Err("more than one root element".to_owned()),
        }
        Ok(())
    };
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML: {e}"))?;
        let ns = resolved_ns(&resolved);
        let text = match event {
            Event::Start(tag) => {
                let element = open_element(&reader, ns?, &tag)?;
                stack.push(element);
                continue;
            }
            Event::Empty(tag) => {
                let element = open_element(&reader, ns?, &tag)?;
                attach(&mut stack, &mut root, element)?;
                continue;
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("end tag without a start tag")?;
                attach(&mut stack, &mut root, element)?;
                continue;
            }
            Event::Text(t) => t
                .xml10_content()
                .map_err(|e| format!("bad text: {e}"))?
                .into_owned(),
            Event::CData(t) => t
                .xml10_content()
                .map_err(|e| format!("bad CDATA: {e}"))?
                .into_owned(),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| format!("{e}"))? {
                    c.to_string()
                } else {
                    let name = r.decode().map_err(|e| format!("{e}"))?;
                    quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_owned()
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => continue,
        };
        match stack.last_mut() {
            Some(parent) => parent.text.push_str(&text),
            None if text.trim().is_empty() => {}
            None => return Err("text outside the root element".to_owned()),
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("{} is never closed", open.label()));
    }
    root.ok_or_else(|| "no root element".to_owned())
}

// ---------------------------------------------------------------------------------------
// The checkers
// ---------------------------------------------------------------------------------------

/// Checks `children` against `defs` in order: occurrences, then each one's content.
fn check_sequence(parent: &str, ns: &str, children: &[Element], defs: &[ChildDef]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut i = 0;
    for def in defs {
        let mut n = 0;
        while let Some(child) = children.get(i).filter(|c| c.is(ns, def.name)) {
            n += 1;
            i += 1;
            if def.max.is_some_and(|max| n > max) {
                problems.push(format!(
                    "{parent}: more than {} <{}>",
                    def.max.unwrap_or(0),
                    def.name
                ));
            }
            problems.extend(check_child(parent, def, child));
        }
        if n < def.min {
            if children.iter().any(|c| c.is(ns, def.name)) {
                problems.push(format!("{parent}: <{}> is out of order", def.name));
            } else {
                problems.push(format!(
                    "{parent}: <{}> is missing (required {} time(s))",
                    def.name, def.min
                ));
            }
        }
    }
    for child in children.get(i..).unwrap_or_default() {
        let known = defs.iter().any(|d| child.is(ns, d.name));
        problems.push(if known {
            format!("{parent}: {} is out of order", child.label())
        } else {
            format!("{parent}: {} is not an element it may hold", child.label())
        });
    }
    problems
}

fn check_child(parent: &str, def: &ChildDef, child: &Element) -> Vec<String> {
    let mut problems = Vec::new();
    let at = format!("{parent}/{}", def.name);
    match def.value {
        Value::Elements => {
            if child.children.is_empty() {
                problems.push(format!("{at}: has no child elements"));
            }
            if !child.text.trim().is_empty() {
                problems.push(format!("{at}: has text beside its elements"));
            }
        }
        value => {
            if let Some(first) = child.children.first() {
                problems.push(format!("{at}: holds {} (text only)", first.label()));
            }
            if let Some(problem) = value_problem(value, &child.text) {
                problems.push(format!("{at}: {problem}"));
            }
        }
    }
    if let Some((name, allowed)) = def.attr {
        match child.attr(name) {
            None => problems.push(format!("{at}: attribute {name} is missing")),
            Some(v) if !allowed.contains(&v) => problems.push(format!(
                "{at}: {name}={v:?} is not in the registry {allowed:?}"
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Checks one RFC 7852 block document; returns its DataProviderReference.
fn check_block(def: &BlockDef, xml: &str) -> Result<String, Vec<String>> {
    let root = parse_xml(xml).map_err(|e| vec![format!("{}: {e}", def.block)])?;
    let root_name = format!("EmergencyCallData.{}", def.block);
    if !root.is(def.ns, &root_name) {
        return Err(vec![format!(
            "{}: the root is {}, not <{{{}}}{root_name}>",
            def.block,
            root.label(),
            def.ns
        )]);
    }
    let mut problems = check_sequence(&root_name, def.ns, &root.children, def.children);
    if !root.text.trim().is_empty() {
        problems.push(format!("{root_name}: has text beside its elements"));
    }
    if problems.is_empty() {
        Ok(root
            .children
            .first()
            .map(|c| c.text.clone())
            .unwrap_or_default())
    } else {
        Err(problems)
    }
}

/// Checks the additional data of one message: each block part (media type, Content-ID,
/// disposition, document), the Call-Info values that name them, unique
/// DataProviderReference values. Returns the blocks seen.
fn check_additional_data(msg: &Message) -> Result<Vec<&'static str>, Vec<String>> {
    let parts = msg.parts().map_err(|e| vec![e])?;
    let call_info = uri_values(&msg.headers, "Call-Info").map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut references: BTreeMap<String, &str> = BTreeMap::new();
    for part in &parts {
        let Some(block) = part.block() else {
            continue;
        };
        let Some(def) = BLOCKS.iter().find(|d| d.block == block) else {
            problems.push(format!(
                "application/EmergencyCallData.{block}+xml: no element table for this block \
                 in this test"
            ));
            continue;
        };
        seen.push(def.block);
        let cid = part
            .content_id
            .as_deref()
            .and_then(|id| id.trim().strip_prefix('<')?.strip_suffix('>'));
        match cid {
            Some(cid) => {
                let purpose = format!("EmergencyCallData.{block}");
                let named = call_info.iter().any(|v| {
                    is_cid(&v.uri)
                        && percent_decode(&v.uri[4..]) == cid
                        && v.param("purpose") == Some(purpose.as_str())
                });
                if !named {
                    problems.push(format!(
                        "{block}: no Call-Info <cid:{cid}>;purpose={purpose} names the part"
                    ));
                }
            }
            None => problems.push(format!("{block}: the part has no Content-ID <…>")),
        }
        match part.disposition.as_deref() {
            Some(d) => {
                let kind = d.split(';').next().unwrap_or("").trim();
                let handling = params(d)
                    .into_iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("handling"))
                    .map(|(_, v)| v);
                if !kind.eq_ignore_ascii_case("by-reference")
                    || !handling.is_some_and(|h| h.eq_ignore_ascii_case("optional"))
                {
                    problems.push(format!(
                        "{block}: Content-Disposition {d:?} is not by-reference;handling=optional"
                    ));
                }
            }
            None => problems.push(format!("{block}: the part has no Content-Disposition")),
        }
        match check_block(def, &part.body) {
            Ok(reference) => {
                if let Some(other) = references.insert(reference.clone(), def.block) {
                    problems.push(format!(
                        "{block}: DataProviderReference {reference:?} is also {other}'s"
                    ));
                }
            }
            Err(errors) => problems.extend(errors),
        }
    }
    for value in &call_info {
        let Some(purpose) = value.param("purpose") else {
            continue;
        };
        let Some(block) = purpose.strip_prefix("EmergencyCallData.") else {
            continue;
        };
        if !is_cid(&value.uri) {
            continue;
        }
        match part_by_cid(&parts, &value.uri) {
            None => problems.push(format!(
                "Call-Info <{}>;purpose={purpose} names no body part",
                value.uri
            )),
            Some(part) if part.block() != Some(block) => problems.push(format!(
                "Call-Info <{}>;purpose={purpose} names a part of type {}",
                value.uri, part.content_type
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(seen)
    } else {
        Err(problems)
    }
}

/// NENA-STA-010: `urn:emergency:uid:<kind>:<id>:<element>`, id 10 to 32 ASCII
/// alphanumerics, element the hostname of the element that assigned it.
fn check_i3_id(uri: &str, kind: &str) -> Result<(), String> {
    let prefix = format!("urn:emergency:uid:{kind}:");
    let rest = uri
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("{uri:?} does not start with {prefix}"))?;
    let (id, element) = rest
        .split_once(':')
        .ok_or_else(|| format!("{uri:?} has no :element after the id"))?;
    if !(10..=32).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "{uri:?}: the id {id:?} is not 10 to 32 ASCII alphanumerics"
        ));
    }
    if !is_hostname(element) {
        return Err(format!(
            "{uri:?}: the element {element:?} is not a hostname"
        ));
    }
    Ok(())
}

/// RFC 4412 §3.1 `r-value = namespace "." r-priority`; RFC 7135: `esnet` priorities 0 to
/// 4. Returns how many `esnet` values the field holds.
fn check_resource_priority(field: &str) -> Result<usize, String> {
    let mut esnet = 0;
    for value in field.split(',') {
        let value = value.trim();
        let (namespace, priority) = value
            .split_once('.')
            .ok_or_else(|| format!("Resource-Priority {value:?} is not namespace.priority"))?;
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(
                            b,
                            b'-' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                        )
                })
        };
        if !token(namespace) || !token(priority) {
            return Err(format!(
                "Resource-Priority {value:?} is not namespace.priority (RFC 4412)"
            ));
        }
        if namespace.eq_ignore_ascii_case("esnet") {
            if !matches!(priority, "0" | "1" | "2" | "3" | "4") {
                return Err(format!(
                    "Resource-Priority {value:?}: esnet's priorities are 0 to 4 (RFC 7135)"
                ));
            }
            esnet += 1;
        }
    }
    Ok(esnet)
}

/// What one message's i3 identifiers, Resource-Priority and loc-src amount to.
#[derive(Debug, Default)]
struct Identifiers {
    call_ids: usize,
    incident_ids: usize,
    esnet: usize,
    loc_src: usize,
}

/// Checks the NENA i3 Call-Info values, Resource-Priority and Geolocation's loc-src.
fn check_identifiers(msg: &Message) -> Result<Identifiers, Vec<String>> {
    let mut seen = Identifiers::default();
    let mut problems = Vec::new();
    let parts = msg.parts().map_err(|e| vec![e])?;
    let call_info = uri_values(&msg.headers, "Call-Info").map_err(|e| vec![e])?;
    for value in &call_info {
        let purpose = value.param("purpose");
        for (kind, expected, count) in [
            ("callid", "emergency-CallId", &mut seen.call_ids),
            ("incidentid", "emergency-IncidentId", &mut seen.incident_ids),
        ] {
            let is_kind = value.uri.starts_with(&format!("urn:emergency:uid:{kind}:"));
            if purpose == Some(expected) {
                match check_i3_id(&value.uri, kind) {
                    Ok(()) => *count += 1,
                    Err(e) => problems.push(format!("Call-Info purpose={expected}: {e}")),
                }
            } else if is_kind {
                problems.push(format!(
                    "Call-Info <{}> has purpose {purpose:?}, not {expected}",
                    value.uri
                ));
            }
        }
    }
    for field in msg.headers.all("Resource-Priority") {
        match check_resource_priority(field) {
            Ok(n) => seen.esnet += n,
            Err(e) => problems.push(e),
        }
    }
    match uri_values(&msg.headers, "Geolocation") {
        Ok(values) => {
            for value in values.iter().filter(|v| v.has_param("loc-src")) {
                let host = value.param("loc-src").unwrap_or("");
                if !is_hostname(host) {
                    problems.push(format!(
                        "Geolocation <{}>: loc-src={host:?} is not a hostname (RFC 8787)",
                        value.uri
                    ));
                    continue;
                }
                if !is_cid(&value.uri) {
                    problems.push(format!(
                        "Geolocation <{}>;loc-src: not a cid: URI naming the PIDF-LO part",
                        value.uri
                    ));
                    continue;
                }
                match part_by_cid(&parts, &value.uri) {
                    Some(part) if part.media_type() == "application/pidf+xml" => {
                        seen.loc_src += 1;
                    }
                    Some(part) => problems.push(format!(
                        "Geolocation <{}> names a part of type {}, not application/pidf+xml",
                        value.uri, part.content_type
                    )),
                    None => {
                        problems.push(format!("Geolocation <{}> names no body part", value.uri))
                    }
                }
            }
        }
        Err(e) => problems.push(e),
    }
    if problems.is_empty() {
        Ok(seen)
    } else {
        Err(problems)
    }
}

/// [MS-SIPRE] Appendix D's `msftE911PidfExtn` content, `NotificationUri` first as Lync
/// clients send it.
const MSFT_CHILDREN: &[ChildDef] = &[
    optional("NotificationUri", Value::Uri),
    one("ConferenceUri", Value::Uri),
    one("ConferenceMode", Value::OneOf(CONFERENCE_MODES)),
];

/// Checks every `msftE911PidfExtn` of one PIDF-LO document; returns how many it holds.
fn check_msft_pidf(xml: &str) -> Result<usize, Vec<String>> {
    let root = parse_xml(xml).map_err(|e| vec![format!("PIDF-LO: {e}")])?;
    let mut problems = Vec::new();
    let mut found = 0;
    if root.is(MSFT_NS, "msftE911PidfExtn") {
        problems.push("msftE911PidfExtn is the root, not a child of status".to_owned());
    }
    walk_msft(&root, &mut found, &mut problems);
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

fn walk_msft(parent: &Element, found: &mut usize, problems: &mut Vec<String>) {
    for (i, child) in parent.children.iter().enumerate() {
        if !child.is(MSFT_NS, "msftE911PidfExtn") {
            walk_msft(child, found, problems);
            continue;
        }
        *found += 1;
        if !parent.is(PIDF_NS, "status") {
            problems.push(format!(
                "msftE911PidfExtn is a child of {}, not of PIDF <status> ([MS-SIPRE] §2.2.23)",
                parent.label()
            ));
        }
        let after_geopriv = i
            .checked_sub(1)
            .and_then(|p| parent.children.get(p))
            .is_some_and(|prev| prev.is(GEOPRIV_NS, "geopriv"));
        if !after_geopriv {
            problems.push(
                "msftE911PidfExtn does not directly follow gp:geopriv ([MS-SIPRE] §2.2.23)"
                    .to_owned(),
            );
        }
        let own = child
            .children
            .iter()
            .take_while(|c| c.ns == MSFT_NS)
            .count();
        problems.extend(check_sequence(
            "msftE911PidfExtn",
            MSFT_NS,
            &child.children[..own],
            MSFT_CHILDREN,
        ));
        for other in &child.children[own..] {
            if other.ns == MSFT_NS || other.ns.is_empty() {
                problems.push(format!(
                    "msftE911PidfExtn: {} after ConferenceMode is not an element of another \
                     namespace ([MS-SIPRE] Appendix D)",
                    other.label()
                ));
            }
        }
        if !child.text.trim().is_empty() {
            problems.push("msftE911PidfExtn: has text beside its elements".to_owned());
        }
    }
}

/// Checks the `msftE911PidfExtn` of every PIDF-LO part of one message.
fn check_msft(msg: &Message) -> Result<usize, Vec<String>> {
    let parts = msg.parts().map_err(|e| vec![e])?;
    let mut found = 0;
    let mut problems = Vec::new();
    for part in parts
        .iter()
        .filter(|p| p.media_type() == "application/pidf+xml")
    {
        match check_msft_pidf(&part.body) {
            Ok(n) => found += n,
            Err(e) => problems.extend(e),
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

// ---------------------------------------------------------------------------------------
// The golden cases
// ---------------------------------------------------------------------------------------

/// Every case that forwards a message: its name and `expected.sip`, parsed.
fn golden_messages() -> Vec<(String, Message)> {
    let mut out = Vec::new();
    for dir in case_dirs() {
        let path = dir.join("expected.sip");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let msg = Message::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        out.push((name, msg));
    }
    assert!(
        out.len() >= 10,
        "only {} golden cases with expected.sip: is tests/cases there?",
        out.len()
    );
    out
}

fn fail_on(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_additional_data_block_follows_rfc_7852() {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, msg) in golden_messages() {
        match check_additional_data(&msg) {
            Ok(blocks) => {
                for block in blocks {
                    *seen.entry(block).or_default() += 1;
                }
            }
            Err(e) => problems.extend(e.into_iter().map(|p| format!("{name}: {p}"))),
        }
    }
    fail_on(&problems);
    for def in BLOCKS {
        assert!(
            seen.contains_key(def.block),
            "no golden case carries EmergencyCallData.{} (seen: {seen:?}): the check ran on \
             nothing",
            def.block
        );
    }
}

#[test]
fn every_i3_identifier_resource_priority_and_loc_src_is_well_formed() {
    let mut problems = Vec::new();
    let mut total = Identifiers::default();
    for (name, msg) in golden_messages() {
        match check_identifiers(&msg) {
            Ok(seen) => {
                total.call_ids += seen.call_ids;
                total.incident_ids += seen.incident_ids;
                total.esnet += seen.esnet;
                total.loc_src += seen.loc_src;
            }
            Err(e) => problems.extend(e.into_iter().map(|p| format!("{name}: {p}"))),
        }
    }
    fail_on(&problems);
    assert!(total.call_ids > 0, "no golden case has an emergency-CallId");
    assert!(
        total.incident_ids > 0,
        "no golden case has an emergency-IncidentId"
    );
    assert!(
        total.esnet > 0,
        "no golden case has Resource-Priority esnet"
    );
    assert!(total.loc_src > 0, "no golden case has Geolocation loc-src");
}

#[test]
fn every_msft_extension_follows_ms_sipre() {
    let mut problems = Vec::new();
    let mut found = 0;
    for (name, msg) in golden_messages() {
        match check_msft(&msg) {
            Ok(n) => found += n,
            Err(e) => problems.extend(e.into_iter().map(|p| format!("{name}: {p}"))),
        }
    }
    fail_on(&problems);
    assert!(found > 0, "no golden case carries msftE911PidfExtn");
}

/// How often each thing a profile adds occurs in a message.
fn provider_markers(msg: &Message) -> [(&'static str, usize); 6] {
    let count = |needle: &str| {
        msg.headers
            .0
            .iter()
            .map(|(_, v)| v.matches(needle).count())
            .sum::<usize>()
            + msg.body.matches(needle).count()
    };
    [
        (
            "Resource-Priority",
            msg.headers.all("Resource-Priority").len(),
        ),
        ("EmergencyCallData", count("EmergencyCallData")),
        ("msftE911PidfExtn", count("msftE911PidfExtn")),
        ("emergency-CallId", count("emergency-CallId")),
        ("emergency-IncidentId", count("emergency-IncidentId")),
        ("loc-src", count("loc-src")),
    ]
}

/// True when a policy folder's TOML files give some trunk a `[trunks.<id>.profile]`.
fn policy_has_profiles(policy: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(policy) else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|text| {
            text.lines().any(|l| {
                let l = l.trim();
                l.starts_with("[trunks.") && l.ends_with(".profile]")
            })
        })
}

#[test]
fn trunks_without_a_profile_add_none_of_it() {
    // The default profile keeps today's output: the plain HQ call has none of it.
    let path = repo_root().join("tests/cases/hq-wired-911/expected.sip");
    let msg = Message::parse(&std::fs::read(&path).unwrap()).unwrap();
    for (what, n) in provider_markers(&msg) {
        assert_eq!(n, 0, "{}: carries {what} ({n} times)", path.display());
    }

    // And no case on a policy without profiles has more of any than its input did (a
    // client's own msftE911PidfExtn passes through unchanged).
    let mut checked = 0;
    let mut problems = Vec::new();
    for dir in case_dirs() {
        let expected = dir.join("expected.sip");
        if !expected.is_file() {
            continue;
        }
        let case = read_case(&dir).unwrap();
        if policy_has_profiles(&repo_root().join(&case.policy)) {
            continue;
        }
        let out = Message::parse(&std::fs::read(&expected).unwrap()).unwrap();
        let input = Message::parse(&std::fs::read(dir.join("input.sip")).unwrap()).unwrap();
        for ((what, after), (_, before)) in provider_markers(&out)
            .into_iter()
            .zip(provider_markers(&input))
        {
            if after > before {
                problems.push(format!(
                    "{}: {what} {before} time(s) in input.sip, {after} in expected.sip",
                    case.name
                ));
            }
        }
        checked += 1;
    }
    fail_on(&problems);
    assert!(checked >= 10, "only {checked} cases without profiles");
}

// ---------------------------------------------------------------------------------------
// The checker, on hand-written documents
// ---------------------------------------------------------------------------------------

const PROVIDER_OK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<EmergencyCallData.ProviderInfo xmlns="urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo">
  <DataProviderReference>ref-0@example.com</DataProviderReference>
  <DataProviderString>Example &amp; Co</DataProviderString>
  <ProviderID>example.com</ProviderID>
  <ProviderIDSeries>domain</ProviderIDSeries>
  <TypeOfProvider>Service Provider</TypeOfProvider>
  <ContactURI>tel:+14255550100</ContactURI>
  <Language>en</Language>
  <Language>es</Language>
  <DataProviderContact xmlns:xc="urn:ietf:params:xml:ns:vcard-4.0">
    <xc:vcard><xc:fn><xc:text>Desk</xc:text></xc:fn></xc:vcard>
  </DataProviderContact>
</EmergencyCallData.ProviderInfo>"#;

const SERVICE_OK: &str = r#"<EmergencyCallData.ServiceInfo
    xmlns="urn:ietf:params:xml:ns:EmergencyCallData:ServiceInfo">
  <DataProviderReference>ref-1@example.com</DataProviderReference>
  <ServiceEnvironment>Business</ServiceEnvironment>
  <ServiceType>MLTS-local</ServiceType>
  <ServiceType>VOIP</ServiceType>
  <ServiceMobility>Fixed</ServiceMobility>
</EmergencyCallData.ServiceInfo>"#;

const DEVICE_OK: &str = r#"<d:EmergencyCallData.DeviceInfo
    xmlns:d="urn:ietf:params:xml:ns:EmergencyCallData:DeviceInfo">
  <d:DataProviderReference>ref-2@example.com</d:DataProviderReference>
  <d:DeviceModelNr>Yealink SIP-T54W 96.86.0.100</d:DeviceModelNr>
  <d:UniqueDeviceID TypeOfDeviceID="IMEI">35-209900-176148-1</d:UniqueDeviceID>
  <d:UniqueDeviceID TypeOfDeviceID="MAC">00:15:65:aa:bb:cc</d:UniqueDeviceID>
</d:EmergencyCallData.DeviceInfo>"#;

fn block_errors(def: &BlockDef, xml: &str) -> String {
    match check_block(def, xml) {
        Ok(_) => panic!("the checker accepted:\n{xml}"),
        Err(e) => e.join("\n"),
    }
}

#[test]
fn checker_accepts_well_formed_blocks() {
    assert_eq!(
        check_block(&PROVIDER_INFO, PROVIDER_OK).unwrap(),
        "ref-0@example.com"
    );
    assert_eq!(
        check_block(&SERVICE_INFO, SERVICE_OK).unwrap(),
        "ref-1@example.com"
    );
    assert_eq!(
        check_block(&DEVICE_INFO, DEVICE_OK).unwrap(),
        "ref-2@example.com"
    );
}

#[test]
fn checker_refuses_elements_out_of_order() {
    let swapped = PROVIDER_OK.replace(
        "<ProviderID>example.com</ProviderID>\n  <ProviderIDSeries>domain</ProviderIDSeries>",
        "<ProviderIDSeries>domain</ProviderIDSeries>\n  <ProviderID>example.com</ProviderID>",
    );
    assert_ne!(swapped, PROVIDER_OK);
    assert!(block_errors(&PROVIDER_INFO, &swapped).contains("<ProviderID> is out of order"));

    let late_language = PROVIDER_OK
        .replace("  <Language>es</Language>\n", "")
        .replace(
            "</EmergencyCallData.ProviderInfo>",
            "<Language>es</Language></EmergencyCallData.ProviderInfo>",
        );
    assert!(block_errors(&PROVIDER_INFO, &late_language).contains("out of order"));
}

#[test]
fn checker_refuses_a_missing_required_element() {
    let no_mobility = SERVICE_OK.replace("  <ServiceMobility>Fixed</ServiceMobility>\n", "");
    assert!(block_errors(&SERVICE_INFO, &no_mobility).contains("<ServiceMobility> is missing"));
    let no_type = SERVICE_OK
        .replace("  <ServiceType>MLTS-local</ServiceType>\n", "")
        .replace("  <ServiceType>VOIP</ServiceType>\n", "");
    assert!(block_errors(&SERVICE_INFO, &no_type).contains("<ServiceType> is missing"));
    let no_reference = DEVICE_OK.replace(
        "<d:DataProviderReference>ref-2@example.com</d:DataProviderReference>",
        "",
    );
    assert!(
        block_errors(&DEVICE_INFO, &no_reference).contains("<DataProviderReference> is missing")
    );
}

#[test]
fn checker_refuses_values_outside_the_registries() {
    let bad_type = PROVIDER_OK.replace("Service Provider<", "Carrier<");
    assert!(block_errors(&PROVIDER_INFO, &bad_type).contains("\"Carrier\" is not in the registry"));
    let bad_series = PROVIDER_OK.replace(">domain<", ">Domain<");
    assert!(block_errors(&PROVIDER_INFO, &bad_series).contains("ProviderIDSeries: \"Domain\""));
    let bad_service = SERVICE_OK.replace(">VOIP<", ">ISDN<");
    assert!(block_errors(&SERVICE_INFO, &bad_service).contains("ServiceType: \"ISDN\""));
    let bad_id = DEVICE_OK.replace("\"MAC\"", "\"UUID\"");
    assert!(block_errors(&DEVICE_INFO, &bad_id).contains("TypeOfDeviceID=\"UUID\""));
    let no_id_type = DEVICE_OK.replace(" TypeOfDeviceID=\"MAC\"", "");
    assert!(block_errors(&DEVICE_INFO, &no_id_type).contains("TypeOfDeviceID is missing"));
}

#[test]
fn checker_refuses_bad_text_names_and_namespaces() {
    let padded = PROVIDER_OK.replace(">Example &amp; Co<", "> Example &amp; Co <");
    assert!(block_errors(&PROVIDER_INFO, &padded).contains("leading or trailing whitespace"));
    let empty = SERVICE_OK.replace(">ref-1@example.com<", "><");
    assert!(block_errors(&SERVICE_INFO, &empty).contains("is empty"));
    let not_uri = PROVIDER_OK.replace(">tel:+14255550100<", ">+14255550100<");
    assert!(block_errors(&PROVIDER_INFO, &not_uri).contains("not an absolute URI"));
    let wrong_ns = SERVICE_OK.replace(":ServiceInfo\"", ":ServiceInfo2\"");
    assert!(block_errors(&SERVICE_INFO, &wrong_ns).contains("the root is"));
    let stranger = SERVICE_OK.replace(
        "<ServiceMobility>",
        "<Comment>hi</Comment>\n  <ServiceMobility>",
    );
    let errors = block_errors(&SERVICE_INFO, &stranger);
    assert!(
        errors.contains("ServiceInfo}Comment> is not an element it may hold"),
        "{errors}"
    );
    assert!(check_block(&SERVICE_INFO, "<EmergencyCallData.ServiceInfo").is_err());
}

/// A multipart INVITE with these extra header lines and these parts (header lines, body).
fn message(extra_headers: &str, parts: &[(&str, &str)]) -> Message {
    let mut text = String::from("INVITE sip:911@esinet.example.net SIP/2.0\r\n");
    text.push_str(extra_headers);
    if parts.is_empty() {
        text.push_str("Content-Length: 0\r\n\r\n");
        return Message::parse(text.as_bytes()).unwrap();
    }
    text.push_str("Content-Type: multipart/mixed; boundary=\"b-1\"\r\n\r\n");
    for (headers, body) in parts {
        text.push_str(&format!("--b-1\r\n{headers}\r\n{body}\r\n"));
    }
    text.push_str("--b-1--\r\n");
    Message::parse(text.as_bytes()).unwrap()
}

const PIDF_PART: &str = "Content-Type: application/pidf+xml\r\nContent-ID: <loc@example.com>\r\n";

fn block_part(block: &str, cid: &str) -> String {
    format!(
        "Content-Type: application/EmergencyCallData.{block}+xml\r\n\
         Content-ID: <{cid}>\r\n\
         Content-Disposition: by-reference;handling=optional\r\n"
    )
}

#[test]
fn checker_follows_call_info_to_the_parts() {
    let provider = block_part("ProviderInfo", "p@example.com");
    let service = block_part("ServiceInfo", "s@example.com");
    let names = "Call-Info: <cid:p@example.com>;purpose=EmergencyCallData.ProviderInfo\r\n\
                 Call-Info: <cid:s@example.com>;purpose=EmergencyCallData.ServiceInfo\r\n";
    let good = message(names, &[(&provider, PROVIDER_OK), (&service, SERVICE_OK)]);
    assert_eq!(
        check_additional_data(&good).unwrap(),
        ["ProviderInfo", "ServiceInfo"]
    );

    // A block part nobody names, and a Call-Info naming no part.
    let unnamed = message(
        "Call-Info: <cid:gone@example.com>;purpose=EmergencyCallData.ProviderInfo\r\n",
        &[(&provider, PROVIDER_OK)],
    );
    let errors = check_additional_data(&unnamed).unwrap_err().join("\n");
    assert!(
        errors.contains("no Call-Info <cid:p@example.com>"),
        "{errors}"
    );
    assert!(
        errors.contains(
            "<cid:gone@example.com>;purpose=EmergencyCallData.ProviderInfo names no body part"
        ),
        "{errors}"
    );

    // The wrong purpose for the part's type.
    let crossed = message(
        "Call-Info: <cid:p@example.com>;purpose=EmergencyCallData.ServiceInfo\r\n",
        &[(&provider, PROVIDER_OK)],
    );
    let errors = check_additional_data(&crossed).unwrap_err().join("\n");
    assert!(errors.contains("names a part of type"), "{errors}");

    // Two blocks with one DataProviderReference.
    let same = SERVICE_OK.replace("ref-1@", "ref-0@");
    let twice = message(names, &[(&provider, PROVIDER_OK), (&service, &same)]);
    let errors = check_additional_data(&twice).unwrap_err().join("\n");
    assert!(errors.contains("is also ProviderInfo's"), "{errors}");

    // Not by-reference;handling=optional.
    let required = provider.replace("handling=optional", "handling=required");
    let strict = message(names, &[(&required, PROVIDER_OK), (&service, SERVICE_OK)]);
    let errors = check_additional_data(&strict).unwrap_err().join("\n");
    assert!(
        errors.contains("is not by-reference;handling=optional"),
        "{errors}"
    );

    // A block this test has no table for.
    let comment = block_part("Comment", "c@example.com");
    let unknown = message(
        "Call-Info: <cid:c@example.com>;purpose=EmergencyCallData.Comment\r\n",
        &[(&comment, "<x/>")],
    );
    let errors = check_additional_data(&unknown).unwrap_err().join("\n");
    assert!(errors.contains("no element table"), "{errors}");
}

#[test]
fn checker_refuses_bad_resource_priority() {
    assert_eq!(check_resource_priority("esnet.0").unwrap(), 1);
    assert_eq!(check_resource_priority("esnet.4, wps.2").unwrap(), 1);
    assert_eq!(check_resource_priority("dsn.flash").unwrap(), 0);
    for bad in [
        "esnet.5",
        "esnet.10",
        "esnet.-1",
        "esnet.",
        "esnet",
        "",
        "esnet.1, esnet.9",
    ] {
        assert!(check_resource_priority(bad).is_err(), "{bad:?} accepted");
    }
    let msg = message("Resource-Priority: esnet.7\r\n", &[]);
    let errors = check_identifiers(&msg).unwrap_err().join("\n");
    assert!(errors.contains("esnet's priorities are 0 to 4"), "{errors}");
}

#[test]
fn checker_refuses_bad_i3_identifiers() {
    check_i3_id(
        "urn:emergency:uid:callid:00aa74b94151499e:edge-1.contoso.com",
        "callid",
    )
    .unwrap();
    check_i3_id(
        "urn:emergency:uid:incidentid:ABCDEFGHIJ:psap.example",
        "incidentid",
    )
    .unwrap();
    for (bad, why) in [
        (
            "urn:emergency:uid:callid:123456789:edge.example.com",
            "10 to 32",
        ),
        (
            "urn:emergency:uid:callid:123456789012345678901234567890123:e.example",
            "10 to 32",
        ),
        (
            "urn:emergency:uid:callid:abc-def-ghij:edge.example.com",
            "10 to 32",
        ),
        (
            "urn:emergency:uid:callid:00aa74b94151499e:10.0.0.1",
            "not a hostname",
        ),
        (
            "urn:emergency:uid:callid:00aa74b94151499e:edge_1.example",
            "not a hostname",
        ),
        (
            "urn:emergency:uid:callid:00aa74b94151499e:",
            "not a hostname",
        ),
        ("urn:emergency:uid:callid:00aa74b94151499e", "no :element"),
        (
            "urn:emergency:uid:incidentid:00aa74b94151499e:e.example",
            "does not start",
        ),
    ] {
        let err = check_i3_id(bad, "callid").unwrap_err();
        assert!(err.contains(why), "{bad}: {err}");
    }
    let crossed = message(
        "Call-Info: <urn:emergency:uid:incidentid:00aa74b94151499e:e.example>;purpose=emergency-CallId\r\n",
        &[],
    );
    let errors = check_identifiers(&crossed).unwrap_err().join("\n");
    assert!(errors.contains("purpose=emergency-CallId"), "{errors}");
    assert!(errors.contains("not emergency-IncidentId"), "{errors}");
}

#[test]
fn checker_refuses_bad_loc_src() {
    let pidf = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:a@example.com\"/>";
    let good = message(
        "Geolocation: <cid:loc@example.com>;loc-src=lis.example.com\r\n",
        &[(PIDF_PART, pidf)],
    );
    assert_eq!(check_identifiers(&good).unwrap().loc_src, 1);
    for (header, why) in [
        ("<cid:loc@example.com>;loc-src=10.1.2.3", "not a hostname"),
        (
            "<cid:loc@example.com>;loc-src=-lis.example.com",
            "not a hostname",
        ),
        ("<cid:loc@example.com>;loc-src", "not a hostname"),
        (
            "<cid:other@example.com>;loc-src=lis.example.com",
            "names no body part",
        ),
        (
            "<https://lis.example.com/l/1>;loc-src=lis.example.com",
            "not a cid:",
        ),
    ] {
        let msg = message(&format!("Geolocation: {header}\r\n"), &[(PIDF_PART, pidf)]);
        let errors = check_identifiers(&msg).unwrap_err().join("\n");
        assert!(errors.contains(why), "{header}: {errors}");
    }
    let sdp = "Content-Type: application/sdp\r\nContent-ID: <loc@example.com>\r\n";
    let msg = message(
        "Geolocation: <cid:loc@example.com>;loc-src=lis.example.com\r\n",
        &[(sdp, "v=0")],
    );
    let errors = check_identifiers(&msg).unwrap_err().join("\n");
    assert!(errors.contains("not application/pidf+xml"), "{errors}");
}

/// A Lync-style PIDF-LO whose `status` holds a geopriv and then `extension`.
fn lync_pidf(extension: &str) -> String {
    format!(
        r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"
    xmlns:ms="urn:schema:Rtc.LIS.msftE911PidfExtn.2008" entity="sip:a@example.com">
  <tuple id="t"><status>
    <gp:geopriv><gp:location-info/><gp:usage-rules/></gp:geopriv>
    {extension}
  </status></tuple>
</presence>"#
    )
}

const MSFT_OK: &str = r#"<ms:msftE911PidfExtn>
      <ms:NotificationUri>sip:security@example.com</ms:NotificationUri>
      <ms:ConferenceUri>sip:+14255550199@example.com;user=phone</ms:ConferenceUri>
      <ms:ConferenceMode>twoway</ms:ConferenceMode>
      <LocationPolicyTagID xmlns="urn:schema:Rtc.Lis.LocationPolicyTagID.2008">hq</LocationPolicyTagID>
    </ms:msftE911PidfExtn>"#;

fn msft_errors(xml: &str) -> String {
    match check_msft_pidf(xml) {
        Ok(n) => panic!("the checker accepted ({n} extensions):\n{xml}"),
        Err(e) => e.join("\n"),
    }
}

#[test]
fn checker_refuses_bad_msft_extensions() {
    assert_eq!(check_msft_pidf(&lync_pidf(MSFT_OK)).unwrap(), 1);
    let without_notification = MSFT_OK.replace(
        "<ms:NotificationUri>sip:security@example.com</ms:NotificationUri>",
        "",
    );
    assert_eq!(
        check_msft_pidf(&lync_pidf(&without_notification)).unwrap(),
        1
    );

    let both = MSFT_OK.replace(">twoway<", ">both<");
    assert!(msft_errors(&lync_pidf(&both)).contains("\"both\" is not in the registry"));

    let no_conference = MSFT_OK.replace(
        "<ms:ConferenceUri>sip:+14255550199@example.com;user=phone</ms:ConferenceUri>",
        "",
    );
    assert!(msft_errors(&lync_pidf(&no_conference)).contains("<ConferenceUri> is missing"));

    let notification_last = MSFT_OK
        .replace(
            "<ms:NotificationUri>sip:security@example.com</ms:NotificationUri>",
            "",
        )
        .replace(
            "<ms:ConferenceMode>twoway</ms:ConferenceMode>",
            "<ms:ConferenceMode>twoway</ms:ConferenceMode>\
             <ms:NotificationUri>sip:security@example.com</ms:NotificationUri>",
        );
    assert!(msft_errors(&lync_pidf(&notification_last)).contains("out of order"));

    // After ConferenceMode: elements of other namespaces only (xs:any ##other), so
    // neither one in no namespace nor one of the extension's own after a foreign one.
    let unqualified = MSFT_OK.replace(
        "<LocationPolicyTagID xmlns=\"urn:schema:Rtc.Lis.LocationPolicyTagID.2008\">",
        "<LocationPolicyTagID xmlns=\"\">",
    );
    assert!(msft_errors(&lync_pidf(&unqualified)).contains("not an element of another namespace"));
    let own_after_foreign = MSFT_OK.replace(
        "</ms:msftE911PidfExtn>",
        "<ms:ConferenceMode>oneway</ms:ConferenceMode></ms:msftE911PidfExtn>",
    );
    assert!(
        msft_errors(&lync_pidf(&own_after_foreign)).contains("not an element of another namespace")
    );

    let not_a_uri = MSFT_OK.replace("sip:+14255550199@example.com;user=phone", "+1 425 555 0199");
    assert!(msft_errors(&lync_pidf(&not_a_uri)).contains("ConferenceUri"));

    // Placement: under status but not directly after geopriv; outside status.
    let note_between = lync_pidf(&format!("<note>x</note>{MSFT_OK}"));
    assert!(msft_errors(&note_between).contains("does not directly follow gp:geopriv"));
    let in_tuple = lync_pidf("").replace("</status>", &format!("</status>{MSFT_OK}"));
    let errors = msft_errors(&in_tuple);
    assert!(errors.contains("not of PIDF <status>"), "{errors}");
}

#[test]
fn multipart_splitter_reads_quoted_boundaries_and_bare_parts() {
    let text = "MESSAGE sip:a@example.com SIP/2.0\r\n\
                c: multipart/mixed;boundary=\"x y\"\r\n\r\n\
                preamble\r\n--x y\r\n\r\nno headers\r\n--x y  \r\n\
                Content-Type: text/plain\r\n\r\nline1\r\n--x yz\r\n--x y--\r\nepilogue";
    let parts = Message::parse(text.as_bytes()).unwrap().parts().unwrap();
    let bodies: Vec<&str> = parts.iter().map(|p| p.body.as_str()).collect();
    assert_eq!(bodies, ["no headers", "line1\r\n--x yz"]);
    assert_eq!(parts[1].media_type(), "text/plain");

    let unterminated =
        "INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed;boundary=z\r\n\r\n--z\r\n\r\nx\r\n";
    assert!(
        Message::parse(unterminated.as_bytes())
            .unwrap()
            .parts()
            .is_err()
    );
}

/// The suite checks catch a regression in the real output: each golden message, broken
/// in one place, fails the check that covers that place.
#[test]
fn checker_refuses_broken_copies_of_the_profile_cases() {
    let read = |case: &str| {
        std::fs::read_to_string(
            repo_root()
                .join("tests/cases")
                .join(case)
                .join("expected.sip"),
        )
        .unwrap()
    };
    let ng = read("profile-ng911-additional-data-911");
    let lync = read("profile-lync-msft-extension-911");
    let broken = |text: &str, from: &str, to: &str| {
        assert!(
            text.contains(from),
            "the golden message no longer holds {from:?}"
        );
        Message::parse(text.replacen(from, to, 1).as_bytes()).unwrap()
    };
    check_additional_data(&Message::parse(ng.as_bytes()).unwrap()).unwrap();
    check_identifiers(&Message::parse(ng.as_bytes()).unwrap()).unwrap();
    check_msft(&Message::parse(lync.as_bytes()).unwrap()).unwrap();

    for (from, to) in [
        (">Fixed<", ">Stationary<"),
        (">Business<", "> Business<"),
        ("<ServiceEnvironment>Business</ServiceEnvironment>", ""),
        (
            ";purpose=EmergencyCallData.DeviceInfo",
            ";purpose=EmergencyCallData.ServiceInfo",
        ),
        ("handling=optional", "handling=required"),
        (
            "-1@edge-1.contoso.com</DataProviderReference>",
            "-0@edge-1.contoso.com</DataProviderReference>",
        ),
    ] {
        assert!(
            check_additional_data(&broken(&ng, from, to)).is_err(),
            "{from} -> {to}"
        );
    }
    for (from, to) in [
        ("esnet.1", "esnet.5"),
        ("callid:00aa74b94151499e:", "callid:00aa74b9:"),
        (
            "edge-1.contoso.com>;purpose=emergency-IncidentId",
            "10.0.0.1>;purpose=emergency-IncidentId",
        ),
        ("loc-src=lis.contoso.com", "loc-src=lis_contoso"),
    ] {
        assert!(
            check_identifiers(&broken(&ng, from, to)).is_err(),
            "{from} -> {to}"
        );
    }
    for (from, to) in [
        (">twoway<", ">both<"),
        ("<ms:ConferenceUri>", "<ms:ConferenceUri>x "),
        ("</gp:geopriv>", "</gp:geopriv><note>x</note>"),
    ] {
        assert!(
            check_msft(&broken(&lync, from, to)).is_err(),
            "{from} -> {to}"
        );
    }
}
