//! The failover plan a verdict carries (DESIGN §2.6): the rest of the route's trunks, then
//! the ECRC route's, each as the bytes to send it, with the same PIDF-LO.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::decide_sample as decide;

use e911_engine::{CallCtx, Failover, MemoryStore, Output, RouteKind, STRICT_UNBOUNDED, Transport};

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

/// A host that forwards to the first trunk only gets the same verdict without the later
/// trunks' messages: same bytes, report, trace, notifications, metrics and callback
/// mappings. Checked on every sample call, and on Wichita's calls with an ELIN gateway
/// behind a SIP trunk, where the later leg chooses the ELIN the call holds.
#[test]
fn a_host_without_failover_gets_the_same_verdict_without_the_alternates() {
    let gateway_second = |name: &str, text: String| {
        if name == "routes.toml" {
            let edited = text.replace(
                "[routes.wichita-elin]\ntrunks = [\"wichita-gw\"]",
                "[routes.wichita-elin]\ntrunks = [\"esp-primary\", \"wichita-gw\"]",
            );
            assert_ne!(edited, text);
            edited
        } else {
            text
        }
    };
    let unchanged = |_: &str, text: String| text;
    let manifest =
        std::fs::read_to_string(common::root().join("tests/corpus/emergency/manifest.tsv"))
            .unwrap();
    let (mut compared, mut held_by_a_later_leg) = (0, 0);
    for policy in [
        &unchanged as &dyn Fn(&str, String) -> String,
        &gateway_second,
    ] {
        let by_host = common::contoso_edited(policy);
        let first_only = common::contoso_edited(policy).with_failover(Failover::FirstTrunkOnly);
        for row in manifest.lines().skip(1) {
            let [file, peer, ..] = row.split('\t').collect::<Vec<_>>()[..] else {
                panic!("manifest row {row:?}");
            };
            let bytes =
                std::fs::read(common::root().join("tests/corpus/emergency").join(file)).unwrap();
            let ctx = CallCtx {
                now: 1_800_000_000,
                peer: peer.parse().ok(),
                transport: Transport::Tcp,
                node: "edge-1.contoso.com",
            };
            let (mut full_store, mut first_store) =
                (MemoryStore::default(), MemoryStore::default());
            let full = by_host.on_message(&bytes, &ctx, &mut full_store);
            let first = first_only.on_message(&bytes, &ctx, &mut first_store);
            assert!(first.alternates.is_empty(), "{file}");
            assert_eq!(first.output, full.output, "{file}");
            assert_eq!(first.edits, full.edits, "{file}");
            assert_eq!(first.report, full.report, "{file}");
            assert_eq!(first.notifications, full.notifications, "{file}");
            assert_eq!(first.metrics, full.metrics, "{file}");
            assert_eq!(first_store, full_store, "{file}");
            compared += 1;
            let later_gateway = full.alternates.iter().any(|a| a.trunk == "wichita-gw");
            if later_gateway && full.report.elin.is_some() {
                held_by_a_later_leg += 1;
            }
        }
    }
    assert!(
        compared > 20 && held_by_a_later_leg > 0,
        "{compared} {held_by_a_later_leg}"
    );
}
