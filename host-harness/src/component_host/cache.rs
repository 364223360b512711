//! The precompiled (`.cwasm`) cache, for the component and for the proxy-wasm module.
//!
//! Compiling the component with Cranelift takes about a second (the Envoy build, a core
//! module, as long; many seconds in a debug build of the harness); loading native code
//! from a file takes milliseconds. The cache file is named by a SHA-256 over the component's
//! bytes and [`Engine::precompile_compatibility_hash`] (which covers the wasmtime version,
//! the target and every compilation setting), so a rebuilt component, a new wasmtime or a
//! changed `Config` each get their own file and a stale one is never loaded.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// Where cache files go: `$E911_HARNESS_CACHE`, else `$XDG_CACHE_HOME/e911-harness`, else
/// `~/.cache/e911-harness`, else the system temp dir.
pub fn default_dir() -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("E911_HARNESS_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("e911-harness");
    }
    if let Some(home) = env("HOME") {
        return PathBuf::from(home).join(".cache/e911-harness");
    }
    std::env::temp_dir().join("e911-harness-cache")
}

/// The cache key: 32 hex digits of SHA-256 over the compatibility hash and the bytes.
pub fn key(engine: &Engine, component: &[u8]) -> String {
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.update(component);
    hasher
        .0
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a cache file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Component,
    Module,
}

/// A cache file loaded.
enum Loaded {
    Component(Component),
    Module(Module),
}

/// The component compiled for `engine`: from the cache when a file for this key is there
/// and loads, otherwise compiled now and written to the cache (best effort: a cache that
/// cannot be written costs time, never the call).
pub fn load(engine: &Engine, bytes: &[u8], dir: &Path) -> wasmtime::Result<Component> {
    match load_kind(engine, bytes, dir, Kind::Component)? {
        Loaded::Component(component) => Ok(component),
        Loaded::Module(_) => Component::new(engine, bytes),
    }
}

/// A core module (the proxy-wasm build) compiled for `engine`, through the cache as
/// [`load`] does for the component.
pub fn load_module(engine: &Engine, bytes: &[u8], dir: &Path) -> wasmtime::Result<Module> {
    match load_kind(engine, bytes, dir, Kind::Module)? {
        Loaded::Module(module) => Ok(module),
        Loaded::Component(_) => Module::new(engine, bytes),
    }
}

fn load_kind(engine: &Engine, bytes: &[u8], dir: &Path, kind: Kind) -> wasmtime::Result<Loaded> {
    let prefix = match kind {
        Kind::Component => "e911-policy",
        Kind::Module => "e911-module",
    };
    let file = dir.join(format!("{prefix}-{}.cwasm", key(engine, bytes)));
    if let Some(loaded) = cached(engine, &file, kind) {
        return Ok(loaded);
    }
    // One process compiles, the others (parallel tests, proxy workers) wait for its file:
    // compiling is seconds of CPU each. A lock older than LOCK_WAIT is taken as left by a
    // crash, and this process compiles itself.
    let _ = std::fs::create_dir_all(dir);
    let lock = file.with_extension("lock");
    let owned = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
        .is_ok();
    if !owned {
        let start = Instant::now();
        while lock.exists() && start.elapsed() < LOCK_WAIT {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(loaded) = cached(engine, &file, kind) {
            return Ok(loaded);
        }
    }
    let compiled = match kind {
        Kind::Component => engine.precompile_component(bytes),
        Kind::Module => engine.precompile_module(bytes),
    };
    if let Ok(compiled) = &compiled {
        // Write then rename, so a concurrent reader never maps a half-written file.
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, compiled).is_ok() && std::fs::rename(&tmp, &file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    if owned {
        let _ = std::fs::remove_file(&lock);
    }
    compiled?;
    match (cached(engine, &file, kind), kind) {
        (Some(loaded), _) => Ok(loaded),
        (None, Kind::Component) => Component::new(engine, bytes).map(Loaded::Component),
        (None, Kind::Module) => Module::new(engine, bytes).map(Loaded::Module),
    }
}

/// How long a process waits for another one's compilation.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// The cache file for this key, when it is there and loads.
fn cached(engine: &Engine, file: &Path, kind: Kind) -> Option<Loaded> {
    if !file.is_file() {
        return None;
    }
    match deserialize(engine, file, kind) {
        Ok(loaded) => Some(loaded),
        Err(err) => {
            eprintln!(
                "e911-harness: warning: {}: unusable cache file ({err}); compiling again",
                file.display()
            );
            let _ = std::fs::remove_file(file);
            None
        }
    }
}

/// Maps a cache file as native code.
///
/// Sound because the file is our own: it was written by [`load`] from
/// `Engine::precompile_component` under a name that is the hash of the exact component
/// bytes and of this engine's compatibility hash (same wasmtime version and `Config`), in
/// the user's own cache folder, and renamed into place only once complete (components
/// and modules under different name prefixes, and wasmtime refuses a file of the other
/// kind). wasmtime also checks the file's header against the engine before using it.
/// What it does not guard against is someone with write access to that folder planting
/// native code, which is no more than they could do to the harness binary itself.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, file: &Path, kind: Kind) -> wasmtime::Result<Loaded> {
    // SAFETY: see above: a file this function's caller produced for this very engine
    // configuration and artifact, found by its key.
    unsafe {
        match kind {
            Kind::Component => Component::deserialize_file(engine, file).map(Loaded::Component),
            Kind::Module => Module::deserialize_file(engine, file).map(Loaded::Module),
        }
    }
}

/// Feeds `Hash` input into SHA-256 (std's hashers are not stable across releases).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        digest
            .iter()
            .take(8)
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
