//! [`Policy::evaluate`]: DESIGN §3 steps 2 (classify), 4 (location), 5 (policy) and 6
//! (route), on plain facts.

use core::net::IpAddr;

use e911_location::lis::{ElementKind, NetworkFacts};
use e911_location::{CivicElement, Location, Method};

use crate::decision::{
    CallKind, Decision, Dialog, LocationChoice, LocationSource, Matched, Mismatch, Outbound,
    PolicyChoice, PolicyReason, Request, RouteChoice, RouteKind, RouteReason,
};
use crate::dial_plan::{forms, same};
use crate::model::{Combine, EmergencyNumber, LocationPolicy, Route, TrunkKind, Validation};
use crate::trust::{Peer, TrustedFacts};
use crate::{Caller, Policy};

/// A client point further than this from the ERL's point counts as a different place.
const MISMATCH_METRES: f64 = 200.0;

impl Policy {
    /// Decides what to do with one request. Never fails: a request that cannot be
    /// classified is not an emergency call, and an emergency call always gets a decision
    /// (with whatever location and route could be determined). Takes only what the trust
    /// step let through ([`Policy::trust`]).
    pub fn evaluate(&self, facts: &TrustedFacts<'_>) -> Decision<'_> {
        // RFC 3261 §12.2: a request with a To tag belongs to an existing dialog; only a new
        // INVITE can be a new emergency call.
        if facts.request() != Request::Invite || facts.dialog() != Dialog::OutOfDialog {
            return Decision::none();
        }
        let caller_ip = facts.caller_ip();
        let caller = facts.verified_caller().and_then(|c| self.caller(c));
        let Some((choice, policy)) = self.resolve_policy(caller_ip, caller) else {
            return Decision::none();
        };
        let (kind, matched) = classify(facts, policy);
        let mut decision = Decision {
            kind,
            matched,
            policy: Some(choice),
            trusted_peer: facts.peer() == Peer::Enterprise,
            ..Decision::none()
        };
        if kind == CallKind::None {
            return decision;
        }
        decision.enabled = policy.enabled;
        decision.location_required = Some(policy.location_required);
        decision.notifications = match (kind, &policy.test_notifications) {
            (CallKind::Test, Some(targets)) => targets,
            _ => &policy.notifications,
        };
        decision.conference = policy.conference.as_ref();
        decision.callback_window_secs = policy.callback_window_secs;
        decision.callback_until = facts
            .now()
            .saturating_add(u64::from(policy.callback_window_secs));
        let network = NetworkFacts {
            ip: caller_ip,
            bssid: facts.bssid(),
            chassis: facts.chassis(),
            port: facts.port(),
        };
        decision.location =
            self.acquire_location(&network, caller, facts.client_location(), policy.combine);
        decision.elins = decision
            .location
            .as_ref()
            .and_then(|l| l.erl)
            .map_or(&[], |erl| erl.elins.as_slice());
        if policy.enabled && decision.elins.is_empty() {
            self.client_elin(policy, facts, &mut decision);
        }
        if policy.enabled {
            decision.route = self.choose_route(policy, &decision);
            decision.outbound = decision
                .route
                .as_ref()
                .and_then(|r| outbound(policy, decision.matched.as_ref()?, r));
            decision.fallback = self.fallback(policy, &decision);
        }
        decision
    }

    /// Site (by the caller's subnet) beats caller-specific beats tenant global.
    fn resolve_policy<'p>(
        &'p self,
        ip: Option<IpAddr>,
        caller: Option<&'p Caller>,
    ) -> Option<(PolicyChoice<'p>, &'p LocationPolicy)> {
        let own = caller.and_then(|c| Some((c, self.policies.get(c.policy? as usize)?)));
        let site = ip
            .and_then(|ip| self.site_map.locate_ip(ip))
            .and_then(|s| self.sites.get(s as usize));
        let (index, reason) = match (site, own) {
            (Some(site), _) => (site.policy, PolicyReason::Site { site: &site.id }),
            (None, Some((caller, _))) => (
                caller.policy?,
                PolicyReason::Caller {
                    identity: &caller.identity,
                },
            ),
            (None, None) => (self.settings.global_policy, PolicyReason::Global),
        };
        let policy = self.policies.get(index as usize)?;
        let outranked = match (site, own) {
            (Some(_), Some((_, mine))) if mine.id != policy.id => Some(mine.id.as_str()),
            _ => None,
        };
        Some((
            PolicyChoice {
                id: &policy.id,
                index,
                reason,
                outranked,
            },
            policy,
        ))
    }

    /// DESIGN §3 step 4: the network's (or a static) location, combined with the client's.
    fn acquire_location(
        &self,
        network: &NetworkFacts<'_>,
        caller: Option<&Caller>,
        client: Option<&Location>,
        combine: Combine,
    ) -> Option<LocationChoice<'_>> {
        let fixed = self.fixed_location(network, caller);
        let client =
            client.filter(|l| l.civic.as_ref().is_some_and(|c| !c.is_empty()) || l.shape.is_some());
        let mismatch = match (&fixed, client) {
            (Some(f), Some(c)) => compare(f, c),
            _ => Mismatch::NotCompared,
        };
        let client_choice = |c: &Location| LocationChoice {
            source: LocationSource::Client,
            erl: None,
            erl_index: None,
            element: None,
            method: c.method.clone(),
            validation: match (&fixed, mismatch) {
                (Some(f), Mismatch::Agrees) => f.validation,
                _ => Validation::NotValidated,
            },
            mismatch,
        };
        let chosen = match combine {
            Combine::NetworkOnly => fixed.clone(),
            Combine::ClientOnly => client.map(client_choice),
            Combine::PreferNetwork => fixed.clone().or_else(|| client.map(client_choice)),
            Combine::PreferClient => client.map(client_choice).or_else(|| fixed.clone()),
        };
        chosen.map(|c| LocationChoice { mismatch, ..c })
    }

    /// A caller's static location, else the network map's answer. The static one wins: an
    /// analog line's ATA sits on a subnet that says where the ATA is, not the phone.
    fn fixed_location(
        &self,
        network: &NetworkFacts<'_>,
        caller: Option<&Caller>,
    ) -> Option<LocationChoice<'_>> {
        let (erl_index, source, element, method) = match caller.and_then(|c| c.location) {
            // Provisioned for the line (an analog DID's port, a PS-ALI record), not typed by
            // a user: `Manual` would tell a Lync-style provider the address cannot be
            // trusted ([MS-SIPRE] §2.2.23) and send the call to its ECRC.
            Some(erl) => (erl, LocationSource::Static, None, Method::Wiremap),
            None => {
                let found = self.network.locate(network)?;
                let method = if found.kind == ElementKind::Bssid {
                    Method::Wifi
                } else {
                    Method::Wiremap
                };
                (found.erl, LocationSource::Network, Some(found.kind), method)
            }
        };
        let erl = self.erls.get(erl_index as usize)?;
        Some(LocationChoice {
            source,
            erl: Some(erl),
            erl_index: Some(erl_index),
            element,
            method: Some(method),
            validation: erl.validation,
            mismatch: Mismatch::NotCompared,
        })
    }

    /// On an ELIN route whose location gave no ELIN: an ELIN the client put in its
    /// PIDF-LO (Lync clients send the LIS's ELIN in `NAM`), believed only from a trusted
    /// peer (an outsider could name someone else's ELIN and have PSAP callbacks sent to
    /// itself) and only when it is one of a configured ERL's. The call then holds that ELIN
    /// and is located at its ERL.
    fn client_elin<'p>(
        &'p self,
        policy: &LocationPolicy,
        facts: &TrustedFacts<'_>,
        decision: &mut Decision<'p>,
    ) {
        let main = own_route(policy, decision)
            .0
            .and_then(|r| self.routes.get(r as usize));
        if facts.peer() != Peer::Enterprise || first_kind(main) != Some(TrunkKind::ElinGateway) {
            return;
        }
        let Some(client) = facts.client_location() else {
            return;
        };
        let Some(owner) = client.elins.iter().find_map(|e| self.elin(e)) else {
            return;
        };
        decision.location = Some(LocationChoice {
            source: LocationSource::ClientElin,
            erl: Some(owner.erl),
            erl_index: Some(owner.erl_index),
            element: None,
            method: client.method.clone(),
            validation: owner.erl.validation,
            mismatch: decision
                .location
                .as_ref()
                .map_or(Mismatch::NotCompared, |l| l.mismatch),
        });
        let held = owner.erl.elins.iter().find(|e| e.as_str() == owner.elin);
        decision.elins = held.map_or(&[], core::slice::from_ref);
    }

    /// DESIGN §3 step 6: the route of the number dialled (or the policy's), or the ECRC
    /// route when the location is missing, unvalidated (where the policy says so) or
    /// lacks the ELIN a gateway needs. A test call always takes its own route: sent to an
    /// ECRC it would reach a person as a real emergency, and the read-back it is for
    /// says plainly that no address is on file.
    fn choose_route(
        &self,
        policy: &LocationPolicy,
        decision: &Decision<'_>,
    ) -> Option<RouteChoice<'_>> {
        let (own, why) = own_route(policy, decision);
        let main = own.and_then(|r| self.routes.get(r as usize));
        let reason = match decision.location.as_ref() {
            _ if decision.kind == CallKind::Test => None,
            None => Some(RouteReason::NoLocation),
            Some(l) if l.validation == Validation::NotValidated && policy.unvalidated_to_ecrc => {
                Some(RouteReason::Unvalidated)
            }
            Some(l)
                if first_kind(main) == Some(TrunkKind::ElinGateway)
                    && l.erl.is_none_or(|e| e.elins.is_empty()) =>
            {
                Some(RouteReason::NoElin)
            }
            Some(_) => None,
        };
        let ecrc = policy.ecrc_route.and_then(|r| self.routes.get(r as usize));
        match (reason, ecrc) {
            (Some(reason), Some(route)) => choice(route, RouteKind::Ecrc, reason),
            // No ECRC route configured: the call still goes out on its own route.
            _ => main.and_then(|route| choice(route, RouteKind::of(route.hops.first()?.kind), why)),
        }
    }
}

impl Policy {
    /// DESIGN §2.6: after the last trunk of an emergency call's route, the ECRC route,
    /// where a person answers whatever else has failed.
    fn fallback<'p>(
        &'p self,
        policy: &'p LocationPolicy,
        decision: &Decision<'p>,
    ) -> Option<(RouteChoice<'p>, Outbound<'p>)> {
        let route = decision.route.as_ref()?;
        if decision.kind != CallKind::Emergency || route.kind == RouteKind::Ecrc {
            return None;
        }
        let ecrc = self.routes.get(policy.ecrc_route? as usize)?;
        if ecrc.id == route.id {
            return None;
        }
        let choice = choice(ecrc, RouteKind::Ecrc, RouteReason::Failover)?;
        let outbound = outbound(policy, decision.matched.as_ref()?, &choice)?;
        Some((choice, outbound))
    }
}

/// What the route's trunks receive: the route's `dial` (the ECRC's number) when it has
/// one, else what was dialled after masks and prefixes.
fn outbound<'p>(
    policy: &'p LocationPolicy,
    matched: &Matched<'p>,
    route: &RouteChoice<'p>,
) -> Option<Outbound<'p>> {
    if let Some(dial) = route.dial {
        return Some(Outbound::Number(dial));
    }
    Some(match matched {
        Matched::Number { number, .. } => Outbound::Number(&number.dial_string),
        Matched::TestNumber { number, .. } => Outbound::Number(number),
        Matched::ServiceUrn(urn) => {
            let number = if is_test_urn(urn) {
                policy.test_numbers.first()
            } else {
                policy.numbers.first().map(|n| &n.dial_string)
            };
            Outbound::Urn {
                urn: urn.clone(),
                number: number.map(String::as_str),
            }
        }
    })
}

/// The route the call's own number (or the policy) names, before any ECRC diversion.
fn own_route(policy: &LocationPolicy, decision: &Decision<'_>) -> (Option<u32>, RouteReason) {
    match &decision.matched {
        Some(Matched::Number {
            number: EmergencyNumber { route: Some(r), .. },
            ..
        }) => (Some(*r), RouteReason::Number),
        Some(Matched::Number { .. }) => (policy.route, RouteReason::Policy),
        _ => (policy.default_route(), RouteReason::Policy),
    }
}

fn first_kind(route: Option<&Route>) -> Option<TrunkKind> {
    route?.hops.first().map(|h| h.kind)
}

fn choice(route: &Route, kind: RouteKind, reason: RouteReason) -> Option<RouteChoice<'_>> {
    let first = route.hops.first()?;
    Some(RouteChoice {
        id: &route.id,
        kind,
        first,
        hops: &route.hops,
        dial: route.dial.as_deref(),
        reason,
    })
}

/// RFC 5031 §4.2: `sos` and its sub-services (`sos.fire`, `sos.police`, …) are emergency
/// services; RFC 6881 §15 adds `test.sos` (and sub-services) for test calls.
fn under(urn: &str, root: &str) -> bool {
    urn == root
        || urn
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn is_test_urn(urn: &str) -> bool {
    under(urn, "urn:service:test.sos")
}

/// DESIGN §3 step 2, before any dial-plan rule.
fn classify<'p>(
    facts: &TrustedFacts<'_>,
    policy: &'p LocationPolicy,
) -> (CallKind, Option<Matched<'p>>) {
    if let Some(urn) = facts.service_urn() {
        let urn = urn.trim().to_ascii_lowercase();
        if under(&urn, "urn:service:sos") {
            return (CallKind::Emergency, Some(Matched::ServiceUrn(urn)));
        }
        if is_test_urn(&urn) {
            return (CallKind::Test, Some(Matched::ServiceUrn(urn)));
        }
    }
    let Some(dialed) = facts.dialed() else {
        return (CallKind::None, None);
    };
    for (prefix, form) in forms(dialed, &policy.outside_line_prefixes) {
        for number in &policy.numbers {
            if same(&number.dial_string, form) {
                let matched = Matched::Number {
                    number,
                    mask: None,
                    prefix,
                };
                return (CallKind::Emergency, Some(matched));
            }
            if let Some(mask) = number.masks.iter().find(|m| same(m, form)) {
                let matched = Matched::Number {
                    number,
                    mask: Some(mask),
                    prefix,
                };
                return (CallKind::Emergency, Some(matched));
            }
        }
        if let Some(t) = policy.test_numbers.iter().find(|t| same(t, form)) {
            return (
                CallKind::Test,
                Some(Matched::TestNumber { number: t, prefix }),
            );
        }
    }
    (CallKind::None, None)
}

/// Whether the client's location agrees with the ERL: the street address and floor when
/// both are civic, else the distance between points.
fn compare(fixed: &LocationChoice<'_>, client: &Location) -> Mismatch {
    let Some(erl) = fixed.erl else {
        return Mismatch::NotCompared;
    };
    if let Some(civic) = client.civic.as_ref().filter(|c| !c.is_empty()) {
        use CivicElement as E;
        let same = |e: CivicElement| match (civic.get(e), erl.civic.get(e)) {
            (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
            (None, None) => true,
            // A client that leaves out the floor has not said it is elsewhere.
            _ => e == E::Flr,
        };
        let agrees = [E::Country, E::A1, E::A3, E::Rd, E::Hno, E::Flr]
            .into_iter()
            .all(same);
        return if agrees {
            Mismatch::Agrees
        } else {
            Mismatch::Differs
        };
    }
    let (Some(point), Some(theirs)) = (
        erl.point,
        client.shape.as_ref().and_then(|s| s.reference_point()),
    ) else {
        return Mismatch::NotCompared;
    };
    if distance_metres(
        point.latitude,
        point.longitude,
        theirs.latitude,
        theirs.longitude,
    ) <= MISMATCH_METRES
    {
        Mismatch::Agrees
    } else {
        Mismatch::Differs
    }
}

/// Equirectangular distance: accurate to well under a metre at the scale of a campus.
fn distance_metres(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_000.0;
    let mean_lat = ((lat1 + lat2) / 2.0).to_radians();
    let x = (lon2 - lon1).to_radians() * mean_lat.cos();
    let y = (lat2 - lat1).to_radians();
    (x * x + y * y).sqrt() * EARTH_RADIUS_M
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
