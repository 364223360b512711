//! Whole bundles from folders: the contoso example, a Lync export, a Teams export, and a
//! bundle with one of every problem. The crate does no I/O; this test reads the folders and
//! hands over `(name, bytes)` pairs, as the harness does.

// Test helpers outside #[test] functions fail loudly on a missing fixture, as tests should.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use e911_policy::{
    Bundle, CallKind, ElementKind, LocationSource, Policy, RawFacts, RouteKind, SecretKey, Sources,
    Validation,
};

fn folder(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn sources(dir: &Path) -> Sources {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    Sources::from_files(entries.into_iter().map(|path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        (name, fs::read(&path).unwrap())
    }))
}

fn compile(relative: &str) -> Policy {
    match sources(&folder(relative)).compile() {
        Ok(policy) => policy,
        Err(problems) => panic!(
            "{relative}: {}",
            problems
                .iter()
                .map(|p| format!("\n  {p}"))
                .collect::<String>()
        ),
    }
}

fn call(dialed: &'static str, ip: &str) -> RawFacts<'static> {
    RawFacts {
        dialed: Some(dialed),
        peer_ip: ip.parse().ok(),
        ..RawFacts::default()
    }
}

/// `erl-id element-kind` of where a call lands, or `-`.
fn lands(policy: &Policy, facts: &RawFacts<'_>) -> String {
    let decision = policy.decide(*facts);
    decision.location.map_or(String::from("-"), |l| {
        let erl = l.erl.map_or("client", |e| e.id.as_str());
        format!("{erl} {}", l.element.map_or("-", ElementKind::as_str))
    })
}

#[test]
fn contoso_example_compiles_signs_and_loads() {
    let policy = compile("../../policies/contoso");
    let key = SecretKey::from_seed([42; 32]);
    let bytes = policy.write_bundle(Some(&key)).unwrap();
    let bundle = Bundle::load(&bytes, &[key.public_key()]).unwrap();
    assert_eq!(bundle.policy(), &policy);
    assert_eq!(bundle.info().revision, "2026.11.1");
    let d = bundle.policy().decide(RawFacts {
        asserted_identity: Some("sip:alice@contoso.com"),
        ..call("911", "10.2.44.5")
    });
    assert_eq!(
        d.location.and_then(|l| l.erl).map(|e| e.id.as_str()),
        Some("wichita-f1")
    );
    assert_eq!(
        d.route.map(|r| (r.id, r.kind)),
        Some(("wichita-elin", RouteKind::ElinGateway))
    );
}

#[test]
fn lync_export_imports_unchanged() {
    let policy = compile("tests/fixtures/lync-export");
    let counts = policy.counts();
    // Two subnets share 500 Pine St / 3rd Floor: one ERL. Three places in all.
    assert_eq!(
        (
            counts.erls,
            counts.subnets,
            counts.bssids,
            counts.chassis,
            counts.ports
        ),
        (3, 4, 2, 1, 2)
    );
    let third = policy
        .erls()
        .iter()
        .find(|e| e.id == "500-pine-st-seattle-3rd-floor")
        .unwrap();
    assert_eq!(third.elins, ["+12065550130", "+12065550131"]);
    assert_eq!(
        third.civic.get(e911_policy::CivicElement::Nam),
        Some("Fabrikam")
    );
    assert_eq!(third.validation, Validation::Validated);
    let rows = [
        (
            call("911", "192.168.11.40"),
            "500-pine-st-seattle-3rd-floor subnet",
        ),
        (
            call("911", "192.168.21.9"),
            "500-pine-st-seattle-4th-floor subnet",
        ), // the /23
        (
            call("911", "172.20.200.1"),
            "1201-a-s-lander-st-seattle-warehouse-dock-2 subnet",
        ),
        (
            RawFacts {
                bssid: Some("f09fc210aa02"),
                ..call("911", "192.168.10.5")
            },
            "500-pine-st-seattle-4th-floor bssid",
        ),
        (
            RawFacts {
                chassis: Some("00:1b:54:aa:3f:01"),
                port: Some("gi2/0/15"),
                ..call("911", "192.168.10.5")
            },
            "1201-a-s-lander-st-seattle-warehouse-dock-2 port",
        ),
        (call("911", "192.168.12.1"), "-"),
    ];
    for (facts, expected) in rows {
        assert_eq!(lands(&policy, &facts), expected, "{facts:?}");
    }
}

#[test]
fn teams_export_imports_unchanged() {
    let policy = compile("tests/fixtures/teams-export");
    let counts = policy.counts();
    assert_eq!(
        (
            counts.erls,
            counts.subnets,
            counts.bssids,
            counts.chassis,
            counts.ports
        ),
        (3, 4, 2, 1, 1)
    );
    let rows = [
        (
            call("911", "10.20.5.77"),
            "b71e0c44-2f8a-4d3e-9a1b-6c5d4e3f2a10 subnet",
        ),
        (
            call("911", "fd00:20:5::9"),
            "b71e0c44-2f8a-4d3e-9a1b-6c5d4e3f2a10 subnet",
        ),
        (
            RawFacts {
                bssid: Some("B4-FB-E4-01-55-1C"),
                ..call("911", "10.20.0.5")
            },
            "b71e0c44-2f8a-4d3e-9a1b-6c5d4e3f2a10 bssid",
        ),
        (
            RawFacts {
                chassis: Some("a0ecf9102030"),
                port: Some("Gi1/0/48"),
                ..call("911", "10.20.0.5")
            },
            "0c8d6f21-77aa-4b61-93e4-5e2d1a9c8b70 port",
        ),
        (
            call("911", "10.20.9.9"),
            "9f3c1a2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b subnet",
        ),
    ];
    for (facts, expected) in rows {
        assert_eq!(lands(&policy, &facts), expected, "{facts:?}");
    }
    // The lab's address is NotValidated, and the policy sends such calls to the ECRC.
    let lab = policy.decide(call("911", "10.30.1.1"));
    assert_eq!(
        lab.location.map(|l| (l.source, l.validation)),
        Some((LocationSource::Network, Validation::NotValidated))
    );
    let route = lab.route.unwrap();
    assert_eq!(
        (
            route.kind,
            lab.outbound.unwrap().request_target(route.first).uri
        ),
        (
            RouteKind::Ecrc,
            "sip:+18005550100@sbc.esp.example.net;transport=tls".to_owned()
        )
    );
    assert_eq!(policy.decide(call("933", "10.20.0.1")).kind, CallKind::Test);
}

#[test]
fn broken_bundle_reports_every_problem_at_once() {
    let dir = folder("tests/fixtures/broken");
    let found: String = sources(&dir)
        .validate()
        .iter()
        .map(|p| format!("{p}\n"))
        .collect();
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("E911_BLESS").is_some() {
        fs::write(&expected_path, &found).unwrap();
    }
    let expected = fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(
        found, expected,
        "re-bless with E911_BLESS=1 and review the diff"
    );
}
