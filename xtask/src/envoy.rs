//! `cargo xtask build-envoy`: the Envoy network filter (`plugin/envoy`), a proxy-wasm
//! module for `wasm32-wasip1`, at `target/wasm/e911_envoy.wasm`, and two checks on it:
//!
//! - **imports**: every import is listed in `plugin/envoy/imports.allow` (the proxy-wasm
//!   ABI and the few WASI calls Rust's std makes), so Envoy can load it unchanged;
//! - **panic paths**: a trap kills the VM that every connection of an Envoy worker shares
//!   (DESIGN §5), so the module must not contain a panic whose source is one of our
//!   crates. Each panic site leaves its source file's path in the data section (for the
//!   panic message's location); any path under `plugin/` or of the etcd wire format the
//!   filter compiles in (`hosts/etcd/`) fails the build, except those
//!   listed in [`KNOWN_PANIC_PATHS`]. Panics in the proxy-wasm SDK remain: its
//!   dispatcher panics on host contract violations (an unknown context id), and its
//!   unwrapping context methods are linked through the trait objects' vtables though
//!   the filter never calls them (`plugin/envoy/src/host.rs` checks statuses instead).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::{step, wasm_build};

/// The target Envoy's proxy-wasm modules are built for.
pub const TARGET: &str = "wasm32-wasip1";
/// The module, relative to the workspace root.
pub const OUTPUT: &str = "target/wasm/e911_envoy.wasm";

/// Where our crates compiled into the module live.
const OUR_SOURCES: &[&str] = &["plugin/", "hosts/etcd/"];

/// Panic sites in our crates that are known and not yet removed. Each one is a way for a
/// message to trap the worker's VM; the list should shrink, never grow.
const KNOWN_PANIC_PATHS: &[&str] = &[];

/// Builds the module, checks it and returns its path.
pub fn build(root: &Path) -> Result<PathBuf> {
    step("build-envoy: the proxy-wasm module");
    let module = wasm_build::read(&wasm_build::release(root, "e911-envoy", TARGET)?)?;
    let allow = std::fs::read_to_string(root.join("plugin/envoy/imports.allow"))
        .context("reading plugin/envoy/imports.allow")?;
    check_imports(&module, &allow)?;
    check_panic_paths(&module)?;
    let out = wasm_build::write(root, OUTPUT, &module)?;
    println!("{OUTPUT}: {} bytes", module.len());
    Ok(out)
}

fn check_imports(module: &[u8], allow: &str) -> Result<()> {
    let allowed: Vec<(&str, &str)> = allow
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .collect();
    let imports = imports(module)?;
    let refused: Vec<String> = imports
        .iter()
        .filter(|(m, n)| {
            !allowed
                .iter()
                .any(|(am, an)| am == m && (*an == "*" || an == n))
        })
        .map(|(m, n)| format!("{m}.{n}"))
        .collect();
    if !refused.is_empty() {
        bail!(
            "the Envoy module imports what plugin/envoy/imports.allow does not list: {}",
            refused.join(", ")
        );
    }
    println!(
        "imports: {} checked against plugin/envoy/imports.allow",
        imports.len()
    );
    Ok(())
}

fn check_panic_paths(module: &[u8]) -> Result<()> {
    let found = panic_paths(module);
    let ours: Vec<&String> = found
        .iter()
        .filter(|p| {
            OUR_SOURCES.iter().any(|ours| p.starts_with(ours))
                && !KNOWN_PANIC_PATHS.contains(&p.as_str())
        })
        .collect();
    if !ours.is_empty() {
        bail!(
            "the Envoy module can panic in our code (a panic traps the worker's VM): {}",
            ours.iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "panic paths: none in {} beyond the {} known",
        OUR_SOURCES.join(" or "),
        KNOWN_PANIC_PATHS.len()
    );
    Ok(())
}

/// Source paths (`….rs`) in the module's bytes: the locations its panic sites carry.
fn panic_paths(module: &[u8]) -> Vec<String> {
    let is_path_byte = |b: &u8| b.is_ascii_alphanumeric() || b"_./-".contains(b);
    let mut paths: Vec<String> = module
        .split(|b| !is_path_byte(b))
        .filter(|w| w.ends_with(b".rs"))
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// The (module, name) of every import, from the module's import section (WebAssembly
/// core specification §5.5.5).
fn imports(module: &[u8]) -> Result<Vec<(String, String)>> {
    let mut r = Reader {
        bytes: module,
        pos: 8,
    };
    if module.get(..4) != Some(b"\0asm".as_slice()) {
        bail!("not a WebAssembly module");
    }
    let mut out = Vec::new();
    while r.pos < module.len() {
        let id = r.byte()?;
        let size = r.leb()? as usize;
        let end = r.pos + size;
        if id == 2 {
            let count = r.leb()?;
            for _ in 0..count {
                let m = r.name()?;
                let n = r.name()?;
                // importdesc: func (typeidx), table (reftype, limits), memory (limits),
                // global (valtype, mut).
                match r.byte()? {
                    0 => {
                        r.leb()?;
                    }
                    1 => {
                        r.byte()?;
                        r.limits()?;
                    }
                    2 => r.limits()?,
                    3 => {
                        r.byte()?;
                        r.byte()?;
                    }
                    other => bail!("unknown import kind {other}"),
                }
                out.push((m, n));
            }
        }
        r.pos = end;
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self.bytes.get(self.pos).context("truncated module")?;
        self.pos += 1;
        Ok(b)
    }

    fn leb(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bail!("bad LEB128 number")
    }

    fn name(&mut self) -> Result<String> {
        let len = self.leb()? as usize;
        let bytes = self
            .bytes
            .get(self.pos..self.pos + len)
            .context("truncated module")?;
        self.pos += len;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    fn limits(&mut self) -> Result<()> {
        let flags = self.byte()?;
        self.leb()?;
        if flags & 1 != 0 {
            self.leb()?;
        }
        Ok(())
    }
}
