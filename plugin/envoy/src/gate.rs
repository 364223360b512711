//! One direction of a connection while decisions wait for answers (etcd's, see
//! `crate::replicated`): every byte that arrived since the first waiting message, in
//! order, out of Envoy's buffer until what is ahead of it is settled.
//!
//! Envoy keeps a paused connection's data in its read buffer and hands the whole buffer
//! to the filter on every read, so the filter takes each arrival out of the buffer into
//! here. Messages are still decided as they arrive: one that needs an answer of its own
//! waits beside the first (their requests overlap, so a trunk connection carrying many
//! emergency calls is not limited to one round trip at a time), and everything is
//! forwarded in the order it arrived, as far as the first decision still waiting.

use std::collections::{BTreeMap, VecDeque};

use crate::framer::Rest;

/// Identifies one waiting decision within its gate.
pub type HoldId = u64;

/// What waits, in order.
#[derive(Debug, PartialEq, Eq)]
enum Waiting {
    /// Bytes decided (or passed as received), to forward as they are.
    Ready(Vec<u8>),
    /// The place of a message whose decision waits.
    Held(HoldId),
    /// A complete message not decided yet.
    Message(Vec<u8>),
}

/// What to forward for a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<H> {
    /// The message as received.
    Same,
    /// These bytes in its place.
    Changed(Vec<u8>),
    /// Its decision waits: `H` says for what.
    Hold(H),
}

/// One direction's waiting data, and the decisions it waits for (`H`).
#[derive(Debug)]
pub struct Gate<H> {
    queue: VecDeque<Waiting>,
    holds: BTreeMap<HoldId, H>,
    next_id: HoldId,
    bytes: usize,
}

impl<H> Default for Gate<H> {
    fn default() -> Self {
        Self {
            queue: VecDeque::new(),
            holds: BTreeMap::new(),
            next_id: 0,
            bytes: 0,
        }
    }
}

impl<H> Gate<H> {
    /// Whether any decision waits (then every new byte goes through the gate).
    pub fn is_waiting(&self) -> bool {
        !self.holds.is_empty()
    }

    /// The waiting decision `id`, to change.
    pub fn hold_mut(&mut self, id: HoldId) -> Option<&mut H> {
        self.holds.get_mut(&id)
    }

    /// The first waiting decision `is` picks out.
    pub fn find(&self, is: impl Fn(&H) -> bool) -> Option<HoldId> {
        self.holds
            .iter()
            .find_map(|(id, hold)| is(hold).then_some(*id))
    }

    /// Every waiting decision, in the order they were made.
    pub fn holds(&self) -> impl Iterator<Item = (HoldId, &H)> {
        self.holds.iter().map(|(id, hold)| (*id, hold))
    }

    /// Every waiting decision's id.
    pub fn ids(&self) -> Vec<HoldId> {
        self.holds.keys().copied().collect()
    }

    /// Bytes waiting (bounded by the caller: Envoy's flow control does not see them).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A message whose decision waits for `hold`, with `before` ready ahead of it.
    pub fn hold(&mut self, before: Vec<u8>, hold: H) -> HoldId {
        self.push(Waiting::Ready(before));
        let id = self.next_id;
        self.next_id += 1;
        self.holds.insert(id, hold);
        self.push(Waiting::Held(id));
        id
    }

    /// Data that arrived: `before` (bytes ahead of any complete message) and the pieces
    /// framed after it, not decided yet (see [`decide`](Self::decide)).
    pub fn keep(&mut self, before: Vec<u8>, after: impl IntoIterator<Item = Rest>) {
        self.push(Waiting::Ready(before));
        for piece in after {
            self.push(match piece {
                Rest::Message(message) => Waiting::Message(message),
                Rest::Raw(bytes) => Waiting::Ready(bytes),
            });
        }
    }

    /// Decides every message not decided yet, in order; returns the ids of the
    /// decisions that now wait.
    pub fn decide(&mut self, mut decide: impl FnMut(&[u8]) -> Next<H>) -> Vec<HoldId> {
        let mut held = Vec::new();
        for waiting in &mut self.queue {
            let Waiting::Message(message) = waiting else {
                continue;
            };
            *waiting = match decide(message) {
                Next::Same => Waiting::Ready(core::mem::take(message)),
                Next::Changed(bytes) => {
                    self.bytes = self.bytes - message.len() + bytes.len();
                    Waiting::Ready(bytes)
                }
                Next::Hold(hold) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.holds.insert(id, hold);
                    held.push(id);
                    // The message's bytes now live in its hold.
                    self.bytes -= message.len();
                    Waiting::Held(id)
                }
            };
        }
        held
    }

    /// Takes waiting decision `id` out, to settle it; then [`fill`](Self::fill) its
    /// place.
    pub fn take(&mut self, id: HoldId) -> Option<H> {
        self.holds.remove(&id)
    }

    /// The bytes to forward in place of settled decision `id`.
    pub fn fill(&mut self, id: HoldId, decided: Vec<u8>) {
        let place = self
            .queue
            .iter_mut()
            .find(|w| matches!(w, Waiting::Held(held) if *held == id));
        if let Some(place) = place {
            self.bytes += decided.len();
            *place = Waiting::Ready(decided);
        }
    }

    /// The bytes that can be forwarded now: everything up to the first decision still
    /// waiting (or a message not decided yet).
    pub fn ready(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(Waiting::Ready(bytes)) = self.queue.front() {
            out.extend_from_slice(bytes);
            self.bytes -= bytes.len();
            self.queue.pop_front();
        }
        out
    }

    fn push(&mut self, waiting: Waiting) {
        match &waiting {
            Waiting::Ready(bytes) if bytes.is_empty() => return,
            Waiting::Ready(bytes) | Waiting::Message(bytes) => self.bytes += bytes.len(),
            Waiting::Held(_) => {}
        }
        self.queue.push_back(waiting);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_but(
        held: &'static [u8],
        hold: &'static str,
    ) -> impl FnMut(&[u8]) -> Next<&'static str> {
        move |m| {
            if m == held {
                Next::Hold(hold)
            } else if m.starts_with(b"x") {
                Next::Changed(m.to_ascii_uppercase())
            } else {
                Next::Same
            }
        }
    }

    #[test]
    fn forwards_in_order_up_to_the_first_decision_still_waiting() {
        let mut gate = Gate::default();
        let first = gate.hold(b"before ".to_vec(), "h1");
        gate.keep(
            Vec::new(),
            [
                Rest::Raw(b"\r\n".to_vec()),
                Rest::Message(b"m2 ".to_vec()),
                Rest::Message(b"x3 ".to_vec()),
            ],
        );
        assert_eq!(gate.bytes(), 7 + 2 + 3 + 3);
        assert!(gate.decide(same_but(b"-", "-")).is_empty());
        assert!(gate.is_waiting());
        assert_eq!(
            gate.ready(),
            b"before ".to_vec(),
            "what is ahead of the hold"
        );
        assert_eq!(gate.take(first), Some("h1"));
        gate.fill(first, b"DECIDED ".to_vec());
        assert!(!gate.is_waiting());
        assert_eq!(gate.ready(), b"DECIDED \r\nm2 X3 ".to_vec());
        assert_eq!(gate.bytes(), 0);
    }

    #[test]
    fn later_decisions_wait_beside_the_first_and_settle_in_any_order() {
        let mut gate = Gate::default();
        let first = gate.hold(Vec::new(), "h1");
        gate.keep(
            Vec::new(),
            [
                Rest::Message(b"a ".to_vec()),
                Rest::Message(b"b ".to_vec()),
                Rest::Message(b"c".to_vec()),
            ],
        );
        let held = gate.decide(same_but(b"b ", "h2"));
        assert_eq!(held.len(), 1);
        let second = held[0];
        assert_eq!(gate.find(|h| *h == "h2"), Some(second));
        // The second settles first: nothing moves past the first.
        gate.take(second);
        gate.fill(second, b"B ".to_vec());
        assert_eq!(gate.ready(), b"".to_vec());
        gate.take(first);
        gate.fill(first, b"X ".to_vec());
        assert_eq!(gate.ready(), b"X a B c".to_vec());
        assert!(!gate.is_waiting());
    }

    #[test]
    fn bytes_ahead_of_a_later_hold_go_once_the_first_is_settled() {
        let mut gate = Gate::default();
        let first = gate.hold(Vec::new(), "h1");
        gate.keep(
            Vec::new(),
            [Rest::Message(b"a ".to_vec()), Rest::Message(b"b".to_vec())],
        );
        let second = gate.decide(same_but(b"b", "h2"))[0];
        gate.take(first);
        gate.fill(first, b"X ".to_vec());
        assert_eq!(gate.ready(), b"X a ".to_vec());
        assert!(gate.is_waiting());
        assert_eq!(gate.ids(), vec![second]);
    }
}
