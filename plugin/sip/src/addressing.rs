//! [`addressing`]: whom a request is addressed to, from its Request-Line and To alone.
//!
//! A proxy that only wants to know whether a request concerns it (is this INVITE an
//! emergency call?) need not build a [`crate::Message`]: no field table, no Content-Length,
//! no body. The header section is still walked with the parser's own scanner and limits,
//! so a header line [`crate::parse`] would refuse makes this fail too, and the Request-URI
//! and To come out exactly as [`crate::Message::request_uri`] and [`crate::Message::to`]
//! decode them. What it does not check (Content-Length, the body, the message size) never
//! changes whom the request is addressed to. With [`Reach::FirstTo`] the walk ends at the
//! first To, for a caller that has shown that nothing after it can change its answer;
//! [`StartLinePeek`] stops before the first field, for one the Request-URI already answers.

use core::ops::ControlFlow;

use crate::error::{HeaderError, HeaderErrorKind, ParseError, UriError};
use crate::header::{HeaderKind, NameAddr};
use crate::limits::Limits;
use crate::parse::{message_ends, read_start_line, scan_section};
use crate::span::Span;
use crate::uri::Uri;
use crate::views::{request_uri, view_value};

/// The Request-URI and To of a request, decoded as the typed views decode them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addressing<'a> {
    /// The Request-URI; [`crate::UriErrorKind::Missing`] for a response.
    pub request_uri: Result<Uri<'a>, UriError>,
    /// The To address; a missing or repeated To is an error, as for
    /// [`crate::Message::to`] (a repeat only under [`Reach::Section`]).
    pub to: Result<NameAddr<'a>, HeaderError>,
}

/// How much of the header section [`addressing`] walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Every field, as [`crate::parse`] does: a repeated To is an error, and a line the
    /// parser refuses anywhere in the section fails the read.
    Section,
    /// The fields up to the first To and its continuation lines: what follows (a
    /// repeated To, a bad line, more fields than the limit) is not read.
    FirstTo,
}

/// Reads the addressing of the message in `buf` under `limits`, without parsing the rest.
pub fn addressing<'a>(
    buf: &'a [u8],
    limits: &Limits,
    reach: Reach,
) -> Result<Addressing<'a>, ParseError> {
    StartLinePeek::read(buf, limits)?.addressing(reach)
}

/// The first step of [`addressing`]: the start line read and the Request-URI decoded, no
/// header read yet. For a caller the Request-URI alone may answer (an emergency INVITE
/// dials a known number there): it then reads no field, and when it goes on to To, it
/// reads the start line once.
#[derive(Clone, Copy, Debug)]
pub struct StartLinePeek<'a, 'l> {
    buf: &'a [u8],
    limits: &'l Limits,
    headers_at: usize,
    /// The Request-URI, as [`crate::Message::request_uri`] decodes it;
    /// [`crate::UriErrorKind::Missing`] for a response.
    pub request_uri: Result<Uri<'a>, UriError>,
}

impl<'a, 'l> StartLinePeek<'a, 'l> {
    /// Reads the start line of the message in `buf` under `limits`: fails where
    /// [`crate::parse`] fails on the start line.
    pub fn read(buf: &'a [u8], limits: &'l Limits) -> Result<Self, ParseError> {
        let (start, headers_at) = read_start_line(buf, limits)?;
        Ok(Self {
            buf,
            limits,
            headers_at,
            request_uri: request_uri(buf, &start),
        })
    }

    /// Walks the header section up to `reach` for To.
    pub fn addressing(self, reach: Reach) -> Result<Addressing<'a>, ParseError> {
        Ok(Addressing {
            to: self.to(reach)?,
            request_uri: self.request_uri,
        })
    }

    /// [`StartLinePeek::addressing`]'s To alone, for a caller that keeps the Request-URI
    /// where it is.
    pub fn to(&self, reach: Reach) -> Result<Result<NameAddr<'a>, HeaderError>, ParseError> {
        let buf = self.buf;
        // None until a To is seen; then its value, or the first repeat, as
        // `Message::single` reports it.
        let mut to: Option<Result<Span, HeaderError>> = None;
        scan_section(
            buf,
            self.headers_at,
            buf.len(),
            self.limits,
            message_ends(self.limits),
            |raw| {
                // `To` or its compact form `t` (RFC 3261 §7.3.3): two bytes at most, so
                // the other fields cost one length test each.
                let name = Span::new(raw.name.0, raw.name.1);
                if name.len() > 2 || HeaderKind::from_name(name.slice(buf)) != HeaderKind::To {
                    return Ok(ControlFlow::Continue(()));
                }
                to = Some(match to {
                    None => Ok(Span::new(raw.value.0, raw.value.1)),
                    Some(Ok(_)) => Err(HeaderError::new(
                        HeaderKind::To,
                        HeaderErrorKind::Duplicate,
                        name.lo(),
                    )),
                    Some(Err(first_repeat)) => Err(first_repeat),
                });
                Ok(match reach {
                    Reach::FirstTo => ControlFlow::Break(()),
                    Reach::Section => ControlFlow::Continue(()),
                })
            },
        )?;
        let to = to.unwrap_or(Err(HeaderError::new(
            HeaderKind::To,
            HeaderErrorKind::Missing,
            0,
        )));
        Ok(to.and_then(|value| view_value(buf, value, HeaderKind::To, NameAddr::parse)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    /// Whatever the input, the addressing agrees with the full parse's views when the
    /// full parse succeeds.
    fn agrees(buf: &[u8]) {
        let peek = addressing(buf, &Limits::DEFAULT, Reach::Section);
        let Ok(msg) = parse(buf, &Limits::DEFAULT) else {
            return;
        };
        let peek = peek.expect("the scan fails where the full parse succeeds");
        assert_eq!(peek.request_uri, msg.request_uri());
        assert_eq!(peek.to, msg.to());
    }

    #[test]
    fn reads_the_request_uri_and_to_as_the_views_do() {
        let buf = b"INVITE sip:911@contoso.com;user=phone SIP/2.0\r\n\
            Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
            t: \"Emergency\"\r\n <sip:911@contoso.com>\r\n\
            Content-Length: 0\r\n\r\n";
        let a = addressing(buf, &Limits::DEFAULT, Reach::Section).unwrap();
        assert_eq!(a.request_uri.unwrap().user(), Some(&b"911"[..]));
        assert_eq!(a.to.unwrap().uri, b"sip:911@contoso.com");
        agrees(buf);
    }

    #[test]
    fn a_missing_or_repeated_to_is_an_error_as_in_the_views() {
        let none = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n\r\n";
        let a = addressing(none, &Limits::DEFAULT, Reach::Section).unwrap();
        assert_eq!(a.to.unwrap_err().kind, HeaderErrorKind::Missing);
        agrees(none);
        let two = b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>;tag=1\r\nTO: <sip:911@b>\r\n\r\n";
        let a = addressing(two, &Limits::DEFAULT, Reach::Section).unwrap();
        assert_eq!(a.to.unwrap_err().kind, HeaderErrorKind::Duplicate);
        agrees(two);
        let three =
            b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:a@b>\r\nt: <sip:b@b>\r\nTo: <sip:c@b>\r\n\r\n";
        agrees(three);
    }

    #[test]
    fn the_first_to_reach_reads_nothing_after_the_first_to() {
        fn first(buf: &[u8]) -> Result<Addressing<'_>, ParseError> {
            addressing(buf, &Limits::DEFAULT, Reach::FirstTo)
        }
        // To's continuation line is read; a repeat and a line the parser refuses, after
        // it, are not.
        let after = b"INVITE sip:a@b SIP/2.0\r\nTo: \"A\"\r\n <sip:a@b>\r\nTO: <sip:911@b>\r\n\
            no colon here\r\n\r\n";
        let a = first(after).unwrap();
        assert_eq!(a.to.unwrap().uri, b"sip:a@b");
        assert!(addressing(after, &Limits::DEFAULT, Reach::Section).is_err());
        // Before To, the same line fails the read; without a To, the whole section is
        // walked.
        let before = b"INVITE sip:a@b SIP/2.0\r\nno colon here\r\nTo: <sip:a@b>\r\n\r\n";
        assert!(first(before).is_err());
        let none = b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nx\r\n\r\n";
        assert!(first(none).is_err());
    }

    /// The start line alone: the same Request-URI as the full read, and the same
    /// addressing after it, while a bad line after the start line is not read.
    #[test]
    fn the_request_line_reads_no_field() {
        let bad_field = b"INVITE sip:911@b;user=phone SIP/2.0\r\nno colon here\r\n\r\n";
        let line = StartLinePeek::read(bad_field, &Limits::DEFAULT).unwrap();
        assert_eq!(line.request_uri.unwrap().user(), Some(&b"911"[..]));
        assert!(line.addressing(Reach::FirstTo).is_err());
        let buf = b"INVITE sip:a@b SIP/2.0\r\nTo: <sip:911@b>\r\n\r\n";
        let line = StartLinePeek::read(buf, &Limits::DEFAULT).unwrap();
        assert_eq!(
            line.addressing(Reach::Section).unwrap(),
            addressing(buf, &Limits::DEFAULT, Reach::Section).unwrap()
        );
        assert_eq!(
            StartLinePeek::read(b"SIP/2.0 200 OK\r\n\r\n", &Limits::DEFAULT)
                .unwrap()
                .request_uri
                .unwrap_err()
                .kind,
            crate::UriErrorKind::Missing
        );
        assert!(StartLinePeek::read(b"INVITE\r\n\r\n", &Limits::DEFAULT).is_err());
    }

    #[test]
    fn fails_on_a_header_line_the_parser_refuses() {
        let bad = b"INVITE sip:a@b SIP/2.0\r\nTo <sip:a@b>\r\n\r\n";
        assert!(parse(bad, &Limits::DEFAULT).is_err());
        assert!(addressing(bad, &Limits::DEFAULT, Reach::Section).is_err());
        let lf = b"INVITE sip:a@b SIP/2.0\nTo: <sip:a@b>\n\n";
        assert!(addressing(lf, &Limits::DEFAULT, Reach::Section).is_err());
    }
}
