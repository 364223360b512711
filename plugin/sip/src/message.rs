//! `Message`: one parsed SIP message borrowing its buffer, with one `Field` per header
//! line in wire order.

use alloc::vec::Vec;

use crate::header::HeaderKind;
use crate::lex::eq_ic;
use crate::method::Method;
use crate::section::RawField;
use crate::span::Span;
use crate::start_line::StartLine;

/// One header line: its resolved kind, its name and its value as written.
///
/// The value of a folded header (RFC 3261 §7.3.1) spans all its lines, continuation
/// CRLFs included, without the white space around it. Same-name headers are never
/// merged: each line is its own `Field`, in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// What the name means.
    pub kind: HeaderKind,
    /// The name as written (`Via`, `v`, `VIA`, `X-Custom`).
    pub name: Span,
    /// The value, trimmed, possibly empty.
    pub value: Span,
}

impl Field {
    pub(crate) fn from_raw(buf: &[u8], raw: RawField) -> Self {
        let name = Span::new(raw.name.0, raw.name.1);
        Self {
            kind: HeaderKind::from_name(name.slice(buf)),
            name,
            value: Span::new(raw.value.0, raw.value.1),
        }
    }
}

/// A parsed SIP message: the buffer, the start line, the header fields, the body.
///
/// Accessors return slices of the buffer; nothing is copied. Typed views of header
/// values (`top_via`, `geolocation`, ...) decode on demand, so one malformed header
/// fails only the view that reads it.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    buf: &'a [u8],
    start: StartLine,
    fields: Vec<Field>,
    header_end: u32,
    body: Span,
    content_length: Option<u32>,
    /// Parsed under a leniency that tolerates nothing (see [`Message::parsed_strictly`]).
    strict: bool,
}

impl<'a> Message<'a> {
    pub(crate) fn from_parts(
        buf: &'a [u8],
        start: StartLine,
        fields: Vec<Field>,
        header_end: usize,
        body: Span,
        content_length: Option<u32>,
        strict: bool,
    ) -> Self {
        Self {
            buf,
            start,
            fields,
            header_end: crate::span::to_u32(header_end),
            body,
            content_length,
            strict,
        }
    }

    /// Whether the parser accepted this message with no leniency: its start line, header
    /// lines, blank line and Content-Length are RFC 3261 syntax as written.
    pub fn parsed_strictly(&self) -> bool {
        self.strict
    }

    /// The message bytes: start line through the end of the body, without any
    /// trailing bytes of the datagram.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf.get(..self.len()).unwrap_or(self.buf)
    }

    /// Length of the message in bytes (header section plus body).
    pub fn len(&self) -> usize {
        self.body.hi()
    }

    /// Whether the message is empty; never true for a parsed message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole buffer given to [`crate::parse`], trailing bytes included.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// Bytes of the datagram after the end of the body. RFC 3261 §18.3: they "MUST be
    /// discarded" (RFC 4475 §3.1.1.8 `dblreq.dat`).
    pub fn trailing(&self) -> &'a [u8] {
        self.buf.get(self.len()..).unwrap_or_default()
    }

    /// The bytes a span covers.
    pub fn slice(&self, span: Span) -> &'a [u8] {
        span.slice(self.buf)
    }

    /// The start line.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request(_))
    }

    /// The method of a request; `None` for a response.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request(r) => Some(Method::from_bytes(self.slice(r.method))),
            StartLine::Status(_) => None,
        }
    }

    /// The Status-Code of a response; `None` for a request.
    pub fn status_code(&self) -> Option<u16> {
        match self.start {
            StartLine::Status(s) => Some(s.code),
            StartLine::Request(_) => None,
        }
    }

    /// The Reason-Phrase of a response, as written; `None` for a request.
    pub fn reason(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Status(s) => Some(self.slice(s.reason)),
            StartLine::Request(_) => None,
        }
    }

    /// The Request-URI as written; `None` for a response.
    /// [`Message::request_uri`] decodes it.
    pub fn request_uri_bytes(&self) -> Option<&'a [u8]> {
        match self.start {
            StartLine::Request(r) => Some(self.slice(r.uri)),
            StartLine::Status(_) => None,
        }
    }

    /// Every header line, in wire order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The name of a field as written.
    pub fn name(&self, field: &Field) -> &'a [u8] {
        self.slice(field.name)
    }

    /// The value of a field as written (trimmed; folded lines included).
    pub fn value(&self, field: &Field) -> &'a [u8] {
        self.slice(field.value)
    }

    /// The fields of one kind, in wire order.
    pub fn fields_of(&self, kind: HeaderKind) -> impl Iterator<Item = &Field> + '_ {
        self.fields.iter().filter(move |f| f.kind == kind)
    }

    /// The values of one kind of header, in wire order. For [`HeaderKind::Other`] this
    /// yields every extension header; use [`Message::headers_named`] for one of them.
    pub fn headers(&self, kind: HeaderKind) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.fields_of(kind).map(|f| self.slice(f.value))
    }

    /// The first value of one kind of header.
    pub fn header(&self, kind: HeaderKind) -> Option<&'a [u8]> {
        self.headers(kind).next()
    }

    /// The values of the headers whose name equals `name`, case-insensitively
    /// (extension headers, e.g. a configured LLDP header).
    pub fn headers_named<'n>(
        &self,
        name: &'n [u8],
    ) -> impl Iterator<Item = &'a [u8]> + use<'_, 'a, 'n> {
        self.fields
            .iter()
            .filter(move |f| eq_ic(self.slice(f.name), name))
            .map(|f| self.slice(f.value))
    }

    /// Whether any header of this kind is present.
    pub fn has(&self, kind: HeaderKind) -> bool {
        self.fields.iter().any(|f| f.kind == kind)
    }

    /// The whole line of a field: from its name through the line end of its last
    /// continuation line. This is what removing the field removes.
    pub fn field_line(&self, field: &Field) -> Span {
        let end = line_end_after(self.buf, field.value.hi(), self.header_end as usize);
        Span::new(field.name.lo(), end)
    }

    /// Where the header section ends: the start of the blank line, which is where new
    /// header lines are inserted. Empty span.
    pub fn header_end(&self) -> Span {
        Span {
            start: self.header_end,
            end: self.header_end,
        }
    }

    /// The body.
    pub fn body(&self) -> &'a [u8] {
        self.slice(self.body)
    }

    /// Where the body is.
    pub fn body_span(&self) -> Span {
        self.body
    }

    /// The Content-Length value, if the message has one (all copies agree; the parser
    /// refuses conflicting ones).
    pub fn content_length(&self) -> Option<u32> {
        self.content_length
    }
}

/// The index after the LF that ends the line containing `pos`, or `limit` if none does.
pub(crate) fn line_end_after(buf: &[u8], pos: usize, limit: usize) -> usize {
    buf.get(pos..limit)
        .and_then(|rest| memchr::memchr(b'\n', rest))
        .map_or(limit, |i| pos + i + 1)
}

#[cfg(test)]
mod tests {
    use crate::{HeaderKind, Limits, Method, parse};

    const MSG: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
v: SIP/2.0/UDP b;branch=z9hG4bK2\r\n\
X-Lldp: chassis=1\r\n\
Subject: folded\r\n value\r\n\
x-lldp: port=2\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn keeps_duplicate_headers_in_wire_order() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        let vias: alloc::vec::Vec<_> = msg.headers(HeaderKind::Via).collect();
        assert_eq!(
            vias,
            [
                &b"SIP/2.0/UDP a;branch=z9hG4bK1"[..],
                b"SIP/2.0/UDP b;branch=z9hG4bK2"
            ]
        );
        let lldp: alloc::vec::Vec<_> = msg.headers_named(b"X-LLDP").collect();
        assert_eq!(lldp, [&b"chassis=1"[..], b"port=2"]);
        assert_eq!(msg.method(), Some(Method::Invite));
        assert_eq!(msg.request_uri_bytes(), Some(&b"sip:bob@example.com"[..]));
        assert_eq!(msg.status_code(), None);
    }

    #[test]
    fn field_line_covers_continuations() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        let subject = msg.fields_of(HeaderKind::Subject).next().unwrap();
        assert_eq!(msg.value(subject), b"folded\r\n value");
        assert_eq!(
            msg.slice(msg.field_line(subject)),
            b"Subject: folded\r\n value\r\n"
        );
        assert!(msg.has(HeaderKind::ContentLength));
        assert!(!msg.has(HeaderKind::Geolocation));
    }

    #[test]
    fn header_end_is_the_blank_line() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        let at = msg.header_end().start as usize;
        assert_eq!(&MSG[at..], b"\r\n");
        assert!(msg.body().is_empty());
        assert!(!msg.is_empty());
    }
}
