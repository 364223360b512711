//! `Engine::on_message` on arbitrary bytes and on mutated sample calls (the corpus is
//! seeded with `tests/corpus/emergency/` and `tests/cases/*/input.sip`), decided against
//! `policies/contoso` so that emergency INVITEs really are rewritten. Invariants:
//!
//! - a message that is not an INVITE passes byte-identical, with no edits;
//! - a rewritten message is still an INVITE (an emergency call is never turned into
//!   something else), parses strictly, has no bytes after its body, and its
//!   Content-Length is its body's length.
//!
//! The peer is chosen by the input's length, so the sample calls keep their bytes as
//! seeds and every peer (trusted LAN, branch, carrier, unknown, none) is tried as the
//! fuzzer grows and shrinks them.
#![no_main]

use std::net::IpAddr;
use std::sync::LazyLock;

use e911_engine::{CallCtx, Engine, MemoryStore, Output, STRICT_UNBOUNDED, Transport};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new(e911_fuzz::contoso_policy()));

/// The peers of `tests/corpus/emergency/manifest.tsv`: HQ LAN, HQ Wi-Fi, Wichita, the
/// carrier (PSAP callbacks), an unknown network; and no peer at all.
const PEERS: [Option<&str>; 6] = [
    Some("10.1.0.25"),
    Some("10.1.2.77"),
    Some("10.2.14.30"),
    Some("203.0.113.10"),
    Some("198.51.100.23"),
    None,
];

fuzz_target!(|data: &[u8]| {
    let peer = PEERS[data.len() % PEERS.len()].map(|p| p.parse::<IpAddr>().unwrap());
    let transport = if data.len().is_multiple_of(2) {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    let ctx = CallCtx {
        now: 1_800_000_000,
        peer,
        transport,
        node: "edge-1.contoso.com",
    };
    let verdict = ENGINE.on_message(data, &ctx, &mut MemoryStore::default());

    if !data.starts_with(b"INVITE ") {
        assert_eq!(
            verdict.output,
            Output::Unchanged,
            "a non-INVITE was changed"
        );
        assert!(verdict.edits.is_empty(), "a non-INVITE has edits");
        return;
    }
    if let Output::Rewritten(out) = &verdict.output {
        assert!(
            out.starts_with(b"INVITE "),
            "the rewrite is no longer an INVITE"
        );
        let msg = e911_sip::parse(out, &STRICT_UNBOUNDED).unwrap_or_else(|e| {
            panic!(
                "the rewrite does not parse strictly ({e}):\n{}",
                String::from_utf8_lossy(out)
            )
        });
        assert!(msg.trailing().is_empty(), "bytes after the rewritten body");
        if let Some(length) = msg.content_length() {
            assert_eq!(
                length as usize,
                msg.body().len(),
                "Content-Length is not the body's"
            );
        }
    }
});
