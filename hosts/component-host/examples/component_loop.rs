//! Decides one message many times through the component under wasmtime, for profilers,
//! as `e911-engine`'s `decide_loop` does natively. `valgrind --tool=callgrind` counts the
//! guest's compiled code with the host's, so the difference between two round counts is
//! what one decision costs in the component, lifting the verdict included, free of this
//! machine's clock:
//!
//! ```text
//! cargo xtask build-component
//! cargo build --release -p e911-component-host --example component_loop
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/component_loop tests/corpus/emergency/hq-wired-911.sip 201
//! ```
//!
//! The `.cwasm` cache's key includes the CPU's features, which look different under
//! valgrind: run it once under valgrind before counting, or the first count includes a
//! compile.
//!
//! Arguments: the message file, the number of rounds (default 10000), and the component
//! (default `target/wasm/e911_policy.component.wasm`), so that two builds can be counted
//! side by side. The policy is `policies/contoso`; the peer an HQ phone.

// A tool: a bad argument should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use e911_component_host::{ComponentHost, ComponentRuntime, HostLimits};
use e911_engine::{CallCtx, MemoryStore, Transport};
use e911_policy::Sources;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let message = std::fs::read(
        args.first()
            .expect("usage: component_loop FILE [ROUNDS] [COMPONENT]"),
    )
    .expect("the message file");
    let rounds: u64 = args.get(1).map_or(10_000, |n| n.parse().expect("ROUNDS"));
    let component = args.get(2).map_or_else(
        || root.join("target/wasm/e911_policy.component.wasm"),
        PathBuf::from,
    );
    let mut sources = Sources::new();
    for entry in std::fs::read_dir(root.join("policies/contoso")).expect("policies/contoso") {
        let path = entry.expect("a directory entry").path();
        sources.add(
            path.file_name().expect("a file name").to_string_lossy(),
            &std::fs::read(&path).expect("a policy file"),
        );
    }
    let bundle = sources
        .compile()
        .expect("policies/contoso compiles")
        .write_bundle(None)
        .expect("the bundle");
    let runtime = ComponentRuntime::load(&component, HostLimits::default()).expect("component");
    let mut host = ComponentHost::new(runtime, MemoryStore::default()).expect("an instance");
    host.configure(&bundle, &[]).expect("the bundle loads");
    let ctx = CallCtx {
        now: 1_795_000_000,
        peer: "10.1.0.25".parse().ok(),
        transport: Transport::Tcp,
        node: "edge-1.contoso.com",
    };
    let start = std::time::Instant::now();
    let mut changed = 0u64;
    for _ in 0..rounds {
        let verdict = host.on_message(&message, &ctx);
        changed += u64::from(!verdict.edits.is_empty());
    }
    let each = start.elapsed().as_nanos() / u128::from(rounds.max(1));
    println!("{rounds} rounds, {each} ns each, {changed} rewritten");
}
