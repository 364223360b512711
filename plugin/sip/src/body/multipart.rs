//! Splitting a `multipart/*` body into parts (RFC 2046 §5.1.1), binary-safe.
//!
//! RFC 2046 §5.1.1 (<https://www.rfc-editor.org/rfc/rfc2046#section-5.1.1>): "The
//! boundary delimiter MUST occur at the beginning of a line, i.e., following a CRLF,
//! and the initial CRLF is considered to be attached to the boundary delimiter line
//! rather than part of the preceding part." A `cid:` URL names a part by its
//! Content-ID (RFC 2392 §2, <https://www.rfc-editor.org/rfc/rfc2392#section-2>).

use alloc::vec::Vec;

use memchr::memmem;

use crate::error::{HeaderError, HeaderErrorKind};
use crate::header::list::parse_one;
use crate::header::{ContentType, HeaderKind, cid_matches};
use crate::lex::{is_wsp, sub, trim};
use crate::limits::{Limits, MAX_PARTS};
use crate::message::{Field, Message};
use crate::parse::parse_section;
use crate::section::SectionEnd;
use crate::span::Span;

use super::error::{MultipartError, MultipartErrorKind};

/// One body part: its own header fields (parsed like a message's) and its body bytes.
/// Spans are offsets into [`Part::as_bytes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    bytes: &'a [u8],
    offset: usize,
    fields: Vec<Field>,
    body: Span,
}

impl<'a> Part<'a> {
    /// The whole part: headers, blank line, body (no delimiter CRLF).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Where the part starts in the multipart body.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The part's header fields in order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The values of one kind of header, in order.
    pub fn headers(&self, kind: HeaderKind) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.fields
            .iter()
            .filter(move |f| f.kind == kind)
            .map(|f| f.value.slice(self.bytes))
    }

    /// The first value of one kind of header.
    pub fn header(&self, kind: HeaderKind) -> Option<&'a [u8]> {
        self.headers(kind).next()
    }

    /// The part's Content-Type. Missing means `text/plain` by RFC 2046 §5.1.1; that
    /// default is the caller's to apply.
    pub fn content_type(&self) -> Result<ContentType<'a>, HeaderError> {
        let kind = HeaderKind::ContentType;
        let f = self
            .fields
            .iter()
            .find(|f| f.kind == kind)
            .ok_or(HeaderError::new(kind, HeaderErrorKind::Missing, 0))?;
        parse_one(f.value.slice(self.bytes), kind, ContentType::parse_raw)
            .map_err(|e| e.shifted(f.value.lo()))
    }

    /// The Content-ID value as written, e.g. `<target123@atlanta.example.com>`.
    pub fn content_id(&self) -> Option<&'a [u8]> {
        self.header(HeaderKind::ContentId)
    }

    /// Whether this part is the one a `cid:` URL names. `cid` is the URL without
    /// `cid:`, still percent-encoded (RFC 2392 §2).
    pub fn matches_cid(&self, cid: &[u8]) -> bool {
        self.content_id()
            .is_some_and(|id| cid_matches(cid, trim(id)))
    }

    /// The part's body.
    pub fn body(&self) -> &'a [u8] {
        self.body.slice(self.bytes)
    }
}

/// Splits `body` at `boundary` into parts.
///
/// RFC 2046 §5.1.1: a delimiter is CRLF, `--`, the boundary, optional white space, CRLF;
/// the first may open the body without a CRLF; the close delimiter adds `--`.
/// Preamble and epilogue are ignored. Part bodies are taken as bytes, so binary parts
/// with NULs and bare CRs survive (RFC 4475 §3.1.1.11 `mpart01.dat`).
pub fn parse_multipart<'a>(
    body: &'a [u8],
    boundary: &[u8],
    limits: &Limits,
) -> Result<Vec<Part<'a>>, MultipartError> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(MultipartError::new(MultipartErrorKind::Boundary, 0));
    }
    let lf_only = limits.leniency.allow_lf_only_line_ends;
    let finder = Delimiters { boundary, lf_only };
    let mut next = finder
        .first(body)
        .ok_or(MultipartError::new(MultipartErrorKind::NoDelimiter, 0))?;
    let mut parts = Vec::new();
    loop {
        let after = next + 2 + boundary.len();
        if sub(body, after, after + 2) == b"--" {
            // RFC 2046 §5.1.1: a multipart body has at least one body part.
            if parts.is_empty() {
                return Err(MultipartError::new(MultipartErrorKind::NoDelimiter, next));
            }
            return Ok(parts);
        }
        let start = finder
            .line_end(body, after)
            .ok_or(MultipartError::new(MultipartErrorKind::Unterminated, after))?;
        let (end, following) = finder
            .next(body, start)
            .ok_or(MultipartError::new(MultipartErrorKind::Unterminated, start))?;
        if parts.len() >= MAX_PARTS {
            return Err(MultipartError::new(MultipartErrorKind::TooManyParts, start));
        }
        parts.push(part(body, start, end, following, limits)?);
        next = following;
    }
}

/// The part `body[start..end]`; `delim` is where its closing delimiter's `--` starts,
/// so `body[start..delim]` also holds the line end before it.
fn part<'a>(
    body: &'a [u8],
    start: usize,
    end: usize,
    delim: usize,
    limits: &Limits,
) -> Result<Part<'a>, MultipartError> {
    let bytes = sub(body, start, end);
    // Give the header parser the delimiter's line end too, so a part whose headers
    // run up to the delimiter still ends with a complete line.
    let with_eol = sub(body, start, delim);
    let section = parse_section(
        with_eol,
        0,
        with_eol.len(),
        limits,
        SectionEnd::BlankLineOrEnd,
    )
    .map_err(|e| {
        MultipartError::new(
            MultipartErrorKind::PartHeaders(e.kind),
            start + e.at as usize,
        )
    })?;
    let body_start = section.body_start.min(bytes.len());
    Ok(Part {
        bytes,
        offset: start,
        fields: section.fields,
        body: Span::new(body_start, bytes.len()),
    })
}

/// Finds delimiter lines for one boundary.
struct Delimiters<'b> {
    boundary: &'b [u8],
    lf_only: bool,
}

impl Delimiters<'_> {
    /// Offset of the `--` of the first delimiter: at the very start or after a line end.
    fn first(&self, body: &[u8]) -> Option<usize> {
        let mut from = 0;
        while let Some(i) = self.find_dash(sub(body, from, body.len())) {
            let at = from + i;
            let line_start = at == 0 || self.eol_before(body, at) > 0;
            if line_start && self.is_delimiter(body, at) {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }

    /// From `from` on: `(end of the part, offset of the next delimiter's --)`.
    fn next(&self, body: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut pos = from;
        while let Some(i) = self.find_dash(sub(body, pos, body.len())) {
            let at = pos + i;
            let eol = self.eol_before(body, at);
            if eol > 0 && at - eol >= from && self.is_delimiter(body, at) {
                return Some((at - eol, at));
            }
            pos = at + 1;
        }
        None
    }

    /// Length of the line end right before `at`: 2 for CRLF, 1 for a lenient LF, else 0.
    fn eol_before(&self, body: &[u8], at: usize) -> usize {
        let byte = |back: usize| at.checked_sub(back).and_then(|j| body.get(j));
        match (byte(2), byte(1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (_, Some(b'\n')) if self.lf_only => 1,
            _ => 0,
        }
    }

    fn find_dash(&self, hay: &[u8]) -> Option<usize> {
        let mut from = 0;
        while let Some(i) = memmem::find(sub(hay, from, hay.len()), b"--") {
            let at = from + i;
            if sub(hay, at + 2, at + 2 + self.boundary.len()) == self.boundary {
                return Some(at);
            }
            from = at + 1;
        }
        None
    }

    /// `--boundary` followed by `--`, or by white space and a line end: a longer
    /// boundary that merely starts with ours is not a delimiter.
    fn is_delimiter(&self, body: &[u8], at: usize) -> bool {
        let after = at + 2 + self.boundary.len();
        sub(body, after, after + 2) == b"--" || self.line_end(body, after).is_some()
    }

    /// After optional transport padding (SP/HT), the index past the line end.
    fn line_end(&self, body: &[u8], from: usize) -> Option<usize> {
        let pad = sub(body, from, body.len())
            .iter()
            .take_while(|&&b| is_wsp(b))
            .count();
        let at = from + pad;
        match (body.get(at), body.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => Some(at + 2),
            (Some(b'\n'), _) if self.lf_only => Some(at + 1),
            _ => None,
        }
    }
}

impl<'a> Message<'a> {
    /// Splits a `multipart/*` body into parts, using the boundary of the Content-Type.
    pub fn multipart(&self, limits: &Limits) -> Result<Vec<Part<'a>>, MultipartError> {
        let ct = self
            .content_type()
            .map_err(|e| MultipartError::new(MultipartErrorKind::NotMultipart, e.at as usize))?;
        if !ct.is_multipart() {
            return Err(MultipartError::new(MultipartErrorKind::NotMultipart, 0));
        }
        let boundary = ct
            .boundary()
            .ok_or(MultipartError::new(MultipartErrorKind::Boundary, 0))?;
        parse_multipart(self.body(), boundary, limits)
    }

    /// The body part whose Content-ID a `cid:` URL names (`cid` without the `cid:`
    /// prefix, e.g. from [`crate::Geolocation::cid`]). `None` when the body is not
    /// multipart or no part matches: deciding what to do then (DESIGN.md: Lync's
    /// mismatching `cid:`) is the caller's policy.
    pub fn part_by_cid(&self, cid: &[u8], limits: &Limits) -> Option<Part<'a>> {
        self.multipart(limits)
            .ok()?
            .into_iter()
            .find(|p| p.matches_cid(cid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Leniency;

    const BODY: &[u8] = b"preamble\r\n--b1\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1 \t\r\nContent-Type: application/pidf+xml\r\nContent-ID: <loc@x>\r\n\r\n<xml/>\r\n--b1--\r\nepilogue";

    #[test]
    fn splits_parts_with_their_own_headers() {
        let parts = parse_multipart(BODY, b"b1", &Limits::DEFAULT).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body(), b"v=0\r\n");
        assert!(parts[0].content_type().unwrap().is(b"application", b"sdp"));
        assert_eq!(parts[1].body(), b"<xml/>");
        assert_eq!(parts[1].content_id(), Some(&b"<loc@x>"[..]));
        assert!(parts[1].matches_cid(b"loc@x"));
        assert!(parts[1].matches_cid(b"loc%40x"));
        assert!(!parts[0].matches_cid(b"loc@x"));
        assert_eq!(&BODY[parts[1].offset()..][..13], b"Content-Type:");
    }

    #[test]
    fn ignores_longer_boundaries_and_mid_line_dashes() {
        let body = b"--b1\r\n\r\nx--b1\r\n--b12\r\nstill x\r\n--b1--";
        let parts = parse_multipart(body, b"b1", &Limits::DEFAULT).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body(), b"x--b1\r\n--b12\r\nstill x");
        assert!(parts[0].fields().is_empty());
    }

    #[test]
    fn accepts_parts_without_headers_or_body() {
        let body = b"--b\r\n\r\n--b\r\nContent-Type: text/plain\r\n--b--";
        let parts = parse_multipart(body, b"b", &Limits::DEFAULT).unwrap();
        assert_eq!(parts.len(), 2);
        assert!(parts[0].body().is_empty());
        assert_eq!(parts[1].fields().len(), 1);
        assert!(parts[1].body().is_empty());
    }

    #[test]
    fn refuses_unterminated_and_delimiterless_bodies() {
        let kind = |b: &[u8]| parse_multipart(b, b"b", &Limits::DEFAULT).unwrap_err().kind;
        assert_eq!(kind(b"no delimiter"), MultipartErrorKind::NoDelimiter);
        assert_eq!(kind(b"--b\r\n\r\nbody"), MultipartErrorKind::Unterminated);
        assert_eq!(kind(b"--b"), MultipartErrorKind::NoDelimiter);
        assert_eq!(kind(b"--b--\r\n"), MultipartErrorKind::NoDelimiter);
        assert_eq!(
            kind(b"--b\r\nbad header\r\n\r\nx\r\n--b--"),
            MultipartErrorKind::PartHeaders(crate::ParseErrorKind::HeaderSyntax)
        );
        assert_eq!(
            parse_multipart(b"--\r\n", b"", &Limits::DEFAULT)
                .unwrap_err()
                .kind,
            MultipartErrorKind::Boundary
        );
    }

    #[test]
    fn refuses_too_many_parts() {
        let mut body = alloc::vec::Vec::new();
        for _ in 0..=MAX_PARTS {
            body.extend_from_slice(b"--b\r\n\r\nx\r\n");
        }
        body.extend_from_slice(b"--b--");
        assert_eq!(
            parse_multipart(&body, b"b", &Limits::DEFAULT)
                .unwrap_err()
                .kind,
            MultipartErrorKind::TooManyParts
        );
    }

    #[test]
    fn lf_only_delimiters_need_leniency() {
        let body = b"--b\nContent-Type: text/plain\n\nhi\n--b--\n";
        assert!(parse_multipart(body, b"b", &Limits::DEFAULT).is_err());
        let lenient = Limits::DEFAULT.with_leniency(Leniency {
            allow_lf_only_line_ends: true,
            ..Leniency::STRICT
        });
        let parts = parse_multipart(body, b"b", &lenient).unwrap();
        assert_eq!(parts[0].body(), b"hi");
    }

    #[test]
    fn finds_the_part_a_geolocation_cid_names() {
        let mut buf = b"INVITE sip:a SIP/2.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\nContent-Length: ".to_vec();
        buf.extend_from_slice(alloc::format!("{}\r\n\r\n", BODY.len()).as_bytes());
        buf.extend_from_slice(BODY);
        let msg = crate::parse(&buf, &Limits::DEFAULT).unwrap();
        let part = msg.part_by_cid(b"loc@x", &Limits::DEFAULT).unwrap();
        assert_eq!(part.body(), b"<xml/>");
        assert!(msg.part_by_cid(b"other@x", &Limits::DEFAULT).is_none());
    }
}
