//! The compiled module, its linker and the epoch ticker: made once, shared by every VM
//! started from it.
//!
//! The module is compiled with Cranelift once and kept in the component host's
//! precompiled cache ([`e911_component_host::cache`]), so each harness run loads native
//! code in milliseconds. Imports are resolved before anything runs: a module that imports a
//! function this host does not provide fails to load, naming it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use wasmtime::{Engine, InstancePre, Linker};

use e911_component_host::{HostLimits, TICK, cache, ticking_engine};

use super::state::HostState;
use super::{env, wasi};

/// Why a module could not be loaded or started.
#[derive(Debug)]
pub enum HostError {
    /// The module file cannot be read.
    Missing(PathBuf, std::io::Error),
    /// wasmtime refused the module, or it imports what this host lacks.
    Load(String),
    /// The module trapped while starting.
    Trap(String),
    /// `proxy_on_vm_start` or `proxy_on_configure` answered false.
    Refused(String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(path, err) => write!(
                f,
                "{}: cannot read the proxy-wasm module ({err}); build it with `cargo xtask build-envoy`",
                path.display()
            ),
            Self::Load(why) => write!(f, "the proxy-wasm module cannot be loaded: {why}"),
            Self::Trap(why) => write!(f, "the proxy-wasm module trapped while starting: {why}"),
            Self::Refused(why) => write!(f, "the proxy-wasm module refused to start: {why}"),
        }
    }
}

impl std::error::Error for HostError {}

/// The module compiled and linked; cheap to clone. Dropping the last clone stops the
/// ticker thread.
#[derive(Clone)]
pub struct ProxyWasmRuntime {
    engine: Engine,
    pre: InstancePre<HostState>,
    limits: HostLimits,
}

impl ProxyWasmRuntime {
    /// Loads the module file, compiled through the cache in [`cache::default_dir`].
    pub fn load(path: &Path, limits: HostLimits) -> Result<Self, HostError> {
        let bytes = std::fs::read(path).map_err(|err| HostError::Missing(path.into(), err))?;
        Self::from_bytes(&bytes, cache::default_dir().as_deref(), limits)
    }

    /// Compiles (or loads from `cache_dir`) the module given as bytes and links it against
    /// this host's imports.
    pub fn from_bytes(
        bytes: &[u8],
        cache_dir: Option<&Path>,
        limits: HostLimits,
    ) -> Result<Self, HostError> {
        let engine = ticking_engine("e911-proxy-wasm-epoch").map_err(HostError::Load)?;
        let module = cache::load_module(&engine, bytes, cache_dir)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        env::add_to_linker(&mut linker).map_err(|err| HostError::Load(format!("{err:#}")))?;
        wasi::add_to_linker(&mut linker).map_err(|err| HostError::Load(format!("{err:#}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|err| HostError::Load(format!("{err:#}")))?;
        Ok(Self {
            engine,
            pre,
            limits,
        })
    }

    /// The limits each VM started from this runtime applies.
    pub fn limits(&self) -> HostLimits {
        self.limits
    }

    pub(super) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(super) fn pre(&self) -> &InstancePre<HostState> {
        &self.pre
    }
}

/// A trap as wasmtime names it, else the root cause.
pub fn describe(err: &wasmtime::Error) -> String {
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => err.root_cause().to_string(),
    }
}

/// A duration in epoch ticks, rounded up (0 stays 0: trap at the first check).
pub fn ticks(d: Duration) -> u64 {
    let tick = TICK.as_millis().max(1);
    u64::try_from(d.as_millis().div_ceil(tick)).unwrap_or(u64::MAX)
}
