//! Failover of an emergency INVITE across trunks (DESIGN §2.6): the route's trunks in
//! order, then the ECRC route's, as the verdict lists them ([`e911_engine::Attempt`]).
//!
//! For these INVITEs the proxy is transaction-stateful (RFC 3261 §16): each trunk tried
//! is a client transaction of its own with its own branch ([`super::hop::attempt_branch`]).
//! A trunk has failed when it answers 408, 5xx or 6xx, when the message cannot be sent to
//! it, or when it sends no provisional response in time. Then the next trunk gets the
//! same call (the bytes the engine rendered for it: same PIDF-LO, same ELIN). A failed
//! trunk's final response is acknowledged here (§17.1.1.3) and never reaches the caller,
//! whose own ACK for it is absorbed; a CANCEL is answered here (§16.10) and follows the
//! trunk currently trying.
//!
//! A `424 Bad Location Information` (RFC 6442 §4.3, <https://www.rfc-editor.org/rfc/rfc6442#section-4.3>)
//! is not a trunk failure but the provider refusing the location we sent (malformed, not
//! good enough for its purpose, or not dereferenceable; §4.4's Geolocation-Error may say
//! which). Another trunk of the same route would get the same PIDF-LO and refuse it too, so the
//! call skips the rest of its route and goes to the first trunk of the ECRC route (DESIGN
//! §1: the ECRC is where a person asks a caller with no usable location). A call with no
//! ECRC route to go to goes on to its route's next trunk like any failed one (a trunk of
//! another provider may take the location; at worst the caller hears the last trunk's
//! 424, as it would at once), and a call already on the ECRC route gets the 424 relayed.
//!
//! [`Failover`] holds the state and decides; `net.rs` sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use e911_engine::RouteKind;

use super::hop::Proto;
use super::net::Origin;
use super::route::Upstream;

/// The route kind of the ECRC route's trunks (`e911_engine::Attempt::kind`).
pub const ECRC: RouteKind = RouteKind::Ecrc;

/// RFC 6442 §4.3: the provider could not use the location it was sent.
pub const BAD_LOCATION: u16 = 424;

/// One trunk to try: its id, its route and the route's kind, where it is, and the request
/// for it as the engine rendered it (before our Via).
#[derive(Debug, Clone)]
pub struct Leg {
    /// The trunk's id.
    pub trunk: String,
    /// The id of the route it belongs to.
    pub route: String,
    /// That route's kind ([`ECRC`] for the ECRC route's trunks).
    pub kind: RouteKind,
    /// Its upstream.
    pub upstream: Upstream,
    /// The request for it.
    pub message: Arc<Vec<u8>>,
}

/// What one attempt was sent: where, over which transport, and the bytes (our Via
/// included).
type Sent = (Upstream, Proto, Arc<Vec<u8>>);

/// Where the transaction stands on the trunk now trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Sent; nothing heard yet.
    Trying,
    /// A provisional response came: the trunk has the call.
    Proceeding,
    /// A 2xx came: the call is answered.
    Answered,
    /// The caller cancelled; no further trunk is tried.
    Cancelled,
    /// A final response went to the caller.
    Over,
}

/// What to do with a response to one of the attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Relay it to the caller.
    Relay,
    /// Keep it from the caller (acknowledging it when it is a final response).
    Absorb,
    /// Acknowledge it and send the call to the next trunk; `why` is for the audit.
    Next {
        /// Why the trunk is left.
        why: String,
    },
    /// A provisional response came after the caller cancelled: send the CANCEL now
    /// (§9.1: not before a provisional response) and relay the response.
    CancelNow,
}

/// The failover state of one emergency INVITE.
#[derive(Debug)]
pub struct Failover {
    /// The Call-ID, for the audit.
    pub call_id: String,
    /// Where the INVITE came from: replies of our own go there.
    pub caller: Origin,
    /// The caller's address, for the Via we stamp.
    pub source: SocketAddr,
    /// The transport it came on.
    pub proto: Proto,
    /// The INVITE as received, for replies of our own.
    pub received: Arc<Vec<u8>>,
    legs: Vec<Leg>,
    /// What was sent to each trunk tried so far (our Via included), for ACK and CANCEL,
    /// by attempt number: `None` for a trunk skipped after a 424.
    sent: Vec<Option<Sent>>,
    current: usize,
    /// Where [`Failover::advance`] goes next when not to the next leg (after a 424).
    skip_to: Option<usize>,
    since: Instant,
    phase: Phase,
    created: Instant,
}

impl Failover {
    /// A new transaction whose first trunk is `legs[0]`.
    pub fn new(
        call_id: String,
        caller: Origin,
        source: SocketAddr,
        proto: Proto,
        received: Arc<Vec<u8>>,
        legs: Vec<Leg>,
    ) -> Self {
        Self {
            call_id,
            caller,
            source,
            proto,
            received,
            legs,
            sent: Vec::new(),
            current: 0,
            skip_to: None,
            since: Instant::now(),
            phase: Phase::Trying,
            created: Instant::now(),
        }
    }

    /// The trunk now trying and its number.
    pub fn current(&self) -> Option<(usize, &Leg)> {
        self.legs.get(self.current).map(|leg| (self.current, leg))
    }

    /// Records what was sent to the trunk now trying.
    pub fn sent(&mut self, upstream: Upstream, leg: Proto, bytes: Arc<Vec<u8>>) {
        self.sent.truncate(self.current);
        self.sent.resize(self.current, None);
        self.sent.push(Some((upstream, leg, bytes)));
        self.since = Instant::now();
    }

    /// What was sent to attempt `n`.
    pub fn sent_to(&self, n: usize) -> Option<&Sent> {
        self.sent.get(n).and_then(Option::as_ref)
    }

    /// Moves on to the next trunk; `None` when there is none, or when the transaction is
    /// no longer trying one (answered, cancelled, over).
    pub fn advance(&mut self) -> Option<(usize, &Leg)> {
        let trying = matches!(self.phase, Phase::Trying | Phase::Proceeding);
        let next = self.skip_to.take().unwrap_or(self.current + 1);
        if !trying || next >= self.legs.len() {
            return None;
        }
        self.current = next;
        self.phase = Phase::Trying;
        self.since = Instant::now();
        self.current()
    }

    /// Decides what a response with `status` to attempt `n`'s INVITE means.
    pub fn on_response(&mut self, n: usize, status: u16) -> Step {
        if n != self.current {
            // A trunk given up on answers late: an answer is still the call (the caller
            // sees a second dialog, as with forking); anything else stays here.
            return if (200..300).contains(&status) {
                Step::Relay
            } else {
                Step::Absorb
            };
        }
        match (status, self.phase) {
            (100..=199, Phase::Cancelled) => Step::CancelNow,
            (100..=199, _) => {
                if self.phase == Phase::Trying {
                    self.phase = Phase::Proceeding;
                }
                Step::Relay
            }
            (200..=299, _) => {
                self.phase = Phase::Answered;
                Step::Relay
            }
            (BAD_LOCATION, Phase::Trying | Phase::Proceeding) => self.bad_location(),
            (408 | 500..=699, Phase::Trying | Phase::Proceeding)
                if self.current + 1 < self.legs.len() =>
            {
                Step::Next {
                    why: format!("answered {status}"),
                }
            }
            _ => {
                self.phase = Phase::Over;
                Step::Relay
            }
        }
    }

    /// A 424 from the trunk now trying (see the module's comment): the first ECRC leg
    /// after it, else the next leg, else the 424 goes to the caller. The audit words
    /// are Kamailio's too (`route[E911_BAD_LOCATION]`), and have no quote mark: its
    /// audit line escapes one as `\'`, which JSON does not allow.
    fn bad_location(&mut self) -> Step {
        let Some(leg) = self.legs.get(self.current) else {
            self.phase = Phase::Over;
            return Step::Relay;
        };
        let said = format!("424 Bad Location Information from {}", leg.trunk);
        let ecrc = (leg.kind != ECRC)
            .then(|| {
                self.legs
                    .iter()
                    .enumerate()
                    .skip(self.current + 1)
                    .find(|(_, l)| l.kind == ECRC)
            })
            .flatten();
        if let Some((n, ecrc)) = ecrc {
            let why = format!("{said}: resent on the ECRC route {}", ecrc.route);
            self.skip_to = Some(n);
            return Step::Next { why };
        }
        if leg.kind != ECRC && self.current + 1 < self.legs.len() {
            return Step::Next {
                why: format!("{said}: no ECRC route to resend on, so the next trunk of the route"),
            };
        }
        self.phase = Phase::Over;
        Step::Relay
    }

    /// The caller cancelled: no further trunk. `true` when the trunk now trying has sent
    /// a provisional response, so the CANCEL can go now (§9.1).
    pub fn cancel(&mut self) -> bool {
        let proceeding = self.phase == Phase::Proceeding;
        if matches!(self.phase, Phase::Trying | Phase::Proceeding) {
            self.phase = Phase::Cancelled;
        }
        proceeding
    }

    /// Whether the trunk now trying has been silent past `limit` (no provisional
    /// response) while there is another to try, or, after a CANCEL, whether it never
    /// ended the call: time to try the next, or to end the call here. The last trunk is
    /// left to the caller's own timers: an ECRC that is slow to answer is still the
    /// best place for the call.
    pub fn silent(&self, limit: Duration) -> bool {
        let waiting = match self.phase {
            Phase::Trying => self.current + 1 < self.legs.len(),
            Phase::Cancelled => true,
            Phase::Proceeding | Phase::Answered | Phase::Over => false,
        };
        waiting && self.sent.len() > self.current && self.since.elapsed() >= limit
    }

    /// Whether the caller cancelled.
    pub fn cancelled(&self) -> bool {
        self.phase == Phase::Cancelled
    }

    /// Ends the transaction here (a final response of our own went to the caller).
    pub fn end(&mut self) {
        self.phase = Phase::Over;
    }

    /// Whether a trunk answered 2xx.
    pub fn answered(&self) -> bool {
        self.phase == Phase::Answered
    }

    /// How long ago the INVITE came.
    pub fn age(&self) -> Duration {
        self.created.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(trunks: &[&str]) -> Failover {
        let upstream = Upstream {
            proto: None,
            addr: "127.0.0.1:5060".parse().unwrap(),
        };
        let legs = trunks
            .iter()
            .map(|t| Leg {
                trunk: (*t).to_owned(),
                // Trunks named ecrc… are the ECRC route's.
                route: if t.starts_with("ecrc") {
                    "redmond-ecrc".to_owned()
                } else {
                    "redmond-esp".to_owned()
                },
                kind: if t.starts_with("ecrc") {
                    ECRC
                } else {
                    RouteKind::SipTrunk
                },
                upstream,
                message: Arc::new(Vec::new()),
            })
            .collect();
        let mut call = Failover::new(
            "c1".to_owned(),
            Origin::Tcp(1),
            "127.0.0.1:5070".parse().unwrap(),
            Proto::Tcp,
            Arc::new(Vec::new()),
            legs,
        );
        call.sent(upstream, Proto::Tcp, Arc::new(Vec::new()));
        call
    }

    #[test]
    fn a_503_moves_to_the_next_trunk_and_the_last_trunks_answer_is_relayed() {
        let mut call = call(&["primary", "secondary"]);
        assert!(matches!(call.on_response(0, 503), Step::Next { .. }));
        assert_eq!(
            call.advance().map(|(n, l)| (n, l.trunk.clone())),
            Some((1, "secondary".to_owned()))
        );
        assert_eq!(call.on_response(1, 503), Step::Relay);
        assert!(!call.silent(Duration::ZERO));
        assert!(call.advance().is_none());
    }

    #[test]
    fn a_4xx_other_than_408_is_the_callees_answer_not_a_trunk_failure() {
        let mut call = call(&["primary", "secondary"]);
        assert_eq!(call.on_response(0, 486), Step::Relay);
        assert!(matches!(call.on_response(0, 408), Step::Relay));
    }

    #[test]
    fn only_a_trunk_that_has_said_nothing_is_silent() {
        let mut call = call(&["primary", "secondary"]);
        assert!(call.silent(Duration::ZERO));
        assert_eq!(call.on_response(0, 100), Step::Relay);
        assert!(!call.silent(Duration::ZERO));
        let mut last = super::tests::call(&["ecrc"]);
        assert!(
            !last.silent(Duration::ZERO),
            "the last trunk is never given up on"
        );
        assert!(!last.cancel());
        assert!(
            last.silent(Duration::ZERO),
            "a cancelled call is ended here"
        );
    }

    #[test]
    fn after_a_cancel_no_trunk_is_tried_and_the_cancel_waits_for_a_provisional() {
        let mut call = call(&["primary", "secondary"]);
        assert!(!call.cancel());
        assert_eq!(call.on_response(0, 180), Step::CancelNow);
        assert_eq!(call.on_response(0, 503), Step::Relay);
        assert!(call.advance().is_none());
    }

    #[test]
    fn late_answers_from_a_trunk_given_up_on() {
        let mut call = call(&["primary", "secondary"]);
        let _ = call.advance();
        assert_eq!(call.on_response(0, 180), Step::Absorb);
        assert_eq!(call.on_response(0, 200), Step::Relay);
    }

    #[test]
    fn a_424_skips_the_rest_of_the_route_for_the_first_ecrc_trunk() {
        let mut call = call(&["primary", "secondary", "ecrc-1", "ecrc-2"]);
        assert_eq!(
            call.on_response(0, 424),
            Step::Next {
                why: "424 Bad Location Information from primary: resent on the ECRC route \
redmond-ecrc"
                    .to_owned()
            }
        );
        assert_eq!(
            call.advance().map(|(n, l)| (n, l.trunk.clone())),
            Some((2, "ecrc-1".to_owned()))
        );
        // What the ECRC trunk was sent is kept under its own attempt number, for the
        // ACK of its final response and a CANCEL; the skipped trunk has none.
        call.sent(
            call.legs[2].upstream,
            Proto::Tcp,
            Arc::new(b"INVITE".to_vec()),
        );
        assert_eq!(
            call.sent_to(2).map(|(_, _, b)| b.as_slice()),
            Some(&b"INVITE"[..])
        );
        assert!(call.sent_to(1).is_none());
        // On the ECRC route, a 424 is the answer: relayed, no further trunk.
        assert_eq!(call.on_response(2, 424), Step::Relay);
        assert!(call.advance().is_none());
    }

    #[test]
    fn after_a_424_the_skip_is_spent_and_later_failures_move_one_trunk_on() {
        let mut call = call(&["primary", "secondary", "ecrc-1", "ecrc-2"]);
        let _ = call.on_response(0, 424);
        let _ = call.advance();
        assert!(matches!(call.on_response(2, 503), Step::Next { .. }));
        assert_eq!(call.advance().map(|(n, _)| n), Some(3));
    }

    #[test]
    fn without_an_ecrc_route_a_424_moves_to_the_next_trunk_and_the_last_424_is_relayed() {
        let mut call = call(&["primary", "secondary"]);
        assert_eq!(
            call.on_response(0, 424),
            Step::Next {
                why: "424 Bad Location Information from primary: no ECRC route to resend on, \
so the next trunk of the route"
                    .to_owned()
            }
        );
        assert_eq!(call.advance().map(|(n, _)| n), Some(1));
        assert_eq!(call.on_response(1, 424), Step::Relay);
        assert!(call.advance().is_none());
    }

    #[test]
    fn a_424_after_a_cancel_goes_to_the_caller() {
        let mut call = call(&["primary", "ecrc-1"]);
        let _ = call.cancel();
        assert_eq!(call.on_response(0, 424), Step::Relay);
        assert!(call.advance().is_none());
    }
}
