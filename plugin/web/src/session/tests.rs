//! The session on the example policy and the demo's sample calls.

use std::path::PathBuf;

use super::*;
use crate::diff::Change;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A session holding the contoso files, one of them edited by `(file, from, to)`.
fn contoso(edit: Option<(&str, &str, &str)>) -> Session {
    let mut session = Session::default();
    let dir = repo().join("policies/contoso");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let mut text = std::fs::read_to_string(dir.join(&name)).unwrap();
        if let Some((file, from, to)) = edit
            && file == name
        {
            assert!(text.contains(from));
            text = text.replace(from, to);
        }
        session.add_file(&name, text.as_bytes());
    }
    session
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/corpus/emergency").join(name)).unwrap()
}

fn input(peer: &str) -> DecideInput {
    DecideInput {
        peer: peer.to_owned(),
        transport: "tcp".to_owned(),
        now: "2026-11-22T10:00:00Z".to_owned(),
        node: "edge-1.contoso.com".to_owned(),
        network: NetworkFacts::default(),
    }
}

fn decided(answer: DecideAnswer) -> Decided {
    match answer {
        DecideAnswer::Decided(d) => *d,
        DecideAnswer::Failed(f) => panic!("{}", f.error),
    }
}

#[test]
fn compiles_contoso_and_decides_an_hq_call_with_a_pidf_lo() {
    let mut session = contoso(None);
    let compiled = session.compile();
    assert!(compiled.ok, "{:?}", compiled.problems);
    assert_eq!(compiled.revision.as_deref(), Some("2026.11.1"));
    let d = decided(session.decide(&sample("hq-wired-911.sip"), &input("10.1.0.25")));
    assert_eq!(d.report.kind.as_str(), "emergency");
    let route = d.report.route.as_ref().unwrap();
    assert_eq!(route.kind.as_str(), "sip-trunk");
    assert!(d.pidf.as_deref().unwrap().contains("<presence"));
    assert!(d.diff.iter().any(|l| l.change == Change::Added));
    assert!(d.diff.iter().any(|l| l.change == Change::Removed));
}

#[test]
fn a_broken_row_names_file_and_line_and_the_last_good_policy_stays() {
    let mut session = contoso(None);
    assert!(session.compile().ok);
    let mut broken = contoso(Some(("wireless.csv", "00-11-22-33-44-55,", "00-11-22,")));
    broken.active = session.active.take();
    let compiled = broken.compile();
    assert!(!compiled.ok);
    assert_eq!(compiled.problems.len(), 1, "{:?}", compiled.problems);
    assert!(
        compiled.problems[0]
            .text
            .starts_with("wireless.csv:2: bad BSSID `00-11-22`"),
        "{:?}",
        compiled.problems
    );
    assert_eq!(compiled.revision.as_deref(), Some("2026.11.1"));
    let d = decided(broken.decide(&sample("hq-wired-911.sip"), &input("10.1.0.25")));
    assert_eq!(&*d.report.bundle_revision, "2026.11.1");
}

#[test]
fn an_elin_handed_out_is_called_back_within_the_page() {
    let mut session = contoso(None);
    assert!(session.compile().ok);
    let visit = decided(session.decide(&sample("wichita-visitor-911.sip"), &input("10.2.14.30")));
    let elin = visit.report.elin.clone().unwrap();
    let back = decided(session.decide(&sample("psap-callback-elin.sip"), &input("203.0.113.10")));
    assert_eq!(back.report.kind.as_str(), "callback");
    assert_eq!(back.report.elin.as_deref(), Some(elin.as_str()));
    assert!(back.forwarded.contains("Priority: psap-callback"));
    session.forget_callbacks();
    let again = decided(session.decide(&sample("psap-callback-elin.sip"), &input("203.0.113.10")));
    assert!(
        again
            .report
            .trace
            .iter()
            .any(|t| t.contains("no caller on record"))
    );
}

#[test]
fn network_facts_from_the_form_locate_the_call() {
    let mut session = contoso(None);
    assert!(session.compile().ok);
    let mut wifi = input("10.1.0.25");
    wifi.network.bssid = "00-11-22-33-44-55".to_owned();
    let d = decided(session.decide(&sample("hq-wired-911.sip"), &wifi));
    let location = d.report.location.unwrap();
    assert_eq!(location.element.map(|e| e.as_str()), Some("bssid"));
    assert_eq!(location.erl.as_deref(), Some("redmond-b40-f2"));
    assert_eq!(d.facts_added.len(), 1);
}

#[test]
fn refuses_unusable_input_in_one_line() {
    let mut session = contoso(None);
    let no_policy = session.decide(&sample("hq-wired-911.sip"), &input("10.1.0.25"));
    assert!(matches!(no_policy, DecideAnswer::Failed(f) if f.error.contains("no policy")));
    assert!(session.compile().ok);
    let bad_peer = session.decide(&sample("hq-wired-911.sip"), &input("10.1.0"));
    assert!(matches!(bad_peer, DecideAnswer::Failed(f) if f.error.starts_with("peer `10.1.0`")));
    let mut bad_time = input("10.1.0.25");
    bad_time.now = "yesterday".to_owned();
    let answer = session.decide(&sample("hq-wired-911.sip"), &bad_time);
    assert!(matches!(answer, DecideAnswer::Failed(f) if f.error.starts_with("time `yesterday`")));
}

#[test]
fn coverage_lists_elements_per_erl_and_flags_what_nothing_reaches() {
    let mut session = contoso(None);
    assert!(session.compile().ok);
    let coverage = session.coverage().unwrap();
    let f2 = coverage
        .erls
        .iter()
        .find(|e| e.id == "redmond-b40-f2")
        .unwrap();
    let kinds: Vec<&str> = f2.elements.iter().map(|e| e.kind).collect();
    assert!(
        kinds.contains(&"bssid") && kinds.contains(&"port"),
        "{kinds:?}"
    );
    let lobby = coverage
        .erls
        .iter()
        .find(|e| e.id == "redmond-b40-lobby")
        .unwrap();
    assert!(lobby.elements.is_empty());
    assert_eq!(lobby.callers, ["+14255550142"]);
    // The lobby is an analog DID's static location: a call lands there, so it is not
    // unreferenced. Unreferenced is exactly "no element and no caller".
    assert!(
        !coverage
            .unreferenced
            .contains(&"redmond-b40-lobby".to_owned())
    );
    for erl in &coverage.erls {
        assert_eq!(
            coverage.unreferenced.contains(&erl.id),
            erl.elements.is_empty() && erl.callers.is_empty(),
            "{}",
            erl.id
        );
    }
    let unvalidated = contoso(Some((
        "erls.csv",
        "Contoso,,yes\nredmond-b40-f2",
        "Contoso,,no\nredmond-b40-f2",
    )));
    let mut unvalidated = unvalidated;
    assert!(unvalidated.compile().ok);
    let flagged = unvalidated.coverage().unwrap().unvalidated;
    assert!(!flagged.is_empty());
    assert!(
        flagged.iter().all(|e| e.erl == "redmond-b40-f1"),
        "{flagged:?}"
    );
}
