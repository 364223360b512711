//! Policy benchmarks (figures are recorded elsewhere, by whoever runs them):
//!
//! - `lis_lookup/{10k,100k,1M}`: network lookup through a compiled policy, over generated
//!   mixed elements (IPv4 and IPv6 subnets, BSSIDs, switch ports), cycling through hits.
//! - `bundle_1M/compile`: sources (CSV text) to a `Policy`.
//! - `bundle_1M/load`: a signed bundle's bytes to a verified `Policy`.
//! - `evaluate/emergency_call`: `Policy::evaluate` for a 911 call on the contoso example.

// A benchmark that cannot build its input should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use e911_policy::{Bundle, NetworkFacts, Policy, RawFacts, SecretKey, Sources};

/// One generated element: what a lookup for it passes.
#[derive(Clone)]
enum Probe {
    Ip(IpAddr),
    Bssid(String),
    Port(String, String),
}

const ERLS: usize = 1000;

/// Sources with `n` network elements: 50% IPv4 /28, 10% IPv6 /64, 35% BSSIDs, 5% ports.
fn generate(n: usize) -> (Sources, Vec<Probe>) {
    let mut erls = String::from("id,country,A1,A3,HNO,RD,FLR,validated\n");
    for i in 0..ERLS {
        writeln!(
            erls,
            "erl-{i},US,WA,Redmond,{},Main,{},yes",
            i / 10 + 1,
            i % 10 + 1
        )
        .unwrap();
    }
    let (mut subnets, mut bssids) = (String::from("subnet,erl\n"), String::from("bssid,erl\n"));
    let mut ports = String::from("chassisid,portid,erl\n");
    let mut probes = Vec::with_capacity(n);
    for i in 0..n {
        let erl = i % ERLS;
        let id = u32::try_from(i).unwrap();
        match i % 20 {
            0..10 => {
                let net = Ipv4Addr::from(0x0a00_0000 + id * 16);
                writeln!(subnets, "{net}/28,erl-{erl}").unwrap();
                probes.push(Probe::Ip(IpAddr::V4(Ipv4Addr::from(u32::from(net) + 5))));
            }
            10..12 => {
                let net = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(id) << 64));
                writeln!(subnets, "{net}/64,erl-{erl}").unwrap();
                probes.push(Probe::Ip(IpAddr::V6(Ipv6Addr::from(
                    u128::from(net) | 0x1234,
                ))));
            }
            12..19 => {
                let mac = format!("{:012x}", 0x0200_0000_0000_u64 + u64::from(id));
                writeln!(bssids, "{mac},erl-{erl}").unwrap();
                probes.push(Probe::Bssid(mac));
            }
            _ => {
                let (chassis, port) = (format!("sw-{}", i / 48), format!("Gi1/0/{}", i % 48));
                writeln!(ports, "{chassis},{port},erl-{erl}").unwrap();
                probes.push(Probe::Port(chassis, port));
            }
        }
    }
    let files = [
        (
            "bundle.toml",
            String::from("tenant = \"bench\"\nrevision = 1\nglobal_policy = \"p\"\n"),
        ),
        (
            "policies.toml",
            String::from("[policies.p]\ndial_strings = [\"911\"]\nroute = \"r\"\n"),
        ),
        (
            "routes.toml",
            String::from(
                "[trunks.t]\nkind = \"sip-trunk\"\ntarget = \"sip:esp.example.net\"\n[routes.r]\ntrunks = [\"t\"]\n",
            ),
        ),
        ("erls.csv", erls),
        ("subnets.csv", subnets),
        ("wireless.csv", bssids),
        ("ports.csv", ports),
    ];
    (Sources::from_files(files), probes)
}

fn compile(sources: &Sources) -> Policy {
    sources.compile().unwrap_or_else(|problems| {
        panic!("generated bundle: {:?}", &problems[..problems.len().min(3)])
    })
}

fn lis_lookup(c: &mut Criterion) {
    let mut group = c.benchmark_group("lis_lookup");
    for (label, n) in [("10k", 10_000), ("100k", 100_000), ("1M", 1_000_000)] {
        let (sources, probes) = generate(n);
        let policy = compile(&sources);
        // Visit elements in a scattered order so the lookups do not walk the arrays in step.
        let order: Vec<Probe> = (0..probes.len())
            .map(|i| probes[(i * 7919) % probes.len()].clone())
            .collect();
        let mut at = 0;
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter(|| {
                at = (at + 1) % order.len();
                let facts = match &order[at] {
                    Probe::Ip(ip) => NetworkFacts {
                        ip: Some(*ip),
                        ..NetworkFacts::default()
                    },
                    Probe::Bssid(mac) => NetworkFacts {
                        bssid: Some(mac),
                        ..NetworkFacts::default()
                    },
                    Probe::Port(chassis, port) => NetworkFacts {
                        chassis: Some(chassis),
                        port: Some(port),
                        ..NetworkFacts::default()
                    },
                };
                black_box(policy.locate(black_box(&facts)))
            });
        });
    }
    group.finish();
}

fn bundle_1m(c: &mut Criterion) {
    let (sources, _) = generate(1_000_000);
    let key = SecretKey::from_seed([9; 32]);
    let trusted = [key.public_key()];
    let bytes = compile(&sources).write_bundle(Some(&key)).unwrap();
    let mut group = c.benchmark_group("bundle_1M");
    // Seconds per iteration: the fewest samples criterion allows, each one iteration long.
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    group
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("compile", |b| {
        b.iter(|| black_box(compile(black_box(&sources))))
    });
    group.bench_function("load", |b| {
        b.iter(|| black_box(Bundle::load(black_box(&bytes), &trusted).unwrap()))
    });
    group.finish();
}

fn contoso() -> Policy {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/contoso");
    let files = std::fs::read_dir(&dir).unwrap().map(|entry| {
        let path = entry.unwrap().path();
        (
            path.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(&path).unwrap(),
        )
    });
    compile(&Sources::from_files(files))
}

fn evaluate(c: &mut Criterion) {
    let policy = contoso();
    let facts = RawFacts {
        dialed: Some("911"),
        asserted_identity: Some("sip:bob@contoso.com"),
        peer_ip: "10.1.2.77".parse().ok(),
        bssid: Some("001122334455"),
        now: 1_800_000_000,
        ..RawFacts::default()
    };
    c.bench_function("evaluate/emergency_call", |b| {
        b.iter(|| black_box(policy.decide(black_box(facts)).kind))
    });
}

criterion_group!(benches, lis_lookup, bundle_1m, evaluate);
criterion_main!(benches);
