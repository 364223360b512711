//! `cargo xtask build-kamailio`: the native bridge between Kamailio's `app_python3` and
//! the component (`hosts/kamailio/native/`, a Python extension module), built in release
//! and placed where the glue's settings name it (`native_module`).
//!
//! The module uses Python's stable ABI (3.11 and later), so the one file serves the
//! Python that Kamailio embeds whatever its minor version; it links no libpython and
//! needs no virtualenv.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::{cargo, run, step};

/// The package and the file cargo builds for it (`lib.name` in its Cargo.toml).
const PACKAGE: &str = "e911-kamailio";
const BUILT: &str = "target/release/libe911_native.so";
/// Where it goes, relative to the workspace root: the name Python imports it by.
pub const OUTPUT: &str = "target/kamailio/e911_native.so";

/// Builds the bridge and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    step("build-kamailio: the native bridge (release)");
    run(cargo()
        .current_dir(root)
        .args(["build", "--release", "-p", PACKAGE]))?;
    let built = root.join(BUILT);
    let out = root.join(OUTPUT);
    let dir = out.parent().context("the output has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Copied aside and renamed into place: a Kamailio still running maps the old file,
    // and writing over a mapped library crashes it.
    let tmp = out.with_extension(format!("so.{}", std::process::id()));
    std::fs::copy(&built, &tmp)
        .with_context(|| format!("copying {} to {}", built.display(), tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!("{OUTPUT}: {size} bytes");
    Ok(out)
}
