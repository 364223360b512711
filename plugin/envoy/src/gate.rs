//! One direction of a connection while a decision waits for an answer (etcd's, see
//! `crate::replicated`): the bytes that came before the waiting message, the message,
//! and everything after it, in order, out of Envoy's buffer until the answer comes.
//!
//! Envoy keeps a paused connection's data in its read buffer and hands the whole buffer
//! to the filter on every read, so the filter takes each arrival out of the buffer into
//! here. When the answer comes, what waited is decided in order; a later message that
//! needs an answer of its own stops the gate again.

use std::collections::VecDeque;

use crate::framer::Rest;

/// What waits, in order.
#[derive(Debug, PartialEq, Eq)]
enum Waiting {
    /// Bytes decided (or passed as received), to forward as they are.
    Ready(Vec<u8>),
    /// The place of the message whose decision waits.
    Held,
    /// A complete message still to be decided.
    Message(Vec<u8>),
}

/// What to forward for a message taken out of the gate.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<H> {
    /// The message as received.
    Same,
    /// These bytes in its place.
    Changed(Vec<u8>),
    /// Its decision waits too: `H` says for what.
    Hold(H),
}

/// One direction's waiting data, and the decision it waits for (`H`).
#[derive(Debug)]
pub struct Gate<H> {
    queue: VecDeque<Waiting>,
    hold: Option<H>,
    bytes: usize,
}

impl<H> Default for Gate<H> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            hold: None,
            bytes: 0,
        }
    }
}

impl<H> Gate<H> {
    /// The decision this direction waits for, if any.
    pub fn hold(&self) -> Option<&H> {
        self.hold.as_ref()
    }

    /// The decision this direction waits for, to change.
    pub fn hold_mut(&mut self) -> Option<&mut H> {
        self.hold.as_mut()
    }

    /// Bytes waiting (bounded by the caller: Envoy's flow control does not see them).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Starts waiting for `hold`, with `before` ready ahead of it and `after` (the
    /// pieces after the held message) behind it.
    pub fn stop(&mut self, before: Vec<u8>, hold: H, after: impl IntoIterator<Item = Rest>) {
        self.push(Waiting::Ready(before));
        self.push(Waiting::Held);
        self.hold = Some(hold);
        self.keep(Vec::new(), after);
    }

    /// Data that arrived while waiting: `before` (bytes ahead of any complete message)
    /// and the pieces framed after it.
    pub fn keep(&mut self, before: Vec<u8>, after: impl IntoIterator<Item = Rest>) {
        self.push(Waiting::Ready(before));
        for piece in after {
            self.push(match piece {
                Rest::Message(message) => Waiting::Message(message),
                Rest::Raw(bytes) => Waiting::Ready(bytes),
            });
        }
    }

    /// Takes the decision this direction waits for out, to settle it (then
    /// [`release`](Self::release)).
    pub fn take_hold(&mut self) -> Option<H> {
        self.hold.take()
    }

    /// The held decision is settled: `decided` goes in its place, and what follows is
    /// decided by `decide` in order until a message holds again. Returns every byte
    /// that can be forwarded now, or `None` while a new hold waits (the bytes before it
    /// wait with it).
    pub fn release(
        &mut self,
        decided: Vec<u8>,
        mut decide: impl FnMut(&[u8]) -> Next<H>,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(self.bytes);
        while let Some(waiting) = self.queue.pop_front() {
            match waiting {
                Waiting::Ready(bytes) => out.extend_from_slice(&bytes),
                Waiting::Held => out.extend_from_slice(&decided),
                Waiting::Message(message) => match decide(&message) {
                    Next::Same => out.extend_from_slice(&message),
                    Next::Changed(bytes) => out.extend_from_slice(&bytes),
                    Next::Hold(hold) => {
                        self.queue.push_front(Waiting::Held);
                        self.queue.push_front(Waiting::Ready(out));
                        self.hold = Some(hold);
                        self.bytes = self.queue.iter().map(size).sum();
                        return None;
                    }
                },
            }
        }
        self.bytes = 0;
        Some(out)
    }

    fn push(&mut self, waiting: Waiting) {
        if matches!(&waiting, Waiting::Ready(bytes) if bytes.is_empty()) {
            return;
        }
        self.bytes += size(&waiting);
        self.queue.push_back(waiting);
    }
}

fn size(waiting: &Waiting) -> usize {
    match waiting {
        Waiting::Ready(bytes) | Waiting::Message(bytes) => bytes.len(),
        Waiting::Held => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_everything_in_order_once_the_hold_is_settled() {
        let mut gate = Gate::default();
        gate.stop(
            b"before ".to_vec(),
            "h1",
            [Rest::Raw(b"\r\n".to_vec()), Rest::Message(b"m2 ".to_vec())],
        );
        gate.keep(b"".to_vec(), [Rest::Message(b"m3".to_vec())]);
        assert_eq!(gate.hold(), Some(&"h1"));
        assert_eq!(gate.bytes(), 7 + 2 + 3 + 2);
        assert_eq!(gate.take_hold(), Some("h1"));
        let out = gate.release(b"DECIDED ".to_vec(), |m| {
            if m == b"m2 " {
                Next::Changed(b"M2 ".to_vec())
            } else {
                Next::Same
            }
        });
        assert_eq!(out.as_deref(), Some(&b"before DECIDED \r\nM2 m3"[..]));
        assert_eq!(gate.hold(), None);
        assert_eq!(gate.bytes(), 0);
    }

    #[test]
    fn a_later_message_that_holds_stops_the_gate_again() {
        let mut gate = Gate::default();
        gate.stop(
            Vec::new(),
            1,
            [
                Rest::Message(b"a ".to_vec()),
                Rest::Message(b"b ".to_vec()),
                Rest::Message(b"c".to_vec()),
            ],
        );
        gate.take_hold();
        let out = gate.release(b"X ".to_vec(), |m| {
            if m == b"b " {
                Next::Hold(2)
            } else {
                Next::Same
            }
        });
        assert_eq!(out, None);
        assert_eq!(gate.take_hold(), Some(2));
        let out = gate.release(b"B ".to_vec(), |_| Next::Same);
        assert_eq!(out.as_deref(), Some(&b"X a B c"[..]));
    }
}
