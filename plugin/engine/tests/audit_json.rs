//! The audit line and the webhook body are written by `e911_engine::json`, not by
//! `serde_json`: every report of the sample calls, in both failover modes and degraded,
//! and reports with every kind of awkward text, must come out as the bytes `serde_json`
//! writes for the same report.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use e911_engine::{
    CallCtx, Failover, Kind, LocationReport, LocationSource, MemoryStore, Mismatch, Report,
    RouteKind, RouteReason, RouteReport, Transport, Verdict,
};

fn same_as_serde_json(report: &Report, what: &str) {
    assert_eq!(
        report.to_json(),
        serde_json::to_string(report).unwrap(),
        "{what}"
    );
}

/// Every sample call of the corpus, changed by `mutate`, from its own peer: (file,
/// verdict) in both modes.
fn sample_verdicts(mutate: impl Fn(Vec<u8>) -> Vec<u8>) -> Vec<(String, Verdict)> {
    let dir = common::root().join("tests/corpus/emergency");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let mut verdicts = Vec::new();
    for row in manifest.lines().skip(1) {
        let mut cells = row.split('\t');
        let (file, peer) = (cells.next().unwrap(), cells.next().unwrap());
        let bytes = mutate(std::fs::read(dir.join(file)).unwrap());
        let ctx = CallCtx {
            now: 1_800_000_000,
            peer: peer.parse().ok(),
            transport: Transport::Tcp,
            node: "edge-1.contoso.com",
        };
        for failover in [Failover::ByHost, Failover::FirstTrunkOnly] {
            let engine = common::contoso().with_failover(failover);
            let verdict = engine.on_message(&bytes, &ctx, &mut MemoryStore::default());
            verdicts.push((format!("{file} {failover:?}"), verdict));
        }
    }
    verdicts
}

#[test]
fn every_sample_call_is_recorded_as_serde_json_records_it() {
    let verdicts = sample_verdicts(|bytes| bytes);
    assert!(verdicts.iter().any(|(_, v)| v.report.location.is_some()));
    assert!(verdicts.iter().any(|(_, v)| v.report.route.is_some()));
    for (what, verdict) in &verdicts {
        same_as_serde_json(&verdict.report, what);
    }
}

#[test]
fn calls_read_leniently_or_degraded_are_recorded_as_serde_json_records_them() {
    // Bare LFs: read leniently. Three hundred more header fields: over the limit, degraded.
    let bare_lf = |bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        text.into_bytes()
    };
    let crowded = |bytes: Vec<u8>| {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let extra = "X-Filler: \"quoted\" \\ value\r\n".repeat(300);
        text.replacen("\r\n", &["\r\n", &extra].concat(), 1)
            .into_bytes()
    };
    let mut seen = (false, false);
    for mutate in [&bare_lf as &dyn Fn(Vec<u8>) -> Vec<u8>, &crowded] {
        for (what, verdict) in &sample_verdicts(mutate) {
            seen.0 |= verdict.report.read_leniently;
            seen.1 |= verdict.report.degraded.is_some();
            same_as_serde_json(&verdict.report, what);
        }
    }
    assert_eq!(seen, (true, true));
}

#[test]
fn awkward_text_in_every_field_is_escaped_as_serde_json_escapes_it() {
    let awkward = [
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "controls \u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} del \u{7f}",
        "Zürich 日本 😀 \u{2028}\u{2029}",
    ];
    for (n, text) in awkward.iter().enumerate() {
        let text = (*text).to_owned();
        let some = |t: &str| (n % 2 == 0).then(|| t.to_owned());
        let report = Report {
            kind: [Kind::Emergency, Kind::Test, Kind::Callback, Kind::None][n % 4],
            call_id: some(&text),
            now: 1_800_000_000 + n as u64 * 86_399,
            caller: Some(text.clone()),
            dialed: some(&text),
            location: (n != 1).then(|| LocationReport {
                source: LocationSource::ClientElin,
                erl: some(&text),
                element: (n % 2 == 1).then_some(e911_engine::ElementKind::Bssid),
                method: Some(text.clone()),
                validated: n % 2 == 0,
                mismatch: Mismatch::Differs,
                address: text.clone(),
            }),
            policy: some(&text),
            policy_reason: Some(text.clone()),
            route: (n != 2).then(|| RouteReport {
                id: text.clone(),
                kind: RouteKind::ElinGateway,
                trunk: text.clone(),
                target: text.clone(),
                reason: RouteReason::NoElin,
                failover: vec![text.clone(); n],
            }),
            elin: some(&text),
            notifications: vec![text.clone(); n],
            degraded: some(&text),
            read_leniently: n % 2 == 1,
            bundle_revision: text.as_str().into(),
            trace: vec![text.clone(); n + 1],
        };
        same_as_serde_json(&report, &text);
    }
}
