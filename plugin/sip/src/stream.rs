//! One direction of a stream connection (TCP, TLS) cut into pieces that never lose a
//! byte: messages, keep-alives, and what cannot be framed, each handed on in order.
//!
//! [`frame`] finds one message at the start of a buffer. A stream needs more: a partial
//! message kept between reads, and a way on after bytes that do not frame. Giving up on
//! the connection (closing it, or passing everything after raw) would lose every
//! emergency INVITE that comes after one bad message on a long-lived trunk connection.
//! So [`StreamFramer`] passes what it cannot frame as [`Piece::Unframed`], exactly as it
//! came, and goes on framing:
//!
//! - a message over the size limit whose length is known (header section complete,
//!   Content-Length readable) passes as it arrives, without being held, and framing
//!   resumes right after it;
//! - bytes that do not frame (no or conflicting Content-Length, a header section longer
//!   than the limit, bytes that are not SIP) pass up to the next line that is a SIP
//!   start line (RFC 3261 §7.1), where framing resumes.
//!
//! RFC 3261 §18.3 makes Content-Length the only delimiter on a stream, so resynchronising
//! on a start line is a heuristic: a body that contains a line looking like one could be
//! cut there. It only ever applies after the stream has already gone wrong.

use alloc::vec::Vec;

use crate::error::ParseErrorKind;
use crate::frame::{Framed, frame, keep_alive_len};
use crate::limits::Limits;

/// Why bytes passed unframed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unframed {
    /// A message larger than the configured maximum.
    Oversize,
    /// Bytes that do not frame as SIP: no usable Content-Length, an endless header
    /// section, or no SIP start line.
    Unframeable,
}

/// One piece of a stream, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// A complete message.
    Message(&'a [u8]),
    /// Keep-alive CRLFs (RFC 5626 §3.5.1) between messages.
    KeepAlive(&'a [u8]),
    /// Bytes that could not be framed, to pass as received. `starts` is set on the first
    /// piece of each run (one oversize message, one stretch of unframeable bytes), for
    /// counting and logging once.
    Unframed {
        /// The bytes.
        bytes: &'a [u8],
        /// Why they could not be framed.
        why: Unframed,
        /// Whether a new run starts here.
        starts: bool,
    },
}

/// One direction of one connection: the partial tail kept between reads, and how much
/// of an oversize message is still to pass.
#[derive(Debug, Default)]
pub struct StreamFramer {
    tail: Vec<u8>,
    /// Bytes of an oversize message still to come, passed as they arrive.
    passing: usize,
    /// A run of unframed bytes is under way (so the next piece of it does not start one).
    in_run: bool,
    /// The last unframed bytes ended inside a line (one longer than the header limit,
    /// passed for its length): the rest of that line passes too, for the same reason. Read
    /// as a line of its own, its end could look like a start line, and a message would
    /// then exist or not depending on where a read ended.
    rest_of_line: Option<Unframed>,
}

impl StreamFramer {
    /// Bytes kept back (an incomplete message or line).
    pub fn pending(&self) -> usize {
        self.tail.len()
    }

    /// Takes `data` (what arrived since the last call) and hands `piece` every piece that
    /// the kept tail plus `data` completes, in stream order. On `end_of_stream` an
    /// incomplete tail is handed on as unframed: nothing more can complete it.
    ///
    /// With nothing kept from before, the pieces are slices of `data` itself: a host can
    /// tell by their addresses that it forwards its own buffer unchanged (no copy).
    pub fn feed(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        mut piece: impl FnMut(Piece<'_>),
    ) {
        if self.tail.is_empty() {
            self.cut(data, end_of_stream, limits, &mut piece);
        } else {
            let mut buf = core::mem::take(&mut self.tail);
            buf.extend_from_slice(data);
            self.cut(&buf, end_of_stream, limits, &mut piece);
        }
    }

    /// Hands on the pieces of `buf` (the kept tail, then what arrived) and keeps the rest.
    fn cut(
        &mut self,
        buf: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        piece: &mut impl FnMut(Piece<'_>),
    ) {
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            let used = self.next_piece(rest, limits, piece);
            if used == 0 {
                break;
            }
            pos += used;
        }
        let rest = buf.get(pos..).unwrap_or_default();
        if end_of_stream && !rest.is_empty() {
            self.unframed(rest, Unframed::Unframeable, piece);
        } else {
            self.tail = rest.to_vec();
        }
    }

    /// Hands on the piece at the start of `rest`; how many bytes it took (0: wait).
    fn next_piece(
        &mut self,
        rest: &[u8],
        limits: &Limits,
        piece: &mut impl FnMut(Piece<'_>),
    ) -> usize {
        if self.passing > 0 {
            let n = self.passing.min(rest.len());
            let bytes = rest.get(..n).unwrap_or_default();
            self.passing -= n;
            self.in_run = self.passing > 0;
            piece(Piece::Unframed {
                bytes,
                why: Unframed::Oversize,
                starts: false,
            });
            return n;
        }
        if let Some(why) = self.rest_of_line {
            let n = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |lf| lf + 1);
            let bytes = rest.get(..n).unwrap_or_default();
            self.rest_of_line = (!bytes.ends_with(b"\n")).then_some(why);
            self.unframed(bytes, why, piece);
            return n;
        }
        // While resynchronising, framing resumes only on a line the search for the next
        // start line would stop at; otherwise where a read ended would decide which
        // messages a stream holds.
        let not_sip = match first_line(rest, limits) {
            Some(line) if self.in_run => !is_start_line(line),
            Some(line) => !looks_like_sip(line),
            None => false,
        };
        if not_sip {
            return self.resync(rest, limits, piece);
        }
        match frame(rest, limits) {
            Framed::Message { skip, len } => match (rest.get(..skip), rest.get(skip..skip + len)) {
                (Some(alive), Some(message)) => {
                    if !alive.is_empty() {
                        piece(Piece::KeepAlive(alive));
                    }
                    self.in_run = false;
                    piece(Piece::Message(message));
                    skip + len
                }
                // frame() promises both parts lie inside `rest`; pass rather than guess.
                _ => self.resync(rest, limits, piece),
            },
            Framed::KeepAlive { len } => match rest.get(..len) {
                Some(alive) if len > 0 => {
                    piece(Piece::KeepAlive(alive));
                    len
                }
                _ => self.resync(rest, limits, piece),
            },
            Framed::NeedMore => 0,
            Framed::Oversize { skip, len } => {
                if let Some(alive) = rest.get(..skip).filter(|a| !a.is_empty()) {
                    piece(Piece::KeepAlive(alive));
                }
                self.in_run = false;
                let n = len.min(rest.len() - skip);
                self.passing = len - n;
                self.unframed(
                    rest.get(skip..skip + n).unwrap_or_default(),
                    Unframed::Oversize,
                    piece,
                );
                self.in_run = self.passing > 0;
                skip + n
            }
            Framed::Invalid(err) => {
                let why = match err.kind {
                    ParseErrorKind::TooLarge | ParseErrorKind::HeaderSectionTooLarge => {
                        Unframed::Oversize
                    }
                    _ => Unframed::Unframeable,
                };
                self.pass_to_next_start_line(rest, limits, why, piece)
            }
        }
    }

    fn resync(&mut self, rest: &[u8], limits: &Limits, piece: &mut impl FnMut(Piece<'_>)) -> usize {
        self.pass_to_next_start_line(rest, limits, Unframed::Unframeable, piece)
    }

    /// Passes `rest` up to the next line that is a SIP start line. Without one, passes up
    /// to the last complete line and keeps the partial line (it may be the start of a
    /// message), unless that line alone is over the header limit.
    fn pass_to_next_start_line(
        &mut self,
        rest: &[u8],
        limits: &Limits,
        why: Unframed,
        piece: &mut impl FnMut(Piece<'_>),
    ) -> usize {
        let n = match next_start_line(rest) {
            Some(at) => at,
            None => {
                let complete = rest
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |lf| lf + 1);
                if rest.len() - complete > limits.max_header_bytes as usize {
                    rest.len()
                } else {
                    complete
                }
            }
        };
        if n > 0 {
            let bytes = rest.get(..n).unwrap_or_default();
            self.rest_of_line = (!bytes.ends_with(b"\n")).then_some(why);
            self.unframed(bytes, why, piece);
            self.in_run = true;
        }
        n
    }

    fn unframed(&mut self, bytes: &[u8], why: Unframed, piece: &mut impl FnMut(Piece<'_>)) {
        piece(Piece::Unframed {
            bytes,
            why,
            starts: !self.in_run,
        });
    }
}

/// Where the first line after the first one that is a SIP start line begins.
fn next_start_line(buf: &[u8]) -> Option<usize> {
    let mut at = buf.iter().position(|&b| b == b'\n')? + 1;
    loop {
        let rest = buf.get(at..)?;
        let end = rest.iter().position(|&b| b == b'\n')?;
        if is_start_line(rest.get(..end).unwrap_or_default()) {
            return Some(at);
        }
        at += end + 1;
    }
}

/// RFC 3261 §7.1: `Method SP Request-URI SP SIP/2.0` (a method is a token; every method
/// in use is upper-case letters) or `SIP/2.0 SP Status-Code SP Reason-Phrase`.
fn is_start_line(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if let Some(status) = line.strip_prefix(b"SIP/2.0 ") {
        return status.len() >= 3 && status.iter().take(3).all(u8::is_ascii_digit);
    }
    let Some(head) = line.strip_suffix(b" SIP/2.0") else {
        return false;
    };
    match head.iter().position(|&b| b == b' ') {
        Some(sp) => {
            let method = head.get(..sp).unwrap_or_default();
            !method.is_empty() && method.iter().all(u8::is_ascii_uppercase) && head.len() > sp + 1
        }
        None => false,
    }
}

/// The first line of `buf` after keep-alive line ends, once it is complete.
fn first_line<'b>(buf: &'b [u8], limits: &Limits) -> Option<&'b [u8]> {
    let rest = buf.get(keep_alive_len(buf, limits)..)?;
    let end = rest.iter().position(|&b| b == b'\n')?;
    rest.get(..end)
}

/// Whether a complete first line could start a SIP message. Framing alone would wait for a
/// blank line up to the header-size limit; bytes that are not SIP are passed at their
/// first line instead of stalling the connection. Looser than [`is_start_line`]: at the
/// start of a stream, or after a message, any token is a method (RFC 4475 §3.1.1.2
/// `intmeth.dat`).
fn looks_like_sip(line: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.starts_with(b"SIP/2.0 ") || line.ends_with(b" SIP/2.0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";
    const BYE: &[u8] = b"BYE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    const INVITE: &[u8] = b"INVITE sip:911@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    /// Feeds `chunks` and returns the pieces as (kind, bytes), joined where a run
    /// continues, plus how many runs started.
    fn pieces(chunks: &[&[u8]], limits: &Limits) -> (Vec<(&'static str, Vec<u8>)>, usize) {
        let mut framer = StreamFramer::default();
        let mut out: Vec<(&'static str, Vec<u8>)> = Vec::new();
        let mut runs = 0;
        for (i, chunk) in chunks.iter().enumerate() {
            framer.feed(chunk, i + 1 == chunks.len(), limits, |p| {
                let (kind, bytes, starts) = match p {
                    Piece::Message(m) => ("message", m, true),
                    Piece::KeepAlive(k) => ("keep-alive", k, false),
                    Piece::Unframed { bytes, starts, .. } => {
                        runs += usize::from(starts);
                        ("unframed", bytes, starts)
                    }
                };
                match out.last_mut() {
                    Some((last, acc)) if *last == kind && !starts => acc.extend_from_slice(bytes),
                    _ => out.push((kind, bytes.to_vec())),
                }
            });
        }
        (out, runs)
    }

    #[test]
    fn every_split_gives_the_same_messages() {
        let stream = [b"\r\n\r\n".as_slice(), OPTIONS, BYE, INVITE].concat();
        let whole = pieces(&[&stream], &Limits::DEFAULT);
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(pieces(&[a, b], &Limits::DEFAULT), whole, "cut {cut}");
        }
        assert_eq!(whole.0.len(), 4);
    }

    #[test]
    fn an_oversize_message_passes_as_it_comes_and_framing_resumes_after_it() {
        let limits = Limits::DEFAULT.with_max_message_bytes(64);
        let big = [
            b"INVITE sip:911@b SIP/2.0\r\nContent-Length: 100\r\n\r\n".as_slice(),
            &[b'x'; 100],
        ]
        .concat();
        let stream = [big.as_slice(), INVITE].concat();
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            let (got, runs) = pieces(&[a, b], &limits);
            let joined: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
            assert_eq!(joined, stream, "cut {cut}: every byte, in order");
            assert_eq!(got.last(), Some(&("message", INVITE.to_vec())), "cut {cut}");
            assert_eq!(runs, 1, "cut {cut}");
        }
    }

    #[test]
    fn garbage_and_unframeable_messages_pass_and_the_next_message_is_framed() {
        let no_length = b"INVITE sip:1@b SIP/2.0\r\nTo: <sip:1@b>\r\n\r\n".as_slice();
        let two_lengths = b"INVITE sip:1@b SIP/2.0\r\nContent-Length: 0\r\nl: 2\r\n\r\n";
        for bad in [
            b"\x16\x03\x01 not sip at all\r\nmore\r\n".as_slice(),
            no_length,
            two_lengths,
        ] {
            let stream = [bad, INVITE, BYE].concat();
            let (got, runs) = pieces(&[&stream], &Limits::DEFAULT);
            assert_eq!(
                got,
                vec![
                    ("unframed", bad.to_vec()),
                    ("message", INVITE.to_vec()),
                    ("message", BYE.to_vec())
                ],
                "{}",
                alloc::string::String::from_utf8_lossy(bad)
            );
            assert_eq!(runs, 1);
        }
    }

    #[test]
    fn a_body_shorter_than_its_content_length_says_resynchronises_on_the_next_message() {
        let short = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhello\r\n".as_slice();
        let stream = [short, INVITE].concat();
        let (got, _) = pieces(&[&stream], &Limits::DEFAULT);
        assert_eq!(got[0], ("message", short[..short.len() - 5].to_vec()));
        assert_eq!(got[1], ("unframed", b"llo\r\n".to_vec()));
        assert_eq!(got[2], ("message", INVITE.to_vec()));
    }

    #[test]
    fn an_endless_header_section_passes_at_the_limit_without_holding_bytes() {
        let mut limits = Limits::DEFAULT.with_max_message_bytes(4096);
        limits.max_header_bytes = 128;
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".as_slice();
        let mut chunks: Vec<&[u8]> = vec![b"INVITE sip:911@b SIP/2.0\r\n"];
        chunks.extend(core::iter::repeat_n(line, 6));
        chunks.push(INVITE);
        let mut framer = StreamFramer::default();
        let mut passed = 0;
        let mut messages = Vec::new();
        for chunk in &chunks {
            framer.feed(chunk, false, &limits, |p| match p {
                Piece::Unframed { bytes, .. } => passed += bytes.len(),
                Piece::Message(m) => messages.push(m.to_vec()),
                Piece::KeepAlive(_) => {}
            });
            assert!(framer.pending() <= 256, "bounded: {}", framer.pending());
        }
        assert_eq!(messages, vec![INVITE.to_vec()]);
        assert_eq!(passed, 26 + 6 * line.len());
    }

    #[test]
    fn end_of_stream_passes_an_incomplete_tail() {
        let (got, _) = pieces(&[&BYE[..12], &BYE[12..20]], &Limits::DEFAULT);
        assert_eq!(got, vec![("unframed", BYE[..20].to_vec())]);
    }

    /// Found by the `framer` fuzz target: while resynchronising, a line that only looks
    /// like SIP (`!odd SIP/2.0`) was skipped when the whole stream came in one read but
    /// framed as a message when a read ended inside it and it was kept as the tail.
    #[test]
    fn resynchronising_frames_the_same_messages_wherever_a_read_ends() {
        let stream = [
            b"\x16\x03 not sip\r\n!odd SIP/2.0\r\nContent-Length: 0\r\n\r\n".as_slice(),
            INVITE,
        ]
        .concat();
        let messages = |chunks: &[&[u8]]| -> Vec<Vec<u8>> {
            let (got, _) = pieces(chunks, &Limits::DEFAULT);
            got.into_iter()
                .filter(|(kind, _)| *kind == "message")
                .map(|(_, bytes)| bytes)
                .collect()
        };
        assert_eq!(messages(&[&stream]), vec![INVITE.to_vec()]);
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(messages(&[a, b]), vec![INVITE.to_vec()], "cut {cut}");
        }
    }

    /// Found by the `framer` fuzz target: a partial line longer than the header limit is
    /// passed at once, and the rest of that line, in the next read, was taken for a line of
    /// its own; `E x SIP/2.0` at the end of a long line then framed as a message, but only
    /// when a read ended just before it.
    #[test]
    fn the_rest_of_a_line_passed_for_its_length_is_never_a_start_line() {
        let limits = Limits {
            max_message_bytes: 64,
            max_header_bytes: 48,
            max_headers: 3,
            ..Limits::DEFAULT
        };
        let long = [b"INVITE sip:".as_slice(), &[b'a'; 60], b"E x SIP/2.0\r\n"].concat();
        let stream = [b"garbage\r\n".as_slice(), &long, b"l: 0\r\n\r\n"].concat();
        let messages = |chunks: &[&[u8]]| {
            let (got, _) = pieces(chunks, &limits);
            got.iter().filter(|(kind, _)| *kind == "message").count()
        };
        assert_eq!(messages(&[&stream]), 0);
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(messages(&[a, b]), 0, "cut {cut}");
        }
    }

    #[test]
    fn start_lines_are_told_from_header_lines() {
        assert!(is_start_line(b"INVITE sip:911@b SIP/2.0\r"));
        assert!(is_start_line(b"SIP/2.0 200 OK"));
        assert!(!is_start_line(b"Subject: x SIP/2.0"));
        assert!(!is_start_line(b"SIP/2.0 abc"));
        assert!(!is_start_line(b"INVITE SIP/2.0"));
    }
}
