//! A small element tree built from quick-xml's namespace-resolving reader.
//!
//! PIDF-LO documents are a few KiB, so a tree costs little and lets the
//! reader ask "the `deviceID` child of this `device`" without a state machine.
//! Names are resolved to namespace URIs here, once: the reader then matches on
//! [`Ns`], never on prefixes (RFC 3863 and RFC 4119 documents use any prefix,
//! or none).

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::{MAX_DEPTH, ns};
use crate::error::ReadError;

/// The namespaces the reader knows, resolved from their URIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ns {
    /// RFC 3863 PIDF.
    Pidf,
    /// RFC 4479 data model (`device`, `person`, `deviceID`, `timestamp`).
    DataModel,
    /// RFC 4119 GEOPRIV.
    Geopriv,
    /// RFC 4119 basic policy (usage rules).
    BasicPolicy,
    /// RFC 5139 civic address.
    Civic,
    /// RFC 4119's original civic namespace (`civicLoc`), same element names.
    CivicLoc,
    /// GML 3.1.1 (RFC 5491).
    Gml,
    /// GML 3.0 as RFC 4119's examples used it.
    Gml30,
    /// OGC PIDF-LO shapes (`gs:Circle`, RFC 5491 §5.2).
    GeoShape,
    /// The `xml` prefix's namespace (`xml:lang`).
    Xml,
    /// No namespace.
    None,
    /// Any other namespace (Lync's `msftE911PidfExtn`, RFC 6848 extensions,
    /// NENA, ...), or an undeclared prefix. Ignored by the reader.
    Other,
}

impl Ns {
    fn from_resolved(result: &ResolveResult<'_>) -> Self {
        match result {
            ResolveResult::Bound(uri) => Self::from_uri(uri.as_ref()),
            ResolveResult::Unbound => Self::None,
            ResolveResult::Unknown(_) => Self::Other,
        }
    }

    fn from_uri(uri: &[u8]) -> Self {
        let table: [(&str, Ns); 10] = [
            (ns::PIDF, Self::Pidf),
            (ns::DATA_MODEL, Self::DataModel),
            (ns::GEOPRIV, Self::Geopriv),
            (ns::BASIC_POLICY, Self::BasicPolicy),
            (ns::CIVIC, Self::Civic),
            (ns::CIVIC_LOC, Self::CivicLoc),
            (ns::GML, Self::Gml),
            (ns::GML_30, Self::Gml30),
            (ns::GEO_SHAPE, Self::GeoShape),
            ("http://www.w3.org/XML/1998/namespace", Self::Xml),
        ];
        table
            .iter()
            .find(|(u, _)| u.as_bytes() == uri)
            .map_or(Self::Other, |(_, n)| *n)
    }
}

/// An attribute with its resolved namespace. Names and values borrow from the input
/// unless an entity had to be replaced: a client's PIDF-LO is read on the emergency path.
#[derive(Debug)]
pub(crate) struct Attr<'a> {
    pub(crate) ns: Ns,
    pub(crate) name: Cow<'a, str>,
    pub(crate) value: Cow<'a, str>,
}

/// An element: resolved name, attributes, children, and where it was.
#[derive(Debug)]
pub(crate) struct Element<'a> {
    pub(crate) ns: Ns,
    pub(crate) name: Cow<'a, str>,
    pub(crate) attrs: Vec<Attr<'a>>,
    pub(crate) children: Vec<Node<'a>>,
    /// Byte range of the whole element in the input, to hand back raw XML.
    pub(crate) span: Range<usize>,
}

/// A child of an element.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    Element(Element<'a>),
    Text(Cow<'a, str>),
}

impl<'a> Element<'a> {
    /// True for the element `name` in namespace `ns`.
    pub(crate) fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// An attribute in no namespace (the usual case: `id`, `entity`).
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attr_in(Ns::None, name)
    }

    /// An attribute in a namespace (`xml:lang`).
    pub(crate) fn attr_in(&self, ns: Ns, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_ref())
    }

    /// The child elements, in document order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element<'a>> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element satisfying `pred`.
    pub(crate) fn child(&self, pred: impl Fn(&Element<'a>) -> bool) -> Option<&Element<'a>> {
        self.elements().find(|e| pred(e))
    }

    /// The element's own text (not its descendants'), concatenated; borrowed when it is
    /// one piece (a leaf's value, the usual case).
    pub(crate) fn text(&self) -> Cow<'_, str> {
        let mut pieces = self.children.iter().filter_map(|n| match n {
            Node::Text(t) => Some(t.as_ref()),
            Node::Element(_) => None,
        });
        let Some(first) = pieces.next() else {
            return Cow::Borrowed("");
        };
        match pieces.next() {
            None => Cow::Borrowed(first),
            Some(second) => {
                let mut all = String::from(first);
                all.push_str(second);
                pieces.for_each(|p| all.push_str(p));
                Cow::Owned(all)
            }
        }
    }
}

/// Builds the tree of `input`. Checks well-formedness as far as a reader
/// needs: only characters XML allows, matched tags (quick-xml), one root,
/// nothing but whitespace outside it, known entities, no duplicate
/// attributes, depth at most [`MAX_DEPTH`].
pub(crate) fn parse(input: &str) -> Result<Element<'_>, ReadError> {
    check_chars(input)?;
    let mut reader = NsReader::from_str(input);
    let mut builder = Builder::default();
    loop {
        let before = position(&reader);
        let (ns, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => (Ns::from_resolved(&resolved), event),
            Err(e) => return Err(malformed(&reader, e)),
        };
        match event {
            Event::Start(tag) => {
                let element = open(input, &reader, ns, &tag, before)?;
                builder.push(element)?;
            }
            Event::Empty(tag) => {
                let mut element = open(input, &reader, ns, &tag, before)?;
                element.span.end = position(&reader);
                builder.attach(element, before)?;
            }
            Event::End(_) => builder.close(position(&reader), before)?,
            Event::Text(text) => {
                // Whitespace between elements (CRLF lines in a SIP body) is kept as
                // written rather than normalized: every reader of text collapses or trims
                // it, and borrowing it saves an allocation per line.
                let raw: &[u8] = &text;
                let blank = raw
                    .iter()
                    .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
                let piece = match slice_of(input, raw).filter(|_| blank) {
                    Some(borrowed) => Cow::Borrowed(borrowed),
                    None => from_input(
                        input,
                        text.xml10_content().map_err(|e| malformed_at(before, e))?,
                    ),
                };
                builder.text(piece, before)?;
            }
            Event::CData(data) => {
                let data = data.xml10_content().map_err(|e| malformed_at(before, e))?;
                builder.text(from_input(input, data), before)?;
            }
            Event::GeneralRef(reference) => {
                builder.text(Cow::Owned(resolve(&reference, before)?), before)?;
            }
            Event::Eof => return builder.finish(position(&reader)),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
}

/// XML 1.0 §2.2, <https://www.w3.org/TR/xml/#charsets>: "Char ::= #x9 | #xA
/// | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]", for the
/// whole document (text, attribute values, CDATA, comments). quick-xml does
/// not check it, and a raw NUL read into a civic element would reach the
/// PSAP as something the caller's document never validly said.
fn check_chars(input: &str) -> Result<(), ReadError> {
    // Scanned by byte: a character XML forbids is a C0 control (one byte) or U+FFFE and
    // U+FFFF (three bytes starting 0xEF); only those bytes need the character decoded.
    let may_be_bad = |b: &u8| (*b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r')) || *b == 0xEF;
    let mut from = 0;
    while let Some(offset) = input
        .as_bytes()
        .get(from..)
        .and_then(|rest| rest.iter().position(may_be_bad))
    {
        let at = from + offset;
        let c = input.get(at..).and_then(|rest| rest.chars().next());
        if let Some(c) = c.filter(|c| !super::lexical::is_xml_char(*c)) {
            return Err(malformed_at(
                at,
                format!(
                    "U+{:04X} is not a character XML allows (XML 1.0 §2.2)",
                    u32::from(c)
                ),
            ));
        }
        from = at + 1;
    }
    Ok(())
}

#[derive(Default)]
struct Builder<'a> {
    stack: Vec<Element<'a>>,
    root: Option<Element<'a>>,
}

impl<'a> Builder<'a> {
    fn push(&mut self, element: Element<'a>) -> Result<(), ReadError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(ReadError::TooDeep { max: MAX_DEPTH });
        }
        self.stack.push(element);
        Ok(())
    }

    fn close(&mut self, end: usize, at: usize) -> Result<(), ReadError> {
        let Some(mut element) = self.stack.pop() else {
            return Err(malformed_at(at, "end tag without a start tag"));
        };
        element.span.end = end;
        self.attach(element, at)
    }

    fn attach(&mut self, element: Element<'a>, at: usize) -> Result<(), ReadError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(Node::Element(element)),
            None if self.root.is_none() => self.root = Some(element),
            None => return Err(malformed_at(at, "more than one root element")),
        }
        Ok(())
    }

    fn text(&mut self, text: Cow<'a, str>, at: usize) -> Result<(), ReadError> {
        match self.stack.last_mut() {
            Some(parent) => match parent.children.last_mut() {
                Some(Node::Text(t)) => t.to_mut().push_str(&text),
                _ => parent.children.push(Node::Text(text)),
            },
            None if text.trim_matches([' ', '\t', '\r', '\n']).is_empty() => {}
            None => return Err(malformed_at(at, "text outside the root element")),
        }
        Ok(())
    }

    fn finish(mut self, at: usize) -> Result<Element<'a>, ReadError> {
        if let Some(open) = self.stack.pop() {
            let reason = format!("<{}> is never closed", open.name);
            return Err(malformed_at(at, reason));
        }
        self.root.ok_or_else(|| malformed_at(at, "no root element"))
    }
}

fn open<'a>(
    input: &'a str,
    reader: &NsReader<&[u8]>,
    ns: Ns,
    tag: &BytesStart<'_>,
    at: usize,
) -> Result<Element<'a>, ReadError> {
    let mut attrs = Vec::new();
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| malformed_at(at, e))?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = reader.resolve_attribute(attr.key);
        let value = attr.unescape_value().map_err(|e| malformed_at(at, e))?;
        attrs.push(Attr {
            ns: Ns::from_resolved(&resolved),
            name: name_in(input, local.as_ref(), at)?,
            value: from_input(input, value),
        });
    }
    Ok(Element {
        ns,
        name: name_in(input, tag.local_name().as_ref(), at)?,
        attrs,
        children: Vec::new(),
        span: at..at,
    })
}

/// `text` borrowed from `input` when it is a slice of it (quick-xml hands back the
/// input's own bytes when nothing had to be unescaped or normalized), else owned.
fn from_input<'a>(input: &'a str, text: Cow<'_, str>) -> Cow<'a, str> {
    match slice_of(input, text.as_bytes()) {
        Some(borrowed) => Cow::Borrowed(borrowed),
        None => Cow::Owned(text.into_owned()),
    }
}

/// A name, borrowed from `input` when it is a slice of it.
fn name_in<'a>(input: &'a str, bytes: &[u8], at: usize) -> Result<Cow<'a, str>, ReadError> {
    match slice_of(input, bytes) {
        Some(borrowed) => Ok(Cow::Borrowed(borrowed)),
        None => utf8(bytes, at).map(Cow::Owned),
    }
}

/// `bytes` as the part of `input` it is, found by address (no unsafe code: the range is
/// checked, and the slice taken is compared back by address).
fn slice_of<'a>(input: &'a str, bytes: &[u8]) -> Option<&'a str> {
    let start = bytes.as_ptr().addr().checked_sub(input.as_ptr().addr())?;
    let slice = input.get(start..start.checked_add(bytes.len())?)?;
    (slice.as_ptr() == bytes.as_ptr()).then_some(slice)
}

/// Resolves `&name;` and `&#n;`. Only XML's five predefined entities exist
/// here: a PIDF-LO has no DTD to define more (and we would not expand one).
fn resolve(reference: &BytesRef<'_>, at: usize) -> Result<String, ReadError> {
    if let Some(c) = reference
        .resolve_char_ref()
        .map_err(|e| malformed_at(at, e))?
    {
        let allowed = super::lexical::is_xml_char(c);
        return if allowed {
            Ok(c.to_string())
        } else {
            Err(malformed_at(
                at,
                "character reference to a character XML forbids",
            ))
        };
    }
    let name = reference.decode().map_err(|e| malformed_at(at, e))?;
    quick_xml::escape::resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| malformed_at(at, format!("unknown entity &{name};")))
}

fn utf8(bytes: &[u8], at: usize) -> Result<String, ReadError> {
    core::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|e| malformed_at(at, e))
}

fn position(reader: &NsReader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

fn malformed(reader: &NsReader<&[u8]>, error: quick_xml::Error) -> ReadError {
    ReadError::Malformed {
        at: reader.error_position(),
        reason: error.to_string(),
    }
}

fn malformed_at(at: usize, reason: impl core::fmt::Display) -> ReadError {
    ReadError::Malformed {
        at: at as u64,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(input: &str) -> String {
        match parse(input) {
            Err(ReadError::Malformed { reason, .. }) => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn names_resolve_to_namespaces_whatever_the_prefix() {
        let doc = r#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf"
            xmlns:x="urn:ietf:params:xml:ns:pidf:data-model"><x:device id="d"/></p:presence>"#;
        let root = parse(doc).unwrap();
        assert!(root.is(Ns::Pidf, "presence"));
        let device = root.elements().next().unwrap();
        assert!(device.is(Ns::DataModel, "device"));
        assert_eq!(device.attr("id"), Some("d"));
    }

    #[test]
    fn text_entities_and_cdata_are_decoded() {
        let root = parse("<a>x &amp; &lt;y&gt; &#x5A;&#252;rich <![CDATA[<z>]]></a>").unwrap();
        assert_eq!(root.text(), "x & <y> Zürich <z>");
        let root = parse(r#"<a v="&quot;q&quot; &amp; &#65;"/>"#).unwrap();
        assert_eq!(root.attr("v"), Some("\"q\" & A"));
    }

    #[test]
    fn spans_cover_the_whole_element() {
        let doc = "<a>  <b x='1'>t</b><c/></a>";
        let root = parse(doc).unwrap();
        let spans: Vec<&str> = root
            .elements()
            .map(|e| doc.get(e.span.clone()).unwrap())
            .collect();
        assert_eq!(spans, ["<b x='1'>t</b>", "<c/>"]);
        assert_eq!(doc.get(root.span.clone()), Some(doc));
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(reason("<a><b></a>").contains("b"));
        assert!(reason("<a>").contains("never closed"));
        assert!(reason("<a/><b/>").contains("more than one root"));
        assert!(reason("<a/>text").contains("outside the root"));
        assert!(reason("").contains("no root"));
        assert!(reason("<a>&nbsp;</a>").contains("unknown entity"));
        assert!(reason("<a>&#1;</a>").contains("forbids"));
        assert!(!reason(r#"<a x="1" x="2"/>"#).is_empty());
        assert!(!reason("</a>").is_empty());
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(&deep).unwrap_err(),
            ReadError::TooDeep { max: MAX_DEPTH }
        );
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn undeclared_prefixes_are_read_as_foreign() {
        let root = parse("<a><q:b/></a>").unwrap();
        assert_eq!(root.elements().next().unwrap().ns, Ns::Other);
    }
}
