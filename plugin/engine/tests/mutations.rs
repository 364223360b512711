//! Emergency calls at the edges, on mutated copies of the sample calls
//! (`tests/corpus/emergency/`), decided against `policies/contoso`:
//!
//! - wherever the Request-Line and To survive a mutation, the classification (kind and
//!   what was dialled) is the unmutated call's: no limit and no stray byte is a reason not
//!   to recognise an emergency call;
//! - every message the engine rewrites parses strictly, with a Content-Length that is the
//!   body's length, whatever leniency let the input in;
//! - a message that is not an INVITE passes byte-identical.
//!
//! The mutations are the shapes real traffic and fuzzing produce: bytes flipped, inserted
//! and deleted; bare LFs and CRs; white-space-only lines; header lines that are not
//! headers; 300 extra header fields; a Content-Length larger than the datagram.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{contoso, root};

use e911_engine::{
    CallCtx, Engine, Kind, MemoryStore, Output, STRICT_UNBOUNDED, Transport, Verdict,
};

/// Every sample call with the peer its manifest row gives.
fn samples() -> Vec<(String, Vec<u8>, String)> {
    let dir = root().join("tests/corpus/emergency");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let (file, peer) = (cols.next()?, cols.next()?);
            Some((
                file.to_owned(),
                std::fs::read(dir.join(file)).unwrap(),
                peer.to_owned(),
            ))
        })
        .collect()
}

fn decide(engine: &Engine, bytes: &[u8], peer: &str) -> Verdict {
    let ctx = CallCtx {
        now: 1_800_000_000,
        peer: peer.parse().ok(),
        transport: Transport::Udp,
        node: "edge-1.contoso.com",
    };
    engine.on_message(bytes, &ctx, &mut MemoryStore::default())
}

/// The first line, and the first To line (`To:` or compact `t:`), as bytes.
fn request_line_and_to(msg: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut lines = msg.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or_default().to_vec();
    let to = lines
        .take_while(|l| !l.is_empty() && *l != b"\r")
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            lower.starts_with(b"to:") || lower.starts_with(b"t:")
        })
        .map(<[u8]>::to_vec);
    (first, to)
}

/// A small, seeded generator: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, msg: &[u8]) -> Vec<u8> {
    let mut m = msg.to_vec();
    match rng.below(9) {
        // 300 header fields, as a chain of SBCs and PBXs adds them.
        0 => {
            let extra: String = (0..300).map(|i| format!("X-Hop-{i}: sbc{i}\r\n")).collect();
            let at = find(&m, b"\r\nCSeq").map_or(m.len(), |i| i + 2);
            m.splice(at..at, extra.into_bytes());
        }
        // A Content-Length larger than the datagram.
        1 => {
            if let Some(at) = find(&m, b"Content-Length: ") {
                m.splice(at + 16..at + 16, b"9".iter().copied());
            }
        }
        // Every line end a bare LF.
        2 => {
            m = String::from_utf8_lossy(&m)
                .replace("\r\n", "\n")
                .into_bytes()
        }
        // A white-space-only line, or a line that is not a header, after some line.
        3 | 4 => {
            let ends: Vec<usize> = m
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1)
                .collect();
            let at = ends[rng.below(ends.len().min(12))];
            let line: &[u8] = [
                &b" \n"[..],
                b"\t\r\n",
                b" \r\n",
                b"not a header\r\n",
                b": x\r\n",
            ][rng.below(5)];
            m.splice(at..at, line.iter().copied());
        }
        // Bytes flipped, inserted, deleted.
        _ => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(m.len());
                match rng.below(4) {
                    0 => m[i] = b" \t\r\n:;<>\0"[rng.below(9)],
                    1 => m.insert(i, b" \t\r\n"[rng.below(4)]),
                    2 => {
                        m.remove(i);
                    }
                    _ => m[i] = rng.below(256) as u8,
                }
            }
        }
    }
    m
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A rewritten message must parse strictly, and a Content-Length in it must be its
/// body's. (A datagram may leave Content-Length out, RFC 3261 §20.14; what the engine
/// rewrites from the lenient reader always has one.)
fn assert_strict(name: &str, out: &[u8]) {
    let msg = e911_sip::parse(out, &STRICT_UNBOUNDED)
        .unwrap_or_else(|e| panic!("{name}: the rewrite does not parse strictly ({e})"));
    if let Some(length) = msg.content_length() {
        assert_eq!(
            length as usize,
            msg.body().len(),
            "{name}: Content-Length is not the body's length"
        );
    }
    assert!(msg.trailing().is_empty(), "{name}: bytes after the body");
}

#[test]
fn mutated_emergency_calls_keep_their_classification_and_rewrite_strictly() {
    let engine = contoso();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut kept, mut recognised) = (0, 0);
    for (file, original, peer) in samples() {
        let before = decide(&engine, &original, &peer);
        let (line, to) = request_line_and_to(&original);
        for round in 0..400 {
            let mutated = mutate(&mut rng, &original);
            let name = format!("{file} mutation {round}");
            let verdict = decide(&engine, &mutated, &peer);
            if let Output::Rewritten(out) = &verdict.output {
                assert_strict(&name, out);
            }
            if !mutated.starts_with(b"INVITE ") {
                assert_eq!(verdict.output, Output::Unchanged, "{name}");
                continue;
            }
            // CRs and LFs may change around them; the lines' content must not.
            let (mline, mto) = request_line_and_to(&mutated);
            let trim = |l: &[u8]| l.strip_suffix(b"\r").unwrap_or(l).to_vec();
            if trim(&mline) != trim(&line) || mto.map(|t| trim(&t)) != to.as_deref().map(trim) {
                continue;
            }
            kept += 1;
            // A callback or an in-dialog request read from other headers may change only
            // with the bytes that carry them; classification is what dialled says.
            if before.report.kind != Kind::Callback {
                assert_eq!(
                    (verdict.report.kind, verdict.report.dialed.as_deref()),
                    (before.report.kind, before.report.dialed.as_deref()),
                    "{name}:\n{}",
                    String::from_utf8_lossy(&mutated)
                );
                if before.report.kind != Kind::None {
                    recognised += 1;
                }
            }
        }
    }
    eprintln!(
        "{kept} mutations kept the Request-Line and To; {recognised} of them emergency or test calls"
    );
    assert!(
        kept > 2000 && recognised > 1000,
        "{kept} kept, {recognised} recognised"
    );
}

#[test]
fn three_hundred_header_fields_are_still_a_911_call_on_its_route() {
    let engine = contoso();
    let original = std::fs::read(root().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap();
    let extra: String = (0..300).map(|i| format!("X-Hop-{i}: sbc{i}\r\n")).collect();
    let at = find(&original, b"CSeq").unwrap();
    let mut many = original.clone();
    many.splice(at..at, extra.into_bytes());
    let verdict = decide(&engine, &many, "10.1.0.25");
    assert_eq!(verdict.report.kind, Kind::Emergency);
    assert_eq!(
        verdict.report.route.as_ref().map(|r| r.trunk.as_str()),
        Some("esp-primary")
    );
    assert!(verdict.report.read_leniently && verdict.edits.is_empty());
    let degraded = verdict.report.degraded.as_deref().unwrap_or_default();
    assert!(degraded.contains("too many header fields"), "{degraded}");
    let Output::Rewritten(out) = &verdict.output else {
        panic!("not rewritten")
    };
    assert_strict("300 fields", out);
    let text = String::from_utf8_lossy(out);
    assert!(text.contains("X-Hop-299: sbc299\r\n") && text.contains("Geolocation-Routing: yes"));
}
