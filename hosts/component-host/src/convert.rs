//! Translation between the WIT records and the engine's own types, so that every caller
//! of the harness (run, demo, the proxy) handles one `e911_engine::Verdict` whichever
//! engine decided.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Mutex;

use e911_engine::{
    Attempt, CallCtx, EditOp, Kind, LocationReport, Notification, Output, Position, Report,
    RouteReport, Transport, Verdict,
};

use super::bindings::e911::policy::notifier;
use super::bindings::{self as wit};

/// The context of one message as the WIT record.
pub fn message_context(ctx: &CallCtx<'_>) -> wit::MessageContext {
    wit::MessageContext {
        peer: ctx.peer.map(|ip| match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                wit::IpAddress::Ipv4((a, b, c, d))
            }
            IpAddr::V6(v6) => {
                let [a, b, c, d, e, f, g, h] = v6.segments();
                wit::IpAddress::Ipv6((a, b, c, d, e, f, g, h))
            }
        }),
        transport: match ctx.transport {
            Transport::Udp => wit::Transport::Udp,
            Transport::Tcp => wit::Transport::Tcp,
            Transport::Tls => wit::Transport::Tls,
        },
        now: ctx.now,
        node: ctx.node.to_owned(),
    }
}

/// The component's verdict as the engine's, `now` taken from the call's context (the
/// report's time is the host's clock in both builds).
pub fn verdict(v: wit::Verdict, now: u64) -> Verdict {
    let notifications: Vec<Notification> = v.notifications.into_iter().map(notification).collect();
    let report = Report {
        kind: match v.kind {
            wit::CallKind::Emergency => Kind::Emergency,
            wit::CallKind::Test => Kind::Test,
            wit::CallKind::Callback => Kind::Callback,
            wit::CallKind::None => Kind::None,
        },
        call_id: v.call_id,
        now,
        caller: v.caller,
        dialed: v.dialed,
        location: v.location.map(|l| LocationReport {
            source: known(&l.source),
            erl: l.erl,
            element: l.element.as_deref().map(known),
            method: l.method,
            validated: l.validated,
            mismatch: known(&l.mismatch),
            address: l.address,
        }),
        policy: v.policy,
        policy_reason: v.policy_reason,
        route: v.route.map(|r| RouteReport {
            id: r.id,
            kind: known(&r.kind),
            trunk: r.trunk,
            target: r.target,
            reason: known(&r.reason),
            failover: r.failover,
        }),
        elin: v.elin,
        notifications: notifications.iter().map(|n| n.target.clone()).collect(),
        degraded: v.degraded,
        read_leniently: v.read_leniently,
        bundle_revision: v.bundle_revision,
        trace: v.trace,
    };
    Verdict {
        report,
        output: output(v.output),
        edits: v.edits.into_iter().map(edit_op).collect(),
        alternates: v
            .alternates
            .into_iter()
            .map(|a| Attempt {
                route: a.route,
                kind: known(&a.kind),
                trunk: a.trunk,
                target: a.target,
                output: output(a.output),
            })
            .collect(),
        notifications,
        metrics: v.metrics.iter().map(|m| known(m)).collect(),
    }
}

fn output(output: wit::Output) -> Output {
    match output {
        wit::Output::Unchanged => Output::Unchanged,
        wit::Output::Rewritten(bytes) => Output::Rewritten(bytes),
    }
}

/// A notification the component passed to the imported notifier.
pub fn notification(n: notifier::Notification) -> Notification {
    Notification {
        target: n.target,
        webhook: n.webhook,
        sip: n.sip,
        text: n.text,
        json: n.json,
    }
}

fn edit_op(op: wit::EditOp) -> EditOp {
    match op {
        wit::EditOp::SetRequestUri(uri) => EditOp::SetRequestUri(uri),
        wit::EditOp::InsertHeader(h) => EditOp::InsertHeader {
            name: h.name,
            value: h.value,
            position: match h.position {
                wit::Position::End => Position::End,
                wit::Position::Before(field) => Position::Before(field),
            },
        },
        wit::EditOp::ReplaceHeader(h) => EditOp::ReplaceHeader {
            field: h.field,
            value: h.value,
        },
        wit::EditOp::RemoveHeader(field) => EditOp::RemoveHeader { field },
        wit::EditOp::SetBody(b) => EditOp::SetBody {
            content_type: b.content_type,
            body: b.body,
        },
    }
}

/// The words the engine reports as `&'static str` (route kinds and reasons, location
/// sources, elements and comparisons, metric names). The WIT verdict carries them as
/// strings; mapping them back to these constants keeps the engine's `Verdict` type for
/// every caller without an allocation per call.
static KNOWN: &[&str] = &[
    "network",
    "client",
    "static",
    "client-elin",
    "bssid",
    "port",
    "chassis",
    "subnet",
    "not-compared",
    "agrees",
    "differs",
    "sip-trunk",
    "elin-gateway",
    "local-gateway",
    "ecrc",
    "the policy's route",
    "the dialled number's own route",
    "no location: the ECRC route",
    "location not validated: the ECRC route",
    "ELIN gateway but the location has no ELIN: the ECRC route",
    "every trunk of the call's route failed: the ECRC route",
    "e911.messages",
    "e911.emergency",
    "e911.test",
    "e911.degraded",
    "e911.unconfigured",
    "e911.trap",
    "e911.callback.matched",
    "e911.callback.expired",
    "e911.location.client",
    "e911.location.network",
    "e911.location.none",
    "e911.location.static",
    "e911.location.client-elin",
    "e911.route.ecrc",
    "e911.route.elin-gateway",
    "e911.route.local-gateway",
    "e911.route.none",
    "e911.route.sip-trunk",
];

/// At most this many words outside [`KNOWN`] are kept (a newer component may add some);
/// past it they read `other`, so a misbehaving component cannot grow the host's memory.
const MAX_INTERNED: usize = 256;

/// `text` as a `&'static str`: a `KNOWN` word, or one interned once for the process.
pub fn known(text: &str) -> &'static str {
    if let Some(word) = KNOWN.iter().find(|w| **w == text) {
        return word;
    }
    static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let Ok(mut set) = INTERNED.lock() else {
        return "other";
    };
    if let Some(word) = set.get(text) {
        return word;
    }
    if set.len() >= MAX_INTERNED {
        return "other";
    }
    let word: &'static str = Box::leak(text.to_owned().into_boxed_str());
    set.insert(word);
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_words_are_the_constants_and_new_ones_are_interned_once() {
        assert_eq!(known("sip-trunk").as_ptr(), KNOWN[11].as_ptr());
        let a = known("e911.some-new-counter");
        let b = known("e911.some-new-counter");
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "e911.some-new-counter");
    }

    #[test]
    fn context_keeps_ipv6_groups() {
        let ctx = CallCtx {
            now: 7,
            peer: Some("2001:db8::1".parse().unwrap()),
            transport: Transport::Tls,
            node: "edge",
        };
        let wit = message_context(&ctx);
        assert!(matches!(
            wit.peer,
            Some(wit::IpAddress::Ipv6((0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
        ));
        assert!(matches!(wit.transport, wit::Transport::Tls));
        assert_eq!((wit.now, wit.node.as_str()), (7, "edge"));
    }
}
