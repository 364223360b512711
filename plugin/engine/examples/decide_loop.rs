//! Decides one message many times against `policies/contoso`, for profilers
//! (`perf record`, `valgrind --tool=callgrind`), which need a steady loop and no
//! benchmark harness around it:
//!
//! ```text
//! cargo build --release -p e911-engine --example decide_loop
//! perf record -g target/release/examples/decide_loop tests/corpus/emergency/hq-wired-911.sip 200000
//! ```
//!
//! Arguments: the message file, the number of rounds (default 100000), the peer address
//! (default 10.1.0.25, an HQ phone), and `first-trunk-only` to decide as the Envoy filter
//! does ([`Failover::FirstTrunkOnly`]). With `AUDIT=1` in the environment, each audited
//! verdict's audit line is written too ([`e911_engine::Report::to_json`]), as the Envoy
//! filter and the Kamailio bridge write one per emergency call.

// A tool: a bad argument should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use e911_engine::{CallCtx, Engine, Failover, MemoryStore, Transport};
use e911_policy::Sources;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let message = std::fs::read(
        args.first()
            .expect("usage: decide_loop FILE [ROUNDS] [PEER]"),
    )
    .expect("the message file");
    let rounds: u64 = args.get(1).map_or(100_000, |n| n.parse().expect("ROUNDS"));
    let peer = args.get(2).map_or("10.1.0.25", String::as_str);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso");
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(&dir).expect("policies/contoso") {
        let path = entry.expect("a directory entry").path();
        sources.add(
            path.file_name().expect("a file name").to_string_lossy(),
            &std::fs::read(&path).expect("a policy file"),
        );
    }
    let failover = match args.get(3).map(String::as_str) {
        Some("first-trunk-only") => Failover::FirstTrunkOnly,
        _ => Failover::ByHost,
    };
    let engine =
        Engine::new(sources.compile().expect("policies/contoso compiles")).with_failover(failover);
    let ctx = CallCtx {
        now: 1_795_000_000,
        peer: peer.parse().ok(),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let audit = std::env::var_os("AUDIT").is_some();
    let start = std::time::Instant::now();
    let mut changed = 0u64;
    for _ in 0..rounds {
        let verdict = engine.on_message(&message, &ctx, &mut MemoryStore::default());
        changed += u64::from(!verdict.edits.is_empty());
        if audit && verdict.is_audited() {
            std::hint::black_box(verdict.report.to_json());
        }
    }
    let each = start.elapsed().as_nanos() as f64 / rounds as f64;
    println!("{rounds} rounds, {each:.0} ns each, {changed} rewritten");
}
