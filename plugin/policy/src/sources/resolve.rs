//! Turns the TOML files into the compiled model, checking every reference between them:
//! notification targets, trunks, routes (ordered trunk lists) and location policies.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::numbers;
use super::toml_files::{
    Named, NotificationsFile, PoliciesFile, PolicyTable, RoutesFile, StringList,
};
use crate::model::{
    Combine, Conference, ConferenceMode, Hop, LocationPolicy, LocationRequired, NotificationTarget,
    Route, ServiceUrns, TrunkKind,
};
use crate::problem::{Problems, saturate};

/// Lync's default callback window for an ELIN (DESIGN §3 step 7): 30 minutes.
const DEFAULT_CALLBACK_MINUTES: i64 = 30;
/// A day: longer windows would send a stranger's callbacks to an old caller.
const MAX_CALLBACK_MINUTES: i64 = 24 * 60;

/// A parsed TOML file and the text its spans point into.
pub(crate) struct Doc<'s, T> {
    pub file: &'s str,
    pub text: &'s str,
    pub data: T,
}

impl<T> Doc<'_, T> {
    pub(crate) fn report(
        &self,
        problems: &mut Problems,
        span: Range<usize>,
        message: impl Into<String>,
    ) {
        problems.at_offset(self.file, self.text, span.start, message);
    }

    pub(crate) fn line(&self, span: &Range<usize>) -> String {
        let (line, _) = crate::problem::line_column(self.text, span.start);
        format!("{}:{line}", self.file)
    }
}

/// Ids to indices, for one kind of named thing.
#[derive(Debug)]
pub(crate) struct Index {
    ids: HashMap<String, u32>,
    /// False when the file defining these could not be read: a reference that is not found
    /// is then not reported, since the file's own error already says what to fix.
    pub readable: bool,
}

impl Index {
    pub(crate) fn new() -> Self {
        Self {
            ids: HashMap::new(),
            readable: true,
        }
    }

    pub(crate) fn insert(&mut self, id: String, index: u32) {
        self.ids.insert(id, index);
    }

    pub(crate) fn get(&self, id: &str) -> Option<&u32> {
        self.ids.get(id)
    }
}

/// Notification targets by id; `readable` as for [`Index`].
pub(crate) struct Targets {
    pub by_id: HashMap<String, NotificationTarget>,
    pub readable: bool,
}

/// Notification targets by id.
pub(crate) fn targets(
    doc: Option<&Doc<'_, NotificationsFile>>,
    problems: &mut Problems,
) -> Targets {
    let mut out = Targets {
        by_id: HashMap::new(),
        readable: true,
    };
    let Some(doc) = doc else { return out };
    for (id, table) in &doc.data.targets {
        let t = table.get_ref();
        let check = |value: &Option<Spanned<String>>, schemes: &[&str], problems: &mut Problems| {
            let value = value.as_ref()?;
            let lower = value.get_ref().to_ascii_lowercase();
            if schemes.iter().any(|s| lower.starts_with(s)) {
                return Some(value.get_ref().trim().to_owned());
            }
            let expected = schemes.join(" or ");
            doc.report(
                problems,
                value.span(),
                format!("`{}` must start with {expected}", value.get_ref()),
            );
            None
        };
        let webhook = check(&t.webhook, &["https://", "http://"], problems);
        let sip = check(&t.sip, &["sip:", "sips:"], problems);
        if t.webhook.is_none() && t.sip.is_none() {
            doc.report(
                problems,
                table.span(),
                format!(
                    "notification target `{}` needs `webhook` or `sip`",
                    id.get_ref()
                ),
            );
        }
        out.by_id.insert(
            id.get_ref().clone(),
            NotificationTarget {
                id: id.get_ref().clone(),
                webhook,
                sip,
            },
        );
    }
    out
}

/// Routes with their trunks resolved, and their index by id.
pub(crate) fn routes(
    doc: Option<&Doc<'_, RoutesFile>>,
    has_provider: bool,
    problems: &mut Problems,
) -> (Vec<Route>, Index) {
    let (mut routes, mut index) = (Vec::new(), Index::new());
    let Some(doc) = doc else {
        return (routes, index);
    };
    let trunks = trunks(doc, has_provider, problems);
    for (id, table) in &doc.data.routes {
        let route = table.get_ref();
        let dial = route.dial.as_ref().and_then(|d| {
            let ok =
                crate::sources::erls::is_e164(d.get_ref().trim()) || is_dial_string(d.get_ref());
            if !ok {
                doc.report(
                    problems,
                    d.span(),
                    format!("`{}` is not a number to dial", d.get_ref()),
                );
            }
            ok.then(|| d.get_ref().trim().to_owned())
        });
        let names = route.trunks.get_ref().items();
        if names.is_empty() {
            doc.report(
                problems,
                route.trunks.span(),
                format!("route `{}` lists no trunks", id.get_ref()),
            );
        }
        let mut hops = Vec::new();
        for name in &names {
            match trunks.get(name) {
                Some(hop) => hops.push(hop.clone()),
                None => doc.report(
                    problems,
                    route.trunks.span(),
                    format!("route `{}` names unknown trunk `{name}`", id.get_ref()),
                ),
            }
        }
        index.insert(id.get_ref().clone(), saturate(routes.len()));
        routes.push(Route {
            id: id.get_ref().clone(),
            hops,
            dial,
        });
    }
    (routes, index)
}

/// Every trunk; `has_provider` says whether `bundle.toml` has the `[provider]` a profile's
/// RFC 7852 `provider-info` and `service-info` are written from.
fn trunks(
    doc: &Doc<'_, RoutesFile>,
    has_provider: bool,
    problems: &mut Problems,
) -> HashMap<String, Hop> {
    let mut out = HashMap::new();
    for (id, table) in &doc.data.trunks {
        let t = table.get_ref();
        let Some(kind) = TrunkKind::parse(t.kind.get_ref().trim()) else {
            let message = format!(
                "unknown trunk kind `{}`: expected sip-trunk, elin-gateway or local-gateway",
                t.kind.get_ref()
            );
            doc.report(problems, t.kind.span(), message);
            continue;
        };
        let Some(target) = trunk_target(doc, id.get_ref(), &t.target, problems) else {
            continue;
        };
        let route_header = t
            .route_header
            .as_ref()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let service_urns = service_urns(doc, kind, t.service_urns.as_ref(), problems);
        let profile =
            super::profile::profile(doc, kind, t.profile.as_ref(), has_provider, problems);
        let hop = Hop {
            trunk: id.get_ref().clone(),
            kind,
            target,
            route_header,
            service_urns,
            profile,
        };
        out.insert(id.get_ref().clone(), hop);
    }
    out
}

/// A trunk's SIP URI, which names where calls go and never a number. A target written
/// with a user part (`sip:911@esp.example.net`, the form before several emergency
/// numbers and test calls) is refused with the rewrite that replaces it: a 933 test
/// call sent to `sip:911@…` reaches the provider as a real emergency call.
fn trunk_target(
    doc: &Doc<'_, RoutesFile>,
    id: &str,
    value: &Spanned<String>,
    problems: &mut Problems,
) -> Option<String> {
    let target = value.get_ref().trim();
    let Some((scheme, rest)) = target.split_once(':').filter(|(s, rest)| {
        (s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips")) && !rest.is_empty()
    }) else {
        doc.report(
            problems,
            value.span(),
            format!("trunk target `{target}` is not a SIP URI"),
        );
        return None;
    };
    let host_part = rest.split([';', '?']).next().unwrap_or(rest);
    if let Some((user, host)) = host_part.split_once('@') {
        let params = rest.get(host_part.len()..).unwrap_or_default();
        doc.report(
            problems,
            value.span(),
            format!(
                "trunk `{id}` target `{target}` names a number ({user}), but a trunk now names \
                 only where calls go: write `target = \"{scheme}:{host}{params}\"`. The provider \
                 receives what the caller dialled (911, also for a dial mask such as 112; 933 \
                 for a test call) or the route's `dial` (the ECRC's number)"
            ),
        );
        // Kept without the number, so routes naming the trunk report nothing more.
        return Some(format!("{scheme}:{host}{params}"));
    }
    Some(target.to_owned())
}

/// `service_urns`: `keep` (a sip-trunk's default) or `dial-string` (a gateway's only
/// choice: the PSTN cannot dial a URN).
fn service_urns(
    doc: &Doc<'_, RoutesFile>,
    kind: TrunkKind,
    value: Option<&Spanned<String>>,
    problems: &mut Problems,
) -> ServiceUrns {
    let default = match kind {
        TrunkKind::SipTrunk => ServiceUrns::Keep,
        TrunkKind::ElinGateway | TrunkKind::LocalGateway => ServiceUrns::DialString,
    };
    let Some(value) = value else { return default };
    let text = value.get_ref().trim().to_ascii_lowercase();
    match ServiceUrns::NAMES.iter().find(|(name, _)| *name == text) {
        Some((_, ServiceUrns::Keep)) if kind != TrunkKind::SipTrunk => {
            doc.report(
                problems,
                value.span(),
                format!(
                    "a {kind} cannot send a service URN to the PSTN: `service_urns` must be `dial-string`"
                ),
            );
            default
        }
        Some((_, chosen)) => *chosen,
        None => {
            doc.report(
                problems,
                value.span(),
                format!(
                    "unknown service_urns `{}`: expected keep or dial-string",
                    value.get_ref()
                ),
            );
            default
        }
    }
}

/// Digits, `*`, `#` and an optional leading `+`: what a dial string may contain.
pub(crate) fn is_dial_string(text: &str) -> bool {
    let body = text.trim().strip_prefix('+').unwrap_or(text.trim());
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

/// What policies need to resolve their references.
pub(crate) struct PolicyRefs<'a> {
    pub routes: &'a Index,
    pub targets: &'a Targets,
}

/// Location policies (with `[defaults]` applied) and their index by id.
pub(crate) fn policies(
    doc: Option<&Doc<'_, PoliciesFile>>,
    refs: &PolicyRefs<'_>,
    problems: &mut Problems,
) -> (Vec<LocationPolicy>, Index) {
    let (mut out, mut index) = (Vec::new(), Index::new());
    let Some(doc) = doc else { return (out, index) };
    let named: &Named<PolicyTable> = &doc.data.policies;
    for (id, table) in named {
        let merged = table.get_ref().clone().inherit(&doc.data.defaults);
        let policy = policy(doc, (id.get_ref(), table.span()), merged, refs, problems);
        index.insert(id.get_ref().clone(), saturate(out.len()));
        out.push(policy);
    }
    (out, index)
}

fn policy(
    doc: &Doc<'_, PoliciesFile>,
    (id, span): (&str, Range<usize>),
    t: PolicyTable,
    refs: &PolicyRefs<'_>,
    problems: &mut Problems,
) -> LocationPolicy {
    let enabled = t.enabled.unwrap_or(true);
    let route = route_ref(doc, &t.route, refs.routes, problems);
    let dialling = numbers::resolve(doc, &t, refs.routes, problems);
    if enabled && dialling.numbers.is_empty() {
        doc.report(
            problems,
            span.clone(),
            format!(
                "policy `{id}` has no emergency number (`dial_strings`, Lync's EmergencyDialString, or `emergency_numbers`)"
            ),
        );
    }
    // A `route` that names an unknown route was reported already.
    let unrouted = dialling.numbers.iter().find(|n| n.route.is_none());
    if let (true, None, None, Some(number)) = (enabled, &t.route, route, unrouted) {
        doc.report(
            problems,
            span,
            format!(
                "policy `{id}` has no route for {} (`route`, Lync's PstnUsage, or the number's own `route`)",
                number.dial_string
            ),
        );
    }
    LocationPolicy {
        id: id.to_owned(),
        description: t.description.clone().unwrap_or_default(),
        enabled,
        numbers: dialling.numbers,
        test_numbers: dialling.test_numbers,
        outside_line_prefixes: dialling.prefixes,
        route,
        ecrc_route: route_ref(doc, &t.ecrc_route, refs.routes, problems),
        unvalidated_to_ecrc: t.unvalidated_to_ecrc.unwrap_or(false),
        location_required: location_required(doc, &t.location_required, problems),
        notifications: notifications(doc, &t.notifications, refs.targets, problems)
            .unwrap_or_default(),
        test_notifications: notifications(doc, &t.test_notifications, refs.targets, problems),
        conference: conference(doc, &t, problems),
        callback_window_secs: callback_window(doc, &t.callback_window_minutes, problems),
        callback_fallback: callback_fallback(doc, &t.callback_fallback, problems),
        combine: combine(doc, &t.location_combine, problems),
    }
}

pub(crate) fn route_ref(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<String>>,
    routes: &Index,
    problems: &mut Problems,
) -> Option<u32> {
    let value = value.as_ref()?;
    let found = routes.get(value.get_ref().trim()).copied();
    if found.is_none() && routes.readable {
        doc.report(
            problems,
            value.span(),
            format!(
                "unknown route `{}` (no such route in routes.toml)",
                value.get_ref()
            ),
        );
    }
    found
}

/// The targets a list names; `None` when the list is absent (an empty list is "nobody").
fn notifications(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<StringList>>,
    targets: &Targets,
    problems: &mut Problems,
) -> Option<Vec<NotificationTarget>> {
    let value = value.as_ref()?;
    let mut out = Vec::new();
    for name in value.get_ref().items() {
        match targets.by_id.get(&name) {
            Some(target) => out.push(target.clone()),
            None if !targets.readable => {}
            None => doc.report(
                problems,
                value.span(),
                format!("unknown notification target `{name}`"),
            ),
        }
    }
    Some(out)
}

/// Reads a keyword; an unknown one is reported with the accepted spellings.
pub(crate) fn keyword<T: Copy, F>(
    doc: &Doc<'_, F>,
    value: &Option<Spanned<String>>,
    (what, choices): (&str, &[(&str, T)]),
    default: T,
    problems: &mut Problems,
) -> T {
    let Some(value) = value else { return default };
    let text = value.get_ref().trim().to_ascii_lowercase();
    if let Some((_, found)) = choices.iter().find(|(name, _)| *name == text) {
        return *found;
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    doc.report(
        problems,
        value.span(),
        format!(
            "unknown {what} `{}`: expected {}",
            value.get_ref(),
            names.join(", ")
        ),
    );
    default
}

fn location_required(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<String>>,
    problems: &mut Problems,
) -> LocationRequired {
    let choices = [
        ("no", LocationRequired::No),
        ("yes", LocationRequired::Yes),
        ("disclaimer", LocationRequired::Disclaimer),
    ];
    keyword(
        doc,
        value,
        ("location-required mode", &choices),
        LocationRequired::No,
        problems,
    )
}

fn combine(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<String>>,
    problems: &mut Problems,
) -> Combine {
    keyword(
        doc,
        value,
        ("location-combine mode", &Combine::NAMES),
        Combine::PreferNetwork,
        problems,
    )
}

fn conference(
    doc: &Doc<'_, PoliciesFile>,
    t: &PolicyTable,
    problems: &mut Problems,
) -> Option<Conference> {
    let choices = [
        ("one-way", ConferenceMode::OneWay),
        ("two-way", ConferenceMode::TwoWay),
    ];
    let mode = keyword(
        doc,
        &t.conference_mode,
        ("conference mode", &choices),
        ConferenceMode::OneWay,
        problems,
    );
    let uri = t.conference_uri.as_ref()?;
    let text = uri.get_ref().trim();
    if !text.to_ascii_lowercase().starts_with("sip:") {
        doc.report(
            problems,
            uri.span(),
            format!("conference URI `{text}` is not a SIP URI"),
        );
        return None;
    }
    Some(Conference {
        uri: text.to_owned(),
        mode,
    })
}

/// Where a PSAP callback goes once the ELIN's window has closed (DESIGN §3 step 8): a
/// SIP or tel URI, typically the site's security desk.
fn callback_fallback(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<String>>,
    problems: &mut Problems,
) -> Option<String> {
    let uri = value.as_ref()?;
    let text = uri.get_ref().trim();
    let lower = text.to_ascii_lowercase();
    if !["sip:", "sips:", "tel:"]
        .iter()
        .any(|s| lower.starts_with(s))
    {
        doc.report(
            problems,
            uri.span(),
            format!("callback fallback `{text}` is not a SIP or tel URI"),
        );
        return None;
    }
    Some(text.to_owned())
}

fn callback_window(
    doc: &Doc<'_, PoliciesFile>,
    value: &Option<Spanned<i64>>,
    problems: &mut Problems,
) -> u32 {
    let minutes = value
        .as_ref()
        .map_or(DEFAULT_CALLBACK_MINUTES, |v| *v.get_ref());
    if !(1..=MAX_CALLBACK_MINUTES).contains(&minutes) {
        if let Some(v) = value {
            doc.report(
                problems,
                v.span(),
                format!("callback window must be 1 to {MAX_CALLBACK_MINUTES} minutes"),
            );
        }
        return u32::try_from(DEFAULT_CALLBACK_MINUTES * 60).unwrap_or(1800);
    }
    u32::try_from(minutes * 60).unwrap_or(1800)
}
