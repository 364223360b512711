//! The PIDF-LO's presentity is the caller (RFC 4119 §2.2.1). A caller URI that is not an
//! `xs:anyURI` as libxml2 reads one (an IPv6 literal in a SIP URI) would make the
//! document fail the schema at the provider, so the presentity falls back to a `pres:`
//! URI on this node, and the call keeps its location.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use e911_engine::{Kind, MemoryStore, Output};

fn pidf_entity(sample: &str) -> String {
    let verdict = common::contoso().on_message(
        sample.as_bytes(),
        &common::sample_ctx("10.1.0.25"),
        &mut MemoryStore::default(),
    );
    assert_eq!(verdict.report.kind, Kind::Emergency);
    assert_eq!(verdict.report.degraded, None);
    let Output::Rewritten(bytes) = verdict.output else {
        panic!("an emergency call is rewritten");
    };
    let text = String::from_utf8(bytes).unwrap();
    let at = text
        .find(" entity=\"")
        .expect("a PIDF-LO with a presentity")
        + 9;
    let end = text[at..].find('"').unwrap();
    text[at..at + end].to_owned()
}

#[test]
fn the_presentity_is_the_caller_or_this_node_when_the_schema_refuses_the_caller() {
    let sample =
        std::fs::read_to_string(common::root().join("tests/corpus/emergency/hq-wired-911.sip"))
            .unwrap();
    assert_eq!(pidf_entity(&sample), "sip:+14255550101@contoso.com");
    let ipv6 = sample.replace("sip:+14255550101@contoso.com", "sip:alice@[2001:db8::1]");
    assert_ne!(ipv6, sample);
    assert_eq!(pidf_entity(&ipv6), "pres:e911@edge-1.contoso.com");
}
