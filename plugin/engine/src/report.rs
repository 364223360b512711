//! The record of an emergency decision (audit log, `--json`, `explain`), its metric
//! increments and the security-desk notifications built from it.

use std::sync::Arc;

use e911_location::CivicAddress;
use e911_policy::civic::Inside;
use e911_policy::{
    ConferenceMode, Decision, LocationSource, NotificationTarget, Peer, PolicyReason, Validation,
};

use crate::client_location::ClientLocation;
use crate::emergency::{Input, is_test};
use crate::json;
use crate::metric::Metric;
use crate::time::Timestamp;
use crate::verdict::{Kind, LocationReport, Notification, Report, RouteReport};

/// The report before the rewrite: classification, policy, location, route, and the
/// policy's own trace lines.
pub(crate) fn base_report(input: &Input<'_, '_>) -> Report {
    let d = input.decision;
    // Room for the rewrite's notes too: an emergency call's trace has 10 to 17 lines.
    let mut trace: Vec<String> = Vec::with_capacity(16);
    trace.extend(input.reading.trace());
    d.push_trace_lines(&mut trace);
    trace.extend(trust_line(input));
    trace.push(client_line(input.client));
    Report {
        kind: if is_test(d) {
            Kind::Test
        } else {
            Kind::Emergency
        },
        call_id: input.sip.call_id.as_deref().map(str::to_owned),
        now: input.ctx.now,
        caller: input.caller().map(str::to_owned),
        dialed: input.sip.dialed_for_report(),
        location: location_report(input),
        policy: d.policy.map(|p| p.id.to_owned()),
        policy_reason: d.policy.map(|p| match p.reason {
            PolicyReason::Site { site } => ["site ", site].concat(),
            PolicyReason::Caller { identity } => ["caller ", identity].concat(),
            PolicyReason::Global => "global".to_owned(),
        }),
        route: d.route.as_ref().map(|r| RouteReport {
            id: r.id.to_owned(),
            kind: r.kind,
            trunk: r.first.trunk.clone(),
            target: r.first.request_uri(d.outbound.as_ref()),
            reason: r.reason,
            failover: r
                .hops
                .iter()
                .skip(1)
                .chain(d.fallback.iter().flat_map(|(f, _)| f.hops))
                .map(|h| h.trunk.clone())
                .collect(),
        }),
        elin: None,
        notifications: d.notifications.iter().map(|n| n.id.clone()).collect(),
        degraded: None,
        read_leniently: false,
        bundle_revision: Arc::clone(input.revision),
        trace,
    }
}

/// What the trust step did not believe, when the peer is not a trusted one.
fn trust_line(input: &Input<'_, '_>) -> Option<String> {
    let facts = input.facts;
    if facts.peer() == Peer::Enterprise {
        return None;
    }
    let peer = facts
        .peer_ip()
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let ignored = facts.not_believed();
    let mut line = format!(
        "peer {peer} is {} (not in the trusted networks): its caller ID picks no policy or location",
        facts.peer().as_str()
    );
    if !ignored.is_empty() {
        line.push_str(&format!("; not believed: {}", ignored.join(", ")));
    }
    Some(line)
}

fn client_line(client: &ClientLocation) -> String {
    match client {
        ClientLocation::Absent => "client location: none sent".to_owned(),
        ClientLocation::ByValue { matched, .. } => [
            "client location: by value (body part found: ",
            matched.as_str(),
            ")",
        ]
        .concat(),
        ClientLocation::ByReference { uri } => {
            ["client location: by reference ", uri, " (not dereferenced)"].concat()
        }
        ClientLocation::Unusable { reason } => format!("client location: unusable ({reason})"),
    }
}

fn location_report(input: &Input<'_, '_>) -> Option<LocationReport> {
    let choice = input.decision.location.as_ref()?;
    let address = chosen_civic(input)
        .map(|(civic, inside)| address_line(civic, inside.unwrap_or_else(|| Inside::of(civic))))
        .unwrap_or_default();
    Some(LocationReport {
        source: choice.source,
        erl: choice.erl.map(|e| e.id.clone()),
        element: choice.element,
        method: choice.method.as_ref().map(|m| m.as_str().to_owned()),
        validated: choice.validation == Validation::Validated,
        mismatch: choice.mismatch,
        address,
    })
}

/// The civic address of the location the decision chose: the client's own, or the ERL's,
/// with the parts inside the building an ERL names ([`e911_policy::Erl::inside`], worked
/// out with the bundle; a client's address has none worked out).
fn chosen_civic<'i>(input: &'i Input<'_, '_>) -> Option<(&'i CivicAddress, Option<Inside>)> {
    let choice = input.decision.location.as_ref()?;
    match choice.source {
        LocationSource::Client => input
            .client
            .pidf()
            .and_then(|p| p.preferred())
            .and_then(|f| f.location.civic.as_ref())
            .map(|civic| (civic, None)),
        LocationSource::Network | LocationSource::Static | LocationSource::ClientElin => {
            choice.erl.map(|e| (&e.civic, Some(e.inside())))
        }
    }
}

/// A civic address in one line as people write it: `1 Microsoft Way, Redmond, WA
/// 98052, US; building 40, floor 2`, naming the parts `inside` names (an ERL's
/// [`e911_policy::Erl::inside`], or [`Inside::of`] the address).
pub fn address_line(civic: &CivicAddress, inside: Inside) -> String {
    let mut text = String::with_capacity(96);
    e911_policy::civic::push_place(&mut text, civic);
    for (n, (label, value)) in inside.parts(civic).enumerate() {
        text.push_str(if n == 0 { "; " } else { ", " });
        if !label.is_empty() {
            text.push_str(label);
            text.push(' ');
        }
        text.push_str(value);
    }
    text
}

/// The counters of one emergency decision, with room for the `Messages` count the
/// engine adds to every verdict (and a `Degraded`) without growing.
pub(crate) fn metrics(d: &Decision<'_>) -> Vec<Metric> {
    let mut metrics = Vec::with_capacity(5);
    metrics.extend([
        Metric::of_call(d.kind),
        Metric::of_route(d.route.as_ref().map(|r| r.kind)),
        Metric::of_location(d.location.as_ref().map(|l| l.source)),
    ]);
    metrics
}

/// [MS-SIPRE] §3.17.5.2: Lync's emergency notification carries "all the descendants of
/// the civicAddress and method elements in the PIDF-LO as name-value pairs". One per
/// line after the summary, RFC 5139 names, in schema order.
fn push_location_pairs(text: &mut String, input: &Input<'_, '_>) {
    let pairs = chosen_civic(input)
        .into_iter()
        .flat_map(|(civic, _)| civic.elements())
        .map(|(element, value)| (element.name(), value));
    let method = input
        .decision
        .location
        .as_ref()
        .and_then(|l| l.method.as_ref());
    for (name, value) in pairs.chain(method.map(|m| ("method", m.as_str()))) {
        text.push('\n');
        text.push_str(name);
        text.push('=');
        push_one_line(text, value);
    }
}

/// `value` on one line, its white space collapsed: a line break in a client's civic
/// element must not start a new pair (or a new header, in a host that writes the text
/// carelessly).
fn push_one_line(text: &mut String, value: &str) {
    // Most values are one line already (printable ASCII, single spaces between words):
    // copied as they are, without splitting them at every kind of Unicode space.
    let mut after_space = true;
    let plain = value.bytes().all(|b| {
        let ok = b.is_ascii_graphic() || (b == b' ' && !after_space);
        after_space = b == b' ';
        ok
    });
    if plain && !after_space {
        text.push_str(value);
        return;
    }
    for (n, word) in value.split_whitespace().enumerate() {
        if n > 0 {
            text.push(' ');
        }
        text.push_str(word);
    }
}

/// One notification per target of the policy (Lync `NotificationUri`): caller, callback
/// number, time, location, and whether it is a test.
pub(crate) fn notifications(input: &Input<'_, '_>, report: &Report) -> Vec<Notification> {
    let d = input.decision;
    if d.notifications.is_empty() {
        return Vec::new();
    }
    let test = report.kind == Kind::Test;
    let time = Timestamp::of(report.now);
    let time = time.as_str();
    let callback = report.elin.as_deref().or(report.caller.as_deref());
    let location = report
        .location
        .as_ref()
        .map(|l| l.address.as_str())
        .filter(|a| !a.is_empty());
    // What a webhook receives.
    let mut json = String::with_capacity(512);
    let mut o = json::Object::open(&mut json);
    o.str("kind", report.kind.as_str());
    o.bool("test", test);
    o.opt_str("caller", report.caller.as_deref());
    o.opt_str("callback", callback);
    o.str("time", time);
    o.opt_str("location", location);
    o.opt_str(
        "erl",
        report.location.as_ref().and_then(|l| l.erl.as_deref()),
    );
    o.opt_str("route", report.route.as_ref().map(|r| r.id.as_str()));
    o.opt_str("conference", d.conference.map(|c| c.uri.as_str()));
    o.opt_str(
        "conference_mode",
        d.conference.map(|c| match c.mode {
            ConferenceMode::OneWay => "one-way",
            ConferenceMode::TwoWay => "two-way",
        }),
    );
    o.opt_str("call_id", report.call_id.as_deref());
    o.close();
    // Room for the location's name=value pairs that follow.
    let mut text = String::with_capacity(512);
    text.extend([
        if test { "TEST 911" } else { "EMERGENCY 911" },
        " call from ",
        report.caller.as_deref().unwrap_or("unknown caller"),
        " (callback ",
        callback.unwrap_or("unknown"),
        ") at ",
        time,
        ": ",
        location.unwrap_or("location unknown"),
    ]);
    push_location_pairs(&mut text, input);
    let notification = |target: &NotificationTarget, text, json| Notification {
        target: target.id.clone(),
        webhook: target.webhook.clone(),
        sip: target.sip.clone(),
        text,
        json,
    };
    let mut all = Vec::with_capacity(d.notifications.len());
    if let Some((last, others)) = d.notifications.split_last() {
        all.extend(
            others
                .iter()
                .map(|target| notification(target, text.clone(), json.clone())),
        );
        // The last target takes the texts themselves.
        all.push(notification(last, text, json));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_goes_on_one_line_with_its_white_space_collapsed() {
        for value in [
            "",
            " ",
            "Microsoft",
            "Building 40, Floor 1",
            " leading",
            "trailing ",
            "two  spaces",
            "a\tb",
            "line\r\nbreak",
            "no\u{2028}line separator",
            "non\u{a0}breaking",
            "Zürich Straße 1",
            "\u{85}next line\u{85}",
        ] {
            let mut text = String::from("x=");
            push_one_line(&mut text, value);
            let words: Vec<&str> = value.split_whitespace().collect();
            assert_eq!(text, ["x=", &words.join(" ")].concat(), "{value:?}");
        }
    }
}
