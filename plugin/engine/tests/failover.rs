//! The failover plan a verdict carries (DESIGN §2.6): the rest of the route's trunks, then
//! the ECRC route's, each as the bytes to send it, with the same PIDF-LO.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::decide_sample as decide;

use e911_engine::{Output, RouteKind, STRICT_UNBOUNDED};

fn rewritten(output: &Output) -> String {
    match output {
        Output::Rewritten(bytes) => {
            e911_sip::parse(bytes, &STRICT_UNBOUNDED).unwrap();
            String::from_utf8(bytes.clone()).unwrap()
        }
        Output::Unchanged => panic!("not rewritten"),
    }
}

/// The PIDF-LO document in a rewritten message.
fn pidf(message: &str) -> &str {
    let start = message.find("<?xml").unwrap();
    let end = message.find("</presence>").unwrap();
    &message[start..end]
}

#[test]
fn an_emergency_call_fails_over_to_the_second_trunk_then_the_ecrc() {
    let verdict = decide("hq-wired-911.sip", "10.1.0.25");
    let route = verdict.report.route.as_ref().unwrap();
    assert_eq!(route.failover, ["esp-secondary", "redmond-pstn"]);
    let plan: Vec<_> = verdict
        .alternates
        .iter()
        .map(|a| {
            (
                a.route.as_str(),
                a.kind.as_str(),
                a.trunk.as_str(),
                a.target.as_str(),
            )
        })
        .collect();
    assert_eq!(
        plan,
        [
            (
                "redmond-esp",
                "sip-trunk",
                "esp-secondary",
                "sip:911@esp-backup.example.net;transport=tcp"
            ),
            (
                "redmond-ecrc",
                "ecrc",
                "redmond-pstn",
                "sip:+18005550199@pstn-gw1.redmond.contoso.com;transport=tcp"
            ),
        ]
    );
    let first = rewritten(&verdict.output);
    let second = rewritten(&verdict.alternates[0].output);
    assert!(second.starts_with("INVITE sip:911@esp-backup.example.net;transport=tcp SIP/2.0\r\n"));
    assert!(second.contains("Route: <sip:edge2.esp-backup.example.net;transport=tcp;lr>\r\n"));
    assert_eq!(
        pidf(&first),
        pidf(&second),
        "the same PIDF-LO on every trunk"
    );
    let ecrc = rewritten(&verdict.alternates[1].output);
    assert!(ecrc.contains("Priority: emergency\r\n"), "{ecrc}");
    let trace = verdict.report.trace.join("\n");
    assert!(
        trace.contains("if esp-primary fails: esp-secondary"),
        "{trace}"
    );
}

#[test]
fn a_test_call_fails_over_within_its_route_but_never_to_the_ecrc() {
    let verdict = decide("test-call-933.sip", "10.1.0.25");
    let trunks: Vec<_> = verdict
        .alternates
        .iter()
        .map(|a| a.trunk.as_str())
        .collect();
    assert_eq!(trunks, ["esp-secondary"]);
    assert!(rewritten(&verdict.alternates[0].output).starts_with("INVITE sip:933@esp-backup"));
}

#[test]
fn a_call_already_on_the_ecrc_route_has_nowhere_further() {
    let verdict = decide("unknown-subnet-911.sip", "198.51.100.23");
    assert_eq!(verdict.report.route.as_ref().unwrap().kind, RouteKind::Ecrc);
    assert!(verdict.alternates.is_empty());
}

#[test]
fn an_elin_call_keeps_its_elin_and_falls_back_to_the_ecrc() {
    let verdict = decide("wichita-visitor-911.sip", "10.2.14.30");
    assert_eq!(verdict.report.elin.as_deref(), Some("+13165550100"));
    let trunks: Vec<_> = verdict
        .alternates
        .iter()
        .map(|a| a.trunk.as_str())
        .collect();
    assert_eq!(trunks, ["redmond-pstn"]);
}
