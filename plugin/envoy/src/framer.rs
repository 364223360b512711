//! Cutting one direction of a connection into SIP messages, Envoy-agnostic.
//!
//! Envoy hands a network filter the whole buffered data on every call and lets it replace
//! the buffer only whole (DESIGN §5). So each call drains the buffer into here: complete
//! messages come out (decided, then forwarded), a partial message stays in [`Direction`]
//! until the rest arrives. Framing is `e911_sip::frame` (RFC 3261 §18.3: Content-Length
//! delimits messages on a stream).
//!
//! A stream that cannot be framed (a message over the size limit, or bytes that are not
//! SIP) cannot be resynchronised, so the direction turns raw: from then on its bytes pass
//! as received. Nothing is held back, so the connection never stalls.

use e911_sip::{Framed, Limits, ParseErrorKind, frame};

/// Why a direction stopped framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawReason {
    /// A header section or message larger than the configured maximum.
    Oversize,
    /// Bytes that do not frame as SIP (no usable Content-Length, garbage).
    Unframeable,
}

/// What one call of [`Direction::feed`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fed {
    /// The bytes to put in Envoy's buffer (replacing what was there).
    pub out: Vec<u8>,
    /// Complete messages framed in this call.
    pub messages: usize,
    /// Set when this call switched the direction to raw pass-through.
    pub went_raw: Option<RawReason>,
}

/// One direction of one connection: the partial tail kept between calls.
#[derive(Debug, Default)]
pub struct Direction {
    tail: Vec<u8>,
    raw: bool,
}

impl Direction {
    /// Whether this direction passes bytes through without framing.
    pub fn is_raw(&self) -> bool {
        self.raw
    }

    /// Bytes kept back (an incomplete message).
    pub fn pending(&self) -> usize {
        self.tail.len()
    }

    /// Takes `data` (what arrived since the last call), frames complete messages out of
    /// the kept tail plus `data`, and passes each through `decide`, which returns the
    /// bytes to forward for it (`None`: as received). Keep-alive CRLFs (RFC 5626 §3.5.1)
    /// pass as received. On `end_of_stream` an incomplete tail is forwarded as it is:
    /// nothing more can complete it, and dropping bytes would change the stream.
    pub fn feed(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        mut decide: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    ) -> Fed {
        let mut fed = Fed::default();
        if self.raw {
            fed.out = core::mem::take(&mut self.tail);
            fed.out.extend_from_slice(data);
            return fed;
        }
        let mut buf = core::mem::take(&mut self.tail);
        buf.extend_from_slice(data);
        let mut pos = 0;
        while let Some(rest) = buf.get(pos..).filter(|r| !r.is_empty()) {
            let framed = if first_line_is_not_sip(rest, limits) {
                Err(RawReason::Unframeable)
            } else {
                match frame(rest, limits) {
                    Framed::Invalid(err) => Err(match err.kind {
                        ParseErrorKind::TooLarge | ParseErrorKind::HeaderSectionTooLarge => {
                            RawReason::Oversize
                        }
                        _ => RawReason::Unframeable,
                    }),
                    framed => Ok(framed),
                }
            };
            let step = match framed {
                Ok(Framed::Message { skip, len }) => {
                    // frame() promises both parts lie inside `rest`; should they not,
                    // stop framing rather than guess.
                    match (rest.get(..skip), rest.get(skip..skip + len)) {
                        (Some(alive), Some(message)) => {
                            fed.out.extend_from_slice(alive);
                            match decide(message) {
                                Some(bytes) => fed.out.extend_from_slice(&bytes),
                                None => fed.out.extend_from_slice(message),
                            }
                            fed.messages += 1;
                            Ok(skip + len)
                        }
                        _ => Err(RawReason::Unframeable),
                    }
                }
                Ok(Framed::KeepAlive { len }) => match rest.get(..len) {
                    Some(alive) if len > 0 => {
                        fed.out.extend_from_slice(alive);
                        Ok(len)
                    }
                    _ => Err(RawReason::Unframeable),
                },
                Ok(Framed::NeedMore) => break,
                Ok(Framed::Invalid(_)) => Err(RawReason::Unframeable),
                Err(reason) => Err(reason),
            };
            match step {
                Ok(used) => pos += used,
                Err(reason) => {
                    self.raw = true;
                    fed.went_raw = Some(reason);
                    fed.out.extend_from_slice(rest);
                    pos = buf.len();
                    break;
                }
            }
        }
        match buf.get(pos..) {
            Some(rest) if !rest.is_empty() => {
                if end_of_stream {
                    fed.out.extend_from_slice(rest);
                } else {
                    self.tail = rest.to_vec();
                }
            }
            _ => {}
        }
        fed
    }
}

/// Whether the first line of `buf` is complete and is no SIP start line (RFC 3261 §7.1:
/// a request line ends in `SIP/2.0`, a status line starts with it). Framing alone would
/// wait for a blank line up to the header-size limit; a connection carrying something
/// else turns raw at its first line instead of stalling.
fn first_line_is_not_sip(buf: &[u8], limits: &Limits) -> bool {
    let start = e911_sip::keep_alive_len(buf, limits);
    let Some(rest) = buf.get(start..) else {
        return false;
    };
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let line = rest.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    !(line.starts_with(b"SIP/2.0 ") || line.ends_with(b" SIP/2.0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use e911_engine::ENGINE_LIMITS;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";
    const BYE: &[u8] = b"BYE sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";

    fn upper(m: &[u8]) -> Option<Vec<u8>> {
        Some(m.to_ascii_uppercase())
    }

    #[test]
    fn forwards_a_message_split_at_every_byte_once_complete() {
        for cut in 1..OPTIONS.len() {
            let mut d = Direction::default();
            let first = d.feed(&OPTIONS[..cut], false, &ENGINE_LIMITS, upper);
            assert!(first.out.is_empty(), "cut {cut}: nothing before the end");
            assert_eq!(d.pending(), cut);
            let second = d.feed(&OPTIONS[cut..], false, &ENGINE_LIMITS, upper);
            assert_eq!(second.out, OPTIONS.to_ascii_uppercase(), "cut {cut}");
            assert_eq!(second.messages, 1);
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn decides_each_of_several_messages_in_one_segment_and_keeps_the_tail() {
        let mut data = [OPTIONS, BYE, OPTIONS].concat();
        data.extend_from_slice(&BYE[..10]);
        let mut seen = Vec::new();
        let mut d = Direction::default();
        let fed = d.feed(&data, false, &ENGINE_LIMITS, |m| {
            seen.push(m.to_vec());
            None
        });
        assert_eq!(seen, vec![OPTIONS.to_vec(), BYE.to_vec(), OPTIONS.to_vec()]);
        assert_eq!(fed.out, [OPTIONS, BYE, OPTIONS].concat());
        assert_eq!(fed.messages, 3);
        assert_eq!(d.pending(), 10);
        let fed = d.feed(&BYE[10..], false, &ENGINE_LIMITS, |_| None);
        assert_eq!(fed.out, BYE);
    }

    #[test]
    fn passes_keep_alives_as_received() {
        let data = [b"\r\n\r\n".as_slice(), BYE, b"\r\n"].concat();
        let mut d = Direction::default();
        let fed = d.feed(&data, false, &ENGINE_LIMITS, upper);
        assert_eq!(
            fed.out,
            [b"\r\n\r\n".as_slice(), &BYE.to_ascii_uppercase(), b"\r\n"].concat()
        );
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn an_oversize_message_turns_the_direction_raw_without_holding_bytes() {
        let limits = ENGINE_LIMITS.with_max_message_bytes(64);
        let big = b"INVITE sip:911@b SIP/2.0\r\nContent-Length: 500\r\n\r\nxxxx";
        let mut d = Direction::default();
        let fed = d.feed(big, false, &limits, upper);
        assert_eq!(fed.out, big, "forwarded as received, not decided");
        assert_eq!(fed.went_raw, Some(RawReason::Oversize));
        assert!(d.is_raw());
        let fed = d.feed(OPTIONS, false, &limits, upper);
        assert_eq!(fed.out, OPTIONS, "raw from then on");
        assert_eq!(fed.went_raw, None);
    }

    #[test]
    fn an_endless_header_section_goes_raw_at_the_limit() {
        let mut limits = ENGINE_LIMITS.with_max_message_bytes(4096);
        limits.max_header_bytes = 128;
        let mut d = Direction::default();
        let line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut out = d
            .feed(b"INVITE sip:911@b SIP/2.0\r\n", false, &limits, upper)
            .out;
        for _ in 0..5 {
            out.extend(d.feed(line, false, &limits, upper).out);
        }
        assert!(d.is_raw());
        assert!(d.pending() == 0);
        let mut sent = b"INVITE sip:911@b SIP/2.0\r\n".to_vec();
        for _ in 0..5 {
            sent.extend_from_slice(line);
        }
        assert_eq!(out, sent);
    }

    #[test]
    fn garbage_turns_the_direction_raw() {
        let garbage = b"\x16\x03\x01 not sip at all\r\n\r\n";
        let mut d = Direction::default();
        let fed = d.feed(garbage, false, &ENGINE_LIMITS, upper);
        assert_eq!(fed.out, garbage);
        assert_eq!(fed.went_raw, Some(RawReason::Unframeable));
    }

    #[test]
    fn end_of_stream_forwards_an_incomplete_tail() {
        let mut d = Direction::default();
        assert!(
            d.feed(&BYE[..12], false, &ENGINE_LIMITS, upper)
                .out
                .is_empty()
        );
        let fed = d.feed(&BYE[12..20], true, &ENGINE_LIMITS, upper);
        assert_eq!(fed.out, &BYE[..20]);
        assert_eq!(d.pending(), 0);
    }
}
