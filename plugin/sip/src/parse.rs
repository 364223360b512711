//! `parse`: one complete message (a datagram, or what [`crate::frame`] cut from a
//! stream) into a [`Message`] that borrows the buffer.
//!
//! RFC 3261 §18.3 (<https://www.rfc-editor.org/rfc/rfc3261#section-18.3>): "Any
//! additional bytes in the transport packet beyond the end of the body MUST be
//! discarded."

use alloc::vec::Vec;
use core::ops::ControlFlow;

use crate::error::{ParseError, ParseErrorKind};
use crate::header::HeaderKind;
use crate::lex::{decimal_u32, sub, trim};
use crate::limits::Limits;
use crate::message::{Field, Message};
use crate::section::{RawField, Scanner, SectionEnd, line_at};
use crate::span::Span;
use crate::start_line::{StartLine, parse_start_line};

/// Parses one complete message from `buf`.
///
/// `buf` is a UDP datagram or one message framed from a stream. RFC 3261 §18.3: bytes
/// beyond Content-Length "MUST be discarded"; they stay out of the message and are
/// reachable as [`Message::trailing`] (RFC 4475 §3.1.1.8 `dblreq.dat`). Without a
/// Content-Length the body runs to the end of the datagram.
///
/// Only the framing-relevant parts are checked here: start line, header lines, names,
/// Content-Length. Header values are decoded later, on demand, by the typed views.
pub fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Message<'a>, ParseError> {
    let (start, headers_at) = read_start_line(buf, limits)?;
    let section = parse_section(buf, headers_at, buf.len(), limits, message_ends(limits))?;
    let body_start = section.body_start;
    let content_length = section.content_length;
    let end = match content_length {
        None => buf.len(),
        Some(n) => match body_start.checked_add(n as usize) {
            Some(end) if end <= buf.len() => end,
            _ if limits.leniency.allow_short_body => buf.len(),
            _ => return Err(ParseError::new(ParseErrorKind::BodyLength, body_start)),
        },
    };
    if end > limits.max_message_bytes as usize {
        return Err(ParseError::new(ParseErrorKind::TooLarge, 0));
    }
    Ok(Message::from_parts(
        buf,
        start,
        section.fields,
        section.header_end,
        Span::new(body_start, end),
        content_length,
        limits.leniency.parses_strictly(),
    ))
}

/// Checks the start line of `buf` alone, as [`parse`] would under `limits`: for a caller
/// that knows the rest of the message frames as one [`parse`] already accepted.
pub fn check_start_line(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    read_start_line(buf, limits).map(drop)
}

/// The start line of a message and where its header lines start.
pub(crate) fn read_start_line(
    buf: &[u8],
    limits: &Limits,
) -> Result<(StartLine, usize), ParseError> {
    if u32::try_from(buf.len()).is_err() {
        return Err(ParseError::new(ParseErrorKind::TooLarge, 0));
    }
    let lenient = limits.leniency;
    let cap = (limits.max_header_bytes as usize).min(buf.len());
    let first = line_at(buf, 0, cap, lenient.allow_lf_only_line_ends)?.ok_or_else(|| {
        let kind = if buf.is_empty() {
            ParseErrorKind::StartLine
        } else if cap < buf.len() {
            ParseErrorKind::HeaderSectionTooLarge
        } else {
            ParseErrorKind::UnterminatedHeaders
        };
        ParseError::new(kind, 0)
    })?;
    let start = parse_start_line(
        buf,
        first.content_end,
        lenient.allow_extra_start_line_spaces,
    )?;
    Ok((start, first.next))
}

/// How a whole message's header section may end under `limits`.
pub(crate) fn message_ends(limits: &Limits) -> SectionEnd {
    if limits.leniency.allow_missing_blank_line {
        SectionEnd::BlankLineOrEnd
    } else {
        SectionEnd::BlankLine
    }
}

/// The header section of a message or a MIME part.
pub(crate) struct Section {
    pub fields: Vec<Field>,
    /// Start of the blank line (where new header lines go).
    pub header_end: usize,
    /// First byte after the blank line.
    pub body_start: usize,
    /// The agreed Content-Length, if any field carries one.
    pub content_length: Option<u32>,
}

/// Scans header fields from `pos` up to the blank line, within `end`. `ends` may let
/// the end of the input stand in for the blank line; the size cap never does.
pub(crate) fn parse_section(
    buf: &[u8],
    pos: usize,
    end: usize,
    limits: &Limits,
    ends: SectionEnd,
) -> Result<Section, ParseError> {
    // Header lines are rarely shorter than 32 bytes: one allocation, no regrowth.
    let cap = (limits.max_header_bytes as usize).min(end);
    let mut fields = Vec::with_capacity((cap.saturating_sub(pos) / 32).clamp(8, 64));
    let mut lengths = ContentLengths::default();
    let walked = scan_section(buf, pos, end, limits, ends, |raw| {
        let field = Field::from_raw(buf, raw);
        if field.kind == HeaderKind::ContentLength {
            lengths.add(buf, raw)?;
        }
        fields.push(field);
        Ok(ControlFlow::Continue(()))
    })?;
    // This walk never stops early, so it always reaches the blank line.
    let (header_end, body_start) =
        walked.ok_or(ParseError::new(ParseErrorKind::UnterminatedHeaders, pos))?;
    Ok(Section {
        fields,
        header_end,
        body_start,
        content_length: lengths.value,
    })
}

/// The one walk over a header section that [`parse_section`] and
/// [`crate::addressing`] share: every field in order to `on_field`, the limits on size
/// and count enforced, and `(blank line start, body start)` at the end; `None` when
/// `on_field` stopped the walk before it.
pub(crate) fn scan_section(
    buf: &[u8],
    pos: usize,
    end: usize,
    limits: &Limits,
    ends: SectionEnd,
    mut on_field: impl FnMut(RawField) -> Result<ControlFlow<()>, ParseError>,
) -> Result<Option<(usize, usize)>, ParseError> {
    let lenient = limits.leniency;
    let cap = (limits.max_header_bytes as usize).min(end);
    let ends = if cap == end {
        ends
    } else {
        SectionEnd::BlankLine
    };
    let mut scanner = Scanner::new(buf, pos, cap, lenient.allow_lf_only_line_ends, ends);
    for (count, raw) in scanner.by_ref().enumerate() {
        let raw = raw.map_err(|e| truncated(e, cap, end))?;
        if count >= limits.max_headers as usize {
            return Err(ParseError::new(ParseErrorKind::TooManyHeaders, raw.name.0));
        }
        if on_field(raw)?.is_break() {
            return Ok(None);
        }
    }
    scanner
        .section()
        .map(Some)
        .ok_or_else(|| ParseError::new(ParseErrorKind::UnterminatedHeaders, pos))
}

/// An unterminated section that hit the size cap rather than the end of the input is
/// too large, not unterminated.
fn truncated(e: ParseError, cap: usize, end: usize) -> ParseError {
    if e.kind == ParseErrorKind::UnterminatedHeaders && cap < end {
        ParseError::new(ParseErrorKind::HeaderSectionTooLarge, e.at as usize)
    } else {
        e
    }
}

/// Collects Content-Length values; all must agree.
#[derive(Default)]
pub(crate) struct ContentLengths {
    pub value: Option<u32>,
}

impl ContentLengths {
    /// RFC 3261 §20.14 gives one value. Several that disagree leave the body length
    /// unknowable (RFC 4475 §3.3.9 `mcl01.dat`) and let two parsers frame the stream
    /// differently, so that is an error; repeats of the same value are harmless.
    pub(crate) fn add(&mut self, buf: &[u8], raw: RawField) -> Result<(), ParseError> {
        let (lo, hi) = raw.value;
        let err = ParseError::new(ParseErrorKind::ContentLength, lo);
        let n = decimal_u32(trim(sub(buf, lo, hi))).ok_or(err)?;
        match self.value {
            Some(prev) if prev != n => Err(err),
            _ => {
                self.value = Some(n);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Leniency;
    use crate::start_line::StartLine;

    const OPTIONS: &[u8] =
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 5\r\n\r\nhello";

    fn lenient(f: impl FnOnce(&mut Leniency)) -> Limits {
        let mut l = Leniency::STRICT;
        f(&mut l);
        Limits::DEFAULT.with_leniency(l)
    }

    #[test]
    fn parses_a_request_with_body() {
        let msg = parse(OPTIONS, &Limits::DEFAULT).unwrap();
        assert!(matches!(msg.start_line(), StartLine::Request(_)));
        assert_eq!(msg.fields().len(), 2);
        assert_eq!(msg.body(), b"hello");
        assert_eq!(msg.content_length(), Some(5));
        assert_eq!(msg.len(), OPTIONS.len());
    }

    #[test]
    fn ignores_bytes_after_content_length() {
        let mut buf = OPTIONS.to_vec();
        buf.extend_from_slice(b"garbage");
        let msg = parse(&buf, &Limits::DEFAULT).unwrap();
        assert_eq!(msg.as_bytes(), OPTIONS);
        assert_eq!(msg.trailing(), b"garbage");
    }

    #[test]
    fn body_runs_to_end_without_content_length() {
        let buf = b"INVITE sip:a SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\nv=0\r\n";
        let msg = parse(buf, &Limits::DEFAULT).unwrap();
        assert_eq!(msg.body(), b"v=0\r\n");
        assert_eq!(msg.content_length(), None);
    }

    #[test]
    fn refuses_short_body_unless_lenient() {
        let buf = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort";
        assert_eq!(
            parse(buf, &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::BodyLength
        );
        let msg = parse(buf, &lenient(|l| l.allow_short_body = true)).unwrap();
        assert_eq!(msg.body(), b"short");
        assert_eq!(msg.content_length(), Some(10));
    }

    #[test]
    fn refuses_bad_and_conflicting_content_lengths() {
        let neg = b"OPTIONS sip:a SIP/2.0\r\nContent-Length: -999\r\n\r\n";
        assert_eq!(
            parse(neg, &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::ContentLength
        );
        let huge = b"OPTIONS sip:a SIP/2.0\r\nl: 99999999999999999999\r\n\r\n";
        assert_eq!(
            parse(huge, &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::ContentLength
        );
        let two = b"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
        let e = parse(two, &Limits::DEFAULT).unwrap_err();
        assert_eq!((e.kind, e.at), (ParseErrorKind::ContentLength, 45));
        let same = b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nab";
        assert_eq!(parse(same, &Limits::DEFAULT).unwrap().body(), b"ab");
    }

    #[test]
    fn refuses_u32_max_content_length_without_overflow() {
        let buf = b"OPTIONS sip:a SIP/2.0\r\nl: 4294967295\r\n\r\n";
        assert_eq!(
            parse(buf, &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::BodyLength
        );
        let msg = parse(buf, &lenient(|l| l.allow_short_body = true)).unwrap();
        assert!(msg.body().is_empty());
    }

    #[test]
    fn lf_only_lines_need_leniency() {
        let buf = b"OPTIONS sip:a SIP/2.0\nCSeq: 1 OPTIONS\nl: 0\n\n";
        assert_eq!(
            parse(buf, &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::LineEnding
        );
        let msg = parse(buf, &lenient(|l| l.allow_lf_only_line_ends = true)).unwrap();
        assert_eq!(msg.fields().len(), 2);
        assert_eq!(msg.len(), buf.len());
    }

    #[test]
    fn missing_blank_line_needs_leniency() {
        let buf = b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n";
        let e = parse(buf, &Limits::DEFAULT).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::UnterminatedHeaders);
        let msg = parse(buf, &lenient(|l| l.allow_missing_blank_line = true)).unwrap();
        assert_eq!(msg.fields().len(), 2);
        assert_eq!(msg.body_span(), Span::at(buf.len()));
    }

    #[test]
    fn enforces_limits() {
        let few = Limits {
            max_headers: 1,
            ..Limits::DEFAULT
        };
        assert_eq!(
            parse(OPTIONS, &few).unwrap_err().kind,
            ParseErrorKind::TooManyHeaders
        );
        let small = Limits::DEFAULT.with_max_message_bytes(10);
        assert_eq!(
            parse(OPTIONS, &small).unwrap_err().kind,
            ParseErrorKind::TooLarge
        );
        let short_headers = Limits {
            max_header_bytes: 30,
            ..Limits::DEFAULT
        };
        assert_eq!(
            parse(OPTIONS, &short_headers).unwrap_err().kind,
            ParseErrorKind::HeaderSectionTooLarge
        );
        let tiny = Limits {
            max_header_bytes: 5,
            ..Limits::DEFAULT
        };
        assert_eq!(
            parse(OPTIONS, &tiny).unwrap_err().kind,
            ParseErrorKind::HeaderSectionTooLarge
        );
    }

    #[test]
    fn refuses_empty_and_lineless_input() {
        assert_eq!(
            parse(b"", &Limits::DEFAULT).unwrap_err().kind,
            ParseErrorKind::StartLine
        );
        assert_eq!(
            parse(b"OPTIONS sip:a SIP/2.0", &Limits::DEFAULT)
                .unwrap_err()
                .kind,
            ParseErrorKind::UnterminatedHeaders
        );
    }
}
