//! The component under wasmtime, the Envoy build under the harness's proxy-wasm host and
//! the native engine, on the same messages and the same policy (`policies/contoso`), side
//! by side in one run:
//!
//! - `options`: an OPTIONS (the engine's fast path: not an INVITE, not parsed);
//! - `invite`: a non-emergency INVITE (parsed, classified, forwarded unchanged);
//! - `emergency`: `tests/corpus/emergency/hq-wired-911.sip`, the full rewrite (PIDF-LO
//!   multipart body, Geolocation, route).
//!
//! Run: `cargo xtask build-component && cargo xtask build-envoy && cargo bench -p
//! e911-harness --bench component`. The component call includes copying the message in,
//! the verdict (with the rewritten message, edit list and trace) out, and converting it
//! to the engine's `Verdict`. `proxy-wasm` is what `run --engine proxy-wasm` does per
//! message: a new connection, the message, end of stream, close, and the report read
//! back from the audit line; `proxy-wasm-open` is Envoy's steady state, one more message
//! on an open connection (`proxy_on_downstream_data`, buffer read and replaced).

// clippy.toml allows these in tests; a benchmark is test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use e911_component_host::{ComponentHost, ComponentRuntime, HostLimits};
use e911_engine::{CallCtx, Engine, MemoryStore, Transport};
use e911_host_files::policy_source::read_sources;
use e911_proxy_wasm_host::state::Clock;
use e911_proxy_wasm_host::{
    Direction, ProxyWasmDecider, ProxyWasmRuntime, ProxyWasmVm, VmSettings,
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn contoso() -> e911_policy::Policy {
    read_sources(&root().join("policies/contoso"))
        .unwrap()
        .compile()
        .unwrap()
}

fn corpus(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/corpus/emergency").join(name)).unwrap()
}

fn bench(c: &mut Criterion) {
    let policy = contoso();
    let bundle = policy.write_bundle(None).unwrap();
    let native = Engine::new(policy);
    let component = root().join("target/wasm/e911_policy.component.wasm");
    assert!(
        component.is_file(),
        "{} is missing: run `cargo xtask build-component`",
        component.display()
    );
    let runtime = ComponentRuntime::load(&component, HostLimits::default()).unwrap();
    let mut host = ComponentHost::new(runtime, MemoryStore::default()).unwrap();
    host.configure(&bundle, &[]).unwrap();
    let module = root().join("target/wasm/e911_envoy.wasm");
    assert!(
        module.is_file(),
        "{} is missing: run `cargo xtask build-envoy`",
        module.display()
    );
    let envoy = ProxyWasmRuntime::load(&module, HostLimits::default()).unwrap();
    let revision = native.policy().revision().to_owned();
    let mut decider = ProxyWasmDecider::new(
        envoy.clone(),
        bundle.clone(),
        revision,
        MemoryStore::default(),
    );
    let mut vm = ProxyWasmVm::start(
        &envoy,
        VmSettings {
            plugin_configuration: ProxyWasmDecider::configuration("edge-1.contoso.com", &bundle),
            vm_configuration: Vec::new(),
            shared: Default::default(),
            clock: Clock::Fixed(1_793_000_000 * 1_000_000_000),
            echo: None,
        },
    )
    .unwrap();
    let connection = vm.connect("10.1.0.25:5060".parse().unwrap()).unwrap();

    let ctx = CallCtx {
        now: 1_793_000_000,
        peer: Some("10.1.0.25".parse().unwrap()),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let inputs = [
        ("options", corpus("options-ping.sip")),
        ("invite", corpus("non-emergency-invite.sip")),
        ("emergency", corpus("hq-wired-911.sip")),
    ];
    for (name, message) in &inputs {
        // Both must agree before their speed means anything.
        let mut store = MemoryStore::default();
        let want = native.on_message(message, &ctx, &mut store);
        assert_eq!(
            host.on_message(message, &ctx),
            want,
            "{name}: component and native differ"
        );
        let forwarded = want.forwarded(message);
        assert!(
            decider.on_message(message, &ctx).forwarded(message) == forwarded,
            "{name}: proxy-wasm and native differ"
        );
        let open = vm.deliver(connection, Direction::Downstream, message, false);
        assert!(
            open.unwrap().forwarded == forwarded,
            "{name}: open connection"
        );
        let mut group = c.benchmark_group(*name);
        group.bench_function("native", |b| {
            let mut store = MemoryStore::default();
            b.iter(|| native.on_message(black_box(message), &ctx, &mut store));
        });
        group.bench_function("component", |b| {
            b.iter(|| host.on_message(black_box(message), &ctx));
        });
        group.bench_function("proxy-wasm", |b| {
            b.iter(|| decider.on_message(black_box(message), &ctx));
        });
        group.bench_function("proxy-wasm-open", |b| {
            b.iter(|| {
                let delivery =
                    vm.deliver(connection, Direction::Downstream, black_box(message), false);
                // Keep the log from filling: Envoy writes it out as it goes.
                let _ = vm.take_log();
                delivery
            });
        });
        group.finish();
    }
    assert_eq!(host.traps(), 0);
    assert_eq!(decider.traps(), 0);
    assert_eq!(vm.trapped(), None);
}

criterion_group!(benches, bench);
criterion_main!(benches);
