//! The lenient reader: a request the strict parser refuses, rewritten as the closest
//! message that parses strictly.
//!
//! An emergency INVITE must be recognised even when it breaks the rules (DESIGN §2.6):
//! an SBC chain that adds 300 header fields, a UDP datagram whose Content-Length claims
//! more than it holds, a softphone that ends lines with a bare LF, a stray line that is
//! not a header. [`salvage`] keeps what survives and says what it changed; the caller
//! parses the result with [`crate::parse`] under strict syntax (and limits of its own
//! choosing), so every view, edit and render downstream works on a well-formed message,
//! and whatever is rewritten from it parses strictly too.
//!
//! It is deliberately small and separate from the strict scanner: one pass over the lines,
//! no limits of its own (the host bounds the message), nothing borrowed from the input.

use alloc::vec::Vec;

use crate::header::HeaderKind;
use crate::lex::{decimal_u32, is_token, is_token_str, is_wsp, sub, trim};
use crate::start_line::is_uri_byte;

/// What the lenient reader changed so that the message parses strictly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Lines ended with a bare LF and now end with CRLF (RFC 3261 §7).
    pub line_ends: bool,
    /// The Request-Line had extra white space or a SIP-Version other than `SIP/2.0`;
    /// it is now `Method SP Request-URI SP SIP/2.0` (RFC 3261 §7.1).
    pub request_line: bool,
    /// Header lines left out: not `name: value`, a bare CR inside, or a continuation of
    /// a line that was left out.
    pub dropped_lines: u32,
    /// What was wrong with Content-Length, if anything; the body is now what the message
    /// holds and Content-Length says so.
    pub content_length: Option<LengthRepair>,
    /// The header section had no blank line; it has one now, and no body.
    pub blank_line: bool,
}

impl Repairs {
    /// Whether the only change was line ends, which loses nothing: a message sent with
    /// bare LFs reads the same with CRLFs.
    pub fn only_line_ends(&self) -> bool {
        *self
            == Self {
                line_ends: true,
                ..Self::default()
            }
    }
}

/// How the body length was repaired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthRepair {
    /// A Content-Length that is not a number, or several that disagree: the body runs
    /// to the end of the input.
    Unreadable,
    /// Content-Length claimed more than the input holds (a truncated datagram): the
    /// body is what is there.
    Short {
        /// What Content-Length said.
        declared: u32,
        /// What was there.
        present: u32,
    },
}

/// A request rewritten by [`salvage`], and what was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Salvaged {
    /// The message in strict syntax: the Request-Line, the surviving header lines (each
    /// as written, ending in CRLF), one Content-Length for the body, the blank line,
    /// the body.
    pub bytes: Vec<u8>,
    /// What was changed.
    pub repairs: Repairs,
}

/// Why [`salvage`] found nothing to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SalvageError {
    /// The first line is not `Method SP Request-URI [SP SIP-Version]` with a token
    /// method and a Request-URI of URI bytes.
    RequestLine,
}

impl core::fmt::Display for SalvageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("no readable Request-Line")
    }
}

/// Reads a request leniently: see the module documentation. Fails only when the
/// Request-Line itself is unreadable, since then there is nothing to classify.
pub fn salvage(buf: &[u8]) -> Result<Salvaged, SalvageError> {
    let mut lines = Lines::new(buf);
    let first = lines.next().ok_or(SalvageError::RequestLine)?;
    let mut repairs = Repairs::default();
    let mut out = Vec::with_capacity(buf.len() + 64);
    request_line(first.content(buf), &mut out, &mut repairs)?;
    repairs.line_ends |= first.bare_lf;
    let mut lengths = Lengths::default();
    let mut length_at = None;
    let mut current = Field::None;
    let mut body_start = None;
    for line in lines.by_ref() {
        let content = line.content(buf);
        if content.is_empty() {
            repairs.line_ends |= line.bare_lf;
            body_start = Some(line.next);
            break;
        }
        // RFC 3261 §7.3.1: a line starting with SP or HT continues the field before it.
        if content.first().copied().is_some_and(is_wsp) {
            match &mut current {
                Field::Kept if line.clean => {
                    repairs.line_ends |= line.bare_lf;
                    if !trim(content).is_empty() {
                        out.extend_from_slice(content);
                        out.extend_from_slice(b"\r\n");
                    }
                }
                Field::Length(value) if line.clean => {
                    value.push(b' ');
                    value.extend_from_slice(content);
                }
                // A continuation of a dropped line goes with it.
                Field::Dropped => {}
                _ => repairs.dropped_lines = repairs.dropped_lines.saturating_add(1),
            }
            continue;
        }
        current.finish(&mut lengths);
        let name = header_name(content).filter(|_| line.clean);
        current = match name {
            None => {
                repairs.dropped_lines = repairs.dropped_lines.saturating_add(1);
                Field::Dropped
            }
            // Content-Length is written once, below, for the body that goes out.
            Some(HeaderKind::ContentLength) => {
                length_at.get_or_insert(out.len());
                Field::Length(content.to_vec())
            }
            Some(_) => {
                repairs.line_ends |= line.bare_lf;
                out.extend_from_slice(content);
                out.extend_from_slice(b"\r\n");
                Field::Kept
            }
        };
    }
    current.finish(&mut lengths);
    let body = match body_start {
        Some(start) => sub(buf, start, buf.len()),
        None => {
            repairs.blank_line = true;
            &[]
        }
    };
    let body = lengths.body(body, &mut repairs);
    let mut length = b"Content-Length: ".to_vec();
    length.extend_from_slice(alloc::format!("{}", body.len()).as_bytes());
    length.extend_from_slice(b"\r\n");
    let at = length_at.unwrap_or(out.len()).min(out.len());
    out.splice(at..at, length);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(Salvaged {
        bytes: out,
        repairs,
    })
}

/// `Method SP Request-URI SP SIP/2.0 CRLF` from whatever the first line holds.
fn request_line(line: &[u8], out: &mut Vec<u8>, repairs: &mut Repairs) -> Result<(), SalvageError> {
    let mut words = line.split(|&b| is_wsp(b)).filter(|w| !w.is_empty()).fuse();
    let (Some(method), Some(uri)) = (words.next(), words.next()) else {
        return Err(SalvageError::RequestLine);
    };
    if !is_token_str(method) || !uri.iter().all(|&b| is_uri_byte(b)) {
        return Err(SalvageError::RequestLine);
    }
    // Anything but exactly `Method SP Request-URI SP SIP/2.0` is rewritten as that.
    let exact = words.next() == Some(&b"SIP/2.0"[..])
        && words.next().is_none()
        && line.len() == method.len() + uri.len() + 9;
    repairs.request_line |= !exact;
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(uri);
    out.extend_from_slice(b" SIP/2.0\r\n");
    Ok(())
}

/// The kind of a header line's field name, when the line reads as `token *WSP ":"`.
fn header_name(line: &[u8]) -> Option<HeaderKind> {
    let name = line.iter().take_while(|&&b| is_token(b)).count();
    let wsp = sub(line, name, line.len())
        .iter()
        .take_while(|&&b| is_wsp(b))
        .count();
    (name > 0 && line.get(name + wsp) == Some(&b':'))
        .then(|| HeaderKind::from_name(sub(line, 0, name)))
}

/// The header field the reader is in, which a continuation line extends.
enum Field {
    /// None yet: a continuation here continues nothing.
    None,
    /// Copied to the output.
    Kept,
    /// A Content-Length line, with its continuations, read when the field ends.
    Length(Vec<u8>),
    /// Left out, with its continuations.
    Dropped,
}

impl Field {
    fn finish(&mut self, lengths: &mut Lengths) {
        if let Self::Length(line) = core::mem::replace(self, Self::None) {
            lengths.add(&line);
        }
    }
}

/// The Content-Length values seen, read as leniently as the rest.
#[derive(Default)]
struct Lengths {
    value: Option<u32>,
    unreadable: bool,
}

impl Lengths {
    fn add(&mut self, line: &[u8]) {
        let value = line
            .iter()
            .position(|&b| b == b':')
            .and_then(|colon| decimal_u32(trim(sub(line, colon + 1, line.len()))));
        match (value, self.value) {
            (None, _) => self.unreadable = true,
            (Some(n), Some(prev)) if n != prev => self.unreadable = true,
            (Some(n), _) => self.value = Some(n),
        }
    }

    /// The body that goes out: Content-Length bytes when the input holds them (bytes
    /// after it are discarded, RFC 3261 §18.3), else all there is.
    fn body<'b>(&self, rest: &'b [u8], repairs: &mut Repairs) -> &'b [u8] {
        let present = crate::span::to_u32(rest.len());
        match self.value {
            _ if self.unreadable => {
                repairs.content_length = Some(LengthRepair::Unreadable);
                rest
            }
            Some(declared) if declared > present => {
                repairs.content_length = Some(LengthRepair::Short { declared, present });
                rest
            }
            Some(declared) => sub(rest, 0, declared as usize),
            None => rest,
        }
    }
}

/// One physical line: where its content ends and whether its end was a bare LF, and
/// whether it is clean (no CR anywhere but right before its LF).
#[derive(Clone, Copy, Debug)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
    bare_lf: bool,
    clean: bool,
}

impl Line {
    fn content(self, buf: &[u8]) -> &[u8] {
        sub(buf, self.start, self.end)
    }
}

/// The physical lines of a buffer, split at LF; the last line may lack one.
struct Lines<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Lines<'b> {
    fn new(buf: &'b [u8]) -> Self {
        Self { buf, pos: 0 }
    }
}

impl Iterator for Lines<'_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let start = self.pos;
        if start >= self.buf.len() {
            return None;
        }
        let rest = sub(self.buf, start, self.buf.len());
        let (end, next, lf) = match memchr::memchr(b'\n', rest) {
            Some(i) => (start + i, start + i + 1, true),
            None => (self.buf.len(), self.buf.len(), false),
        };
        let crlf = lf && end > start && self.buf.get(end - 1) == Some(&b'\r');
        let end = if crlf { end - 1 } else { end };
        self.pos = next;
        Some(Line {
            start,
            end,
            next,
            bare_lf: lf && !crlf,
            clean: memchr::memchr(b'\r', sub(self.buf, start, end)).is_none(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{Leniency, Limits};
    use crate::parse::parse;
    use alloc::format;
    use alloc::string::String;

    /// Strict syntax, no size limits: what a caller parses the salvaged bytes with.
    const UNBOUNDED: Limits = Limits {
        max_message_bytes: u32::MAX,
        max_header_bytes: u32::MAX,
        max_headers: u32::MAX,
        leniency: Leniency::STRICT,
    };

    const INVITE: &str = "INVITE sip:911@contoso.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.1.0.25;branch=z9hG4bK1\r\n\
        To: <sip:911@contoso.com>\r\n\
        From: <sip:+14255550101@contoso.com>;tag=1\r\n\
        Call-ID: c1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Length: 4\r\n\r\nv=0\n";

    fn salvaged(text: &[u8]) -> Salvaged {
        let s = salvage(text).unwrap();
        let msg = parse(&s.bytes, &UNBOUNDED);
        assert!(
            msg.is_ok(),
            "{:?}: {}",
            msg.err(),
            String::from_utf8_lossy(&s.bytes)
        );
        s
    }

    #[test]
    fn leaves_a_strict_message_as_it_is() {
        let s = salvaged(INVITE.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert_eq!(s.repairs, Repairs::default());
    }

    #[test]
    fn turns_bare_lf_into_crlf_and_says_it_lost_nothing() {
        let lf = INVITE.replace("\r\n", "\n");
        let s = salvaged(lf.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert!(s.repairs.only_line_ends());
        // Mixed: one LF-only continuation line in the middle.
        let mixed = INVITE.replace("Call-ID: c1\r\n", "Call-ID: c1\r\n \n");
        let s = salvaged(mixed.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
    }

    #[test]
    fn drops_lines_that_are_not_headers_with_their_continuations() {
        let bad = INVITE.replace(
            "Call-ID: c1\r\n",
            "Call-ID: c1\r\nnot a header\r\n continued\r\nX\rY: z\r\n: empty\r\n",
        );
        let s = salvaged(bad.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert_eq!(s.repairs.dropped_lines, 3);
    }

    #[test]
    fn reads_a_folded_content_length_and_counts_a_line_continuing_nothing() {
        let folded = INVITE.replace("Content-Length: 4", "Content-Length:\r\n 4");
        let s = salvaged(folded.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert_eq!(s.repairs, Repairs::default());
        let blank = INVITE.replace("SIP/2.0\r\nVia", "SIP/2.0\r\n\t\r\nVia");
        let s = salvaged(blank.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert_eq!(s.repairs.dropped_lines, 1);
    }

    #[test]
    fn keeps_every_field_however_many() {
        let extra: String = (0..300).map(|i| format!("X-Hop-{i}: sbc{i}\r\n")).collect();
        let many = INVITE.replace("CSeq", &format!("{extra}CSeq"));
        let s = salvaged(many.as_bytes());
        assert_eq!(s.bytes, many.as_bytes());
        assert_eq!(parse(&s.bytes, &UNBOUNDED).unwrap().fields().len(), 306);
    }

    #[test]
    fn takes_the_body_a_short_datagram_holds() {
        let short = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        let s = salvaged(short.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert_eq!(
            s.repairs.content_length,
            Some(LengthRepair::Short {
                declared: 400,
                present: 4
            })
        );
        let twice = INVITE.replace("Content-Length: 4", "l: 4\r\nContent-Length: 9");
        let s = salvaged(twice.as_bytes());
        assert!(s.bytes.ends_with(b"Content-Length: 4\r\n\r\nv=0\n"));
        assert_eq!(s.repairs.content_length, Some(LengthRepair::Unreadable));
    }

    #[test]
    fn discards_bytes_after_the_body_as_the_strict_parser_does() {
        let mut long = INVITE.as_bytes().to_vec();
        long.extend_from_slice(b"trailing");
        assert_eq!(salvaged(&long).bytes, INVITE.as_bytes());
    }

    #[test]
    fn repairs_the_request_line_and_a_missing_blank_line() {
        let loose = INVITE.replace(
            "INVITE sip:911@contoso.com SIP/2.0",
            "INVITE  sip:911@contoso.com\tsip/2.0 ",
        );
        let s = salvaged(loose.as_bytes());
        assert_eq!(s.bytes, INVITE.as_bytes());
        assert!(s.repairs.request_line);
        let headless = "INVITE sip:911@x SIP/2.0\r\nTo: <sip:911@x>\r\n";
        let s = salvaged(headless.as_bytes());
        assert_eq!(
            s.bytes,
            b"INVITE sip:911@x SIP/2.0\r\nTo: <sip:911@x>\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(s.repairs.blank_line);
    }

    #[test]
    fn refuses_only_an_unreadable_request_line() {
        for bad in [
            &b""[..],
            b"INVITE\r\n\r\n",
            b"INVITE <sip:x> SIP/2.0\r\n\r\n",
        ] {
            assert_eq!(salvage(bad), Err(SalvageError::RequestLine));
        }
    }

    #[test]
    fn salvages_every_prefix_and_mutation_into_a_strict_message() {
        let base = INVITE.as_bytes();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for cut in 0..=base.len() {
            if let Ok(s) = salvage(&base[..cut]) {
                assert!(parse(&s.bytes, &UNBOUNDED).is_ok(), "prefix {cut}");
            }
        }
        for _ in 0..5000 {
            let mut m = base.to_vec();
            for _ in 0..3 {
                let i = (next() % m.len() as u64) as usize;
                match next() % 3 {
                    0 => m[i] = b" \t\r\n:;<>\0"[(next() % 9) as usize],
                    1 => m.insert(i, b" \t\r\n"[(next() % 4) as usize]),
                    _ => {
                        m.remove(i);
                    }
                }
            }
            if let Ok(s) = salvage(&m) {
                assert!(
                    parse(&s.bytes, &UNBOUNDED).is_ok(),
                    "{:?}",
                    String::from_utf8_lossy(&m)
                );
            }
        }
    }
}
