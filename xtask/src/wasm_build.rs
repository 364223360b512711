//! The step `build-component`, `build-envoy` and `build-web` share: one package built in
//! release for a Wasm target, and the result written under `target/wasm/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::{cargo, run};

/// Builds `package` in release for `target` and returns the path of its `.wasm`
/// (`target/<target>/release/<package with _ for ->.wasm`).
pub fn release(root: &Path, package: &str, target: &str) -> Result<PathBuf> {
    run(cargo()
        .current_dir(root)
        .args(["build", "--release", "--target", target, "-p", package]))?;
    Ok(root
        .join("target")
        .join(target)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_"))))
}

/// Reads a built module.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Writes `bytes` to `output` (relative to `root`), creating its folder; returns the path.
pub fn write(root: &Path, output: &str, bytes: &[u8]) -> Result<PathBuf> {
    let out = root.join(output);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(out)
}
