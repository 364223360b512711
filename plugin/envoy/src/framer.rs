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

/// What the filter does with one framed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forward {
    /// Forward it as received.
    Same,
    /// Forward these bytes in its place.
    Changed(Vec<u8>),
    /// Stop here: this message and everything after it wait in [`Fed::rest`] (its
    /// decision needs an answer from elsewhere first, see `crate::replicated`).
    Stop,
}

impl From<Option<Vec<u8>>> for Forward {
    fn from(bytes: Option<Vec<u8>>) -> Self {
        bytes.map_or(Self::Same, Self::Changed)
    }
}

/// A piece kept back after a [`Forward::Stop`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rest {
    /// A complete message, still to be decided.
    Message(Vec<u8>),
    /// Bytes that pass as received (keep-alives, unframed bytes).
    Raw(Vec<u8>),
}

/// What one call of [`Direction::feed`] produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fed {
    /// The bytes to put in Envoy's buffer in place of what was there, or `None` when
    /// that is the data exactly as it arrived (nothing kept back, nothing changed): then
    /// the buffer is left alone and nothing was copied.
    pub replacement: Option<Vec<u8>>,
    /// Complete messages framed in this call.
    pub messages: usize,
    /// Runs of unframed bytes that started in this call, by why.
    pub unframed: Vec<Unframed>,
    /// After a [`Forward::Stop`]: the message it stopped at and every piece after it.
    /// `replacement` then holds what came before (possibly nothing).
    pub rest: Vec<Rest>,
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
    /// the kept tail plus `data`, and passes each through `decide`, which says what to
    /// forward for it ([`Forward`]; `Option<Vec<u8>>` reads as changed bytes or the
    /// message as received). Keep-alive CRLFs (RFC 5626 §3.5.1) and unframed bytes pass
    /// as received. On `end_of_stream` an incomplete tail is forwarded as it is: nothing
    /// more can complete it. After a [`Forward::Stop`], `decide` is not called again in
    /// this call: the rest waits in [`Fed::rest`].
    pub fn feed<F: Into<Forward>>(
        &mut self,
        data: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        mut decide: impl FnMut(&[u8]) -> F,
    ) -> Fed {
        let mut fed = Fed::default();
        let mut out = Forwarded::new(data);
        self.framer
            .feed(data, end_of_stream, limits, |piece| match piece {
                Piece::Message(message) => {
                    fed.messages += 1;
                    if !fed.rest.is_empty() {
                        fed.rest.push(Rest::Message(message.to_vec()));
                        return;
                    }
                    match decide(message).into() {
                        Forward::Same => out.same(message),
                        Forward::Changed(bytes) => out.changed(&bytes),
                        Forward::Stop => fed.rest.push(Rest::Message(message.to_vec())),
                    }
                }
                Piece::KeepAlive(bytes) => fed.raw(&mut out, bytes),
                Piece::Unframed { bytes, why, starts } => {
                    if starts {
                        fed.unframed.push(why);
                    }
                    fed.raw(&mut out, bytes);
                }
            });
        fed.replacement = if fed.rest.is_empty() {
            out.finish()
        } else {
            // The buffer is replaced by what came before the stop, even when that is
            // the data as it arrived: the rest must leave Envoy's buffer.
            Some(out.take())
        };
        fed
    }
}

impl Fed {
    /// Bytes that pass as received: forwarded, or kept in order after a stop.
    fn raw(&mut self, out: &mut Forwarded<'_>, bytes: &[u8]) {
        if self.rest.is_empty() {
            out.same(bytes);
        } else {
            self.rest.push(Rest::Raw(bytes.to_vec()));
        }
    }
}

/// The bytes one call forwards, copied only from the first piece that is not the next
/// stretch of the data as it arrived: a message the engine changed, or a piece that
/// starts with bytes kept from an earlier call. Most calls forward whole messages
/// unchanged, and then nothing is copied at all.
struct Forwarded<'d> {
    data: &'d [u8],
    /// How much of `data` has been forwarded as it is, while no copy was needed.
    same: usize,
    copy: Option<Vec<u8>>,
}

impl<'d> Forwarded<'d> {
    fn new(data: &'d [u8]) -> Self {
        Self {
            data,
            same: 0,
            copy: None,
        }
    }

    /// A piece forwarded as the framer handed it on.
    fn same(&mut self, bytes: &[u8]) {
        if self.copy.is_none() {
            let next = self.data.get(self.same..).unwrap_or_default();
            // The framer hands on slices of the data itself when it kept nothing back:
            // the same address is the same bytes.
            if core::ptr::eq(next.as_ptr(), bytes.as_ptr()) && bytes.len() <= next.len() {
                self.same += bytes.len();
                return;
            }
        }
        self.copy().extend_from_slice(bytes);
    }

    /// A message forwarded as the engine rewrote it.
    fn changed(&mut self, bytes: &[u8]) {
        self.copy().extend_from_slice(bytes);
    }

    fn copy(&mut self) -> &mut Vec<u8> {
        let (data, same) = (self.data, self.same);
        self.copy
            .get_or_insert_with(|| data.get(..same).unwrap_or_default().to_vec())
    }

    /// The replacement for Envoy's buffer, if it needs one.
    fn finish(self) -> Option<Vec<u8>> {
        if self.copy.is_none() && self.same == self.data.len() {
            return None;
        }
        Some(self.take())
    }

    /// What was forwarded, as bytes.
    fn take(mut self) -> Vec<u8> {
        core::mem::take(self.copy())
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

    /// What one call forwarded, whole.
    struct Seen {
        out: Vec<u8>,
        messages: usize,
        unframed: Vec<Unframed>,
    }

    fn feed<F: Into<Forward>>(
        d: &mut Direction,
        data: &[u8],
        end_of_stream: bool,
        limits: &Limits,
        decide: impl FnMut(&[u8]) -> F,
    ) -> Seen {
        let fed = d.feed(data, end_of_stream, limits, decide);
        Seen {
            out: fed.replacement.unwrap_or_else(|| data.to_vec()),
            messages: fed.messages,
            unframed: fed.unframed,
        }
    }

    #[test]
    fn copies_nothing_when_whole_messages_pass_unchanged() {
        let data = [OPTIONS, b"\r\n", BYE].concat();
        let mut d = Direction::default();
        let fed = d.feed(&data, false, &ENGINE_LIMITS, |_| None::<Vec<u8>>);
        assert_eq!(fed.replacement, None);
        assert_eq!(fed.messages, 2);
        // A change, a kept tail, or bytes kept from before all need the buffer replaced.
        let changed = d.feed(&data, false, &ENGINE_LIMITS, |m| {
            m.starts_with(b"BYE").then(|| b"X".to_vec())
        });
        assert_eq!(changed.replacement, Some([OPTIONS, b"\r\n", b"X"].concat()));
        let kept = d.feed(&data[..data.len() - 3], false, &ENGINE_LIMITS, |_| {
            None::<Vec<u8>>
        });
        assert_eq!(kept.replacement, Some([OPTIONS, b"\r\n"].concat()));
        let rest = d.feed(&data[data.len() - 3..], false, &ENGINE_LIMITS, |_| {
            None::<Vec<u8>>
        });
        assert_eq!(rest.replacement, Some(BYE.to_vec()));
    }

    #[test]
    fn forwards_a_message_split_at_every_byte_once_complete() {
        for cut in 1..OPTIONS.len() {
            let mut d = Direction::default();
            let first = feed(&mut d, &OPTIONS[..cut], false, &ENGINE_LIMITS, upper);
            assert!(first.out.is_empty(), "cut {cut}: nothing before the end");
            assert_eq!(d.pending(), cut);
            let second = feed(&mut d, &OPTIONS[cut..], false, &ENGINE_LIMITS, upper);
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
        let fed = feed(&mut d, &data, false, &ENGINE_LIMITS, |m| {
            seen.push(m.to_vec());
            Forward::Same
        });
        assert_eq!(seen, vec![OPTIONS.to_vec(), BYE.to_vec(), OPTIONS.to_vec()]);
        assert_eq!(fed.out, [OPTIONS, BYE, OPTIONS].concat());
        assert_eq!(fed.messages, 3);
        assert_eq!(d.pending(), 10);
        let fed = feed(&mut d, &BYE[10..], false, &ENGINE_LIMITS, |_| Forward::Same);
        assert_eq!(fed.out, BYE);
    }

    #[test]
    fn passes_keep_alives_as_received() {
        let data = [b"\r\n\r\n".as_slice(), BYE, b"\r\n"].concat();
        let mut d = Direction::default();
        let fed = feed(&mut d, &data, false, &ENGINE_LIMITS, upper);
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
        let fed = feed(&mut d, head, false, &limits, upper);
        assert_eq!(
            fed.out, head,
            "forwarded as received, not decided, not held"
        );
        assert_eq!(fed.unframed, [Unframed::Oversize]);
        let body = [b'x'; 100];
        let fed = feed(
            &mut d,
            &[body.as_slice(), OPTIONS].concat(),
            false,
            &limits,
            upper,
        );
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
        let mut out = feed(
            &mut d,
            b"INVITE sip:911@b SIP/2.0\r\n",
            false,
            &limits,
            upper,
        )
        .out;
        for _ in 0..5 {
            out.extend(feed(&mut d, line, false, &limits, upper).out);
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
        let fed = feed(
            &mut d,
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
            feed(&mut d, &BYE[..12], false, &ENGINE_LIMITS, upper)
                .out
                .is_empty()
        );
        let fed = feed(&mut d, &BYE[12..20], true, &ENGINE_LIMITS, upper);
        assert_eq!(fed.out, &BYE[..20]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn a_stop_keeps_the_message_and_everything_after_it_in_order() {
        let data = [OPTIONS, BYE, b"\r\n", OPTIONS, &BYE[..7]].concat();
        let mut d = Direction::default();
        let mut decided = 0;
        let fed = d.feed(&data, false, &ENGINE_LIMITS, |m| {
            decided += 1;
            if m.starts_with(b"BYE") {
                Forward::Stop
            } else {
                Forward::Same
            }
        });
        assert_eq!(decided, 2, "nothing is decided after the stop");
        assert_eq!(fed.replacement, Some(OPTIONS.to_vec()));
        assert_eq!(
            fed.rest,
            [
                Rest::Message(BYE.to_vec()),
                Rest::Raw(b"\r\n".to_vec()),
                Rest::Message(OPTIONS.to_vec()),
            ]
        );
        assert_eq!(d.pending(), 7, "an incomplete tail stays in the framer");
        // A stop at the first message replaces the buffer with nothing.
        let mut d = Direction::default();
        let fed = d.feed(BYE, false, &ENGINE_LIMITS, |_| Forward::Stop);
        assert_eq!(fed.replacement, Some(Vec::new()));
        assert_eq!(fed.rest, [Rest::Message(BYE.to_vec())]);
    }
}
