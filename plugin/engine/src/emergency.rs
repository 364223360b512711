//! An emergency (or test) call, after the policy decided: rewrite for the route, record,
//! notify (DESIGN §3 step 7).
//!
//! Every trunk gets the Request-URI the decision says it receives (what was dialled after
//! masks, or the route's own number), and every emergency call `Priority: emergency`
//! (which Lync sets and SBCs use for pre-emption). Then, by trunk kind:
//!
//! - `sip-trunk`: PIDF-LO in a `multipart/mixed` body named by `Geolocation: <cid:…>`
//!   (RFC 6442 §4.1), `Geolocation-Routing: yes` (§4.2), the callback number asserted in
//!   P-Asserted-Identity for a trusted caller (RFC 3325).
//! - `elin-gateway`: an ELIN in From and P-Asserted-Identity, stored for callbacks.
//! - `local-gateway`: nothing more (PS-ALI: the carrier knows the line's address).
//!
//! P-Asserted-Identity from an untrusted peer is removed (RFC 3325 §5).
//!
//! Fail-safe: if any step of the rewrite fails, or its result would not parse strictly,
//! the call still goes to the route's trunk with only the Request-URI and `Route` changed
//! (or unchanged if even that fails), and `degraded` says why.

use std::borrow::Cow;
use std::iter;
use std::rc::Rc;
use std::sync::Arc;

use e911_location::{
    CivicAddress, CivicMarkup, Location, LocationRef, Method, Shape, UsageRules, WriteError,
    write_pidf_lo,
};
use e911_policy::{
    CallKind, Decision, Hop, LocationSource, Outbound, Peer, ProviderInfo, ProviderProfile,
    RouteChoice, RouteKind, TrunkKind, TrustedFacts,
};
use e911_sip::{HeaderKind, Message, NewPart, multipart_mixed};

use crate::callback::{CallbackEntry, CallbackStore, select_elin};
use crate::client_location::ClientLocation;
use crate::engine::{CallCtx, Failover, Reading, STRICT_UNBOUNDED};
use crate::facts::{SipFacts, uri_host};
use crate::provider::{self, DATA_PART_DISPOSITION};
use crate::report::{self, base_report};
use crate::rewrite::{
    EditOp, Position, apply_checked, fields, other_priority, priority_ops, strip_asserted_identity,
};
use crate::time::Timestamp;
use crate::verdict::{Attempt, Output, Verdict};

/// Everything the emergency path reads.
pub(crate) struct Input<'a, 'm> {
    pub msg: &'a Message<'m>,
    pub sip: &'a SipFacts<'m>,
    pub facts: &'a TrustedFacts<'a>,
    pub client: &'a ClientLocation,
    pub decision: &'a Decision<'a>,
    pub reading: Reading,
    pub ctx: &'a CallCtx<'a>,
    pub revision: &'a Arc<str>,
    /// The tenant as a data provider, for profiles that send RFC 7852 `ProviderInfo`.
    pub provider: Option<&'a ProviderInfo>,
    /// Whether the later trunks' messages are rendered.
    pub failover: Failover,
}

impl Input<'_, '_> {
    /// The caller URI to report, map an ELIN back to and name in the PIDF-LO.
    pub(crate) fn caller(&self) -> Option<&str> {
        self.facts.caller().map(|(uri, _)| uri)
    }
}

/// The planned change, and the callback mapping to store if it is applied.
struct Plan {
    /// This leg's own edits and trace notes.
    ops: Vec<EditOp>,
    notes: Vec<String>,
    /// The call's location edits, shared by every leg with the same provider profile
    /// (not copied), and where they go among this leg's own: `(ops, notes)` indices.
    location: Option<(Rc<LocationEdits>, usize, usize)>,
    elin: Option<(String, CallbackEntry)>,
}

impl Plan {
    fn new(ops: Vec<EditOp>) -> Self {
        Self {
            ops,
            notes: Vec::with_capacity(4),
            location: None,
            elin: None,
        }
    }

    /// Every edit, in order.
    fn ops(&self) -> impl Iterator<Item = &EditOp> + Clone {
        let (shared, at) = match &self.location {
            Some((edits, at, _)) => (&edits.ops[..], *at),
            None => (&[][..], self.ops.len()),
        };
        let (before, after) = self.ops.split_at(at.min(self.ops.len()));
        before.iter().chain(shared).chain(after)
    }

    /// The edits and notes as owned lists, for the verdict. The shared location edits are
    /// moved out when this is their last holder (the first leg's plan, once the others
    /// are rendered), copied otherwise.
    fn into_parts(self) -> (Vec<EditOp>, Vec<String>) {
        let Self {
            mut ops,
            mut notes,
            location,
            ..
        } = self;
        if let Some((shared, ops_at, notes_at)) = location {
            let LocationEdits {
                ops: shared_ops,
                notes: shared_notes,
            } = Rc::try_unwrap(shared).unwrap_or_else(|rc| (*rc).clone());
            let ops_at = ops_at.min(ops.len());
            let notes_at = notes_at.min(notes.len());
            ops.splice(ops_at..ops_at, shared_ops);
            notes.splice(notes_at..notes_at, shared_notes);
        }
        (ops, notes)
    }
}

pub(crate) fn decide(input: &Input<'_, '_>, store: &mut dyn CallbackStore) -> Verdict {
    let decision = input.decision;
    let mut verdict = Verdict {
        report: base_report(input),
        output: Output::Unchanged,
        edits: Vec::new(),
        alternates: Vec::new(),
        notifications: Vec::new(),
        metrics: report::metrics(decision),
    };
    if let Some(why) = input.reading.degraded() {
        verdict.degrade(why);
    }
    if !decision.enabled {
        verdict
            .report
            .trace
            .push("E9-1-1 is disabled in this policy: forwarded unchanged".to_owned());
    } else if let Some(route) = &decision.route {
        rewrite_for_route(input, route, store, &mut verdict);
    } else {
        verdict.degrade("no route could be determined: forwarded unchanged".to_owned());
    }
    verdict.notifications = report::notifications(input, &verdict.report);
    verdict
}

/// One trunk a call may go to: its route, the trunk, and what the trunk receives.
struct Leg<'a> {
    route: &'a RouteChoice<'a>,
    hop: &'a Hop,
    outbound: Option<&'a Outbound<'a>>,
}

/// Every trunk of the call's route in order, then the ECRC route's (DESIGN §2.6).
fn legs<'a>(decision: &'a Decision<'a>, route: &'a RouteChoice<'a>) -> Vec<Leg<'a>> {
    let own = route.hops.iter().map(|hop| Leg {
        route,
        hop,
        outbound: decision.outbound.as_ref(),
    });
    let fallback = decision.fallback.iter().flat_map(|(route, outbound)| {
        route.hops.iter().map(move |hop| Leg {
            route,
            hop,
            outbound: Some(outbound),
        })
    });
    own.chain(fallback).collect()
}

/// A leg rendered: the change with its notes for the trace, the bytes, why it was
/// degraded.
struct Rendered {
    plan: Plan,
    output: Output,
    degraded: Option<String>,
}

fn rewrite_for_route(
    input: &Input<'_, '_>,
    route: &RouteChoice<'_>,
    store: &mut dyn CallbackStore,
    verdict: &mut Verdict,
) {
    let legs = legs(input.decision, route);
    let mut call = PerCall {
        elin: None,
        location: Vec::new(),
    };
    let Some((first, later)) = legs.split_first() else {
        return;
    };
    let first = render(input, first, store, &mut call);
    // The trace's failover line, written as the later legs go by.
    let mut order = String::with_capacity(64 + 96 * later.len());
    order.push_str("if ");
    order.push_str(&route.first.trunk);
    order.push_str(" fails: ");
    let before_legs = order.len();
    for leg in later {
        if order.len() > before_legs {
            order.push_str(", then ");
        }
        order.push_str(&leg.hop.trunk);
        order.push(' ');
        match input.failover {
            Failover::ByHost => {
                let target = leg.hop.request_uri(leg.outbound);
                order.push_str(&target);
                let rendered = render(input, leg, store, &mut call);
                verdict.alternates.push(Attempt {
                    route: leg.route.id.to_owned(),
                    kind: leg.route.kind,
                    trunk: leg.hop.trunk.clone(),
                    target,
                    output: rendered.output,
                });
            }
            // Only an ELIN gateway's leg chooses an ELIN, and the first one whose
            // message renders keeps it for the call (and its callback mapping), as
            // with ByHost.
            Failover::FirstTrunkOnly => {
                leg.hop.push_request_uri(leg.outbound, &mut order);
                if call.elin.is_none() && leg.hop.kind == TrunkKind::ElinGateway {
                    render(input, leg, store, &mut call);
                }
            }
        }
    }
    // Every leg is rendered: the first leg's plan is now the only holder of the call's
    // location edits, and moves them into the verdict.
    let PerCall { elin, location } = call;
    drop(location);
    let (edits, notes) = first.plan.into_parts();
    verdict.report.trace.extend(notes);
    if let Some(why) = first.degraded {
        verdict.degrade(why);
    }
    verdict.output = first.output;
    verdict.edits = edits;
    if order.len() > before_legs {
        verdict.report.trace.push(order);
    }
    if let Some((number, entry)) = elin {
        verdict.report.elin = Some(number.clone());
        store.put(&number, entry);
    }
}

/// What the legs of one call share, worked out by the first leg that needs it.
struct PerCall<'a> {
    /// The ELIN the call holds, chosen by the first ELIN-gateway leg and kept by the
    /// others.
    elin: Option<(String, CallbackEntry)>,
    /// The location edits (PIDF-LO, multipart body, Geolocation, the provider profile's
    /// additions) and their trace notes, the same for every SIP-trunk leg with the same
    /// profile: written once per call and profile.
    location: Vec<(&'a ProviderProfile, Result<Rc<LocationEdits>, String>)>,
}

/// The location edits of a call and the notes they add to the trace.
#[derive(Clone)]
struct LocationEdits {
    ops: Vec<EditOp>,
    notes: Vec<String>,
}

/// The message for one leg: the whole rewrite, or (if it fails) the Request-URI and
/// `Route` alone, or the message as received; never a refusal.
fn render<'a>(
    input: &Input<'_, '_>,
    leg: &Leg<'a>,
    store: &dyn CallbackStore,
    call: &mut PerCall<'a>,
) -> Rendered {
    let planned = plan(input, leg, store, call).and_then(|mut plan| {
        apply_checked(input.msg, plan.ops())
            .map(|bytes| {
                if let (Some(chosen), None) = (plan.elin.take(), &call.elin) {
                    call.elin = Some(chosen);
                }
                (plan, bytes)
            })
            .map_err(|err| format!("rewrite refused ({err})"))
    });
    let reason = match planned {
        Ok((plan, bytes)) => {
            return Rendered {
                plan,
                output: Output::Rewritten(bytes),
                degraded: None,
            };
        }
        Err(reason) => reason,
    };
    // Never block: send the call to the trunk with nothing else changed (but never
    // forward an identity we were told not to believe).
    let mut ops = Vec::new();
    route_ops(input, leg, &mut ops);
    if input.facts.strips_asserted_identity() {
        ops.extend(strip_asserted_identity(input.msg));
    }
    let trunk = &leg.hop.trunk;
    match apply_checked(input.msg, &ops) {
        Ok(bytes) if !ops.is_empty() => Rendered {
            plan: Plan::new(ops),
            output: Output::Rewritten(bytes),
            degraded: Some(format!(
                "{reason}: forwarded to {trunk} with only the Request-URI/Route changed"
            )),
        },
        _ => Rendered {
            plan: Plan::new(Vec::new()),
            output: Output::Unchanged,
            degraded: Some(format!("{reason}: forwarded unchanged towards {trunk}")),
        },
    }
}

fn plan<'a>(
    input: &Input<'_, '_>,
    leg: &Leg<'a>,
    store: &dyn CallbackStore,
    call: &mut PerCall<'a>,
) -> Result<Plan, String> {
    let hop = leg.hop;
    let mut plan = Plan::new(Vec::with_capacity(8));
    route_ops(input, leg, &mut plan.ops);
    if input.decision.kind == CallKind::Emergency {
        priority_ops(input.msg, "emergency", &mut plan.ops);
        plan.notes
            .push(match other_priority(input.msg, "emergency") {
                Some(other) => format!("Priority: {other} replaced by Priority: emergency"),
                None => "Priority: emergency".to_owned(),
            });
    }
    if input.facts.strips_asserted_identity() && hop.kind != TrunkKind::ElinGateway {
        plan.ops.extend(strip_asserted_identity(input.msg));
        plan.notes
            .push("P-Asserted-Identity from an untrusted peer removed (RFC 3325 §5)".to_owned());
    }
    match hop.kind {
        TrunkKind::SipTrunk => {
            let profile = &hop.profile;
            let shared = match call.location.iter().find(|(p, _)| *p == profile) {
                Some((_, edits)) => edits.clone()?,
                None => {
                    let mut notes = Vec::with_capacity(4);
                    let edits = location_ops(input, profile, &mut notes)
                        .map(|ops| Rc::new(LocationEdits { ops, notes }));
                    call.location.push((profile, edits.clone()));
                    edits?
                }
            };
            plan.location = Some((shared, plan.ops.len(), plan.notes.len()));
            callback_number_ops(input, &mut plan.ops, &mut plan.notes);
        }
        TrunkKind::ElinGateway => {
            let elin = match &call.elin {
                Some((elin, _)) => elin.as_str(),
                None => select_elin(input.decision.elins, store, input.ctx.now)
                    .ok_or("elin-gateway route, but the location has no ELIN")?,
            };
            let previous = store.get(elin);
            elin_ops(input, elin, &mut plan.ops)?;
            plan.notes.push(format!(
                "ELIN {elin} replaces the caller ID; a callback maps to {} until the window closes",
                input.caller().unwrap_or("(unknown)")
            ));
            plan.elin = Some((
                elin.to_owned(),
                CallbackEntry {
                    caller: input.caller().unwrap_or_default().to_owned(),
                    call_id: input.sip.call_id.as_deref().unwrap_or_default().to_owned(),
                    assigned_at: input.ctx.now,
                    expires_at: input.decision.callback_until,
                    uses: previous.map_or(1, |p| p.uses.saturating_add(1)),
                    policy: input.decision.policy.map(|p| p.id.to_owned()),
                },
            ));
        }
        TrunkKind::LocalGateway => {
            if leg.route.kind != RouteKind::Ecrc {
                plan.notes.push(
                    "local gateway (PS-ALI): no location added, the carrier has the line's address"
                        .to_owned(),
                );
            }
        }
    }
    Ok(plan)
}

/// The Request-URI the trunk receives (what was dialled after masks, or the route's own
/// number) and the `Route` that leads to it, if any.
fn route_ops(input: &Input<'_, '_>, leg: &Leg<'_>, ops: &mut Vec<EditOp>) {
    let Some(target) = leg.outbound.map(|o| o.request_target(leg.hop)) else {
        return;
    };
    ops.push(EditOp::SetRequestUri(target.uri));
    if let Some(route) = target.route {
        // RFC 3261 §16.6 step 7: a proxy that adds a Route pushes it on top of the set.
        let position = fields(input.msg, HeaderKind::Route)
            .next()
            .map_or(Position::End, Position::Before);
        ops.push(EditOp::InsertHeader {
            name: "Route".into(),
            value: route,
            position,
        });
    }
}

/// PIDF-LO in the body, named by `Geolocation` (RFC 6442 §4.1), routable (§4.2), with
/// what the trunk's provider profile adds ([`provider`]). Our document replaces any
/// PIDF-LO part the client sent: the decision chose one location, and the audit record
/// keeps the comparison.
fn location_ops(
    input: &Input<'_, '_>,
    profile: &ProviderProfile,
    notes: &mut Vec<String>,
) -> Result<Vec<EditOp>, String> {
    let token = token(input.sip.call_id.as_deref().unwrap_or_default());
    let mut ops = provider::header_ops(input, profile, &token, notes);
    let location = chosen_location(input);
    let pidf = match &location {
        Some(location) => Some(write_pidf(input, profile, location.as_ref(), notes)?),
        None => {
            notes.push("no location to insert".to_owned());
            None
        }
    };
    let (data, data_ops) = provider::data_parts(input, profile, &token, notes);
    if pidf.is_none() && data.is_empty() {
        return Ok(ops);
    }
    let cid = [token.as_str(), "@", input.ctx.node].concat();
    let kept = kept_parts(input.msg);
    let mut parts: Vec<NewPart<'_>> = Vec::with_capacity(kept.len() + 1 + data.len());
    parts.extend(kept.iter().map(|p| NewPart::new(p.content_type, p.body)));
    if let Some(pidf) = &pidf {
        parts.push(
            NewPart::new(b"application/pidf+xml", pidf.as_bytes()).with_content_id(cid.as_bytes()),
        );
    }
    let disposition = [("Content-Disposition", DATA_PART_DISPOSITION)];
    parts.extend(data.iter().map(|d| {
        NewPart {
            headers: &disposition,
            ..NewPart::new(d.content_type.as_bytes(), d.body.as_bytes())
                .with_content_id(d.cid.as_bytes())
        }
    }));
    // A boundary the parts happen to contain is tried again with the next suffix.
    let body = ["0", "1", "2", "3"]
        .into_iter()
        .find_map(|n| multipart_mixed(["e911-", &token, "-", n].concat().as_bytes(), &parts).ok())
        .ok_or("multipart body could not be built")?;
    if pidf.is_some() {
        ops.extend(
            [HeaderKind::Geolocation, HeaderKind::GeolocationRouting]
                .into_iter()
                .flat_map(|kind| fields(input.msg, kind))
                .map(|field| EditOp::RemoveHeader { field }),
        );
        let loc_src = provider::loc_src(profile);
        ops.push(EditOp::header(
            "Geolocation",
            ["<cid:", &cid, ">", &loc_src].concat(),
        ));
        ops.push(EditOp::header("Geolocation-Routing", "yes".to_owned()));
        notes.push(
            [
                "PIDF-LO inserted as cid:",
                &cid,
                &loc_src,
                ", Geolocation-Routing: yes",
            ]
            .concat(),
        );
    }
    ops.extend(data_ops);
    ops.push(EditOp::SetBody {
        // The builder writes `multipart/mixed;boundary=` and our boundary: ASCII, moved
        // rather than copied.
        content_type: String::from_utf8(body.content_type)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        body: body.body,
    });
    Ok(ops)
}

/// The location the PIDF-LO carries: the client's own, or the chosen ERL's address with
/// this call's timestamp, method and usage rules. The ERL's address is borrowed from the
/// bundle, not copied.
enum Chosen<'a> {
    Client(&'a Location),
    Erl {
        civic: &'a CivicAddress,
        civic_markup: &'a CivicMarkup,
        shape: Option<Shape>,
        method: Option<&'a Method>,
        timestamp: Timestamp,
        usage_rules: UsageRules,
    },
}

impl Chosen<'_> {
    fn as_ref(&self) -> LocationRef<'_> {
        match self {
            Self::Client(location) => location.as_ref(),
            Self::Erl {
                civic,
                civic_markup,
                shape,
                method,
                timestamp,
                usage_rules,
            } => LocationRef {
                civic: Some(civic),
                shape: shape.as_ref(),
                method: *method,
                timestamp: Some(timestamp.as_str()),
                usage_rules,
                civic_markup: Some(civic_markup),
            },
        }
    }
}

fn chosen_location<'a>(input: &Input<'a, '_>) -> Option<Chosen<'a>> {
    let choice = input.decision.location.as_ref()?;
    match choice.source {
        LocationSource::Client => {
            let found = input.client.pidf()?.preferred()?;
            Some(Chosen::Client(&found.location))
        }
        LocationSource::Network | LocationSource::Static | LocationSource::ClientElin => {
            let erl = choice.erl?;
            Some(Chosen::Erl {
                civic: &erl.civic,
                civic_markup: erl.civic_markup(),
                shape: erl.point.map(Shape::Point),
                method: choice.method.as_ref(),
                timestamp: Timestamp::of(input.ctx.now),
                usage_rules: UsageRules::retransmission_allowed(),
            })
        }
    }
}

/// The presentity is the caller (RFC 4119 §2.2.1); a caller URI the schema refuses as an
/// `anyURI` (an IPv6 literal, say) gives way to a `pres:` URI on this node.
fn write_pidf(
    input: &Input<'_, '_>,
    profile: &ProviderProfile,
    location: LocationRef<'_>,
    notes: &mut Vec<String>,
) -> Result<String, String> {
    let caller = input.caller().map(strip_uri_params).map(Cow::Borrowed);
    // Built only when the caller's URI is refused.
    let fallback = iter::once_with(|| Cow::Owned(["pres:e911@", input.ctx.node].concat()));
    let mut last = String::new();
    for entity in caller.into_iter().chain(fallback) {
        let mut options_notes = Vec::new();
        let mut options = provider::pidf_options(input, profile, &entity, &mut options_notes);
        let mut written = write_pidf_lo(location, &options);
        if let Err(WriteError::ExtensionUri(uri)) = &written {
            // The location matters more than Lync's extension: without it, the provider
            // still gets the PIDF-LO (a bad extension URI must not cost the call its
            // location).
            options_notes.push(format!(
                "msftE911PidfExtn not written: {uri:?} is not a URI"
            ));
            options.msft_extension = None;
            written = write_pidf_lo(location, &options);
        }
        match written {
            Ok(doc) => {
                notes.extend(options_notes);
                return Ok(doc);
            }
            Err(err) => last = err.to_string(),
        }
    }
    Err(format!("PIDF-LO not written: {last}"))
}

/// One body part to carry over into the new multipart body, borrowed from the message.
struct KeptPart<'m> {
    content_type: &'m [u8],
    body: &'m [u8],
}

/// The original body's parts, less any PIDF-LO (ours replaces it).
fn kept_parts<'m>(msg: &Message<'m>) -> Vec<KeptPart<'m>> {
    const PIDF: &[u8] = b"application/pidf+xml";
    let is_pidf = |ct: &[u8]| {
        ct.get(..PIDF.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(PIDF))
    };
    if msg.body().is_empty() {
        return Vec::new();
    }
    let whole = KeptPart {
        content_type: msg
            .header(HeaderKind::ContentType)
            .unwrap_or(b"application/octet-stream"),
        body: msg.body(),
    };
    if !msg.content_type().is_ok_and(|ct| ct.is_multipart()) {
        return vec![whole];
    }
    match msg.multipart(&STRICT_UNBOUNDED) {
        Ok(parts) => parts
            .iter()
            .map(|p| KeptPart {
                content_type: p.header(HeaderKind::ContentType).unwrap_or(b"text/plain"),
                body: p.body(),
            })
            .filter(|p| !is_pidf(p.content_type))
            .collect(),
        // A multipart body we cannot split travels as one opaque part.
        Err(_) => vec![whole],
    }
}

/// RFC 3325: the callback number. A trusted caller without P-Asserted-Identity whose From
/// is a telephone number gets it asserted, so the PSAP sees a number it can call back. An
/// untrusted peer's From is never asserted: we would vouch for a claim we cannot check.
fn callback_number_ops(input: &Input<'_, '_>, ops: &mut Vec<EditOp>, notes: &mut Vec<String>) {
    let msg = input.msg;
    if msg.has(HeaderKind::PAssertedIdentity) || input.facts.peer() != Peer::Enterprise {
        return;
    }
    let Ok(from) = msg.from() else {
        return;
    };
    let Ok(uri) = from.uri() else {
        return;
    };
    let is_number = uri
        .user()
        .is_some_and(|u| u.first() == Some(&b'+') && u.len() > 1);
    if !is_number && uri.as_tel().is_none() {
        notes.push("no telephone number to assert as the callback number".to_owned());
        return;
    }
    let value = ["<", &String::from_utf8_lossy(from.uri), ">"].concat();
    notes.push(["callback number asserted: P-Asserted-Identity: ", &value].concat());
    ops.push(EditOp::header("P-Asserted-Identity", value));
}

/// The ELIN in From (keeping display name and tag: the tag identifies the dialog,
/// RFC 3261 §8.1.1.3) and as the only P-Asserted-Identity.
fn elin_ops(input: &Input<'_, '_>, elin: &str, ops: &mut Vec<EditOp>) -> Result<(), String> {
    let msg = input.msg;
    let host = input.caller().and_then(uri_host);
    let host = host.as_deref().unwrap_or(input.ctx.node);
    let uri = format!("sip:{elin}@{host};user=phone");
    let from_field = first_field(msg, HeaderKind::From).ok_or("no From header")?;
    let from = msg
        .from()
        .map_err(|err| format!("From does not parse ({err})"))?;
    let display = from
        .display_name
        .map(quoted_display_name)
        .unwrap_or_default();
    let params = from.params.as_bytes();
    let params = if params.is_empty() {
        String::new()
    } else {
        format!(";{}", String::from_utf8_lossy(params))
    };
    ops.push(EditOp::ReplaceHeader {
        field: from_field,
        value: format!("{display}<{uri}>{params}"),
    });
    ops.extend(strip_asserted_identity(msg));
    ops.push(EditOp::header("P-Asserted-Identity", format!("<{uri}>")));
    Ok(())
}

/// RFC 3261 §25.1 `quoted-string`. The view gives the inside of the quotes with its
/// quoted-pairs as written, or unquoted tokens (which hold neither a quote nor a backslash), so
/// wrapping it in quotes is always well-formed.
fn quoted_display_name(name: &[u8]) -> String {
    format!("\"{}\" ", String::from_utf8_lossy(name))
}

fn first_field(msg: &Message<'_>, kind: HeaderKind) -> Option<u32> {
    fields(msg, kind).next()
}

fn strip_uri_params(uri: &str) -> &str {
    // `sip:+1425…@contoso.com;user=phone` → `sip:+1425…@contoso.com`: parameters start at
    // the first `;` after the `@` (one before it belongs to the user part).
    let Some(host) = uri.find('@') else {
        return uri;
    };
    match uri.get(host..).and_then(|rest| rest.find(';')) {
        Some(semi) => uri.get(..host + semi).unwrap_or(uri),
        None => uri,
    }
}

/// A short, stable token from the Call-ID: Content-IDs and boundaries must be unique per
/// call and the same on every run of the same call.
fn token(call_id: &str) -> String {
    fnv1a_hex(0xcbf2_9ce4_8422_2325, call_id)
}

/// FNV-1a (64 bits) of `text` from the offset basis `basis`, as 16 hex digits: the
/// stable per-call tokens the emergency path writes (Content-IDs, boundaries, NENA ids).
pub(crate) fn fnv1a_hex(basis: u64, text: &str) -> String {
    let hash = text.bytes().fold(basis, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [b'0'; 16];
    for (shift, slot) in (0..16).rev().zip(&mut digits) {
        let nibble = (hash >> (shift * 4)) & 0xf;
        *slot = HEX.get(nibble as usize).copied().unwrap_or(b'0');
    }
    // Hex digits only: always UTF-8.
    core::str::from_utf8(&digits).unwrap_or_default().to_owned()
}

/// Whether this decision is a test call (notifications and metrics say so).
pub(crate) fn is_test(decision: &Decision<'_>) -> bool {
    decision.kind == CallKind::Test
}

#[cfg(test)]
mod tests {
    use super::strip_uri_params;

    #[test]
    fn strips_uri_parameters_but_not_user_parameters() {
        assert_eq!(
            strip_uri_params("sip:+14255550101@contoso.com;user=phone"),
            "sip:+14255550101@contoso.com"
        );
        assert_eq!(
            strip_uri_params("sip:911;phone-context=x@contoso.com;user=phone"),
            "sip:911;phone-context=x@contoso.com"
        );
        assert_eq!(
            strip_uri_params("sip:alice@contoso.com"),
            "sip:alice@contoso.com"
        );
        assert_eq!(
            strip_uri_params("tel:+14255550142;ext=1"),
            "tel:+14255550142;ext=1"
        );
    }
}
