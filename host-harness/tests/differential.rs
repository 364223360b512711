//! Native engine versus the WebAssembly component under wasmtime: on every golden case of
//! `tests/cases/` and every message of `tests/corpus/emergency/`, `run --engine native` and
//! `run --engine component` must forward byte-identical messages, print identical
//! `--json` decisions, exit alike and leave the same callback state; the demo's sequence
//! of calls (ELIN assignment, then the PSAP callback) must give the same table and files.
//! Also: a trap in the component (time or memory limit) still forwards the message,
//! degraded, and the next message gets a fresh instance with the same policy.
//!
//! The component is `target/wasm/e911_policy.component.wasm`; `cargo xtask test` builds it
//! first (`cargo xtask build-component` does it alone).

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use e911_engine::{CallCtx, Engine, Kind, MemoryStore, Output as Forward, Transport};
use e911_harness::component_host::{ComponentHost, ComponentRuntime, HostLimits};
use e911_harness::policy_source::read_sources;

mod common;
use common::case::{case_dirs, read_case, run_case};
use common::{TempDir, first_difference, harness, repo_root};

const COMPONENT: &str = "target/wasm/e911_policy.component.wasm";
const NOW: &str = "2026-11-02T15:04:05Z";

fn component() -> PathBuf {
    let path = repo_root().join(COMPONENT);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask build-component` (cargo xtask test does)",
        path.display()
    );
    path
}

fn engine(name: &str) -> [&str; 2] {
    ["--engine", name]
}

/// What differs between two runs of the same input, if anything.
fn compare(label: &str, native: &Output, component: &Output, problems: &mut Vec<String>) {
    if native.status.code() != component.status.code() {
        problems.push(format!(
            "{label}: native exited {:?}, component {:?}; component stderr:\n{}",
            native.status.code(),
            component.status.code(),
            String::from_utf8_lossy(&component.stderr)
        ));
    }
    if native.stdout != component.stdout {
        problems.push(format!(
            "{label}: stdout differs at {}",
            first_difference(&native.stdout, &component.stdout)
        ));
    }
    if native.stderr != component.stderr {
        problems.push(format!(
            "{label}: stderr differs:\n  native:    {}\n  component: {}",
            String::from_utf8_lossy(&native.stderr),
            String::from_utf8_lossy(&component.stderr)
        ));
    }
}

#[test]
fn every_golden_case_gives_the_same_bytes_decision_and_state_in_both_engines() {
    component();
    let mut problems = Vec::new();
    let dirs = case_dirs();
    assert!(!dirs.is_empty());
    for dir in &dirs {
        let case = read_case(dir).unwrap();
        // Each engine starts from its own copy of the case's state.
        let native_tmp = TempDir::new(&format!("diff-native-{}", case.name));
        let component_tmp = TempDir::new(&format!("diff-component-{}", case.name));
        for json in [false, true] {
            let label = format!("{}{}", case.name, if json { " --json" } else { "" });
            let native = run_case(&case, json, &native_tmp, &engine("native"));
            let component = run_case(&case, json, &component_tmp, &engine("component"));
            compare(&label, &native.output, &component.output, &mut problems);
            if native.state_after != component.state_after {
                problems.push(format!("{label}: the callback state files differ"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} difference(s) over {} cases:\n{}",
        problems.len(),
        dirs.len(),
        problems.join("\n")
    );
}

/// The peer of each corpus file, from `manifest.tsv`.
fn corpus_peers() -> Vec<(String, String)> {
    let manifest =
        std::fs::read_to_string(repo_root().join("tests/corpus/emergency/manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?.to_owned(), cols.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn every_corpus_message_gives_the_same_bytes_and_decision_in_both_engines() {
    component();
    let dir = repo_root().join("tests/corpus/emergency");
    let peers = corpus_peers();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has {} messages", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let peer = peers
            .iter()
            .find(|(f, _)| *f == name)
            .map_or("10.1.0.25", |(_, p)| p.as_str());
        for json in [false, true] {
            let run = |which: &str| {
                let mut cmd = Command::new(harness());
                cmd.current_dir(repo_root())
                    .args(["run", "--policy", "policies/contoso", "--peer", peer])
                    .args(["--now", NOW])
                    .args(engine(which));
                if json {
                    cmd.arg("--json");
                }
                cmd.arg(file).output().unwrap()
            };
            let label = format!("{name}{}", if json { " --json" } else { "" });
            compare(&label, &run("native"), &run("component"), &mut problems);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_demo_sequence_gives_the_same_table_and_messages_in_both_engines() {
    component();
    let tmp = TempDir::new("diff-demo");
    let demo = |which: &str| {
        let out = tmp.path().join(which);
        let output = Command::new(harness())
            .current_dir(repo_root())
            .args(["demo", "--out"])
            .arg(&out)
            .args(engine(which))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "demo --engine {which} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (String::from_utf8(output.stdout).unwrap(), out)
    };
    let (native_table, native_out) = demo("native");
    let (component_table, component_out) = demo("component");
    // The header names the engine and the folder; the rows must be identical.
    let rows = |t: &str| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(rows(&native_table), rows(&component_table));
    assert!(component_table.contains("through the component (wasmtime)"));
    for entry in std::fs::read_dir(&native_out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let a = std::fs::read(&path).unwrap();
        let b = std::fs::read(component_out.join(name)).unwrap();
        assert!(
            a == b,
            "{}: {}",
            name.to_string_lossy(),
            first_difference(&a, &b)
        );
    }
}

#[test]
fn a_component_over_its_time_limit_still_forwards_the_call_degraded() {
    let input = repo_root().join("tests/corpus/emergency/hq-wired-911.sip");
    let run = |json: bool| {
        let mut cmd = Command::new(harness());
        cmd.current_dir(repo_root())
            .args(["run", "--policy", "policies/contoso", "--peer", "10.1.0.25"])
            .args(["--now", NOW, "--call-deadline-ms", "0"]);
        if json {
            cmd.arg("--json");
        }
        cmd.arg(&input).output().unwrap()
    };
    let plain = run(false);
    assert!(plain.status.success());
    assert_eq!(plain.stdout, std::fs::read(&input).unwrap());
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("plugin trapped"), "{stderr}");
    let json = run(true);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let degraded = value["degraded"].as_str().unwrap_or_default();
    assert!(degraded.starts_with("plugin trapped: "), "{value}");
    assert_eq!(value["bundle_revision"], "2026.11.1");
}

fn contoso_bundle() -> Vec<u8> {
    let sources = read_sources(&repo_root().join("policies/contoso")).unwrap();
    sources.compile().unwrap().write_bundle(None).unwrap()
}

#[test]
fn a_message_over_the_memory_limit_traps_and_the_next_call_gets_a_fresh_instance() {
    let limits = HostLimits {
        memory: 16 << 20,
        ..HostLimits::default()
    };
    let runtime = ComponentRuntime::load(&component(), limits).unwrap();
    let mut host = ComponentHost::new(runtime, MemoryStore::default()).unwrap();
    let bundle = contoso_bundle();
    let info = host.configure(&bundle, &[]).unwrap();
    assert_eq!(info.revision, "2026.11.1");
    assert_eq!(host.revision(), "2026.11.1");
    let ctx = CallCtx {
        now: 1_793_000_000,
        peer: Some("10.1.0.25".parse().unwrap()),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };

    let huge = vec![b'x'; 20 << 20];
    let trapped = host.on_message(&huge, &ctx);
    assert_eq!(trapped.output, Forward::Unchanged);
    assert!(
        trapped
            .report
            .degraded
            .as_deref()
            .is_some_and(|d| d.starts_with("plugin trapped: ")),
        "{:?}",
        trapped.report
    );
    assert!(trapped.metrics.contains(&"e911.trap"));
    assert_eq!(trapped.report.bundle_revision, "2026.11.1");
    assert_eq!(host.traps(), 1);

    // The next call: a new instance, configured again with the same bundle, decides as
    // the native engine does.
    let message =
        std::fs::read(repo_root().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap();
    let verdict = host.on_message(&message, &ctx);
    let native = Engine::new(
        e911_policy::Bundle::load(&bundle, &[])
            .unwrap()
            .into_policy(),
    )
    .on_message(&message, &ctx, &mut MemoryStore::default());
    assert_eq!(verdict.report.kind, Kind::Emergency);
    assert_eq!(verdict, native);
    assert_eq!(host.traps(), 1);
}
