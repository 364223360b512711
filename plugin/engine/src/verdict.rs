//! What the engine returns: the bytes to forward, the change as data, the route, and the
//! effects a host performs (notifications, an audit record, metric increments).

use std::sync::Arc;

use e911_policy::{ElementKind, LocationSource, Mismatch, RouteKind, RouteReason};
use serde::Serialize;

use crate::json;
use crate::metric::Metric;
use crate::rewrite::EditOp;
use crate::words::{self, Word};

/// What a message turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A new emergency call.
    Emergency,
    /// A test call (933, `urn:service:test.sos`).
    Test,
    /// A PSAP calling an ELIN back.
    Callback,
    /// Anything else: forwarded byte-identical.
    None,
}

impl Kind {
    /// `emergency`, `test`, `callback` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Test => "test",
            Self::Callback => "callback",
            Self::None => "none",
        }
    }
}

/// The bytes to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// The message exactly as received.
    Unchanged,
    /// The rewritten message.
    Rewritten(Vec<u8>),
}

/// Where the location came from and what it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocationReport {
    /// Where it came from: `network`, `client`, `static` or `client-elin`.
    #[serde(serialize_with = "words::serialize")]
    pub source: LocationSource,
    /// The ERL id, when the location is an ERL.
    pub erl: Option<String>,
    /// The network element kind that matched (`bssid`, `port`, `chassis`, `subnet`).
    #[serde(serialize_with = "words::serialize_option")]
    pub element: Option<ElementKind>,
    /// The RFC 4119 method.
    pub method: Option<String>,
    /// Whether the address is MSAG-validated.
    pub validated: bool,
    /// `not-compared`, `agrees` or `differs` (client versus network).
    #[serde(serialize_with = "words::serialize")]
    pub mismatch: Mismatch,
    /// The address in one line, for people.
    pub address: String,
}

/// The route chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteReport {
    /// The route's id.
    pub id: String,
    /// `sip-trunk`, `elin-gateway`, `local-gateway` or `ecrc`.
    #[serde(serialize_with = "words::serialize")]
    pub kind: RouteKind,
    /// The first trunk's id.
    pub trunk: String,
    /// The Request-URI the call is sent to.
    pub target: String,
    /// Why this route.
    #[serde(serialize_with = "words::serialize")]
    pub reason: RouteReason,
    /// The trunks tried after the first one fails, in order: the rest of the route, then
    /// the ECRC route's (see [`Verdict::alternates`]).
    pub failover: Vec<String>,
}

/// Where a call goes when the trunk before it fails (DESIGN §2.6): the next trunk of its
/// route, then the ECRC route's. A host that can resend (on a 408, 5xx or 6xx, a
/// transport error, or no provisional response in time) sends `output` there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The route's id.
    pub route: String,
    /// `sip-trunk`, `elin-gateway`, `local-gateway` or `ecrc`.
    pub kind: RouteKind,
    /// The trunk's id.
    pub trunk: String,
    /// The Request-URI it receives.
    pub target: String,
    /// The bytes to send it (`Unchanged`: the message as received).
    pub output: Output,
}

/// One notification for the security desk: the host sends `json` to the webhook and/or
/// `text` in a SIP MESSAGE. Never delays the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// The target's id.
    pub target: String,
    /// Webhook URL.
    pub webhook: Option<String>,
    /// SIP URI for a MESSAGE.
    pub sip: Option<String>,
    /// The message for people.
    pub text: String,
    /// The same as a JSON object, for webhooks.
    pub json: String,
}

/// The decision, for people and for the audit log: one record per emergency, test or
/// callback call, carrying the whole trace and the bundle revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// What the message was.
    pub kind: Kind,
    /// The Call-ID.
    pub call_id: Option<String>,
    /// When, in seconds since the Unix epoch, from the host's clock; serialized as
    /// `time` in RFC 3339 (formatted only when a record is written, so the fast path
    /// does not pay for it).
    #[serde(rename = "time", serialize_with = "rfc3339_time")]
    pub now: u64,
    /// The caller as received.
    pub caller: Option<String>,
    /// What was dialled (number or service URN).
    pub dialed: Option<String>,
    /// The location, if one was found.
    pub location: Option<LocationReport>,
    /// The location policy in effect.
    pub policy: Option<String>,
    /// Why that policy (`site wichita`, `caller`, `global`).
    pub policy_reason: Option<String>,
    /// The route.
    pub route: Option<RouteReport>,
    /// The ELIN put in the caller ID, or the ELIN called back.
    pub elin: Option<String>,
    /// Notification target ids.
    pub notifications: Vec<String>,
    /// Why the call was handled in a degraded way, if it was.
    pub degraded: Option<String>,
    /// Whether the INVITE did not parse strictly and was read by the lenient reader. Its
    /// rewrite (if any) is rendered from the reader's rebuilt copy, whose header fields
    /// are not the received message's: `edits` is then empty, and a host that rewrites
    /// through its own primitives forwards the received message to the route's trunk.
    pub read_leniently: bool,
    /// The active bundle revision: shared with the engine that decided, so that a verdict
    /// does not copy it (every message gets one).
    #[serde(serialize_with = "shared_str")]
    pub bundle_revision: Arc<str>,
    /// Each step of the decision, in order, for people.
    pub trace: Vec<String>,
}

impl Report {
    /// The report as one line of compact JSON: the audit record every host writes, the
    /// same bytes as `serde_json::to_string(&report)`, written faster ([`crate::json`]).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(1536);
        self.push_json(&mut out);
        out
    }

    /// [`Report::to_json`] at the end of `out` (after a host's log prefix, say).
    pub fn push_json(&self, out: &mut String) {
        let mut object = json::Object::open(out);
        self.write_json_fields(&mut object);
        object.close();
    }

    /// The report's fields, in the order [`Report::to_json`] writes them, into an object
    /// a host goes on to add its own fields to (Kamailio's worker `pid`).
    pub fn write_json_fields(&self, o: &mut json::Object<'_>) {
        o.str("kind", self.kind.as_str());
        o.opt_str("call_id", self.call_id.as_deref());
        o.str("time", crate::time::Timestamp::of(self.now).as_str());
        o.opt_str("caller", self.caller.as_deref());
        o.opt_str("dialed", self.dialed.as_deref());
        match &self.location {
            Some(l) => o.object("location", |o| {
                o.str("source", l.source.word());
                o.opt_str("erl", l.erl.as_deref());
                o.opt_str("element", l.element.map(Word::word));
                o.opt_str("method", l.method.as_deref());
                o.bool("validated", l.validated);
                o.str("mismatch", l.mismatch.word());
                o.str("address", &l.address);
            }),
            None => o.null("location"),
        }
        o.opt_str("policy", self.policy.as_deref());
        o.opt_str("policy_reason", self.policy_reason.as_deref());
        match &self.route {
            Some(r) => o.object("route", |o| {
                o.str("id", &r.id);
                o.str("kind", r.kind.word());
                o.str("trunk", &r.trunk);
                o.str("target", &r.target);
                o.str("reason", r.reason.word());
                o.strs("failover", r.failover.iter().map(String::as_str));
            }),
            None => o.null("route"),
        }
        o.opt_str("elin", self.elin.as_deref());
        o.strs(
            "notifications",
            self.notifications.iter().map(String::as_str),
        );
        o.opt_str("degraded", self.degraded.as_deref());
        o.bool("read_leniently", self.read_leniently);
        o.str("bundle_revision", &self.bundle_revision);
        o.strs("trace", self.trace.iter().map(String::as_str));
    }
}

fn shared_str<S: serde::Serializer>(s: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(s)
}

fn rfc3339_time<S: serde::Serializer>(now: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(crate::time::Timestamp::of(*now).as_str())
}

/// Everything the engine decided about one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The decision.
    pub report: Report,
    /// The bytes to forward.
    pub output: Output,
    /// The change as an edit list against the received message: empty when unchanged,
    /// and when the message was read leniently ([`Report::read_leniently`]).
    pub edits: Vec<EditOp>,
    /// Where the call goes if the first trunk fails, in order (empty but for emergency
    /// and test calls whose route has more trunks, or an ECRC route to fall back to).
    pub alternates: Vec<Attempt>,
    /// Notifications to send.
    pub notifications: Vec<Notification>,
    /// Counters to increment by one.
    pub metrics: Vec<Metric>,
}

impl Verdict {
    /// A verdict that forwards the message as received: kind `none`, no edits, the
    /// `e911.messages` count, and `trace` saying why. Hosts use it too, for what happens
    /// outside the engine (no bundle yet, a trapped plugin).
    pub fn unchanged(now: u64, bundle_revision: impl Into<Arc<str>>, trace: Vec<String>) -> Self {
        Self {
            report: Report {
                kind: Kind::None,
                call_id: None,
                now,
                caller: None,
                dialed: None,
                location: None,
                policy: None,
                policy_reason: None,
                route: None,
                elin: None,
                notifications: Vec::new(),
                degraded: None,
                read_leniently: false,
                bundle_revision: bundle_revision.into(),
                trace,
            },
            output: Output::Unchanged,
            edits: Vec::new(),
            alternates: Vec::new(),
            notifications: Vec::new(),
            metrics: vec![Metric::Messages],
        }
    }

    /// Whether the host should write [`Verdict::report`] to its audit log: every
    /// emergency, test and callback call, and every degraded decision.
    pub fn is_audited(&self) -> bool {
        self.report.kind != Kind::None || self.report.degraded.is_some()
    }

    /// Records why the call was handled in a degraded way: a trace line, the report's
    /// `degraded` (several reasons add up, in order), and the `e911.degraded` count once.
    /// The engine uses it for what goes wrong inside a decision; hosts use it for what
    /// goes wrong around one (a callback store that did not answer in time).
    pub fn degrade(&mut self, reason: String) {
        self.report.trace.push(format!("degraded: {reason}"));
        self.report.degraded = Some(match self.report.degraded.take() {
            Some(before) => format!("{before}; {reason}"),
            None => {
                self.metrics.push(Metric::Degraded);
                reason
            }
        });
    }

    /// The forwarded bytes, given the received ones.
    pub fn forwarded<'a>(&'a self, received: &'a [u8]) -> &'a [u8] {
        match &self.output {
            Output::Unchanged => received,
            Output::Rewritten(bytes) => bytes,
        }
    }
}
