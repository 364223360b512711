//! `cargo xtask build-component`: the plugin as a WebAssembly component that imports
//! nothing but the `e911:policy` world (`wit/README.md` says why it is built this way).
//!
//! 1. `plugin/component` is built in release for `wasm32-unknown-unknown`, whose `std`
//!    imports nothing (a `wasm32-wasip2` `std` would import WASI for stderr, the clock…).
//!    wit-bindgen has embedded the world's component type in a custom section.
//! 2. `wit-component` wraps that core module into a component, validating it.
//!
//! The import and export check is `plugin/component/tests/world.rs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use wit_component::ComponentEncoder;

use crate::{step, wasm_build};

/// The target the core module is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The component, relative to the workspace root.
pub const OUTPUT: &str = "target/wasm/e911_policy.component.wasm";

/// Builds the component and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    step("build-component: the core module");
    let core = wasm_build::read(&wasm_build::release(root, "e911-plugin-component", TARGET)?)?;

    step("build-component: the component");
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&core)
        .context("reading the core module's component-type section")?
        .encode()
        .context("encoding the component")?;
    let out = wasm_build::write(root, OUTPUT, &component)?;
    println!(
        "{OUTPUT}: {} bytes (core module {} bytes)",
        component.len(),
        core.len()
    );
    Ok(out)
}
