//! Framing: cutting a stream transport's bytes into messages (RFC 3261 §18.3) and
//! keep-alives (RFC 5626 §3.5.1).
//!
//! RFC 3261 §20.14 (<https://www.rfc-editor.org/rfc/rfc3261#section-20.14>) on
//! Content-Length: "If a stream-based protocol (such as TCP) is used as transport, the
//! header field MUST be used." RFC 5626 §3.5.1
//! (<https://www.rfc-editor.org/rfc/rfc5626#section-3.5.1>) defines the CRLF keep-alive:
//! a double-CRLF ping answered by a single-CRLF pong, between messages.

use memchr::memchr;

use crate::error::{ParseError, ParseErrorKind};
use crate::header::HeaderKind;
use crate::lex::{is_lws, sub, trim};
use crate::limits::Limits;
use crate::parse::ContentLengths;
use crate::section::{HeadLines, RawField};

/// What [`frame`] found at the start of a stream buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framed {
    /// A complete message: `buf[skip..skip + len]`. The first `skip` bytes are
    /// keep-alive CRLFs before it, which the caller forwards or drops as it likes.
    Message {
        /// Keep-alive bytes before the message.
        skip: usize,
        /// Length of the message: header section plus Content-Length body.
        len: usize,
    },
    /// `buf[..len]` holds only keep-alive CRLFs (RFC 5626 §3.5.1 "double CRLF" pings
    /// and "single CRLF" pongs) and what follows is not a complete message yet.
    /// Consume them and call again.
    KeepAlive {
        /// Number of keep-alive bytes.
        len: usize,
    },
    /// No complete message yet; keep the bytes and wait for more.
    NeedMore,
    /// A message whose header section and Content-Length were read but which is larger
    /// than [`Limits::max_message_bytes`]: `len` bytes after `skip` keep-alive bytes, to
    /// pass on without being held ([`crate::StreamFramer`] does), after which framing
    /// goes on.
    Oversize {
        /// Keep-alive bytes before the message.
        skip: usize,
        /// Length of the whole message.
        len: usize,
    },
    /// The message at the start cannot be framed: no usable Content-Length, or a header
    /// section over the size limit. [`crate::StreamFramer`] passes such bytes on and
    /// resynchronises on the next start line.
    Invalid(ParseError),
}

/// Length of the keep-alive line ends at the start of `buf`: CRLFs, and lone LFs
/// when [`crate::Leniency::allow_lf_only_line_ends`] is set. RFC 3261 §7.5:
/// "Implementations processing SIP messages over stream-oriented transports MUST
/// ignore any CRLF appearing before the start-line."
pub fn keep_alive_len(buf: &[u8], limits: &Limits) -> usize {
    let lf_only = limits.leniency.allow_lf_only_line_ends;
    let mut i = 0;
    loop {
        match (buf.get(i), buf.get(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => i += 2,
            (Some(b'\n'), _) if lf_only => i += 1,
            _ => return i,
        }
    }
}

/// Finds the first message in a stream buffer.
///
/// Only what decides the boundary is checked: the blank line that ends the header
/// section, and Content-Length, which RFC 3261 §18.3 says "MUST be used with stream
/// oriented transports". Everything else is [`crate::parse`]'s job, so a message with a
/// malformed `Subject` still frames and can be forwarded.
pub fn frame(buf: &[u8], limits: &Limits) -> Framed {
    let skip = keep_alive_len(buf, limits);
    let rest = sub(buf, skip, buf.len());
    let waiting = if skip > 0 {
        Framed::KeepAlive { len: skip }
    } else {
        Framed::NeedMore
    };
    let invalid = |kind, at: usize| Framed::Invalid(ParseError::new(kind, skip + at));
    let lf_only = limits.leniency.allow_lf_only_line_ends;
    let max_head = limits.max_header_bytes as usize;
    let head = sub(rest, 0, max_head.saturating_add(4));
    let mut lines = HeadLines::new(head, lf_only);
    let length = stream_content_length(head, lines.by_ref());
    let Some((_, body_start)) = lines.section() else {
        return if rest.len() > max_head {
            invalid(ParseErrorKind::HeaderSectionTooLarge, 0)
        } else {
            waiting
        };
    };
    if body_start > max_head {
        return invalid(ParseErrorKind::HeaderSectionTooLarge, 0);
    }
    let body_len = match length {
        Ok(Some(n)) => n as usize,
        Ok(None) if limits.leniency.assume_empty_body_on_stream => 0,
        Ok(None) => return invalid(ParseErrorKind::MissingContentLength, 0),
        Err(e) => return Framed::Invalid(ParseError::new(e.kind, skip + e.at as usize)),
    };
    match body_start.checked_add(body_len) {
        Some(len) if len <= limits.max_message_bytes as usize => {
            if rest.len() >= len {
                Framed::Message { skip, len }
            } else {
                waiting
            }
        }
        Some(len) => Framed::Oversize { skip, len },
        None => invalid(ParseErrorKind::TooLarge, 0),
    }
}

/// The Content-Length of a header section from its header lines (`start..end` of
/// `head`, continuations joined), read tolerantly: a malformed unrelated line does not
/// stop framing. Consumes every line, so the caller can ask where the section ends;
/// the first bad or conflicting value is the error.
fn stream_content_length(
    head: &[u8],
    lines: impl Iterator<Item = (usize, usize)>,
) -> Result<Option<u32>, ParseError> {
    let mut lengths = ContentLengths::default();
    let mut failed = None;
    for (pos, end) in lines {
        if failed.is_some() || !may_be_content_length(sub(head, pos, end)) {
            continue;
        }
        let line = sub(head, pos, end);
        if let Some(colon) = memchr(b':', line) {
            let name = trim(sub(line, 0, colon));
            if HeaderKind::from_name(name) == HeaderKind::ContentLength {
                let raw = RawField {
                    name: (pos, pos + colon),
                    value: (pos + colon + 1, end),
                };
                failed = lengths.add(head, raw).err();
            }
        }
    }
    failed.map_or(Ok(lengths.value), Err)
}

/// Whether a header line can be Content-Length (`Content-Length` or compact `l`) at
/// all: its first byte after white space starts the name. Most lines stop here.
fn may_be_content_length(line: &[u8]) -> bool {
    let first = line.iter().find(|&&b| !is_lws(b));
    matches!(first, Some(b'c' | b'C' | b'l' | b'L'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Leniency;

    const REG: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\nl: 0\r\n\r\n";
    const INV: &[u8] = b"INVITE sip:a SIP/2.0\r\nContent-Length  :\r\n 4\r\n\r\nv=0\n";

    #[test]
    fn frames_complete_messages_back_to_back() {
        let mut buf = REG.to_vec();
        buf.extend_from_slice(INV);
        assert_eq!(
            frame(&buf, &Limits::DEFAULT),
            Framed::Message {
                skip: 0,
                len: REG.len()
            }
        );
        assert_eq!(
            frame(&buf[REG.len()..], &Limits::DEFAULT),
            Framed::Message {
                skip: 0,
                len: INV.len()
            }
        );
    }

    #[test]
    fn waits_for_the_rest_of_a_message() {
        for cut in 1..INV.len() {
            assert_eq!(
                frame(&INV[..cut], &Limits::DEFAULT),
                Framed::NeedMore,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn reports_keep_alives_before_and_between_messages() {
        assert_eq!(
            frame(b"\r\n\r\n", &Limits::DEFAULT),
            Framed::KeepAlive { len: 4 }
        );
        assert_eq!(
            frame(b"\r\n", &Limits::DEFAULT),
            Framed::KeepAlive { len: 2 }
        );
        assert_eq!(
            frame(b"\r\n\r", &Limits::DEFAULT),
            Framed::KeepAlive { len: 2 }
        );
        assert_eq!(
            frame(b"\r\nINV", &Limits::DEFAULT),
            Framed::KeepAlive { len: 2 }
        );
        assert_eq!(frame(b"", &Limits::DEFAULT), Framed::NeedMore);
        assert_eq!(frame(b"\r", &Limits::DEFAULT), Framed::NeedMore);
        let mut buf = b"\r\n\r\n".to_vec();
        buf.extend_from_slice(REG);
        assert_eq!(
            frame(&buf, &Limits::DEFAULT),
            Framed::Message {
                skip: 4,
                len: REG.len()
            }
        );
    }

    #[test]
    fn lone_lf_keep_alive_needs_leniency() {
        let lenient = Limits::DEFAULT.with_leniency(Leniency {
            allow_lf_only_line_ends: true,
            ..Leniency::STRICT
        });
        assert_eq!(frame(b"\n\n", &Limits::DEFAULT), Framed::NeedMore);
        assert_eq!(frame(b"\n\n", &lenient), Framed::KeepAlive { len: 2 });
    }

    #[test]
    fn requires_content_length_on_streams() {
        let buf = b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
        let Framed::Invalid(e) = frame(buf, &Limits::DEFAULT) else {
            panic!()
        };
        assert_eq!(e.kind, ParseErrorKind::MissingContentLength);
        let lenient = Limits::DEFAULT.with_leniency(Leniency {
            assume_empty_body_on_stream: true,
            ..Leniency::STRICT
        });
        assert_eq!(
            frame(buf, &lenient),
            Framed::Message {
                skip: 0,
                len: buf.len()
            }
        );
    }

    #[test]
    fn refuses_bad_and_conflicting_lengths() {
        for buf in [
            &b"OPTIONS sip:a SIP/2.0\r\nl: -1\r\n\r\n"[..],
            b"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
            b"OPTIONS sip:a SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n",
        ] {
            let Framed::Invalid(e) = frame(buf, &Limits::DEFAULT) else {
                panic!()
            };
            assert_eq!(e.kind, ParseErrorKind::ContentLength);
        }
    }

    #[test]
    fn measures_oversized_messages_before_the_body_arrives() {
        let buf = b"INVITE sip:a SIP/2.0\r\nl: 4294967295\r\n\r\n";
        assert_eq!(
            frame(buf, &Limits::DEFAULT),
            Framed::Oversize {
                skip: 0,
                len: buf.len() + 4_294_967_295
            }
        );
        let small = Limits::DEFAULT.with_max_message_bytes(20);
        assert_eq!(
            frame(REG, &small),
            Framed::Oversize {
                skip: 0,
                len: REG.len()
            }
        );
    }

    #[test]
    fn refuses_endless_header_sections() {
        let limits = Limits {
            max_header_bytes: 64,
            ..Limits::DEFAULT
        };
        let mut buf = b"INVITE sip:a SIP/2.0\r\n".to_vec();
        while buf.len() <= 64 {
            buf.extend_from_slice(b"X: y\r\n");
        }
        let Framed::Invalid(e) = frame(&buf, &limits) else {
            panic!()
        };
        assert_eq!(e.kind, ParseErrorKind::HeaderSectionTooLarge);
        buf.extend_from_slice(b"l: 0\r\n\r\n");
        let Framed::Invalid(e) = frame(&buf, &limits) else {
            panic!()
        };
        assert_eq!(e.kind, ParseErrorKind::HeaderSectionTooLarge);
    }

    #[test]
    fn frames_despite_unrelated_malformed_lines() {
        let buf = b"OPTIONS sip:a SIP/2.0\r\nFoobar roobar\r\nl: 2\r\n\r\nab";
        assert_eq!(
            frame(buf, &Limits::DEFAULT),
            Framed::Message {
                skip: 0,
                len: buf.len()
            }
        );
    }
}
