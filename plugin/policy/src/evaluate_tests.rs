//! One row per call shape, against the `policies/contoso` example bundle.

use super::*;
use crate::RequestTarget;
use crate::testdata::{contoso, contoso_with};
use crate::trust::RawFacts;
use e911_location::CivicAddress;

fn invite(dialed: &'static str, peer: &str) -> RawFacts<'static> {
    RawFacts {
        dialed: Some(dialed),
        peer_ip: peer.parse().ok(),
        now: 1_800_000_000,
        ..RawFacts::default()
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
    let rows: Vec<(&str, RawFacts<'static>, &str)> = vec![
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
            RawFacts {
                bssid: Some("001122334455"),
                ..invite("911", "10.1.0.77")
            },
            "emergency | redmond by global | network redmond-b40-f2 bssid | redmond-esp sip-trunk",
        ),
        (
            "HQ Wi-Fi, wildcard radio",
            RawFacts {
                bssid: Some("00:11:22:33:44:6b"),
                ..invite("911", "10.1.2.77")
            },
            "emergency | redmond by global | network redmond-b40-f1 bssid | redmond-esp sip-trunk",
        ),
        (
            "HQ switch port",
            RawFacts {
                chassis: Some("00-aa-bb-cc-dd-ee"),
                port: Some("Gi1/0/7"),
                ..invite("911", "10.1.0.61")
            },
            "emergency | redmond by global | network redmond-b40-f2 port | redmond-esp sip-trunk",
        ),
        (
            "HQ switch, other port",
            RawFacts {
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
            RawFacts {
                asserted_identity: Some("sip:alice@contoso.com"),
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
            RawFacts {
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
            RawFacts {
                asserted_identity: Some("tel:+14255550142"),
                ..invite("911", "10.1.9.2")
            },
            "emergency | analog-ps-ali by caller | static redmond-b40-lobby | redmond-ps-ali local-gateway",
        ),
        (
            "non-INVITE 911",
            RawFacts {
                request: Request::Other,
                ..invite("911", "10.1.0.61")
            },
            "none | - | - | -",
        ),
        (
            "in-dialog re-INVITE",
            RawFacts {
                dialog: Dialog::InDialog,
                ..invite("911", "10.1.0.61")
            },
            "none | - | - | -",
        ),
        (
            "urn:service:sos.fire",
            RawFacts {
                service_urn: Some("URN:Service:SOS.fire"),
                ..invite("sos", "10.1.0.61")
            },
            "emergency | redmond by global | network redmond-b40-f1 subnet | redmond-esp sip-trunk",
        ),
        (
            "urn:service:test.sos",
            RawFacts {
                service_urn: Some("urn:service:test.sos"),
                ..invite("", "10.2.0.1")
            },
            "test | wichita by site wichita | network wichita-f1 subnet | wichita-elin elin-gateway",
        ),
        (
            "urn:service:sosx is not sos",
            RawFacts {
                service_urn: Some("urn:service:sosx"),
                ..invite("", "10.1.0.1")
            },
            "none | redmond by global | - | -",
        ),
    ];
    for (name, facts, expected) in rows {
        assert_eq!(summary(&policy.decide(facts)), expected, "{name}");
    }
}

#[test]
fn records_what_matched_and_why_the_site_won() {
    let policy = contoso();
    let d = policy.decide(RawFacts {
        asserted_identity: Some("sip:alice@contoso.com"),
        ..invite("9112", "10.2.3.4")
    });
    assert_eq!(
        d.matched.as_ref().map(ToString::to_string).as_deref(),
        Some("dial string 911 (dial mask 112) after outside-line prefix 9")
    );
    assert_eq!(d.policy.and_then(|p| p.outranked), Some("redmond"));
    assert_eq!(d.elins, ["+13165550100", "+13165550101"]);
    assert_eq!(
        d.route
            .zip(d.outbound.as_ref())
            .map(|(r, o)| o.request_target(r.first).uri),
        Some("sip:911@wichita-gw.contoso.com;transport=tcp".to_owned())
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
    let d = policy.decide(invite("911", "192.0.2.10"));
    let route = d.route.unwrap();
    assert_eq!(
        (route.first.trunk.as_str(), route.reason),
        ("redmond-pstn", RouteReason::NoLocation)
    );
    assert_eq!(
        d.outbound.unwrap().request_target(route.first).uri,
        "sip:+18005550199@pstn-gw1.redmond.contoso.com;transport=tcp"
    );
}

#[test]
fn sip_trunk_route_lists_both_providers_in_order() {
    let policy = contoso();
    let d = policy.decide(invite("911", "10.1.0.61"));
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
    let facts = RawFacts {
        client_location: Some(&floor_2),
        ..invite("911", "10.1.0.61")
    };
    let pick = |mode: &str| {
        let policy = contoso_with(
            "location_combine = \"prefer-network\"",
            &format!("location_combine = \"{mode}\""),
        );
        let d = policy.decide(facts);
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
    let d = policy.decide(RawFacts {
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
    let d = policy.decide(invite("911", "10.1.0.61"));
    assert_eq!(d.location, None);
    assert_eq!(d.route.map(|r| r.reason), Some(RouteReason::NoLocation));
}

#[test]
fn disabled_policy_recognises_the_call_but_routes_nothing() {
    let policy = contoso_with(
        "[policies.redmond]\n",
        "[policies.redmond]\nenabled = false\n",
    );
    let d = policy.decide(invite("911", "10.1.0.61"));
    assert_eq!(
        (d.kind, d.enabled, d.route),
        (CallKind::Emergency, false, None)
    );
    assert!(d.to_string().contains("E9-1-1 disabled"));
}

#[test]
fn client_ip_header_counts_only_from_a_trusted_peer() {
    let policy = contoso();
    let behind_proxy = RawFacts {
        client_ip: "10.2.9.9".parse().ok(),
        ..invite("911", "10.1.0.1")
    };
    assert_eq!(
        policy.decide(behind_proxy).policy.map(|p| p.id),
        Some("wichita")
    );
    let spoofed = RawFacts {
        client_ip: "10.2.9.9".parse().ok(),
        ..invite("911", "192.0.2.1")
    };
    assert_eq!(policy.decide(spoofed).policy.map(|p| p.id), Some("redmond"));
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
    for not_ours in [
        "",
        "+",
        "++13165550100",
        "+1316555010000000000000",
        "316555010",
    ] {
        assert!(policy.elin(not_ours).is_none(), "{not_ours}");
    }
    assert!(policy.is_trusted("2001:db8:ffff::1".parse().unwrap()));
    assert!(!policy.is_trusted("192.0.2.1".parse().unwrap()));
}

/// Contoso with a second emergency number: 112 is its own number on the local gateway,
/// no longer a mask of 911 (Skype for Business `EmergencyNumbers`).
fn contoso_with_112_on_the_local_gateway() -> Policy {
    let text = crate::testdata::CONTOSO
        .iter()
        .find(|(name, _)| *name == "policies.toml")
        .map(|(_, text)| text.replace("dial_masks = \"112;999\"", "dial_masks = \"999\""))
        .unwrap();
    let text = format!(
        "{text}\n[[policies.redmond.emergency_numbers]]\n\
         EmergencyDialString = \"112\"\n\
         OnlinePSTNUsage = \"redmond-ps-ali\"\n"
    );
    crate::Sources::from_files(crate::testdata::CONTOSO.map(|(name, original)| {
        (
            name,
            if name == "policies.toml" {
                text.clone()
            } else {
                original.to_owned()
            },
        )
    }))
    .compile()
    .unwrap()
}

fn sent_as(d: &Decision<'_>) -> Option<String> {
    let route = d.route?;
    Some(d.outbound.as_ref()?.request_target(route.first).uri)
}

#[test]
fn each_emergency_number_takes_its_own_route() {
    let policy = contoso_with_112_on_the_local_gateway();
    let d112 = policy.decide(invite("112", "10.1.0.61"));
    assert_eq!(d112.route.map(|r| r.id), Some("redmond-ps-ali"));
    assert_eq!(
        sent_as(&d112).as_deref(),
        Some("sip:112@pstn-gw1.redmond.contoso.com;transport=tcp")
    );
    let d911 = policy.decide(invite("911", "10.1.0.61"));
    assert_eq!(d911.route.map(|r| r.id), Some("redmond-esp"));
    // A mask still becomes its number's dial string, as in Lync.
    let d999 = policy.decide(invite("999", "10.1.0.61"));
    assert_eq!(
        sent_as(&d999).as_deref(),
        Some("sip:911@esp.example.net;transport=tcp")
    );
    // Without a location, every number still goes to the ECRC.
    let lost = policy.decide(invite("112", "192.0.2.10"));
    assert_eq!(lost.route.map(|r| r.kind), Some(RouteKind::Ecrc));
}

#[test]
fn a_test_call_reaches_the_provider_as_a_test_and_never_the_ecrc() {
    let policy = contoso();
    let d = policy.decide(invite("933", "10.1.0.61"));
    assert_eq!(
        sent_as(&d).as_deref(),
        Some("sip:933@esp.example.net;transport=tcp")
    );
    let lost = policy.decide(invite("9933", "192.0.2.10"));
    assert_eq!(lost.kind, CallKind::Test);
    assert_eq!(
        (lost.route.map(|r| r.kind), sent_as(&lost).as_deref()),
        (
            Some(RouteKind::SipTrunk),
            Some("sip:933@esp.example.net;transport=tcp")
        )
    );
}

#[test]
fn test_calls_notify_whom_the_policy_says() {
    let quiet = contoso_with(
        "notifications = [\"redmond-security\"]\nconference_uri",
        "notifications = [\"redmond-security\"]\ntest_notifications = []\nconference_uri",
    );
    assert!(
        quiet
            .decide(invite("933", "10.1.0.61"))
            .notifications
            .is_empty()
    );
    assert_eq!(
        quiet.decide(invite("911", "10.1.0.61")).notifications.len(),
        1
    );
    assert_eq!(
        contoso()
            .decide(invite("933", "10.1.0.61"))
            .notifications
            .len(),
        1
    );
}

#[test]
fn service_urns_stay_urns_on_a_provider_trunk_and_become_numbers_on_a_gateway() {
    let policy = contoso();
    let urn = |service, peer| {
        policy.decide(RawFacts {
            service_urn: Some(service),
            ..invite("", peer)
        })
    };
    let sos = urn("urn:service:sos.fire", "10.1.0.61");
    let route = sos.route.unwrap();
    assert_eq!(
        sos.outbound.as_ref().unwrap().request_target(route.first),
        RequestTarget {
            uri: "urn:service:sos.fire".to_owned(),
            route: Some("<sip:esp.example.net;transport=tcp;lr>".to_owned()),
        }
    );
    let test = urn("urn:service:test.sos", "10.1.0.61");
    assert_eq!(sent_as(&test).as_deref(), Some("urn:service:test.sos"));
    // Wichita's route is an ELIN gateway: the PSTN gets numbers.
    let sos = urn("urn:service:sos", "10.2.3.4");
    assert_eq!(
        sent_as(&sos).as_deref(),
        Some("sip:911@wichita-gw.contoso.com;transport=tcp")
    );
    let test = urn("urn:service:test.sos.police", "10.2.3.4");
    assert_eq!(
        sent_as(&test).as_deref(),
        Some("sip:933@wichita-gw.contoso.com;transport=tcp")
    );
}
