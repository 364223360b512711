//! `cargo xtask build-web`: the policy playground as a folder of static files,
//! `target/wasm/web/`, that `e911-harness playground` serves (any static file server
//! does too: the page fetches only files beside it).
//!
//! 1. `plugin/web` (crate `e911-web`) is built in release for `wasm32-unknown-unknown`.
//! 2. `wasm-bindgen --target web` (the CLI at the crate's exact version, installed by
//!    `cargo xtask setup` under `target/tools/bin`) writes the JS glue and the final
//!    module into `pkg/`.
//! 3. The page (`plugin/web/www/`), the demo's sample calls (`samples/`) and the example
//!    policy with a file list (`policy/index.json`, what the harness serves for
//!    `--policy`) are copied beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{run, step, tools, wasm_build};

/// The target the module is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The folder, relative to the workspace root.
pub const OUTPUT: &str = "target/wasm/web";
/// The example policy the page offers.
const POLICY: &str = "policies/contoso";
/// The demo's sample calls.
const SAMPLES: &str = "tests/corpus/emergency";

/// Builds the playground folder and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    step("build-web: the Wasm module (release)");
    let module = wasm_build::release(root, "e911-web", TARGET)?;
    let bindgen = tools::dir(root).join("bin").join("wasm-bindgen");
    if !bindgen.is_file() {
        bail!(
            "{}: missing; run cargo xtask setup (it installs wasm-bindgen-cli)",
            bindgen.display()
        );
    }
    let out = root.join(OUTPUT);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    step("build-web: the JS glue (wasm-bindgen --target web)");
    run(Command::new(&bindgen)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(out.join("pkg"))
        .arg(&module))?;
    copy_files(&root.join("plugin/web/www"), &out)?;
    copy_samples(&root.join(SAMPLES), &out.join("samples"))?;
    let files = copy_files(&root.join(POLICY), &out.join("policy"))?;
    std::fs::write(
        out.join("policy/index.json"),
        policy_index("contoso", &files),
    )
    .context("writing policy/index.json")?;
    let wasm = out.join("pkg/e911_web_bg.wasm");
    let size = std::fs::metadata(&wasm)
        .with_context(|| format!("reading {}", wasm.display()))?
        .len();
    println!("{OUTPUT}: the playground; pkg/e911_web_bg.wasm {size} bytes");
    Ok(out)
}

/// Copies the files (not folders) of `from` into `to`; returns their names, sorted.
fn copy_files(from: &Path, to: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut names = Vec::new();
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let Some(name) = path.file_name() else {
            continue;
        };
        std::fs::copy(&path, to.join(name))
            .with_context(|| format!("copying {}", path.display()))?;
        names.push(name.to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// The manifest and every call it lists.
fn copy_samples(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let manifest = from.join("manifest.tsv");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    std::fs::write(to.join("manifest.tsv"), &text).context("writing samples/manifest.tsv")?;
    for file in text.lines().skip(1).filter_map(|l| l.split('\t').next()) {
        if file.is_empty() {
            continue;
        }
        std::fs::copy(from.join(file), to.join(file))
            .with_context(|| format!("copying {SAMPLES}/{file}"))?;
    }
    Ok(())
}

/// `{"name": …, "files": […]}`: what the page reads to fetch a served policy's files.
/// The names are plain file names; JSON-escape the two characters that could break it.
pub fn policy_index(name: &str, files: &[String]) -> String {
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let list: Vec<String> = files.iter().map(|f| quote(f)).collect();
    format!(
        "{{\"name\":{},\"files\":[{}]}}\n",
        quote(name),
        list.join(",")
    )
}
