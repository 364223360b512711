//! The page's two calls, natively, through the same exported API its JavaScript calls
//! (`Playground::compile` and `Playground::decide`, JSON out): what validating the
//! contoso policy and deciding `hq-wired-911` cost before Wasm and the browser add theirs.
//! `benches/page-vs-native.sh` runs the same calls in Chromium in the same run.

// A benchmark that cannot build its input should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use e911_web::Playground;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn contoso() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(repo().join("policies/contoso"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// The facts the page sends for the sample (its manifest peer, a fixed time).
const FACTS: &str = r#"{"peer":"10.1.0.25","transport":"tcp","now":"2026-11-22T10:00:00Z","node":"edge-1.contoso.com","bssid":"","chassis":"","port":""}"#;

fn playground(c: &mut Criterion) {
    let files = contoso();
    let mut group = c.benchmark_group("playground");
    group.bench_function("compile_contoso", |b| {
        let mut page = Playground::new();
        b.iter(|| {
            page.clear_files();
            for (name, bytes) in &files {
                page.add_file(name, bytes);
            }
            black_box(page.compile())
        });
    });
    let message = std::fs::read(repo().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap();
    let mut page = Playground::new();
    for (name, bytes) in &files {
        page.add_file(name, bytes);
    }
    assert!(page.compile().contains("\"ok\":true"));
    assert!(
        page.decide(&message, FACTS)
            .contains("\"kind\":\"emergency\"")
    );
    group.bench_function("decide_hq_wired", |b| {
        b.iter(|| black_box(page.decide(black_box(&message), FACTS)));
    });
    group.finish();
}

criterion_group!(benches, playground);
criterion_main!(benches);
