//! Error types. All are `Copy`, carry a byte offset, and never allocate
//! (STYLE.md §6): a parse failure on the hot path costs nothing more than a return.

use core::fmt;

use crate::header::HeaderKind;

/// Why a message could not be framed or parsed, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Byte offset into the buffer where the problem was found.
    pub at: u32,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, at: usize) -> Self {
        Self {
            kind,
            at: crate::span::to_u32(at),
        }
    }
}

/// The kinds of [`ParseError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The start line is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2).
    StartLine,
    /// The method is not a token (RFC 3261 §25.1).
    Method,
    /// The Request-URI is empty or holds bytes a URI cannot (SP, CTL, `<`, `>`, `"`,
    /// non-ASCII): RFC 4475 §3.1.2.7 `ltgtruri.dat`.
    RequestUri,
    /// The SIP-Version is not `SIP/2.0` (RFC 3261 §7.1; RFC 4475 §3.1.2.16).
    Version,
    /// The Status-Code is not three digits from 100 to 699 (RFC 3261 §7.2, §21).
    StatusCode,
    /// A bare CR, or a bare LF while LF-only line ends are not allowed.
    LineEnding,
    /// A header field name is empty or not a token.
    HeaderName,
    /// A header line has no colon, or a continuation line has nothing to continue.
    HeaderSyntax,
    /// The header section does not end with a blank line.
    UnterminatedHeaders,
    /// More header fields than [`crate::Limits::max_headers`].
    TooManyHeaders,
    /// The header section is longer than [`crate::Limits::max_header_bytes`].
    HeaderSectionTooLarge,
    /// No Content-Length on a stream transport (RFC 3261 §18.3).
    MissingContentLength,
    /// A Content-Length value is not `1*DIGIT`, overflows, or disagrees with another
    /// Content-Length (RFC 4475 §3.1.2.3 `ncl.dat`, §3.3.9 `mcl01.dat`).
    ContentLength,
    /// The datagram ends before Content-Length bytes of body (RFC 3261 §18.3).
    BodyLength,
    /// The message is longer than [`crate::Limits::max_message_bytes`].
    TooLarge,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ParseErrorKind::StartLine => "malformed start line",
            ParseErrorKind::Method => "method is not a token",
            ParseErrorKind::RequestUri => "malformed Request-URI",
            ParseErrorKind::Version => "SIP-Version is not SIP/2.0",
            ParseErrorKind::StatusCode => "Status-Code is not 100-699",
            ParseErrorKind::LineEnding => "line does not end with CRLF",
            ParseErrorKind::HeaderName => "header name is not a token",
            ParseErrorKind::HeaderSyntax => "malformed header line",
            ParseErrorKind::UnterminatedHeaders => "header section has no blank line",
            ParseErrorKind::TooManyHeaders => "too many header fields",
            ParseErrorKind::HeaderSectionTooLarge => "header section too large",
            ParseErrorKind::MissingContentLength => "no Content-Length on a stream",
            ParseErrorKind::ContentLength => "bad or conflicting Content-Length",
            ParseErrorKind::BodyLength => "body shorter than Content-Length",
            ParseErrorKind::TooLarge => "message too large",
        };
        write!(f, "{what} at byte {}", self.at)
    }
}

impl core::error::Error for ParseError {}

/// Why a typed view of a header could not be decoded. The message itself stays usable:
/// a malformed `Subject` does not fail a call whose Via and Request-URI are fine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderError {
    /// The header being decoded.
    pub header: HeaderKind,
    /// What was wrong.
    pub kind: HeaderErrorKind,
    /// Byte offset: into the message buffer from [`crate::Message`] accessors, into the
    /// given value from the stand-alone `parse` functions.
    pub at: u32,
}

impl HeaderError {
    pub(crate) fn new(header: HeaderKind, kind: HeaderErrorKind, at: usize) -> Self {
        Self {
            header,
            kind,
            at: crate::span::to_u32(at),
        }
    }

    /// The same error with `at` moved by `offset` (value-relative to buffer-relative).
    pub(crate) fn shifted(self, offset: usize) -> Self {
        Self {
            at: self.at.saturating_add(crate::span::to_u32(offset)),
            ..self
        }
    }
}

/// The kinds of [`HeaderError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderErrorKind {
    /// The message has no such header.
    Missing,
    /// A header that allows one value has several (RFC 4475 §3.3.8 `multi01.dat`).
    Duplicate,
    /// An empty value or an empty element in a comma-separated list.
    Empty,
    /// The value does not follow the header's grammar.
    Syntax,
    /// A quoted string is not terminated (RFC 4475 §3.1.2.6 `quotbal.dat`).
    Quote,
    /// A number is malformed or out of range (RFC 4475 §3.1.2.4 `scalar02.dat`).
    Number,
    /// The URI inside the header is malformed.
    Uri(UriErrorKind),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.header.name().unwrap_or("extension header");
        match self.kind {
            HeaderErrorKind::Missing => write!(f, "{name}: missing"),
            HeaderErrorKind::Duplicate => write!(f, "{name}: more than one"),
            HeaderErrorKind::Empty => write!(f, "{name}: empty value at byte {}", self.at),
            HeaderErrorKind::Syntax => write!(f, "{name}: syntax error at byte {}", self.at),
            HeaderErrorKind::Quote => write!(f, "{name}: unterminated quote at byte {}", self.at),
            HeaderErrorKind::Number => write!(f, "{name}: bad number at byte {}", self.at),
            HeaderErrorKind::Uri(k) => write!(f, "{name}: URI {k:?} error at byte {}", self.at),
        }
    }
}

impl core::error::Error for HeaderError {}

/// Why a URI could not be decoded, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UriError {
    /// What was wrong.
    pub kind: UriErrorKind,
    /// Byte offset: into the message buffer from [`crate::Message::request_uri`], into
    /// the given text from [`crate::Uri::parse`].
    pub at: u32,
}

impl UriError {
    pub(crate) fn new(kind: UriErrorKind, at: usize) -> Self {
        Self {
            kind,
            at: crate::span::to_u32(at),
        }
    }

    pub(crate) fn shifted(self, offset: usize) -> Self {
        Self {
            at: self.at.saturating_add(crate::span::to_u32(offset)),
            ..self
        }
    }
}

/// The kinds of [`UriError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UriErrorKind {
    /// No URI: a response has no Request-URI.
    Missing,
    /// No scheme, or a scheme that is not `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
    Scheme,
    /// The URI does not follow its scheme's grammar.
    Syntax,
    /// The host is empty or malformed, e.g. an IPv6 reference without brackets
    /// (RFC 5118 §4.2 `ipv6-bad`).
    Host,
    /// The port is not a number from 0 to 65535.
    Port,
    /// Headers (`?...`) where they are not allowed: in a Request-URI (RFC 3261 §19.1.1,
    /// RFC 4475 §3.1.2.11 `escruri.dat`).
    Headers,
    /// A `urn:service:` URN whose service is not RFC 5031 labels.
    Service,
    /// A `tel:` URI whose number is not RFC 3966 digits.
    Number,
}

impl fmt::Display for UriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "URI {:?} error at byte {}", self.kind, self.at)
    }
}

impl core::error::Error for UriError {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn parse_error_is_copy_and_displays_offset() {
        let e = ParseError::new(ParseErrorKind::ContentLength, 42);
        let copy = e;
        assert_eq!(copy, e);
        assert_eq!(
            e.to_string(),
            "bad or conflicting Content-Length at byte 42"
        );
    }

    #[test]
    fn header_error_names_the_header() {
        let e = HeaderError::new(HeaderKind::MaxForwards, HeaderErrorKind::Number, 3);
        assert_eq!(e.shifted(10).at, 13);
        assert_eq!(e.to_string(), "Max-Forwards: bad number at byte 3");
    }
}
