//! A provider profile's extras never cost an emergency call its location: a conference
//! URI the PIDF-LO writer refuses (the policy only checks that it starts `sip:`) drops
//! Lync's extension, and the provider still receives the PIDF-LO.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use e911_engine::{CallCtx, Engine, MemoryStore, Output, Transport};
use e911_policy::Sources;

/// `tests/policies/provider-profiles` with the HQ policy's conference URI replaced.
fn profiles_with_conference(uri: &str) -> Engine {
    let dir = common::root().join("tests/policies/provider-profiles");
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if name == "policies.toml" {
            let before = "conference_uri = \"sip:+14255550199@contoso.com;user=phone\"";
            assert!(text.contains(before));
            text = text.replace(before, &format!("conference_uri = \"{uri}\""));
        }
        sources.add(name, text.as_bytes());
    }
    Engine::new(sources.compile().unwrap())
}

/// The golden case's INVITE from HQ (trunk lync-esp, `msft_e911_extension`).
fn decide(engine: &Engine) -> (String, Vec<String>) {
    let input = common::root().join("tests/cases/profile-lync-msft-extension-911/input.sip");
    let ctx = CallCtx {
        now: 1_800_000_000,
        peer: "10.1.2.40".parse().ok(),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let verdict = engine.on_message(
        &std::fs::read(input).unwrap(),
        &ctx,
        &mut MemoryStore::default(),
    );
    assert_eq!(verdict.report.degraded, None, "{:#?}", verdict.report);
    let Output::Rewritten(bytes) = verdict.output else {
        panic!("not rewritten: {:#?}", verdict.report);
    };
    (String::from_utf8(bytes).unwrap(), verdict.report.trace)
}

#[test]
fn a_conference_uri_the_writer_refuses_drops_the_extension_not_the_location() {
    let (good, _) = decide(&profiles_with_conference("sip:security@contoso.com"));
    assert!(good.contains("<ms:msftE911PidfExtn>"), "{good}");

    let (message, trace) = decide(&profiles_with_conference("sip:security desk@contoso.com"));
    assert!(message.contains("application/pidf+xml"), "{message}");
    assert!(message.contains("<ca:RD>Microsoft</ca:RD>"), "{message}");
    assert!(message.contains("Geolocation: <cid:"), "{message}");
    assert!(!message.contains("msftE911PidfExtn"), "{message}");
    assert!(
        trace
            .iter()
            .any(|t| t.starts_with("msftE911PidfExtn not written: \"sip:security desk")),
        "{trace:#?}"
    );
}
