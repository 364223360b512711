//! The precompiled (`.cwasm`) cache, for the component and for the proxy-wasm module.
//!
//! Compiling the component with Cranelift takes about a second (the Envoy build, a core
//! module, as long; many seconds in a debug build of the harness); loading native code
//! from a file takes milliseconds. The cache file is named by a SHA-256 over the component's
//! bytes and [`Engine::precompile_compatibility_hash`] (which covers the wasmtime version,
//! the target and every compilation setting), so a rebuilt component, a new wasmtime or a
//! changed `Config` each get their own file and a stale one is never loaded.

use std::fs::{File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::Read as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// Where cache files go: `$E911_HARNESS_CACHE`, else `$XDG_CACHE_HOME/e911-harness`, else
/// `~/.cache/e911-harness`; none without any of them. There is no fallback to a shared
/// temp folder: another local user could create it first and plant native code there.
pub fn default_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = env("E911_HARNESS_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = env("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("e911-harness"));
    }
    env("HOME").map(|home| PathBuf::from(home).join(".cache/e911-harness"))
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
pub fn load(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Component> {
    match load_kind(engine, bytes, dir, Kind::Component)? {
        Loaded::Component(component) => Ok(component),
        Loaded::Module(_) => Component::new(engine, bytes),
    }
}

/// A core module (the proxy-wasm build) compiled for `engine`, through the cache as
/// [`load`] does for the component.
pub fn load_module(engine: &Engine, bytes: &[u8], dir: Option<&Path>) -> wasmtime::Result<Module> {
    match load_kind(engine, bytes, dir, Kind::Module)? {
        Loaded::Module(module) => Ok(module),
        Loaded::Component(_) => Module::new(engine, bytes),
    }
}

fn load_kind(
    engine: &Engine,
    bytes: &[u8],
    dir: Option<&Path>,
    kind: Kind,
) -> wasmtime::Result<Loaded> {
    let compile_in_memory = || match kind {
        Kind::Component => Component::new(engine, bytes).map(Loaded::Component),
        Kind::Module => Module::new(engine, bytes).map(Loaded::Module),
    };
    let Some(dir) = dir else {
        warn_once("no HOME, XDG_CACHE_HOME or E911_HARNESS_CACHE: no compilation cache");
        return compile_in_memory();
    };
    if let Err(why) = private_dir(dir) {
        warn_once(&format!(
            "{}: {why}; not used as the compilation cache",
            dir.display()
        ));
        return compile_in_memory();
    }
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
    let lock = file.with_extension("lock");
    let owned = private_new_file(&lock).is_ok();
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
        // Write then rename, so a concurrent reader never maps a half-written file; the
        // rename also replaces whatever the name held (a symlink, a file another mode).
        let tmp = file.with_extension(format!("tmp{}", std::process::id()));
        let written = private_new_file(&tmp)
            .and_then(|mut out| std::io::Write::write_all(&mut out, compiled));
        if written.is_err() || std::fs::rename(&tmp, &file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    if owned {
        let _ = std::fs::remove_file(&lock);
    }
    compiled?;
    match cached(engine, &file, kind) {
        Some(loaded) => Ok(loaded),
        None => compile_in_memory(),
    }
}

/// How long a process waits for another one's compilation.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// Says once per process why the cache is not used (a proxy loads the plugin many times).
fn warn_once(why: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("e911-harness: warning: {why}; compiling in memory");
    }
}

/// `dir` may hold native code this process runs: created (mode 0700) when missing, and
/// then a directory (not a symlink to one), owned by this user, that nobody else may
/// read, write or enter. Otherwise another local user could put a file there (or swap
/// one) that we would map as code.
///
/// A folder of ours that only we could write to (an older harness made it 0755) is
/// tightened to 0700 rather than given up: nothing in it can have come from anyone else.
/// Public so a host can say why a folder was not used in its own log (the Kamailio bridge).
pub fn private_dir(dir: &Path) -> Result<(), String> {
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| format!("cannot create it ({err})"))?;
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|err| err.to_string())?;
    if meta.file_type().is_symlink() {
        return Err("it is a symlink".to_owned());
    }
    if !meta.is_dir() {
        return Err("not a directory".to_owned());
    }
    let ours = meta.uid() == rustix::process::geteuid().as_raw();
    if ours && meta.mode() & 0o077 != 0 && meta.mode() & 0o022 == 0 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|err| format!("cannot make it private ({err})"))?;
        return private_dir(dir);
    }
    owned_and_private(&meta)
}

/// Owned by this process's user, no permission bits for group or others.
fn owned_and_private(meta: &std::fs::Metadata) -> Result<(), String> {
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "owned by uid {}, not by this user ({me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "mode {:o} lets group or others in (want 0700 for a folder, 0600 for a file)",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// A new file only this user may read or write; fails if the name exists.
fn private_new_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The cache file for this key, when it is there, is ours, and loads.
fn cached(engine: &Engine, file: &Path, kind: Kind) -> Option<Loaded> {
    let bytes = match private_file_bytes(file) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(why) => {
            // Not loaded; compiling again replaces it with a file of our own.
            warn_once(&format!("{}: {why}; not loaded", file.display()));
            return None;
        }
    };
    match deserialize(engine, &bytes, kind) {
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

/// The bytes of `file` if it is a regular file (not a symlink) of ours that nobody else
/// may read or write; `None` if there is none. The checks are made on the file opened
/// (`fstat`), and that it is the one the name named, so a swap after the check does not
/// get a planted file read.
fn private_file_bytes(file: &Path) -> Result<Option<Vec<u8>>, String> {
    let named = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err.to_string()),
    };
    if named.file_type().is_symlink() {
        return Err("it is a symlink".to_owned());
    }
    let mut opened = File::open(file).map_err(|err| err.to_string())?;
    let meta = opened.metadata().map_err(|err| err.to_string())?;
    if (meta.dev(), meta.ino()) != (named.dev(), named.ino()) || !meta.is_file() {
        return Err("it changed while being opened".to_owned());
    }
    owned_and_private(&meta)?;
    let mut bytes = Vec::new();
    opened
        .read_to_end(&mut bytes)
        .map_err(|err| err.to_string())?;
    Ok(Some(bytes))
}

/// Turns cache file bytes into native code.
///
/// Sound because the bytes are our own: [`load_kind`] wrote them from
/// `Engine::precompile_*` under a name that is the hash of the exact wasm bytes and of this
/// engine's compatibility hash (same wasmtime version and `Config`), renamed into place
/// only once complete, in a folder [`private_dir`] found to be this user's alone, from a
/// regular file [`private_file_bytes`] found to be this user's alone (components and
/// modules under different name prefixes, and wasmtime refuses a file of the other kind).
/// wasmtime also checks the header against the engine before using it. Someone who can
/// still write there is this user, who could as well replace the harness binary.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, bytes: &[u8], kind: Kind) -> wasmtime::Result<Loaded> {
    // SAFETY: see above: bytes this module produced for this very engine configuration and
    // artifact, read from a private file found by its key.
    unsafe {
        match kind {
            Kind::Component => Component::deserialize(engine, bytes).map(Loaded::Component),
            Kind::Module => Module::deserialize(engine, bytes).map(Loaded::Module),
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A core module exporting one empty function named `name` (one ASCII letter).
    fn module_exporting(name: u8) -> Vec<u8> {
        let mut wasm = vec![0, b'a', b's', b'm', 1, 0, 0, 0];
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]); // type section: () -> ()
        wasm.extend_from_slice(&[3, 2, 1, 0]); // function section: one of type 0
        wasm.extend_from_slice(&[7, 5, 1, 1, name, 0, 0]); // export section: func 0
        wasm.extend_from_slice(&[10, 4, 1, 2, 0, 0x0b]); // code section: an empty body
        wasm
    }

    fn exports(module: &Module) -> Vec<String> {
        module.exports().map(|e| e.name().to_owned()).collect()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("e911-cache-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cache_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_folder_is_created_private_and_the_file_is_used_again() {
        let engine = Engine::default();
        let dir = scratch("private").join("nested/cache");
        let wasm = module_exporting(b'a');
        let module = load_module(&engine, &wasm, Some(&dir)).unwrap();
        assert_eq!(exports(&module), ["a"]);
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let files = cache_files(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let file_mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(file_mode & 0o777, 0o600);
        assert_eq!(
            exports(&load_module(&engine, &wasm, Some(&dir)).unwrap()),
            ["a"]
        );
        let _ = std::fs::remove_dir_all(scratch("private"));
    }

    #[test]
    fn a_folder_others_may_write_is_not_used() {
        let engine = Engine::default();
        let dir = scratch("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = private_dir(&dir).unwrap_err();
        assert!(why.contains("mode 777"), "{why}");
        let wasm = module_exporting(b'a');
        assert_eq!(
            exports(&load_module(&engine, &wasm, Some(&dir)).unwrap()),
            ["a"]
        );
        assert!(
            cache_files(&dir).is_empty(),
            "nothing written to a shared folder"
        );
        // Group-writable is as bad.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert!(private_dir(&dir).unwrap_err().contains("mode 770"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_of_ours_only_we_could_write_is_made_private() {
        let dir = scratch("older");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_symlinked_folder_is_not_used() {
        let root = scratch("link");
        let real = root.join("real");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&real)
            .unwrap();
        let link = root.join("cache");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(private_dir(&link).unwrap_err(), "it is a symlink");
        assert!(private_dir(&real).is_ok());
        let _ = std::fs::remove_dir_all(&root);
    }

    /// What a local attacker would do: put native code compiled from *another* module
    /// under the name of the one we are about to load. A symlink to it, or a file others
    /// may write, is not loaded, and the module we asked for is what we get.
    #[test]
    fn planted_native_code_is_not_loaded() {
        let engine = Engine::default();
        let dir = scratch("planted");
        private_dir(&dir).unwrap();
        let wanted = module_exporting(b'a');
        let planted = engine.precompile_module(&module_exporting(b'b')).unwrap();
        let name = dir.join(format!("e911-module-{}.cwasm", key(&engine, &wanted)));
        let elsewhere = dir.join("elsewhere.bin");
        std::fs::write(&elsewhere, &planted).unwrap();
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600)).unwrap();

        std::os::unix::fs::symlink(&elsewhere, &name).unwrap();
        let loaded = load_module(&engine, &wanted, Some(&dir)).unwrap();
        assert_eq!(exports(&loaded), ["a"], "a symlinked cache file was loaded");
        assert!(
            !std::fs::symlink_metadata(&name)
                .unwrap()
                .file_type()
                .is_symlink()
        );

        std::fs::remove_file(&name).unwrap();
        std::fs::write(&name, &planted).unwrap();
        std::fs::set_permissions(&name, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(private_file_bytes(&name).unwrap_err().contains("mode 666"));
        let loaded = load_module(&engine, &wanted, Some(&dir)).unwrap();
        assert_eq!(
            exports(&loaded),
            ["a"],
            "a world-writable cache file was loaded"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_folder_nothing_is_cached_and_the_module_still_loads() {
        let engine = Engine::default();
        let loaded = load_module(&engine, &module_exporting(b'a'), None).unwrap();
        assert_eq!(exports(&loaded), ["a"]);
    }

    #[test]
    fn the_key_covers_the_engine_configuration() {
        let wasm = module_exporting(b'a');
        let plain = Engine::default();
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let ticking = Engine::new(&config).unwrap();
        assert_ne!(key(&plain, &wasm), key(&ticking, &wasm));
        assert_eq!(key(&plain, &wasm), key(&Engine::default(), &wasm));
    }
}
