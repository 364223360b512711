//! Engine benchmarks: what one message costs the proxy, natively.
//!
//! - `engine/emergency_invite`: a 911 INVITE from an HQ subnet through a policy holding
//!   contoso plus 1,000,000 generated subnets: parse, facts, LIS lookup, policy, PIDF-LO,
//!   multipart rewrite, render, report and notification.
//! - `engine/non_emergency_invite`: an ordinary INVITE (parsed, classified, untouched).
//! - `engine/options_passthrough`, `engine/response_passthrough`: the fast path.

// A benchmark that cannot build its input should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use e911_engine::{CallCtx, Engine, MemoryStore, Transport};
use e911_policy::Sources;

/// Generated subnets added to contoso: 1,000,000 IPv4 /28s in 11.0.0.0/8 and up, none
/// overlapping contoso's own, all pointing at one contoso ERL.
const BULK_SUBNETS: u32 = 1_000_000;

fn policy_with_bulk_subnets() -> Engine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso");
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        sources.add(
            path.file_name().unwrap().to_string_lossy(),
            &std::fs::read(&path).unwrap(),
        );
    }
    let mut bulk = String::from("subnet,erl\n");
    for i in 0..BULK_SUBNETS {
        let net = std::net::Ipv4Addr::from(0x0b00_0000 + i * 16);
        writeln!(bulk, "{net}/28,redmond-b40-f1").unwrap();
    }
    sources.add("bulk-subnets.csv", bulk.as_bytes());
    Engine::new(
        sources
            .compile()
            .unwrap_or_else(|p| panic!("{:?}", &p[..p.len().min(3)])),
    )
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/corpus/emergency")
            .join(name),
    )
    .unwrap()
}

const RESPONSE: &[u8] = b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TCP 10.1.0.25:5060;branch=z9hG4bK776asdhds\r\n\
From: <sip:+14255550101@contoso.com>;tag=1928301774\r\nTo: <sip:+14255550199@contoso.com>;tag=a6c85cf\r\n\
Call-ID: regular-call-1@10.1.0.25\r\nCSeq: 314159 INVITE\r\nContent-Length: 0\r\n\r\n";

fn engine(c: &mut Criterion) {
    let engine = policy_with_bulk_subnets();
    let ctx = CallCtx {
        now: 1_800_000_000,
        peer: "10.1.0.25".parse().ok(),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let cases = [
        ("emergency_invite", corpus("hq-wired-911.sip")),
        ("non_emergency_invite", corpus("non-emergency-invite.sip")),
        ("options_passthrough", corpus("options-ping.sip")),
        ("response_passthrough", RESPONSE.to_vec()),
    ];
    let mut group = c.benchmark_group("engine");
    for (name, bytes) in &cases {
        let mut store = MemoryStore::default();
        group.bench_function(*name, |b| {
            b.iter(|| black_box(engine.on_message(black_box(bytes), &ctx, &mut store)))
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
