//! The header-section scanner shared by the framer, the message parser and the
//! multipart parser: physical lines, header fields with their folded continuations,
//! and the blank line that ends the section.
//!
//! RFC 3261 §7.3.1 (<https://www.rfc-editor.org/rfc/rfc3261#section-7.3.1>): "Header
//! fields can be extended over multiple lines by preceding each extra line with at
//! least one SP or horizontal tab (HT)."

use memchr::{memchr, memchr2};

use crate::error::{ParseError, ParseErrorKind};
use crate::lex::{is_token, is_token_str, is_wsp, sub};

/// One physical line: where its content ends and where the next line starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub content_end: usize,
    pub next: usize,
}

/// Finds the end of the line that starts at `pos`, looking no further than `end`.
///
/// `Ok(None)` when no line end is there yet. RFC 3261 §7 ends lines with CRLF; a bare
/// CR is always an error (it would let two parsers disagree on where a header ends),
/// a bare LF only when [`crate::Leniency::allow_lf_only_line_ends`] is off.
pub(crate) fn line_at(
    buf: &[u8],
    pos: usize,
    end: usize,
    lf_only: bool,
) -> Result<Option<Line>, ParseError> {
    let hay = sub(buf, pos, end);
    let Some(i) = memchr2(b'\r', b'\n', hay) else {
        return Ok(None);
    };
    let at = pos + i;
    match (hay.get(i), hay.get(i + 1)) {
        (Some(b'\r'), Some(b'\n')) => Ok(Some(Line {
            content_end: at,
            next: at + 2,
        })),
        (Some(b'\r'), None) => Ok(None),
        (Some(b'\n'), _) if lf_only => Ok(Some(Line {
            content_end: at,
            next: at + 1,
        })),
        _ => Err(ParseError::new(ParseErrorKind::LineEnding, at)),
    }
}

/// Where the header section ends: `(blank line start, body start)`, or `None` when the
/// blank line has not arrived. `buf` starts at the start line.
#[cfg(test)]
pub(crate) fn find_section_end(buf: &[u8], lf_only: bool) -> Option<(usize, usize)> {
    let mut lines = HeadLines::new(buf, lf_only);
    lines.by_ref().for_each(drop);
    lines.section()
}

/// The header lines of a stream buffer that starts at the start line, in one pass over
/// its LFs, for the framer: each item is one header line, continuations joined, as
/// `start..end` with `end` just past its last LF. The start line is skipped. After
/// `None`, [`HeadLines::section`] says where the blank line and the body are, if the
/// blank line arrived.
///
/// The blank line is CRLF right after a CRLF; under
/// [`crate::Leniency::allow_lf_only_line_ends`], an LF or CRLF right after any LF.
pub(crate) struct HeadLines<'b> {
    buf: &'b [u8],
    lf_only: bool,
    lfs: memchr::Memchr<'b>,
    /// Start of the current header line; `None` while still in the start line.
    line: Option<usize>,
    section: Option<(usize, usize)>,
}

impl<'b> HeadLines<'b> {
    pub(crate) fn new(buf: &'b [u8], lf_only: bool) -> Self {
        Self {
            buf,
            lf_only,
            lfs: memchr::memchr_iter(b'\n', buf),
            line: None,
            section: None,
        }
    }

    /// `(blank line start, body start)` once the iterator has returned `None`.
    pub(crate) fn section(&self) -> Option<(usize, usize)> {
        self.section
    }

    /// Where the body starts if a blank line follows the LF at `lf`.
    fn blank_after(&self, lf: usize) -> Option<usize> {
        let at = |i: usize| self.buf.get(i).copied();
        let crlf_before = lf.checked_sub(1).and_then(at) == Some(b'\r');
        match (at(lf + 1), at(lf + 2)) {
            (Some(b'\r'), Some(b'\n')) if crlf_before || self.lf_only => Some(lf + 3),
            (Some(b'\n'), _) if self.lf_only => Some(lf + 2),
            _ => None,
        }
    }
}

impl Iterator for HeadLines<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        while let Some(lf) = self.lfs.next() {
            let end = lf + 1;
            let blank = self.blank_after(lf);
            let continued = blank.is_none() && self.buf.get(end).copied().is_some_and(is_wsp);
            let line = self.line;
            if line.is_none() || !continued {
                self.line = Some(end);
            }
            if let Some(body) = blank {
                self.section = Some((end, body));
                self.lfs = memchr::memchr_iter(b'\n', &[]);
            }
            match line {
                Some(start) if !continued => return Some((start, end)),
                _ => {}
            }
        }
        None
    }
}

/// How the header section may end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SectionEnd {
    /// Only a blank line ends it (RFC 3261 §7).
    BlankLine,
    /// A blank line, or the end of the input at the start of a line (datagrams under
    /// [`crate::Leniency::allow_missing_blank_line`]; MIME parts without a body).
    BlankLineOrEnd,
}

/// A header field as the scanner found it: name and value as byte ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawField {
    pub name: (usize, usize),
    pub value: (usize, usize),
}

/// Iterates the header fields of `buf[pos..end]`, joining folded continuation lines
/// (RFC 3261 §7.3.1: a line starting with SP or HT continues the previous value).
/// After `None`, [`Scanner::section`] says where the blank line and the body are.
pub(crate) struct Scanner<'b> {
    buf: &'b [u8],
    pos: usize,
    end: usize,
    lf_only: bool,
    ends: SectionEnd,
    section: Option<(usize, usize)>,
    failed: bool,
}

impl<'b> Scanner<'b> {
    pub(crate) fn new(
        buf: &'b [u8],
        pos: usize,
        end: usize,
        lf_only: bool,
        ends: SectionEnd,
    ) -> Self {
        Self {
            buf,
            pos,
            end: end.min(buf.len()),
            lf_only,
            ends,
            section: None,
            failed: false,
        }
    }

    /// `(blank line start, body start)` once the iterator has returned `None`.
    pub(crate) fn section(&self) -> Option<(usize, usize)> {
        self.section
    }

    fn fail(&mut self, kind: ParseErrorKind, at: usize) -> Option<Result<RawField, ParseError>> {
        self.failed = true;
        Some(Err(ParseError::new(kind, at)))
    }

    fn line(&mut self, pos: usize) -> Result<Option<Line>, ParseError> {
        line_at(self.buf, pos, self.end, self.lf_only)
    }

    /// The input ended where a line should have started or ended.
    fn at_end(&mut self) -> Option<Result<RawField, ParseError>> {
        if self.pos >= self.end && self.ends == SectionEnd::BlankLineOrEnd {
            self.section = Some((self.end, self.end));
            return None;
        }
        self.fail(ParseErrorKind::UnterminatedHeaders, self.pos)
    }

    /// Extends `value` over the continuation lines that follow; `Err` on a broken line.
    fn continuations(&mut self, value: &mut (usize, usize)) -> Result<(), ParseError> {
        while self.buf.get(self.pos).copied().is_some_and(is_wsp) {
            let Some(line) = self.line(self.pos)? else {
                return Err(ParseError::new(
                    ParseErrorKind::UnterminatedHeaders,
                    self.pos,
                ));
            };
            let (lo, hi) = trim_wsp(self.buf, self.pos, line.content_end);
            if lo < hi {
                if value.0 == value.1 {
                    value.0 = lo;
                }
                value.1 = hi;
            }
            self.pos = line.next;
        }
        Ok(())
    }
}

impl Iterator for Scanner<'_> {
    type Item = Result<RawField, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.section.is_some() {
            return None;
        }
        let start = self.pos;
        let line = match self.line(start) {
            Ok(Some(line)) => line,
            Ok(None) => return self.at_end(),
            Err(e) => return self.fail(e.kind, e.at as usize),
        };
        if line.content_end == start {
            self.section = Some((start, line.next));
            return None;
        }
        let content = sub(self.buf, start, line.content_end);
        let (name_end, colon) = match name_and_colon(content) {
            Ok((name, colon)) => (start + name, start + colon),
            Err(kind) => return self.fail(kind, start),
        };
        let (lo, hi) = trim_wsp(self.buf, colon + 1, line.content_end);
        let mut value = if lo < hi {
            (lo, hi)
        } else {
            (line.content_end, line.content_end)
        };
        self.pos = line.next;
        if let Err(e) = self.continuations(&mut value) {
            return self.fail(e.kind, e.at as usize);
        }
        Some(Ok(RawField {
            name: (start, name_end),
            value,
        }))
    }
}

/// Where the field name of a header line ends and where its colon is, as offsets into
/// `line` (one physical line, no line end). The usual `Name:` or `Name :` is one pass
/// over the name; anything else takes the careful path, which finds the same answer or
/// says what is wrong.
fn name_and_colon(line: &[u8]) -> Result<(usize, usize), ParseErrorKind> {
    let name = line.iter().take_while(|&&b| is_token(b)).count();
    if name > 0 {
        let wsp = sub(line, name, line.len())
            .iter()
            .take_while(|&&b| is_wsp(b))
            .count();
        if line.get(name + wsp) == Some(&b':') {
            return Ok((name, name + wsp));
        }
    }
    if line.first().copied().is_some_and(is_wsp) {
        // A continuation with no field before it (RFC 3261 §7.3.1).
        return Err(ParseErrorKind::HeaderSyntax);
    }
    let Some(colon) = memchr(b':', line) else {
        return Err(ParseErrorKind::HeaderSyntax);
    };
    // HCOLON = *( SP / HTAB ) ":" SWS: white space may precede the colon.
    let (_, name_end) = trim_wsp(line, 0, colon);
    if !is_token_str(sub(line, 0, name_end)) {
        return Err(ParseErrorKind::HeaderName);
    }
    Ok((name_end, colon))
}

/// `lo..hi` without leading and trailing SP/HT.
fn trim_wsp(buf: &[u8], lo: usize, hi: usize) -> (usize, usize) {
    let s = sub(buf, lo, hi);
    let a = s.iter().position(|&b| !is_wsp(b)).unwrap_or(s.len());
    let z = s.iter().rposition(|&b| !is_wsp(b)).map_or(a, |i| i + 1);
    (lo + a, lo + z.max(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    type Scanned = (Vec<RawField>, Option<(usize, usize)>);

    fn fields(buf: &[u8], lf_only: bool) -> Result<Scanned, ParseError> {
        let mut s = Scanner::new(buf, 0, buf.len(), lf_only, SectionEnd::BlankLine);
        let v = s.by_ref().collect::<Result<Vec<_>, _>>()?;
        Ok((v, s.section()))
    }

    #[test]
    fn joins_folded_lines_into_one_value() {
        let buf = b"TO :\r\n sip:a@b ;   tag = 1\r\nX: y\r\n\r\nbody";
        let (f, section) = fields(buf, false).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(sub(buf, f[0].name.0, f[0].name.1), b"TO");
        assert_eq!(sub(buf, f[0].value.0, f[0].value.1), b"sip:a@b ;   tag = 1");
        assert_eq!(section, Some((34, 36)));
    }

    #[test]
    fn keeps_empty_values_as_empty_spans() {
        let buf = b"s :\r\nX:\r\n\r\n";
        let (f, _) = fields(buf, false).unwrap();
        assert_eq!(f[0].value.0, f[0].value.1);
        assert_eq!(f[1].value, (7, 7));
    }

    #[test]
    fn refuses_bare_lf_unless_lenient() {
        let buf = b"A: 1\nB: 2\n\n";
        assert_eq!(
            fields(buf, false).unwrap_err().kind,
            ParseErrorKind::LineEnding
        );
        let (f, section) = fields(buf, true).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(section, Some((10, 11)));
    }

    #[test]
    fn refuses_bare_cr_even_when_lenient() {
        let buf = b"A: 1\rB: 2\r\n\r\n";
        assert_eq!(
            fields(buf, true).unwrap_err().kind,
            ParseErrorKind::LineEnding
        );
    }

    #[test]
    fn refuses_lines_without_colon_and_leading_continuations() {
        assert_eq!(
            fields(b"Foobar roobar\r\n\r\n", false).unwrap_err().kind,
            ParseErrorKind::HeaderSyntax
        );
        assert_eq!(
            fields(b" x: 1\r\n\r\n", false).unwrap_err().kind,
            ParseErrorKind::HeaderSyntax
        );
        assert_eq!(
            fields(b": 1\r\n\r\n", false).unwrap_err().kind,
            ParseErrorKind::HeaderName
        );
        assert_eq!(
            fields(b"a b: 1\r\n\r\n", false).unwrap_err().kind,
            ParseErrorKind::HeaderName
        );
    }

    #[test]
    fn reports_unterminated_sections() {
        assert_eq!(
            fields(b"A: 1\r\n", false).unwrap_err().kind,
            ParseErrorKind::UnterminatedHeaders
        );
        assert_eq!(
            fields(b"A: 1\r\n b", false).unwrap_err().kind,
            ParseErrorKind::UnterminatedHeaders
        );
        let mut s = Scanner::new(b"A: 1\r\n", 0, 6, false, SectionEnd::BlankLineOrEnd);
        assert!(s.next().unwrap().is_ok());
        assert!(s.next().is_none());
        assert_eq!(s.section(), Some((6, 6)));
    }

    #[test]
    fn finds_section_end_strict_and_lenient() {
        assert_eq!(
            find_section_end(b"A\r\nB: 1\r\n\r\nx", false),
            Some((9, 11))
        );
        assert_eq!(find_section_end(b"A\r\nB: 1\r\n", false), None);
        assert_eq!(find_section_end(b"A\nB: 1\n\nx", true), Some((7, 8)));
        assert_eq!(find_section_end(b"A\nB: 1\n\r\nx", true), Some((7, 9)));
        assert_eq!(find_section_end(b"A\nB: 1\n\r", true), None);
        assert_eq!(find_section_end(b"A\nB: 1\n", true), None);
    }
}
