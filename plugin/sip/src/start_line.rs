//! The start line: Request-Line or Status-Line (RFC 3261 §7.1, §7.2).

use crate::error::{ParseError, ParseErrorKind};
use crate::lex::{ByteClass, byte_class, eq_ic, find, in_class, is_token_str, is_wsp, sub};
use crate::span::Span;

/// The first line of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP-Version`.
    Request(RequestLine),
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Status(StatusLine),
}

/// A Request-Line, as spans of the message buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLine {
    /// The method token.
    pub method: Span,
    /// The Request-URI, as written.
    pub uri: Span,
    /// The SIP-Version (`SIP/2.0`).
    pub version: Span,
}

/// A Status-Line, as spans of the message buffer plus the decoded code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusLine {
    /// The SIP-Version (`SIP/2.0`).
    pub version: Span,
    /// The Status-Code, 100 to 699.
    pub code: u16,
    /// The Reason-Phrase; may be empty (RFC 4475 §3.1.1.13 `noreason.dat`) and may hold
    /// UTF-8 (§3.1.1.12 `unreason.dat`).
    pub reason: Span,
}

/// The only version this crate speaks. RFC 3261 §7.1: "The SIP-Version string is
/// case-insensitive, but implementations MUST send upper-case."
const VERSION: &[u8] = b"SIP/2.0";

/// Parses the start line held in `buf[..end]` (no line end).
pub(crate) fn parse_start_line(
    buf: &[u8],
    end: usize,
    loose: bool,
) -> Result<StartLine, ParseError> {
    let line = sub(buf, 0, end);
    let words = if loose {
        split_loose(line)
    } else {
        split_strict(line)
    };
    let Some([a, b, c]) = words else {
        return Err(ParseError::new(ParseErrorKind::StartLine, 0));
    };
    if line.len() >= 4 && eq_ic(sub(line, 0, 4), b"SIP/") {
        status_line(line, a, b, c)
    } else {
        request_line(line, a, b, c)
    }
}

fn request_line(
    line: &[u8],
    method: Span,
    uri: Span,
    version: Span,
) -> Result<StartLine, ParseError> {
    if !is_token_str(method.slice(line)) {
        return Err(ParseError::new(ParseErrorKind::Method, method.lo()));
    }
    let u = uri.slice(line);
    if u.is_empty() || !u.iter().all(|&b| is_uri_byte(b)) {
        return Err(ParseError::new(ParseErrorKind::RequestUri, uri.lo()));
    }
    if !eq_ic(version.slice(line), VERSION) {
        return Err(ParseError::new(ParseErrorKind::Version, version.lo()));
    }
    Ok(StartLine::Request(RequestLine {
        method,
        uri,
        version,
    }))
}

fn status_line(
    line: &[u8],
    version: Span,
    code: Span,
    reason: Span,
) -> Result<StartLine, ParseError> {
    if !eq_ic(version.slice(line), VERSION) {
        return Err(ParseError::new(ParseErrorKind::Version, version.lo()));
    }
    let digits = code.slice(line);
    let value = match digits {
        [a, b, c] if digits.iter().all(u8::is_ascii_digit) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => 0,
    };
    if !(100..=699).contains(&value) {
        return Err(ParseError::new(ParseErrorKind::StatusCode, code.lo()));
    }
    Ok(StartLine::Status(StatusLine {
        version,
        code: value,
        reason,
    }))
}

/// Bytes a Request-URI may hold unescaped: no SP, CTL, DEL, non-ASCII, and none of
/// `<`, `>`, `"` (RFC 3261 §25.1 and RFC 4475 §3.1.2.7 `ltgtruri.dat`).
pub(crate) fn is_uri_byte(b: u8) -> bool {
    in_class(&URI_BYTES, b)
}

/// [`is_uri_byte`] as a table (every Request-URI byte is tested against it): letters,
/// digits and every printable ASCII mark but `<`, `>`, `"`.
const URI_BYTES: ByteClass = byte_class(true, b"!#$%&'()*+,-./:;=?@[\\]^_`{|}~");

/// RFC 3261 §7.1: elements separated by exactly one SP. The third element runs to the
/// end of the line (a Reason-Phrase may hold spaces; a Version may not, which the
/// version check catches: RFC 4475 §3.1.2.10 `trws.dat`).
fn split_strict(line: &[u8]) -> Option<[Span; 3]> {
    let first = find(b' ', line)?;
    let rest = first + 1;
    let second = rest + find(b' ', sub(line, rest, line.len()))?;
    Some([
        Span::new(0, first),
        Span::new(rest, second),
        Span::new(second + 1, line.len()),
    ])
}

/// Under [`crate::Leniency::allow_extra_start_line_spaces`]: runs of SP/HT separate the
/// elements and trail the line. A Request-Line must still have exactly three words.
fn split_loose(line: &[u8]) -> Option<[Span; 3]> {
    let mut words = [Span::default(); 3];
    let mut pos = 0;
    for (i, w) in words.iter_mut().enumerate() {
        pos += sub(line, pos, line.len())
            .iter()
            .take_while(|&&b| is_wsp(b))
            .count();
        let len = if i == 2 {
            // The last word keeps inner spaces (a Reason-Phrase) but not trailing ones.
            sub(line, pos, line.len())
                .iter()
                .rposition(|&b| !is_wsp(b))
                .map_or(0, |z| z + 1)
        } else {
            sub(line, pos, line.len())
                .iter()
                .take_while(|&&b| !is_wsp(b))
                .count()
        };
        *w = Span::new(pos, pos + len);
        pos += len;
    }
    let is_request = !(line.len() >= 4 && eq_ic(sub(line, 0, 4), b"SIP/"));
    let extra_word = is_request && words[2].slice(line).iter().any(|&b| is_wsp(b));
    // A missing word is a malformed line too; a Reason-Phrase alone may be empty.
    let missing_word =
        words[0].is_empty() || words[1].is_empty() || (is_request && words[2].is_empty());
    if extra_word || missing_word {
        return None;
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly RFC 3261's unescaped Request-URI bytes as written out in
    /// its doc: printable ASCII (0x21 to 0x7E) but `<`, `>` and `"`.
    #[test]
    fn uri_bytes_are_printable_ascii_but_angle_brackets_and_quote() {
        for b in 0..=u8::MAX {
            let want = (0x21..0x7f).contains(&b) && !matches!(b, b'<' | b'>' | b'"');
            assert_eq!(is_uri_byte(b), want, "{b:#04x}");
        }
    }

    fn parse(line: &[u8], loose: bool) -> Result<StartLine, ParseErrorKind> {
        parse_start_line(line, line.len(), loose).map_err(|e| e.kind)
    }

    #[test]
    fn parses_request_and_status_lines() {
        let line = b"INVITE sip:user@example.com SIP/2.0";
        let Ok(StartLine::Request(r)) = parse(line, false) else {
            panic!()
        };
        assert_eq!(r.method.slice(line), b"INVITE");
        assert_eq!(r.uri.slice(line), b"sip:user@example.com");
        let line = b"SIP/2.0 180 Ringing now";
        let Ok(StartLine::Status(s)) = parse(line, false) else {
            panic!()
        };
        assert_eq!(s.code, 180);
        assert_eq!(s.reason.slice(line), b"Ringing now");
    }

    #[test]
    fn accepts_empty_reason_phrase() {
        let Ok(StartLine::Status(s)) = parse(b"SIP/2.0 100 ", false) else {
            panic!()
        };
        assert!(s.reason.is_empty());
    }

    #[test]
    fn refuses_bad_versions_codes_and_uris() {
        assert_eq!(
            parse(b"OPTIONS sip:a SIP/7.0", false),
            Err(ParseErrorKind::Version)
        );
        assert_eq!(
            parse(b"SIP/2.0 4294967301 big", false),
            Err(ParseErrorKind::StatusCode)
        );
        assert_eq!(
            parse(b"SIP/2.0 099 low", false),
            Err(ParseErrorKind::StatusCode)
        );
        assert_eq!(
            parse(b"INVITE <sip:a> SIP/2.0", false),
            Err(ParseErrorKind::RequestUri)
        );
        assert_eq!(
            parse(b"INVITE sip:alan@jasomi.com", false),
            Err(ParseErrorKind::StartLine)
        );
        assert_eq!(
            parse(b"IN VITE sip:a SIP/2.0", false),
            Err(ParseErrorKind::Version)
        );
        assert_eq!(
            parse(b"INV@ sip:a SIP/2.0", false),
            Err(ParseErrorKind::Method)
        );
        assert_eq!(parse(b"", false), Err(ParseErrorKind::StartLine));
    }

    #[test]
    fn extra_spaces_need_leniency() {
        let lws = b"INVITE  sip:user@example.com  SIP/2.0";
        assert!(parse(lws, false).is_err());
        assert!(parse(lws, true).is_ok());
        let trailing = b"OPTIONS sip:remote-target@example.com SIP/2.0  ";
        assert_eq!(parse(trailing, false), Err(ParseErrorKind::Version));
        assert!(parse(trailing, true).is_ok());
        let status = b"SIP/2.0  200\tOK  ";
        assert!(parse(status, false).is_err());
        let Ok(StartLine::Status(s)) = parse(status, true) else {
            panic!()
        };
        assert_eq!(s.reason.slice(status), b"OK");
    }

    #[test]
    fn embedded_uri_space_fails_even_leniently() {
        // RFC 4475 §3.1.2.8 `lwsruri.dat`.
        let line = b"INVITE sip:user@example.com; lr SIP/2.0";
        assert!(parse(line, false).is_err());
        assert!(parse(line, true).is_err());
    }

    #[test]
    fn missing_words_fail_even_leniently() {
        assert_eq!(
            parse(b"INVITE sip:alan@jasomi.com", true),
            Err(ParseErrorKind::StartLine)
        );
        assert_eq!(parse(b"SIP/2.0", true), Err(ParseErrorKind::StartLine));
        assert!(parse(b"SIP/2.0 200", true).is_ok());
    }

    #[test]
    fn version_is_case_insensitive() {
        assert!(parse(b"OPTIONS sip:a sip/2.0", false).is_ok());
    }
}
