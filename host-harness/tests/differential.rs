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
//!
//! The Envoy build (`target/wasm/e911_envoy.wasm`, `cargo xtask build-envoy`) under the
//! harness's proxy-wasm host is held to the native engine too: every golden case forwards
//! the same bytes and leaves the same callback state (the host seeds the module's shared
//! data from the case's state file and reads it back), and every audited decision's
//! report reads back equal from the audit line; a message split at every byte boundary,
//! with a second one behind it, leaves the filter exactly as native forwards the two.

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

use e911_component_host::{ComponentHost, ComponentRuntime, HostLimits};
use e911_engine::{CallCtx, Engine, Kind, MemoryStore, Output as Forward, Transport};
use e911_host_files::policy_source::read_sources;
use e911_proxy_wasm_host::{
    Direction, ProxyWasmDecider, ProxyWasmRuntime, ProxyWasmVm, VmSettings,
};

mod common;
use common::case::{Case, RunResult, case_dirs, read_case, run_case};
use common::tools::{component, envoy_module};
use common::{TempDir, first_difference, harness, repo_root};

const COMPONENT: &str = "target/wasm/e911_policy.component.wasm";
const NOW: &str = "2026-11-02T15:04:05Z";

/// `--engine NAME`, with a call deadline far above the default 300 ms: these tests
/// compare decisions, and on a loaded machine (CI's two cores, every test binary's
/// processes at once) a call can miss 300 ms of wall-clock time and trap. The deadline's
/// own behaviour is tested with `--call-deadline-ms 0`.
fn engine(name: &str) -> [&str; 4] {
    ["--engine", name, "--call-deadline-ms", "20000"]
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

/// Runs every golden case, plain and `--json`, through the native engine and `other`, each
/// from its own copy of the case's state; `check` records what differs in a pair of runs.
/// The callback state files must match after every run, whatever `check` says. Fails with
/// every difference at once.
fn every_case_against_native(
    other: &str,
    mut check: impl FnMut(&Case, &str, bool, &RunResult, &RunResult, &mut Vec<String>),
) {
    let mut problems = Vec::new();
    let dirs = case_dirs();
    assert!(!dirs.is_empty());
    for dir in &dirs {
        let case = read_case(dir).unwrap();
        let native_tmp = TempDir::new(&format!("diff-native-{}", case.name));
        let other_tmp = TempDir::new(&format!("diff-{other}-{}", case.name));
        for json in [false, true] {
            let label = format!("{}{}", case.name, if json { " --json" } else { "" });
            let native = run_case(&case, json, &native_tmp, &engine("native"));
            let theirs = run_case(&case, json, &other_tmp, &engine(other));
            check(&case, &label, json, &native, &theirs, &mut problems);
            if native.state_after != theirs.state_after {
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

#[test]
fn every_golden_case_gives_the_same_bytes_decision_and_state_in_both_engines() {
    component();
    every_case_against_native("component", |_, label, _, native, component, problems| {
        compare(label, &native.output, &component.output, problems);
    });
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
            .args(["demo", "--now", NOW, "--out"])
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
    same_files(&native_out, &component_out);
}

#[test]
fn the_demo_sequence_gives_the_same_table_and_messages_through_the_envoy_build() {
    envoy_module();
    let tmp = TempDir::new("diff-demo-envoy");
    let demo = |which: &str| {
        let out = tmp.path().join(which);
        let output = Command::new(harness())
            .current_dir(repo_root())
            .args(["demo", "--now", NOW, "--out"])
            .arg(&out)
            .args(engine(which))
            .output()
            .unwrap();
        assert!(output.status.success(), "demo --engine {which} failed");
        (String::from_utf8(output.stdout).unwrap(), out)
    };
    let (native_table, native_out) = demo("native");
    let (envoy_table, envoy_out) = demo("proxy-wasm");
    let rows = |t: &str| t.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(rows(&native_table), rows(&envoy_table));
    assert!(envoy_table.contains("through the Envoy build"));
    same_files(&native_out, &envoy_out);
}

/// Every file of `a` has a byte-identical twin in `b`.
fn same_files(a: &std::path::Path, b: &std::path::Path) {
    let mut count = 0;
    for entry in std::fs::read_dir(a).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let x = std::fs::read(&path).unwrap();
        let y = std::fs::read(b.join(name)).unwrap();
        assert!(
            x == y,
            "{}: {}",
            name.to_string_lossy(),
            first_difference(&x, &y)
        );
        count += 1;
    }
    assert!(count >= 10, "{count} messages written");
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
    assert!(trapped.metrics.contains(&e911_engine::Metric::Trap));
    assert_eq!(&*trapped.report.bundle_revision, "2026.11.1");
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

/// The `--json` object without `edits`: the Envoy build renders its edits inside and the
/// harness cannot count them.
fn json_without_edits(stdout: &[u8]) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_slice(stdout).unwrap();
    value.as_object_mut().unwrap().remove("edits");
    value
}

/// What the proxy-wasm run must share with the native one in `--json`: everything but
/// `edits` when native audits the decision (the module logs the same report); only the
/// forwarded bytes, kind, revision and `degraded` otherwise (the module logs nothing
/// for a plain message). A case sent over UDP is compared on the bytes alone: Envoy's
/// filter sees TCP only, where a message shorter than its Content-Length is incomplete
/// and forwarded undecided when the client closes.
fn compare_json(label: &str, udp: bool, native: &[u8], envoy: &[u8], problems: &mut Vec<String>) {
    let (native, envoy) = (json_without_edits(native), json_without_edits(envoy));
    let audited = native["kind"] != "none" || !native["degraded"].is_null();
    let keys: &[&str] = match (udp, audited) {
        (true, _) => &["message_base64"],
        (false, false) => &["message_base64", "kind", "bundle_revision", "degraded"],
        (false, true) => &[],
    };
    let differs = if keys.is_empty() {
        native != envoy
    } else {
        keys.iter().any(|k| native[k] != envoy[k])
    };
    if differs {
        problems.push(format!(
            "{label}: --json differs:\n  native:     {native}\n  proxy-wasm: {envoy}"
        ));
    }
}

#[test]
fn every_golden_case_forwards_the_same_bytes_and_state_through_the_envoy_build() {
    envoy_module();
    every_case_against_native(
        "proxy-wasm",
        |case, label, json, native, envoy, problems| {
            let (n, e) = (&native.output, &envoy.output);
            if n.status.code() != e.status.code() || n.stderr != e.stderr {
                problems.push(format!(
                    "{label}: native exited {:?} ({}), proxy-wasm {:?} ({})",
                    n.status.code(),
                    String::from_utf8_lossy(&n.stderr).trim(),
                    e.status.code(),
                    String::from_utf8_lossy(&e.stderr).trim()
                ));
                return;
            }
            if !n.status.success() {
                return;
            }
            let udp = case.transport.as_deref() == Some("udp");
            if udp && !frames_on_a_stream(&std::fs::read(case.dir.join("input.sip")).unwrap()) {
                // Envoy carries SIP over TCP only: a datagram shorter than its
                // Content-Length has no stream that would deliver it.
                return;
            }
            if json {
                compare_json(label, udp, &n.stdout, &e.stdout, problems);
            } else if n.stdout != e.stdout {
                problems.push(format!(
                    "{label}: forwarded bytes differ at {}",
                    first_difference(&n.stdout, &e.stdout)
                ));
            }
        },
    );
}

/// Whether a stream holding exactly `input` frames it as one whole message.
fn frames_on_a_stream(input: &[u8]) -> bool {
    matches!(
        e911_sip::frame(input, &e911_engine::ENGINE_LIMITS),
        e911_sip::Framed::Message { skip: 0, len } if len == input.len()
    )
}

fn envoy_vm() -> ProxyWasmVm {
    let runtime = ProxyWasmRuntime::load(&envoy_module(), HostLimits::default()).unwrap();
    let settings = VmSettings {
        plugin_configuration: ProxyWasmDecider::configuration(
            "edge-1.contoso.com",
            &contoso_bundle(),
        ),
        vm_configuration: Vec::new(),
        shared: Default::default(),
        clock: e911_proxy_wasm_host::state::Clock::Fixed(1_793_000_000 * 1_000_000_000),
        echo: None,
    };
    ProxyWasmVm::start(&runtime, settings).unwrap()
}

#[test]
fn a_stream_split_at_every_byte_leaves_the_envoy_build_as_native_forwards_it() {
    let corpus =
        |name: &str| std::fs::read(repo_root().join("tests/corpus/emergency").join(name)).unwrap();
    // An emergency INVITE (rewritten, longer) behind an OPTIONS (passed as it is).
    let first = corpus("options-ping.sip");
    let second = corpus("hq-wired-911.sip");
    let ctx = CallCtx {
        now: 1_793_000_000,
        peer: Some("10.1.0.25".parse().unwrap()),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let native = Engine::new(
        read_sources(&repo_root().join("policies/contoso"))
            .unwrap()
            .compile()
            .unwrap(),
    );
    let mut store = MemoryStore::default();
    let mut expected = native
        .on_message(&first, &ctx, &mut store)
        .forwarded(&first)
        .to_vec();
    let verdict = native.on_message(&second, &ctx, &mut store);
    assert_eq!(verdict.report.kind, Kind::Emergency);
    expected.extend_from_slice(verdict.forwarded(&second));
    assert_ne!(
        expected.len(),
        first.len() + second.len(),
        "the INVITE is rewritten"
    );

    let stream = [first.as_slice(), second.as_slice()].concat();
    let mut vm = envoy_vm();
    let peer = "10.1.0.25:5060".parse().unwrap();
    for split in 0..=stream.len() {
        let id = vm.connect(peer).unwrap();
        let (head, tail) = stream.split_at(split);
        let mut forwarded = vm
            .deliver(id, Direction::Downstream, head, false)
            .unwrap()
            .forwarded;
        forwarded.extend(
            vm.deliver(id, Direction::Downstream, tail, false)
                .unwrap()
                .forwarded,
        );
        vm.close(id).unwrap();
        assert!(
            forwarded == expected,
            "split at byte {split}: {}",
            first_difference(&expected, &forwarded)
        );
    }
    assert_eq!(vm.trapped(), None);
    let (log, dropped) = vm.take_log();
    let audits = log
        .iter()
        .filter(|l| l.message.starts_with("e911.audit "))
        .count();
    assert_eq!(
        (audits, dropped),
        (stream.len() + 1, 0),
        "one audit line per INVITE"
    );
}

#[test]
fn the_envoy_build_reports_each_corpus_call_as_the_native_engine_does() {
    let runtime = ProxyWasmRuntime::load(&envoy_module(), HostLimits::default()).unwrap();
    let bundle = contoso_bundle();
    let mut decider = ProxyWasmDecider::new(
        runtime,
        bundle.clone(),
        "2026.11.1".to_owned(),
        MemoryStore::default(),
    );
    let native = Engine::new(
        e911_policy::Bundle::load(&bundle, &[])
            .unwrap()
            .into_policy(),
    );
    let mut store = MemoryStore::default();
    let peers = corpus_peers();
    assert!(peers.len() >= 10);
    for (file, peer) in &peers {
        let message = std::fs::read(repo_root().join("tests/corpus/emergency").join(file)).unwrap();
        let ctx = CallCtx {
            now: 1_793_000_000,
            peer: Some(peer.parse().unwrap()),
            transport: Transport::Tcp,
            node: "edge-1.contoso.com",
        };
        let want = native.on_message(&message, &ctx, &mut store);
        let got = decider.on_message(&message, &ctx);
        assert!(
            got.forwarded(&message) == want.forwarded(&message),
            "{file}: forwarded bytes differ at {}",
            first_difference(want.forwarded(&message), got.forwarded(&message))
        );
        if want.is_audited() {
            assert_eq!(got.report, want.report, "{file}: report");
        }
        assert_eq!(decider.callbacks(), &store, "{file}: callback state");
    }
    assert_eq!(decider.traps(), 0);
}

#[test]
fn an_envoy_build_over_its_time_limit_still_forwards_the_call_degraded() {
    envoy_module();
    let input = repo_root().join("tests/corpus/emergency/hq-wired-911.sip");
    let output = Command::new(harness())
        .current_dir(repo_root())
        .args(["run", "--policy", "policies/contoso", "--peer", "10.1.0.25"])
        .args(["--now", NOW, "--call-deadline-ms", "0", "--json"])
        .args(["--engine", "proxy-wasm"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let degraded = value["degraded"].as_str().unwrap_or_default();
    assert!(degraded.starts_with("plugin trapped: "), "{value}");
    let forwarded = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        value["message_base64"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(forwarded, std::fs::read(&input).unwrap());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("proxy-wasm module failed"), "{stderr}");
}

#[test]
fn a_configuration_the_envoy_build_refuses_is_an_error_with_its_reason() {
    let runtime = ProxyWasmRuntime::load(&envoy_module(), HostLimits::default()).unwrap();
    let settings = VmSettings {
        plugin_configuration: br#"{"node": "edge-1", "bundle": {"inline": "bm90IGEgYnVuZGxl"}}"#
            .to_vec(),
        vm_configuration: Vec::new(),
        shared: Default::default(),
        clock: e911_proxy_wasm_host::state::Clock::System,
        echo: None,
    };
    let err = ProxyWasmVm::start(&runtime, settings)
        .err()
        .expect("refused");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "the proxy-wasm module refused to start: proxy_on_configure answered false: "
        ),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn a_missing_or_foreign_module_is_one_line_saying_what_to_do() {
    let run = |module: &str| {
        Command::new(harness())
            .current_dir(repo_root())
            .args(["run", "--policy", "policies/contoso", "--peer", "10.1.0.25"])
            .args(["--engine", "proxy-wasm", "--proxy-wasm", module])
            .arg("tests/corpus/emergency/hq-wired-911.sip")
            .output()
            .unwrap()
    };
    let missing = run("no/such/module.wasm");
    assert!(!missing.status.success());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "e911-harness: no/such/module.wasm: not built; build it with `cargo xtask build-envoy` (or use --engine native)\n"
    );
    // The WIT component is no proxy-wasm module.
    let foreign = run(COMPONENT);
    assert!(!foreign.status.success());
    let stderr = String::from_utf8_lossy(&foreign.stderr);
    assert!(
        stderr.starts_with("e911-harness: the proxy-wasm module cannot be loaded: ")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn upstream_data_goes_through_the_envoy_build_as_native_decides_it() {
    // A response from the carrier side passes as it is; both directions share a VM.
    let response =
        std::fs::read(repo_root().join("tests/cases/sip-response-200-ok/input.sip")).unwrap();
    let mut vm = envoy_vm();
    let id = vm.connect("10.1.0.25:5060".parse().unwrap()).unwrap();
    vm.set_upstream(id, "198.51.100.7:5060".parse().unwrap());
    let (head, tail) = response.split_at(response.len() / 2);
    let mut forwarded = vm
        .deliver(id, Direction::Upstream, head, false)
        .unwrap()
        .forwarded;
    forwarded.extend(
        vm.deliver(id, Direction::Upstream, tail, false)
            .unwrap()
            .forwarded,
    );
    assert!(
        forwarded == response,
        "{}",
        first_difference(&response, &forwarded)
    );
    vm.close(id).unwrap();
    assert_eq!(vm.trapped(), None);
}

#[test]
fn a_psap_callback_from_upstream_is_retargeted_as_native_does() {
    let dir = repo_root().join("tests/cases/psap-callback-in-window");
    let message = std::fs::read(dir.join("input.sip")).unwrap();
    let state: MemoryStore =
        serde_json::from_slice(&std::fs::read(dir.join("state.json")).unwrap()).unwrap();
    let now = e911_engine::time::parse_rfc3339("2026-11-21T14:10:00Z").unwrap();
    let ctx = CallCtx {
        now,
        peer: Some("203.0.113.10".parse().unwrap()),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let native = Engine::new(
        read_sources(&repo_root().join("policies/contoso"))
            .unwrap()
            .compile()
            .unwrap(),
    );
    let verdict = native.on_message(&message, &ctx, &mut state.clone());
    assert_eq!(verdict.report.kind, Kind::Callback);

    let runtime = ProxyWasmRuntime::load(&envoy_module(), HostLimits::default()).unwrap();
    let shared = e911_proxy_wasm_host::shared_data::SharedData::default();
    e911_proxy_wasm_host::decide::seed(&shared, &state);
    let settings = VmSettings {
        plugin_configuration: ProxyWasmDecider::configuration(
            "edge-1.contoso.com",
            &contoso_bundle(),
        ),
        vm_configuration: Vec::new(),
        shared,
        clock: e911_proxy_wasm_host::state::Clock::Fixed(now * 1_000_000_000),
        echo: None,
    };
    let mut vm = ProxyWasmVm::start(&runtime, settings).unwrap();
    // The carrier's leg: our client side is the SBC, the PSAP arrives from upstream.
    let id = vm.connect("10.1.0.5:5060".parse().unwrap()).unwrap();
    vm.set_upstream(id, "203.0.113.10:5060".parse().unwrap());
    let forwarded = vm
        .deliver(id, Direction::Upstream, &message, false)
        .unwrap()
        .forwarded;
    let want = verdict.forwarded(&message);
    assert_ne!(want, message.as_slice(), "native re-targets it");
    assert!(forwarded == want, "{}", first_difference(want, &forwarded));
}

#[test]
fn an_envoy_build_polling_its_bundle_asks_once_per_tick_and_forwards_calls_meanwhile() {
    // The host records HTTP calls and never answers them: the poll stays pending, no
    // bundle arrives, and an emergency call still leaves exactly as it came.
    let runtime = ProxyWasmRuntime::load(&envoy_module(), HostLimits::default()).unwrap();
    let config = br#"{"node": "edge-1", "bundle": {"http": {"cluster": "bundles",
        "authority": "bundles.example", "path": "/contoso.bundle", "poll_seconds": 5}}}"#;
    let settings = VmSettings {
        plugin_configuration: config.to_vec(),
        vm_configuration: Vec::new(),
        shared: Default::default(),
        clock: e911_proxy_wasm_host::state::Clock::Fixed(1_793_000_000 * 1_000_000_000),
        echo: None,
    };
    let mut vm = ProxyWasmVm::start(&runtime, settings).unwrap();
    assert_eq!(vm.tick_period_ms(), 1000);
    vm.tick().unwrap();
    let calls = vm.take_http_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].upstream, "bundles");
    let header = |name: &str| {
        calls[0]
            .headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header(":method"), Some("GET"));
    assert_eq!(header(":path"), Some("/contoso.bundle"));
    assert_eq!(header(":authority"), Some("bundles.example"));
    vm.tick().unwrap();
    assert!(vm.take_http_calls().is_empty(), "one poll at a time");

    let message =
        std::fs::read(repo_root().join("tests/corpus/emergency/hq-wired-911.sip")).unwrap();
    let id = vm.connect("10.1.0.25:5060".parse().unwrap()).unwrap();
    let forwarded = vm
        .deliver(id, Direction::Downstream, &message, false)
        .unwrap()
        .forwarded;
    assert!(forwarded == message, "no bundle yet: forwarded as received");
    vm.close(id).unwrap();
    assert_eq!(vm.trapped(), None);
}
