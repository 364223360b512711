//! Translation between the WIT records and the engine's own types, so that every caller
//! of the harness (run, demo, the proxy) handles one `e911_engine::Verdict` whichever
//! engine decided.

use std::net::IpAddr;

use e911_engine::{
    Attempt, CallCtx, EditOp, ElementKind, Kind, LocationReport, LocationSource, Metric, Mismatch,
    Notification, Output, Position, Report, RouteKind, RouteReason, RouteReport, Transport,
    Verdict,
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
            source: location_source(l.source),
            erl: l.erl,
            element: l.element.map(element_kind),
            method: l.method,
            validated: l.validated,
            mismatch: mismatch(l.mismatch),
            address: l.address,
        }),
        policy: v.policy,
        policy_reason: v.policy_reason,
        route: v.route.map(|r| RouteReport {
            id: r.id,
            kind: route_kind(r.kind),
            trunk: r.trunk,
            target: r.target,
            reason: route_reason(r.reason),
            failover: r.failover,
        }),
        elin: v.elin,
        notifications: notifications.iter().map(|n| n.target.clone()).collect(),
        degraded: v.degraded,
        read_leniently: v.read_leniently,
        bundle_revision: v.bundle_revision.into(),
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
                kind: route_kind(a.kind),
                trunk: a.trunk,
                target: a.target,
                output: output(a.output),
            })
            .collect(),
        notifications,
        metrics: v.metrics.into_iter().map(metric).collect(),
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
            name: h.name.into(),
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

fn route_kind(kind: wit::RouteKind) -> RouteKind {
    match kind {
        wit::RouteKind::SipTrunk => RouteKind::SipTrunk,
        wit::RouteKind::ElinGateway => RouteKind::ElinGateway,
        wit::RouteKind::LocalGateway => RouteKind::LocalGateway,
        wit::RouteKind::Ecrc => RouteKind::Ecrc,
    }
}

fn route_reason(reason: wit::RouteReason) -> RouteReason {
    match reason {
        wit::RouteReason::Policy => RouteReason::Policy,
        wit::RouteReason::Number => RouteReason::Number,
        wit::RouteReason::NoLocation => RouteReason::NoLocation,
        wit::RouteReason::Unvalidated => RouteReason::Unvalidated,
        wit::RouteReason::NoElin => RouteReason::NoElin,
        wit::RouteReason::Failover => RouteReason::Failover,
    }
}

fn location_source(source: wit::LocationSource) -> LocationSource {
    match source {
        wit::LocationSource::Network => LocationSource::Network,
        wit::LocationSource::Client => LocationSource::Client,
        wit::LocationSource::Static => LocationSource::Static,
        wit::LocationSource::ClientElin => LocationSource::ClientElin,
    }
}

fn element_kind(kind: wit::ElementKind) -> ElementKind {
    match kind {
        wit::ElementKind::Bssid => ElementKind::Bssid,
        wit::ElementKind::Port => ElementKind::Port,
        wit::ElementKind::Chassis => ElementKind::Chassis,
        wit::ElementKind::Subnet => ElementKind::Subnet,
    }
}

fn mismatch(value: wit::Mismatch) -> Mismatch {
    match value {
        wit::Mismatch::NotCompared => Mismatch::NotCompared,
        wit::Mismatch::Agrees => Mismatch::Agrees,
        wit::Mismatch::Differs => Mismatch::Differs,
    }
}

fn metric(value: wit::Metric) -> Metric {
    match value {
        wit::Metric::Messages => Metric::Messages,
        wit::Metric::Emergency => Metric::Emergency,
        wit::Metric::Test => Metric::Test,
        wit::Metric::Degraded => Metric::Degraded,
        wit::Metric::CallbackMatched => Metric::CallbackMatched,
        wit::Metric::CallbackExpired => Metric::CallbackExpired,
        wit::Metric::RouteSipTrunk => Metric::RouteSipTrunk,
        wit::Metric::RouteElinGateway => Metric::RouteElinGateway,
        wit::Metric::RouteLocalGateway => Metric::RouteLocalGateway,
        wit::Metric::RouteEcrc => Metric::RouteEcrc,
        wit::Metric::RouteNone => Metric::RouteNone,
        wit::Metric::LocationNetwork => Metric::LocationNetwork,
        wit::Metric::LocationClient => Metric::LocationClient,
        wit::Metric::LocationStatic => Metric::LocationStatic,
        wit::Metric::LocationClientElin => Metric::LocationClientElin,
        wit::Metric::LocationNone => Metric::LocationNone,
        wit::Metric::Unconfigured => Metric::Unconfigured,
        wit::Metric::Trap => Metric::Trap,
        wit::Metric::CallbackStoreDegraded => Metric::CallbackStoreDegraded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
