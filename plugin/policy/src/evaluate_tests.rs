//! One row per call shape, against the `policies/contoso` example bundle.

use super::*;
use crate::decision::CallFacts;
use crate::testdata::{contoso, contoso_with};
use e911_location::CivicAddress;

fn invite(dialed: &'static str, peer: &str) -> CallFacts<'static> {
    CallFacts {
        dialed: Some(dialed),
        peer_ip: peer.parse().ok(),
        now: 1_800_000_000,
        ..CallFacts::default()
    }
}

/// One line per decision: kind | policy and why | location | route.
fn summary(d: &Decision<'_>) -> String {
    let policy = d.policy.map_or(String::from("-"), |p| {
        let why = match p.reason {
            PolicyReason::Site { site } => format!("site {site}"),
            PolicyReason::Caller { .. } => String::from("caller"),
            PolicyReason::Global => String::from("global"),
        };
        format!("{} by {why}", p.id)
    });
    let location = d.location.as_ref().map_or(String::from("-"), |l| {
        let erl = l.erl.map_or("client", |e| e.id.as_str());
        let element = l.element.map_or(String::new(), |e| format!(" {e}"));
        format!("{} {erl}{element}", l.source.as_str())
    });
    let route = d.route.map_or(String::from("-"), |r| {
        format!("{} {}", r.id, r.kind.as_str())
    });
    format!("{} | {policy} | {location} | {route}", d.kind.as_str())
}

#[test]
fn decides_every_contoso_call_shape() {
    let policy = contoso();
    let rows: Vec<(&str, CallFacts<'static>, &str)> = vec![
        (
            "HQ wired",
            invite("911", "10.1.0.61"),
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "HQ wired, floor 2 subnet",
            invite("911", "10.1.2.9"),
            "emergency | redmond by global | network redmond-b40-f2 subnet | redmond-esp sip-trunk",
        ),
        (
            "HQ Wi-Fi",
            CallFacts {
                bssid: Some("001122334455"),
                ..invite("911", "10.1.0.77")
            },
            "emergency | redmond by global | network redmond-b40-f2 bssid | redmond-esp sip-trunk",
        ),
        (
            "HQ Wi-Fi, wildcard radio",
            CallFacts {
                bssid: Some("00:11:22:33:44:6b"),
                ..invite("911", "10.1.2.77")
            },
            "emergency | redmond by global | network redmond-b40-f1 bssid | redmond-esp sip-trunk",
        ),
        (
            "HQ switch port",
            CallFacts {
                chassis: Some("00-aa-bb-cc-dd-ee"),
                port: Some("Gi1/0/7"),
                ..invite("911", "10.1.0.61")
            },
            "emergency | redmond by global | network redmond-b40-f2 port | redmond-esp sip-trunk",
        ),
        (
            "HQ switch, other port",
            CallFacts {
                chassis: Some("00aabbccddee"),
                port: Some("Gi1/0/8"),
                ..invite("911", "10.1.2.61")
            },
            "emergency | redmond by global | network redmond-b40-f1 chassis | redmond-esp sip-trunk",
        ),
        (
            "HQ IPv6",
            invite("911", "2001:db8:1::5"),
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "Wichita visitor from Redmond",
            CallFacts {
                caller: Some("sip:alice@contoso.com"),
                ..invite("911", "10.2.3.4")
            },
            "emergency | wichita by site wichita | network wichita-f1 subnet | wichita-elin elin-gateway",
        ),
        (
            "unknown subnet goes to the ECRC",
            invite("911", "192.0.2.10"),
            "emergency | redmond by global | - | redmond-ecrc ecrc",
        ),
        (
            "untrusted peer's BSSID is ignored",
            CallFacts {
                bssid: Some("001122334455"),
                ..invite("911", "192.0.2.10")
            },
            "emergency | redmond by global | - | redmond-ecrc ecrc",
        ),
        (
            "933 test call",
            invite("933", "10.1.0.61"),
            "test | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "9911 behind the outside-line prefix",
            invite("9911", "10.1.0.61"),
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "112 dial mask",
            invite("112", "10.1.0.61"),
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "+911",
            invite("+911", "10.1.0.61"),
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "9111 is an extension",
            invite("9111", "10.1.0.61"),
            "none | redmond by global | - | -",
        ),
        (
            "0911 is not 911",
            invite("0911", "10.1.0.61"),
            "none | redmond by global | - | -",
        ),
        (
            "ordinary call",
            invite("+14255550123", "10.1.0.61"),
            "none | redmond by global | - | -",
        ),
        (
            "analog DID",
            CallFacts {
                caller: Some("tel:+14255550142"),
                ..invite("911", "10.1.9.2")
            },
            "emergency | analog-ps-ali by caller | static redmond-b40-lobby | redmond-ps-ali local-gateway",
        ),
        (
            "non-INVITE 911",
            CallFacts {
                request: Request::Other,
                ..invite("911", "10.1.0.61")
            },
            "none | - | - | -",
        ),
        (
            "in-dialog re-INVITE",
            CallFacts {
                dialog: Dialog::InDialog,
                ..invite("911", "10.1.0.61")
            },
            "none | - | - | -",
        ),
        (
            "urn:service:sos.fire",
            CallFacts {
                service_urn: Some("URN:Service:SOS.fire"),
                ..invite("sos", "10.1.0.61")
            },
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "urn:service:test.sos",
            CallFacts {
                service_urn: Some("urn:service:test.sos"),
                ..invite("", "10.2.0.1")
            },
            "test | wichita by site wichita | network wichita-f1 subnet | wichita-elin elin-gateway",
        ),
        (
            "urn:service:sosx is not sos",
            CallFacts {
                service_urn: Some("urn:service:sosx"),
                ..invite("", "10.1.0.1")
            },
            "none | redmond by global | - | -",
        ),
    ];
    for (name, facts, expected) in rows {
        assert_eq!(summary(&policy.evaluate(&facts)), expected, "{name}");
    }
}

#[test]
fn records_what_matched_and_why_the_site_won() {
    let policy = contoso();
    let d = policy.evaluate(&CallFacts {
        caller: Some("sip:alice@contoso.com"),
        ..invite("9112", "10.2.3.4")
    });
    assert_eq!(
        d.matched,
        Some(Matched::Number {
            dial_string: "911",
            mask: Some("112"),
            prefix: Some("9")
        })
    );
    assert_eq!(d.policy.and_then(|p| p.outranked), Some("redmond"));
    assert_eq!(d.elins, ["+13165550100", "+13165550101"]);
    assert_eq!(
        d.route.map(|r| r.first.target.as_str()),
        Some("sip:911@wichita-gw.contoso.com;transport=tcp")
    );
    assert_eq!(
        d.notifications
            .iter()
            .map(|n| n.id.as_str())
            .collect::<Vec<_>>(),
        ["wichita-security"]
    );
    assert_eq!(d.callback_until, 1_800_000_000 + 30 * 60);
    let trace = d.to_string();
    assert!(
        trace.contains("beats the caller's own policy `redmond`"),
        "{trace}"
    );
}

#[test]
fn ecrc_route_dials_the_ecrc_number_through_the_local_gateway() {
    let policy = contoso();
    let d = policy.evaluate(&invite("911", "192.0.2.10"));
    let route = d.route.unwrap();
    assert_eq!(
        (route.first.trunk.as_str(), route.reason),
        ("redmond-pstn", RouteReason::NoLocation)
    );
    assert_eq!(
        route.first.target,
        "sip:+18005550199@pstn-gw1.redmond.contoso.com;transport=tcp"
    );
}

#[test]
fn sip_trunk_route_lists_both_providers_in_order() {
    let policy = contoso();
    let d = policy.evaluate(&invite("911", "10.1.0.61"));
    let hops: Vec<_> = d
        .route
        .unwrap()
        .hops
        .iter()
        .map(|h| (h.trunk.as_str(), h.route_header.is_some()))
        .collect();
    assert_eq!(hops, [("esp-primary", false), ("esp-secondary", true)]);
}

fn client_at(floor: &str) -> Location {
    let civic = CivicAddress::default()
        .with(CivicElement::Country, "US")
        .with(CivicElement::A1, "WA")
        .with(CivicElement::A3, "Redmond")
        .with(CivicElement::Rd, "Microsoft")
        .with(CivicElement::Hno, "1")
        .with(CivicElement::Flr, floor);
    Location {
        method: Some(Method::Manual),
        ..Location::from_civic(civic)
    }
}

#[test]
fn combines_client_and_network_locations_per_policy_mode() {
    let floor_2 = client_at("2");
    let facts = CallFacts {
        client_location: Some(&floor_2),
        ..invite("911", "10.1.0.61")
    };
    let pick = |mode: &str| {
        let policy = contoso_with(
            "location_combine = \"prefer-network\"",
            &format!("location_combine = \"{mode}\""),
        );
        let d = policy.evaluate(&facts);
        let l = d.location.unwrap();
        (
            l.source,
            l.erl.map(|e| e.id.clone()),
            l.mismatch,
            d.route.unwrap().kind,
        )
    };
    let f1 = Some(String::from("redmond-b40-f1"));
    assert_eq!(
        pick("prefer-network"),
        (
            LocationSource::Network,
            f1.clone(),
            Mismatch::Differs,
            RouteKind::SipTrunk
        )
    );
    assert_eq!(
        pick("network-only"),
        (
            LocationSource::Network,
            f1,
            Mismatch::Differs,
            RouteKind::SipTrunk
        )
    );
    // The client's own floor-2 address is not validated here, and contoso sends
    // unvalidated locations to the ECRC.
    assert_eq!(
        pick("prefer-client"),
        (
            LocationSource::Client,
            None,
            Mismatch::Differs,
            RouteKind::Ecrc
        )
    );
    assert_eq!(
        pick("client-only"),
        (
            LocationSource::Client,
            None,
            Mismatch::Differs,
            RouteKind::Ecrc
        )
    );
}

#[test]
fn a_client_location_that_agrees_with_a_validated_erl_counts_as_validated() {
    let floor_1 = client_at("1");
    let policy = contoso_with(
        "location_combine = \"prefer-network\"",
        "location_combine = \"prefer-client\"",
    );
    let d = policy.evaluate(&CallFacts {
        client_location: Some(&floor_1),
        ..invite("911", "10.1.0.61")
    });
    let l = d.location.unwrap();
    assert_eq!(
        (l.source, l.mismatch, l.validation),
        (
            LocationSource::Client,
            Mismatch::Agrees,
            Validation::Validated
        )
    );
    assert_eq!(d.route.unwrap().kind, RouteKind::SipTrunk);
}

#[test]
fn client_only_without_a_client_location_goes_to_the_ecrc() {
    let policy = contoso_with(
        "location_combine = \"prefer-network\"",
        "location_combine = \"client-only\"",
    );
    let d = policy.evaluate(&invite("911", "10.1.0.61"));
    assert_eq!(d.location, None);
    assert_eq!(d.route.map(|r| r.reason), Some(RouteReason::NoLocation));
}

#[test]
fn disabled_policy_recognises_the_call_but_routes_nothing() {
    let policy = contoso_with(
        "[policies.redmond]\n",
        "[policies.redmond]\nenabled = false\n",
    );
    let d = policy.evaluate(&invite("911", "10.1.0.61"));
    assert_eq!(
        (d.kind, d.enabled, d.route),
        (CallKind::Emergency, false, None)
    );
    assert!(d.to_string().contains("E9-1-1 disabled"));
}

#[test]
fn client_ip_header_counts_only_from_a_trusted_peer() {
    let policy = contoso();
    let behind_proxy = CallFacts {
        client_ip: "10.2.9.9".parse().ok(),
        ..invite("911", "10.1.0.1")
    };
    assert_eq!(
        policy.evaluate(&behind_proxy).policy.map(|p| p.id),
        Some("wichita")
    );
    let spoofed = CallFacts {
        client_ip: "10.2.9.9".parse().ok(),
        ..invite("911", "192.0.2.1")
    };
    assert_eq!(
        policy.evaluate(&spoofed).policy.map(|p| p.id),
        Some("redmond")
    );
}

#[test]
fn recognises_our_elins_in_the_forms_carriers_send() {
    let policy = contoso();
    for number in [
        "+13165550100",
        "tel:+1-316-555-0100",
        "sip:+13165550100@wichita-gw.contoso.com",
        "3165550100",
        "13165550100",
    ] {
        let owner = policy.elin(number).unwrap_or_else(|| panic!("{number}"));
        assert_eq!(
            (owner.elin, owner.erl.id.as_str()),
            ("+13165550100", "wichita-f1")
        );
    }
    assert!(policy.elin("+13165550199").is_none());
    assert!(policy.is_trusted("2001:db8:ffff::1".parse().unwrap()));
    assert!(!policy.is_trusted("192.0.2.1".parse().unwrap()));
}
