//! Cutting one direction of a connection into SIP messages for Envoy, on the one framer
//! every host uses ([`e911_sip::StreamFramer`]).
//!
//! Envoy hands a network filter the whole buffered data on every call and lets it replace
//! the buffer only whole (DESIGN §5). So each call drains the buffer into here: complete
//! messages come out (decided, then forwarded), a partial message stays in [`Direction`]
//! until the rest arrives. What cannot be framed (a message over the size limit, bytes
//! that are not SIP) passes as received and framing resumes at the next message, so one
//! bad message on a long-lived trunk connection never leaves the 911 calls after it
//! undecided.

use e911_sip::{Limits, Piece, StreamFramer, Unframed};

/// What one call of [`Direction::feed`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fed {
    /// The bytes to put in Envoy's buffer (replacing what was there).
    pub out: Vec<u8>,
    /// Complete messages framed in this call.
    pub messages: usize,
    /// Runs of unframed bytes that started in this call, by why.
    pub unframed: Vec<Unframed>,
}

/// One direction of one connection.
#[derive(Debug, Default)]
pub struct Direction {
    framer: StreamFramer,
}

impl Direction {
    /// Bytes kept back (an incomplete message).
    pub fn pending(&self) -> usize {
        self.framer.pending()
    }

    /// Takes `data` (what arrived since the last call), frames complete messages out of
    /// the kept tail plus `data`, and passes each through `decide`, which returns the
    /// bytes to forward for it (`None`: as received). Keep-alive CRLFs (RFC 5626 §3.5.1)
    /// and unframed bytes pass as received. On `end_of_stream` an incomplete tail is
    /// forwarded as it is: nothing more can complete it.
    pub fn feed(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        mut decide: impl FnMut(&[u8]) -> Option<Vec<u8>>,
    ) -> Fed {
        let mut fed = Fed::default();
        self.framer
            .feed(data, end_of_stream, limits, |piece| match piece {
                Piece::Message(message) => {
                    match decide(message) {
                        Some(bytes) => fed.out.extend_from_slice(&bytes),
                        None => fed.out.extend_from_slice(message),
                    }
                    fed.messages += 1;
                }
                Piece::KeepAlive(bytes) => fed.out.extend_from_slice(bytes),
                Piece::Unframed { bytes, why, starts } => {
                    if starts {
                        fed.unframed.push(why);
                    }
                    fed.out.extend_from_slice(bytes);
                }
            });
        fed
    }
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
    fn an_oversize_message_passes_as_received_and_the_next_is_decided() {
        let limits = ENGINE_LIMITS.with_max_message_bytes(64);
        let head = b"INVITE sip:911@b SIP/2.0\r\nContent-Length: 100\r\n\r\n";
        let mut d = Direction::default();
        let fed = d.feed(head, false, &limits, upper);
        assert_eq!(
            fed.out, head,
            "forwarded as received, not decided, not held"
        );
        assert_eq!(fed.unframed, [Unframed::Oversize]);
        let body = [b'x'; 100];
        let fed = d.feed(&[body.as_slice(), OPTIONS].concat(), false, &limits, upper);
        assert_eq!(
            fed.out,
            [body.as_slice(), &OPTIONS.to_ascii_uppercase()].concat()
        );
        assert!(fed.unframed.is_empty(), "the same run");
        assert_eq!(fed.messages, 1);
    }

    #[test]
    fn an_endless_header_section_passes_at_the_limit() {
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
        assert!(d.pending() == 0);
        let mut sent = b"INVITE sip:911@b SIP/2.0\r\n".to_vec();
        for _ in 0..5 {
            sent.extend_from_slice(line);
        }
        assert_eq!(out, sent);
    }

    #[test]
    fn garbage_passes_and_the_message_after_it_is_decided() {
        let garbage = b"\x16\x03\x01 not sip at all\r\n\r\n";
        let mut d = Direction::default();
        let fed = d.feed(
            &[garbage.as_slice(), BYE].concat(),
            false,
            &ENGINE_LIMITS,
            upper,
        );
        assert_eq!(
            fed.out,
            [garbage.as_slice(), &BYE.to_ascii_uppercase()].concat()
        );
        assert_eq!(fed.unframed, [Unframed::Unframeable]);
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
