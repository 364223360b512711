//! Building a `multipart/mixed` body (RFC 2046 §5.1), e.g. SDP plus a PIDF-LO part
//! in the shape of RFC 6442 §4.1's example.

use alloc::vec::Vec;

use memchr::memmem;

use crate::lex::is_token_str;

use super::error::{MultipartError, MultipartErrorKind};

/// One part to build: Content-Type, optional Content-ID, more headers, body.
#[derive(Clone, Copy, Debug)]
pub struct NewPart<'p> {
    /// The part's Content-Type value, e.g. `application/pidf+xml`.
    pub content_type: &'p [u8],
    /// The Content-ID without angle brackets, e.g. `loc-1@edge-1.example`; rendered as
    /// `Content-ID: <loc-1@edge-1.example>` so that `cid:loc-1@edge-1.example` in a
    /// Geolocation header names it (RFC 2392 §2).
    pub content_id: Option<&'p [u8]>,
    /// More headers, rendered in order after Content-Type and Content-ID
    /// (e.g. `Content-Disposition`).
    pub headers: &'p [(&'p str, &'p [u8])],
    /// The body bytes, any octets.
    pub body: &'p [u8],
}

impl<'p> NewPart<'p> {
    /// A part with a Content-Type and a body only.
    pub fn new(content_type: &'p [u8], body: &'p [u8]) -> Self {
        Self {
            content_type,
            content_id: None,
            headers: &[],
            body,
        }
    }

    /// The same part with a Content-ID (without angle brackets).
    #[must_use]
    pub fn with_content_id(self, content_id: &'p [u8]) -> Self {
        Self {
            content_id: Some(content_id),
            ..self
        }
    }
}

/// A built multipart body and the Content-Type value that goes with it; hand both to
/// [`crate::Edits::set_body`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartBody {
    /// `multipart/mixed;boundary=...`.
    pub content_type: Vec<u8>,
    /// The body.
    pub body: Vec<u8>,
}

/// Builds a `multipart/mixed` body.
///
/// Output: for each part `--boundary CRLF headers CRLF body CRLF`, then
/// `--boundary-- CRLF`. The boundary must be 1 to 70 RFC 2046 §5.1.1 `bchars` not
/// ending in a space, and must not occur in any part's body as a delimiter
/// ([`MultipartErrorKind::BoundaryInBody`]); the builder checks rather than trusts.
pub fn multipart_mixed(
    boundary: &[u8],
    parts: &[NewPart<'_>],
) -> Result<MultipartBody, MultipartError> {
    if !is_boundary(boundary) {
        return Err(MultipartError::new(MultipartErrorKind::Boundary, 0));
    }
    let mut dash = Vec::with_capacity(boundary.len() + 2);
    dash.extend_from_slice(b"--");
    dash.extend_from_slice(boundary);
    // One searcher for every part: building it costs more than searching a part.
    let delimiter = memmem::Finder::new(&dash);
    let size = parts.iter().try_fold(dash.len() + 4, |acc, p| {
        check_part(p, &delimiter).map(|()| acc + part_len(p, dash.len()))
    })?;
    let mut body = Vec::with_capacity(size);
    for p in parts {
        write_part(&mut body, p, &dash);
    }
    body.extend_from_slice(&dash);
    body.extend_from_slice(b"--\r\n");
    Ok(MultipartBody {
        content_type: content_type(boundary),
        body,
    })
}

fn check_part(p: &NewPart<'_>, delimiter: &memmem::Finder<'_>) -> Result<(), MultipartError> {
    let clean = |v: &[u8]| memchr::memchr2(b'\r', b'\n', v).is_none();
    let headers_ok = clean(p.content_type)
        && !p.content_type.is_empty()
        && p.content_id.is_none_or(clean)
        && p.headers
            .iter()
            .all(|(n, v)| is_token_str(n.as_bytes()) && clean(v));
    if !headers_ok {
        return Err(MultipartError::new(MultipartErrorKind::InvalidHeader, 0));
    }
    // A delimiter is recognised at the start of a line; the body starts a line too.
    let found = p.body.starts_with(delimiter.needle())
        || delimiter
            .find_iter(p.body)
            .any(|i| i > 0 && p.body.get(i - 1) == Some(&b'\n'));
    if found {
        return Err(MultipartError::new(MultipartErrorKind::BoundaryInBody, 0));
    }
    Ok(())
}

fn part_len(p: &NewPart<'_>, dash_len: usize) -> usize {
    let header = |name: usize, value: usize| name + 2 + value + 2;
    dash_len
        + 2
        + header("Content-Type".len(), p.content_type.len())
        + p.content_id
            .map_or(0, |id| header("Content-ID".len(), id.len() + 2))
        + p.headers
            .iter()
            .map(|(n, v)| header(n.len(), v.len()))
            .sum::<usize>()
        + 2
        + p.body.len()
        + 2
}

fn write_part(out: &mut Vec<u8>, p: &NewPart<'_>, dash: &[u8]) {
    out.extend_from_slice(dash);
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(p.content_type);
    out.extend_from_slice(b"\r\n");
    if let Some(id) = p.content_id {
        out.extend_from_slice(b"Content-ID: <");
        out.extend_from_slice(id);
        out.extend_from_slice(b">\r\n");
    }
    for (name, value) in p.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(p.body);
    out.extend_from_slice(b"\r\n");
}

/// `multipart/mixed;boundary=B`, quoting B when it is not a token (RFC 2045 §5.1:
/// parameter values with tspecials must be quoted).
fn content_type(boundary: &[u8]) -> Vec<u8> {
    let quote = !is_token_str(boundary);
    let mut ct = Vec::with_capacity(boundary.len() + 28);
    ct.extend_from_slice(b"multipart/mixed;boundary=");
    if quote {
        ct.push(b'"');
    }
    ct.extend_from_slice(boundary);
    if quote {
        ct.push(b'"');
    }
    ct
}

/// RFC 2046 §5.1.1: `boundary := 0*69<bchars> bcharsnospace`.
fn is_boundary(b: &[u8]) -> bool {
    let bchar = |c: &u8| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(c);
    (1..=70).contains(&b.len()) && b.iter().all(bchar) && b.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::body::parse_multipart;

    const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
    const PIDF: &[u8] = b"<?xml version=\"1.0\"?>\n<presence/>\n";

    #[test]
    fn builds_the_rfc6442_shape() {
        let parts = [
            NewPart::new(b"application/sdp", SDP),
            NewPart::new(b"application/pidf+xml", PIDF)
                .with_content_id(b"target123@atlanta.example.com"),
        ];
        let mp = multipart_mixed(b"boundary1", &parts).unwrap();
        assert_eq!(mp.content_type, b"multipart/mixed;boundary=boundary1");
        let text = core::str::from_utf8(&mp.body).unwrap();
        assert!(text.starts_with("--boundary1\r\nContent-Type: application/sdp\r\n\r\nv=0"));
        assert!(text.contains("--boundary1\r\nContent-Type: application/pidf+xml\r\nContent-ID: <target123@atlanta.example.com>\r\n\r\n<?xml"));
        assert!(text.ends_with("<presence/>\n\r\n--boundary1--\r\n"));
        assert_eq!(mp.body.capacity(), mp.body.len());
    }

    #[test]
    fn round_trips_through_the_parser() {
        let extra = [(
            "Content-Disposition",
            &b"by-reference;handling=optional"[..],
        )];
        let binary = [0u8, 13, 10, 45, 45, 255, 13];
        let parts = [
            NewPart::new(b"application/sdp", SDP),
            NewPart {
                headers: &extra,
                ..NewPart::new(b"application/octet-stream", &binary).with_content_id(b"bin@x")
            },
        ];
        let mp = multipart_mixed(b"b=:?", &parts).unwrap();
        assert_eq!(mp.content_type, b"multipart/mixed;boundary=\"b=:?\"");
        let back = parse_multipart(&mp.body, b"b=:?", &Limits::DEFAULT).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].body(), SDP);
        assert_eq!(back[1].body(), binary);
        assert!(back[1].matches_cid(b"bin@x"));
        assert_eq!(back[1].fields().len(), 3);
    }

    #[test]
    fn refuses_boundaries_inside_bodies_and_bad_boundaries() {
        let body = b"text\r\n--b1\r\nmore";
        let kind = |b: &[u8], part: NewPart<'_>| multipart_mixed(b, &[part]).unwrap_err().kind;
        assert_eq!(
            kind(b"b1", NewPart::new(b"text/plain", body)),
            MultipartErrorKind::BoundaryInBody
        );
        assert_eq!(
            kind(b"b1", NewPart::new(b"text/plain", b"--b1")),
            MultipartErrorKind::BoundaryInBody
        );
        assert!(multipart_mixed(b"b1", &[NewPart::new(b"text/plain", b"x--b1")]).is_ok());
        assert_eq!(
            kind(b"", NewPart::new(b"text/plain", b"")),
            MultipartErrorKind::Boundary
        );
        assert_eq!(
            kind(b"ends ", NewPart::new(b"text/plain", b"")),
            MultipartErrorKind::Boundary
        );
        assert_eq!(
            kind(&[b'a'; 71], NewPart::new(b"text/plain", b"")),
            MultipartErrorKind::Boundary
        );
        assert_eq!(
            kind(b"b", NewPart::new(b"text/plain\r\nX: y", b"")),
            MultipartErrorKind::InvalidHeader
        );
        assert_eq!(
            kind(b"b", NewPart::new(b"", b"")),
            MultipartErrorKind::InvalidHeader
        );
    }
}
